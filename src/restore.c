/* Restoring a backup. The tree comes from the backup's own manifest, the
 * bytes from whichever kept archive md.contents says holds them; every
 * create, open, rename and unlink is relative to a folder descriptor reached
 * with O_NOFOLLOW, so no symlink in the target is ever followed. */
#include "restore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/xattr.h>

#include "attrs.h"
#include "faultpoint.h"
#include "fsutil.h"
#include "hash.h"
#include "lock.h"
#include "catalog.h"
#include "archive_readahead.h"
#include "restore_plan.h"
#include "dest.h"
#include "dest_identity.h"
#include "scan.h"
#include "tarball.h"
#include "tree.h"

/* Whole zero blocks of this size become holes, so sparse files stay
 * sparse. IO_SIZE is a multiple of it: buffers always start on a block. */
#define SPARSE_BLOCK ((size_t)4096)
#define IO_SIZE ((size_t)1 << 20)
#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

struct restore {
	const struct restore_options *o;
	struct restore_stats *st;
	struct error *err;
	int kind;                      /* enum status of a failure */
	struct metadata md;
	struct manifest m;
	const struct history_entry *h; /* the backup being restored */
	char *archive_path;            /* its archive */
	struct strlist scopes;         /* the paths asked for, normalised */
	bool whole_tree;               /* no path, or "." among them */
	bool *chosen;                  /* per manifest entry */
	struct restore_need *needs;
	size_t nneeds, needs_alloc;
	int rootfd;
	char *cache_path;              /* the folder opened last ... */
	int cache_fd;                  /* ... and its descriptor */
	struct hash *hash;
	char *buf;
	unsigned tmp_seq;
	bool as_root;
	bool proc_fds;                 /* /proc/self/fd can be used */
	bool have_dest;                /* never delete the destination */
	bool created_target;           /* its folder is this restore's */
	bool in_source;                /* the target is below the source */
	dev_t dest_dev;
	ino_t dest_ino;
	uint64_t done, total;
};

/* Where a file's bytes come from: an archive member, read here or ahead
 * on another thread (the read-ahead then hashes them too), or a file this
 * restore already wrote (a content needed at several paths is read
 * once). */
struct source {
	struct tarball_reader *reader;
	struct archive_readahead *ahead;
	int fd;
	off_t off;
	const char *archive;           /* for messages */
};

static int fail_as(struct restore *r, int kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_as(struct restore *r, int kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err->msg, sizeof(r->err->msg), fmt, ap);
	va_end(ap);
	r->kind = kind;
	return -1;
}

/* For errors already in r->err (from store or tarball). */
static int mark(struct restore *r, int kind)
{
	r->kind = kind;
	return -1;
}

static int check_interrupted(struct restore *r)
{
	return incbak_interrupted ? error_set(r->err, "interrupted") : 0;
}

/* ---- the backup and what to restore of it ---- */

static bool parent_is_dir(const struct tree *t, const char *path)
{
	const char *slash = strrchr(path, '/');
	const struct tree_entry *p;
	char *parent;

	if (!slash)
		return true;
	parent = xstrndup(path, (size_t)(slash - path));
	p = tree_find(t, parent);
	free(parent);
	return p && p->type == ENTRY_DIR;
}

/* A manifest is hostile or damaged if a path could leave the target or an
 * entry hangs below something that is not a folder (a file `link/x` under
 * a symlink `link`): refused before anything is written. */
static int check_tree(struct restore *r)
{
	const struct tree *t = &r->m.files;

	if (strcmp(r->m.backup_id, r->h->backup_id))
		return fail_as(r, STATUS_DAMAGED, "'%s' holds backup %s, "
			       "not %s", r->archive_path, r->m.backup_id,
			       r->h->backup_id);
	for (size_t i = 0; i < t->len; i++) {
		const struct tree_entry *e = &t->entries[i];

		if (!tree_path_is_safe(e->path))
			return fail_as(r, STATUS_DAMAGED, "'%s': unsafe "
				       "path '%s' in the manifest",
				       r->archive_path, e->path);
		if (!parent_is_dir(t, e->path))
			return fail_as(r, STATUS_DAMAGED, "'%s': manifest "
				       "entry '%s' is not inside a folder",
				       r->archive_path, e->path);
		if (e->type == ENTRY_SYMLINK && !*e->link_target)
			return fail_as(r, STATUS_DAMAGED, "'%s': symlink "
				       "'%s' has an empty target",
				       r->archive_path, e->path);
	}
	return 0;
}

/* The archive a query most likely names, judged from the file names
 * alone (the metadata's history decides; see load_backup). */
static char *guess_archive(const char *dest, const char *query)
{
	struct strlist names = {0};
	struct error ignored;
	char id[BACKUP_ID_SIZE];
	char *guess = NULL;
	size_t n = strlen(query);
	int matches = 0;

	if (dest_list_archives(dest, &names, &ignored) < 0 || !names.len)
		goto out;
	if (!strcmp(query, "latest")) {
		guess = xstrdup(names.items[names.len - 1]);
		goto out;
	}
	for (size_t i = 0; i < names.len && n; i++) {
		if (!dest_parse_archive_name(names.items[i], id) ||
		    strncmp(id, query, n))
			continue;
		free(guess);
		guess = xstrdup(names.items[i]);
		if (!strcmp(id, query)) {
			matches = 1;
			break;
		}
		matches++;
	}
	if (matches != 1) {
		free(guess);
		guess = NULL;
	}
out:
	strlist_clear(&names);
	return guess;
}

/* The metadata (its contents: a 100,000-file backup has megabytes of them)
 * is parsed on a second thread while this one reads the manifest of the
 * archive the query most likely names; a wrong guess only costs a second
 * read. A restore of some paths reads only their records of both (see
 * METADATA_SKIM): a file out of a big backup in a tenth of the time. */
static int load_backup(struct restore *r)
{
	const struct strlist *only = r->whole_tree ? NULL : &r->scopes;
	struct catalog_loading *loading = catalog_load_start(
		r->o->dest, only ? METADATA_SKIM : METADATA_CONTENTS);
	char *guess = guess_archive(r->o->dest, r->o->id);
	struct error guess_err;
	bool found, guessed = false;
	int i, rc = -1;

	if (guess) {
		char *path = dest_archive_path(r->o->dest, guess);

		guessed = catalog_manifest_read_paths(path, only, &r->m,
						    &guess_err) == 0;
		free(path);
	}
	/* The tree comes from the backup's manifest, not the metadata. */
	if (catalog_load_finish(loading, &r->md, &found, r->err) < 0)
		goto out;
	if (r->o->owner &&
	    dest_identity_check(&r->md, r->o->dest, r->o->owner, false, NULL,
				r->err) != STATUS_OK) {
		rc = mark(r, STATUS_USAGE);
		goto out;
	}
	i = dest_resolve_id(&r->md, r->o->id, r->err);
	if (i < 0) {
		rc = mark(r, STATUS_USAGE);
		goto out;
	}
	r->h = &r->md.history[i];
	snprintf(r->st->backup_id, BACKUP_ID_SIZE, "%s", r->h->backup_id);
	r->archive_path = dest_archive_path(r->o->dest, r->h->archive);
	if (!guessed || strcmp(guess, r->h->archive)) {
		catalog_manifest_release(&r->m);
		catalog_manifest_init(&r->m);
		if (catalog_manifest_read_paths(r->archive_path, only, &r->m,
					      r->err) < 0) {
			rc = mark(r, STATUS_DAMAGED);
			goto out;
		}
	}
	rc = check_tree(r);
out:
	free(guess);
	return rc;
}

static int choose_one(struct restore *r, const char *asked, const char *path)
{
	if (!restore_plan_choose(&r->m.files, path, r->chosen))
		return fail_as(r, STATUS_USAGE, "'%s' is not in backup %s",
			       asked, r->h->backup_id);
	return 0;
}

/* Known before anything is read: they decide how much of it is. */
static void scope_paths(struct restore *r)
{
	const struct strlist *paths = r->o->paths;

	for (size_t i = 0; paths && i < paths->len; i++)
		strlist_push_owned(&r->scopes,
				   restore_plan_normalize(paths->items[i]));
	r->whole_tree = restore_plan_whole_tree(&r->scopes);
}

static int choose_paths(struct restore *r)
{
	const struct strlist *paths = r->o->paths;
	size_t len = r->m.files.len;

	r->chosen = xcalloc(len ? len : 1, sizeof(*r->chosen));
	for (size_t i = 0; i < r->scopes.len; i++) {
		if (!*r->scopes.items[i])
			continue;
		if (choose_one(r, paths->items[i], r->scopes.items[i]) < 0)
			return -1;
	}
	if (r->whole_tree) {
		strlist_clear(&r->scopes);
		strlist_push(&r->scopes, "");
		for (size_t i = 0; i < len; i++)
			r->chosen[i] = true;
	}
	return 0;
}

static int plan_file(struct restore *r, size_t i)
{
	const struct tree_entry *e = &r->m.files.entries[i];
	struct restore_need need;
	char sum[HASH_HEX_SIZE];

	switch (restore_plan_need(&r->md, &r->m.files, i, &need)) {
	case RESTORE_PLAN_OK:
		break;
	case RESTORE_PLAN_UNRECORDED:
		hex_encode(e->checksum, HASH_SIZE, sum);
		return fail_as(r, STATUS_DAMAGED, "'%s' in %s: its content "
			       "%s is not recorded in %s", e->path,
			       r->archive_path, sum, METADATA_FILE_NAME);
	case RESTORE_PLAN_NOT_KEPT:
		hex_encode(e->checksum, HASH_SIZE, sum);
		return fail_as(r, STATUS_DAMAGED, "'%s' in %s: its content "
			       "%s is held by backup %s, which is not kept",
			       e->path, r->archive_path, sum, need.c->holder);
	}
	grow_array((void **)&r->needs, &r->needs_alloc, r->nneeds + 1,
		   sizeof(*r->needs));
	r->needs[r->nneeds++] = need;
	return 0;
}

static void count_entry(struct restore *r, const struct tree_entry *e)
{
	if (e->type == ENTRY_DIR) {
		r->st->folders++;
		return;
	}
	if (e->type == ENTRY_SYMLINK) {
		r->st->symlinks++;
	} else {
		r->st->files++;
		r->st->bytes += e->size;
	}
	r->total++;
}

/* A restore of some paths loaded no contents yet: just theirs now. */
static int load_chosen_contents(struct restore *r)
{
	const struct tree *t = &r->m.files;
	uint8_t *sums = NULL;
	size_t n = 0, alloc = 0;
	int rc;

	if (!r->md.contents_pending)
		return 0;
	for (size_t i = 0; i < t->len; i++) {
		if (!r->chosen[i] || !restore_plan_reads(&t->entries[i]))
			continue;
		grow_array((void **)&sums, &alloc, (n + 1) * HASH_SIZE, 1);
		memcpy(sums + n++ * HASH_SIZE, t->entries[i].checksum,
		       HASH_SIZE);
	}
	rc = catalog_load_some_contents(r->o->dest, &r->md, sums, n, r->err);
	free(sums);
	return rc;
}

/* Finds the holder of every chosen file's bytes before anything is
 * written, so a missing content stops the restore early. */
static int plan_contents(struct restore *r)
{
	const struct tree *t = &r->m.files;

	if (load_chosen_contents(r) < 0)
		return -1;
	for (size_t i = 0; i < t->len; i++) {
		if (!r->chosen[i])
			continue;
		count_entry(r, &t->entries[i]);
		if (restore_plan_reads(&t->entries[i]) && plan_file(r, i) < 0)
			return -1;
	}
	restore_plan_sort(r->needs, r->nneeds);
	return 0;
}

/* ---- the target folder ---- */

/* Reads the folder through its descriptor: what is checked is what is
 * written to. */
static int dir_is_empty(struct restore *r, int fd, const char *path,
			bool *empty)
{
	int dup_fd = dup(fd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return error_set(r->err, "cannot open '%s': %s", path,
				 strerror(errno));
	}
	*empty = true;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			*empty = false;
	closedir(d);
	return 0;
}

/* The target opened without following a symlink in its last component
 * (one someone swapped in would send the restore, and --delete, to where
 * it points); -2 if it does not exist. */
static int open_target_dir(struct restore *r, const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char link[4096];
	ssize_t n;

	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		return -2;
	if (errno != ELOOP && errno != ENOTDIR)
		return error_set(r->err, "cannot use '%s': %s", path,
				 strerror(errno));
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return error_set(r->err, "'%s' is not a folder", path);
	link[n] = '\0';
	mark(r, STATUS_USAGE);
	return error_set(r->err, "'%s' is a symlink to '%s': restore never "
			 "writes through a symlink; give the folder it points "
			 "to, if that is meant", path, link);
}

static int check_target(struct restore *r, int fd, const char *path)
{
	bool empty = false;

	if (r->o->force)
		return 0;
	if (dir_is_empty(r, fd, path, &empty) < 0)
		return -1;
	if (empty)
		return 0;
	if (r->o->dry_run) {
		/* Shows what --force would do instead of failing. */
		r->st->needs_force = true;
		return 0;
	}
	return error_set(r->err, "'%s' is not empty; use --force to "
			 "restore over what is there", path);
}

static char *absolute(const char *path)
{
	char *real = realpath(path, NULL);

	return real ? real : path_absolute(path);
}

/* Writing into the destination could overwrite or delete its archives. (A
 * destination inside the target is skipped by --delete instead.) */
static int check_not_in_dest(struct restore *r)
{
	char *dest = realpath(r->o->dest, NULL);
	int rc = 0;

	if (dest && path_is_within(r->st->target, dest))
		rc = error_set(r->err, "refusing to restore into '%s': it is "
			       "inside the backup destination",
			       r->st->target);
	free(dest);
	return rc;
}

/* Whether the target is below the source (the source itself is a restore
 * in place, backed up as usual). */
static void note_in_source(struct restore *r)
{
	const char *src = r->o->source;

	r->in_source = src && path_is_within(r->st->target, src) &&
		       strcmp(r->st->target, src);
}

/* A folder this restore made inside the source gets a CACHEDIR.TAG, which
 * every run skips: the restored copy never ends up in the next backup as
 * if it were the user's own files. */
static int tag_target(struct restore *r)
{
	static const char text[] = SCAN_CACHEDIR_SIGNATURE "\n"
		"# This folder holds files restored by incbak. incbak and\n"
		"# other tools that honour CACHEDIR.TAG do not back it up.\n"
		"# Remove this file to have it backed up again.\n";
	int fd;

	if (!r->created_target || !r->in_source)
		return 0;
	fd = openat(r->rootfd, SCAN_CACHEDIR_TAG, O_WRONLY | O_CREAT |
		    O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || fs_write_all(fd, text, sizeof(text) - 1) < 0) {
		error_set(r->err, "cannot write '%s/%s': %s", r->st->target,
			  SCAN_CACHEDIR_TAG, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	r->st->tagged = true;
	return close(fd) < 0 ? error_set(r->err, "cannot write '%s/%s': %s",
					 r->st->target, SCAN_CACHEDIR_TAG,
					 strerror(errno)) : 0;
}

/* Creates the target's own folder private (0700), its missing parents
 * never writable by others; finish_target() gives it its mode. */
static int create_target(struct restore *r, const char *path)
{
	char *parent = path_dirname(path);
	int rc = 0;

	if (fs_mkdir_p(parent, 0755, r->err) < 0)
		rc = -1;
	else if (mkdir(path, 0700) == 0)
		r->created_target = true;
	else if (errno != EEXIST)
		rc = error_set(r->err, "cannot create '%s': %s", path,
			       strerror(errno));
	free(parent);
	return rc;
}

static int open_target(struct restore *r)
{
	char *path = r->o->target ? xstrdup(r->o->target)
				  : str_fmt("incbak-restore-%s",
					    r->h->backup_id);
	int rc = -1;

	r->st->target = absolute(path);
	note_in_source(r);
	if (check_not_in_dest(r) < 0)
		goto out;
	if (!r->o->dry_run && create_target(r, path) < 0)
		goto out;
	r->rootfd = open_target_dir(r, path);
	if (r->rootfd == -2 && r->o->dry_run) {
		r->rootfd = -1;
		rc = 0;
		goto out;
	}
	if (r->rootfd == -2)
		error_set(r->err, "cannot open '%s': %s", path,
			  strerror(ENOENT));
	if (r->rootfd < 0 || check_target(r, r->rootfd, path) < 0)
		goto out;
	if (r->o->dry_run) {
		rc = 0;
		goto out;
	}
	/* Now that it exists, the name with symlinks resolved. */
	free(r->st->target);
	r->st->target = absolute(path);
	note_in_source(r);
	rc = check_not_in_dest(r);
	if (rc == 0)
		rc = tag_target(r);
out:
	if (rc < 0 && r->rootfd == -2)
		r->rootfd = -1;
	free(path);
	return rc;
}

/* A folder the restore created had mode 0700 while it was filled. The
 * backups do not record the source root's own mode: it gets what a new
 * folder would, but never writable by others, whatever the umask. */
static int finish_target(struct restore *r)
{
	mode_t mask = umask(0);

	umask(mask);
	if (!r->created_target)
		return 0;
	if (fchmod(r->rootfd, 0755 & ~mask) < 0)
		return error_set(r->err, "cannot set the mode of '%s': %s",
				 r->st->target, strerror(errno));
	return 0;
}

/* Opens folder `dir` of the target one component at a time, refusing
 * symlinks. Returns a descriptor the caller owns. */
static int walk(struct restore *r, const char *dir)
{
	char *copy = xstrdup(dir), *save = NULL;
	int fd = openat(r->rootfd, ".", DIR_FLAGS);

	for (char *comp = strtok_r(copy, "/", &save); comp && fd >= 0;
	     comp = strtok_r(NULL, "/", &save)) {
		int next = openat(fd, comp, DIR_FLAGS);

		close(fd);
		fd = next;
	}
	if (fd < 0)
		error_set(r->err, "cannot open folder '%s' in the target: %s "
			  "(restore never follows symlinks)", dir,
			  strerror(errno));
	free(copy);
	return fd;
}

static void drop_cache(struct restore *r)
{
	if (r->cache_fd >= 0)
		close(r->cache_fd);
	r->cache_fd = -1;
	free(r->cache_path);
	r->cache_path = NULL;
}

/* Like walk(), but r owns the descriptor: consecutive files mostly share a
 * folder, so the last one stays open. */
static int open_dir(struct restore *r, const char *dir)
{
	int fd;

	if (!*dir)
		return r->rootfd;
	if (r->cache_path && !strcmp(r->cache_path, dir))
		return r->cache_fd;
	drop_cache(r);
	fd = walk(r, dir);
	if (fd >= 0) {
		r->cache_path = xstrdup(dir);
		r->cache_fd = fd;
	}
	return fd;
}

/* The folder holding path (owned by r) and the last component in *leaf. */
static int open_parent(struct restore *r, const char *path, const char **leaf)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	*leaf = slash ? slash + 1 : path;
	if (!slash)
		return r->rootfd;
	dir = xstrndup(path, (size_t)(slash - path));
	fd = open_dir(r, dir);
	free(dir);
	return fd;
}

static bool is_dest(const struct restore *r, const struct stat *st)
{
	return r->have_dest && S_ISDIR(st->st_mode) &&
	       st->st_dev == r->dest_dev && st->st_ino == r->dest_ino;
}

static int remove_tree(struct restore *r, int dirfd, const char *name,
		       const char *path, int64_t *count);

/* The names in folder fd (`path`), sorted: entries go, and a dry run
 * lists them, in the same order whatever the file system's. */
static int read_names(struct restore *r, int fd, const char *path,
		      struct strlist *names)
{
	int dup_fd = dup(fd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return error_set(r->err, "cannot read folder '%s' in the "
				 "target: %s", *path ? path : ".",
				 strerror(errno));
	}
	/* Another descriptor of the folder shares its position. */
	rewinddir(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strlist_push(names, de->d_name);
	closedir(d);
	strlist_sort(names);
	return 0;
}

static int empty_dir_at(struct restore *r, int dirfd, const char *name,
			const char *path, int64_t *count)
{
	int fd = openat(dirfd, name, DIR_FLAGS);
	struct strlist names = {0};
	int rc;

	if (fd < 0)
		return error_set(r->err, "cannot open folder '%s' in the "
				 "target: %s", path, strerror(errno));
	/* It goes anyway; a read-only folder of ours must not stop that. */
	if (!r->o->dry_run)
		fchmod(fd, S_IRWXU);
	rc = read_names(r, fd, path, &names);
	for (size_t i = 0; rc == 0 && i < names.len; i++) {
		char *child = path_join(path, names.items[i]);

		rc = remove_tree(r, fd, names.items[i], child, count);
		free(child);
	}
	strlist_clear(&names);
	close(fd);
	return rc;
}

/* Removes dirfd/name and everything below it, never following a symlink;
 * adds the number of entries removed to *count. A dry run reports each
 * instead, in the same order. */
static int remove_tree(struct restore *r, int dirfd, const char *name,
		       const char *path, int64_t *count)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : error_set(r->err, "cannot stat "
						       "'%s' in the target: %s",
						       path, strerror(errno));
	if (is_dest(r, &st))
		return error_set(r->err, "refusing to remove '%s': it is the "
				 "backup destination", path);
	if (S_ISDIR(st.st_mode) &&
	    empty_dir_at(r, dirfd, name, path, count) < 0)
		return -1;
	if (r->o->dry_run) {
		if (r->o->report.planned)
			r->o->report.planned(r->o->report.ctx,
					     RESTORE_PLAN_DELETE, path);
	} else if (unlinkat(dirfd, name,
			    S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0) {
		return error_set(r->err, "cannot remove '%s' from the target: "
				 "%s", path, strerror(errno));
	}
	(*count)++;
	return 0;
}

/* With --force, clears the way for a file or symlink at dirfd/leaf: the
 * rename replaces a file or symlink by itself, but not a folder. */
static int make_room(struct restore *r, int dirfd, const char *leaf,
		     const char *path)
{
	struct stat st;
	int64_t replaced = 0;

	if (!r->o->force ||
	    fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISDIR(st.st_mode))
		return 0;
	return remove_tree(r, dirfd, leaf, path, &replaced);
}

/* ---- folders ---- */

/* An existing folder stays (--force), writable until finish_dirs() gives
 * it its recorded mode. */
static int reuse_dir(struct restore *r, int dirfd, const char *leaf,
		     const char *path)
{
	struct stat st;
	int fd = openat(dirfd, leaf, DIR_FLAGS);
	int rc = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		rc = error_set(r->err, "cannot open folder '%s' in the target:"
			       " %s", path, strerror(errno));
	else if ((st.st_mode & S_IRWXU) != S_IRWXU &&
		 fchmod(fd, (st.st_mode & 07777) | S_IRWXU) < 0)
		rc = error_set(r->err, "cannot change the mode of '%s': %s",
			       path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

static int make_dir(struct restore *r, const struct tree_entry *e)
{
	const char *leaf;
	int dirfd = open_parent(r, e->path, &leaf);
	int64_t replaced = 0;
	struct stat st;

	if (dirfd < 0)
		return -1;
	if (mkdirat(dirfd, leaf, S_IRWXU) == 0)
		return 0;
	if (errno != EEXIST || !r->o->force)
		return error_set(r->err, "cannot create folder '%s': %s",
				 e->path, strerror(errno));
	if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode))
		return reuse_dir(r, dirfd, leaf, e->path);
	if (remove_tree(r, dirfd, leaf, e->path, &replaced) < 0)
		return -1;
	if (mkdirat(dirfd, leaf, S_IRWXU) < 0)
		return error_set(r->err, "cannot create folder '%s': %s",
				 e->path, strerror(errno));
	return 0;
}

/* Folders first (private and writable), so files can go in; sorted order
 * puts every parent before its children. */
static int make_dirs(struct restore *r)
{
	for (size_t i = 0; i < r->m.files.len; i++) {
		const struct tree_entry *e = &r->m.files.entries[i];

		if (!r->chosen[i] || e->type != ENTRY_DIR)
			continue;
		if (check_interrupted(r) < 0 || make_dir(r, e) < 0)
			return -1;
	}
	return 0;
}

static uint32_t restored_mode(const struct restore *r,
			      const struct tree_entry *e)
{
	/* setuid/setgid on a file someone else may now own is a gift of
	 * privilege: only a root restore that asked to keep owners keeps
	 * them. */
	if (r->as_root && r->o->same_owner)
		return e->mode & 07777;
	return e->mode & 01777;
}

static void mtime_of(const struct tree_entry *e, struct timespec ts[2])
{
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = (time_t)e->mtime.sec;
	ts[1].tv_nsec = e->mtime.nsec;
}

static void count_lost(struct restore *r, const char *name)
{
	struct restore_stats *st = r->st;

	for (size_t i = 0; i < st->nlost; i++)
		if (!strcmp(st->lost[i].name, name)) {
			st->lost[i].files++;
			return;
		}
	st->lost = xrealloc(st->lost, (st->nlost + 1) * sizeof(*st->lost));
	st->lost[st->nlost].name = xstrdup(name);
	st->lost[st->nlost++].files = 1;
}

/* Sets one attribute of fd, or with fd -1 of the symlink at link (a
 * /proc/self/fd path: there is no lsetxattr relative to a folder's fd);
 * one the file system does not support is counted. */
static int set_one_attr(struct restore *r, int fd, const char *link,
			const char *path, const struct attrs_item *it)
{
	int rc = fd >= 0 ? fsetxattr(fd, it->name, it->value, it->size, 0)
			 : lsetxattr(link, it->name, it->value, it->size, 0);

	if (rc == 0)
		return 0;
	if (errno == ENOTSUP || errno == EOPNOTSUPP) {
		count_lost(r, it->name);
		return 0;
	}
	return error_set(r->err, "cannot set attribute '%s' of '%s': %s",
			 it->name, path, strerror(errno));
}

/* The extended attributes and ACLs of e that this user may set: after the
 * owner (chown drops security.capability) and the mode (an ACL sets the
 * group bits). A capability goes only on a file whose setuid and setgid
 * bits this restore kept (attrs_may_apply: only root sets one). */
static int set_xattrs(struct restore *r, int fd, const char *link,
		      const struct tree_entry *e)
{
	struct attrs_item *items;
	long n;
	int rc = 0;

	if (!e->attrs)
		return 0;
	n = attrs_decode(e->attrs, &items);
	if (n < 0)
		return fail_as(r, STATUS_DAMAGED, "bad attributes recorded for "
			       "'%s'", e->path);
	for (long i = 0; i < n && rc == 0; i++) {
		struct attrs_acl_entry acl[1];

		if (attrs_is_acl(items[i].name) &&
		    attrs_acl_entries(items[i].value, items[i].size, acl,
				      ARRAY_SIZE(acl)) < 0)
			rc = fail_as(r, STATUS_DAMAGED, "attribute '%s' of "
				     "'%s' is not an ACL", items[i].name,
				     e->path);
		else if (attrs_may_apply(&items[i], r->as_root))
			rc = set_one_attr(r, fd, link, e->path, &items[i]);
	}
	attrs_items_free(items, n);
	return rc;
}

/* Owner (as root; before the mode, since chown clears setuid), mode,
 * extended attributes and ACLs, and modification time of an open file or
 * folder. */
static int set_attrs(struct restore *r, int fd, const struct tree_entry *e)
{
	struct timespec ts[2];

	mtime_of(e, ts);
	if (r->as_root && fchown(fd, e->uid, e->gid) < 0)
		return error_set(r->err, "cannot set the owner of '%s': %s",
				 e->path, strerror(errno));
	if (fchmod(fd, restored_mode(r, e)) < 0)
		return error_set(r->err, "cannot set the mode of '%s': %s",
				 e->path, strerror(errno));
	if (set_xattrs(r, fd, NULL, e) < 0)
		return -1;
	if (futimens(fd, ts) < 0)
		return error_set(r->err, "cannot set the time of '%s': %s",
				 e->path, strerror(errno));
	return 0;
}

static int finish_dir(struct restore *r, const struct tree_entry *e)
{
	const char *leaf;
	int dirfd = open_parent(r, e->path, &leaf);
	int fd, rc;

	if (dirfd < 0)
		return -1;
	fd = openat(dirfd, leaf, DIR_FLAGS);
	if (fd < 0)
		return error_set(r->err, "cannot open folder '%s' in the "
				 "target: %s", e->path, strerror(errno));
	rc = set_attrs(r, fd, e);
	close(fd);
	return rc;
}

/* Folder modes and times last, deepest first: writing into a folder moves
 * its mtime, and a read-only folder could not be written into. Reverse
 * sorted order visits children before their parents. */
static int finish_dirs(struct restore *r)
{
	for (size_t i = r->m.files.len; i-- > 0;) {
		const struct tree_entry *e = &r->m.files.entries[i];

		if (r->chosen[i] && e->type == ENTRY_DIR &&
		    finish_dir(r, e) < 0)
			return -1;
	}
	return 0;
}

/* ---- --delete ---- */

static int prune_dir(struct restore *r, int fd, const char *dir);

static int prune_entry(struct restore *r, int dirfd, const char *name,
		       const char *path)
{
	const struct tree_entry *e = tree_find(&r->m.files, path);
	struct stat st;
	int fd;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : error_set(r->err, "cannot stat "
						       "'%s' in the target: %s",
						       path, strerror(errno));
	if (is_dest(r, &st))
		return 0;
	/* The tag that keeps a restored copy out of the next run stays. */
	if (!e && r->in_source && !strcmp(path, SCAN_CACHEDIR_TAG))
		return 0;
	if (!e)
		return remove_tree(r, dirfd, name, path, &r->st->deleted);
	/* A type that changed is replaced when the entry is restored. */
	if (e->type != ENTRY_DIR || !S_ISDIR(st.st_mode))
		return 0;
	fd = openat(dirfd, name, DIR_FLAGS);
	if (fd < 0)
		return error_set(r->err, "cannot open folder '%s' in the "
				 "target: %s", path, strerror(errno));
	return prune_dir(r, fd, path);
}

/* Removes what folder fd (`dir`; fd is consumed) holds but the backup
 * does not, recursing into the folders it has. */
static int prune_dir(struct restore *r, int fd, const char *dir)
{
	struct strlist names = {0};
	int rc = read_names(r, fd, dir, &names);

	for (size_t i = 0; rc == 0 && i < names.len; i++) {
		char *path = path_join(dir, names.items[i]);

		rc = prune_entry(r, fd, names.items[i], path);
		free(path);
	}
	strlist_clear(&names);
	close(fd);
	return rc;
}

/* Within the paths asked for only (all of the target if none). Runs after
 * make_dirs(), so every folder kept is already a real folder; a dry run
 * skips a folder that is not there yet or not a folder, as make_dirs()
 * would have made it a new, empty one. */
static int delete_extras(struct restore *r)
{
	for (size_t i = 0; r->o->delete_extra && i < r->scopes.len; i++) {
		const char *scope = r->scopes.items[i];
		const struct tree_entry *e = tree_find(&r->m.files, scope);
		int fd;

		if (*scope && (!e || e->type != ENTRY_DIR))
			continue;
		fd = walk(r, scope);
		if (fd < 0 && r->o->dry_run)
			continue;
		if (fd < 0 || prune_dir(r, fd, scope) < 0)
			return -1;
	}
	return 0;
}

/* ---- files ---- */

static void tmp_name(struct restore *r, char *out, size_t len)
{
	snprintf(out, len, "%s%ld.%u", FS_TEMP_PREFIX, (long)getpid(),
		 r->tmp_seq++);
}

static void progress(struct restore *r)
{
	r->done++;
	if (r->o->report.progress)
		r->o->report.progress(r->o->report.ctx, r->done, r->total,
				      r->st->bytes);
}

/* Bytes waiting in r->buf, which starts at file offset `base`, going to a
 * new (empty) file written up to `end`. */
struct sink {
	int fd;
	uint64_t base, end;
	size_t fill;
};

static bool block_is_zero(const char *p, size_t n)
{
	return p[0] == 0 && memcmp(p, p + 1, n - 1) == 0;
}

static int pwrite_all(int fd, const char *p, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Writes the len bytes at data at the sink's offset: the runs of
 * non-zero blocks, skipping the zero ones, which stay holes (sink_finish
 * sets the length). */
static int sink_put(struct restore *r, struct sink *s, const char *data,
		    size_t len, const char *path)
{
	size_t i = 0;

	while (i < len) {
		size_t start, n;

		for (n = 0; i < len; i += n) {
			n = len - i < SPARSE_BLOCK ? len - i : SPARSE_BLOCK;
			if (!block_is_zero(data + i, n))
				break;
		}
		for (start = i; i < len; i += n) {
			n = len - i < SPARSE_BLOCK ? len - i : SPARSE_BLOCK;
			if (block_is_zero(data + i, n))
				break;
		}
		if (i > start && pwrite_all(s->fd, data + start, i - start,
					    s->base + start) < 0)
			return error_set(r->err, "cannot write '%s': %s",
					 path, strerror(errno));
		if (i > start)
			s->end = s->base + i;
	}
	s->base += len;
	return 0;
}

/* Writes what waits in r->buf. */
static int sink_flush(struct restore *r, struct sink *s, const char *path)
{
	int rc = sink_put(r, s, r->buf, s->fill, path);

	s->fill = 0;
	return rc;
}

static int sink_finish(struct restore *r, struct sink *s, const char *path)
{
	if (sink_flush(r, s, path) < 0)
		return -1;
	/* Only a file ending in a hole needs its length set. */
	if (s->end != s->base && ftruncate(s->fd, (off_t)s->base) < 0)
		return error_set(r->err, "cannot write '%s': %s", path,
				 strerror(errno));
	return 0;
}

static ssize_t source_read(struct restore *r, struct source *src, char *buf,
			   size_t len)
{
	ssize_t n;

	if (src->reader) {
		n = tarball_read(src->reader, buf, len, r->err);
		if (n < 0)
			mark(r, STATUS_DAMAGED);
		return n;
	}
	do
		n = pread(src->fd, buf, len, src->off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		error_set(r->err, "cannot read back a restored file: %s",
			  strerror(errno));
	else
		src->off += n;
	return n;
}

/* src's bytes were hashed into r->hash, unless they were read ahead. */
static int check_sum(struct restore *r, const struct tree_entry *e,
		     uint64_t total, const struct source *src)
{
	const char *archive = src ? src->archive : r->archive_path;
	uint8_t sum[HASH_SIZE];
	char want[HASH_HEX_SIZE], got[HASH_HEX_SIZE];

	if (total != e->size)
		return fail_as(r, STATUS_DAMAGED, "'%s' in %s: size "
			       "mismatch (recorded %llu bytes, archive has "
			       "%s%llu)", e->path, archive,
			       (unsigned long long)e->size,
			       total > e->size ? "more than " : "",
			       /* reading stopped past the record */
			       (unsigned long long)(total > e->size ? e->size
								    : total));
	if (src && src->ahead)
		archive_readahead_digest(src->ahead, sum);
	else if (hash_final(r->hash, sum) < 0)
		return error_set(r->err, "SHA-256 is not available");
	if (!memcmp(sum, e->checksum, HASH_SIZE))
		return 0;
	hex_encode(e->checksum, HASH_SIZE, want);
	hex_encode(sum, HASH_SIZE, got);
	return fail_as(r, STATUS_DAMAGED, "'%s' in %s: checksum mismatch "
		       "(recorded %s, archive has %s)", e->path, archive, want,
		       got);
}

/* Writes a member read ahead into fd straight from where the reading
 * thread put it; the read-ahead hashes it, on whichever thread is ahead. */
static int fill_from_ahead(struct restore *r, int fd, struct source *src,
			   const struct tree_entry *e)
{
	struct sink s = { .fd = fd };
	uint64_t total = 0;
	const void *data;
	ssize_t n;

	while ((n = archive_readahead_data(src->ahead, &data, r->err)) > 0) {
		total += (uint64_t)n;
		if (check_interrupted(r) < 0 ||
		    sink_put(r, &s, data, (size_t)n, e->path) < 0)
			return -1;
		/* The reading thread stops one byte past the recorded size. */
		if (total > e->size)
			break;
	}
	if (n < 0)
		return mark(r, STATUS_DAMAGED);
	if (check_sum(r, e, total, src) < 0)
		return -1;
	return sink_finish(r, &s, e->path);
}

/* Copies src (NULL for an empty file) into fd, hashing; stops as soon as
 * there are more bytes than recorded, so a hostile member cannot fill the
 * disk. */
static int fill_file(struct restore *r, int fd, struct source *src,
		     const struct tree_entry *e)
{
	struct sink s = { .fd = fd };
	uint64_t total = 0;
	ssize_t n = 0;

	if (src && src->ahead)
		return fill_from_ahead(r, fd, src, e);
	hash_reset(r->hash);
	while (src && total <= e->size &&
	       (n = source_read(r, src, r->buf + s.fill,
				IO_SIZE - s.fill)) > 0) {
		hash_update(r->hash, r->buf + s.fill, (size_t)n);
		s.fill += (size_t)n;
		total += (uint64_t)n;
		if (check_interrupted(r) < 0 ||
		    (s.fill == IO_SIZE && sink_flush(r, &s, e->path) < 0))
			return -1;
	}
	if (n < 0 || check_sum(r, e, total, src) < 0)
		return -1;
	return sink_finish(r, &s, e->path);
}

/* A new file's inode, unnamed (O_TMPFILE) where the filesystem allows,
 * else under a temporary name (set in tmp). */
static int create_file(struct restore *r, int dirfd, char *tmp, size_t len)
{
	/* Naming an unnamed inode goes through /proc/self/fd. */
	int fd = r->proc_fds ? openat(dirfd, ".", O_TMPFILE | O_RDWR |
				      O_CLOEXEC, S_IRUSR | S_IWUSR) : -1;

	tmp[0] = '\0';
	if (fd >= 0)
		return fd;
	tmp_name(r, tmp, len);
	return openat(dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		      O_CLOEXEC, S_IRUSR | S_IWUSR);
}

/* Gives the unnamed inode fd the name leaf: a new name is linked at once;
 * a file already there (--force) is replaced by linking a temporary name
 * (set in tmp) and renaming it over. */
static int link_unnamed(struct restore *r, int fd, int dirfd,
			const char *leaf, char *tmp, size_t len)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, dirfd, leaf, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	tmp_name(r, tmp, len);
	if (linkat(AT_FDCWD, proc, dirfd, tmp, AT_SYMLINK_FOLLOW) < 0) {
		tmp[0] = '\0';
		return -1;
	}
	return renameat(dirfd, tmp, dirfd, leaf);
}

/* Writes e from src into a new inode in its folder (unnamed where the
 * filesystem allows, else under a temporary name), checks size and
 * checksum, sets owner, mode and time, and only then gives it its name. No
 * real name ever holds a partial file, and a restore killed midway leaves
 * no temporary name behind where O_TMPFILE works. If keep is not NULL,
 * *keep gets the open file (the caller closes it). */
static int write_file(struct restore *r, const struct tree_entry *e,
		      struct source *src, int *keep)
{
	const char *leaf;
	char tmp[64];
	int dirfd = open_parent(r, e->path, &leaf);
	int fd, rc = -1;

	if (dirfd < 0)
		return -1;
	fd = create_file(r, dirfd, tmp, sizeof(tmp));
	if (fd < 0)
		return error_set(r->err, "cannot create '%s': %s", e->path,
				 strerror(errno));
	if (fill_file(r, fd, src, e) < 0 || set_attrs(r, fd, e) < 0 ||
	    make_room(r, dirfd, leaf, e->path) < 0)
		goto out;
	fault_point("restore:file-written");
	if (tmp[0] ? renameat(dirfd, tmp, dirfd, leaf) < 0
		   : link_unnamed(r, fd, dirfd, leaf, tmp, sizeof(tmp)) < 0) {
		error_set(r->err, "cannot put '%s' in place: %s", e->path,
			  strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	progress(r);
	rc = 0;
out:
	if (tmp[0])
		unlinkat(dirfd, tmp, 0);
	if (rc == 0 && keep)
		*keep = fd;
	else
		close(fd);
	return rc;
}

static int restore_empty_files(struct restore *r)
{
	for (size_t i = 0; i < r->m.files.len; i++) {
		const struct tree_entry *e = &r->m.files.entries[i];

		if (!r->chosen[i] || e->type != ENTRY_FILE || e->size)
			continue;
		if (check_interrupted(r) < 0 ||
		    write_file(r, e, NULL, NULL) < 0)
			return -1;
	}
	return 0;
}

static const struct tree_entry *need_entry(const struct restore *r, size_t i)
{
	return &r->m.files.entries[r->needs[i].entry];
}

/* Writes the content of needs[i] at its path from the archive, then at
 * the paths of the needs after it that share it, copied from the first
 * (each copy verified too). Sets *count to the needs satisfied. */
static int restore_group(struct restore *r, size_t i, size_t hi,
			 struct source src, size_t *count)
{
	const char *archive = src.archive;
	int first = -1, rc;
	size_t j;

	rc = write_file(r, need_entry(r, i), &src, &first);
	r->needs[i].done = true;
	src = (struct source){ .fd = first, .archive = archive };
	for (j = i + 1; rc == 0 && j < hi && r->needs[j].c == r->needs[i].c;
	     j++) {
		src.off = 0;
		rc = check_interrupted(r);
		if (rc == 0)
			rc = write_file(r, need_entry(r, j), &src, NULL);
		r->needs[j].done = true;
	}
	if (first >= 0)
		close(first);
	*count = j - i;
	return rc;
}

/* The first need in [lo, hi) not yet done whose member is `name`, or hi. */
static size_t find_need(const struct restore *r, size_t lo, size_t hi,
			const char *name)
{
	size_t a = restore_plan_first_member(r->needs, lo, hi, name);

	for (; a < hi && !strcmp(r->needs[a].c->member, name); a++)
		if (!r->needs[a].done)
			return a;
	return hi;
}

static int check_all_found(struct restore *r, size_t lo, size_t hi,
			   const char *archive)
{
	for (size_t i = lo; i < hi; i++)
		if (!r->needs[i].done)
			return fail_as(r, STATUS_DAMAGED, "'%s' in %s: "
				       "member '%s' is missing",
				       need_entry(r, i)->path, archive,
				       r->needs[i].c->member);
	return 0;
}

/* Opens the archive where need i's member starts. 1 with *rd on that
 * member; 0 if it is not there (a position gone stale, say after a crash
 * in rotation): the sequential pass then finds it. */
static int seek_member(const struct restore *r, const char *path, size_t i,
		       struct tarball_reader **rd)
{
	const struct content *c = r->needs[i].c;
	struct tarball_member mem;

	if (tarball_reader_open_at(path, c->frame_offset, c->frame_skip, rd,
				   NULL) < 0)
		return 0;
	if (tarball_next(*rd, &mem, NULL) == 1 && mem.type == ENTRY_FILE &&
	    !mem.is_hardlink && !mem.is_other && !strcmp(mem.name, c->member))
		return 1;
	tarball_reader_close(*rd);
	*rd = NULL;
	return 0;
}

/* Each need of [lo, hi) straight from its member's frame, decompressing
 * only what lies between the frame start and the member's end. */
static int read_seeking(struct restore *r, size_t lo, size_t hi,
			const char *path)
{
	for (size_t i = lo; i < hi; i++) {
		struct tarball_reader *rd = NULL;
		size_t count;
		int rc;

		if (r->needs[i].done || !seek_member(r, path, i, &rd))
			continue;
		rc = restore_group(r, i, hi, (struct source){ .reader = rd,
				   .fd = -1, .archive = path }, &count);
		tarball_reader_close(rd);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static size_t count_left(const struct restore *r, size_t lo, size_t hi)
{
	size_t left = 0;

	for (size_t i = lo; i < hi; i++)
		left += !r->needs[i].done;
	return left;
}

/* The needs one sequential pass serves, for the reading thread. */
struct wanted {
	const struct restore *r;
	size_t lo, hi;
};

/* The most bytes any need of member `name` takes, or -1 if none needs
 * it. Looks only at what stays as it is during the pass (not `done`). */
static int64_t wanted_size(void *ctx, const char *name)
{
	const struct wanted *w = ctx;
	const struct restore_need *needs = w->r->needs;
	size_t a = restore_plan_first_member(needs, w->lo, w->hi, name);
	int64_t most = -1;

	for (; a < w->hi && !strcmp(needs[a].c->member, name); a++) {
		uint64_t size = w->r->m.files.entries[needs[a].entry].size;

		if (size <= INT64_MAX - 1 && (int64_t)size > most)
			most = (int64_t)size;
	}
	return most;
}

/* One sequential pass over the archive for the needs of [lo, hi) not done
 * yet, read and hashed ahead on another thread. Only regular members are
 * read: hard links, the manifest, symlinks, devices and anything not
 * needed are skipped. */
static int read_sequential(struct restore *r, size_t lo, size_t hi,
			   const char *path)
{
	struct wanted w = { r, lo, hi };
	struct archive_readahead *ahead = NULL;
	const char *name;
	size_t left = count_left(r, lo, hi), count;
	int more = 0, rc = -1;

	if (left && archive_readahead_open(path, wanted_size, &w, true, &ahead,
				  r->err) < 0) {
		mark(r, STATUS_DAMAGED);
		goto out;
	}
	while (left &&
	       (more = archive_readahead_next(ahead, &name, r->err)) > 0) {
		size_t i = find_need(r, lo, hi, name);

		if (i == hi)
			continue;
		if (restore_group(r, i, hi, (struct source){ .ahead = ahead,
				  .fd = -1, .archive = path }, &count) < 0)
			goto out;
		left -= count;
	}
	if (more < 0) {
		mark(r, STATUS_DAMAGED);
		goto out;
	}
	rc = check_all_found(r, lo, hi, path);
out:
	archive_readahead_close(ahead);
	return rc;
}

/* The needs [lo, hi), all held by one archive. */
static int read_archive(struct restore *r, size_t lo, size_t hi)
{
	const struct history_entry *h = &r->md.history[r->needs[lo].hist];
	char *path = dest_archive_path(r->o->dest, h->archive);
	int rc = 0;

	if (restore_plan_can_seek(r->needs, lo, hi))
		rc = read_seeking(r, lo, hi, path);
	if (rc == 0)
		rc = read_sequential(r, lo, hi, path);
	free(path);
	return rc;
}

static int restore_archives(struct restore *r)
{
	size_t lo = 0;

	while (lo < r->nneeds) {
		size_t hi = restore_plan_archive_end(r->needs, r->nneeds, lo);

		if (read_archive(r, lo, hi) < 0)
			return -1;
		lo = hi;
	}
	return 0;
}

/* ---- symlinks ---- */

static int make_symlink(struct restore *r, const struct tree_entry *e)
{
	const char *leaf;
	char tmp[64];
	struct timespec ts[2];
	int dirfd = open_parent(r, e->path, &leaf);

	if (dirfd < 0)
		return -1;
	mtime_of(e, ts);
	tmp_name(r, tmp, sizeof(tmp));
	if (symlinkat(e->link_target, dirfd, tmp) < 0)
		return error_set(r->err, "cannot create symlink '%s': %s",
				 e->path, strerror(errno));
	if (r->as_root && fchownat(dirfd, tmp, e->uid, e->gid,
				   AT_SYMLINK_NOFOLLOW) < 0) {
		error_set(r->err, "cannot set the owner of '%s': %s", e->path,
			  strerror(errno));
		goto fail;
	}
	if (utimensat(dirfd, tmp, ts, AT_SYMLINK_NOFOLLOW) < 0) {
		error_set(r->err, "cannot set the time of '%s': %s", e->path,
			  strerror(errno));
		goto fail;
	}
	if (e->attrs && r->proc_fds) {
		char link[96];

		snprintf(link, sizeof(link), "/proc/self/fd/%d/%s", dirfd, tmp);
		if (set_xattrs(r, -1, link, e) < 0)
			goto fail;
	}
	if (make_room(r, dirfd, leaf, e->path) < 0)
		goto fail;
	if (renameat(dirfd, tmp, dirfd, leaf) < 0) {
		error_set(r->err, "cannot rename a temporary symlink to '%s': "
			  "%s", e->path, strerror(errno));
		goto fail;
	}
	progress(r);
	return 0;
fail:
	unlinkat(dirfd, tmp, 0);
	return -1;
}

/* After all files, so no file is ever written through a symlink this
 * restore created. */
static int make_symlinks(struct restore *r)
{
	for (size_t i = 0; i < r->m.files.len; i++) {
		const struct tree_entry *e = &r->m.files.entries[i];

		if (!r->chosen[i] || e->type != ENTRY_SYMLINK)
			continue;
		if (check_interrupted(r) < 0 || make_symlink(r, e) < 0)
			return -1;
	}
	return 0;
}

/* ---- the whole restore ---- */

/* What the target holds at e's path, for the dry run's comparison. */
static void inspect(struct restore *r, const struct tree_entry *e,
		    struct restore_plan_found *f, char *link, size_t size)
{
	const char *leaf;
	struct error ignored;
	struct error *err = r->err;
	struct stat st;
	ssize_t n;
	int dirfd;

	*f = (struct restore_plan_found){ .exists = false };
	r->err = &ignored;             /* a missing parent: nothing there */
	dirfd = open_parent(r, e->path, &leaf);
	r->err = err;
	if (dirfd < 0 || fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	f->exists = true;
	f->type = S_ISREG(st.st_mode) ? ENTRY_FILE
		: S_ISDIR(st.st_mode) ? ENTRY_DIR
		: S_ISLNK(st.st_mode) ? ENTRY_SYMLINK : 0xff;
	f->mode = st.st_mode & 07777;
	f->uid = st.st_uid;
	f->gid = st.st_gid;
	f->size = (uint64_t)st.st_size;
	f->mtime = (struct nstime){ st.st_mtim.tv_sec,
				    (int32_t)st.st_mtim.tv_nsec };
	if (!S_ISLNK(st.st_mode))
		return;
	n = readlinkat(dirfd, leaf, link, size - 1);
	if (n >= 0) {
		link[n] = '\0';
		f->link_target = link;
	}
}

/* A dry run: the deletions --delete would make, then every chosen entry
 * that is not already there as the backup has it. */
static int report_plan(struct restore *r)
{
	const struct restore_report *rep = &r->o->report;
	char link[4096];

	if (r->rootfd >= 0 && delete_extras(r) < 0)
		return -1;
	for (size_t i = 0; i < r->m.files.len; i++) {
		const struct tree_entry *e = &r->m.files.entries[i];
		struct restore_plan_found f = { .exists = false };
		enum restore_plan_action a;

		if (!r->chosen[i])
			continue;
		if (r->rootfd >= 0)
			inspect(r, e, &f, link, sizeof(link));
		a = restore_plan_compare(e, restored_mode(r, e), &f,
					 r->as_root);
		if (a == RESTORE_PLAN_SAME)
			r->st->unchanged++;
		else if (rep->planned)
			rep->planned(rep->ctx, a, e->path);
	}
	return 0;
}

static int restore_locked(struct restore *r)
{
	scope_paths(r);
	if (load_backup(r) < 0 || choose_paths(r) < 0 ||
	    plan_contents(r) < 0 || open_target(r) < 0)
		return -1;
	if (r->o->dry_run)
		return report_plan(r);
	r->hash = hash_new();
	if (!r->hash)
		return error_set(r->err, "SHA-256 is not available");
	r->buf = xmalloc(IO_SIZE);
	if (make_dirs(r) < 0 || delete_extras(r) < 0 ||
	    restore_empty_files(r) < 0 || restore_archives(r) < 0 ||
	    make_symlinks(r) < 0 || finish_dirs(r) < 0 ||
	    finish_target(r) < 0)
		return -1;
	return 0;
}

/* A destination that does not exist has no backups: no lock to take, and
 * dest_resolve_id() says so. */
static int take_lock(struct restore *r, struct lock **lock)
{
	struct stat st;
	int rc;

	if (stat(r->o->dest, &st) < 0)
		return 0;
	r->have_dest = true;
	r->dest_dev = st.st_dev;
	r->dest_ino = st.st_ino;
	rc = lock_acquire(r->o->dest, LOCK_SHARED, r->o->host, r->o->now,
			  lock, r->err);
	if (rc == STATUS_BUSY)
		return mark(r, STATUS_BUSY);
	return rc;
}

static void close_restore(struct restore *r)
{
	drop_cache(r);
	if (r->rootfd >= 0)
		close(r->rootfd);
	hash_free(r->hash);
	free(r->buf);
	free(r->needs);
	free(r->chosen);
	free(r->archive_path);
	strlist_clear(&r->scopes);
	catalog_manifest_release(&r->m);
	catalog_release(&r->md);
}

int restore_run(const struct restore_options *o, struct restore_stats *stats,
		struct error *err)
{
	struct restore r = { .o = o, .st = stats, .err = err, .rootfd = -1,
			     .cache_fd = -1, .as_root = geteuid() == 0,
			     .proc_fds = access("/proc/self/fd", X_OK) == 0 };
	struct lock *lock = NULL;
	int rc;

	catalog_init(&r.md);
	catalog_manifest_init(&r.m);
	rc = take_lock(&r, &lock);
	if (rc == 0)
		rc = restore_locked(&r);
	close_restore(&r);
	lock_release(lock);
	if (rc < 0 && r.kind)
		return r.kind;
	if (rc < 0)
		return -1;
	return stats->nlost ? STATUS_PARTIAL : STATUS_OK;
}

void restore_stats_release(struct restore_stats *stats)
{
	free(stats->target);
	stats->target = NULL;
	for (size_t i = 0; i < stats->nlost; i++)
		free(stats->lost[i].name);
	free(stats->lost);
	stats->lost = NULL;
	stats->nlost = 0;
}
