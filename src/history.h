/* Reading the history for show, diff, log and find: a backup's tree (or
 * only the records at some paths) from its manifest, and the source tree
 * as a run would record it now. Reads only; takes no lock, as list does:
 * archives are written under temporary names and renamed into place. */
#ifndef INCBAK_HISTORY_H
#define INCBAK_HISTORY_H

#include <stdbool.h>
#include <stdint.h>

#include "change.h"

struct error;
struct exclude_set;
struct history_entry;
struct strlist;
struct tree;

/* The tree of backup h in dest, into out (empty, initialised to zero):
 * whole if paths is NULL, else only the records at, under and above those
 * paths (relative, normalised), which is all a manifest laid out as incbak
 * writes it has to give. Errors name the archive (a damaged one: the
 * caller reports STATUS_DAMAGED). */
int history_read_tree(const char *dest, const struct history_entry *h,
		      const struct strlist *paths, struct tree *out,
		      struct error *err);

struct history_scan {
	const char *source, *dest;          /* absolute */
	struct exclude_set *excludes;
	const struct strlist *exclude_if_present;
	bool one_file_system;
	struct change_options change;
	/* A file that cannot be read: counted, and left out of *out. */
	void (*unreadable)(void *ctx, const char *path, const char *reason);
	void *ctx;
};

/* The source tree now, into out (empty), with the checksums a run would
 * record: a file whose size, times and inode are those of its entry in
 * base (a sorted tree: the last backup's, or the metadata's) keeps base's
 * checksum unread; only the others are read and hashed. Returns the number
 * of paths that could not be read (reported through o->unreadable), or -1
 * with err set when the source cannot be walked. */
int64_t history_scan_now(const struct history_scan *o, const struct tree *base,
			 struct tree *out, struct error *err);

#endif
