/* A tree as incbak records it: one entry per path, sorted by path, with the
 * stat fields used for change detection and the content checksum. */
#ifndef INCBAK_TREE_H
#define INCBAK_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "util.h"

enum entry_type {
	ENTRY_FILE = 0,
	ENTRY_DIR,
	ENTRY_SYMLINK,
};

/* Two of these per path are alive at a run's peak (the walk's and the
 * metadata's), so the fields are ordered to leave no padding. */
struct tree_entry {
	char *path;          /* relative to the root, '/'-separated */
	char *link_target;   /* symlinks only */
	char *attrs;         /* extended attributes and ACLs (see attrs.h),
				NULL: none */
	uint64_t size;
	uint64_t ino;
	struct nstime mtime, ctime;
	uint8_t checksum[HASH_SIZE]; /* files only */
	uint32_t mode;       /* permission bits incl. setuid/setgid/sticky */
	uint32_t uid, gid;
	uint8_t type;        /* enum entry_type */
	/* Flags share one byte. */
	bool recheck : 1;    /* hash again next run (racily clean, or it
				changed while being read) */
	bool path_stored : 1; /* path is in the tree's own storage (see
				tree_store_path), not malloc'ed */
	bool same_record : 1; /* the metadata file this entry was read from
				holds a record saying just this of its path,
				which a save, or a manifest of the tree, may
				copy (the catalog's business: a run keeps it
				for an entry that stayed the same) */
	bool unchanged : 1;  /* says what the tree before the run said of
				its path (tree_entry_same): a manifest
				listing changes leaves it out */
};


struct tree {
	struct tree_entry *entries;
	size_t len, alloc;
	struct name_block *names; /* storage for paths, freed with the tree */
};

/* Appends a zeroed entry and returns it (pointers into the tree move). */
struct tree_entry *tree_push(struct tree *t);
/* Moves every entry of src, and the storage of their paths, to the end of
 * dst; src is left empty. */
void tree_absorb(struct tree *dst, struct tree *src);
/* Sorts by strcmp of path. */
void tree_sort(struct tree *t);
/* Binary search in a sorted tree; NULL if absent. */
struct tree_entry *tree_find(const struct tree *t, const char *path);
/* Index of the first duplicate path in a sorted tree, or -1. */
ptrdiff_t tree_find_duplicate(const struct tree *t);
/* A copy of path in t's own storage, for an entry of t (set its
 * path_stored): a run holds two trees of every path, and one malloc a path
 * costs 16 to 30 bytes more than the path. Entries moved to another tree
 * must take t's storage along, as moving the whole tree does. */
char *tree_store_path(struct tree *t, const char *path);
/* The same for n bytes of name (no NUL among them), NUL-terminated. */
char *tree_store_name(struct tree *t, const char *name, size_t n);
/* Deep copy of src into dst (appended). */
void tree_entry_copy(struct tree_entry *dst, const struct tree_entry *src);
void tree_entry_release(struct tree_entry *e);
/* True if a and b say the same of their path: type, size, inode, times,
 * mode, owner, attributes, checksum (files), link target (symlinks) and the recheck
 * flag, which is all a record of either shows but the path. */
bool tree_entry_same(const struct tree_entry *a, const struct tree_entry *b);
void tree_release(struct tree *t);

/* "file", "dir", "symlink". */
const char *tree_type_name(enum entry_type type);
/* Parses a type name; -1 if unknown. */
int tree_type_parse(const char *name, enum entry_type *out);

/* True if path is a safe relative path: not empty, no leading or trailing
 * '/', no empty, "." or ".." component. */
bool tree_path_is_safe(const char *path);

#endif
