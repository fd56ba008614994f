/* Before a run writes: the archives its kept backups rely on, checked by a
 * stat each, and what is lost with the ones that are missing or damaged
 * (see heal.h). */
#include "heal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dest.h"

void heal_init(struct heal *h)
{
	memset(h, 0, sizeof(*h));
}

void heal_release(struct heal *h)
{
	strlist_clear(&h->ids);
	strlist_clear(&h->archives);
	free(h->stored_again);
	catalog_contents_release(&h->lost);
	memset(h, 0, sizeof(*h));
}

char *heal_archive_problem(bool exists, int64_t size, int64_t recorded)
{
	if (!exists)
		return xstrdup("is missing");
	if (recorded > 0 && size != recorded)
		return str_fmt("is %lld bytes, the metadata recorded %lld",
			       (long long)size, (long long)recorded);
	return NULL;
}

static ssize_t bad_index(const struct heal *h, const char *id)
{
	for (size_t i = 0; i < h->ids.len; i++)
		if (!strcmp(h->ids.items[i], id))
			return (ssize_t)i;
	return -1;
}

void heal_add(struct metadata *md, struct heal *h, size_t backup,
	      const char *why)
{
	struct history_entry *e = &md->history[backup];
	char *reason = str_fmt("archive '%s' %s", e->archive, why);

	catalog_mark_damaged(e, reason, NULL);
	free(reason);
	if (bad_index(h, e->backup_id) >= 0)
		return;
	strlist_push(&h->ids, e->backup_id);
	strlist_push(&h->archives, e->archive);
	h->stored_again = xrealloc(h->stored_again,
				   h->ids.len * sizeof(*h->stored_again));
	h->stored_again[h->ids.len - 1] = 0;
}

size_t heal_check(const char *dest, struct metadata *md, struct heal *h,
		  void (*report)(void *ctx, const char *msg), void *ctx)
{
	size_t found = 0;

	for (size_t i = 0; i < md->nhistory; i++) {
		const struct history_entry *e = &md->history[i];
		char *path = dest_archive_path(dest, e->archive), *why, *msg;
		struct stat st;
		bool exists = stat(path, &st) == 0 && S_ISREG(st.st_mode);
		bool known;

		free(path);
		why = heal_archive_problem(exists, exists ? st.st_size : 0,
					   e->bytes_written);
		if (!why)
			continue;
		known = e->damaged != NULL;
		heal_add(md, h, i, why);
		if (known) {
			free(why);
			continue;
		}
		found++;
		msg = str_fmt("backup %s is damaged: archive '%s' %s",
			      e->backup_id, e->archive, why);
		report(ctx, msg);
		free(msg);
		free(why);
	}
	return found;
}

static bool held_by_bad(const struct content *c, void *ctx)
{
	return bad_index(ctx, c->holder) >= 0;
}

void heal_forget(struct metadata *md, struct heal *h)
{
	for (size_t i = 0; i < md->contents.len; i++) {
		const struct content *c = &md->contents.items[i];

		if (held_by_bad(c, h) &&
		    !catalog_content_find(&h->lost, c->checksum))
			catalog_content_insert(&h->lost, c->checksum, c->size,
					       c->holder, c->member,
					       c->last_used);
	}
	catalog_content_remove_if(&md->contents, held_by_bad, h);
}

bool heal_is_lost(const struct heal *h, const uint8_t checksum[HASH_SIZE])
{
	return h->lost.len && catalog_content_find(&h->lost, checksum);
}

void heal_count_stored(struct heal *h, const uint8_t checksum[HASH_SIZE])
{
	const struct content *c = h->lost.len ?
		catalog_content_find(&h->lost, checksum) : NULL;
	ssize_t i = c ? bad_index(h, c->holder) : -1;

	if (i >= 0)
		h->stored_again[i]++;
}

static ssize_t history_index(const struct metadata *md, const char *id)
{
	for (size_t i = 0; i < md->nhistory; i++)
		if (!strcmp(md->history[i].backup_id, id))
			return (ssize_t)i;
	return -1;
}

bool heal_chain_broken(const struct metadata *md, const struct heal *h,
		       size_t i)
{
	for (;;) {
		if (bad_index(h, md->history[i].backup_id) >= 0)
			return true;
		if (!md->history[i].parent || i == 0 ||
		    strcmp(md->history[i].parent, md->history[i - 1].archive))
			return false;
		i--;
	}
}

static void mark_broken_chains(struct metadata *md, const struct heal *h)
{
	for (size_t i = 0; i < md->nhistory; i++) {
		struct history_entry *e = &md->history[i];
		char *why;

		if (bad_index(h, e->backup_id) >= 0 ||
		    !heal_chain_broken(md, h, i))
			continue;
		why = str_fmt("its manifest continues '%s', which is missing "
			      "or damaged", e->parent);
		catalog_mark_damaged(e, why, NULL);
		free(why);
	}
}

/* A lost content not stored again, with the backups that may need it: from
 * its holder's to the last that used it. */
static bool still_lost(const struct metadata *md, const struct content *c)
{
	return !catalog_content_find(&md->contents, c->checksum);
}

void heal_mark_damaged(struct metadata *md, const struct heal *h,
		       const char *old_id, const struct tree *old)
{
	struct strlist paths = {0};

	mark_broken_chains(md, h);
	for (size_t i = 0; old && i < old->len; i++) {
		const struct tree_entry *e = &old->entries[i];
		const struct content *c;

		if (e->type != ENTRY_FILE || !h->lost.len)
			continue;
		c = catalog_content_find(&h->lost, e->checksum);
		if (c && still_lost(md, c))
			strlist_push(&paths, e->path);
	}
	for (size_t i = 0; i < h->lost.len; i++) {
		const struct content *c = &h->lost.items[i];
		ssize_t from = history_index(md, c->holder);
		ssize_t to = history_index(md, c->last_used);
		ssize_t bad = bad_index(h, c->holder);
		char *why;

		if (!still_lost(md, c) || from < 0 || bad < 0)
			continue;
		if (to < from)
			to = from;
		why = str_fmt("content held only by '%s' is lost",
			      h->archives.items[bad]);
		for (ssize_t k = from; k <= to; k++) {
			struct history_entry *e = &md->history[k];
			bool known = old_id && !strcmp(e->backup_id, old_id);

			catalog_mark_damaged(e, why, known ? &paths : NULL);
		}
		free(why);
	}
	strlist_clear(&paths);
}
