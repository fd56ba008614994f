/* The zstd frames of a mapped archive decompressed on worker threads, one
 * frame each, and handed back in order: reading a whole archive to check
 * and parse it then takes about its decompression time over the cores
 * instead of over one. The counterpart of framepool.h. */
#ifndef INCBAK_FRAMEDEC_H
#define INCBAK_FRAMEDEC_H

#include <stddef.h>
#include <stdint.h>

struct framedec;

/* Over the len bytes at data (which must stay mapped until
 * framedec_free()). NULL when the bytes are not a series of frames that
 * each say their size, up to a few frames' worth (not an incbak archive,
 * or one rewritten by another tool): read them as a stream instead. */
struct framedec *framedec_new(const unsigned char *data, size_t len);

/* The next frame's uncompressed bytes, valid until the next call, and the
 * offset in data where that frame ends. 1, 0 after the last frame, -1 on
 * a damaged frame (*why is zstd's reason). Skippable frames give 0 bytes. */
int framedec_next(struct framedec *d, const void **out, size_t *out_len,
		  uint64_t *end, const char **why);

/* Stops the workers and frees everything but the mapping. */
void framedec_free(struct framedec *d);

#endif
