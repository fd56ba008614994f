/* Intents: a file in the destination naming an archive that incbak is
 * about to rename in or to forget, so that after a crash the next run
 * removes that archive, and never one it cannot prove is its own. */
#ifndef INCBAK_INTENT_H
#define INCBAK_INTENT_H

struct error;
struct metadata;

#define INTENT_PREFIX ".incbak-intent."

/* Records, durably, that ARCHIVE (a file name in dest) may be left in dest
 * unrecorded if this run dies: creates DEST/.incbak-intent.NAME_backup_ID
 * (ARCHIVE without .tar.zst) with
 * O_EXCL and fsyncs the folder. Call it before the archive is renamed in,
 * or before the metadata that forgets it is saved. Returns 0 or -1. */
int intent_begin(const char *dest, const char *archive, struct error *err);

/* Removes the intent for ARCHIVE once the metadata says what happened to
 * it. Returns 0 or -1. */
int intent_end(const char *dest, const char *archive, struct error *err);

/* For every intent in dest (only those owned by the running user): removes
 * the archive it names if md does not record it, calling notice with the
 * archive's name, then the intent itself. Any other file is left alone.
 * Returns the number of archives removed, or -1. */
int intent_settle(const char *dest, const struct metadata *md,
		  void (*notice)(void *ctx, const char *archive), void *ctx,
		  struct error *err);

#endif
