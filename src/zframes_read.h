/* The zstd frames of a mapped archive decompressed on worker threads, one
 * frame each, and handed back in order: reading a whole archive to check
 * and parse it then takes about its decompression time over the cores
 * instead of over one. The counterpart of zframes_write.h. */
#ifndef INCBAK_ZFRAMES_READ_H
#define INCBAK_ZFRAMES_READ_H

#include <stddef.h>
#include <stdint.h>

struct zframes_read;

/* Over the len bytes at data (which must stay mapped until
 * zframes_read_free()). NULL when the bytes are not a series of frames that
 * each say their size, up to a few frames' worth (not an incbak archive,
 * or one rewritten by another tool): read them as a stream instead. */
struct zframes_read *zframes_read_new(const unsigned char *data, size_t len);

/* The next frame's uncompressed bytes, valid until the next call, and the
 * offset in data where that frame ends. 1, 0 after the last frame, -1 on
 * a damaged frame (*why is zstd's reason). Skippable frames give 0 bytes. */
int zframes_read_next(struct zframes_read *d, const void **out, size_t *out_len,
		  uint64_t *end, const char **why);

/* Stops the workers and frees everything but the mapping. */
void zframes_read_free(struct zframes_read *d);

#endif
