/* Messages, the operations log and the terminal progress line. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "util.h"

/* A C1 control (U+0080..U+009F) in UTF-8: some terminals obey them. */
static bool is_c1(const unsigned char *p)
{
	return p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
}

char *log_escape(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	/* at most 4 bytes out for each byte in */
	char *out = xmalloc(4 * strlen(text) + 1), *o = out;

	for (; *p; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t') {
			*o++ = '\\';
			*o++ = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
		} else if (*p < 0x20 || *p == 0x7f) {
			o += sprintf(o, "\\x%02x", *p);
		} else if (is_c1(p)) {
			o += sprintf(o, "\\x%02x", *p);
			o += sprintf(o, "\\x%02x", *++p);
		} else {
			*o++ = (char)*p;
		}
	}
	*o = '\0';
	return out;
}

static void vmessage(const char *kind, const char *fmt, va_list ap)
{
	char *msg = str_vfmt(fmt, ap);
	char *clean = log_escape(msg);

	fprintf(stderr, "incbak: %s%s\n", kind ? kind : "", clean);
	free(clean);
	free(msg);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(NULL, fmt, ap);
	va_end(ap);
}

void log_warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage("warning: ", fmt, ap);
	va_end(ap);
}

/* A log incbak did not start (a ~/.bashrc named by someone else's
 * incbak.ini) is never written to: it must begin with this line. */
static const char log_header[] = "# incbak operations log: one line per run";

/* Whether the regular file fd is a log incbak may append to: it starts
 * with the header, or legacy_ok (the default log of a destination with
 * backups, from before the header) and it is ours and private, as incbak
 * always created it. */
static int check_own_log(int fd, const char *path, bool legacy_ok,
			 struct error *err)
{
	char head[sizeof(log_header)];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return error_set(err, "cannot stat log '%s': %s", path,
				 strerror(errno));
	if (S_ISFIFO(st.st_mode))
		return 0;
	if (!S_ISREG(st.st_mode))
		return error_set(err, "refusing log '%s': not a file", path);
	n = pread(fd, head, sizeof(head), 0);
	if (n == (ssize_t)sizeof(head) &&
	    !memcmp(head, log_header, sizeof(head) - 1) &&
	    head[sizeof(head) - 1] == '\n')
		return 0;
	if (legacy_ok && st.st_uid == geteuid() && !(st.st_mode & 077))
		return 0;
	return error_set(err, "refusing log '%s': not an incbak operations "
			 "log (its first line is not '%s'); set log_file to "
			 "a new file, or remove this one", path, log_header);
}

static int open_error(const char *path, struct error *err)
{
	if (errno == ELOOP)
		return error_set(err, "refusing log '%s': it is a symlink",
				 path);
	return error_set(err, "cannot open log '%s': %s", path,
			 strerror(errno));
}

int log_check(const char *path, bool legacy_ok, struct error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
		      O_NOCTTY);
	int rc;

	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return open_error(path, err);
	rc = check_own_log(fd, path, legacy_ok, err);
	close(fd);
	return rc;
}

/* Opens the existing log at path to append to it, once check_own_log
 * agrees. Not waiting for a reader, should the log be a FIFO: one that is
 * read takes the line, one that is not is an error (ENXIO). The header is
 * read through a second descriptor (opening a FIFO to read as well would
 * end its reader's input), checked to be the same file. */
static int open_existing(const char *path, bool legacy_ok, struct error *err)
{
	const int flags = O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
	struct stat st, rst;
	int fd = open(path, O_WRONLY | O_APPEND | flags), rfd = -1;
	int rc = -1;

	if (fd < 0 && errno == ENXIO)
		return error_set(err, "cannot open log '%s': not a file, and "
				 "nothing reads it", path);
	if (fd < 0)
		return open_error(path, err);
	if (fstat(fd, &st) < 0) {
		error_set(err, "cannot stat log '%s': %s", path,
			  strerror(errno));
		goto out;
	}
	if (S_ISFIFO(st.st_mode)) {
		rc = 0;
		goto out;
	}
	rfd = open(path, O_RDONLY | flags);
	if (rfd < 0 || fstat(rfd, &rst) < 0 || rst.st_dev != st.st_dev ||
	    rst.st_ino != st.st_ino) {
		error_set(err, "refusing log '%s': it changed while it was "
			  "opened", path);
		goto out;
	}
	rc = check_own_log(rfd, path, legacy_ok, err);
out:
	if (rfd >= 0)
		close(rfd);
	if (rc < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int log_append_line(const char *path, const char *line, bool legacy_ok,
		    struct error *err)
{
	char *clean = log_escape(line);
	char *text = NULL;
	int fd, rc = -1;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC |
		  O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd >= 0) {
		text = str_fmt("%s\n%s\n", log_header, clean);
	} else if (errno == EEXIST) {
		fd = open_existing(path, legacy_ok, err);
		text = str_fmt("%s\n", clean);
	} else {
		open_error(path, err);
	}
	if (fd < 0)
		goto out;
	/* One write() per line: O_APPEND keeps concurrent lines whole. */
	if (fs_write_all(fd, text, strlen(text)) < 0) {
		error_set(err, "cannot write log '%s': %s", path,
			  strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(text);
	free(clean);
	return rc;
}

void progress_init(struct progress *p, bool enabled)
{
	p->enabled = enabled && isatty(STDERR_FILENO);
	p->shown = false;
	p->last_draw_ms = 0;
}

void progress_update(struct progress *p, int64_t now_ms, const char *fmt, ...)
{
	char *msg, *clean;
	va_list ap;

	/* Redrawing more than ~10 times a second costs more than it shows. */
	if (!p->enabled || now_ms - p->last_draw_ms < 100)
		return;
	p->last_draw_ms = now_ms;
	va_start(ap, fmt);
	msg = str_vfmt(fmt, ap);
	va_end(ap);
	clean = log_escape(msg);
	fprintf(stderr, "\r\033[K%s", clean);
	free(clean);
	free(msg);
	fflush(stderr);
	p->shown = true;
}

void progress_clear(struct progress *p)
{
	if (p->shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	p->shown = false;
}

void log_format_size(uint64_t bytes, char *out, int len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, (size_t)len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(out, (size_t)len, "%.1f %s", v, units[u]);
}
