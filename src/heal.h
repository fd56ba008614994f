/* What a run stands on: before it writes, every archive the kept backups
 * rely on is checked (a stat each, against the size the metadata recorded).
 * Content whose only copy was in a missing or damaged archive is forgotten,
 * so that the run stores it again from the source, and the backups that
 * can no longer be restored whole are marked damaged in the metadata. */
#ifndef INCBAK_HEAL_H
#define INCBAK_HEAL_H

#include <stdbool.h>
#include <stdint.h>

#include "catalog.h"
#include "util.h"

/* The archives found missing or damaged, and the contents they held. */
struct heal {
	struct strlist ids;        /* their backups, oldest first */
	struct strlist archives;   /* their file names, in the same order */
	int64_t *stored_again;     /* contents this run stored again, each */
	struct content_index lost; /* what only they held; holder: the backup */
};

void heal_init(struct heal *h);
void heal_release(struct heal *h);

/* Why an archive is not the one the metadata recorded (recorded: its
 * size; 0 or less: unknown), as "is missing" or "is N bytes, the metadata
 * recorded M", or NULL if nothing is wrong. exists and size are what a
 * stat found. Pure: the caller frees the string. */
char *heal_archive_problem(bool exists, int64_t size, int64_t recorded);

/* Stats the archive of every backup md records in dest; each that is
 * missing or of another size is added to h and marked damaged in md.
 * Returns how many of them md did not mark damaged yet, each reported to
 * report(). */
size_t heal_check(const char *dest, struct metadata *md, struct heal *h,
		  void (*report)(void *ctx, const char *msg), void *ctx);

/* Marks damaged the backup with this archive (found so by a reader: a
 * swapped or garbled archive, which a stat cannot tell), and adds it to
 * h as heal_check() would. */
void heal_add(struct metadata *md, struct heal *h, size_t backup,
	      const char *why);

/* Moves the contents the backups in h held out of md->contents (which
 * must be loaded) into h->lost, so that a run stores them again. */
void heal_forget(struct metadata *md, struct heal *h);

/* True if the content with this checksum was forgotten. */
bool heal_is_lost(const struct heal *h, const uint8_t checksum[HASH_SIZE]);

/* Counts a lost content stored again by this run. */
void heal_count_stored(struct heal *h, const uint8_t checksum[HASH_SIZE]);

/* True if the manifest of md's backup i, or any it continues, is in an
 * archive h found damaged. */
bool heal_chain_broken(const struct metadata *md, const struct heal *h,
		       size_t i);

/* After the run stored what it could again: marks damaged every backup
 * whose manifest continues a damaged archive, and every backup that may
 * need a lost content not stored again, with the paths of old (the tree
 * of backup old_id, or NULL) that it lost. */
void heal_mark_damaged(struct metadata *md, const struct heal *h,
		       const char *old_id, const struct tree *old);

#endif
