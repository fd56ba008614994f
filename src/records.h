/* Inside the metadata modules only: the record readers shared by
 * backup_metadata.json (metadata.c) and manifests read record by record
 * (manifest_sieve.c), and the content index's own insert. */
#ifndef INCBAK_RECORDS_H
#define INCBAK_RECORDS_H

#include <stdbool.h>
#include <stdint.h>

#include "hash.h"
#include "util.h"

struct content;
struct content_index;
struct error;
struct json_reader;
struct strlist;
struct tree;
struct tree_entry;

/* Fields of a tree entry, as JSON keys; bits in entry_state.seen. */
enum entry_field {
	F_PATH, F_PATH_HEX, F_TYPE, F_SIZE, F_MODIFIED_TIME, F_MTIME, F_CTIME,
	F_INODE, F_MODE, F_UID, F_GID, F_CHECKSUM, F_LINK, F_LINK_HEX,
	F_RECHECK, F_COUNT,
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
int read_entry(struct json_reader *r, struct tree *t, const char *key,
	       const char *where);
/* One content record, its key (the checksum) in r->str; added to idx
 * unless idx is NULL (then only checked). */
int read_content(struct json_reader *r, struct content_index *idx,
		 bool with_owner);
/* An array of {"path": ...} or {"path_hex": ...}, appended to out. */
int read_path_list(struct json_reader *r, struct strlist *out,
		   const char *what);
/* A sorted tree with a path twice is an error naming it. */
int check_duplicates(const struct tree *t, struct error *err);

/* YYYY-MM-DD_HH-MM-SS. */
bool is_backup_id(const char *s);

/* The fields of a record laid out exactly as incbak writes it (fields in
 * the writer's order, no white space, strings of printable ASCII without
 * escapes, numbers without exponents), read without the general parser,
 * which took most of a run's time spent on the metadata. Returns 1 with
 * r past the record's closing brace, or 0 with r untouched for any record
 * laid out otherwise, which the general reader then reads (and reports
 * on). Whatever these accept, the general reader accepts and reads the
 * same way; the checks on the whole record (check_entry) follow either.
 * with_path: a manifest's record, its "path" first. */
int fast_entry_fields(struct json_reader *r, struct tree *t,
		      struct entry_state *st, bool with_path);
int fast_content_fields(struct json_reader *r, struct content_state *c);
/* For tests and fuzzers comparing the two readers: false sends every
 * record to the general reader. */
extern bool records_fast_enabled;

#endif
