/* One backup run: lock -> load metadata -> scan -> detect changes -> write
 * the archive -> save metadata. Knows nothing of the command line. */
#ifndef INCBAK_BACKUP_H
#define INCBAK_BACKUP_H

#include <stdbool.h>
#include <stdint.h>

#include "attrs.h"
#include "status.h"
#include "util.h"

struct error;
struct exclude_set;

/* The caller owns time (tests set it; see main.c). */
struct backup_clock {
	struct nstime (*now)(void *ctx);
	void (*wait_until)(void *ctx, int64_t sec); /* returns at or after sec */
	void *ctx;
};

/* Messages for the user while the run goes on; the core prints nothing. */
struct backup_report {
	void (*warning)(void *ctx, const char *msg); /* counted: exit 3 */
	void (*notice)(void *ctx, const char *msg);  /* informational */
	void (*progress)(void *ctx, uint64_t files_done, uint64_t files_total,
			 uint64_t bytes_read);
	void *ctx;
};

struct backup_options {
	const char *source;                 /* absolute */
	const char *dest;                   /* absolute */
	const char *name;                   /* archive name prefix */
	struct exclude_set *excludes;       /* all patterns but .incbakignore */
	const struct strlist *exclude_if_present;
	bool one_file_system;
	bool ignore_inode, ignore_ctime;
	struct attrs_options attrs;         /* what of them to keep */
	bool checksum_all;                  /* --checksum */
	int compression_level, threads;
	int max_backups;                    /* rotate after the run; 0: never */
	bool verify_after_backup;           /* read the new archive back */
	bool allow_shared_dest;             /* a destination others can
					       write to is accepted */
	bool create_dest_parents;           /* the default destination: its
					       parents are created too */
	const char *state_dir;              /* this user's records of
					       destinations, or NULL */
	bool new_dest;                      /* --new-dest: start afresh where
					       the record saw backups */
	bool reattach;                      /* --reattach: the destination
					       recorded another source path
					       (this one, moved): record this
					       one instead of refusing */
	const char *host;                   /* for the lock file */
	struct backup_clock clock;
	struct backup_report report;
};

struct backup_stats {
	char backup_id[BACKUP_ID_SIZE];     /* empty when nothing was written */
	char previous_id[BACKUP_ID_SIZE];   /* last backup before this run */
	char *archive;                      /* file name; NULL if none */
	uint64_t archive_size;
	int64_t files_added, files_modified, files_deleted;
	int64_t dirs_changed;               /* folders added/removed/chmod'ed */
	int64_t files_stored;               /* contents written this run */
	int64_t total_files;                /* non-folder entries in the tree */
	uint64_t bytes_read;
	int64_t warnings;                   /* per-file problems (exit 3) */
	int64_t backups_removed;            /* by rotation after the run */
	struct strlist removed_ids;         /* their ids, oldest first */
	int64_t contents_carried;
	bool skipped;                       /* nothing changed: no archive */
	struct nstime started;
};

/* Runs one backup, then rotates down to opts->max_backups. Returns
 * STATUS_OK (check stats->warnings), STATUS_BUSY, STATUS_DAMAGED,
 * STATUS_USAGE (the destination belongs to another source), or -1
 * with err set. Nothing already in the destination is altered on
 * failure. */
int backup_run(const struct backup_options *opts, struct backup_stats *stats,
	       struct error *err);

void backup_stats_release(struct backup_stats *stats);

/* The archive file name for a backup: NAME_backup_ID.tar.zst. */
char *backup_archive_name(const char *name, const char *id);

#endif
