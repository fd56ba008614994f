/* Which source a destination belongs to: the source's absolute path and a
 * random destination id, recorded in the metadata with the first backup, so
 * that two trees never share one metadata file (each would see the other's
 * files as deleted, and restore the other's tree). */
#ifndef INCBAK_DEST_IDENTITY_H
#define INCBAK_DEST_IDENTITY_H

#include <stdbool.h>

struct error;
struct metadata;

/* Whether source (absolute) may use the destination dest whose metadata is
 * md: yes if md records no source (a new destination, or metadata from
 * before the source was recorded) or this one, or if reattach (the source
 * was moved: the caller then records the new path). Returns STATUS_OK, or
 * STATUS_USAGE with err naming both trees and how to proceed; verb is the
 * command to suggest with --reattach ("run"), or NULL for a command that
 * only reads or prunes it (which then suggests --dest). */
int dest_identity_check(const struct metadata *md, const char *dest,
			const char *source, bool reattach, const char *verb,
			struct error *err);

/* Records source in md, and a new random destination id if md has none.
 * Returns true if md changed (it must be saved). */
bool dest_identity_claim(struct metadata *md, const char *source);

#endif
