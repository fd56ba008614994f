/* Change detection: what a run decides about one path from its record in
 * the last backup and what the scan found now. Pure functions over data,
 * so the rules can be tested by tables. */
#ifndef INCBAK_CHANGE_H
#define INCBAK_CHANGE_H

#include <stdbool.h>
#include <stdint.h>

struct tree_entry;

struct change_options {
	bool checksum_all;   /* --checksum: read every file */
	bool ignore_ctime;   /* a changed ctime alone does not mean a change */
	bool ignore_inode;   /* nor does a changed inode (network file
				systems, restored trees) */
};

/* What a run counts as changed, added to by the change_count_* functions. */
struct change_counts {
	int64_t files_added, files_modified, files_deleted;
	int64_t dirs_changed;
};

/* Whether the file `now` must be read (and hashed) again: it is new, was
 * not a file, was marked to be checked again, or its size, mtime, ctime or
 * inode differs from `old`'s (old may be NULL). Otherwise its old checksum
 * stands. */
bool change_needs_reading(const struct tree_entry *now,
			  const struct tree_entry *old,
			  const struct change_options *o);

/* Whether a and b have the same permission bits, owner and extended
 * attributes and ACLs. */
bool change_same_owner_and_mode(const struct tree_entry *a,
				const struct tree_entry *b);

/* Whether a folder or symlink `now` differs from `old` (NULL: new) in
 * anything a backup records: type, owner, a folder's mode, a symlink's
 * target, extended attributes and ACLs. */
bool change_other_differs(const struct tree_entry *now,
			  const struct tree_entry *old);

/* Counts `now` as added, modified or replaced against `old` (NULL: new).
 * A file that became a folder, or back, is one deletion and one
 * addition. */
void change_count_present(const struct tree_entry *now,
			  const struct tree_entry *old,
			  struct change_counts *c);

/* Counts `old`, no longer in the tree, as deleted. */
void change_count_missing(const struct tree_entry *old,
			  struct change_counts *c);

#endif
