/* The restore plan: what a restore of a backup, whole or some paths,
 * reads from which archive, decided before anything is read. */
#include "restore_plan.h"

#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "tree.h"
#include "util.h"

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
