/* What changed between two trees, and which paths a find pattern matches:
 * the pure decisions behind show, diff, log and find, tested by tables. */
#ifndef INCBAK_HISTORY_DIFF_H
#define INCBAK_HISTORY_DIFF_H

#include <stdbool.h>
#include <stdint.h>

struct tree;
struct tree_entry;

/* The marks restic's diff prints. */
enum history_mark {
	HISTORY_ADDED = '+',
	HISTORY_REMOVED = '-',
	HISTORY_MODIFIED = 'M',  /* a file's content, a symlink's target */
	HISTORY_TYPE = 'T',      /* a file became a folder or link, ... */
};

struct history_change {
	enum history_mark mark;
	const struct tree_entry *old;   /* NULL if added */
	const struct tree_entry *now;   /* NULL if removed */
};

struct history_diff_stats {
	int64_t added, removed, modified, type_changed;
	uint64_t bytes_added, bytes_removed; /* of files: what the change
						adds to or takes from the
						tree's size */
};

/* Calls each() for every path whose entry differs between the sorted trees
 * `old` and `now`, in path order. Only type, content (checksum and size)
 * and link targets count: a changed time or mode alone is no change. */
void history_diff(const struct tree *old, const struct tree *now,
		  void (*each)(void *ctx, const struct history_change *c),
		  void *ctx, struct history_diff_stats *stats);

/* Whether path (relative, '/'-separated) matches a find pattern: a glob
 * (fnmatch: * ? [...]) against the base name when the pattern has no '/',
 * else against the whole path, where * does not cross '/'. A leading '/'
 * anchors at the top of the tree and is ignored. */
bool history_match(const char *pattern, const char *path);

/* The folder every path a pattern matches lies in ("" if any path may
 * match), newly allocated: the part of each manifest find must read. */
char *history_pattern_scope(const char *pattern);

/* Whether path is `under` or inside it ("" holds every path). */
bool history_path_within(const char *path, const char *under);

#endif
