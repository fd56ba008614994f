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
	const char *element;  /* where the current array element or object
				 member (its key) starts */
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
/* Points r at new text, keeping its string buffer: for many small
 * documents read one after another. */
void json_reader_rebind(struct json_reader *r, const char *text, size_t len);

/* Moves past a value the caller read from r->p itself (up to `to`). */
void json_reader_advance(struct json_reader *r, const char *to);

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

/* Skips the next value without checking it, when it is a record as incbak
 * writes them: an object on a line of its own (after its key, in an
 * object), ending that line. For readers that need a few records of a big
 * file; what they keep is still read in full. Returns 1 if skipped, 0 if
 * the value is laid out otherwise (nothing is consumed: read or
 * json_skip() it). */
int json_skim_record(struct json_reader *r);

/* Right after json_object_begin() (keyed) or json_array_begin(): skips,
 * unchecked, the records that follow one per line as json_skim_record()
 * would, up to the first that is laid out otherwise or the end of the
 * container; json_object_next() / json_array_next() go on from there. A
 * line costs a memchr() instead of a parse. Returns whether any was
 * skipped. */
bool json_skim_records(struct json_reader *r, bool keyed);

/* Only white space may follow the top-level value. */
int json_finish(struct json_reader *r);

#endif
