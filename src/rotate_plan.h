/* The rotation plan: which backup goes, which of its contents are carried
 * into which archive, and which of its frames go there as they are. Pure
 * functions over the metadata and what is known of a member; rotate.c
 * carries the plan out. Words: the victim is the oldest backup, the one
 * that goes; the heir is the newest, whose archive receives what the
 * victim holds that a kept backup still uses (carrying). */
#ifndef INCBAK_ROTATE_PLAN_H
#define INCBAK_ROTATE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct content;
struct metadata;
struct tree_entry;

/* How many of the oldest backups must go to keep max_backups. */
size_t rotate_plan_excess(const struct metadata *md, int max_backups);

/* Whether content held by the backup `victim_id` is still needed once that
 * backup is gone: a newer (kept) backup's tree refers to it. */
bool rotate_plan_needs_carry(const struct content *c, const char *victim_id);

/* Whether c is held by the victim and must be carried into the heir. */
bool rotate_plan_carries(const struct content *c, const char *victim_id);

/* Whether the next-oldest backup's tree must first be written whole (its
 * manifest may list only what changed since the victim's). Not when the
 * heir is that backup and is rewritten whole anyway, because it receives
 * contents (ncarries of them), nor with a single backup. */
bool rotate_plan_whole_first(size_t nhistory, size_t ncarries);

/* Whether reading the victim first, to copy frames into the heir as they
 * are, is likely to pay: most of the bytes to carry lie in frames where no
 * content that goes is stored (by the positions md records). */
bool rotate_plan_copy_frames(const struct metadata *md, const char *victim_id);

/* What rotation knows of one member of the victim's archive when deciding
 * whether the frames holding it may go into the heir as they are. */
struct rotate_member {
	uint8_t type;             /* the member's enum entry_type */
	bool is_hardlink, is_other;
	bool is_manifest;         /* the victim's own manifest */
	bool heir_has_name;       /* the heir's archive has a member so named */
	bool reserved;            /* a name under which carried contents are
				     stored (dest_member_reserved) */
	uint64_t size;
	const char *link_target;  /* a symlink's or a hard link's */
	const struct tree_entry *in_heir; /* the heir's tree at its path, or
					     NULL (unused if reserved) */
	bool name_taken;          /* a member copied before took in_heir's
				     path */
	const struct content *carried;      /* carried under its name, or
					       NULL */
	const struct content *link_carried; /* a hard link's: the content
					       carried under its target's
					       name, or NULL */
};

/* Whether the member can go into the heir as it is, so that `tar -x` of
 * the heir still gives files of its tree and nothing stale: the heir's
 * tree has it, as a folder, a symlink to the same target, a file whose
 * content is carried (under this name, which no other member takes), or a
 * hard link to such a content; or it is a content carried before under its
 * reserved name. */
bool rotate_plan_member_as_is(const struct rotate_member *m);

#endif
