/* Numbers for people: sizes in binary units, ages relative to now, and
 * counts with the right plural. Pure functions; --json prints exact
 * numbers instead. */
#ifndef INCBAK_HUMAN_H
#define INCBAK_HUMAN_H

#include <stddef.h>
#include <stdint.h>

#define HUMAN_SIZE 32

/* "0 B", "999 B", "1.0 KiB", "1.4 MiB", ... up to EiB; one decimal from
 * KiB on. */
void human_size(uint64_t bytes, char *out, size_t len);

/* How long ago `then` was at `now` (seconds): "just now" under a second,
 * then "5s ago", "3m ago", "3h ago", "2d ago", "1y ago"; "in the future"
 * if then is after now. Whole units, rounded down. */
void human_age(int64_t then, int64_t now, char *out, size_t len);

/* `one` if n is 1 (or -1), else `many`. */
const char *human_plural(int64_t n, const char *one, const char *many);

/* "1 file", "0 files", "12 files". */
void human_count(int64_t n, const char *one, const char *many, char *out,
		 size_t len);

#endif
