/* The destination lock: flock(2) on DEST/incbak.lock, so the kernel drops it
 * when a run dies, however it dies. Only lock.c opens the lock file. */
#ifndef INCBAK_LOCK_H
#define INCBAK_LOCK_H

#include <stdint.h>

#include "status.h"

struct error;
struct lock;

#define LOCK_FILE_NAME "incbak.lock"

enum lock_mode {
	LOCK_EXCLUSIVE, /* writers: run, prune, repair */
	LOCK_SHARED,    /* readers: restore, verify */
};

/* Takes the lock on dest without waiting. For LOCK_EXCLUSIVE records pid,
 * host and start time (now, seconds since the epoch) in the file. Returns
 * STATUS_OK and sets *out, STATUS_BUSY with err set to
 * "another run (pid N on HOST, started TIME) holds DEST/incbak.lock" (or,
 * when only readers hold it, saying so), or -1 on error. Readers take the
 * shared lock so that no run, prune or repair changes archives under them. */
int lock_acquire(const char *dest, enum lock_mode mode, const char *host,
		 int64_t now, struct lock **out, struct error *err);

/* Releases and frees; accepts NULL. The file stays: removing it would let
 * two runs lock two different files. */
void lock_release(struct lock *lock);

#endif
