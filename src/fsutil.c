/* File-system helpers. Every durable write in incbak goes through
 * fs_temp_open + fs_commit_temp so a crash never leaves a half file under a
 * real name. */
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "faultpoint.h"
#include "util.h"

void fs_release_mapped(const char *from, const char *to)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = ((uintptr_t)from + page - 1) & ~(page - 1);
	uintptr_t b = (uintptr_t)to & ~(page - 1);

	if (b > a)
		madvise((void *)a, b - a, MADV_DONTNEED);
}

int fs_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Opens path below dirfd one component at a time, none of them followed
 * if it is a symlink: for kernels without openat2(2) (before 5.6) or
 * where a sandbox forbids it. */
static int open_by_components(int dirfd, const char *path, int flags)
{
	const int dir_flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	int at = dirfd, fd = -1, saved;
	char *copy = xstrdup(path), *name = copy, *slash;

	while ((slash = strchr(name, '/')) != NULL) {
		*slash = '\0';
		if (!strcmp(name, "..")) {
			errno = EXDEV;
			goto out;
		}
		if (*name && strcmp(name, ".")) {
			fd = openat(at, name, dir_flags);
			if (fd < 0)
				goto out;
			if (at != dirfd)
				close(at);
			at = fd;
			fd = -1;
		}
		name = slash + 1;
	}
	if (!strcmp(name, ".."))
		errno = EXDEV;
	else
		fd = openat(at, name, flags);
out:
	saved = errno;
	if (at != dirfd)
		close(at);
	free(copy);
	errno = saved;
	return fd;
}

/* Opens path below dirfd without following a symlink in any component:
 * a folder of the source swapped for a symlink after the scan must not
 * lead the read elsewhere (openat2's RESOLVE_BENEATH, where the kernel
 * has it). */
static int open_beneath(int dirfd, const char *path, int flags)
{
#ifdef SYS_openat2
	struct open_how how = {
		.flags = (uint64_t)flags,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			   RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

	if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
		return fd;
	/* EPERM: a seccomp filter, or O_NOATIME on another user's file,
	 * which the caller retries without it. */
	if (errno == EPERM && (flags & O_NOATIME))
		return fd;
#endif
	return open_by_components(dirfd, path, flags);
}

int fs_open_source(int dirfd, const char *path, int flags)
{
	int fd;

	flags |= O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
	fd = open_beneath(dirfd, path, flags | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open_beneath(dirfd, path, flags);
	return fd;
}

#define WRITEBACK_STEP ((uint64_t)8 << 20)

void fs_writeback_advance(struct fs_writeback *wb, uint64_t len)
{
	wb->written += len;
	if (wb->written - wb->sent < WRITEBACK_STEP)
		return;
	sync_file_range(wb->fd, (off_t)wb->sent, (off_t)(wb->written - wb->sent),
			SYNC_FILE_RANGE_WRITE);
	wb->sent = wb->written;
}

static int copy_by_reading(int from_fd, int to_fd, off_t at, uint64_t len)
{
	char buf[1 << 16];

	while (len) {
		size_t want = len < sizeof(buf) ? (size_t)len : sizeof(buf);
		ssize_t n = pread(from_fd, buf, want, at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		if (fs_write_all(to_fd, buf, (size_t)n) < 0)
			return -1;
		at += n;
		len -= (uint64_t)n;
	}
	return 0;
}

int fs_copy_range(int from_fd, uint64_t from, int to_fd, uint64_t len)
{
	off_t at = (off_t)from;

	while (len) {
		size_t want = len < ((size_t)1 << 30) ? (size_t)len
						       : (size_t)1 << 30;
		ssize_t n = copy_file_range(from_fd, &at, to_fd, NULL, want,
					    0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EXDEV || errno == ENOSYS ||
			      errno == EINVAL || errno == EOPNOTSUPP))
			return copy_by_reading(from_fd, to_fd, at, len);
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		len -= (uint64_t)n;
	}
	return 0;
}

int fs_read_fd(int fd, struct buf *out, size_t max)
{
	char chunk[65536];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return 0;
		if (out->len + (size_t)n > max) {
			errno = EFBIG;
			return -1;
		}
		buf_append(out, chunk, (size_t)n);
	}
}

ssize_t fs_read_noting_cache(int fd, void *buf, size_t len, bool *missed)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	ssize_t n;

	if (!*missed && fault_cached(fd) >= 0) {
		*missed = !fault_cached(fd);
		return read(fd, buf, len);
	}
	if (!*missed) {
		/* Offset -1: at and advancing the file position, like read. */
		n = preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
		if (n >= 0 || (errno != EAGAIN && errno != EOPNOTSUPP &&
			       errno != EINVAL && errno != ENOSYS))
			return n;
		*missed = true;
	}
	return read(fd, buf, len);
}

int fs_read_fd_noting_cache(int fd, struct buf *out, size_t max,
			    bool *missed)
{
	for (;;) {
		ssize_t n;

		/* Room for one byte past max, to tell "too large". */
		grow_array((void **)&out->data, &out->alloc, out->len + 65537,
			   1);
		n = fs_read_noting_cache(fd, out->data + out->len,
					 out->alloc - out->len - 1, missed);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		if (out->len > max) {
			errno = EFBIG;
			return -1;
		}
	}
	out->data[out->len] = '\0';
	return 0;
}

int fs_check_regular(const char *path, struct error *err)
{
	struct stat st;

	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return error_set(err, "cannot read '%s': not a regular file",
				 path);
	return 0;
}

int fs_read_file(const char *path, struct buf *out, size_t max,
		 struct error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return error_set(err, "cannot open '%s': %s", path,
				 strerror(errno));
	if (fs_read_fd(fd, out, max) < 0)
		rc = error_set(err, "cannot read '%s': %s", path,
			       errno == EFBIG ? "file too large"
					      : strerror(errno));
	close(fd);
	return rc;
}

/* 16 hex digits from the kernel's random source: a name nobody can
 * plant a file or a symlink at in advance. */
static void random_suffix(char out[17])
{
	uint8_t bytes[8];
	size_t got = 0;

	while (got < sizeof(bytes)) {
		ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);

		if (n < 0 && errno != EINTR)
			abort(); /* only before the pool is ready, at boot */
		if (n > 0)
			got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(bytes); i++)
		snprintf(out + 2 * i, 3, "%02x", bytes[i]);
}

int fs_temp_open(const char *dir, const char *tag, mode_t mode,
		 char **tmp_path, struct error *err)
{
	char suffix[17], *name, *path = NULL;
	int fd = -1;

	/* O_EXCL: an existing file at the name (someone's, planted) is an
	 * error, never opened; a fresh random name is tried a few times. */
	for (int tries = 0; fd < 0 && tries < 8; tries++) {
		random_suffix(suffix);
		name = str_fmt("%s%s.%s", FS_TEMP_PREFIX, suffix, tag);
		free(path);
		path = path_join(dir, name);
		free(name);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
				O_NOFOLLOW, mode);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		error_set(err, "cannot create '%s': %s", path, strerror(errno));
		free(path);
		return -1;
	}
	/* open() applies the umask; the destination's files must not be
	 * readable by others whatever the umask says. */
	if (fchmod(fd, mode) < 0) {
		error_set(err, "cannot chmod '%s': %s", path, strerror(errno));
		close(fd);
		unlink(path);
		free(path);
		return -1;
	}
	*tmp_path = path;
	return fd;
}

int fs_commit_temp(int fd, const char *tmp_path, const char *final_path,
		   struct error *err)
{
	char *dir = NULL;
	int rc = -1;

	fault_point("commit:before-fsync");
	if (fsync(fd) < 0) {
		error_set(err, "cannot write '%s': %s", final_path,
			  strerror(errno));
		close(fd);
		goto out;
	}
	if (close(fd) < 0) {
		error_set(err, "cannot write '%s': %s", final_path,
			  strerror(errno));
		goto out;
	}
	fault_point("commit:before-rename");
	if (rename(tmp_path, final_path) < 0) {
		error_set(err, "cannot rename '%s' to '%s': %s", tmp_path,
			  final_path, strerror(errno));
		goto out;
	}
	fault_point("commit:after-rename");
	dir = path_dirname(final_path);
	rc = fs_fsync_dir(dir, err);
	free(dir);
	return rc;
out:
	unlink(tmp_path);
	return rc;
}

int fs_atomic_write(const char *path, const void *data, size_t len,
		    mode_t mode, struct error *err)
{
	char *dir = path_dirname(path);
	char *base = path_basename(path);
	char *tmp = NULL;
	int fd, rc = -1;

	fd = fs_temp_open(dir, base, mode, &tmp, err);
	if (fd < 0)
		goto out;
	if (fs_write_all(fd, data, len) < 0) {
		error_set(err, "cannot write '%s': %s", path, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	rc = fs_commit_temp(fd, tmp, path, err);
out:
	free(tmp);
	free(dir);
	free(base);
	return rc;
}

int fs_fsync_dir(const char *dir, struct error *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return error_set(err, "cannot open '%s': %s", dir,
				 strerror(errno));
	if (fsync(fd) < 0 && errno != EINVAL)
		rc = error_set(err, "cannot sync '%s': %s", dir,
			       strerror(errno));
	close(fd);
	return rc;
}

int fs_mkdir_p(const char *path, mode_t mode, struct error *err)
{
	char *copy = xstrdup(path);
	int rc = 0;

	for (char *p = copy + 1; ; p++) {
		bool end = *p == '\0';

		if (*p != '/' && !end)
			continue;
		*p = '\0';
		if (mkdir(copy, mode) < 0 && errno != EEXIST) {
			rc = error_set(err, "cannot create '%s': %s", copy,
				       strerror(errno));
			break;
		}
		if (end)
			break;
		*p = '/';
	}
	if (rc == 0) {
		struct stat st;

		if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			rc = error_set(err, "'%s' is not a folder", path);
	}
	free(copy);
	return rc;
}

int fs_mkdir_last(const char *path, mode_t mode, struct error *err)
{
	struct stat st;
	char *parent;

	if (mkdir(path, mode) == 0 || errno == EEXIST) {
		if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			return error_set(err, "'%s' is not a folder", path);
		return 0;
	}
	if (errno != ENOENT)
		return error_set(err, "cannot create '%s': %s", path,
				 strerror(errno));
	parent = path_dirname(path);
	error_set(err, "cannot create '%s': its parent '%s' does not exist "
		  "(is the disk mounted?)", path, parent);
	free(parent);
	return -1;
}

int fs_check_private_dir(const char *path, struct error *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return error_set(err, "cannot stat '%s': %s", path,
				 strerror(errno));
	if (!(st.st_mode & (S_IWGRP | S_IWOTH)))
		return 0;
	error_set(err, "destination '%s' is writable by %s (mode %04o): "
		  "anyone who can write there could replace the archives or "
		  "plant files incbak writes; run 'chmod go-w' on it, or give "
		  "--allow-shared-dest if the file system cannot keep "
		  "permissions (vfat)", path,
		  st.st_mode & S_IWOTH ? "others" : "its group",
		  (unsigned)(st.st_mode & 07777));
	return 1;
}

int fs_sweep_temp(const char *dir, struct error *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int removed = 0;

	if (!d)
		return error_set(err, "cannot open '%s': %s", dir,
				 strerror(errno));
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (!str_starts(de->d_name, FS_TEMP_PREFIX))
			continue;
		/* Only what this user can have made: not someone's file
		 * planted under the name. */
		if (fstatat(dirfd(d), de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || st.st_uid != geteuid())
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

/* Called once per scanned name: plain copies, no format string. */
char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *out;

	if (!*a)
		return xstrdup(b);
	while (la > 1 && a[la - 1] == '/')
		la--;
	if (la == 1 && a[0] == '/')
		la = 0;
	out = xmalloc(la + lb + 2);
	memcpy(out, a, la);
	out[la] = '/';
	memcpy(out + la + 1, b, lb + 1);
	return out;
}

char *path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

char *path_basename(const char *path)
{
	size_t len = strlen(path);
	size_t start;

	while (len > 1 && path[len - 1] == '/')
		len--;
	start = len;
	while (start > 0 && path[start - 1] != '/')
		start--;
	return xstrndup(path + start, len - start);
}

char *path_absolute(const char *path)
{
	char cwd[4096];

	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return xstrdup(path);
	return path_join(cwd, path);
}

char *path_resolve(const char *path, struct error *err)
{
	char *resolved = realpath(path, NULL);

	if (!resolved) {
		error_set(err, "cannot use '%s': %s", path, strerror(errno));
		return NULL;
	}
	return resolved;
}

bool path_is_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}
