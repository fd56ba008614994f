/* Inside the metadata modules only: the record readers shared by
 * backup_metadata.json (metadata.c) and manifests read record by record
 * (manifest_sieve.c), and the content index's own insert. */
#ifndef INCBAK_RECORDS_H
#define INCBAK_RECORDS_H

#include <stdbool.h>
#include <stdint.h>

#include "hash.h"

struct content;
struct content_index;
struct error;
struct json_reader;
struct strlist;
struct tree;

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

/* content_insert() that takes member (malloc'ed) instead of copying it. */
struct content *insert_content(struct content_index *idx,
			       const uint8_t checksum[HASH_SIZE],
			       uint64_t size, const char *holder,
			       char *member, const char *last_used);

#endif
