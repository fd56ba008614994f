/* Inside the catalog only: the JSON pull reader, the record readers shared by
 * backup_metadata.json (catalog_read.c) and manifests read record by record
 * (catalog_stream.c), the file and writer state shared by catalog_file.c and
 * catalog_write.c, and a hook for tests. Nothing outside src/catalog*.c and
 * their tests includes this. */
#ifndef INCBAK_CATALOG_INTERNAL_H
#define INCBAK_CATALOG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "hash.h"
#include "util.h"

struct error;

/* ---- the JSON reader ----
 * A small pull parser: values are read in document order straight into the
 * caller's structures, with no tree in between (a JSON tree of a big
 * backup_metadata.json would cost many times the file's size in memory and
 * most of a no-change run's time). Strings are decoded into a buffer that
 * the next call reuses. */

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_OBJECT,
	JSON_ARRAY,
};

struct catalog_json {
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
void catalog_json_init(struct catalog_json *r, const char *text, size_t len,
		       bool mapped, struct error *err);
void catalog_json_release(struct catalog_json *r);
/* Points r at new text, keeping its string buffer: for many small
 * documents read one after another. */
void catalog_json_rebind(struct catalog_json *r, const char *text, size_t len);

/* Moves past a value the caller read from r->p itself (up to `to`). */
void catalog_json_advance(struct catalog_json *r, const char *to);

/* The type of the next value, or -1 (syntax error). */
int catalog_json_peek(struct catalog_json *r);

/* Each returns 0, or -1 with err set when the next value is not of that
 * type (the message names `what`) or is malformed. */
int catalog_json_string(struct catalog_json *r, const char *what);
int catalog_json_bool(struct catalog_json *r, bool *out, const char *what);
int catalog_json_null(struct catalog_json *r);
/* A whole number in [min, max], exactly (no float rounding). */
int catalog_json_int(struct catalog_json *r, int64_t min, int64_t max,
		     int64_t *out, const char *what);
int catalog_json_double(struct catalog_json *r, double *out, const char *what);

/* Objects: after catalog_json_object_begin, catalog_json_object_next returns 1
 * with the key in r->str (copy it before reading the value), 0 at the closing
 * brace, -1 on error. Arrays likewise with catalog_json_array_next (no key). */
int catalog_json_object_begin(struct catalog_json *r, const char *what);
int catalog_json_object_next(struct catalog_json *r);
int catalog_json_array_begin(struct catalog_json *r, const char *what);
int catalog_json_array_next(struct catalog_json *r);

/* Skips one value of any type. */
int catalog_json_skip(struct catalog_json *r);

/* Skips the next value without checking it, when it is a record as incbak
 * writes them: an object on a line of its own (after its key, in an
 * object), ending that line. For readers that need a few records of a big
 * file; what they keep is still read in full. Returns 1 if skipped, 0 if
 * the value is laid out otherwise (nothing is consumed: read or
 * catalog_json_skip() it). */
int catalog_json_skim_record(struct catalog_json *r);

/* Right after catalog_json_object_begin() (keyed) or
 * catalog_json_array_begin(): skips, unchecked, the records that follow one per
 * line as catalog_json_skim_record() would, up to the first that is laid out
 * otherwise or the end of the container; catalog_json_object_next() /
 * catalog_json_array_next() go on from there. A line costs a memchr() instead
 * of a parse. Returns whether any was skipped. */
bool catalog_json_skim_records(struct catalog_json *r, bool keyed);

/* Only white space may follow the top-level value. */
int catalog_json_finish(struct catalog_json *r);

/* ---- records ---- */

struct content;
struct content_index;
struct metadata;
struct strlist;
struct tree;
struct tree_entry;

/* Fields of a tree entry, as JSON keys; bits in entry_state.seen. */
enum entry_field {
	F_PATH, F_PATH_HEX, F_TYPE, F_SIZE, F_MODIFIED_TIME, F_MTIME, F_CTIME,
	F_INODE, F_MODE, F_UID, F_GID, F_CHECKSUM, F_LINK, F_LINK_HEX,
	F_RECHECK, F_ATTRS, F_COUNT,
};

/* One tree entry as read, before check_entry(). */
struct entry_state {
	struct tree_entry *e;
	unsigned seen;
	double modified_time;
};

enum content_field { C_SIZE, C_MEMBER, C_MEMBER_HEX, C_HOLDER, C_LAST,
		     C_FRAME, C_SKIP, C_COUNT };

/* One content record as read; the ids in place, as there are a million
 * records and a handful of ids. */
struct content_state {
	uint64_t size, frame, skip;
	char *member;
	char holder[BACKUP_ID_SIZE], last[BACKUP_ID_SIZE];
	unsigned seen;
};

/* One tree entry, its path the object's key (file_checksums) or its
 * "path" field (key NULL); `where` names the section in messages. */
int catalog_read_entry(struct catalog_json *r, struct tree *t, const char *key,
		       const char *where);
/* One content record, its key (the checksum) in r->str; added to idx
 * unless idx is NULL (then only checked). */
int catalog_read_content(struct catalog_json *r, struct content_index *idx,
			 bool with_owner);
/* An array of {"path": ...} or {"path_hex": ...}, appended to out. */
int catalog_read_path_list(struct catalog_json *r, struct strlist *out,
			   const char *what);
/* A sorted tree with a path twice is an error naming it. */
int catalog_check_duplicates(const struct tree *t, struct error *err);

/* YYYY-MM-DD_HH-MM-SS. */
bool catalog_is_backup_id(const char *s);

/* The fields of a record laid out exactly as incbak writes it (fields in
 * the writer's order, no white space, strings of printable ASCII without
 * escapes, numbers without exponents), read without the general parser,
 * which took most of a run's time spent on the metadata. Returns 1 with
 * r past the record's closing brace, or 0 with r untouched for any record
 * laid out otherwise, which the general reader then reads (and reports
 * on). Whatever these accept, the general reader accepts and reads the
 * same way; the checks on the whole record (check_entry) follow either.
 * with_path: a manifest's record, its "path" first. */
int catalog_fastread_entry(struct catalog_json *r, struct tree *t,
			   struct entry_state *st, bool with_path);
int catalog_fastread_content(struct catalog_json *r, struct content_state *c);
/* For tests and fuzzers comparing the two readers: false sends every
 * record to the general reader. */
extern bool catalog_fastread_enabled;

/* ---- the file and its readers, shared by catalog_file.c, catalog_read.c
 * and catalog_write.c ---- */

struct catalog_file {
	char *path;
	int fd;
	struct stat st;
	void *map;    /* MAP_FAILED until mapped, and for an empty file */
};

/* The records of md's file: see catalog_records_open(). */
struct catalog_records {
	struct catalog_file f;
	size_t from, to;      /* file_checksums' byte range */
};

/* Which contents a load reads. */
struct content_filter {
	const uint8_t *sums;  /* sorted, nsums * HASH_SIZE bytes */
	size_t nsums;
	bool skim;            /* skip the others unchecked (METADATA_SKIM) */
};

int catalog_cmp_checksums(const void *a, const void *b);
/* The "contents" object (what: its name for errors), as far as `only` lets
 * in (all of them if NULL); with_owner: records name holder and last_used. */
int catalog_read_contents(struct catalog_json *r, struct content_index *idx,
			  bool with_owner, const struct content_filter *only,
			  const char *what);
/* Parses backup_metadata.json text (mapped: pages behind the reader may be
 * given back) into md: the parts asked for, and filter's contents. */
int catalog_parse_text(const char *text, size_t len, bool mapped,
		       unsigned parts, const struct content_filter *filter,
		       struct metadata *md, struct error *err);

#endif
