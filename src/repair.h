/* Rebuilding backup_metadata.json from the archives alone, when it is lost
 * or damaged: each archive's manifest says what it holds and what the tree
 * was. Knows nothing of the command line. */
#ifndef INCBAK_REPAIR_H
#define INCBAK_REPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

struct error;
struct manifest;
struct metadata;

/* Messages while the repair goes on; the core prints nothing. */
struct repair_report {
	/* An archive left out of the rebuilt metadata, and why. */
	void (*skipped)(void *ctx, const char *archive, const char *reason);
	/* An archive kept for the contents it holds, whose backup's tree
	 * cannot be known: its manifest lists what changed since a tree that
	 * is gone. */
	void (*incomplete)(void *ctx, const char *archive, const char *reason);
	void *ctx;
};

struct repair_options {
	const char *dest;
	bool force;       /* rebuild even when the metadata parses */
	const char *host; /* for the lock file */
	int64_t now;      /* seconds since the epoch: lock, kept file's name */
	struct repair_report report;
};

struct repair_stats {
	bool not_needed;  /* the metadata parses and !force: nothing done */
	bool was_damaged; /* the old metadata could not be read */
	int64_t archives; /* archives the metadata was rebuilt from */
	int64_t skipped;  /* archives left out (reported) */
	int64_t incomplete; /* archives kept whose tree is unknown (reported) */
	char *kept_as;    /* file name the old metadata was renamed to, or
			     NULL if there was none */
};

/* Under the exclusive lock: unless DEST/backup_metadata.json loads (and
 * !force), rebuilds it from every archive in dest that has a valid
 * manifest, renames the old file (if any) to
 * backup_metadata.json.corrupt-YYYY-MM-DD_HH-MM-SS (UTC now) and writes the
 * new one atomically. Unreadable archives are skipped and reported. Returns
 * STATUS_OK (check stats), STATUS_BUSY, or -1 with err set: no archives at
 * all, none readable, or a file-system error (nothing is changed then).
 * Release stats with repair_stats_release. */
int repair_run(const struct repair_options *opts, struct repair_stats *stats,
	       struct error *err);

void repair_stats_release(struct repair_stats *stats);

/* One readable archive, for repair_build. */
struct repair_archive {
	const char *name;                /* file name in the destination */
	uint64_t size;                   /* archive file size */
	const struct manifest *manifest;
};

/* Builds md (initialised, empty) from archives[0..n), oldest first, with
 * distinct increasing backup ids. History from the manifests; contents =
 * union of the holds, the oldest holder winning; last_used = the newest
 * backup whose tree refers to a content; files = the newest tree, less the
 * non-empty files whose content no archive holds (so the next run stores
 * them again); the source and destination id = the newest manifest's that
 * records them (none: the next run adopts the destination). Pure: no files
 * are read. */
void repair_build(struct metadata *md, const struct repair_archive *archives,
		  size_t n);

#endif
