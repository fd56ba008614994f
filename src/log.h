/* Messages to the user, the operations log, and progress on a terminal.
 * Used by the command layer; the core reports through callbacks instead. */
#ifndef INCBAK_LOG_H
#define INCBAK_LOG_H

#include <stdbool.h>
#include <stdint.h>

struct error;

/* "incbak: MESSAGE" on stderr. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A copy of text, malloc'ed, safe to print to a terminal or a log: control
 * characters (newline and ESC among them) and C1 controls are written as
 * \n, \r, \t or \xHH, so a file name cannot forge a line or drive the
 * terminal. Messages on stderr and log lines go through it; JSON output
 * needs it not (cJSON escapes). */
char *log_escape(const char *text);

/* Whether the operations log at path may be appended to: 0 if it does not
 * exist, is a FIFO, or begins with incbak's header line; with legacy_ok
 * (the destination's default log when it holds backups), also a file
 * without the header that the user owns and nobody else can read or
 * write, as incbak created it before the header. -1 otherwise, err
 * naming the file. */
int log_check(const char *path, bool legacy_ok, struct error *err);

/* Appends one line (escaped, a newline added) to the operations log at
 * path: a new log is created 0600 starting with the header line; an
 * existing one must pass log_check's rules. */
int log_append_line(const char *path, const char *line, bool legacy_ok,
		    struct error *err);

/* A one-line progress display on stderr, shown only when stderr is a
 * terminal and enabled is true. */
struct progress {
	bool enabled;
	bool shown;
	int64_t last_draw_ms;
};

void progress_init(struct progress *p, bool enabled);
void progress_update(struct progress *p, int64_t now_ms, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Erases the line, so messages after it start clean. */
void progress_clear(struct progress *p);

/* "1.5 MiB" style sizes. */
void log_format_size(uint64_t bytes, char *out, int len);

#endif
