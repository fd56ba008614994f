/* Restoring one backup: which archives hold the bytes of the chosen paths,
 * each read once, and files written through folder descriptors so that no
 * symlink is followed and nothing lands outside the target. */
#ifndef INCBAK_RESTORE_H
#define INCBAK_RESTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "restore_plan.h"
#include "status.h"
#include "util.h"

struct error;

/* What the user hears while a restore goes on; the core prints nothing. */
struct restore_report {
	/* Dry run: one per path the restore would change (never
	 * RESTORE_PLAN_SAME), deletions first, as the real run does them. */
	void (*planned)(void *ctx, enum restore_plan_action action,
			const char *path);
	void (*progress)(void *ctx, uint64_t done, uint64_t total,
			 uint64_t bytes);
	void *ctx;
};

struct restore_options {
	const char *dest;              /* the backup destination */
	const char *owner;             /* the destination must be this
					  source's (see dest_identity_check);
					  NULL: any */
	const char *id;                /* as the user wrote it (see
					  dest_resolve_id) */
	const char *target;            /* NULL: ./incbak-restore-ID */
	const char *source;            /* absolute and resolved, or NULL: a
					  target folder the restore creates
					  inside it gets a CACHEDIR.TAG, so
					  the next run leaves it out */
	const struct strlist *paths;   /* relative to the source root; empty
					  means the whole tree */
	bool force;                    /* write into a non-empty folder */
	bool delete_extra;             /* with force: remove what the backup
					  did not have, within the paths */
	bool dry_run;                  /* plan and report, change nothing;
					  a non-empty target is compared,
					  with or without force */
	bool same_owner;               /* as root: keep setuid/setgid bits */
	const char *host;              /* for the lock */
	int64_t now;
	struct restore_report report;
};

struct restore_stats {
	char backup_id[BACKUP_ID_SIZE];
	char *target;                  /* absolute; NULL before it is known */
	int64_t files, folders, symlinks;
	int64_t deleted;               /* entries removed by delete_extra
					  (dry run: that it would remove) */
	int64_t unchanged;             /* dry run: entries already there as
					  the backup has them */
	bool needs_force;              /* dry run: the target is not empty
					  and force was not given */
	bool tagged;                   /* the target got a CACHEDIR.TAG */
	uint64_t bytes;                /* file bytes restored */
	/* Extended attributes the target's file system refused (ENOTSUP):
	 * each name once, with how many files lost it. Only these make a
	 * restore partial; any other failure to apply one is an error. */
	struct restore_lost_attr {
		char *name;
		int64_t files;
	} *lost;
	size_t nlost;
};

/* Restores backup o->id of o->dest into o->target under the shared lock.
 * Extended attributes and ACLs are applied after the bytes are checked
 * (see attrs_may_apply for which); those the file system cannot keep are
 * counted in stats->lost, and the restore returns STATUS_PARTIAL.
 * Every file is written to a temporary name, checked against its recorded
 * size and SHA-256, and only then renamed into place; a failure leaves no
 * temporary file behind. Returns STATUS_OK, another enum status
 * with err set, or -1 with err set (any other error: exit 1). stats is
 * filled as far as the restore got; release it with restore_stats_release. */
int restore_run(const struct restore_options *o, struct restore_stats *stats,
		struct error *err);

void restore_stats_release(struct restore_stats *stats);

#endif
