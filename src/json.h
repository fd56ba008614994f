/* A small pull parser for JSON: values are read in document order straight
 * into the caller's structures, with no tree in between (cJSON's tree of
 * backup_metadata.json for 120,000 files took ~190 MB and most of a
 * no-change run's time). Strings are decoded into a buffer that the next
 * call reuses. */
#ifndef INCBAK_JSON_H
#define INCBAK_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct error;

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_OBJECT,
	JSON_ARRAY,
};

struct json_reader {
	const char *start, *p, *end;
	char *str;            /* the last decoded string, NUL-terminated */
	size_t str_len, str_alloc;
	int depth;
	bool first[65];       /* per depth: no element read yet */
	struct error *err;
	/* Pages of a mapped input before this point may be given back. */
	const char *released;
	bool mapped;
};

/* Reads text[0..len). err receives syntax errors as "not valid JSON at line
 * L, column C: WHAT". */
void json_reader_init(struct json_reader *r, const char *text, size_t len,
		      bool mapped, struct error *err);
void json_reader_release(struct json_reader *r);

/* The type of the next value, or -1 (syntax error). */
int json_peek(struct json_reader *r);

/* Each returns 0, or -1 with err set when the next value is not of that
 * type (the message names `what`) or is malformed. */
int json_read_string(struct json_reader *r, const char *what);
int json_read_bool(struct json_reader *r, bool *out, const char *what);
int json_read_null(struct json_reader *r);
/* A whole number in [min, max], exactly (no float rounding). */
int json_read_int(struct json_reader *r, int64_t min, int64_t max,
		  int64_t *out, const char *what);
int json_read_double(struct json_reader *r, double *out, const char *what);

/* Objects: after json_object_begin, json_object_next returns 1 with the key
 * in r->str (copy it before reading the value), 0 at the closing brace, -1
 * on error. Arrays likewise with json_array_next (no key). */
int json_object_begin(struct json_reader *r, const char *what);
int json_object_next(struct json_reader *r);
int json_array_begin(struct json_reader *r, const char *what);
int json_array_next(struct json_reader *r);

/* Skips one value of any type. */
int json_skip(struct json_reader *r);

/* Only white space may follow the top-level value. */
int json_finish(struct json_reader *r);

#endif
