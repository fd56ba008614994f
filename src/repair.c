/* Rebuilding backup_metadata.json from the archives' manifests. The old file
 * is never deleted: it is renamed aside before the new one is written, so a
 * human can still look at what went wrong. */
#include "repair.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "lock.h"
#include "catalog.h"
#include "dest.h"
#include "tree.h"
#include "util.h"

#define KEPT_SUFFIX ".corrupt-"
/* Two repairs in one second get "-2", "-3", ... after the date. */
#define MAX_KEPT_TRIES 100

/* ---- the pure part ---- */

static int64_t count_non_dirs(const struct tree *t)
{
	int64_t n = 0;

	for (size_t i = 0; i < t->len; i++)
		if (t->entries[i].type != ENTRY_DIR)
			n++;
	return n;
}

static void add_history(struct metadata *md, const struct repair_archive *a)
{
	const struct manifest *m = a->manifest;
	struct history_entry *h = catalog_add_history(md);

	h->backup_id = xstrdup(m->backup_id);
	h->date = xstrdup(m->date);
	h->archive = xstrdup(a->name);
	h->parent = m->parent ? xstrdup(m->parent) : NULL;
	h->files_added = m->files_added;
	h->files_modified = m->files_modified;
	h->files_deleted = m->files_deleted;
	h->files_backed_up = m->files_added + m->files_modified;
	h->files_stored = (int64_t)m->holds.len;
	h->total_files = count_non_dirs(&m->files);
	h->bytes_written = (int64_t)a->size;
}

/* Called oldest first: a content two archives hold (a carry-forward cut
 * short by a crash) stays with the older one, as rotation would leave it
 * had it finished the other way round. */
static void add_holds(struct metadata *md, const struct manifest *m)
{
	for (size_t i = 0; i < m->holds.len; i++) {
		const struct content *hold = &m->holds.items[i];

		if (!catalog_content_find(&md->contents, hold->checksum))
			catalog_content_copy_frame(
				catalog_content_insert(
					&md->contents, hold->checksum,
					hold->size, m->backup_id, hold->member,
					m->backup_id),
				hold);
	}
}

/* Called oldest first, so the newest tree referring to a content wins. */
static void mark_used(struct metadata *md, const struct manifest *m)
{
	for (size_t i = 0; i < m->files.len; i++) {
		const struct tree_entry *e = &m->files.entries[i];
		struct content *c;

		if (e->type != ENTRY_FILE)
			continue;
		c = catalog_content_find(&md->contents, e->checksum);
		if (c && strcmp(c->last_used, m->backup_id))
			catalog_content_set_last_used(&md->contents, c,
					      m->backup_id);
	}
}

/* The newest tree, with its ctime and inode, so the next run sees no
 * change; a file whose bytes are in no archive is left out, so the next
 * run stores it again instead of trusting a content that is gone. */
static void take_files(struct metadata *md, const struct manifest *m)
{
	bool all = !m->delta;

	for (size_t i = 0; i < m->files.len; i++) {
		const struct tree_entry *e = &m->files.entries[i];

		if (e->type == ENTRY_FILE && e->size > 0 &&
		    !catalog_content_find(&md->contents, e->checksum)) {
			all = false;
			continue;
		}
		tree_entry_copy(tree_push(&md->files), e);
	}
	/* The tree is the newest backup's, as its manifest says it: the
	 * next backup may list only what changed since. */
	if (all)
		md->tree_backup_id = xstrdup(m->backup_id);
}

/* The destination's source and id, as the newest archive that records
 * them says (archives written before they were have none: the next run
 * then adopts the destination, as it does older metadata). */
static void take_identity(struct metadata *md,
			  const struct repair_archive *archives, size_t n)
{
	for (size_t i = n; i-- > 0;) {
		const struct manifest *m = archives[i].manifest;

		if (m->source && m->dest_id) {
			md->source = xstrdup(m->source);
			md->dest_id = xstrdup(m->dest_id);
			return;
		}
	}
}

void repair_build(struct metadata *md, const struct repair_archive *archives,
		  size_t n)
{
	const struct manifest *newest;

	if (!n)
		return;
	for (size_t i = 0; i < n; i++) {
		add_history(md, &archives[i]);
		add_holds(md, archives[i].manifest);
	}
	for (size_t i = 0; i < n; i++)
		mark_used(md, archives[i].manifest);
	newest = archives[n - 1].manifest;
	take_files(md, newest);
	md->last_backup_date = xstrdup(newest->date);
	take_identity(md, archives, n);
}

/* ---- reading the archives ---- */

struct repair {
	const struct repair_options *opts;
	struct repair_stats *stats;
	struct error *err;
	struct strlist names;           /* archive files, sorted by id */
	struct manifest *manifests;     /* one per kept archive */
	struct repair_archive *archives;
	size_t narchives;
};

static void skip(struct repair *r, const char *name, const char *reason)
{
	r->stats->skipped++;
	if (r->opts->report.skipped)
		r->opts->report.skipped(r->opts->report.ctx, name, reason);
}

/* A skipped archive is renamed ARCHIVE.damaged: kept for whoever wants to
 * look at it, but no longer named like a backup, so a later run does not
 * take it for the leftover of an interrupted run and delete it. */
static void set_aside(const char *path, char **why)
{
	char *aside = str_fmt("%s.damaged", path);
	char *base = path_basename(aside);

	if (access(aside, F_OK) < 0 && rename(path, aside) == 0) {
		char *more = str_fmt("%s (kept as '%s')", *why, base);

		free(*why);
		*why = more;
	}
	free(base);
	free(aside);
}

/* Why the archive `name` with manifest m cannot be used, or NULL. */
static char *unusable(const struct repair *r, const char *name,
		      const struct manifest *m)
{
	char id[BACKUP_ID_SIZE];

	dest_parse_archive_name(name, id);
	if (strcmp(id, m->backup_id))
		return str_fmt("its manifest is for backup %s", m->backup_id);
	if (r->narchives &&
	    !strcmp(r->archives[r->narchives - 1].manifest->backup_id, id))
		return str_fmt("same backup id as '%s'",
			       r->archives[r->narchives - 1].name);
	return NULL;
}

/* The archive's manifest with its whole tree: one that lists only what
 * changed is completed from the archive before it, read already (as a
 * run writes them), else from its parent's archive, read again. 1 if the
 * manifest is read but its tree cannot be completed (why in *incomplete):
 * the archive still holds contents other backups need. */
static int read_tree(struct repair *r, const char *path, struct manifest *m,
		     char **incomplete, struct error *err)
{
	const struct repair_archive *last =
		r->narchives ? &r->archives[r->narchives - 1] : NULL;
	bool whole = last && !last->manifest->delta;
	struct error why = {{0}};

	if (catalog_manifest_read_own(path, m, err) < 0)
		return -1;
	if (catalog_manifest_complete(path, m, whole ? last->name : NULL,
				    whole ? &last->manifest->files : NULL,
				    &why) == 0)
		return 0;
	*incomplete = xstrdup(error_without_path(why.msg, path));
	return 1;
}

static void read_one(struct repair *r, const char *name)
{
	char *path = dest_archive_path(r->opts->dest, name);
	struct manifest *m = &r->manifests[r->narchives];
	struct error err = {{0}};
	struct stat st;
	char *why = NULL, *incomplete = NULL;

	catalog_manifest_init(m);
	if (read_tree(r, path, m, &incomplete, &err) < 0)
		why = xstrdup(error_without_path(err.msg, path));
	else if (stat(path, &st) < 0)
		why = str_fmt("cannot stat it: %s", strerror(errno));
	else
		why = unusable(r, name, m);
	if (why) {
		set_aside(path, &why);
		skip(r, name, why);
		catalog_manifest_release(m);
	} else {
		r->archives[r->narchives++] = (struct repair_archive){
			.name = name, .size = (uint64_t)st.st_size,
			.manifest = m };
		if (incomplete) {
			r->stats->incomplete++;
			if (r->opts->report.incomplete)
				r->opts->report.incomplete(
					r->opts->report.ctx, name,
					incomplete);
		}
	}
	free(incomplete);
	free(why);
	free(path);
}

static int read_archives(struct repair *r)
{
	const char *dest = r->opts->dest;

	if (dest_list_archives(dest, &r->names, r->err) < 0)
		return -1;
	if (!r->names.len)
		return error_set(r->err, "no archives in '%s' to repair from",
				 dest);
	r->manifests = xcalloc(r->names.len, sizeof(*r->manifests));
	r->archives = xcalloc(r->names.len, sizeof(*r->archives));
	for (size_t i = 0; i < r->names.len; i++) {
		if (incbak_interrupted)
			return error_set(r->err, "interrupted");
		read_one(r, r->names.items[i]);
	}
	if (!r->narchives)
		return error_set(r->err, "none of the %zu archives in '%s' "
				 "could be read; nothing was changed",
				 r->names.len, dest);
	return 0;
}

/* ---- writing ---- */

/* Renames the old metadata aside to a name nothing else uses. */
static int keep_old(struct repair *r, const char *meta)
{
	char id[BACKUP_ID_SIZE];
	struct stat st;
	char *kept = NULL;

	format_backup_id(r->opts->now, id);
	for (int i = 1; i <= MAX_KEPT_TRIES; i++) {
		free(kept);
		kept = i == 1 ? str_fmt("%s%s%s", meta, KEPT_SUFFIX, id)
			      : str_fmt("%s%s%s-%d", meta, KEPT_SUFFIX, id, i);
		if (lstat(kept, &st) < 0 && errno == ENOENT)
			break;
	}
	if (rename(meta, kept) < 0) {
		error_set(r->err, "cannot rename '%s' to '%s': %s", meta, kept,
			  strerror(errno));
		free(kept);
		return -1;
	}
	r->stats->kept_as = path_basename(kept);
	free(kept);
	return fs_fsync_dir(r->opts->dest, r->err);
}

static int write_metadata(struct repair *r, bool had_file)
{
	const char *dest = r->opts->dest;
	char *meta = path_join(dest, METADATA_FILE_NAME);
	struct metadata md;
	int rc = -1;

	catalog_init(&md);
	repair_build(&md, r->archives, r->narchives);
	if (had_file && keep_old(r, meta) < 0)
		goto out;
	rc = catalog_save(dest, &md, r->err);
	if (rc < 0 && r->stats->kept_as) {
		/* Put the old file back rather than leave none at all. */
		char *kept = path_join(dest, r->stats->kept_as);

		if (rename(kept, meta) == 0) {
			free(r->stats->kept_as);
			r->stats->kept_as = NULL;
		}
		free(kept);
	}
out:
	catalog_release(&md);
	free(meta);
	return rc;
}

/* True if the metadata must be rebuilt; sets *had_file if one exists. */
static bool needs_rebuild(struct repair *r, bool *had_file)
{
	struct metadata md;
	struct error ignored;
	bool loaded;

	catalog_init(&md);
	loaded = catalog_load(r->opts->dest, &md, had_file, &ignored) == 0;
	catalog_release(&md);
	r->stats->was_damaged = *had_file && !loaded;
	return !loaded || !*had_file || r->opts->force;
}

static int repair_locked(struct repair *r)
{
	bool had_file = false;

	if (!needs_rebuild(r, &had_file)) {
		r->stats->not_needed = true;
		return 0;
	}
	if (read_archives(r) < 0)
		return -1;
	r->stats->archives = (int64_t)r->narchives;
	return write_metadata(r, had_file);
}

int repair_run(const struct repair_options *opts, struct repair_stats *stats,
	       struct error *err)
{
	struct repair r = { .opts = opts, .stats = stats, .err = err };
	struct lock *lock = NULL;
	struct stat st;
	int rc;

	memset(stats, 0, sizeof(*stats));
	if (stat(opts->dest, &st) < 0 || !S_ISDIR(st.st_mode))
		return error_set(err, "no archives in '%s' to repair from",
				 opts->dest);
	rc = lock_acquire(opts->dest, LOCK_EXCLUSIVE, opts->host, opts->now,
			  &lock, err);
	if (rc != STATUS_OK)
		return rc;
	rc = repair_locked(&r) < 0 ? -1 : STATUS_OK;
	lock_release(lock);
	for (size_t i = 0; i < r.narchives; i++)
		catalog_manifest_release(&r.manifests[i]);
	free(r.manifests);
	free(r.archives);
	strlist_clear(&r.names);
	return rc;
}

void repair_stats_release(struct repair_stats *stats)
{
	free(stats->kept_as);
	stats->kept_as = NULL;
}
