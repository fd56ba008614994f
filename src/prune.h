/* `prune`: rotation without a backup, under the exclusive lock, with the
 * clean-up every writer does first. Knows nothing of the command line. */
#ifndef INCBAK_PRUNE_H
#define INCBAK_PRUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rotate.h"
#include "status.h"

struct error;

struct prune_options {
	const char *dest;
	const char *source;          /* the destination must be this tree's
					(see dest_identity_check); NULL: any */
	int max_backups;             /* keep the newest this many */
	bool dry_run;                /* report what would go; change nothing */
	int compression_level, threads; /* for the rewritten archive */
	const char *host;            /* for the lock file */
	int64_t now;                 /* seconds since the epoch */
	struct rotate_report report; /* each backup removed */
	/* What the clean-up removed, as a whole message. */
	void (*notice)(void *ctx, const char *msg);
	void *ctx;
};

struct prune_stats {
	size_t backups;           /* in the history once done */
	struct rotate_stats rotate;
};

/* Takes the exclusive lock on o->dest, loads the metadata, removes what an
 * interrupted run left (unless dry_run) and rotates down to
 * o->max_backups. Returns STATUS_OK, STATUS_BUSY, STATUS_DAMAGED (an
 * archive to carry from is damaged: nothing was removed), or -1 with err
 * set. */
int prune_run(const struct prune_options *o, struct prune_stats *stats,
	      struct error *err);

#endif
