/* Unit tests for human.c: sizes, ages and plurals as a person reads them,
 * by tables. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "human.h"
#include "util.h"

static void test_size(void **state)
{
	static const struct {
		uint64_t bytes;
		const char *text;
	} cases[] = {
		{ 0, "0 B" },
		{ 1, "1 B" },
		{ 1023, "1023 B" },
		{ 1024, "1.0 KiB" },
		{ 1536, "1.5 KiB" },
		{ 1468006, "1.4 MiB" },
		{ 1048575, "1.0 MiB" },      /* not "1024.0 KiB" */
		{ 1048576, "1.0 MiB" },
		{ UINT64_C(1) << 30, "1.0 GiB" },
		{ (UINT64_C(5) << 40) / 2, "2.5 TiB" },
		{ UINT64_C(1) << 50, "1.0 PiB" },
		{ UINT64_MAX, "16.0 EiB" },
	};
	size_t failures = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char out[HUMAN_SIZE];

		human_size(cases[i].bytes, out, sizeof(out));
		if (strcmp(out, cases[i].text)) {
			print_error("%" PRIu64 ": got '%s', want '%s'\n",
				    cases[i].bytes, out, cases[i].text);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void test_age(void **state)
{
	static const struct {
		int64_t ago;
		const char *text;
	} cases[] = {
		{ -1, "in the future" },
		{ 0, "just now" },
		{ 1, "1s ago" },
		{ 59, "59s ago" },
		{ 60, "1m ago" },
		{ 3599, "59m ago" },
		{ 3600, "1h ago" },
		{ 3 * 3600 + 1799, "3h ago" },
		{ 86399, "23h ago" },
		{ 86400, "1d ago" },
		{ 364 * 86400, "364d ago" },
		{ 365 * 86400, "1y ago" },
		{ 1000 * 86400, "2y ago" },
	};
	size_t failures = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char out[32];

		human_age(1765000000 - cases[i].ago, 1765000000, out,
			  sizeof(out));
		if (strcmp(out, cases[i].text)) {
			print_error("%" PRId64 "s: got '%s', want '%s'\n",
				    cases[i].ago, out, cases[i].text);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void test_count(void **state)
{
	static const struct {
		int64_t n;
		const char *text;
	} cases[] = {
		{ 0, "0 files" },
		{ 1, "1 file" },
		{ 2, "2 files" },
		{ -1, "-1 file" },
		{ 1000000, "1000000 files" },
	};
	size_t failures = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char out[32];

		human_count(cases[i].n, "file", "files", out, sizeof(out));
		if (strcmp(out, cases[i].text)) {
			print_error("%" PRId64 ": got '%s', want '%s'\n",
				    cases[i].n, out, cases[i].text);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
	assert_string_equal(human_plural(1, "backup", "backups"), "backup");
	assert_string_equal(human_plural(11, "backup", "backups"), "backups");
}

static void test_small_buffer(void **state)
{
	char out[8];

	(void)state;
	memset(out, 'x', sizeof(out));
	human_size(1468006, out, 4);
	assert_string_equal(out, "1.4");
	assert_int_equal(out[4], 'x');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_age),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_small_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
