/* The catalog in memory: initialising and releasing it, its history, and
 * manifests made whole from their parents. */
#include "catalog.h"

#include <stdlib.h>
#include <string.h>

void catalog_init(struct metadata *md)
{
	memset(md, 0, sizeof(*md));
}

static void history_release(struct history_entry *h)
{
	free(h->backup_id);
	free(h->date);
	free(h->archive);
	free(h->parent);
}

void catalog_release(struct metadata *md)
{
	if (!md)
		return;
	free(md->last_backup_date);
	free(md->tree_backup_id);
	free(md->source);
	free(md->dest_id);
	tree_release(&md->files);
	catalog_contents_release(&md->contents);
	for (size_t i = 0; i < md->nhistory; i++)
		history_release(&md->history[i]);
	free(md->history);
	strlist_clear(&md->reported_specials);
	memset(md, 0, sizeof(*md));
}

struct history_entry *catalog_add_history(struct metadata *md)
{
	struct history_entry *h;

	grow_array((void **)&md->history, &md->history_alloc,
		   md->nhistory + 1, sizeof(*md->history));
	h = &md->history[md->nhistory++];
	memset(h, 0, sizeof(*h));
	return h;
}

const struct history_entry *catalog_last_backup(const struct metadata *md)
{
	return md->nhistory ? &md->history[md->nhistory - 1] : NULL;
}

const struct history_entry *catalog_find_backup(const struct metadata *md,
						const char *id)
{
	for (size_t i = 0; i < md->nhistory; i++)
		if (strcmp(md->history[i].backup_id, id) == 0)
			return &md->history[i];
	return NULL;
}

/* The checksums are uniformly random already, so their first bytes make a
 * good hash; slots hold item index + 1 (0 = empty), linear probing. */
void catalog_manifest_init(struct manifest *m)
{
	memset(m, 0, sizeof(*m));
}

void catalog_manifest_release(struct manifest *m)
{
	if (!m)
		return;
	free(m->backup_id);
	free(m->date);
	free(m->parent);
	free(m->source);
	free(m->dest_id);
	tree_release(&m->files);
	strlist_clear(&m->deleted);
	catalog_contents_release(&m->holds);
	memset(m, 0, sizeof(*m));
}

static int cmp_path_ptrs(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool listed_in(char **sorted, size_t n, const char *path)
{
	return n && bsearch(&path, sorted, n, sizeof(*sorted),
			    cmp_path_ptrs) != NULL;
}

void catalog_manifest_compose(struct manifest *m, const struct tree *base)
{
	char **gone = xmalloc((m->deleted.len + 1) * sizeof(*gone));
	struct tree whole = {0};

	if (m->deleted.len) {
		memcpy(gone, m->deleted.items, m->deleted.len * sizeof(*gone));
		qsort(gone, m->deleted.len, sizeof(*gone), cmp_path_ptrs);
	}
	tree_sort(&m->files);
	for (size_t i = 0; i < base->len; i++) {
		const struct tree_entry *e = &base->entries[i];
		struct tree_entry *copy;

		if (listed_in(gone, m->deleted.len, e->path) ||
		    tree_find(&m->files, e->path))
			continue;
		copy = tree_push(&whole);
		*copy = *e;
		copy->path = tree_store_path(&whole, e->path);
		copy->path_stored = true;
		copy->attrs = e->attrs ? xstrdup(e->attrs) : NULL;
		copy->link_target = e->link_target ? xstrdup(e->link_target)
						   : NULL;
		copy->same_record = copy->unchanged = false;
	}
	free(gone);
	tree_absorb(&whole, &m->files);
	tree_sort(&whole);
	tree_release(&m->files);
	m->files = whole;
	m->delta = false;
}

bool catalog_is_backup_id(const char *s)
{
	static const char shape[] = "dddd-dd-dd_dd-dd-dd";

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9')
				    : s[i] != shape[i])
			return false;
	return true;
}
