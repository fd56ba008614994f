/* Unit tests for heal.c's decisions, by tables: when an archive is not the
 * one the metadata recorded, and which backups a damaged archive breaks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "heal.h"
#include "util.h"

static void test_archive_problem(void **state)
{
	static const struct {
		bool exists;
		int64_t size, recorded;
		const char *want; /* NULL: nothing wrong */
	} cases[] = {
		{ true, 1000, 1000, NULL },
		{ true, 1000, 0, NULL },   /* size unknown (older metadata) */
		{ false, 0, 1000, "is missing" },
		{ false, 0, 0, "is missing" },
		{ true, 980, 1000, "is 980 bytes, the metadata recorded 1000" },
		{ true, 1200, 1000, "is 1200 bytes, the metadata recorded 1000" },
		{ true, 0, 1000, "is 0 bytes, the metadata recorded 1000" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = heal_archive_problem(cases[i].exists, cases[i].size,
						 cases[i].recorded);

		if (!cases[i].want)
			assert_null(got);
		else
			assert_string_equal(got, cases[i].want);
		free(got);
	}
}

/* A history of five backups; parents[i] says whether backup i's manifest
 * continues backup i-1's. */
static void make_history(struct metadata *md, const bool *parents, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct history_entry *h = catalog_add_history(md);

		h->backup_id = str_fmt("2027-01-15_08-0%zu-00", i);
		h->date = xstrdup("2027-01-15T08:00:00Z");
		h->archive = str_fmt("src_backup_%s.tar.zst", h->backup_id);
		if (parents[i])
			h->parent = str_fmt("src_backup_2027-01-15_08-0%zu-00"
					    ".tar.zst", i - 1);
	}
}

static void test_chain_broken(void **state)
{
	static const struct {
		bool parents[5];
		size_t bad;         /* the damaged backup */
		const char *broken; /* per backup: 'x' broken, '.' not */
	} cases[] = {
		{ { false, true, true, true, true }, 0, "xxxxx" },
		{ { false, true, true, true, true }, 2, "..xxx" },
		{ { false, true, false, true, true }, 0, "xx..." },
		{ { false, false, false, false, false }, 1, ".x..." },
		{ { false, true, true, false, true }, 4, "....x" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct metadata md;
		struct heal h;

		catalog_init(&md);
		heal_init(&h);
		make_history(&md, cases[i].parents, 5);
		heal_add(&md, &h, cases[i].bad, "is missing");
		for (size_t j = 0; j < 5; j++)
			assert_int_equal(heal_chain_broken(&md, &h, j),
					 cases[i].broken[j] == 'x');
		heal_mark_damaged(&md, &h, NULL, NULL);
		for (size_t j = 0; j < 5; j++)
			assert_int_equal(md.history[j].damaged != NULL,
					 cases[i].broken[j] == 'x');
		heal_release(&h);
		catalog_release(&md);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_archive_problem),
		cmocka_unit_test(test_chain_broken),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
