/* The destination as a set of archives: their paths, and what each says
 * about itself (its manifest). */
#ifndef INCBAK_STORE_H
#define INCBAK_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

struct content_index;
struct error;
struct manifest;
struct metadata_records;
struct tarball_writer;

/* Archives keep their own files under .incbak/ (the manifest, carried
 * content). A source path there cannot be a member name of its own: its
 * content goes in as .incbak/content/CHECKSUM instead. True if path is such
 * a reserved name. */
bool store_member_reserved(const char *path);

#define STORE_CONTENT_DIR ".incbak/content/"

/* The member name for content with this checksum found at path; newly
 * allocated. */
char *store_member_name(const char *path, const uint8_t *checksum);

/* DEST/ARCHIVE; newly allocated. */
char *store_archive_path(const char *dest, const char *archive);

/* Reads MANIFEST_MEMBER from the archive at path: just its own zstd frame
 * when the archive's index says where that is, parsed record by record as
 * it is decompressed, else one sequential pass (it is the last member).
 * Errors name the archive: a damaged archive, or one without a manifest,
 * or a manifest that does not parse. */
int store_read_manifest(const char *path, struct manifest *m,
			struct error *err);
/* The same for a restore of some paths (all of them if paths is NULL):
 * see manifest_parse_paths(). Where the manifest is laid out as incbak
 * writes it, m->holds stay empty (restore takes the contents from the
 * metadata). */
int store_read_manifest_paths(const char *path, const struct strlist *paths,
			      struct manifest *m, struct error *err);
/* Both of those give the whole tree: a manifest that lists only what
 * changed since its parent's tree (m->parent, in the same folder) is
 * completed from the chain of its parents, whose errors name the archive
 * that broke it ("... which is missing"). This one gives the manifest as
 * the archive holds it (m->delta set if so). */
int store_read_own_manifest(const char *path, struct manifest *m,
			    struct error *err);
/* Sets *parent (newly allocated) to the archive whose tree the manifest of
 * the archive at path continues, or NULL if it lists the whole tree:
 * usually from the first lines of the manifest alone. */
int store_manifest_parent(const char *path, char **parent,
			  struct error *err);
/* Makes m, read from the archive at path, whole, if it lists only what
 * changed (as store_read_manifest() does). A reader going through the
 * archives in order passes the whole tree of the one it read last and that
 * archive's name (or NULL): a manifest continuing it is completed from that
 * tree, without reading the chain again. */
struct tree;
int store_complete_manifest(const char *path, struct manifest *m,
			    const char *known_archive,
			    const struct tree *known_tree, struct error *err);

/* Adds the manifest of m (holds, rec: see manifest_write) to the archive being
 * written, as its own member MANIFEST_MEMBER. A manifest up to `buffered`
 * bytes (STORE_MANIFEST_BUFFERED) is formatted once, into memory; a bigger
 * one (300 MB for a million files) twice: counted, then written in pieces,
 * since the member's header needs its size first. */
#define STORE_MANIFEST_BUFFERED ((size_t)64 << 20)
int store_write_manifest(struct tarball_writer *w, const struct manifest *m,
			 const struct content_index *contents,
			 const char *holder,
			 const struct metadata_records *rec, int64_t mtime,
			 size_t buffered, struct error *err);

/* True if name looks like NAME_backup_YYYY-MM-DD_HH-MM-SS.tar.zst for any
 * NAME; sets id (BACKUP_ID_SIZE bytes). */
bool store_parse_archive_name(const char *name, char *id);

/* The archive files in dest (any NAME), sorted by id; names only. */
int store_list_archives(const char *dest, struct strlist *out,
			struct error *err);


struct metadata;

/* Finds the backup a user named: an exact id, a unique prefix of one, or
 * "latest". Returns its index in md->history, or -1 with err saying
 * "unknown backup 'X'" or "ambiguous backup 'X'" and listing close
 * matches (a usage error: exit 2). */
int store_resolve_id(const struct metadata *md, const char *query,
		     struct error *err);

#endif
