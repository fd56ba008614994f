/* libarchive wrapper: writes pax tar.zst archives to a temporary name and
 * commits them durably; reads them member by member. The only module that
 * includes archive.h. */
#ifndef INCBAK_TARBALL_H
#define INCBAK_TARBALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tree.h"

struct error;
struct tarball_writer;
struct tarball_reader;

/* Creates DIR/FS_TEMP_PREFIX<random>.<final_name> for writing (mode 0600),
 * compressing with zstd at `level` using `threads` workers (0 = all
 * cores). */
int tarball_writer_open(const char *dir, const char *final_name, int level,
			int threads, struct tarball_writer **out,
			struct error *err);

/* Makes the first len bytes of the archive at path the start of this one,
 * copied as they are, without decompressing: they must be whole zstd frames
 * ending where a tar member ends, as everything before an incbak archive's
 * manifest frame is (tarball_find_manifest_frame). Call before writing
 * anything else. Member positions in those bytes stay what they were. */
int tarball_writer_start_with(struct tarball_writer *w, const char *path,
			      uint64_t len, struct error *err);

/* Starts a member for entry e (type, mode, mtime, owner, size, link
 * target) under member name `name`. For a file, exactly e->size bytes must
 * follow through tarball_write_data and then tarball_finish_file. */
int tarball_write_header(struct tarball_writer *w, const char *name,
			 const struct tree_entry *e, struct error *err);
int tarball_write_data(struct tarball_writer *w, const void *data,
		       size_t len, struct error *err);
/* Pads a file member that delivered fewer bytes than its header said. */
int tarball_finish_file(struct tarball_writer *w, uint64_t written,
			uint64_t declared, struct error *err);

/* A hard link member: `name` gets the bytes of earlier member `target`
 * of the same archive (how a duplicate is stored once yet still extracts
 * with plain tar). */
int tarball_write_hardlink(struct tarball_writer *w, const char *name,
			   const char *target, const struct tree_entry *e,
			   struct error *err);

/* A whole in-memory file as one member (the manifest), starting a zstd
 * frame of its own that the index at the end of the archive points at. */
int tarball_write_buffer(struct tarball_writer *w, const char *name,
			 const void *data, size_t len, int64_t mtime,
			 struct error *err);
/* The same member written in pieces: its header now, then exactly `size`
 * bytes with tarball_write_data(). */
int tarball_begin_buffer(struct tarball_writer *w, const char *name,
			 uint64_t size, int64_t mtime, struct error *err);

/* Where the member started by the last tarball_write_header/_hardlink/
 * _buffer call begins: the number of the zstd frame it starts in, and the
 * uncompressed offset of its first header byte within that frame. The
 * frame's compressed offset, which tarball_reader_open_at() takes, is
 * tarball_frame_offset() once tarball_writer_flush() has written it. */
void tarball_last_member_position(const struct tarball_writer *w,
				  uint64_t *frame_no, uint64_t *within_frame);

/* Appends len bytes of from_fd at `from`, whole zstd frames of tar members
 * from another incbak archive, after the member written last; *at is
 * where they start in the new archive. */
int tarball_writer_append_frames(struct tarball_writer *w, int from_fd,
				  uint64_t from, uint64_t len, uint64_t *at,
				  struct error *err);

/* Ends the current frame, which starts compressing, and returns at once:
 * the caller can do other work before tarball_writer_flush(). */
int tarball_writer_end_frame(struct tarball_writer *w, struct error *err);

/* Ends the current frame and waits until everything so far is compressed
 * and written. */
int tarball_writer_flush(struct tarball_writer *w, struct error *err);

/* The compressed offset of frame frame_no; UINT64_MAX if not written yet. */
uint64_t tarball_frame_offset(const struct tarball_writer *w,
			      uint64_t frame_no);

/* Finishes the archive (tar end blocks, last frame, then a zstd skippable
 * frame pointing at the manifest's frame), fsyncs it, renames it to
 * DIR/final_name and fsyncs DIR; sets *size to the archive's size. Frees w in every case; on failure
 * the temporary file is removed. */
int tarball_writer_commit(struct tarball_writer *w, uint64_t *size,
			  struct error *err);

/* Abandons the archive: closes it and removes the temporary file. Accepts
 * NULL. */
void tarball_writer_abort(struct tarball_writer *w);

/* One member as read from an archive. Strings are valid until the next
 * tarball_next() call. */
struct tarball_member {
	const char *name;
	const char *link_target;  /* symlinks, and hardlinks (is_hardlink) */
	enum entry_type type;
	bool is_hardlink;
	bool is_other;            /* device, fifo, ...: never extracted */
	uint32_t mode, uid, gid;
	int64_t size;
	struct nstime mtime;
};

int tarball_reader_open(const char *path, struct tarball_reader **out,
			struct error *err);
/* Like tarball_reader_open() over len bytes at data, which must stay valid
 * and unchanged until tarball_reader_close(); `name` stands for the archive
 * in messages. Used by the fuzzer and by tests that need no files. */
int tarball_reader_open_memory(const void *data, size_t len,
			       const char *name, struct tarball_reader **out,
			       struct error *err);
/* Opens the archive at path for reading from the zstd frame at
 * frame_offset, skipping `within_frame` uncompressed bytes: the next
 * tarball_next() gives the member that starts there. Only the bytes up to
 * the members read are decompressed. */
int tarball_reader_open_at(const char *path, uint64_t frame_offset,
			   uint64_t within_frame, struct tarball_reader **out,
			   struct error *err);

/* Like tarball_reader_open_at(path, frame_offset, 0), for reading all
 * that follows: the frames are decompressed on every core, each whole (and
 * checked), when they all say their size, as incbak's do. */
int tarball_reader_open_rest(const char *path, uint64_t frame_offset,
			     struct tarball_reader **out, struct error *err);
/* tarball_reader_open_rest(path, 0, ...): the whole archive. */
int tarball_reader_open_whole(const char *path, struct tarball_reader **out,
			      struct error *err);

/* For a reader opened with tarball_reader_open_at() at a frame boundary
 * and no bytes to skip, or with tarball_reader_open_whole(). The uncompressed offset, from where the reader
 * started, of the member tarball_next() gave last (its first header). */
uint64_t tarball_member_offset(const struct tarball_reader *r);
/* Whether a zstd frame ended exactly at uncompressed offset unc (0, where
 * the reader started, counts), as far as decoded; *comp is then the
 * compressed offset in the file of the frame that follows. */
bool tarball_frame_ends_at(const struct tarball_reader *r, uint64_t unc,
			   uint64_t *comp);
/* The frame the uncompressed offset unc (already decoded) lies in: its
 * compressed offset in the file and uncompressed offset. */
bool tarball_frame_at(const struct tarball_reader *r, uint64_t unc,
		      uint64_t *comp, uint64_t *frame_unc);

/* Reads the index incbak appends to its archives. 1 and sets
 * *manifest_frame (the compressed offset of the frame the manifest member
 * starts at), 0 if the archive has none (older archives, or one rewritten
 * by another tool), -1 if it cannot be read. */
int tarball_find_manifest_frame(const char *path, uint64_t *manifest_frame,
				struct error *err);

/* 1 and fills m, 0 at the end, -1 on a damaged archive (err names it). */
int tarball_next(struct tarball_reader *r, struct tarball_member *m,
		 struct error *err);
/* Reads member data; returns bytes read, 0 at the member's end, -1. */
ssize_t tarball_read(struct tarball_reader *r, void *buf, size_t len,
		     struct error *err);
/* Accepts NULL. */
void tarball_reader_close(struct tarball_reader *r);

#endif
