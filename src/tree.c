/* Sorted trees of entries, shared by the scanner, the metadata and the
 * manifests. */
#include "tree.h"

#include "attrs.h"

#include <stdlib.h>
#include <string.h>

char *tree_store_path(struct tree *t, const char *path)
{
	return names_store(&t->names, path, strlen(path));
}

char *tree_store_name(struct tree *t, const char *name, size_t n)
{
	return names_store(&t->names, name, n);
}

struct tree_entry *tree_push(struct tree *t)
{
	struct tree_entry *e;

	grow_array((void **)&t->entries, &t->alloc, t->len + 1,
		   sizeof(*t->entries));
	e = &t->entries[t->len++];
	memset(e, 0, sizeof(*e));
	return e;
}

static int cmp_entries(const void *a, const void *b)
{
	return strcmp(((const struct tree_entry *)a)->path,
		      ((const struct tree_entry *)b)->path);
}

/* Entries tree_absorb() copies at a time: 6.5 MB. */
#define ABSORB_BLOCK ((size_t)1 << 16)

void tree_absorb(struct tree *dst, struct tree *src)
{
	struct name_block **tail = &src->names;

	/* Into an empty tree, the entries move without a copy: a copy would
	 * hold both at once, the peak of a scan of a million files. */
	if (!dst->len) {
		free(dst->entries);
		dst->entries = src->entries;
		dst->alloc = src->alloc;
		dst->len = src->len;
		src->entries = NULL;
	} else if (src->len) {
		size_t left = src->len;

		grow_array((void **)&dst->entries, &dst->alloc,
			   dst->len + src->len, sizeof(*dst->entries));
		/* In blocks from the end, each given back once copied (a
		 * large array shrinks in place), for the same reason. */
		while (left) {
			size_t n = left < ABSORB_BLOCK ? left : ABSORB_BLOCK;

			left -= n;
			memcpy(dst->entries + dst->len + left,
			       src->entries + left, n * sizeof(*src->entries));
			if (left)
				src->entries = xrealloc(src->entries,
					left * sizeof(*src->entries));
		}
		dst->len += src->len;
	}
	names_splice(tail, &dst->names);
	free(src->entries);
	memset(src, 0, sizeof(*src));
}

static bool tree_is_sorted(const struct tree *t)
{
	for (size_t i = 1; i < t->len; i++)
		if (cmp_entries(&t->entries[i - 1], &t->entries[i]) > 0)
			return false;
	return true;
}

/* Trees mostly come sorted (the metadata is written so): checking costs
 * one comparison an entry, qsort about log2(n) / 2 of them. */
void tree_sort(struct tree *t)
{
	if (t->len > 1 && !tree_is_sorted(t))
		qsort(t->entries, t->len, sizeof(*t->entries), cmp_entries);
}

struct tree_entry *tree_find(const struct tree *t, const char *path)
{
	size_t lo = 0, hi = t->len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->entries[mid].path, path);

		if (c == 0)
			return &t->entries[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

ptrdiff_t tree_find_duplicate(const struct tree *t)
{
	for (size_t i = 1; i < t->len; i++)
		if (strcmp(t->entries[i - 1].path, t->entries[i].path) == 0)
			return (ptrdiff_t)i;
	return -1;
}

void tree_entry_copy(struct tree_entry *dst, const struct tree_entry *src)
{
	*dst = *src;
	dst->path = xstrdup(src->path);
	dst->path_stored = false;
	dst->link_target = src->link_target ? xstrdup(src->link_target) : NULL;
	dst->attrs = src->attrs ? xstrdup(src->attrs) : NULL;
}

static bool same_time(struct nstime a, struct nstime b)
{
	return a.sec == b.sec && a.nsec == b.nsec;
}

bool tree_entry_same(const struct tree_entry *a, const struct tree_entry *b)
{
	if (a->type != b->type || a->size != b->size || a->ino != b->ino ||
	    !same_time(a->mtime, b->mtime) || !same_time(a->ctime, b->ctime) ||
	    a->mode != b->mode || a->uid != b->uid || a->gid != b->gid ||
	    a->recheck != b->recheck || !attrs_same(a->attrs, b->attrs))
		return false;
	if (a->type == ENTRY_FILE &&
	    memcmp(a->checksum, b->checksum, HASH_SIZE))
		return false;
	if (a->type == ENTRY_SYMLINK &&
	    (!a->link_target || !b->link_target ||
	     strcmp(a->link_target, b->link_target)))
		return false;
	return true;
}

void tree_entry_release(struct tree_entry *e)
{
	if (!e->path_stored)
		free(e->path);
	e->path_stored = false;
	free(e->link_target);
	free(e->attrs);
	e->path = e->link_target = e->attrs = NULL;
}

void tree_release(struct tree *t)
{
	for (size_t i = 0; i < t->len; i++)
		tree_entry_release(&t->entries[i]);
	free(t->entries);
	names_release(&t->names);
	memset(t, 0, sizeof(*t));
}

static const char *const type_names[] = {
	[ENTRY_FILE] = "file",
	[ENTRY_DIR] = "dir",
	[ENTRY_SYMLINK] = "symlink",
};

const char *tree_type_name(enum entry_type type)
{
	return type_names[type];
}

int tree_type_parse(const char *name, enum entry_type *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(type_names); i++) {
		if (strcmp(name, type_names[i]) == 0) {
			*out = (enum entry_type)i;
			return 0;
		}
	}
	return -1;
}

bool tree_path_is_safe(const char *path)
{
	const char *p = path;

	if (!*path || *path == '/')
		return false;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}
