/* An archive's wanted file members (or all its members, for verify) read,
 * and their SHA-256 computed, on a thread of their own, ahead of the
 * caller. A restore spends about as much
 * time decompressing and hashing as it spends in the kernel creating and
 * writing the files; with the first on this thread and the second on the
 * caller's, two cores share the work. Hashing goes to whichever thread is
 * ahead, member by member (then archive_readahead_data() does it on the
 * caller's), which the caller sees only in the time it takes. */
#ifndef INCBAK_ARCHIVE_READAHEAD_H
#define INCBAK_ARCHIVE_READAHEAD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "hash.h"
#include "tree.h"

struct error;
struct archive_readahead;

/* Whether the member called `name` is wanted: the most bytes any use of it
 * can take, or -1 to pass it over. Called on the reading thread, so it may
 * only look at what nobody changes while the read-ahead is open. */
typedef int64_t (*archive_readahead_want_fn)(void *ctx, const char *name);

/* Opens the archive at path. Only regular file members (not hard links,
 * folders, symlinks or devices) that `want` accepts are delivered, each
 * with at most one byte more than `want` allowed, so a member longer than
 * recorded is seen without reading all of it. With `threaded` false, or if
 * no thread can be started, everything happens on the caller's thread, in
 * the same order and with the same results. */
int archive_readahead_open(const char *path, archive_readahead_want_fn want,
			   void *ctx, bool threaded,
			   struct archive_readahead **out, struct error *err);

/* Every member of any kind, every file whole, in archive order (for a
 * check of the whole archive). Folders, symlinks, hard links and devices
 * come with no data: archive_readahead_data() gives 0 at once. */
int archive_readahead_open_every(const char *path, bool threaded,
			struct archive_readahead **out, struct error *err);

/* Moves to the next wanted member, passing over what is left of the
 * current one: 1 with *name (valid until the next call), 0 at the end of
 * the archive, -1 if it is damaged (err says where and how; every later
 * call fails the same way). */
int archive_readahead_next(struct archive_readahead *p, const char **name,
			   struct error *err);

/* A member as archive_readahead_next_member() gives it; the strings are valid
 * until the next call. */
struct archive_readahead_member {
	const char *name;
	const char *link_target;  /* symlinks and hard links, else NULL */
	enum entry_type type;
	bool is_hardlink;
	bool is_other;            /* a device, FIFO or socket */
};

/* archive_readahead_next() with what kind of member it is. */
int archive_readahead_next_member(struct archive_readahead *p,
				  struct archive_readahead_member *m,
				  struct error *err);

/* The current member's next bytes: sets *data and returns how many there
 * are (valid until the next call), 0 at its end (archive_readahead_digest() is
 * then valid), -1 as archive_readahead_next(). Every piece but a member's last
 * is a whole number of 4 KiB blocks. */
ssize_t archive_readahead_data(struct archive_readahead *p, const void **data,
		      struct error *err);

/* Once archive_readahead_data() returned 0: the SHA-256 of the member's bytes.
 */
void archive_readahead_digest(const struct archive_readahead *p,
			      uint8_t out[HASH_SIZE]);

/* Stops the reading thread and closes the archive. Accepts NULL. */
void archive_readahead_close(struct archive_readahead *p);

#endif
