/* A zstd stream made of independent frames, compressed by a pool of worker
 * threads and written to a file descriptor in order. The caller appends
 * uncompressed bytes; a frame is cut every ZFRAMES_WRITE_FRAME_SIZE bytes (or
 * earlier on request), so while one thread produces the tar stream and
 * hashes files, every core compresses, and a reader can start decoding at
 * any frame. */
#ifndef INCBAK_ZFRAMES_WRITE_H
#define INCBAK_ZFRAMES_WRITE_H

#include <stddef.h>
#include <stdint.h>

/* Uncompressed bytes per frame: a reader starting at a frame decompresses
 * at most this much before the byte it wants. */
#define ZFRAMES_WRITE_FRAME_SIZE ((size_t)4 << 20)

struct zframes_write;

/* Compresses at `level` with `threads` workers (0, or more than there are
 * cores: one per core), each
 * frame with its checksum, as `zstd -t` expects. Never fails: a worker that
 * cannot be started is compressed for on the caller's thread instead. */
struct zframes_write *zframes_write_new(int fd, int level, int threads);

/* For an output that already holds `offset` bytes of whole frames (copied
 * from another archive): frame offsets count from there. Call before the
 * first write. */
void zframes_write_start_at(struct zframes_write *p, uint64_t offset);

/* Compresses the frames ended from now on at `level`, starting with the
 * current one. */
void zframes_write_set_level(struct zframes_write *p, int level);

/* Appends len bytes to the current frame. -1 on a write or compression
 * error (see zframes_write_error); the pool is then unusable. */
int zframes_write_append(struct zframes_write *p, const void *data, size_t len);

/* Ends the current frame if it holds anything, so the next byte starts a
 * new one. Returns like zframes_write_append. */
int zframes_write_end_frame(struct zframes_write *p);

/* Where the next byte will go: the number of its frame (0, 1, ...) and its
 * offset in that frame's uncompressed bytes. */
void zframes_write_position(const struct zframes_write *p, uint64_t *frame_no,
			uint64_t *within);

/* Ends the current frame and waits until every frame is compressed and
 * written. Returns like zframes_write_append. */
int zframes_write_flush(struct zframes_write *p);

/* Ends the current frame, writes out every frame, then appends len bytes
 * of from_fd from offset `from`: whole zstd frames compressed elsewhere,
 * written as they are (they take no frame number); *at is their offset in
 * the output. Returns like zframes_write_append. */
int zframes_write_append_raw(struct zframes_write *p, int from_fd,
			     uint64_t from, uint64_t len, uint64_t *at);

/* The compressed offset of frame frame_no in the output, once a flush has
 * written it; UINT64_MAX for a frame not written yet. */
uint64_t zframes_write_frame_offset(const struct zframes_write *p,
				    uint64_t frame_no);

/* Compressed bytes written so far. */
uint64_t zframes_write_bytes_out(const struct zframes_write *p);

/* After a failure: the write's errno, or 0 for a zstd error, whose name
 * zframes_write_error() then gives. */
int zframes_write_errno(const struct zframes_write *p);
const char *zframes_write_error(const struct zframes_write *p);

/* Stops the workers and frees everything; does not close fd. */
void zframes_write_free(struct zframes_write *p);

#endif
