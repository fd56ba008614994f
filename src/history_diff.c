/* Differences between trees and find's pattern match (see history_diff.h). */
#include "history_diff.h"

#include <fnmatch.h>
#include <string.h>

#include "tree.h"
#include "util.h"

static bool same_content(const struct tree_entry *a,
			 const struct tree_entry *b)
{
	if (a->type == ENTRY_FILE)
		return a->size == b->size &&
		       !memcmp(a->checksum, b->checksum, HASH_SIZE);
	if (a->type == ENTRY_SYMLINK)
		return a->link_target && b->link_target &&
		       !strcmp(a->link_target, b->link_target);
	return true;
}

static void count(struct history_diff_stats *st, const struct history_change *c)
{
	const struct tree_entry *o = c->old, *n = c->now;
	uint64_t old_size = o && o->type == ENTRY_FILE ? o->size : 0;
	uint64_t new_size = n && n->type == ENTRY_FILE ? n->size : 0;

	switch (c->mark) {
	case HISTORY_ADDED:
		st->added++;
		break;
	case HISTORY_REMOVED:
		st->removed++;
		break;
	case HISTORY_MODIFIED:
		st->modified++;
		break;
	case HISTORY_TYPE:
		st->type_changed++;
		break;
	}
	if (new_size > old_size)
		st->bytes_added += new_size - old_size;
	else
		st->bytes_removed += old_size - new_size;
}

static void report(const struct history_change *c,
		   void (*each)(void *ctx, const struct history_change *c),
		   void *ctx, struct history_diff_stats *st)
{
	if (st)
		count(st, c);
	if (each)
		each(ctx, c);
}

void history_diff(const struct tree *old, const struct tree *now,
		  void (*each)(void *ctx, const struct history_change *c),
		  void *ctx, struct history_diff_stats *stats)
{
	size_t i = 0, j = 0;

	if (stats)
		memset(stats, 0, sizeof(*stats));
	while (i < old->len || j < now->len) {
		const struct tree_entry *o = i < old->len ? &old->entries[i]
							 : NULL;
		const struct tree_entry *n = j < now->len ? &now->entries[j]
							 : NULL;
		int cmp = !o ? 1 : !n ? -1 : strcmp(o->path, n->path);
		struct history_change c = { HISTORY_ADDED, NULL, NULL };

		if (cmp < 0) {
			c = (struct history_change){ HISTORY_REMOVED, o, NULL };
			i++;
		} else if (cmp > 0) {
			c = (struct history_change){ HISTORY_ADDED, NULL, n };
			j++;
		} else {
			i++;
			j++;
			if (o->type != n->type)
				c = (struct history_change){ HISTORY_TYPE, o,
							     n };
			else if (!same_content(o, n))
				c = (struct history_change){ HISTORY_MODIFIED,
							     o, n };
			else
				continue;
		}
		report(&c, each, ctx, stats);
	}
}

bool history_match(const char *pattern, const char *path)
{
	const char *base;

	if (*pattern == '/')
		return fnmatch(pattern + 1, path, FNM_PATHNAME) == 0;
	if (strchr(pattern, '/'))
		return fnmatch(pattern, path, FNM_PATHNAME) == 0;
	base = strrchr(path, '/');
	return fnmatch(pattern, base ? base + 1 : path, 0) == 0;
}

char *history_pattern_scope(const char *pattern)
{
	const char *p = *pattern == '/' ? pattern + 1 : pattern;
	size_t literal = strcspn(p, "*?[\\");
	size_t end = 0;

	/* Only a pattern with a '/' is matched against the whole path. */
	if (p == pattern && !strchr(p, '/'))
		return xstrdup("");
	for (size_t k = 0; k < literal; k++)
		if (p[k] == '/')
			end = k;
	return xstrndup(p, end);
}

bool history_path_within(const char *path, const char *under)
{
	size_t n = strlen(under);

	if (!n)
		return true;
	return !strncmp(path, under, n) && (path[n] == '\0' || path[n] == '/');
}
