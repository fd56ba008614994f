/* Unit tests for duration.c: what parses to how many seconds, what is
 * refused and with which message, and formatting back, by tables. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"
#include "util.h"

static void test_parse_valid(void **state)
{
	static const struct {
		const char *text;
		int64_t seconds;
	} cases[] = {
		{ "0", 0 },
		{ "0s", 0 },
		{ "0m", 0 },
		{ "1s", 1 },
		{ "90s", 90 },
		{ "15m", 900 },
		{ "1h", 3600 },
		{ "1d", 86400 },
		{ "2w", 1209600 },
		{ "1h30m", 5400 },
		{ "1d12h", 129600 },
		{ "1w2d3h4m5s", 788645 },
		{ "007m", 420 },
		{ "36h", 129600 },
		{ "100000d", 8640000000 },
		{ "9223372036854775807s", INT64_MAX },
		{ "15250284452471w3d15h30m7s", INT64_MAX },
	};
	size_t i, failures = 0;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct error err = { { 0 } };
		int64_t got = -1;

		if (duration_parse(cases[i].text, &got, &err) != 0 ||
		    got != cases[i].seconds) {
			print_error("'%s': got %" PRId64 " (%s), want %" PRId64
				    "\n", cases[i].text, got, err.msg,
				    cases[i].seconds);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void test_parse_invalid(void **state)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{ "", "invalid duration '': empty (write e.g. 15m, 1h, 1d "
		      "or 0)" },
		{ "15", "invalid duration '15': missing unit (s, m, h, d or "
			"w)" },
		{ "00", "invalid duration '00': missing unit (s, m, h, d or "
			"w)" },
		{ "1h30", "invalid duration '1h30': missing unit (s, m, h, d "
			  "or w)" },
		{ "15x", "invalid duration '15x': unknown unit 'x' (use s, m, "
			 "h, d or w)" },
		{ "1H", "invalid duration '1H': unknown unit 'H' (use s, m, h, "
			"d or w)" },
		{ "1M", "invalid duration '1M': unknown unit 'M' (use s, m, h, "
			"d or w)" },
		{ "1y", "invalid duration '1y': unknown unit 'y' (use s, m, h, "
			"d or w)" },
		{ "h", "invalid duration 'h': expected a number at 'h'" },
		{ "-1h", "invalid duration '-1h': expected a number at '-1h'" },
		{ "+1h", "invalid duration '+1h': expected a number at '+1h'" },
		{ " 1h", "invalid duration ' 1h': expected a number at ' 1h'" },
		{ "1h ", "invalid duration '1h ': expected a number at ' '" },
		{ "1 h", "invalid duration '1 h': unknown unit ' ' (use s, m, "
			 "h, d or w)" },
		{ "1.5h", "invalid duration '1.5h': unknown unit '.' (use s, "
			  "m, h, d or w)" },
		{ "1hh", "invalid duration '1hh': expected a number at 'h'" },
		{ "30m1h", "invalid duration '30m1h': units must go from "
			   "largest to smallest, each once (w d h m s)" },
		{ "1h1h", "invalid duration '1h1h': units must go from "
			  "largest to smallest, each once (w d h m s)" },
		{ "9223372036854775808s", "invalid duration "
			"'9223372036854775808s': too long" },
		{ "15250284452471w3d15h30m8s", "invalid duration "
			"'15250284452471w3d15h30m8s': too long" },
		{ "15250284452472w",
		  "invalid duration '15250284452472w': too long" },
		{ "99999999999999999999999d", "invalid duration "
			"'99999999999999999999999d': too long" },
	};
	size_t i, failures = 0;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct error err = { { 0 } };
		int64_t got = 42;
		int rc = duration_parse(cases[i].text, &got, &err);

		if (rc != -1 || got != 42 || strcmp(err.msg, cases[i].msg)) {
			print_error("'%s': rc %d, seconds %" PRId64 ", message "
				    "'%s', want '%s'\n", cases[i].text, rc, got,
				    err.msg, cases[i].msg);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void test_format(void **state)
{
	static const struct {
		int64_t seconds;
		const char *exact;
		const char *shortened;
	} cases[] = {
		{ -5, "0", "0" },
		{ 0, "0", "0" },
		{ 1, "1s", "1s" },
		{ 59, "59s", "59s" },
		{ 60, "1m", "1m" },
		{ 90, "1m30s", "1m30s" },
		{ 3600, "1h", "1h" },
		{ 10800, "3h", "3h" },
		{ 11545, "3h12m25s", "3h12m" },
		{ 86400, "1d", "1d" },
		{ 90061, "1d1h1m1s", "1d1h" },
		{ 93600, "1d2h", "1d2h" },
		{ 604800, "1w", "1w" },
		{ 1209600, "2w", "2w" },
		{ 691200, "1w1d", "1w1d" },
		{ 608400, "1w1h", "1w1h" },
		{ INT64_MAX, "15250284452471w3d15h30m7s", "15250284452471w3d" },
	};
	size_t i, failures = 0;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char exact[DURATION_TEXT_MAX], shortened[DURATION_TEXT_MAX];
		struct error err = { { 0 } };
		int64_t back = -1;

		duration_format(cases[i].seconds, exact, sizeof(exact));
		duration_format_short(cases[i].seconds, shortened,
				      sizeof(shortened));
		if (strcmp(exact, cases[i].exact) ||
		    strcmp(shortened, cases[i].shortened) ||
		    duration_parse(exact, &back, &err) != 0 ||
		    back != (cases[i].seconds < 0 ? 0 : cases[i].seconds)) {
			print_error("%" PRId64 ": got '%s' / '%s' (back %"
				    PRId64 "), want '%s' / '%s'\n",
				    cases[i].seconds, exact, shortened, back,
				    cases[i].exact, cases[i].shortened);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* A buffer too small is cut at a whole unit, never overrun. */
static void test_format_small_buffer(void **state)
{
	char buf[8];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	duration_format(788645, buf, 6);
	assert_string_equal(buf, "1w2d");
	assert_int_equal(buf[7], 'x');
	duration_format(788645, buf, 0);
	assert_int_equal(buf[0], '1');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_small_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
