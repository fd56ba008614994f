/* The files a run is about to read, asked of the kernel ahead of time when
 * they are not in the page cache: the disk then serves many at once
 * instead of one small file after another, and a run on a cold cache
 * spends far less time waiting for it.
 *
 * The caller names files in the order it will read them, while
 * source_readahead_wants_more() says there is room, and calls
 * source_readahead_take() as it starts reading each: that says whether the
 * warm-up brought the file into the cache, so that the reader drops it again
 * after use, as it drops what its own reads brought in. Nothing here reads a
 * byte for the caller: a file named and never read only stays in the cache. */
#ifndef INCBAK_SOURCE_READAHEAD_H
#define INCBAK_SOURCE_READAHEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Files asked for ahead of the reader, at most; and their bytes. */
#define SOURCE_READAHEAD_FILES 128
#define SOURCE_READAHEAD_BYTES ((uint64_t)32 << 20)

struct source_readahead_item {
	const char *path; /* the caller's string, kept until taken */
	bool brought_in;  /* not (all) in the cache before it was asked for */
	uint64_t bytes;   /* asked for */
};

struct source_readahead {
	int rootfd;       /* the paths are relative to it */
	struct source_readahead_item ring[SOURCE_READAHEAD_FILES];
	size_t first, len;
	uint64_t bytes;   /* asked for and not yet taken */
	unsigned
		cached_in_row; /* files found in the cache, one after another */
	bool blind;       /* the file system cannot say what is cached */
};

void source_readahead_init(struct source_readahead *w, int rootfd);

/* Whether another file may be asked for. */
bool source_readahead_wants_more(const struct source_readahead *w);

/* Asks the kernel to read the first bytes of path (of size bytes), the
 * part a reader's own readahead would not already cover. A file that
 * cannot be opened is passed over: its reader will say why. */
void source_readahead_ask(struct source_readahead *w, const char *path,
			  uint64_t size);

/* Whether the last files asked for were all in the cache already, or the
 * file system cannot tell: the warm-up then only costs system calls, and
 * its caller stops asking. */
bool source_readahead_finds_cached(const struct source_readahead *w);

/* The caller asks again after source_readahead_finds_cached() made it stop. */
void source_readahead_resume(struct source_readahead *w);

/* The reader starts on path: the files asked for before it are forgotten
 * (not read after all), and whether the warm-up brought path into the
 * cache is returned (false if path was not asked for). */
bool source_readahead_take(struct source_readahead *w, const char *path);

/* Forgets every file asked for (their paths may go away). */
void source_readahead_clear(struct source_readahead *w);

#endif
