/* The destination lock, held with flock(2) for a whole run. */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "util.h"

struct lock {
	int fd;
};

/* Whether pid names a process that has ended on this host: then the lock
 * file still holds an earlier run's pid, and whoever holds the lock now
 * (a run that has not written its own yet, or a process that inherited
 * the descriptor) cannot be named. */
static bool holder_ended(const char *pid, const char *host,
			 const char *our_host)
{
	char *end;
	long n = strtol(pid, &end, 10);

	if (*end || n <= 0 || !our_host || strcmp(host, our_host))
		return false;
	return kill((pid_t)n, 0) < 0 && errno == ESRCH;
}

static int describe_holder(int fd, const char *path, const char *our_host,
			   struct error *err)
{
	/* If a shared lock can be had, only readers hold it. */
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		flock(fd, LOCK_UN);
		error_set(err, "a restore or verify is reading the backups "
			  "(it holds %s); try again when it ends", path);
		return STATUS_BUSY;
	}
	char text[512] = "";
	char pid[32] = "?", host[256] = "?", started[64] = "?";
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);

	if (n > 0) {
		text[n] = '\0';
		sscanf(text, "pid %31s\nhost %255s\nstarted %63s", pid, host,
		       started);
	}
	if (!strcmp(pid, "?"))
		error_set(err, "another process holds %s; which one cannot "
			  "be known (the file names no holder)", path);
	else if (holder_ended(pid, host, our_host))
		error_set(err, "another process holds %s; which one cannot "
			  "be known (the pid it names, %s, started %s, has "
			  "ended)", path, pid, started);
	else
		error_set(err, "another run (pid %s on %s, started %s) holds "
			  "%s", pid, host, started, path);
	return STATUS_BUSY;
}

static int record_holder(int fd, const char *path, const char *host,
			 int64_t now, struct error *err)
{
	char started[64];
	char *text;
	int rc = 0;

	format_iso_utc(now, started, sizeof(started));
	text = str_fmt("pid %ld\nhost %s\nstarted %s\n", (long)getpid(), host,
		       started);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, text, strlen(text), 0) < 0)
		rc = error_set(err, "cannot write '%s': %s", path,
			       strerror(errno));
	free(text);
	return rc;
}

int lock_acquire(const char *dest, enum lock_mode mode, const char *host,
		 int64_t now, struct lock **out, struct error *err)
{
	char *path = path_join(dest, LOCK_FILE_NAME);
	int op = (mode == LOCK_EXCLUSIVE ? LOCK_EX : LOCK_SH) | LOCK_NB;
	struct stat st;
	int fd, rc = -1;

	/* O_NONBLOCK: a FIFO in the lock file's place is refused below,
	 * not waited on. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
		  0600);
	/* A reader on a read-only destination locks what is there; with no
	 * lock file at all on one, nobody can be writing. */
	if (fd < 0 && mode == LOCK_SHARED &&
	    (errno == EACCES || errno == EROFS || errno == EPERM)) {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0 && errno == ENOENT) {
			*out = xmalloc(sizeof(**out));
			(*out)->fd = -1;
			rc = STATUS_OK;
			goto out;
		}
	}
	if (fd < 0) {
		error_set(err, "cannot open '%s': %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		error_set(err, "cannot lock '%s': not a regular file", path);
		goto out;
	}
	/* A hard link is someone else's file under the lock's name: the
	 * holder's pid and host are not written into it. */
	if (st.st_nlink != 1) {
		error_set(err, "cannot lock '%s': it has %ju links, a lock file "
			  "has one", path, (uintmax_t)st.st_nlink);
		goto out;
	}
	while (flock(fd, op) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			rc = describe_holder(fd, path, host, err);
		else
			error_set(err, "cannot lock '%s': %s", path,
				  strerror(errno));
		goto out;
	}
	if (mode == LOCK_EXCLUSIVE)
		fchmod(fd, 0600);
	if (mode == LOCK_EXCLUSIVE &&
	    record_holder(fd, path, host, now, err) < 0)
		goto out;
	*out = xmalloc(sizeof(**out));
	(*out)->fd = fd;
	fd = -1;
	rc = STATUS_OK;
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

void lock_release(struct lock *lock)
{
	if (!lock)
		return;
	if (lock->fd >= 0)
		close(lock->fd);
	free(lock);
}
