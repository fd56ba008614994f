/* The contents by checksum: an array in insertion order with an
 * open-addressing index on the checksum, and the backup ids they share. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "catalog_internal.h"

static size_t content_slot_start(const struct content_index *idx,
				 const uint8_t sum[HASH_SIZE])
{
	uint64_t h;

	memcpy(&h, sum, sizeof(h));
	return (size_t)(h & (idx->nslots - 1));
}

static void content_rehash(struct content_index *idx, size_t nslots)
{
	free(idx->slots);
	idx->nslots = nslots;
	idx->slots = xcalloc(nslots, sizeof(*idx->slots));
	for (size_t i = 0; i < idx->len; i++) {
		size_t s = content_slot_start(idx, idx->items[i].checksum);

		while (idx->slots[s])
			s = (s + 1) & (nslots - 1);
		idx->slots[s] = (uint32_t)(i + 1);
	}
}

struct content *catalog_content_find(const struct content_index *idx,
				     const uint8_t checksum[HASH_SIZE])
{
	size_t s;

	if (!idx->nslots)
		return NULL;
	for (s = content_slot_start(idx, checksum); idx->slots[s];
	     s = (s + 1) & (idx->nslots - 1)) {
		struct content *c = &idx->items[idx->slots[s] - 1];

		if (memcmp(c->checksum, checksum, HASH_SIZE) == 0)
			return c;
	}
	return NULL;
}

void catalog_content_copy_frame(struct content *c, const struct content *from)
{
	c->has_frame = from->has_frame;
	c->frame_offset = from->frame_offset;
	c->frame_skip = from->frame_skip;
}

/* The index's own copy of id, shared with the contents that name it. Only
 * the ids added last are looked at: a run names a handful, and a file
 * naming a million different ones costs a copy each, not a quadratic
 * search. */
#define RECENT_IDS 16

static const char *intern_id(struct content_index *idx, const char *id)
{
	struct strlist *ids = &idx->ids;

	if (!id)
		id = "";
	for (size_t i = ids->len; i > 0 && i + RECENT_IDS > ids->len; i--)
		if (!strcmp(ids->items[i - 1], id))
			return ids->items[i - 1];
	strlist_push(ids, id);
	return ids->items[ids->len - 1];
}

void catalog_content_set_holder(struct content_index *idx, struct content *c,
				const char *id)
{
	c->holder = intern_id(idx, id);
}

void catalog_content_set_last_used(struct content_index *idx, struct content *c,
				   const char *id)
{
	c->last_used = intern_id(idx, id);
}

struct content *catalog_content_insert(struct content_index *idx,
				       const uint8_t checksum[HASH_SIZE],
				       uint64_t size, const char *holder,
				       const char *member,
				       const char *last_used)
{
	struct content *c;
	size_t s;

	/* Items may move: a kept order would point at the old ones. */
	free(idx->order);
	idx->order = NULL;
	/* Slots hold 32-bit indexes (8 MB less for a million contents). */
	if (idx->len >= UINT32_MAX - 1)
		out_of_memory((idx->len + 1) * sizeof(*idx->items));
	grow_array((void **)&idx->items, &idx->alloc, idx->len + 1,
		   sizeof(*idx->items));
	c = &idx->items[idx->len++];
	memcpy(c->checksum, checksum, HASH_SIZE);
	c->size = size;
	c->holder = intern_id(idx, holder);
	c->member = names_store(&idx->members, member, strlen(member));
	c->last_used = intern_id(idx, last_used);
	c->has_frame = false;
	c->frame_offset = c->frame_skip = 0;
	if (idx->len * 2 > idx->nslots) {
		content_rehash(idx, idx->nslots ? idx->nslots * 2 : 64);
		return c;
	}
	for (s = content_slot_start(idx, checksum); idx->slots[s];
	     s = (s + 1) & (idx->nslots - 1))
		;
	idx->slots[s] = (uint32_t)idx->len;
	return c;
}

void catalog_content_set_member(struct content_index *idx, struct content *c,
				const char *member)
{
	c->member = names_store(&idx->members, member, strlen(member));
}

void catalog_content_remove_if(struct content_index *idx,
			       bool (*drop)(const struct content *c, void *ctx),
			       void *ctx)
{
	size_t kept = 0;

	free(idx->order);
	idx->order = NULL;
	for (size_t i = 0; i < idx->len; i++) {
		struct content *c = &idx->items[i];

		/* Its member name stays in idx->members until the end. */
		if (drop(c, ctx))
			continue;
		idx->items[kept++] = *c;
	}
	idx->len = kept;
	content_rehash(idx, idx->nslots ? idx->nslots : 64);
}

bool catalog_content_has_size(const struct content_index *idx, uint64_t size)
{
	for (size_t i = 0; i < idx->len; i++)
		if (idx->items[i].size == size)
			return true;
	return false;
}

static int cmp_content_ptrs(const void *a, const void *b)
{
	const struct content *x = *(const struct content *const *)a;
	const struct content *y = *(const struct content *const *)b;

	return memcmp(x->checksum, y->checksum, HASH_SIZE);
}

const struct content **catalog_content_sorted(const struct content_index *idx)
{
	const struct content **v = xmalloc((idx->len + 1) * sizeof(*v));

	for (size_t i = 0; i < idx->len; i++)
		v[i] = &idx->items[i];
	if (idx->len > 1)
		qsort(v, idx->len, sizeof(*v), cmp_content_ptrs);
	return v;
}

void catalog_contents_keep_order(struct content_index *idx)
{
	free(idx->order);
	idx->order = catalog_content_sorted(idx);
}

const struct content **catalog_content_order(const struct content_index *idx,
					     bool *owned)
{
	*owned = !idx->order;
	return idx->order ? idx->order : catalog_content_sorted(idx);
}

void catalog_contents_release(struct content_index *idx)
{
	free(idx->order);
	free(idx->items);
	names_release(&idx->members);
	free(idx->slots);
	strlist_clear(&idx->ids);
	memset(idx, 0, sizeof(*idx));
}

