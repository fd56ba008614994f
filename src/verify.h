/* Checking that the archives hold what the metadata and their manifests say:
 * every stored member hashed again, every kept backup's tree restorable.
 * Knows nothing of the command line; problems go to a callback. */
#ifndef INCBAK_VERIFY_H
#define INCBAK_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

struct error;
struct metadata;

/* Where problems go. `archive` is the archive's file name, `path` a member
 * or tree path, or "-" when the problem concerns the whole archive; `what`
 * says what is wrong. The strings live only for the call. */
struct verify_report {
	void (*problem)(void *ctx, const char *archive, const char *path,
			const char *what);
	void *ctx;
};

struct verify_stats {
	int64_t archives;  /* archives read (missing ones included) */
	int64_t members;   /* stored members whose bytes were hashed */
	int64_t files;     /* file entries of the verified backups' trees */
	int64_t problems;  /* problems reported */
};

/* Verifies the backups with ids ids[0..nids) (exact ids from
 * md->history; nids == 0 means every backup in the history) in the
 * destination dest. Each named archive is read once from start to end:
 * every stored member is hashed and compared with the archive's manifest
 * (holds) and with md->contents entries that name it as holder; a damaged,
 * truncated or missing archive is a problem, never an error. Then every
 * file of each verified backup's tree must have its content in md->contents,
 * held by a backup in the history whose archive really holds it (archives
 * not among ids are trusted if they exist). Empty files need no content.
 *
 * The caller holds the destination lock (shared, or the exclusive one of
 * the run that just wrote an archive) and owns md, which is not changed.
 * stats is zeroed first. Returns 0 (check stats->problems), or -1 with err
 * set when verification itself could not go on (an id not in md->history,
 * interrupted, SHA-256 unavailable). */
int verify_backups(const char *dest, const struct metadata *md,
		   const char *const *ids, size_t nids,
		   const struct verify_report *report,
		   struct verify_stats *stats, struct error *err);

struct verify_options {
	const char *dest;
	const char *const *queries; /* ids, unique prefixes or "latest" */
	size_t nqueries;            /* 0: every backup */
	const char *host;           /* for the lock file */
	int64_t now;                /* seconds since the epoch */
	struct verify_report report;
};

/* `verify`: takes the shared lock on o->dest, loads the metadata, resolves
 * the queries and runs verify_backups(). Returns STATUS_OK (check
 * stats->problems), STATUS_BUSY, STATUS_USAGE (a query names no backup),
 * or -1 with err set (no destination, no or damaged metadata, no backups:
 * the message says what to do). */
int verify_run(const struct verify_options *o, struct verify_stats *stats,
	       struct error *err);

#endif
