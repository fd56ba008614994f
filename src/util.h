/* Small helpers shared by every module: checked allocation, formatted
 * strings, growable string lists and the error record the core returns. */
#ifndef INCBAK_UTIL_H
#define INCBAK_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* An error message filled in by the function that found the problem.
 * Callers own it (usually on the stack); an empty msg means "no error". */
struct error {
	char msg[8192];
};

/* Sets err->msg from a printf-style format; always returns -1 so callers can
 * write `return error_set(err, ...)`. err may be NULL. */
int error_set(struct error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefixes the existing message with more context ("CONTEXT: old message"). */
int error_prefix(struct error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* msg without the "'path': " it starts with, if it does: for a report
 * that names the archive already. Points into msg. */
const char *error_without_path(const char *msg, const char *path);

/* Allocation that never returns NULL: out of memory aborts with a message,
 * as git's xmalloc does, because no caller can do better. */
void *xmalloc(size_t n);
/* Says so and aborts; also for a table that cannot grow any more. */
_Noreturn void out_of_memory(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Grows *array (of elements of `elem` bytes) so that it holds at least
 * `need` elements; *alloc is its current capacity. */
void grow_array(void **array, size_t *alloc, size_t need, size_t elem);

/* Returns a newly allocated formatted string (asprintf is hidden by strict
 * feature macros, so we keep our own). */
char *str_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *str_vfmt(const char *fmt, va_list ap);

/* True if s starts with prefix. */
bool str_starts(const char *s, const char *prefix);

/* Strings kept until the whole store goes: a million paths or member
 * names cost their bytes, not a malloc each (16 to 30 bytes more). */
struct name_block;
/* A copy of n bytes of name (no NUL among them), NUL-terminated. */
char *names_store(struct name_block **store, const char *name, size_t n);
/* Moves every block of *from into *to, whose strings stay where they are. */
void names_splice(struct name_block **from, struct name_block **to);
void names_release(struct name_block **store);

/* A growable list of owned strings. */
struct strlist {
	char **items;
	size_t len;
	size_t alloc;
};

void strlist_push(struct strlist *list, const char *s);
void strlist_push_owned(struct strlist *list, char *s);
void strlist_clear(struct strlist *list);
bool strlist_contains(const struct strlist *list, const char *s);
/* Sorts by strcmp (byte order). */
void strlist_sort(struct strlist *list);
/* Binary search in a sorted list. */
bool strlist_has_sorted(const struct strlist *list, const char *s);

/* A growable byte buffer, NUL-terminated for convenience. */
struct buf {
	char *data;
	size_t len;
	size_t alloc;
};

void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_release(struct buf *b);

/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void hex_encode(const uint8_t *in, size_t len, char *out);
/* Parses exactly 2*len hex digits; returns 0 or -1. */
int hex_decode(const char *hex, uint8_t *out, size_t len);

/* Parses a whole decimal integer in [min, max]; returns 0 or -1. */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Timestamps with nanoseconds since the epoch, as the filesystem gives them. */
/* Packed: two of these are in every tree entry, of which a run holds two
 * per path, and the padding would cost 16 bytes a path. */
struct __attribute__((packed)) nstime {
	int64_t sec;
	int32_t nsec;
};



/* True if s[0..len) is valid UTF-8 (no overlongs, no surrogates). */
bool utf8_valid(const char *s, size_t len);

/* Set by the signal handlers in main.c; long loops in the core check it and
 * unwind through their normal error path. */
#include <signal.h>
extern volatile sig_atomic_t incbak_interrupted;

#define BACKUP_ID_SIZE 20 /* "YYYY-MM-DD_HH-MM-SS" + NUL */

/* Formats a backup id ("2026-11-22_04-27-23", UTC). */
void format_backup_id(int64_t sec, char out[BACKUP_ID_SIZE]);
/* Parses a backup id back to seconds; -1 if it is not one. */
int parse_backup_id(const char *id, int64_t *sec);
/* ISO 8601 UTC ("2026-11-22T04:27:23Z") into out (at least 32 bytes). */
void format_iso_utc(int64_t sec, char *out, size_t len);

#endif
