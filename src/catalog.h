/* backup_metadata.json and the per-archive manifest, in memory and as JSON.
 * Parsing works on buffers so tests and fuzzers need no files. */
#ifndef INCBAK_CATALOG_H
#define INCBAK_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "hash.h"
#include "tree.h"
#include "util.h"

struct error;

#define METADATA_FILE_NAME "backup_metadata.json"
/* 2: the destination's manifests may list only what changed, and an
 * incbak that does not know it would rotate a chain's parent away; it
 * refuses the file instead. Version 1 files are read as before. */
#define METADATA_FORMAT_VERSION 2
/* A destination id: 16 random bytes in hex. */
#define DEST_ID_HEX 32
#define MANIFEST_MEMBER ".incbak/manifest.json"
/* Manifests that list only what changed since their parent's tree are
 * version 2, so that an incbak that cannot read them refuses them instead
 * of restoring part of a tree; whole ones stay version 1. */
#define MANIFEST_FORMAT_VERSION 2
#define MANIFEST_WHOLE_VERSION 1
/* Restore reads at most this many manifests for one tree: every
 * MANIFEST_CHAIN_MAX-th backup (and any whose parent is gone) lists its
 * whole tree. */
#define MANIFEST_CHAIN_MAX 8
/* What a reader follows before calling a chain damaged. */
#define MANIFEST_CHAIN_LIMIT 64

/* A piece of content (by checksum) held by a kept archive. */
struct content {
	uint8_t checksum[HASH_SIZE];
	uint64_t size;
	/* Backup ids, shared by every content of the index that names them
	 * (a million contents name a handful of backups): set them with
	 * catalog_content_set_holder() and catalog_content_set_last_used(). */
	const char *holder;    /* the backup whose archive holds the bytes */
	const char *last_used; /* newest backup whose tree refers to it */
	char *member;    /* member name inside that archive, in the index's
			    own storage: set it with
			    catalog_content_set_member() */
	/* Where the member starts in the holder's archive (see
	 * tarball_last_member_position); JSON "frame" and "skip". Unknown for
	 * older archives: then it is found by reading the archive in order. */
	bool has_frame;
	uint64_t frame_offset, frame_skip;
};

/* Contents in insertion order with a hash index on the checksum. */
struct content_index {
	struct content *items;
	size_t len, alloc;
	uint32_t *slots; /* item index + 1, 0 = empty; power-of-two sized */
	size_t nslots;
	struct strlist ids; /* the strings holder and last_used point at */
	struct name_block *members; /* the member names */
	const struct content **order; /* see catalog_contents_keep_order() */
};

struct history_entry {
	char *backup_id;
	char *date;       /* ISO 8601 UTC */
	char *archive;    /* file name inside the destination */
	int64_t files_added, files_modified, files_deleted;
	int64_t files_backed_up; /* added + modified */
	int64_t files_stored;    /* contents whose bytes this archive holds */
	int64_t total_files;
	int64_t bytes_written;   /* archive size */
	char *parent;            /* the archive whose tree this backup's
				    manifest continues (JSON "parent"), or
				    NULL: its manifest lists the whole tree.
				    A hint for the next run; readers go by
				    the manifest itself */
};

/* The file a load read, and where its "contents" value lies in it, so the
 * contents a load left out can be read later without parsing the rest of
 * the file again (which took as long as the contents themselves). */
struct catalog_origin {
	bool known;                     /* loaded from a file, contents left
					   out or METADATA_RECORDS marked */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	size_t contents_from, contents_to; /* byte range; equal if absent */
	size_t files_from, files_to;    /* file_checksums' byte range */
};

struct metadata {
	char *last_backup_date;         /* NULL before the first backup */
	char *tree_backup_id;           /* the backup whose manifest says
					   exactly what `files` says, so that
					   the next one may list only what
					   changed since; NULL if unknown (a
					   run refreshed records without a
					   backup, or an older incbak wrote
					   the file) */
	char *source;                   /* the absolute path of the tree this
					   destination belongs to; NULL in
					   metadata from before it was
					   recorded (the next run adopts it) */
	char *dest_id;                  /* DEST_ID_HEX random hex digits,
					   made with the first backup: which
					   destination this is, wherever it
					   is mounted; NULL as source */
	struct tree files;              /* the tree as last seen, sorted */
	struct content_index contents;
	struct history_entry *history;  /* oldest first */
	size_t nhistory, history_alloc;
	struct strlist reported_specials; /* sockets etc. already reported */
	bool contents_pending;          /* skipped by the load: call
					   catalog_load_contents() first */
	struct catalog_origin origin;
};

/* What an archive says about itself (MANIFEST_MEMBER). */
struct manifest {
	char *backup_id;
	char *date;
	struct tree files;             /* the whole tree at that backup, or
					  with `delta` what changed since
					  the parent's */
	char *parent;                  /* the archive (a file name in the
					  same folder) whose tree this one's
					  continues; NULL: a whole tree */
	bool delta;                    /* files lists changes only: as read,
					  until catalog_manifest_compose(); for
					  writing, leave out the entries
					  marked unchanged */
	struct strlist deleted;        /* paths deleted since the previous */
	char *source, *dest_id;        /* the metadata's, as the backup was
					  written (repair takes them back);
					  NULL in older archives */
	struct content_index holds;    /* contents this archive holds
					  (holder and last_used unset) */
	int64_t files_added, files_modified, files_deleted;
};

void catalog_init(struct metadata *md);
void catalog_release(struct metadata *md);

/* Parses a backup_metadata.json buffer into md (which must be initialised
 * and empty). On error returns -1 with err saying where ("line L, column C:
 * ...") or what ("file_checksums 'x': size must be ..."); md is left
 * empty. */
int catalog_parse(const char *text, size_t len, struct metadata *md,
		  struct error *err);

/* Formats md as JSON, one file record per line; appends to out. */
void catalog_format(const struct metadata *md, struct buf *out);

/* Loads DEST/backup_metadata.json. Sets *found false (and returns 0) if the
 * file does not exist. Errors name the file. */
int catalog_load(const char *dest, struct metadata *md, bool *found,
		 struct error *err);
/* Parts of the file catalog_load_parts() builds. Contents left out are
 * still checked record by record (a hand-edited file is refused by every
 * run); file records left out are checked as JSON only, or with
 * METADATA_SKIM not at all where they lie one per line as incbak writes
 * them: for a restore of a few paths, which checks every byte it restores
 * against the manifest's SHA-256 and would otherwise spend most of its time
 * checking records it never uses. */
enum {
	METADATA_FILES = 1,     /* file_checksums into md->files */
	METADATA_CONTENTS = 2,  /* contents into md->contents */
	METADATA_ALL = 3,
	METADATA_SKIM = 4,      /* skip what is left out unchecked */
	METADATA_SMALL_CONTENTS = 8, /* contents too, if their part of the
					file is at most
					METADATA_SMALL_CONTENTS_SIZE */
	METADATA_RECORDS = 16,  /* mark the file records that a save of md,
				   or a manifest of its tree, may copy while
				   the file stays in place (see
				   tree_entry.same_record) */
};

/* About 80,000 contents: a run keeps them from the start below that (a run
 * that changes something then need not parse them again), and only once
 * something changed above it, where the memory of a run with nothing
 * changed matters more. */
#define METADATA_SMALL_CONTENTS_SIZE ((size_t)16 << 20)

/* The parts each reader loads, named for the reader so that it need not
 * know the ways the catalog saves time and memory. A run: the tree, the
 * contents if they are small (catalog_load_contents() gives the rest once
 * something must be read), the records a save may copy. A restore of some
 * paths: no contents (catalog_load_some_contents() gives theirs); of all: the
 * contents, the tree coming from the manifests. */
#define CATALOG_FOR_RUN \
	(METADATA_FILES | METADATA_SMALL_CONTENTS | METADATA_RECORDS)
#define CATALOG_FOR_RESTORE_SOME METADATA_SKIM
#define CATALOG_FOR_RESTORE METADATA_CONTENTS

/* catalog_load() for readers that need less memory: restore takes the
 * tree from a manifest; a run keeps the contents only once something
 * changed. Without METADATA_CONTENTS, md->contents_pending is set. */
int catalog_load_parts(const char *dest, struct metadata *md, bool *found,
		       unsigned parts, struct error *err);

/* catalog_load_parts() on a thread of its own, so that a run can walk its
 * tree while the metadata is parsed (each takes about half of a run with
 * nothing changed). The caller must not touch DEST's metadata until
 * catalog_load_finish(), which waits and hands over the result. */
struct catalog_loading;
struct catalog_loading *catalog_load_start(const char *dest, unsigned parts);
int catalog_load_finish(struct catalog_loading *loading, struct metadata *md,
			bool *found, struct error *err);

/* Loads the contents an earlier catalog_load_parts() left out: only
 * their part of the file if it is still the file that was loaded, else
 * the whole file again. */
int catalog_load_contents(const char *dest, struct metadata *md,
			  struct error *err);

/* Loads the contents with these checksums (n of them, HASH_SIZE bytes
 * each, any order) that an earlier load left out, as
 * catalog_load_contents() does, skimming the others; md->contents_pending
 * stays set. A checksum the file does not record is simply not loaded. */
int catalog_load_some_contents(const char *dest, struct metadata *md,
			       const uint8_t *sums, size_t n,
			       struct error *err);

/* Writes DEST/backup_metadata.json atomically and durably, mode 0600. */
int catalog_save(const char *dest, const struct metadata *md,
		 struct error *err);

/* catalog_save() in two steps, for a run that writes its archive
 * meanwhile: begin writes everything up to the history to a temporary file
 * on a thread of its own; end waits for that, writes the history, then
 * makes the file durable and renames it into place. In between, md may
 * change only by catalog_add_history(). abort (or end) always frees; abort
 * leaves the file as it was. */
struct catalog_saving;
struct catalog_saving *catalog_save_begin(const char *dest,
					  const struct metadata *md);
int catalog_save_end(struct catalog_saving *s, struct error *err);
void catalog_save_abort(struct catalog_saving *s);

/* The file md was loaded from with METADATA_RECORDS, mapped, while it is
 * still in place (same inode, size and times): what formats md's marked
 * entries again (a save of md, a manifest of its tree) copies their
 * records from there. NULL if md marked none or the file changed. */
struct catalog_records;
struct catalog_records *catalog_records_open(const char *dest,
					     const struct metadata *md);
void catalog_records_close(struct catalog_records *rec);

/* Content index helpers. */
struct content *catalog_content_find(const struct content_index *idx,
				     const uint8_t checksum[HASH_SIZE]);
/* Appends and returns the new item (pointers to items move); strings are
 * copied. The checksum must not be indexed yet. */
struct content *catalog_content_insert(struct content_index *idx,
				       const uint8_t checksum[HASH_SIZE],
				       uint64_t size, const char *holder,
				       const char *member,
				       const char *last_used);
/* Set c's holder or last_used (c is an item of idx). */
void catalog_content_set_holder(struct content_index *idx, struct content *c,
				const char *id);
void catalog_content_set_last_used(struct content_index *idx, struct content *c,
				   const char *id);
/* Gives c (an item of idx) another member name. */
void catalog_content_set_member(struct content_index *idx, struct content *c,
				const char *member);
/* Copies from's member position to c (both may be unknown). */
void catalog_content_copy_frame(struct content *c, const struct content *from);
/* True if some content of exactly this size is indexed. */
bool catalog_content_has_size(const struct content_index *idx, uint64_t size);
/* Removes every item for which drop() returns true. */
void catalog_content_remove_if(struct content_index *idx,
			       bool (*drop)(const struct content *c, void *ctx),
			       void *ctx);
/* Pointers to the items sorted by checksum; caller frees the array. */
const struct content **catalog_content_sorted(const struct content_index *idx);
/* Keeps that array in idx until idx changes, for writers that would each
 * sort it (a run formats its manifest's holds and the metadata's contents
 * at once: 8 MB and a sort each for a million contents). */
void catalog_contents_keep_order(struct content_index *idx);
/* The kept array, or a new one (*owned: the caller frees it). */
const struct content **catalog_content_order(const struct content_index *idx,
					     bool *owned);
void catalog_contents_release(struct content_index *idx);

/* History helpers. */
struct history_entry *catalog_add_history(struct metadata *md);
const struct history_entry *catalog_last_backup(const struct metadata *md);
/* The history entry with this id, or NULL. */
const struct history_entry *catalog_find_backup(const struct metadata *md,
						const char *id);

void catalog_manifest_init(struct manifest *m);
void catalog_manifest_release(struct manifest *m);
/* Makes m's tree, a delta against its parent's, whole: base is the
 * parent's whole tree (restricted, for a reader of some paths, to the same
 * paths), of which what m deleted or lists again is left out. Clears
 * m->delta; m->parent stays, to say where the tree came from. */
void catalog_manifest_compose(struct manifest *m, const struct tree *base);
void catalog_manifest_format(const struct manifest *m, struct buf *out);
/* catalog_manifest_format() in pieces of a few MiB handed to take() (which
 * returns 0, or nonzero to stop: catalog_manifest_write then returns that),
 * never whole in memory. The holds are those of `contents` held by backup
 * `holder`, or m->holds if contents is NULL. The records of entries marked in
 * rec's file (NULL: none) are made from their records there. */
int catalog_manifest_write(const struct manifest *m,
			   const struct content_index *contents,
			   const char *holder,
			   const struct catalog_records *rec,
			   int (*take)(void *ctx, const char *data, size_t len),
			   void *ctx);
int catalog_manifest_parse(const char *text, size_t len, struct manifest *m,
			   struct error *err);
/* catalog_manifest_parse() for a reader of some paths (relative, normalised,
 * not empty; NULL or none: the whole tree). Of a manifest laid out as
 * catalog_manifest_format() writes it, only the lines around its sections and
 * the files at, under and above those paths are parsed (m->deleted and m->holds
 * stay empty): a file of a 100,000-file backup without parsing 100,000 records.
 * Any other text is parsed whole. */
int catalog_manifest_parse_paths(const char *text, size_t len,
				 const struct strlist *paths,
				 struct manifest *m, struct error *err);

/* The same on text that arrives in pieces (a manifest decompressed a
 * window at a time, never whole): feed it all, then finish, which parses
 * what was kept into m: 0, or nonzero if the text was not laid out for
 * this or did not parse; then read the manifest whole with
 * catalog_manifest_parse(), whose errors name the right lines. */
struct catalog_stream;
struct catalog_stream *catalog_stream_new(const struct strlist *paths);
/* For a reader that needs no holds (a restore, which takes them from the
 * metadata): each is still checked, not kept (a million took 140 MB). */
void catalog_stream_check_holds_only(struct catalog_stream *s);
void catalog_stream_feed(struct catalog_stream *s, const char *data,
			 size_t len);
int catalog_stream_finish(struct catalog_stream *s, struct manifest *m,
			  struct error *err);
void catalog_stream_free(struct catalog_stream *s);

/* ---- manifests inside archives ---- */

struct tarball_writer;

/* Reads MANIFEST_MEMBER from the archive at path: just its own zstd frame
 * when the archive's index says where that is, parsed record by record as
 * it is decompressed, else one sequential pass (it is the last member).
 * Errors name the archive: a damaged archive, or one without a manifest,
 * or a manifest that does not parse. */
int catalog_manifest_read(const char *path, struct manifest *m,
			  struct error *err);
/* The same for a restore of some paths (all of them if paths is NULL):
 * see catalog_manifest_parse_paths(). Where the manifest is laid out as incbak
 * writes it, m->holds stay empty (restore takes the contents from the
 * metadata). */
int catalog_manifest_read_paths(const char *path, const struct strlist *paths,
				struct manifest *m, struct error *err);
/* Both of those give the whole tree: a manifest that lists only what
 * changed since its parent's tree (m->parent, in the same folder) is
 * completed from the chain of its parents, whose errors name the archive
 * that broke it ("... which is missing"). This one gives the manifest as
 * the archive holds it (m->delta set if so). */
int catalog_manifest_read_own(const char *path, struct manifest *m,
			      struct error *err);
/* Sets *parent (newly allocated) to the archive whose tree the manifest of
 * the archive at path continues, or NULL if it lists the whole tree:
 * usually from the first lines of the manifest alone. */
int catalog_manifest_parent(const char *path, char **parent, struct error *err);
/* Makes m, read from the archive at path, whole, if it lists only what
 * changed (as catalog_manifest_read() does). A reader going through the
 * archives in order passes the whole tree of the one it read last and that
 * archive's name (or NULL): a manifest continuing it is completed from that
 * tree, without reading the chain again. */
int catalog_manifest_complete(const char *path, struct manifest *m,
			      const char *known_archive,
			      const struct tree *known_tree, struct error *err);

/* Adds the manifest of m (holds, rec: see catalog_manifest_write) to the
 * archive being written, as its own member MANIFEST_MEMBER. A manifest up to
 * `buffered` bytes (CATALOG_MANIFEST_BUFFERED) is formatted once, into memory;
 * a bigger one (300 MB for a million files) twice: counted, then written in
 * pieces, since the member's header needs its size first. */
#define CATALOG_MANIFEST_BUFFERED ((size_t)64 << 20)
int catalog_manifest_add(struct tarball_writer *w, const struct manifest *m,
			 const struct content_index *contents,
			 const char *holder, const struct catalog_records *rec,
			 int64_t mtime, size_t buffered, struct error *err);

#endif
