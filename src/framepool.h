/* A zstd stream made of independent frames, compressed by a pool of worker
 * threads and written to a file descriptor in order. The caller appends
 * uncompressed bytes; a frame is cut every FRAMEPOOL_FRAME_SIZE bytes (or
 * earlier on request), so while one thread produces the tar stream and
 * hashes files, every core compresses, and a reader can start decoding at
 * any frame. */
#ifndef INCBAK_FRAMEPOOL_H
#define INCBAK_FRAMEPOOL_H

#include <stddef.h>
#include <stdint.h>

/* Uncompressed bytes per frame: a reader starting at a frame decompresses
 * at most this much before the byte it wants. */
#define FRAMEPOOL_FRAME_SIZE ((size_t)4 << 20)

struct framepool;

/* Compresses at `level` with `threads` workers (0, or more than there are
 * cores: one per core), each
 * frame with its checksum, as `zstd -t` expects. Never fails: a worker that
 * cannot be started is compressed for on the caller's thread instead. */
struct framepool *framepool_new(int fd, int level, int threads);

/* For an output that already holds `offset` bytes of whole frames (copied
 * from another archive): frame offsets count from there. Call before the
 * first write. */
void framepool_start_at(struct framepool *p, uint64_t offset);

/* Compresses the frames ended from now on at `level`, starting with the
 * current one. */
void framepool_set_level(struct framepool *p, int level);

/* Appends len bytes to the current frame. -1 on a write or compression
 * error (see framepool_error); the pool is then unusable. */
int framepool_write(struct framepool *p, const void *data, size_t len);

/* Ends the current frame if it holds anything, so the next byte starts a
 * new one. Returns like framepool_write. */
int framepool_end_frame(struct framepool *p);

/* Where the next byte will go: the number of its frame (0, 1, ...) and its
 * offset in that frame's uncompressed bytes. */
void framepool_position(const struct framepool *p, uint64_t *frame_no,
			uint64_t *within);

/* Ends the current frame and waits until every frame is compressed and
 * written. Returns like framepool_write. */
int framepool_flush(struct framepool *p);

/* Ends the current frame, writes out every frame, then appends len bytes
 * of from_fd from offset `from`: whole zstd frames compressed elsewhere,
 * written as they are (they take no frame number); *at is their offset in
 * the output. Returns like framepool_write. */
int framepool_append_raw(struct framepool *p, int from_fd, uint64_t from,
			 uint64_t len, uint64_t *at);

/* The compressed offset of frame frame_no in the output, once a flush has
 * written it; UINT64_MAX for a frame not written yet. */
uint64_t framepool_frame_offset(const struct framepool *p, uint64_t frame_no);

/* Compressed bytes written so far. */
uint64_t framepool_bytes_out(const struct framepool *p);

/* After a failure: the write's errno, or 0 for a zstd error, whose name
 * framepool_error() then gives. */
int framepool_errno(const struct framepool *p);
const char *framepool_error(const struct framepool *p);

/* Stops the workers and frees everything; does not close fd. */
void framepool_free(struct framepool *p);

#endif
