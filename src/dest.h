/* The destination as a folder of archives: their names and paths, the
 * members they keep under .incbak/, listing them, and finding the backup a
 * user named. What an archive says about itself (its manifest) is the
 * catalog's: see catalog.h. */
#ifndef INCBAK_DEST_H
#define INCBAK_DEST_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

struct error;
struct metadata;
struct strlist;

/* Archives keep their own files under .incbak/ (the manifest, carried
 * content). A source path there cannot be a member name of its own: its
 * content goes in as .incbak/content/CHECKSUM instead. True if path is such
 * a reserved name. */
bool dest_member_reserved(const char *path);

#define DEST_CONTENT_DIR ".incbak/content/"

/* The member name for content with this checksum found at path; newly
 * allocated. */
char *dest_member_name(const char *path, const uint8_t *checksum);

/* DEST/ARCHIVE; newly allocated. */
char *dest_archive_path(const char *dest, const char *archive);

/* True if name looks like NAME_backup_YYYY-MM-DD_HH-MM-SS.tar.zst for any
 * NAME; sets id (BACKUP_ID_SIZE bytes). */
bool dest_parse_archive_name(const char *name, char *id);

/* The archive files in dest (any NAME), sorted by id; names only. */
int dest_list_archives(const char *dest, struct strlist *out,
		       struct error *err);

/* Finds the backup a user named: an exact id, a unique prefix of one, or
 * "latest". Returns its index in md->history, or -1 with err saying
 * "unknown backup 'X'" or "ambiguous backup 'X'" and listing close
 * matches (a usage error: exit 2). */
int dest_resolve_id(const struct metadata *md, const char *query,
		    struct error *err);

#endif
