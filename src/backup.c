/* One backup run. The order of durable steps is what keeps earlier backups
 * safe: the archive is written under a temporary name and renamed into place
 * before the metadata that names it is replaced, and a run that fails removes
 * what it wrote. */
#include "backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "change.h"
#include "exclude.h"
#include "dest_identity.h"
#include "dest_record.h"
#include "faultpoint.h"
#include "fsutil.h"
#include "hash.h"
#include "intent.h"
#include "lock.h"
#include "catalog.h"
#include "rotate.h"
#include "rotate_plan.h"
#include "scan.h"
#include "dest.h"
#include "tarball.h"
#include "tree.h"
#include "verify.h"
#include "source_readahead.h"

/* Files up to this size are read into memory once, so they can be hashed
 * before we decide whether to store them (deduplication, touch-only
 * changes) and re-read if they change under us. */
#define SMALL_FILE_LIMIT ((size_t)8 << 20)
#define STREAM_CHUNK ((size_t)1 << 20)
/* A file modified this close to the run's start may change again within
 * the filesystem's timestamp granularity without its mtime moving (FAT has
 * 2 s); such a file is hashed again next run (git's "racily clean"). */
#define RACY_WINDOW_SEC 2

struct run {
	const struct backup_options *opts;
	struct backup_stats *stats;
	struct error *err;
	struct metadata md;
	struct scan_result scan;
	struct tree next;            /* the tree this run records (during
					the walk: old records kept for
					unreadable folders) */
	struct strlist deleted;
	struct strlist specials;     /* found by the scan, with their kinds */
	struct strlist special_kinds;
	struct tarball_writer *writer;
	struct nstime now;
	char id[BACKUP_ID_SIZE];
	int rootfd;
	struct hash *hash;
	struct buf small;
	char *chunk;
	bool metadata_dirty;         /* records refreshed without a change */
	bool identity_dirty;         /* the source or destination id newly
					recorded (dest_identity_claim) */
	bool record_pending;         /* the new backup is in md, not saved:
					rotation's first step saves both */
	bool intent;                 /* an intent names the new archive */
	bool cache_missed;           /* this file was not all in the page
					cache before we read it */
	/* On a cold cache, the files the walk reads next are asked for
	 * ahead of it: warm_i and warm_j are how far it has looked in the
	 * scan and the old tree. */
	struct source_readahead warm;
	bool warming;
	size_t warm_i, warm_j;
};

char *backup_archive_name(const char *name, const char *id)
{
	return str_fmt("%s_backup_%s.tar.zst", name, id);
}

static void warn(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warn(struct run *r, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = str_vfmt(fmt, ap);
	va_end(ap);
	r->stats->warnings++;
	if (r->opts->report.warning)
		r->opts->report.warning(r->opts->report.ctx, msg);
	free(msg);
}

static void notice(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void notice(struct run *r, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = str_vfmt(fmt, ap);
	va_end(ap);
	if (r->opts->report.notice)
		r->opts->report.notice(r->opts->report.ctx, msg);
	free(msg);
}

/* ---- choosing the backup id ---- */

/* A warning that is not a file left out: shown (and in --json's
 * warnings), but the run's exit status stays 0. */
static void caution(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void caution(struct run *r, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = str_vfmt(fmt, ap);
	va_end(ap);
	if (r->opts->report.warning)
		r->opts->report.warning(r->opts->report.ctx, msg);
	free(msg);
}

/* Ids are the start second in UTC and must be unique and increasing: wait
 * out a second that the last backup already used. A clock behind the last
 * backup (that one was made with a clock set ahead, or this one is set
 * back) must not stop every later backup: the id is then the second after
 * the last one, with a warning, until the clock passes it. */
static int choose_id(struct run *r)
{
	const struct history_entry *last = catalog_last_backup(&r->md);
	const struct backup_clock *clock = &r->opts->clock;
	char now_id[BACKUP_ID_SIZE];
	int64_t last_sec;

	format_backup_id(r->now.sec, r->id);
	if (!last || strcmp(r->id, last->backup_id) > 0)
		return 0;
	if (strcmp(r->id, last->backup_id) == 0) {
		clock->wait_until(clock->ctx, r->now.sec + 1);
		r->now = clock->now(clock->ctx);
		format_backup_id(r->now.sec, r->id);
		if (strcmp(r->id, last->backup_id) > 0)
			return 0;
	}
	if (parse_backup_id(last->backup_id, &last_sec) < 0)
		return error_set(r->err, "the last backup's id '%s' is not a "
				 "date", last->backup_id);
	memcpy(now_id, r->id, BACKUP_ID_SIZE);
	format_backup_id(last_sec + 1, r->id);
	caution(r, "the clock says %s, before the last backup %s, which is "
		"dated in the future (or the clock is wrong now); this backup "
		"is %s, the second after it, to keep the backups in order",
		now_id, last->backup_id, r->id);
	return 0;
}

static int ensure_writer(struct run *r)
{
	char *name;
	int rc;

	if (r->writer)
		return 0;
	if (choose_id(r) < 0)
		return -1;
	name = backup_archive_name(r->opts->name, r->id);
	rc = tarball_writer_open(r->opts->dest, name,
				 r->opts->compression_level, r->opts->threads,
				 &r->writer, r->err);
	free(name);
	return rc;
}

/* The metadata's contents, when the load left them out (a big tree: see
 * METADATA_SMALL_CONTENTS), are loaded only once some file must be read:
 * a run with nothing changed, the common case, never needs them. */
static int ensure_contents(struct run *r)
{
	return catalog_load_contents(r->opts->dest, &r->md, r->err);
}

/* ---- reading and storing one file ---- */

static void entry_take_stat(struct tree_entry *e, const struct stat *st)
{
	e->mode = st->st_mode & 07777;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->size = (uint64_t)st->st_size;
	e->ino = st->st_ino;
	e->mtime.sec = st->st_mtim.tv_sec;
	e->mtime.nsec = (int32_t)st->st_mtim.tv_nsec;
	e->ctime.sec = st->st_ctim.tv_sec;
	e->ctime.nsec = (int32_t)st->st_ctim.tv_nsec;
}

static bool stat_unchanged(const struct tree_entry *e, const struct stat *st)
{
	return (uint64_t)st->st_size == e->size &&
	       st->st_mtim.tv_sec == e->mtime.sec &&
	       st->st_mtim.tv_nsec == e->mtime.nsec;
}

/* Keep the user's working set in the page cache, not our reads: a file
 * that was all cached before we read it stays; one we brought in goes. */
static void drop_from_cache(struct run *r, int fd)
{
	if (r->cache_missed)
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
}

/* Adds the counts of one decision (change.c) to the run's stats. */
static void count_change(struct run *r, const struct tree_entry *e,
			 const struct tree_entry *old)
{
	struct change_counts c = {0};

	if (e)
		change_count_present(e, old, &c);
	else
		change_count_missing(old, &c);
	r->stats->files_added += c.files_added;
	r->stats->files_modified += c.files_modified;
	r->stats->files_deleted += c.files_deleted;
	r->stats->dirs_changed += c.dirs_changed;
}

/* Records that this run's archive holds e's content as `member`, the
 * member just written, and where it starts so a restore can go there (the
 * frame's number until resolve_positions() makes it an offset). */
static void add_content(struct run *r, const struct tree_entry *e,
			const char *member)
{
	struct content *c = catalog_content_insert(&r->md.contents, e->checksum,
					   e->size, r->id, member, r->id);

	tarball_last_member_position(r->writer, &c->frame_offset,
				     &c->frame_skip);
	c->has_frame = true;
	r->stats->files_stored++;
}

/* e has its checksum. Decides whether anything changed and whether its
 * bytes must be stored; returns true if they must. */
static bool content_needs_storing(struct run *r, const struct tree_entry *e,
				  const struct tree_entry *old)
{
	bool same = old && old->type == ENTRY_FILE &&
		    memcmp(old->checksum, e->checksum, HASH_SIZE) == 0;

	if (!same)
		count_change(r, e, old);
	else if (!change_same_owner_and_mode(e, old))
		r->stats->files_modified++;
	else
		r->metadata_dirty = true;
	return catalog_content_find(&r->md.contents, e->checksum) == NULL;
}

/* Content this very archive already holds under another name goes in as a
 * hard link to it: stored once, and a plain `tar -x` still gives every file
 * of the run. Content held by an earlier archive is not repeated at all. */
static int link_duplicate(struct run *r, const struct tree_entry *e,
			  const struct tree_entry *old)
{
	const struct content *c =
		catalog_content_find(&r->md.contents, e->checksum);

	if (!c || strcmp(c->holder, r->id) || !strcmp(c->member, e->path) ||
	    dest_member_reserved(e->path))
		return 0;
	if (old && old->type == ENTRY_FILE &&
	    !memcmp(old->checksum, e->checksum, HASH_SIZE))
		return 0;
	return tarball_write_hardlink(r->writer, e->path, c->member, e,
				      r->err);
}

static int store_buffer(struct run *r, struct tree_entry *e)
{
	char *member = dest_member_name(e->path, e->checksum);
	int rc = -1;

	if (ensure_writer(r) < 0 ||
	    tarball_write_header(r->writer, member, e, r->err) < 0 ||
	    tarball_write_data(r->writer, r->small.data, r->small.len,
			       r->err) < 0)
		goto out;
	add_content(r, e, member);
	rc = 0;
out:
	free(member);
	return rc;
}

static int read_small(struct run *r, int fd, struct tree_entry *e)
{
	struct stat after;
	bool stable = false;

	for (int attempt = 0; attempt < 2 && !stable; attempt++) {
		r->small.len = 0;
		if (lseek(fd, 0, SEEK_SET) < 0 ||
		    fs_read_fd_noting_cache(fd, &r->small,
					    2 * SMALL_FILE_LIMIT,
					    &r->cache_missed) < 0 ||
		    fstat(fd, &after) < 0) {
			warn(r, "cannot read '%s': %s", e->path,
			     strerror(errno));
			return 1;
		}
		r->stats->bytes_read += r->small.len;
		stable = stat_unchanged(e, &after) &&
			 (uint64_t)r->small.len == e->size;
		if (!stable)
			entry_take_stat(e, &after);
	}
	if (!stable) {
		warn(r, "'%s' changed while it was read; stored as read, and "
		     "the next run reads it again", e->path);
		e->recheck = true;
	}
	e->size = r->small.len;
	return 0;
}

static int process_small(struct run *r, int fd, struct tree_entry *e,
			 const struct tree_entry *old)
{
	int rc = read_small(r, fd, e);

	if (rc)
		return rc;
	if (hash_buffer(r->small.data ? r->small.data : "", r->small.len,
			e->checksum) < 0)
		return error_set(r->err, "SHA-256 is not available");
	if (!content_needs_storing(r, e, old))
		return link_duplicate(r, e, old);
	return store_buffer(r, e);
}

/* Reads fd to the end, hashing; 0, or 1 after a warning. A file that
 * goes on past its size by more than a chunk (one that never ends) is
 * not read further: it is changing, and the next run tries again. */
static int hash_stream(struct run *r, int fd, struct tree_entry *e)
{
	uint64_t done = 0;
	ssize_t n;

	hash_reset(r->hash);
	while ((n = fs_read_noting_cache(fd, r->chunk, STREAM_CHUNK,
					 &r->cache_missed)) != 0) {
		if (n > 0 && (done += (uint64_t)n) > e->size + STREAM_CHUNK) {
			warn(r, "'%s' grew while it was read; left for the "
			     "next run", e->path);
			return 1;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			warn(r, "cannot read '%s': %s", e->path,
			     strerror(errno));
			return 1;
		}
		r->stats->bytes_read += (uint64_t)n;
		hash_update(r->hash, r->chunk, (size_t)n);
		if (incbak_interrupted)
			return error_set(r->err, "interrupted");
	}
	hash_final(r->hash, e->checksum);
	return 0;
}

/* Copies exactly e->size bytes of fd into a new member, hashing what is
 * stored (zeros pad a file that shrank, so the recorded checksum is always
 * that of the stored bytes). 0, 1 after a warning (member is junk), -1. */
static int copy_stream(struct run *r, int fd, struct tree_entry *e,
		       const char *member)
{
	uint64_t done = 0;
	int rc = 0;

	if (ensure_writer(r) < 0 ||
	    tarball_write_header(r->writer, member, e, r->err) < 0)
		return -1;
	hash_reset(r->hash);
	while (done < e->size && rc == 0) {
		size_t want = e->size - done < STREAM_CHUNK ?
			      (size_t)(e->size - done) : STREAM_CHUNK;
		ssize_t n = fs_read_noting_cache(fd, r->chunk, want,
						 &r->cache_missed);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			warn(r, "cannot read '%s': %s", e->path,
			     strerror(errno));
			rc = 1;
		} else if (n == 0) {
			break;
		} else if (tarball_write_data(r->writer, r->chunk, (size_t)n,
					      r->err) < 0) {
			return -1;
		} else {
			hash_update(r->hash, r->chunk, (size_t)n);
			r->stats->bytes_read += (uint64_t)n;
			done += (uint64_t)n;
		}
		if (incbak_interrupted)
			return error_set(r->err, "interrupted");
	}
	memset(r->chunk, 0, STREAM_CHUNK);
	for (uint64_t pad = done; pad < e->size; ) {
		size_t n = e->size - pad < STREAM_CHUNK ?
			   (size_t)(e->size - pad) : STREAM_CHUNK;
		hash_update(r->hash, r->chunk, n);
		pad += n;
	}
	if (tarball_finish_file(r->writer, done, e->size, r->err) < 0)
		return -1;
	hash_final(r->hash, e->checksum);
	return rc;
}

static int process_large(struct run *r, int fd, struct tree_entry *e,
			 const struct tree_entry *old)
{
	struct stat after;
	/* A reserved path is named by its checksum, so it is hashed first. */
	bool may_be_known = (old && old->type == ENTRY_FILE &&
			     old->size == e->size) ||
			    dest_member_reserved(e->path) ||
			    catalog_content_has_size(&r->md.contents, e->size);
	char *member;
	int rc;

	/* Hash first only when the content could already be stored: a large
	 * file of a new size is read once, hashed as it is written. */
	if (may_be_known) {
		rc = hash_stream(r, fd, e);
		if (rc)
			return rc;
		if (!content_needs_storing(r, e, old))
			return link_duplicate(r, e, old);
		if (lseek(fd, 0, SEEK_SET) < 0)
			return error_set(r->err, "cannot seek '%s': %s",
					 e->path, strerror(errno));
	} else {
		count_change(r, e, old);
	}
	member = dest_member_name(e->path, e->checksum);
	rc = copy_stream(r, fd, e, member);
	if (rc == 0 && (fstat(fd, &after) < 0 || !stat_unchanged(e, &after))) {
		warn(r, "'%s' changed while it was read; stored as read, and "
		     "the next run reads it again", e->path);
		e->recheck = true;
	}
	if (rc == 0 && !catalog_content_find(&r->md.contents, e->checksum))
		add_content(r, e, member);
	free(member);
	return rc;
}

/* Reads a new or possibly changed file. Returns 0 (e is its new record),
 * 1 if it could not be read (warned; the old record stays), or -1. */
static int process_file(struct run *r, struct tree_entry *e,
			const struct tree_entry *old)
{
	struct stat st;
	bool warmed;
	int fd;
	int rc = 1;

	if (ensure_contents(r) < 0)
		return -1;
	/* Not blocking, should it have become a FIFO since the scan: then
	 * it is not read (O_NONBLOCK does nothing to a regular file). */
	fd = fs_open_source(r->rootfd, e->path, O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			warn(r, "'%s' vanished before it could be read",
			     e->path);
		else if (errno == ELOOP || errno == EXDEV ||
			 errno == ENOTDIR)
			warn(r, "'%s' was replaced during the backup (a "
			     "symlink is in its path now); left for the next "
			     "run", e->path);
		else
			warn(r, "cannot open '%s': %s", e->path,
			     strerror(errno));
		return 1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		warn(r, "'%s' changed type before it could be read", e->path);
		goto out;
	}
	/* Another file at the scanned path (a folder above it swapped, the
	 * file renamed over): not what the scan saw, so not stored under its
	 * name this run. */
	if ((uint64_t)st.st_ino != e->ino) {
		warn(r, "'%s' was replaced during the backup; left for the "
		     "next run", e->path);
		goto out;
	}
	entry_take_stat(e, &st);
	warmed = source_readahead_take(&r->warm, e->path);
	r->cache_missed = false;
	if (st.st_size <= (off_t)SMALL_FILE_LIMIT)
		rc = process_small(r, fd, e, old);
	else
		rc = process_large(r, fd, e, old);
	/* Our own read went to the disk: the cache is cold here. */
	if (r->cache_missed && !warmed && !r->warming) {
		r->warming = true;
		source_readahead_resume(&r->warm);
	}
	r->cache_missed |= warmed;
	drop_from_cache(r, fd);
	if (rc == 0 && e->mtime.sec >= r->now.sec - RACY_WINDOW_SEC)
		e->recheck = true;
out:
	close(fd);
	return rc;
}

/* ---- the tree walk ---- */

/* The run's options as change detection takes them. */
static bool needs_reading(const struct run *r, const struct tree_entry *e,
			  const struct tree_entry *old)
{
	const struct change_options o = {
		.checksum_all = r->opts->checksum_all,
		.ignore_ctime = r->opts->ignore_ctime,
		.ignore_inode = r->opts->ignore_inode,
	};

	return change_needs_reading(e, old, &o);
}

static int handle_file(struct run *r, struct tree_entry *e,
		       const struct tree_entry *old)
{
	int rc;

	if (!needs_reading(r, e, old)) {
		memcpy(e->checksum, old->checksum, HASH_SIZE);
		if (!change_same_owner_and_mode(e, old))
			r->stats->files_modified++;
		return 0;
	}
	rc = process_file(r, e, old);
	if (rc == 1) {
		/* Unreadable: keep what we knew, so nothing is lost and the
		 * next run tries again. */
		tree_entry_release(e);
		if (old)
			tree_entry_copy(e, old);
	}
	return rc < 0 ? -1 : 0;
}

static int handle_other(struct run *r, struct tree_entry *e,
			const struct tree_entry *old)
{
	if (!change_other_differs(e, old))
		return 0;
	count_change(r, e, old);
	/* New folders go in the archive too, so a plain tar extraction has
	 * empty ones. */
	if (old && old->type == e->type && e->type == ENTRY_DIR)
		return 0;
	if (ensure_writer(r) < 0)
		return -1;
	return tarball_write_header(r->writer, e->path, e, r->err);
}

/* Moves scanned (with its old record, or NULL) to slot *kept of the scan
 * tree, which becomes the next tree in place: a second array of every
 * entry would cost 120 bytes a file at the run's peak. */
static int handle_present(struct run *r, struct tree_entry *scanned,
			  const struct tree_entry *old, size_t *kept)
{
	struct tree_entry *e = &r->scan.tree.entries[*kept];
	int rc;

	if (e != scanned) {
		*e = *scanned;
		memset(scanned, 0, sizeof(*scanned));
	}
	rc = e->type == ENTRY_FILE ? handle_file(r, e, old)
				   : handle_other(r, e, old);
	/* Its record in the metadata still says all: saving copies it. */
	e->unchanged = rc == 0 && old && tree_entry_same(e, old);
	e->same_record = e->unchanged && old->same_record;
	if (e->path) /* else unreadable and new: not in this backup */
		(*kept)++;
	return rc;
}

static bool under_failed_dir(const struct run *r, const char *path)
{
	const struct strlist *dirs = &r->scan.failed_dirs;

	for (size_t i = 0; i < dirs->len; i++)
		if (path_is_within(path, dirs->items[i]) ||
		    !strcmp(dirs->items[i], "."))
			return true;
	return false;
}

static void handle_missing(struct run *r, const struct tree_entry *old)
{
	if (under_failed_dir(r, old->path)) {
		struct tree_entry *kept = tree_push(&r->next);

		tree_entry_copy(kept, old);
		kept->unchanged = true;
		return;
	}
	count_change(r, NULL, old);
	strlist_push(&r->deleted, old->path);
}

static void report_progress(struct run *r, size_t done)
{
	if (r->opts->report.progress && (done % 256 == 0 ||
					 done == r->scan.tree.len))
		r->opts->report.progress(r->opts->report.ctx, done,
					 r->scan.tree.len,
					 r->stats->bytes_read);
}

/* The scan tree, compacted to its first kept entries, plus the old records
 * kept for unreadable folders (collected in r->next), becomes r->next. */
static void settle_next_tree(struct run *r, size_t kept)
{
	struct tree *next = &r->scan.tree, *extra = &r->next;

	next->len = kept;
	for (size_t i = 0; i < extra->len; i++) {
		*tree_push(next) = extra->entries[i];
		memset(&extra->entries[i], 0, sizeof(extra->entries[i]));
	}
	if (extra->len)
		tree_sort(next);
	tree_release(extra);
	*extra = *next;
	memset(next, 0, sizeof(*next));
}

/* Asks for the files the walk will read after its entry i of the scan
 * tree (j of the old), as far as the warm-up has room; stops warming once
 * they turn out to be cached. The entries from i on are not touched yet. */
static void warm_ahead(struct run *r, size_t i, size_t j)
{
	const struct tree *now = &r->scan.tree, *old = &r->md.files;

	if (r->warm_i < i) {
		r->warm_i = i;
		r->warm_j = j;
	}
	while (source_readahead_wants_more(&r->warm) && r->warm_i < now->len) {
		const struct tree_entry *e = &now->entries[r->warm_i];
		const struct tree_entry *o = NULL;
		int c = r->warm_j == old->len ? -1 :
			strcmp(e->path, old->entries[r->warm_j].path);

		if (c > 0) {
			r->warm_j++;
			continue;
		}
		if (c == 0)
			o = &old->entries[r->warm_j++];
		r->warm_i++;
		if (e->type == ENTRY_FILE && needs_reading(r, e, o))
			source_readahead_ask(&r->warm, e->path, e->size);
	}
	if (source_readahead_finds_cached(&r->warm))
		r->warming = false;
}

static int compare_walk(struct run *r)
{
	struct tree *now = &r->scan.tree, *old = &r->md.files;
	size_t i = 0, j = 0, kept = 0;

	while (i < now->len || j < old->len) {
		int c = i == now->len ? 1 : j == old->len ? -1 :
			strcmp(now->entries[i].path, old->entries[j].path);

		if (incbak_interrupted)
			return error_set(r->err, "interrupted");
		fault_point("run:entry");
		if (c > 0) {
			handle_missing(r, &old->entries[j++]);
			continue;
		}
		if (handle_present(r, &now->entries[i],
				   c == 0 ? &old->entries[j] : NULL,
				   &kept) < 0)
			return -1;
		i++;
		if (c == 0)
			j++;
		if (r->warming)
			warm_ahead(r, i, j);
		report_progress(r, i);
	}
	source_readahead_clear(&r->warm);
	settle_next_tree(r, kept);
	return 0;
}

/* ---- finishing ---- */

static bool anything_changed(const struct backup_stats *s)
{
	return s->files_added || s->files_modified || s->files_deleted ||
	       s->dirs_changed || s->files_stored;
}

static void count_total(struct run *r)
{
	r->stats->total_files = 0;
	for (size_t i = 0; i < r->next.len; i++)
		if (r->next.entries[i].type != ENTRY_DIR)
			r->stats->total_files++;
}

/* Once every frame before the manifest is written, the contents this run
 * stored learn their frames' compressed offsets. */
static int resolve_positions(struct run *r)
{
	if (tarball_writer_flush(r->writer, r->err) < 0)
		return -1;
	for (size_t i = 0; i < r->md.contents.len; i++) {
		struct content *c = &r->md.contents.items[i];

		if (c->has_frame && !strcmp(c->holder, r->id))
			c->frame_offset = tarball_frame_offset(r->writer,
							       c->frame_offset);
	}
	return 0;
}

/* The archive whose tree the new backup's manifest may continue, listing
 * only what changed: the last backup's, if the metadata's tree is exactly
 * that (no run refreshed records since without a backup), its archive is
 * in place, and a restore of the new backup would read at most
 * MANIFEST_CHAIN_MAX manifests. NULL: the manifest lists the whole tree.
 * Also NULL once the destination holds max_backups backups: every backup
 * is made whole when it becomes the oldest, which a rotation then does
 * after the run, and costs more than writing it whole now (so a run in
 * that steady state costs what it did before manifests could list
 * changes). */
static const char *manifest_parent(const struct run *r)
{
	const struct metadata *md = &r->md;
	const struct history_entry *last = catalog_last_backup(md);
	int keep = r->opts->max_backups;
	size_t i, depth = 1;
	char *path;
	bool there;

	if (keep > 0 && md->nhistory >= (size_t)keep)
		return NULL;
	if (!last || !md->tree_backup_id ||
	    strcmp(md->tree_backup_id, last->backup_id))
		return NULL;
	for (i = md->nhistory - 1; i > 0 && md->history[i].parent; i--) {
		if (strcmp(md->history[i].parent, md->history[i - 1].archive))
			return NULL;
		depth++;
	}
	if (md->history[i].parent || depth >= MANIFEST_CHAIN_MAX)
		return NULL;
	path = dest_archive_path(r->opts->dest, last->archive);
	there = access(path, F_OK) == 0;
	free(path);
	return there ? last->archive : NULL;
}

/* After adopt_next_tree(). */
static int write_manifest(struct run *r, const char *date)
{
	struct manifest m;
	struct catalog_records *rec;
	int rc;

	/* A view of the run's state, nothing copied: the holds are the
	 * contents this run stored. */
	catalog_manifest_init(&m);
	m.backup_id = r->id;
	m.date = (char *)date;
	m.files = r->md.files;
	m.parent = r->md.history[r->md.nhistory - 1].parent;
	m.delta = m.parent != NULL;
	m.deleted = r->deleted;
	m.files_added = r->stats->files_added;
	m.files_modified = r->stats->files_modified;
	m.files_deleted = r->stats->files_deleted;
	m.source = r->md.source;
	m.dest_id = r->md.dest_id;
	/* Made from the records of unchanged paths in the metadata file this
	 * run replaces (their fields are the same). */
	rec = catalog_records_open(r->opts->dest, &r->md);
	rc = catalog_manifest_add(r->writer, &m, &r->md.contents, r->id, rec,
				  r->now.sec, CATALOG_MANIFEST_BUFFERED,
				  r->err);
	catalog_records_close(rec);
	return rc;
}

static void mark_contents_used(struct run *r)
{
	for (size_t i = 0; i < r->next.len; i++) {
		struct content *c;

		if (r->next.entries[i].type != ENTRY_FILE)
			continue;
		c = catalog_content_find(&r->md.contents,
					 r->next.entries[i].checksum);
		if (c && strcmp(c->last_used, r->id)) {
			catalog_content_set_last_used(&r->md.contents, c,
						      r->id);
		}
	}
}

/* The archive's size is recorded once it is committed. */
static void record_history(struct run *r, const char *date)
{
	struct history_entry *h = catalog_add_history(&r->md);
	struct backup_stats *s = r->stats;

	h->backup_id = xstrdup(r->id);
	h->date = xstrdup(date);
	h->archive = xstrdup(s->archive);
	h->files_added = s->files_added;
	h->files_modified = s->files_modified;
	h->files_deleted = s->files_deleted;
	h->files_backed_up = s->files_added + s->files_modified;
	h->files_stored = s->files_stored;
	h->total_files = s->total_files;
	free(r->md.last_backup_date);
	r->md.last_backup_date = xstrdup(date);
}

static void adopt_next_tree(struct run *r)
{
	tree_release(&r->md.files);
	r->md.files = r->next;
	memset(&r->next, 0, sizeof(r->next));
}

/* The metadata could not record the new archive: it goes again, so the
 * destination stays as it was. */
static void discard_new_archive(struct run *r)
{
	char *archive_path = path_join(r->opts->dest, r->stats->archive);
	struct error ignored;

	unlink(archive_path);
	fs_fsync_dir(r->opts->dest, &ignored);
	if (r->intent)
		intent_end(r->opts->dest, r->stats->archive, &ignored);
	free(archive_path);
	r->stats->backup_id[0] = '\0';
}

/* Whether a rotation will follow in this run and can record the new
 * backup with its own first save: the metadata is then written once, not
 * twice (0.15 s and 40 MB for 70,000 files). */
static bool rotation_records_backup(const struct run *r)
{
	return !r->opts->verify_after_backup &&
	       rotate_plan_excess(&r->md, r->opts->max_backups) > 0;
}

/* Writes the manifest and commits the archive, then the metadata (or leaves
 * that to the rotation that follows). The metadata's records are final
 * once the archive's data is: they are written to a temporary file while
 * the manifest is compressed and the archive made durable, and only the
 * history (which needs the archive's size) waits; the file replaces the
 * old one only after the archive is in place. If the metadata cannot be
 * saved the new archive is removed again. */
static int finish_backup(struct run *r)
{
	char date[32], *parent;
	const char *continued;
	struct catalog_saving *saving = NULL;

	if (ensure_contents(r) < 0 || ensure_writer(r) < 0 ||
	    tarball_writer_end_frame(r->writer, r->err) < 0)
		return -1;
	/* While the last frames compress: */
	format_iso_utc(r->now.sec, date, sizeof(date));
	mark_contents_used(r);
	continued = manifest_parent(r);
	parent = continued ? xstrdup(continued) : NULL;
	adopt_next_tree(r);
	r->stats->archive = backup_archive_name(r->opts->name, r->id);
	record_history(r, date);
	r->md.history[r->md.nhistory - 1].parent = parent;
	free(r->md.tree_backup_id);
	r->md.tree_backup_id = xstrdup(r->id);
	/* The metadata and the manifest list the contents in one order. */
	catalog_contents_keep_order(&r->md.contents);
	if (resolve_positions(r) < 0)
		return -1;
	if (!rotation_records_backup(r))
		saving = catalog_save_begin(r->opts->dest, &r->md);
	if (write_manifest(r, date) < 0 ||
	    intent_begin(r->opts->dest, r->stats->archive, r->err) < 0)
		goto fail;
	r->intent = true;
	if (tarball_writer_commit(r->writer, &r->stats->archive_size,
				  r->err) < 0) {
		r->writer = NULL;
		goto fail;
	}
	r->writer = NULL;
	fault_point("run:archive-committed");
	memcpy(r->stats->backup_id, r->id, BACKUP_ID_SIZE);
	r->md.history[r->md.nhistory - 1].bytes_written =
		(int64_t)r->stats->archive_size;
	if (!saving) {
		r->record_pending = true;
		return 0;
	}
	if (catalog_save_end(saving, r->err) == 0)
		return 0;
	discard_new_archive(r);
	return -1;
fail:
	catalog_save_abort(saving);
	return -1;
}

static int finish_unchanged(struct run *r)
{
	r->stats->skipped = true;
	if (!r->metadata_dirty && !r->identity_dirty)
		return 0;
	if (ensure_contents(r) < 0)
		return -1;
	if (r->metadata_dirty) {
		adopt_next_tree(r);
		/* The records refreshed are not what the last backup's
		 * manifest says: the next backup's manifest lists the whole
		 * tree. */
		free(r->md.tree_backup_id);
		r->md.tree_backup_id = NULL;
	}
	return catalog_save(r->opts->dest, &r->md, r->err);
}

/* ---- setup ---- */

/* One of this source's archives (NAME_backup_ID.tar.zst). */
static bool is_own_archive(const char *file, const char *name)
{
	size_t n = strlen(name);
	char id[BACKUP_ID_SIZE];

	return !strncmp(file, name, n) && str_starts(file + n, "_backup_") &&
	       dest_parse_archive_name(file, id) &&
	       strlen(file) == n + strlen("_backup_") + BACKUP_ID_SIZE - 1 +
			       strlen(".tar.zst");
}

/* Archives but no metadata: the metadata was lost, and repair rebuilds it.
 * Nothing is removed: an archive a crashed run left unrecorded was removed
 * by intent_settle already, and any other is not known to be ours. */
static int check_metadata_present(struct run *r, bool have_metadata)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (have_metadata)
		return 0;
	d = opendir(r->opts->dest);
	if (!d)
		return error_set(r->err, "cannot open '%s': %s",
				 r->opts->dest, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (!is_own_archive(de->d_name, r->opts->name))
			continue;
		rc = error_set(r->err, "'%s' holds backups but no %s: run "
			       "'incbak repair' to rebuild it from the "
			       "archives", r->opts->dest, METADATA_FILE_NAME);
		break;
	}
	closedir(d);
	return rc;
}

/* The destination is left out of the scan by what it is, not by how its
 * path is spelled: "../src/.backups" or a symlink to a folder of the
 * source would otherwise put every earlier archive into each new one. */
static int skip_destination(const struct run *r, struct scan_options *so)
{
	struct stat st;

	if (stat(r->opts->dest, &st) < 0)
		return error_set(r->err, "cannot stat '%s': %s",
				 r->opts->dest, strerror(errno));
	so->skip_dir_valid = true;
	so->skip_dev = st.st_dev;
	so->skip_ino = st.st_ino;
	return 0;
}

/* The scan runs before the metadata is loaded: specials are reported
 * once it is, and only those not reported by an earlier run. */
static void on_special(void *ctx, const char *path, const char *kind)
{
	struct run *r = ctx;

	strlist_push(&r->specials, path);
	strlist_push(&r->special_kinds, kind);
}

static void report_new_specials(struct run *r)
{
	for (size_t i = 0; i < r->specials.len; i++) {
		const char *path = r->specials.items[i];

		if (strlist_contains(&r->md.reported_specials, path))
			continue;
		strlist_push(&r->md.reported_specials, path);
		r->metadata_dirty = true;
		notice(r, "skipping %s '%s' (only files, folders and symlinks "
		       "are backed up)", r->special_kinds.items[i], path);
	}
}

static void on_unreadable(void *ctx, const char *path, const char *reason)
{
	warn(ctx, "cannot read '%s': %s", path, reason);
}

static int scan_source(struct run *r)
{
	struct scan_options so = {
		.root = r->opts->source,
		.have_root_fd = true,
		.root_fd = r->rootfd,
		.excludes = r->opts->excludes,
		.exclude_if_present = r->opts->exclude_if_present,
		.one_file_system = r->opts->one_file_system,
		.attrs = r->opts->attrs,
		.threads = r->opts->threads,
		.report = { on_special, on_unreadable, r },
	};

	if (skip_destination(r, &so) < 0)
		return -1;
	return scan_tree(&so, &r->scan, r->err);
}

static void on_cleaned_up(void *ctx, const char *msg)
{
	notice(ctx, "%s", msg);
}

/* After the load: what an interrupted run or rotation left behind. */
static int settle_state(struct run *r, bool found)
{
	if (rotate_clean_up(r->opts->dest, &r->md, on_cleaned_up, r,
			    r->err) < 0 ||
	    check_metadata_present(r, found) < 0)
		return -1;
	if (catalog_last_backup(&r->md))
		memcpy(r->stats->previous_id,
		       catalog_last_backup(&r->md)->backup_id,
		       BACKUP_ID_SIZE);
	report_new_specials(r);
	return 0;
}

static int open_run(struct run *r)
{
	r->rootfd = open(r->opts->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	source_readahead_init(&r->warm, r->rootfd);
	if (r->rootfd < 0)
		return error_set(r->err, "cannot open source '%s': %s",
				 r->opts->source, strerror(errno));
	r->hash = hash_new();
	if (!r->hash)
		return error_set(r->err, "SHA-256 is not available");
	r->chunk = xmalloc(STREAM_CHUNK);
	return 0;
}

static void close_run(struct run *r)
{
	tarball_writer_abort(r->writer);
	if (r->rootfd >= 0)
		close(r->rootfd);
	hash_free(r->hash);
	free(r->chunk);
	buf_release(&r->small);
	catalog_release(&r->md);
	scan_result_release(&r->scan);
	tree_release(&r->next);
	strlist_clear(&r->deleted);
	strlist_clear(&r->specials);
	strlist_clear(&r->special_kinds);
}

static void on_rotated(void *ctx, const char *id, const char *archive,
		       int64_t carried, int64_t copied)
{
	struct run *r = ctx;

	strlist_push(&r->stats->removed_ids, id);
	notice(ctx, "removed backup %s (%s), %lld content%s carried forward "
	       "(%lld in frames copied unchanged)", id, archive,
	       (long long)carried, carried == 1 ? "" : "s", (long long)copied);
}

static void on_verify_problem(void *ctx, const char *archive,
			      const char *path, const char *what)
{
	notice(ctx, "verify: %s: %s: %s", archive, path, what);
}

/* verify_after_backup: read the archive just written back from the disk and
 * check every member against its recorded checksum. */
static int verify_new_backup(struct run *r)
{
	const char *id = r->stats->backup_id;
	struct verify_report report = { on_verify_problem, r };
	struct verify_stats vs;

	if (!r->opts->verify_after_backup || !*id)
		return STATUS_OK;
	if (ensure_contents(r) < 0)
		return -1;
	if (verify_backups(r->opts->dest, &r->md, &id, 1, &report, &vs,
			   r->err) < 0)
		return -1;
	if (!vs.problems)
		return STATUS_OK;
	error_set(r->err, "backup %s was written but does not verify "
		  "(%lld problem%s)", id, (long long)vs.problems,
		  vs.problems == 1 ? "" : "s");
	return STATUS_DAMAGED;
}

/* Rotation stopped before its first save: the new backup is recorded
 * without it (the metadata in memory is what that save would have
 * written, or, if a step failed before saving, the backup alone). */
static int record_backup_alone(struct run *r)
{
	struct error save_err;

	r->record_pending = false;
	if (catalog_save(r->opts->dest, &r->md, &save_err) == 0)
		return 0;
	discard_new_archive(r);
	*r->err = save_err;
	return -1;
}

/* Rotation runs once the new backup is committed, and records it with its
 * first step: if it fails before that, the backup is recorded alone; if
 * it fails after, the new backup and every older one are still there. */
static int rotate_after_run(struct run *r)
{
	struct rotate_options ro = {
		.max_backups = r->opts->max_backups,
		.compression_level = r->opts->compression_level,
		.threads = r->opts->threads,
	};
	struct rotate_report report = { on_rotated, r };
	struct rotate_stats rs = {0};
	int rc;

	if (!rotate_plan_excess(&r->md, r->opts->max_backups))
		return STATUS_OK;
	if (ensure_contents(r) < 0)
		return -1;
	rc = rotate_apply(r->opts->dest, &r->md, &ro, &report, &rs, r->err);
	r->stats->backups_removed = rs.backups_removed;
	r->stats->contents_carried = rs.contents_carried;
	if (r->record_pending && !rs.metadata_saved &&
	    record_backup_alone(r) < 0)
		return -1;
	if (rc == STATUS_OK)
		return STATUS_OK;
	/* The new backup is recorded whatever rotation did: say so, as the
	 * exit status alone (1 or 5) cannot. */
	if (incbak_interrupted)
		error_set(r->err, "backup %s written; rotation interrupted, "
			  "%lld backup%s removed; run again to finish", r->id,
			  (long long)rs.backups_removed,
			  rs.backups_removed == 1 ? "" : "s");
	else
		error_prefix(r->err, "backup %s written; rotation after the "
			     "backup failed", r->id);
	return rc == STATUS_DAMAGED ? STATUS_DAMAGED : -1;
}

/* The metadata is parsed on a second thread while this one walks the
 * source: on a run with nothing changed each is about half the work. A
 * broken metadata file is still the error reported first. */
static int load_and_scan(struct run *r)
{
	struct catalog_loading *loading =
		catalog_load_start(r->opts->dest, CATALOG_FOR_RUN);
	int scanned = open_run(r) < 0 ? -1 : scan_source(r);
	bool found;
	int rc;

	if (catalog_load_finish(loading, &r->md, &found, r->err) < 0 ||
	    scanned < 0)
		return -1;
	/* Another tree's destination is refused before anything in it is
	 * touched, even the leftovers settle_state() would clear. */
	rc = dest_identity_check(&r->md, r->opts->dest, r->opts->source,
				 r->opts->reattach, "run", r->err);
	if (rc != STATUS_OK)
		return rc;
	return settle_state(r, found);
}

/* The next run can tell this destination from an empty mount point. */
static void remember_dest(struct run *r)
{
	const struct history_entry *last = catalog_last_backup(&r->md);
	struct error err;

	if (r->opts->state_dir && last &&
	    dest_record_save(r->opts->state_dir, r->opts->dest,
			     last->backup_id, r->md.dest_id, &err) < 0)
		notice(r, "%s", err.msg);
}

static int run_locked(struct run *r)
{
	int rc = load_and_scan(r);

	if (rc != STATUS_OK)
		return rc;
	if (r->opts->state_dir && !r->opts->new_dest &&
	    dest_record_check(r->opts->state_dir, r->opts->dest, &r->md,
			      r->err) < 0)
		return -1;
	/* After that check, which compares the id as the destination
	 * had it. */
	r->identity_dirty = dest_identity_claim(&r->md, r->opts->source);
	if (compare_walk(r) < 0)
		return -1;
	count_total(r);
	/* The first run always writes a backup, even of an empty tree, so
	 * that there is something to restore and compare against. */
	if (!anything_changed(r->stats) && catalog_last_backup(&r->md))
		rc = finish_unchanged(r);
	else
		rc = finish_backup(r);
	if (rc < 0)
		return -1;
	rc = verify_new_backup(r);
	if (rc == STATUS_OK)
		rc = rotate_after_run(r);
	/* On failure the intent stays: the next run removes the archive if
	 * the metadata does not record it. */
	if (rc != -1 && r->intent &&
	    intent_end(r->opts->dest, r->stats->archive, r->err) < 0)
		return -1;
	if (rc != -1)
		remember_dest(r);
	return rc;
}

int backup_run(const struct backup_options *opts, struct backup_stats *stats,
	       struct error *err)
{
	struct run r = { .opts = opts, .stats = stats, .err = err,
			 .rootfd = -1 };
	struct lock *lock = NULL;
	int rc;

	catalog_init(&r.md);
	r.now = opts->clock.now(opts->clock.ctx);
	stats->started = r.now;
	if ((opts->create_dest_parents ? fs_mkdir_p(opts->dest, 0700, err)
				       : fs_mkdir_last(opts->dest, 0700, err)) < 0)
		return -1;
	rc = opts->allow_shared_dest ? 0
				     : fs_check_private_dir(opts->dest, err);
	if (rc != 0)
		return rc > 0 ? STATUS_USAGE : -1;
	rc = lock_acquire(opts->dest, LOCK_EXCLUSIVE, opts->host, r.now.sec,
			  &lock, err);
	if (rc != STATUS_OK)
		return rc;
	rc = run_locked(&r);
	close_run(&r);
	lock_release(lock);
	return rc;
}

void backup_stats_release(struct backup_stats *stats)
{
	free(stats->archive);
	stats->archive = NULL;
	strlist_clear(&stats->removed_ids);
}
