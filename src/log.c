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

static void vmessage(const char *kind, const char *fmt, va_list ap)
{
	fputs("incbak: ", stderr);
	if (kind)
		fputs(kind, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
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

int log_append_line(const char *path, const char *line, struct error *err)
{
	/* Not waiting for a reader, should the log be a FIFO: one that is
	 * read takes the line, one that is not is an error (ENXIO). */
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
		      O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0600);
	char *text;
	int rc = 0;

	if (fd < 0 && errno == ENXIO)
		return error_set(err, "cannot open log '%s': not a file, and "
				 "nothing reads it", path);
	if (fd < 0)
		return error_set(err, "cannot open log '%s': %s", path,
				 strerror(errno));
	text = str_fmt("%s\n", line);
	/* One write() per line: O_APPEND keeps concurrent lines whole. */
	if (fs_write_all(fd, text, strlen(text)) < 0)
		rc = error_set(err, "cannot write log '%s': %s", path,
			       strerror(errno));
	free(text);
	close(fd);
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
	va_list ap;

	/* Redrawing more than ~10 times a second costs more than it shows. */
	if (!p->enabled || now_ms - p->last_draw_ms < 100)
		return;
	p->last_draw_ms = now_ms;
	fputs("\r\033[K", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
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
