/* Walks the source tree with openat/getdents64/fstatat relative to folder
 * descriptors: no symlink is ever followed, and paths longer than PATH_MAX
 * in total still work because every call names one component. A folder's
 * names are listed before anything else is done there, so the files that
 * steer the walk (CACHEDIR.TAG, .incbakignore, markers) are opened only
 * where the listing has them: a run with nothing changed makes about a
 * third fewer system calls than when it tried each in every folder. */
#include "scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exclude.h"
#include "fsutil.h"

#define CACHEDIR_SIGNATURE "Signature: 8a477f597d28d172789f06886806bc55"
#define IGNORE_FILE ".incbakignore"
#define IGNORE_FILE_MAX (1 << 20)
#define CACHEDIR_TAG "CACHEDIR.TAG"
#define LIST_BUF_SIZE 32768

struct walk {
	const struct scan_options *opts;
	struct scan_result *out;
	dev_t root_dev;
};

const char *scan_special_kind(mode_t mode)
{
	if (S_ISSOCK(mode))
		return "socket";
	if (S_ISFIFO(mode))
		return "fifo";
	if (S_ISCHR(mode))
		return "character device";
	if (S_ISBLK(mode))
		return "block device";
	return "special file";
}

static int read_link_at(int dirfd, const char *name, size_t hint, char **out)
{
	size_t size = hint ? hint + 1 : 256;

	for (;;) {
		char *target = xmalloc(size);
		ssize_t n = readlinkat(dirfd, name, target, size);

		if (n < 0) {
			free(target);
			return -1;
		}
		if ((size_t)n < size) {
			target[n] = '\0';
			*out = target;
			return 0;
		}
		free(target);
		size *= 2;
	}
}

int scan_entry_from_stat(struct tree_entry *e, const struct stat *st,
			 int dirfd, const char *name)
{
	e->type = S_ISDIR(st->st_mode) ? ENTRY_DIR
		: S_ISLNK(st->st_mode) ? ENTRY_SYMLINK : ENTRY_FILE;
	e->mode = st->st_mode & 07777;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->size = e->type == ENTRY_FILE ? (uint64_t)st->st_size : 0;
	e->ino = st->st_ino;
	e->mtime.sec = st->st_mtim.tv_sec;
	e->mtime.nsec = (int32_t)st->st_mtim.tv_nsec;
	e->ctime.sec = st->st_ctim.tv_sec;
	e->ctime.nsec = (int32_t)st->st_ctim.tv_nsec;
	e->link_target = NULL;
	if (e->type == ENTRY_SYMLINK)
		return read_link_at(dirfd, name, (size_t)st->st_size,
				    &e->link_target);
	return 0;
}

static struct tree_entry *push_entry(struct scan_result *out)
{
	return tree_push(&out->tree);
}

/* Reads the names in the folder dirfd (sorted, without . and ..),
 * straight from the kernel: readdir() would need a descriptor of its own. */
static int list_dir(int dirfd, struct strlist *names)
{
	char *buf = xmalloc(LIST_BUF_SIZE);
	ssize_t n;
	int rc = -1, saved;

	while ((n = getdents64(dirfd, buf, LIST_BUF_SIZE)) > 0) {
		for (ssize_t at = 0; at < n;) {
			const struct dirent64 *de = (const void *)(buf + at);

			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				strlist_push(names, de->d_name);
			at += de->d_reclen;
		}
	}
	if (n == 0) {
		strlist_sort(names);
		rc = 0;
	}
	saved = errno;
	free(buf);
	errno = saved;
	return rc;
}

static bool has_cachedir_tag(int dirfd)
{
	char head[sizeof(CACHEDIR_SIGNATURE) - 1];
	int fd = openat(dirfd, CACHEDIR_TAG,
			O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	bool tagged;

	if (fd < 0)
		return false;
	tagged = read(fd, head, sizeof(head)) == (ssize_t)sizeof(head) &&
		 memcmp(head, CACHEDIR_SIGNATURE, sizeof(head)) == 0;
	close(fd);
	return tagged;
}

/* True if the folder dirfd, whose sorted names are `names`, asks to be left
 * out (CACHEDIR.TAG or a marker). */
static bool dir_opts_out(const struct scan_options *opts, int dirfd,
			 const struct strlist *names)
{
	if (strlist_has_sorted(names, CACHEDIR_TAG) && has_cachedir_tag(dirfd))
		return true;
	if (!opts->exclude_if_present)
		return false;
	for (size_t i = 0; i < opts->exclude_if_present->len; i++)
		if (strlist_has_sorted(names,
				       opts->exclude_if_present->items[i]))
			return true;
	return false;
}

static void load_ignore_file(struct walk *w, int dirfd, const char *rel)
{
	struct buf text = {0};
	int fd = openat(dirfd, IGNORE_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return;
	if (fs_read_fd(fd, &text, IGNORE_FILE_MAX) == 0 && text.len)
		exclude_set_add_lines(w->opts->excludes, text.data, text.len,
				      rel);
	else if (errno && w->opts->report.unreadable)
		w->opts->report.unreadable(w->opts->report.ctx,
			*rel ? rel : ".", "cannot read .incbakignore");
	close(fd);
	buf_release(&text);
}

static void report_unreadable(struct walk *w, const char *rel, int errnum)
{
	strlist_push(&w->out->failed_dirs, rel);
	if (w->opts->report.unreadable)
		w->opts->report.unreadable(w->opts->report.ctx, rel,
					   strerror(errnum));
}

static void walk_dir(struct walk *w, int dirfd, const char *rel,
		     const struct strlist *names);

static bool is_skipped_dir(const struct walk *w, const struct stat *st)
{
	const struct scan_options *o = w->opts;

	if (o->skip_dir_valid && st->st_dev == o->skip_dev &&
	    st->st_ino == o->skip_ino)
		return true;
	return o->one_file_system && st->st_dev != w->root_dev;
}

static void set_path(struct walk *w, struct tree_entry *e, const char *rel)
{
	e->path = tree_store_path(&w->out->tree, rel);
	e->path_stored = true;
}

/* Records the folder `name` (at rel) and walks it, unless it asks to be
 * left out. One that cannot be listed is recorded, and reported. */
static void visit_dir(struct walk *w, int dirfd, const char *name,
		      const char *rel, const struct stat *st)
{
	struct strlist names = {0};
	struct tree_entry *e;
	int listed, failure, fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY |
					 O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		report_unreadable(w, rel, errno);
		return;
	}
	listed = list_dir(fd, &names);
	failure = errno;
	if (listed == 0 && dir_opts_out(w->opts, fd, &names)) {
		close(fd);
		strlist_clear(&names);
		return;
	}
	e = push_entry(w->out);
	scan_entry_from_stat(e, st, dirfd, name);
	set_path(w, e, rel);
	if (listed < 0) {
		report_unreadable(w, rel, failure);
		close(fd);
	} else {
		walk_dir(w, fd, e->path, &names);
	}
	strlist_clear(&names);
}

/* Handles one name inside a folder: stat, exclude, record, descend. */
static void visit(struct walk *w, int dirfd, const char *rel_dir,
		  const char *name)
{
	char *rel = path_join(rel_dir, name);
	struct stat st;
	struct tree_entry *e;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT) /* vanished since readdir: not an error */
			report_unreadable(w, rel, errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) &&
	    !S_ISLNK(st.st_mode)) {
		if (!exclude_set_excludes(w->opts->excludes, rel, false) &&
		    w->opts->report.special)
			w->opts->report.special(w->opts->report.ctx, rel,
						scan_special_kind(st.st_mode));
		goto out;
	}
	if (exclude_set_excludes(w->opts->excludes, rel, S_ISDIR(st.st_mode)))
		goto out;
	if (S_ISDIR(st.st_mode) && is_skipped_dir(w, &st))
		goto out;
	if (S_ISDIR(st.st_mode)) {
		visit_dir(w, dirfd, name, rel, &st);
		goto out;
	}
	e = push_entry(w->out);
	if (scan_entry_from_stat(e, &st, dirfd, name) < 0) {
		w->out->tree.len--;
		report_unreadable(w, rel, errno);
		goto out;
	}
	set_path(w, e, rel);
out:
	free(rel);
}

/* Walks one folder, whose sorted names are `names`; takes ownership of
 * dirfd. `rel` is "" for the root. Note: the tree's entries may move while
 * we recurse, so only `rel` (in the tree's path storage, which never
 * moves) is kept. */
static void walk_dir(struct walk *w, int dirfd, const char *rel,
		     const struct strlist *names)
{
	size_t mark = exclude_set_mark(w->opts->excludes);

	if (strlist_has_sorted(names, IGNORE_FILE))
		load_ignore_file(w, dirfd, rel);
	for (size_t i = 0; i < names->len; i++)
		visit(w, dirfd, rel, names->items[i]);
	exclude_set_truncate(w->opts->excludes, mark);
	close(dirfd);
}

int scan_tree(const struct scan_options *opts, struct scan_result *out,
	      struct error *err)
{
	struct walk w = { .opts = opts, .out = out };
	struct strlist names = {0};
	struct stat st;
	int fd = open(opts->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return error_set(err, "cannot open source '%s': %s",
				 opts->root, strerror(errno));
	if (fstat(fd, &st) < 0) {
		close(fd);
		return error_set(err, "cannot stat source '%s': %s",
				 opts->root, strerror(errno));
	}
	w.root_dev = st.st_dev;
	if (list_dir(fd, &names) < 0) {
		report_unreadable(&w, ".", errno);
		close(fd);
	} else {
		walk_dir(&w, fd, "", &names);
	}
	strlist_clear(&names);
	tree_sort(&out->tree);
	return 0;
}

void scan_result_release(struct scan_result *res)
{
	tree_release(&res->tree);
	strlist_clear(&res->failed_dirs);
	memset(res, 0, sizeof(*res));
}
