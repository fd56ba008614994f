/* Rotation: keep the newest max_backups backups without ever making a kept
 * backup unrestorable. rotate_plan.h decides (pure, over the metadata);
 * rotate_apply does it, one oldest backup at a time, crash-safe. */
#ifndef INCBAK_ROTATE_H
#define INCBAK_ROTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

struct error;
struct metadata;

struct rotate_report {
	/* carried: contents moved into the newest archive; copied: how many
	 * of them in frames copied as they are, not compressed again */
	void (*removed)(void *ctx, const char *backup_id, const char *archive,
			int64_t carried, int64_t copied);
	void *ctx;
};

struct rotate_stats {
	int64_t backups_removed;
	int64_t contents_carried;   /* moved into the newest archive */
	int64_t contents_copied;    /* of which in frames copied as they are */
	int64_t contents_dropped;   /* no kept backup needed them */
	uint64_t bytes_freed;       /* archive bytes removed, net */
	bool metadata_saved;        /* a step saved the metadata */
};

/* The clean-up every writer does under the exclusive lock once the
 * metadata is loaded: the temporary files a killed writer left, then
 * the archives an intent names that the metadata does not record
 * (intent_settle()). Says what it removed through notice (a whole
 * message); returns 0 or -1 with err set. */
int rotate_clean_up(const char *dest, const struct metadata *md,
		    void (*notice)(void *ctx, const char *msg), void *ctx,
		    struct error *err);

struct rotate_options {
	int max_backups;
	bool dry_run;
	int compression_level, threads; /* for the rewritten archive */
};

/* Removes the oldest backups beyond max_backups from dest and md (which
 * the caller loaded under the exclusive lock), saving md after each step.
 * Before an archive goes, the contents a kept backup still needs are copied
 * into the newest archive (rewritten under a temporary name, fsynced,
 * renamed), then the metadata is saved, then the old archive deleted: a
 * crash at any point leaves every kept backup restorable. With dry_run
 * nothing is changed and the report says what would go. Returns STATUS_OK,
 * STATUS_DAMAGED or -1 with err set. */
int rotate_apply(const char *dest, struct metadata *md,
		 const struct rotate_options *opts,
		 const struct rotate_report *report, struct rotate_stats *stats,
		 struct error *err);

#endif
