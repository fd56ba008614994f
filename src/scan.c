/* Walks the source tree with openat/getdents64/fstatat relative to folder
 * descriptors: no symlink is ever followed, and paths longer than PATH_MAX
 * in total still work because every call names one component. A folder's
 * names are listed before anything else is done there, so the files that
 * steer the walk (CACHEDIR.TAG, .incbakignore, markers) are opened only
 * where the listing has them: a run with nothing changed makes about a
 * third fewer system calls than when it tried each in every folder.
 * Several threads walk at once, each taking whole folders (see share_dir);
 * what they find is merged, sorted and reported once they are done. */
#include "scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attrs.h"
#include "exclude.h"
#include "faultpoint.h"
#include "fsutil.h"
#include "threads.h"
#include "util.h"

#define IGNORE_FILE ".incbakignore"
#define IGNORE_FILE_MAX (1 << 20)
#define LIST_BUF_SIZE 32768

/* What the walk has to tell, kept until it is over and then told in path
 * order, whichever thread came across it. */
struct report_line {
	char *path;
	const char *text;   /* the special's kind, or a reason */
	int errnum;         /* the reason, when not 0 */
	bool special;
};

/* A folder found by one thread, opened, and left for whichever thread is
 * free: it lists it, records it and walks below it. */
struct scan_task {
	int fd;
	char *rel;
	struct stat st;
	const struct exclude_set *patterns; /* in force where it was found */
};

/* The state the walking threads share. */
struct walk_shared {
	const struct scan_options *opts;
	dev_t root_dev;
	int nthreads;
	size_t max_queued;          /* folders left waiting at most */
	pthread_mutex_t mu;
	pthread_cond_t wake;        /* a task was queued, or the walk is over */
	struct scan_task *tasks;    /* a stack */
	size_t ntasks, tasks_alloc;
	atomic_size_t queued;       /* ntasks, read without the lock */
	int idle;
	bool over;
	struct exclude_set **copies; /* the patterns tasks took along */
	size_t ncopies, copies_alloc;
};

/* One walking thread. */
struct walk {
	struct walk_shared *sh;
	const struct scan_options *opts;
	struct scan_result out;
	struct exclude_set *patterns;       /* its own, pushed and popped */
	const struct exclude_set *base;     /* what patterns started from */
	struct report_line *lines;
	size_t nlines, lines_alloc;
	pthread_t thread;
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

/* Opens one of the files that steer the walk, in the folder dirfd; -1
 * with errno set, EINVAL if it is not a regular file. Opening a FIFO does
 * not wait for a writer (the run would hang, deaf to SIGTERM), and no
 * device is read. */
static int open_control_file(int dirfd, const char *name)
{
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
				     O_NONBLOCK | O_NOCTTY);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

static bool has_cachedir_tag(int dirfd)
{
	char head[sizeof(SCAN_CACHEDIR_SIGNATURE) - 1];
	int fd = open_control_file(dirfd, SCAN_CACHEDIR_TAG);
	bool tagged;

	if (fd < 0)
		return false;
	tagged = read(fd, head, sizeof(head)) == (ssize_t)sizeof(head) &&
		 memcmp(head, SCAN_CACHEDIR_SIGNATURE, sizeof(head)) == 0;
	close(fd);
	return tagged;
}

/* True if the folder dirfd, whose sorted names are `names`, asks to be left
 * out (CACHEDIR.TAG or a marker). */
static bool dir_opts_out(const struct scan_options *opts, int dirfd,
			 const struct strlist *names)
{
	if (strlist_has_sorted(names, SCAN_CACHEDIR_TAG) &&
	    has_cachedir_tag(dirfd))
		return true;
	if (!opts->exclude_if_present)
		return false;
	for (size_t i = 0; i < opts->exclude_if_present->len; i++)
		if (strlist_has_sorted(names,
				       opts->exclude_if_present->items[i]))
			return true;
	return false;
}

static void add_line(struct walk *w, const char *rel, bool special,
		     const char *text, int errnum)
{
	struct report_line *l;

	grow_array((void **)&w->lines, &w->lines_alloc, w->nlines + 1,
		   sizeof(*w->lines));
	l = &w->lines[w->nlines++];
	l->path = xstrdup(*rel ? rel : ".");
	l->text = text;
	l->errnum = errnum;
	l->special = special;
}

static void load_ignore_file(struct walk *w, int dirfd, const char *rel)
{
	struct buf text = {0};
	int fd = open_control_file(dirfd, IGNORE_FILE);

	if (fd < 0) {
		if (errno == EINVAL)
			add_line(w, rel, false,
				 ".incbakignore is not a regular file", 0);
		return;
	}
	if (fs_read_fd(fd, &text, IGNORE_FILE_MAX) == 0 && text.len)
		exclude_set_add_lines(w->patterns, text.data, text.len, rel);
	else if (errno)
		add_line(w, rel, false, "cannot read .incbakignore", 0);
	close(fd);
	buf_release(&text);
}

static void report_unreadable(struct walk *w, const char *rel, int errnum)
{
	strlist_push(&w->out.failed_dirs, rel);
	add_line(w, rel, false, NULL, errnum);
}

static void walk_dir(struct walk *w, int dirfd, const char *rel,
		     const struct strlist *names);

static bool is_skipped_dir(const struct walk *w, const struct stat *st)
{
	const struct scan_options *o = w->opts;

	if (o->skip_dir_valid && st->st_dev == o->skip_dev &&
	    st->st_ino == o->skip_ino)
		return true;
	return o->one_file_system && st->st_dev != w->sh->root_dev;
}

/* Also reads e's extended attributes and ACLs, if asked for: by the path
 * from the root, as there is no llistxattr relative to a folder's fd. */
static void set_path(struct walk *w, struct tree_entry *e, const char *rel)
{
	const struct attrs_options *ao = &w->opts->attrs;
	char *full;
	int errnum;

	e->path = tree_store_path(&w->out.tree, rel);
	e->path_stored = true;
	if (!ao->xattrs && !ao->acls)
		return;
	full = *rel ? path_join(w->opts->root, rel) : xstrdup(w->opts->root);
	e->attrs = attrs_read(full, ao, &errnum);
	if (errnum && errnum != ENOENT) /* a warning: the rest is kept */
		add_line(w, rel, false, NULL, errnum);
	free(full);
}

/* Lists the folder fd (at rel), records it and walks it, unless it asks
 * to be left out. One that cannot be listed is recorded, and reported. */
static void enter_dir(struct walk *w, int fd, const char *rel,
		      const struct stat *st)
{
	struct strlist names = {0};
	struct tree_entry *e;
	int listed = list_dir(fd, &names), failure = errno;

	if (listed == 0 && dir_opts_out(w->opts, fd, &names)) {
		close(fd);
		strlist_clear(&names);
		return;
	}
	e = push_entry(&w->out);
	scan_entry_from_stat(e, st, fd, "");
	set_path(w, e, rel);
	if (listed < 0) {
		report_unreadable(w, rel, failure);
		close(fd);
	} else {
		walk_dir(w, fd, e->path, &names);
	}
	strlist_clear(&names);
}

/* The patterns a task found here takes along: the ones this thread started
 * from, unless a .incbakignore on the way down added some. */
static const struct exclude_set *patterns_to_share(struct walk *w)
{
	struct walk_shared *sh = w->sh;
	struct exclude_set *copy;

	if (exclude_set_mark(w->patterns) == exclude_set_mark(w->base))
		return w->base;
	copy = exclude_set_copy(w->patterns);
	pthread_mutex_lock(&sh->mu);
	grow_array((void **)&sh->copies, &sh->copies_alloc, sh->ncopies + 1,
		   sizeof(*sh->copies));
	sh->copies[sh->ncopies++] = copy;
	pthread_mutex_unlock(&sh->mu);
	return copy;
}

/* Leaves the folder for whichever thread comes free next, unless as many
 * wait already as there are other threads: one is then ready the moment a
 * thread runs out, and the fds held by waiting folders stay few. (Queueing
 * only once a thread had run out was slower.) */
static bool share_dir(struct walk *w, int fd, const char *rel,
		      const struct stat *st)
{
	struct walk_shared *sh = w->sh;
	struct scan_task t = { fd, NULL, *st, NULL };

	if (atomic_load(&sh->queued) >= sh->max_queued)
		return false;
	t.rel = xstrdup(rel);
	t.patterns = patterns_to_share(w);
	pthread_mutex_lock(&sh->mu);
	grow_array((void **)&sh->tasks, &sh->tasks_alloc, sh->ntasks + 1,
		   sizeof(*sh->tasks));
	sh->tasks[sh->ntasks++] = t;
	atomic_store(&sh->queued, sh->ntasks);
	pthread_cond_signal(&sh->wake);
	pthread_mutex_unlock(&sh->mu);
	return true;
}

/* Records the folder `name` (at rel) and walks it, here or on another
 * thread. */
static void visit_dir(struct walk *w, int dirfd, const char *name,
		      const char *rel, const struct stat *st)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			O_CLOEXEC);

	if (fd < 0) {
		report_unreadable(w, rel, errno);
		return;
	}
	if (!share_dir(w, fd, rel, st))
		enter_dir(w, fd, rel, st);
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
		if (!exclude_set_excludes(w->patterns, rel, false))
			add_line(w, rel, true, scan_special_kind(st.st_mode),
				 0);
		goto out;
	}
	if (exclude_set_excludes(w->patterns, rel, S_ISDIR(st.st_mode)))
		goto out;
	if (S_ISDIR(st.st_mode) && is_skipped_dir(w, &st))
		goto out;
	if (S_ISDIR(st.st_mode)) {
		visit_dir(w, dirfd, name, rel, &st);
		goto out;
	}
	e = push_entry(&w->out);
	if (scan_entry_from_stat(e, &st, dirfd, name) < 0) {
		w->out.tree.len--;
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
	size_t mark = exclude_set_mark(w->patterns);

	fault_point("scan:dir");
	if (strlist_has_sorted(names, IGNORE_FILE))
		load_ignore_file(w, dirfd, rel);
	/* Ctrl-C or SIGTERM ends the walk now, not once the whole tree (a
	 * million files, a network file system) is listed. */
	for (size_t i = 0; i < names->len && !incbak_interrupted; i++)
		visit(w, dirfd, rel, names->items[i]);
	exclude_set_truncate(w->patterns, mark);
	close(dirfd);
}

/* Starts this thread on a task's patterns. */
static void take_patterns(struct walk *w, const struct exclude_set *p)
{
	exclude_set_free(w->patterns);
	w->patterns = exclude_set_copy(p);
	w->base = p;
}

/* Takes queued folders until none is left and every thread waits. */
static void work(struct walk *w)
{
	struct walk_shared *sh = w->sh;

	pthread_mutex_lock(&sh->mu);
	for (;;) {
		struct scan_task t;

		if (sh->ntasks == 0) {
			if (sh->over)
				break;
			if (++sh->idle == sh->nthreads) {
				sh->over = true;
				pthread_cond_broadcast(&sh->wake);
				break;
			}
			pthread_cond_wait(&sh->wake, &sh->mu);
			sh->idle--;
			continue;
		}
		t = sh->tasks[--sh->ntasks];
		atomic_store(&sh->queued, sh->ntasks);
		pthread_mutex_unlock(&sh->mu);
		take_patterns(w, t.patterns);
		if (incbak_interrupted)
			close(t.fd);
		else
			enter_dir(w, t.fd, t.rel, &t.st);
		free(t.rel);
		pthread_mutex_lock(&sh->mu);
	}
	pthread_mutex_unlock(&sh->mu);
}

static void *helper_main(void *arg)
{
	work(arg);
	return NULL;
}

/* Each thread walks whole folders (it lists, stats, excludes, records) and
 * leaves some for the others: the walk is system calls on cached
 * metadata, which two cores do in about half the time. Past four the
 * kernel's own locks would take over. */
#define WALK_THREADS_MAX 4

/* One helper that cannot be started is one thread less. */
static void start_helpers(struct walk_shared *sh, struct walk *ws, int n)
{
	int started = 1;

	sh->nthreads = n;
	for (int i = 1; i < n; i++) {
		if (threads_start(&ws[i].thread, helper_main, &ws[i]) < 0)
			break;
		started++;
	}
	pthread_mutex_lock(&sh->mu);
	sh->nthreads = started;
	pthread_mutex_unlock(&sh->mu);
}

static int cmp_lines(const void *a, const void *b)
{
	const struct report_line *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : (int)x->special - (int)y->special;
}

/* Gathers every thread's results into out, and tells what they found in
 * path order, as one thread walking alone would have. */
static void gather(struct walk *ws, int n, struct scan_result *out,
		   const struct scan_report *report)
{
	struct report_line *lines = NULL;
	size_t nlines = 0, alloc = 0;
	int largest = 0;

	/* The largest tree first, moved rather than copied (tree_absorb). */
	for (int i = 1; i < n; i++)
		if (ws[i].out.tree.len > ws[largest].out.tree.len)
			largest = i;
	tree_absorb(&out->tree, &ws[largest].out.tree);
	for (int i = 0; i < n; i++) {
		struct walk *w = &ws[i];

		tree_absorb(&out->tree, &w->out.tree);
		for (size_t j = 0; j < w->out.failed_dirs.len; j++)
			strlist_push_owned(&out->failed_dirs,
					   w->out.failed_dirs.items[j]);
		free(w->out.failed_dirs.items);
		grow_array((void **)&lines, &alloc, nlines + w->nlines,
			   sizeof(*lines));
		if (w->nlines)
			memcpy(lines + nlines, w->lines,
			       w->nlines * sizeof(*lines));
		nlines += w->nlines;
		free(w->lines);
		exclude_set_free(w->patterns);
	}
	tree_sort(&out->tree);
	strlist_sort(&out->failed_dirs);
	if (nlines > 1)
		qsort(lines, nlines, sizeof(*lines), cmp_lines);
	for (size_t i = 0; i < nlines; i++) {
		struct report_line *l = &lines[i];

		if (l->special && report->special)
			report->special(report->ctx, l->path, l->text);
		else if (!l->special && report->unreadable)
			report->unreadable(report->ctx, l->path,
					   l->errnum ? strerror(l->errnum)
						     : l->text);
		free(l->path);
	}
	free(lines);
}

static void walk_root(struct walk *w, int fd)
{
	struct strlist names = {0};

	if (list_dir(fd, &names) < 0) {
		report_unreadable(w, ".", errno);
		close(fd);
	} else {
		walk_dir(w, fd, "", &names);
	}
	strlist_clear(&names);
}

int scan_tree(const struct scan_options *opts, struct scan_result *out,
	      struct error *err)
{
	struct walk_shared sh = { .opts = opts };
	struct walk *ws;
	struct stat st;
	int wanted, fd = opts->have_root_fd
			 ? fcntl(opts->root_fd, F_DUPFD_CLOEXEC, 0)
			 : open(opts->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return error_set(err, "cannot open source '%s': %s",
				 opts->root, strerror(errno));
	if (fstat(fd, &st) < 0) {
		close(fd);
		return error_set(err, "cannot stat source '%s': %s",
				 opts->root, strerror(errno));
	}
	sh.root_dev = st.st_dev;
	pthread_mutex_init(&sh.mu, NULL);
	pthread_cond_init(&sh.wake, NULL);
	wanted = threads_count(opts->threads, WALK_THREADS_MAX);
	sh.max_queued = (size_t)wanted - 1;
	ws = xcalloc((size_t)wanted, sizeof(*ws));
	for (int i = 0; i < wanted; i++) {
		ws[i].sh = &sh;
		ws[i].opts = opts;
		take_patterns(&ws[i], opts->excludes);
	}
	start_helpers(&sh, ws, wanted);
	walk_root(&ws[0], fd);
	work(&ws[0]);
	for (int i = 1; i < sh.nthreads; i++)
		pthread_join(ws[i].thread, NULL);
	gather(ws, sh.nthreads, out, &opts->report);
	for (int i = sh.nthreads; i < wanted; i++)
		exclude_set_free(ws[i].patterns);
	free(ws);
	for (size_t i = 0; i < sh.ncopies; i++)
		exclude_set_free(sh.copies[i]);
	free(sh.copies);
	free(sh.tasks);
	pthread_cond_destroy(&sh.wake);
	pthread_mutex_destroy(&sh.mu);
	if (incbak_interrupted) {
		scan_result_release(out);
		return error_set(err, "interrupted");
	}
	return 0;
}

void scan_result_release(struct scan_result *res)
{
	tree_release(&res->tree);
	strlist_clear(&res->failed_dirs);
	memset(res, 0, sizeof(*res));
}
