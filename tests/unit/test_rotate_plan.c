/* Unit tests for rotate_plan.c: how many backups go, which contents are
 * carried, whether the next tree is made whole first, whether frames are
 * copied as they are, and which members of the victim may be, by tables. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "catalog.h"
#include "rotate_plan.h"
#include "tree.h"
#include "util.h"

/* Backup ids sort by time, as real ones do. */
#define B1 "20260101T000000Z"
#define B2 "20260102T000000Z"
#define B3 "20260103T000000Z"

static void test_excess(void **state)
{
	static const struct { size_t nhistory; int max; size_t want; } cases[] = {
		{ 0, 3, 0 }, { 3, 3, 0 }, { 4, 3, 1 }, { 10, 3, 7 },
		{ 1, 1, 0 }, { 2, 1, 1 },
		/* no limit */
		{ 5, 0, 0 }, { 5, -1, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct metadata md = { .nhistory = cases[i].nhistory };

		if (rotate_plan_excess(&md, cases[i].max) != cases[i].want)
			fail_msg("case %zu: %zu backups, keep %d: got %zu", i,
				 cases[i].nhistory, cases[i].max,
				 rotate_plan_excess(&md, cases[i].max));
	}
}

struct carry_case {
	const char *holder, *last_used, *victim;
	bool needs, carries;
};

static void test_carries(void **state)
{
	static const struct carry_case cases[] = {
		/* held by the victim, used by a newer backup: carried */
		{ B1, B2, B1, true, true },
		{ B1, B3, B1, true, true },
		/* used last by the victim itself: dropped with it */
		{ B1, B1, B1, false, false },
		/* held by another backup: stays where it is */
		{ B2, B3, B1, true, false },
		{ B2, B2, B1, true, false },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct carry_case *c = &cases[i];
		struct content ct = { .holder = c->holder,
				      .last_used = c->last_used };

		if (rotate_plan_needs_carry(&ct, c->victim) != c->needs ||
		    rotate_plan_carries(&ct, c->victim) != c->carries)
			fail_msg("case %zu: holder %s last used %s victim %s",
				 i, c->holder, c->last_used, c->victim);
	}
}

static void test_whole_first(void **state)
{
	static const struct { size_t nhistory, ncarries; bool want; } cases[] = {
		{ 1, 0, false }, { 1, 5, false },
		/* the heir is the next-oldest: rewritten whole if it
		 * receives anything, else made whole */
		{ 2, 0, true }, { 2, 1, false },
		{ 3, 0, true }, { 3, 1, true }, { 10, 100, true },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (rotate_plan_whole_first(cases[i].nhistory,
					    cases[i].ncarries) != cases[i].want)
			fail_msg("case %zu: %zu backups, %zu carried", i,
				 cases[i].nhistory, cases[i].ncarries);
}

/* One content of the victim B1 for test_copy_frames. */
struct frame_content {
	bool carried;      /* else used last by B1: it goes */
	uint64_t size;
	bool has_frame;
	uint64_t frame;
};

#define MAX_CONTENTS 5

struct frames_case {
	struct frame_content contents[MAX_CONTENTS]; /* ends at size 0 */
	bool want;
};

static void test_copy_frames(void **state)
{
	static const struct frames_case cases[] = {
		/* nothing goes: every frame is clean */
		{ { { true, 100, true, 0 }, { true, 100, true, 50 } }, true },
		/* the only carried content shares its frame with one that
		 * goes */
		{ { { true, 100, true, 0 }, { false, 10, true, 0 } }, false },
		/* most bytes clean */
		{ { { true, 100, true, 0 }, { true, 10, true, 80 },
		    { false, 10, true, 80 } }, true },
		/* most bytes in a spoiled frame */
		{ { { true, 10, true, 0 }, { true, 100, true, 80 },
		    { false, 10, true, 80 } }, false },
		/* exactly half clean is not enough */
		{ { { true, 50, true, 0 }, { true, 50, true, 80 },
		    { false, 10, true, 80 } }, false },
		/* positions unknown: nothing to copy by */
		{ { { true, 100, false, 0 } }, false },
		/* a content that goes with no known frame spoils none */
		{ { { true, 100, true, 0 }, { false, 10, false, 0 } }, true },
		/* nothing to carry */
		{ { { false, 10, true, 0 } }, false },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct metadata md;

		catalog_init(&md);
		for (size_t j = 0; j < MAX_CONTENTS; j++) {
			const struct frame_content *f = &cases[i].contents[j];
			uint8_t sum[HASH_SIZE] = { (uint8_t)(j + 1) };
			struct content *c;

			if (!f->size)
				break;
			c = catalog_content_insert(&md.contents, sum, f->size, B1,
					   "m", f->carried ? B2 : B1);
			c->has_frame = f->has_frame;
			c->frame_offset = f->frame;
		}
		/* another backup's content in the same frame changes
		 * nothing */
		{
			uint8_t sum[HASH_SIZE] = { 0xee };
			struct content *c = catalog_content_insert(&md.contents, sum,
							   1, B2, "o", B2);
			c->has_frame = true;
		}
		if (rotate_plan_copy_frames(&md, B1) != cases[i].want)
			fail_msg("case %zu: want %d", i, cases[i].want);
		catalog_release(&md);
	}
}

enum heir { NOT_IN_HEIR, HEIR_FILE, HEIR_OTHER_SUM, HEIR_DIR, HEIR_LINK_X,
	    HEIR_LINK_Y };

struct member_case {
	uint8_t type;
	bool hardlink, other, manifest, heir_has_name, reserved;
	uint64_t size;
	const char *link_target;
	enum heir heir;
	bool name_taken;
	bool carried;       /* a carry of size 10, sum S, under its name */
	bool link_carried;  /* a hard link's target carried (sum S) */
	bool want;
};

#define F ENTRY_FILE
#define D ENTRY_DIR
#define L ENTRY_SYMLINK

static void test_member_as_is(void **state)
{
	static const struct member_case cases[] = {
		/* a file the heir has with the carried content */
		{ F, 0, 0, 0, 0, 0, 10, NULL, HEIR_FILE, 0, 1, 0, true },
		/* ... but another member took its name already */
		{ F, 0, 0, 0, 0, 0, 10, NULL, HEIR_FILE, 1, 1, 0, false },
		/* ... with other bytes in the heir */
		{ F, 0, 0, 0, 0, 0, 10, NULL, HEIR_OTHER_SUM, 0, 1, 0, false },
		/* ... of another size than the carry */
		{ F, 0, 0, 0, 0, 0, 11, NULL, HEIR_FILE, 0, 1, 0, false },
		/* ... not carried */
		{ F, 0, 0, 0, 0, 0, 10, NULL, HEIR_FILE, 0, 0, 0, false },
		/* ... gone from the heir's tree */
		{ F, 0, 0, 0, 0, 0, 10, NULL, NOT_IN_HEIR, 0, 1, 0, false },
		/* ... a folder there now */
		{ F, 0, 0, 0, 0, 0, 10, NULL, HEIR_DIR, 0, 1, 0, false },
		/* ... the heir's archive has a member so named */
		{ F, 0, 0, 0, 1, 0, 10, NULL, HEIR_FILE, 0, 1, 0, false },
		/* the victim's manifest, anything not a file, folder or link */
		{ F, 0, 0, 1, 0, 0, 10, NULL, HEIR_FILE, 0, 1, 0, false },
		{ F, 0, 1, 0, 0, 0, 10, NULL, HEIR_FILE, 0, 1, 0, false },
		/* folders */
		{ D, 0, 0, 0, 0, 0, 0, NULL, HEIR_DIR, 0, 0, 0, true },
		{ D, 0, 0, 0, 0, 0, 0, NULL, NOT_IN_HEIR, 0, 0, 0, false },
		{ D, 0, 0, 0, 0, 0, 0, NULL, HEIR_FILE, 0, 0, 0, false },
		/* symlinks, to the same target or not */
		{ L, 0, 0, 0, 0, 0, 0, "x", HEIR_LINK_X, 0, 0, 0, true },
		{ L, 0, 0, 0, 0, 0, 0, "x", HEIR_LINK_Y, 0, 0, 0, false },
		{ L, 0, 0, 0, 0, 0, 0, NULL, HEIR_LINK_X, 0, 0, 0, false },
		/* hard links to a carried content the heir's file has */
		{ F, 1, 0, 0, 0, 0, 0, "t", HEIR_FILE, 0, 0, 1, true },
		{ F, 1, 0, 0, 0, 0, 0, "t", HEIR_OTHER_SUM, 0, 0, 1, false },
		{ F, 1, 0, 0, 0, 0, 0, "t", HEIR_FILE, 0, 0, 0, false },
		{ F, 1, 0, 0, 0, 0, 0, "t", NOT_IN_HEIR, 0, 0, 1, false },
		/* contents carried before under their reserved names */
		{ F, 0, 0, 0, 0, 1, 10, NULL, NOT_IN_HEIR, 0, 1, 0, true },
		{ F, 0, 0, 0, 0, 1, 11, NULL, NOT_IN_HEIR, 0, 1, 0, false },
		{ F, 0, 0, 0, 0, 1, 10, NULL, NOT_IN_HEIR, 0, 0, 0, false },
		{ F, 1, 0, 0, 0, 1, 10, "t", NOT_IN_HEIR, 0, 1, 1, false },
		{ D, 0, 0, 0, 0, 1, 0, NULL, NOT_IN_HEIR, 0, 1, 0, false },
	};
	struct content carry = { .checksum = { 'S' }, .size = 10 };
	struct tree_entry heir[] = {
		[HEIR_FILE] = { .path = "p", .type = F, .checksum = { 'S' } },
		[HEIR_OTHER_SUM] = { .path = "p", .type = F,
				     .checksum = { 'T' } },
		[HEIR_DIR] = { .path = "p", .type = D },
		[HEIR_LINK_X] = { .path = "p", .type = L,
				  .link_target = "x" },
		[HEIR_LINK_Y] = { .path = "p", .type = L,
				  .link_target = "y" },
	};
	size_t failures = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct member_case *c = &cases[i];
		struct rotate_member m = {
			.type = c->type, .is_hardlink = c->hardlink,
			.is_other = c->other, .is_manifest = c->manifest,
			.heir_has_name = c->heir_has_name,
			.reserved = c->reserved, .size = c->size,
			.link_target = c->link_target,
			.in_heir = c->heir == NOT_IN_HEIR ? NULL
							  : &heir[c->heir],
			.name_taken = c->name_taken,
			.carried = c->carried ? &carry : NULL,
			.link_carried = c->link_carried ? &carry : NULL,
		};

		if (rotate_plan_member_as_is(&m) != c->want) {
			print_error("case %zu: got %d, want %d\n", i, !c->want,
				    c->want);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_excess),
		cmocka_unit_test(test_carries),
		cmocka_unit_test(test_whole_first),
		cmocka_unit_test(test_copy_frames),
		cmocka_unit_test(test_member_as_is),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
