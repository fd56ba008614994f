/* The restore plan: what a restore of a backup, whole or some paths,
 * reads from which archive, decided before anything is read. */
#include "restore_plan.h"

#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "fsutil.h"
#include "tree.h"
#include "util.h"

/* Appends the components of path to parts, taking "." and ".."
 * lexically. False if ".." climbs above the first `floor` parts. */
static bool push_components(struct strlist *parts, const char *path,
			    size_t floor)
{
	const char *p = path;

	while (*p) {
		size_t len = strcspn(p, "/");

		if (len == 2 && !strncmp(p, "..", 2)) {
			if (parts->len <= floor)
				return false;
			free(parts->items[--parts->len]);
		} else if (len && !(len == 1 && *p == '.')) {
			strlist_push_owned(parts, xstrndup(p, len));
		}
		p += len;
		while (*p == '/')
			p++;
	}
	return true;
}

static char *join_from(const struct strlist *parts, size_t from)
{
	struct buf b = {0};

	for (size_t i = from; i < parts->len; i++) {
		if (i > from)
			buf_puts(&b, "/");
		buf_puts(&b, parts->items[i]);
	}
	return b.data ? b.data : xstrdup("");
}

char *restore_plan_map_path(const char *source, const char *cwd,
			    const char *asked)
{
	struct strlist parts = {0};
	size_t root;
	char *out = NULL;

	push_components(&parts, source, 0);
	root = parts.len;
	if (asked[0] != '/' && path_is_within(cwd, source) &&
	    !push_components(&parts, cwd + strlen(source), root))
		goto out;
	if (asked[0] == '/') {
		struct strlist abs = {0};
		bool inside = push_components(&abs, asked, 0) &&
			      abs.len >= root;

		for (size_t i = 0; inside && i < root; i++)
			inside = !strcmp(abs.items[i], parts.items[i]);
		if (inside)
			out = join_from(&abs, root);
		strlist_clear(&abs);
		goto out;
	}
	if (push_components(&parts, asked, root))
		out = join_from(&parts, root);
out:
	strlist_clear(&parts);
	return out;
}

char *restore_plan_normalize(const char *p)
{
	size_t n;

	while (p[0] == '.' && p[1] == '/')
		p += 2;
	n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	if (n == 1 && p[0] == '.')
		n = 0;
	return xstrndup(p, n);
}

bool restore_plan_whole_tree(const struct strlist *scopes)
{
	return !scopes->len || strlist_contains(scopes, "");
}

static void choose_ancestors(const struct tree *t, const char *path,
			     bool *chosen)
{
	char *copy = xstrdup(path);
	char *slash;

	while ((slash = strrchr(copy, '/')) != NULL) {
		const struct tree_entry *e;

		*slash = '\0';
		e = tree_find(t, copy);
		if (e)
			chosen[e - t->entries] = true;
	}
	free(copy);
}

bool restore_plan_choose(const struct tree *t, const char *path,
			 bool *chosen)
{
	const struct tree_entry *e = tree_find(t, path);
	size_t n = strlen(path);

	if (!e)
		return false;
	/* Everything starting with `path` is contiguous in sorted order. */
	for (size_t i = (size_t)(e - t->entries);
	     i < t->len && !strncmp(t->entries[i].path, path, n); i++)
		if (!t->entries[i].path[n] || t->entries[i].path[n] == '/')
			chosen[i] = true;
	choose_ancestors(t, path, chosen);
	return true;
}

bool restore_plan_reads(const struct tree_entry *e)
{
	return e->type == ENTRY_FILE && e->size > 0;
}

enum restore_plan_status restore_plan_need(const struct metadata *md,
					   const struct tree *t, size_t i,
					   struct restore_need *out)
{
	const struct content *c = catalog_content_find(&md->contents,
					       t->entries[i].checksum);
	const struct history_entry *holder;

	*out = (struct restore_need){ .entry = i, .c = c };
	if (!c)
		return RESTORE_PLAN_UNRECORDED;
	holder = catalog_find_backup(md, c->holder);
	if (!holder)
		return RESTORE_PLAN_NOT_KEPT;
	out->hist = (size_t)(holder - md->history);
	return RESTORE_PLAN_OK;
}

static int cmp_needs(const void *pa, const void *pb)
{
	const struct restore_need *a = pa, *b = pb;
	int c;

	if (a->hist != b->hist)
		return a->hist < b->hist ? -1 : 1;
	c = strcmp(a->c->member, b->c->member);
	if (!c)
		c = memcmp(a->c->checksum, b->c->checksum, HASH_SIZE);
	if (!c)
		c = a->entry < b->entry ? -1 : a->entry > b->entry;
	return c;
}

void restore_plan_sort(struct restore_need *needs, size_t n)
{
	if (n > 1)
		qsort(needs, n, sizeof(*needs), cmp_needs);
}

size_t restore_plan_archive_end(const struct restore_need *needs, size_t n,
				size_t lo)
{
	size_t hi = lo + 1;

	while (hi < n && needs[hi].hist == needs[lo].hist)
		hi++;
	return hi;
}

bool restore_plan_can_seek(const struct restore_need *needs, size_t lo,
			   size_t hi)
{
	if (hi - lo > RESTORE_PLAN_SEEK_MAX)
		return false;
	for (size_t i = lo; i < hi; i++)
		if (!needs[i].c->has_frame)
			return false;
	return true;
}

size_t restore_plan_first_member(const struct restore_need *needs, size_t lo,
				 size_t hi, const char *name)
{
	size_t a = lo, b = hi;

	while (a < b) {
		size_t mid = a + (b - a) / 2;

		if (strcmp(needs[mid].c->member, name) < 0)
			a = mid + 1;
		else
			b = mid;
	}
	return a;
}

static bool same_time(struct nstime a, struct nstime b)
{
	return a.sec == b.sec && a.nsec == b.nsec;
}

enum restore_plan_action restore_plan_compare(const struct tree_entry *e,
					      uint32_t want_mode,
					      const struct restore_plan_found *f,
					      bool owners)
{
	if (!f->exists)
		return RESTORE_PLAN_NEW;
	if (f->type != e->type || !same_time(f->mtime, e->mtime) ||
	    (owners && (f->uid != e->uid || f->gid != e->gid)))
		return RESTORE_PLAN_UPDATE;
	switch (e->type) {
	case ENTRY_SYMLINK:
		/* A symlink's own mode means nothing on Linux. */
		if (!f->link_target || strcmp(f->link_target, e->link_target))
			return RESTORE_PLAN_UPDATE;
		return RESTORE_PLAN_SAME;
	case ENTRY_FILE:
		if (f->size != e->size)
			return RESTORE_PLAN_UPDATE;
		break;
	default:
		break;
	}
	return f->mode == want_mode ? RESTORE_PLAN_SAME : RESTORE_PLAN_UPDATE;
}
