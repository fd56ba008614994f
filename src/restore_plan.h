/* The restore plan: which entries of a backup's tree a restore writes,
 * and for each file with bytes which archive holds them, in the order the
 * archives are read. Pure functions over the metadata and the tree;
 * restore.c reads and writes. */
#ifndef INCBAK_RESTORE_PLAN_H
#define INCBAK_RESTORE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct content;
struct metadata;
struct strlist;
struct tree;
struct tree_entry;

/* A file whose bytes come from an archive. Sorted (restore_plan_sort) by
 * archive, member and checksum, so one pass per archive finds them by
 * binary search and the paths sharing a content are neighbours. */
struct restore_need {
	size_t entry;                  /* index in the backup's tree */
	size_t hist;                   /* holder's index in md.history */
	const struct content *c;
	bool done;                     /* written: restore.c's to set */
};

/* The path in the backup a PATH given to restore names: an absolute path
 * inside `source`; a relative one from `cwd` when cwd is inside the
 * source, else from the source root. Both folders are absolute and
 * resolved; "." and ".." are taken lexically. Returns the normalised path
 * ("" for the root; caller frees), or NULL if it is outside the source. */
char *restore_plan_map_path(const char *source, const char *cwd,
			    const char *asked);

/* "./docs/" -> "docs"; "." and "" mean the whole tree (""). Caller
 * frees. */
char *restore_plan_normalize(const char *path);

/* Whether the normalised paths asked for (none: all) are the whole tree. */
bool restore_plan_whole_tree(const struct strlist *scopes);

/* Marks in chosen (one per entry of t) the entry at the normalised path
 * `path`, everything under it, and the folders above it (restoring
 * docs/a.txt recreates docs/). Returns false if t has no such entry. */
bool restore_plan_choose(const struct tree *t, const char *path,
			 bool *chosen);

/* Whether a chosen entry's bytes come from an archive: a file that is not
 * empty. */
bool restore_plan_reads(const struct tree_entry *e);

enum restore_plan_status {
	RESTORE_PLAN_OK = 0,
	RESTORE_PLAN_UNRECORDED, /* md has no content with e's checksum */
	RESTORE_PLAN_NOT_KEPT,   /* the backup holding it is not in the
				    history (out->c says which) */
};

/* The need of entry i of t (restore_plan_reads() of it is true): its
 * content in md and the history index of the backup holding it. */
enum restore_plan_status restore_plan_need(const struct metadata *md,
					   const struct tree *t, size_t i,
					   struct restore_need *out);

/* Sorts needs into the reading order. */
void restore_plan_sort(struct restore_need *needs, size_t n);

/* The end of the needs from lo on that one archive holds: [lo, end) is
 * read in one go. */
size_t restore_plan_archive_end(const struct restore_need *needs, size_t n,
				size_t lo);

/* Above this many members from one archive, one pass in order beats
 * starting a decompression at each. */
#define RESTORE_PLAN_SEEK_MAX 64

/* Whether the needs [lo, hi) of one archive are read by going to each
 * member's frame, not in one pass: every one knows where its member starts
 * and there are few enough of them. */
bool restore_plan_can_seek(const struct restore_need *needs, size_t lo,
			   size_t hi);

/* The first need of [lo, hi) whose member is `name` or sorts after it. */
size_t restore_plan_first_member(const struct restore_need *needs, size_t lo,
				 size_t hi, const char *name);

/* What a restore does at one path of the target, as a dry run lists it. */
enum restore_plan_action {
	RESTORE_PLAN_SAME,      /* already as the backup has it: not listed */
	RESTORE_PLAN_NEW,       /* nothing there yet */
	RESTORE_PLAN_UPDATE,    /* something else there: replaced */
	RESTORE_PLAN_DELETE,    /* not in the backup: --delete removes it */
};

/* What the target holds at an entry's path (lstat, readlink). */
struct restore_plan_found {
	bool exists;
	uint8_t type;                  /* enum entry_type; 0xff: another */
	uint32_t mode, uid, gid;       /* mode: the permission bits */
	uint64_t size;
	struct nstime mtime;
	const char *link_target;       /* symlinks */
};

/* What restoring e over f does, judged as rsync's quick check does: the
 * same type, size and modification time (and mode, symlink target and,
 * when owners are restored, owner) mean the same entry. want_mode is the
 * mode the restore gives it. Folders are judged by mode and time only. */
enum restore_plan_action restore_plan_compare(const struct tree_entry *e,
					      uint32_t want_mode,
					      const struct restore_plan_found *f,
					      bool owners);

#endif
