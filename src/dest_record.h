/* What this user knows of each destination it backed up to, kept outside
 * the destination (${XDG_STATE_HOME:-~/.local/state}/incbak/destinations,
 * as borg keeps its security folder): a disk that is not mounted, or
 * another one in its place, is noticed instead of filled. */
#ifndef INCBAK_DEST_RECORD_H
#define INCBAK_DEST_RECORD_H

#include <stdbool.h>

struct error;
struct metadata;

/* Checks dest's metadata md against this user's record of dest in
 * state_dir (nothing to check without a record). Returns 0, or -1 with err
 * set ("is the disk mounted?") if the record names a backup and md has
 * none, or only older ones, or if both know the destination's id and they
 * differ (another destination is there now). */
int dest_record_check(const char *state_dir, const char *dest,
		      const struct metadata *md, struct error *err);

/* Records that dest's newest backup is last_id and its id dest_id (NULL:
 * unknown), durably, mode 0600. */
int dest_record_save(const char *state_dir, const char *dest,
		     const char *last_id, const char *dest_id,
		     struct error *err);

#endif
