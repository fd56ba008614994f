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

/* Appends one line (a newline is added) to the operations log at path,
 * creating it 0600. */
int log_append_line(const char *path, const char *line, struct error *err);

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
