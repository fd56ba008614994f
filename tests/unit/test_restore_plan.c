/* Unit tests for restore_plan.c: which entries a restore of some paths
 * writes, where each file's bytes are read from, in which order, and
 * whether an archive is read by seeking or in one pass, by tables. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "restore_plan.h"
#include "tree.h"
#include "util.h"

static void test_normalize(void **state)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "docs", "docs" }, { "docs/", "docs" }, { "docs//", "docs" },
		{ "./docs", "docs" }, { "././docs/a.txt", "docs/a.txt" },
		{ ".", "" }, { "./", "" }, { "", "" }, { "./.", "" },
		{ ".hidden", ".hidden" }, { "..x", "..x" },
		{ "a/./b", "a/./b" }, /* only a leading ./ is dropped */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *got = restore_plan_normalize(cases[i].in);

		if (strcmp(got, cases[i].want))
			fail_msg("'%s': got '%s', want '%s'", cases[i].in, got,
				 cases[i].want);
		free(got);
	}
}

static void test_map_path(void **state)
{
	/* source /home/me/src; NULL: outside the source */
	static const struct { const char *cwd, *asked, *want; } cases[] = {
		/* absolute: wherever restore runs */
		{ "/tmp", "/home/me/src/docs/a.txt", "docs/a.txt" },
		{ "/home/me/src/docs", "/home/me/src/b", "b" },
		{ "/tmp", "/home/me/src", "" },
		{ "/tmp", "/home/me/src/", "" },
		{ "/tmp", "/home/me/src/./docs//x/../a", "docs/a" },
		{ "/tmp", "/home/me/srcx/a", NULL },
		{ "/tmp", "/home/me/src/../other", NULL },
		{ "/tmp", "/etc/passwd", NULL },
		{ "/tmp", "/", NULL },
		/* relative, from a folder inside the source */
		{ "/home/me/src", "docs/a.txt", "docs/a.txt" },
		{ "/home/me/src/docs", "a.txt", "docs/a.txt" },
		{ "/home/me/src/docs", ".", "docs" },
		{ "/home/me/src/docs", "./sub/", "docs/sub" },
		{ "/home/me/src/docs", "../b", "b" },
		{ "/home/me/src/docs", "..", "" },
		{ "/home/me/src/docs", "../..", NULL },
		{ "/home/me/src", "../x", NULL },
		/* relative, from outside: from the source root, as before */
		{ "/tmp", "docs/a.txt", "docs/a.txt" },
		{ "/tmp", "./docs/", "docs" },
		{ "/tmp", ".", "" },
		{ "/home/me", "src/a", "src/a" },
		{ "/tmp", "../a", NULL },
		{ "/tmp", ".hidden/..x", ".hidden/..x" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *got = restore_plan_map_path("/home/me/src", cases[i].cwd,
						  cases[i].asked);

		if (!cases[i].want != !got ||
		    (got && strcmp(got, cases[i].want)))
			fail_msg("'%s' from %s: got '%s', want '%s'",
				 cases[i].asked, cases[i].cwd,
				 got ? got : "(outside)",
				 cases[i].want ? cases[i].want : "(outside)");
		free(got);
	}
}

static void test_compare(void **state)
{
	enum { F = ENTRY_FILE, D = ENTRY_DIR, L = ENTRY_SYMLINK };
	enum { NEW = RESTORE_PLAN_NEW, UPD = RESTORE_PLAN_UPDATE,
	       SAME = RESTORE_PLAN_SAME };
	/* the backup's entry: a file of 5 bytes, mode 0644, mtime 100.5,
	 * owner 1:1, or a folder 0755 / a symlink to "t" with that time */
	static const struct {
		uint8_t want_type;
		struct restore_plan_found f;
		bool owners;
		int want;
	} cases[] = {
		{ F, { .exists = false }, false, NEW },
		{ F, { true, F, 0644, 1, 1, 5, { 100, 5 }, NULL }, false, SAME },
		{ F, { true, F, 0644, 1, 1, 6, { 100, 5 }, NULL }, false, UPD },
		{ F, { true, F, 0644, 1, 1, 5, { 100, 6 }, NULL }, false, UPD },
		{ F, { true, F, 0600, 1, 1, 5, { 100, 5 }, NULL }, false, UPD },
		{ F, { true, F, 0644, 2, 1, 5, { 100, 5 }, NULL }, false, SAME },
		{ F, { true, F, 0644, 2, 1, 5, { 100, 5 }, NULL }, true, UPD },
		{ F, { true, F, 0644, 1, 3, 5, { 100, 5 }, NULL }, true, UPD },
		{ F, { true, D, 0644, 1, 1, 5, { 100, 5 }, NULL }, false, UPD },
		{ F, { true, 0xff, 0644, 1, 1, 5, { 100, 5 }, NULL }, false,
		  UPD },
		{ D, { true, D, 0755, 1, 1, 4096, { 100, 5 }, NULL }, false,
		  SAME },
		{ D, { true, D, 0700, 1, 1, 4096, { 100, 5 }, NULL }, false,
		  UPD },
		{ D, { true, D, 0755, 1, 1, 4096, { 101, 5 }, NULL }, false,
		  UPD },
		{ D, { true, F, 0755, 1, 1, 4096, { 100, 5 }, NULL }, false,
		  UPD },
		{ L, { true, L, 0777, 1, 1, 1, { 100, 5 }, "t" }, false, SAME },
		{ L, { true, L, 0777, 1, 1, 1, { 100, 5 }, "u" }, false, UPD },
		{ L, { true, L, 0777, 1, 1, 1, { 100, 5 }, NULL }, false, UPD },
		{ L, { true, L, 0777, 1, 1, 1, { 99, 5 }, "t" }, false, UPD },
		{ L, { true, F, 0644, 1, 1, 1, { 100, 5 }, NULL }, false, UPD },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tree_entry e = {
			.path = (char *)"x", .link_target = (char *)"t",
			.size = 5, .mtime = { 100, 5 }, .uid = 1, .gid = 1,
			.type = cases[i].want_type,
		};
		uint32_t mode = e.type == ENTRY_FILE ? 0644 : 0755;

		e.mode = mode;
		if (e.type == ENTRY_SYMLINK)
			e.size = 1;
		if ((int)restore_plan_compare(&e, mode, &cases[i].f,
					      cases[i].owners) !=
		    cases[i].want)
			fail_msg("case %zu", i);
	}
}

static void test_whole_tree(void **state)
{
	static const struct { const char *paths[3]; bool want; } cases[] = {
		{ { NULL }, true },
		{ { "" }, true },
		{ { "docs", "" }, true },
		{ { "docs" }, false },
		{ { "docs", "src" }, false },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strlist scopes = {0};

		for (size_t j = 0; j < 3 && cases[i].paths[j]; j++)
			strlist_push(&scopes, cases[i].paths[j]);
		if (restore_plan_whole_tree(&scopes) != cases[i].want)
			fail_msg("case %zu", i);
		strlist_clear(&scopes);
	}
}

/* A backup's tree, sorted as trees are (by strcmp: "docs-old" and
 * "docs.txt" come between "docs" and "docs/a.txt"). */
static const char *const paths[] = {
	"a.txt", "docs", "docs-old", "docs-old/c.txt", "docs.txt",
	"docs/a.txt", "docs/sub", "docs/sub/b.txt", "docs2", "src", "src/x.c",
};

#define NPATHS ARRAY_SIZE(paths)

static void make_tree(struct tree *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < NPATHS; i++)
		tree_push(t)->path = xstrdup(paths[i]);
}

struct choose_case {
	const char *asked[3];
	const char *want;   /* one letter per path: 'x' chosen, '.' not */
	bool found;
};

static void test_choose(void **state)
{
	static const struct choose_case cases[] = {
		/* a folder: itself and all under it, not its look-alikes */
		{ { "docs" }, ".x...xxx...", true },
		/* a file deep down: it and the folders above */
		{ { "docs/sub/b.txt" }, ".x....xx...", true },
		{ { "docs/sub" }, ".x....xx...", true },
		{ { "a.txt" }, "x..........", true },
		{ { "docs-old" }, "..xx.......", true },
		{ { "docs.txt", "src" }, "....x....xx", true },
		/* not in the backup */
		{ { "doc" }, "...........", false },
		{ { "docs/sub/c.txt" }, "...........", false },
		{ { "src/x" }, "...........", false },
	};
	struct tree t;

	(void)state;
	make_tree(&t);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct choose_case *c = &cases[i];
		bool chosen[NPATHS] = { false };
		bool found = true;
		char got[NPATHS + 1] = { 0 };

		for (size_t j = 0; j < 3 && c->asked[j]; j++)
			found &= restore_plan_choose(&t, c->asked[j], chosen);
		for (size_t j = 0; j < NPATHS; j++)
			got[j] = chosen[j] ? 'x' : '.';
		if (found != c->found || strcmp(got, c->want))
			fail_msg("case %zu ('%s'): got %s found %d, want %s "
				 "found %d", i, c->asked[0], got, found,
				 c->want, c->found);
	}
	tree_release(&t);
}

static void test_reads(void **state)
{
	static const struct { uint8_t type; uint64_t size; bool want; } cases[] = {
		{ ENTRY_FILE, 1, true }, { ENTRY_FILE, 0, false },
		{ ENTRY_DIR, 0, false }, { ENTRY_SYMLINK, 4, false },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tree_entry e = { .path = "p", .type = cases[i].type,
					.size = cases[i].size };

		if (restore_plan_reads(&e) != cases[i].want)
			fail_msg("case %zu", i);
	}
}

#define B0 "20251231T000000Z"
#define B1 "20260101T000000Z"
#define B2 "20260102T000000Z"

/* Contents by checksum byte: who holds them, under which member. */
static const struct { uint8_t sum; const char *holder, *member; } held[] = {
	{ 1, B1, "docs/a.txt" }, { 2, B2, "a.txt" }, { 3, B1, "a.txt" },
	{ 4, B0, "gone.txt" }, { 5, B2, "src/x.c" },
};

static void make_metadata(struct metadata *md)
{
	catalog_init(md);
	catalog_add_history(md)->backup_id = xstrdup(B1);
	catalog_add_history(md)->backup_id = xstrdup(B2);
	for (size_t i = 0; i < ARRAY_SIZE(held); i++) {
		uint8_t sum[HASH_SIZE] = { held[i].sum };

		catalog_content_insert(&md->contents, sum, 10, held[i].holder,
			       held[i].member, held[i].holder);
	}
}

struct need_case {
	uint8_t sum;
	enum restore_plan_status want;
	size_t hist;
};

static void test_need(void **state)
{
	static const struct need_case cases[] = {
		{ 1, RESTORE_PLAN_OK, 0 },
		{ 2, RESTORE_PLAN_OK, 1 },
		{ 5, RESTORE_PLAN_OK, 1 },
		{ 4, RESTORE_PLAN_NOT_KEPT, 0 },  /* its holder rotated away */
		{ 9, RESTORE_PLAN_UNRECORDED, 0 },
	};
	struct metadata md;
	struct tree t = {0};

	(void)state;
	make_metadata(&md);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tree_entry *e = tree_push(&t);

		e->path = xstrdup(paths[i]);
		e->size = 10;
		e->checksum[0] = cases[i].sum;
	}
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct restore_need n;
		enum restore_plan_status got = restore_plan_need(&md, &t, i,
								 &n);

		if (got != cases[i].want || n.entry != i ||
		    (got == RESTORE_PLAN_OK && n.hist != cases[i].hist) ||
		    (got != RESTORE_PLAN_UNRECORDED &&
		     n.c->checksum[0] != cases[i].sum))
			fail_msg("case %zu: got %d hist %zu", i, got, n.hist);
	}
	tree_release(&t);
	catalog_release(&md);
}

/* Needs given as (entry, checksum byte) and their reading order: the
 * oldest archive first; in one archive by member, then checksum, then
 * path; paths that share a content next to each other. */
static void test_order_and_archives(void **state)
{
	static const struct { size_t entry; uint8_t sum; } given[] = {
		{ 0, 5 }, { 1, 2 }, { 2, 1 }, { 3, 3 }, { 4, 2 }, { 5, 1 },
	};
	static const size_t want_entries[] = { 3, 2, 5, 1, 4, 0 };
	static const size_t want_ends[] = { 3, 3, 3, 6, 6, 6 };
	struct restore_need needs[ARRAY_SIZE(given)];
	struct metadata md;

	(void)state;
	make_metadata(&md);
	for (size_t i = 0; i < ARRAY_SIZE(given); i++) {
		uint8_t sum[HASH_SIZE] = { given[i].sum };

		needs[i] = (struct restore_need){
			.entry = given[i].entry,
			.c = catalog_content_find(&md.contents, sum),
		};
		needs[i].hist = strcmp(needs[i].c->holder, B1) ? 1 : 0;
	}
	restore_plan_sort(needs, ARRAY_SIZE(needs));
	for (size_t i = 0; i < ARRAY_SIZE(needs); i++) {
		size_t end = restore_plan_archive_end(needs, ARRAY_SIZE(needs),
						      i);

		if (needs[i].entry != want_entries[i])
			fail_msg("position %zu: entry %zu, want %zu", i,
				 needs[i].entry, want_entries[i]);
		if (end != want_ends[i])
			fail_msg("position %zu: archive ends at %zu, want %zu",
				 i, end, want_ends[i]);
	}
	/* members of B2's archive: "a.txt" twice, then "src/x.c" */
	assert_int_equal(restore_plan_first_member(needs, 3, 6, "a.txt"), 3);
	assert_int_equal(restore_plan_first_member(needs, 3, 6, "b"), 5);
	assert_int_equal(restore_plan_first_member(needs, 3, 6, "src/x.c"), 5);
	assert_int_equal(restore_plan_first_member(needs, 3, 6, "z"), 6);
	assert_int_equal(restore_plan_first_member(needs, 0, 3, "a.txt"), 0);
	assert_int_equal(restore_plan_first_member(needs, 0, 3, "docs/a.txt"),
			 1);
	catalog_release(&md);
}

struct seek_case {
	size_t n;            /* needs from one archive */
	size_t unknown;      /* of which the first this many have no frame */
	bool want;
};

static void test_can_seek(void **state)
{
	static const struct seek_case cases[] = {
		{ 1, 0, true }, { RESTORE_PLAN_SEEK_MAX, 0, true },
		{ RESTORE_PLAN_SEEK_MAX + 1, 0, false },
		{ 1, 1, false }, { 10, 1, false },
	};
	struct content with = { .has_frame = true }, without = {0};
	struct restore_need needs[RESTORE_PLAN_SEEK_MAX + 2];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		/* needs[0] belongs to another archive: only [1, 1+n) count */
		needs[0] = (struct restore_need){ .c = &without };
		for (size_t j = 0; j < cases[i].n; j++)
			needs[1 + j] = (struct restore_need){
				.c = j < cases[i].unknown ? &without : &with,
			};
		if (restore_plan_can_seek(needs, 1, 1 + cases[i].n) !=
		    cases[i].want)
			fail_msg("case %zu", i);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_whole_tree),
		cmocka_unit_test(test_map_path),
		cmocka_unit_test(test_compare),
		cmocka_unit_test(test_choose),
		cmocka_unit_test(test_reads),
		cmocka_unit_test(test_need),
		cmocka_unit_test(test_order_and_archives),
		cmocka_unit_test(test_can_seek),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
