/* The files a run is about to read, asked of the kernel ahead of time when
 * they are not in the page cache: the disk then serves many at once
 * instead of one small file after another (reading a cold 877 MB tree
 * took 5.5 s one file at a time here, 2.8 s four at a time).
 *
 * The caller names files in the order it will read them, while
 * warmup_wants_more() says there is room, and calls warmup_take() as it
 * starts reading each: that says whether the warm-up brought the file into
 * the cache, so that the reader drops it again after use, as it drops what
 * its own reads brought in. Nothing here reads a byte for the caller: a
 * file named and never read only stays in the cache. */
#ifndef INCBAK_WARMUP_H
#define INCBAK_WARMUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Files asked for ahead of the reader, at most; and their bytes. */
#define WARMUP_FILES 128
#define WARMUP_BYTES ((uint64_t)32 << 20)

struct warmup_item {
	const char *path; /* the caller's string, kept until taken */
	bool brought_in;  /* not (all) in the cache before it was asked for */
	uint64_t bytes;   /* asked for */
};

struct warmup {
	int rootfd;       /* the paths are relative to it */
	struct warmup_item ring[WARMUP_FILES];
	size_t first, len;
	uint64_t bytes;   /* asked for and not yet taken */
	unsigned cached_in_row; /* files found in the cache, one after another */
	bool blind;       /* the file system cannot say what is cached */
};

void warmup_init(struct warmup *w, int rootfd);

/* Whether another file may be asked for. */
bool warmup_wants_more(const struct warmup *w);

/* Asks the kernel to read the first bytes of path (of size bytes), the
 * part a reader's own readahead would not already cover. A file that
 * cannot be opened is passed over: its reader will say why. */
void warmup_ask(struct warmup *w, const char *path, uint64_t size);

/* Whether the last files asked for were all in the cache already, or the
 * file system cannot tell: the warm-up then only costs system calls, and
 * its caller stops asking. */
bool warmup_finds_cached(const struct warmup *w);

/* The caller asks again after warmup_finds_cached() made it stop. */
void warmup_resume(struct warmup *w);

/* The reader starts on path: the files asked for before it are forgotten
 * (not read after all), and whether the warm-up brought path into the
 * cache is returned (false if path was not asked for). */
bool warmup_take(struct warmup *w, const char *path);

/* Forgets every file asked for (their paths may go away). */
void warmup_clear(struct warmup *w);

#endif
