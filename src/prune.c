/* Rotation on its own: lock, load, clean up, rotate, in the order a
 * backup run does them. */
#include "prune.h"

#include <string.h>

#include "dest_identity.h"
#include "lock.h"
#include "catalog.h"
#include "util.h"

static int prune_locked(const struct prune_options *o, struct metadata *md,
			struct prune_stats *stats, struct error *err)
{
	struct rotate_options ro = {
		.max_backups = o->max_backups,
		.dry_run = o->dry_run,
		.compression_level = o->compression_level,
		.threads = o->threads,
	};
	bool found;
	int rc;

	if (catalog_load(o->dest, md, &found, err) < 0)
		return -1;
	if (o->source) {
		rc = dest_identity_check(md, o->dest, o->source, false, NULL,
					 err);
		if (rc != STATUS_OK)
			return rc;
	}
	if (!o->dry_run &&
	    rotate_clean_up(o->dest, md, o->notice, o->ctx, err) < 0)
		return -1;
	rc = rotate_apply(o->dest, md, &ro, &o->report, &stats->rotate, err);
	stats->backups = md->nhistory;
	return rc;
}

int prune_run(const struct prune_options *o, struct prune_stats *stats,
	      struct error *err)
{
	struct lock *lock = NULL;
	struct metadata md;
	int rc;

	memset(stats, 0, sizeof(*stats));
	catalog_init(&md);
	rc = lock_acquire(o->dest, LOCK_EXCLUSIVE, o->host, o->now, &lock,
			  err);
	if (rc == STATUS_OK)
		rc = prune_locked(o, &md, stats, err);
	catalog_release(&md);
	lock_release(lock);
	return rc;
}
