/* The rotation plan: pure decisions over the metadata and the members of
 * the victim's archive, so that rotate.c only carries them out. */
#include "rotate_plan.h"

#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "tree.h"
#include "util.h"

size_t rotate_plan_excess(const struct metadata *md, int max_backups)
{
	if (max_backups < 1 || md->nhistory <= (size_t)max_backups)
		return 0;
	return md->nhistory - (size_t)max_backups;
}

bool rotate_plan_needs_carry(const struct content *c, const char *victim_id)
{
	return strcmp(c->last_used, victim_id) > 0;
}

bool rotate_plan_carries(const struct content *c, const char *victim_id)
{
	return !strcmp(c->holder, victim_id) &&
	       rotate_plan_needs_carry(c, victim_id);
}

bool rotate_plan_whole_first(size_t nhistory, size_t ncarries)
{
	return nhistory > 1 && !(ncarries && nhistory == 2);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The frames (by offset) where the victim stores a content that goes,
 * sorted. */
static uint64_t *frames_dropped(const struct metadata *md,
				const char *victim_id, size_t *n)
{
	uint64_t *gone = NULL;
	size_t alloc = 0;

	*n = 0;
	for (size_t i = 0; i < md->contents.len; i++) {
		const struct content *c = &md->contents.items[i];

		if (strcmp(c->holder, victim_id) ||
		    rotate_plan_needs_carry(c, victim_id) || !c->has_frame)
			continue;
		grow_array((void **)&gone, &alloc, *n + 1, sizeof(*gone));
		gone[(*n)++] = c->frame_offset;
	}
	if (*n > 1)
		qsort(gone, *n, sizeof(*gone), cmp_u64);
	return gone;
}

bool rotate_plan_copy_frames(const struct metadata *md, const char *victim_id)
{
	uint64_t clean = 0, total = 0;
	size_t ngone;
	uint64_t *gone = frames_dropped(md, victim_id, &ngone);

	for (size_t i = 0; i < md->contents.len; i++) {
		const struct content *c = &md->contents.items[i];

		if (!rotate_plan_carries(c, victim_id))
			continue;
		total += c->size;
		if (c->has_frame && !(ngone && bsearch(&c->frame_offset, gone,
							ngone, sizeof(*gone),
							cmp_u64)))
			clean += c->size;
	}
	free(gone);
	return clean > total / 2;
}

/* A content carried before, under its checksum: as it is if it is still
 * to be carried and the member is all of it. */
static bool reserved_as_is(const struct rotate_member *m)
{
	if (m->is_hardlink || m->type != ENTRY_FILE)
		return false;
	return m->carried && m->size == m->carried->size;
}

bool rotate_plan_member_as_is(const struct rotate_member *m)
{
	const struct tree_entry *e = m->in_heir;

	if (m->is_other || m->is_manifest || m->heir_has_name)
		return false;
	if (m->reserved)
		return reserved_as_is(m);
	if (!e || e->type != m->type)
		return false;
	if (m->is_hardlink)
		return m->link_carried &&
		       !memcmp(e->checksum, m->link_carried->checksum,
			       HASH_SIZE);
	if (m->type == ENTRY_DIR)
		return true;
	if (m->type == ENTRY_SYMLINK)
		return e->link_target && m->link_target &&
		       !strcmp(e->link_target, m->link_target);
	return m->carried && m->size == m->carried->size &&
	       !memcmp(e->checksum, m->carried->checksum, HASH_SIZE) &&
	       !m->name_taken;
}
