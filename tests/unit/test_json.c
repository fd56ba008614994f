/* The JSON pull parser: grammar edge cases, exact integers, strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "catalog_internal.h"
#include "catalog.h"
#include "util.h"

static int skip_all(const char *text, struct error *err)
{
	struct catalog_json r;
	int rc;

	catalog_json_init(&r, text, strlen(text), false, err);
	rc = catalog_json_skip(&r);
	if (rc == 0)
		rc = catalog_json_finish(&r);
	catalog_json_release(&r);
	return rc;
}

static void test_valid_documents(void **state)
{
	static const char *const ok[] = {
		"{}", "[]", " { } ", "[ ]", "[1, 2 ,3]", "{\"a\":{\"b\":[true,false,null]}}",
		"\"\\u00e9\\ud83d\\ude00\\n\"", "-0", "1.5e-3", "0.0", "[[[[]]]]",
		"{\"a\" : 1 , \"b\" :\n2}\n",
	};
	struct error err;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		assert_int_equal(skip_all(ok[i], &err), 0);
}

static void test_invalid_documents(void **state)
{
	static const char *const bad[] = {
		"", "{", "[1,]", "{\"a\":1,}", "[01]", "[1.]", "[.5]", "+1", "[1e]",
		"\"\\ud800\"", "\"\\udc00\"", "\"\\x\"", "\"a\tb\"", "\"\xff\"",
		"{1:2}", "{\"a\" 1}", "[1 2]", "tru", "nul", "[] []", "\"abc",
		"[1,,2]",
	};
	struct error err;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err.msg[0] = '\0';
		assert_int_equal(skip_all(bad[i], &err), -1);
		assert_true(strstr(err.msg, "not valid JSON") != NULL);
	}
}

static void test_depth_limit(void **state)
{
	char deep[200];
	struct error err;

	(void)state;
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	deep[sizeof(deep) - 1] = '\0';
	deep[199] = '\0';
	assert_int_equal(skip_all(deep, &err), -1);
	assert_true(strstr(err.msg, "nested too deeply") != NULL);
}

static void test_exact_integers(void **state)
{
	struct catalog_json r;
	struct error err;
	int64_t v = 0;
	const char *text = "9007199254740993";

	(void)state;
	catalog_json_init(&r, text, strlen(text), false, &err);
	assert_int_equal(catalog_json_int(&r, 0, INT64_MAX, &v, "n"), 0);
	assert_true(v == INT64_C(9007199254740993));
	catalog_json_release(&r);

	text = "1e3";
	catalog_json_init(&r, text, strlen(text), false, &err);
	assert_int_equal(catalog_json_int(&r, 0, INT64_MAX, &v, "n"), -1);
	assert_true(strstr(err.msg, "n must be a whole number") != NULL);
	catalog_json_release(&r);

	text = "99999999999999999999999";
	catalog_json_init(&r, text, strlen(text), false, &err);
	assert_int_equal(catalog_json_int(&r, 0, INT64_MAX, &v, "n"), -1);
	catalog_json_release(&r);
}

static int read_int(const char *text, int64_t min, int64_t max, int64_t *v)
{
	struct catalog_json r;
	struct error err;
	int rc;

	catalog_json_init(&r, text, strlen(text), false, &err);
	rc = catalog_json_int(&r, min, max, v, "n");
	catalog_json_release(&r);
	return rc;
}

static void test_integer_limits(void **state)
{
	int64_t v = 1;

	(void)state;
	assert_int_equal(read_int("9223372036854775807", INT64_MIN, INT64_MAX,
				  &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(read_int("-9223372036854775808", INT64_MIN,
				  INT64_MAX, &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(read_int("9223372036854775808", INT64_MIN, INT64_MAX,
				  &v), -1);
	assert_int_equal(read_int("-9223372036854775809", INT64_MIN,
				  INT64_MAX, &v), -1);
	assert_int_equal(read_int("-0", 0, 10, &v), 0);
	assert_true(v == 0);
	assert_int_equal(read_int("-1", 0, 10, &v), -1);
	assert_int_equal(read_int("11", 0, 10, &v), -1);
	assert_int_equal(read_int("1.0", 0, 10, &v), -1);
}

static void test_hex_and_utf8(void **state)
{
	uint8_t out[3];

	(void)state;
	assert_int_equal(hex_decode("0aF9ff", out, 3), 0);
	assert_int_equal(out[0], 0x0a);
	assert_int_equal(out[1], 0xf9);
	assert_int_equal(out[2], 0xff);
	assert_int_equal(hex_decode("0g0000", out, 3), -1);
	assert_int_equal(hex_decode("00000:", out, 3), -1);
	assert_int_equal(hex_decode("0000000", out, 3), -1);
	/* a bad byte after a run of ASCII longer than one word */
	assert_true(utf8_valid("abcdefghij\xc3\xa9", 12));
	assert_false(utf8_valid("abcdefghij\xc3", 11));
	assert_false(utf8_valid("abcdefgh\xff", 9));
	assert_false(utf8_valid("abcdefghijklmnop\xed\xa0\x80", 19));
	assert_true(utf8_valid("abcdefghijklmnop", 16));
}

static void test_string_decoding(void **state)
{
	struct catalog_json r;
	struct error err;
	const char *text = "\"a\\\"b\\\\c\\u0041\\u00e9\\ud83d\\ude00\"";

	(void)state;
	catalog_json_init(&r, text, strlen(text), false, &err);
	assert_int_equal(catalog_json_string(&r, "s"), 0);
	assert_string_equal(r.str, "a\"b\\cA\xc3\xa9\xf0\x9f\x98\x80");
	catalog_json_release(&r);

	text = "\"a\\u0000b\"";
	catalog_json_init(&r, text, strlen(text), false, &err);
	assert_int_equal(catalog_json_string(&r, "s"), 0);
	assert_int_equal(r.str_len, 3);
	catalog_json_release(&r);
}

/* The scan for the end of a run of plain bytes works a word at a time:
 * a stop byte must be found at every offset. */
static void test_string_stops_at_every_offset(void **state)
{
	(void)state;
	for (size_t at = 0; at < 20; at++) {
		char text[32];
		struct catalog_json r;
		struct error err;

		memset(text, 'a', sizeof(text));
		text[0] = '"';
		text[1 + at] = '"';
		catalog_json_init(&r, text, sizeof(text), false, &err);
		assert_int_equal(catalog_json_string(&r, "s"), 0);
		assert_int_equal(r.str_len, at);
		catalog_json_release(&r);

		text[1 + at] = '\n';
		text[sizeof(text) - 1] = '"';
		catalog_json_init(&r, text, sizeof(text), false, &err);
		assert_int_equal(catalog_json_string(&r, "s"), -1);
		assert_non_null(strstr(err.msg, "control character"));
		catalog_json_release(&r);

		text[1 + at] = '\\';
		text[2 + at] = 'n';
		catalog_json_init(&r, text, sizeof(text), false, &err);
		assert_int_equal(catalog_json_string(&r, "s"), 0);
		assert_int_equal(r.str[at], '\n');
		assert_int_equal(r.str_len, sizeof(text) - 3);
		catalog_json_release(&r);

		/* é (C3 A9) repeated: cut after an odd byte it is not UTF-8 */
		for (size_t i = 1; i < sizeof(text); i++)
			text[i] = (char)(i % 2 ? 0xC3 : 0xA9);
		text[0] = '"';
		text[1 + at] = '"';
		catalog_json_init(&r, text, sizeof(text), false, &err);
		assert_int_equal(catalog_json_string(&r, "s"), at % 2 ? -1 : 0);
		catalog_json_release(&r);
	}
}

static void test_error_position(void **state)
{
	struct error err;

	(void)state;
	assert_int_equal(skip_all("{\n  \"a\": [1,\n  x]}", &err), -1);
	assert_non_null(strstr(err.msg, "line 3, column 3"));
}

/* Records one per line are skipped unread; the first laid out otherwise
 * is read as usual, and so is everything in compact text. */
static void test_skim_records(void **state)
{
	static const char lines[] =
		"[\n{\"a\":1},\n{\"b\":[1,2]},\n{\"c\":\n3},\n{\"d\":4}\n]";
	static const char keyed[] =
		"{\n\"x\":{\"a\":1},\n\"y\":{\"b\":bad},\n\"z\": 5\n}";
	static const char compact[] = "[{\"a\":1},{\"b\":2}]";
	struct catalog_json r;
	struct error err;
	int more, seen = 0;

	(void)state;
	catalog_json_init(&r, lines, sizeof(lines) - 1, false, &err);
	assert_int_equal(catalog_json_array_begin(&r, "x"), 0);
	assert_true(catalog_json_skim_records(&r, false));
	/* {"c":\n3} spans two lines: read, then the rest one at a time. */
	while ((more = catalog_json_array_next(&r)) > 0) {
		if (seen++ == 0) {
			assert_int_equal(catalog_json_skim_record(&r), 0);
			assert_int_equal(catalog_json_skip(&r), 0);
		} else {
			assert_int_equal(catalog_json_skim_record(&r), 1);
		}
	}
	assert_int_equal(more, 0);
	assert_int_equal(seen, 2);
	assert_int_equal(catalog_json_finish(&r), 0);
	catalog_json_release(&r);

	/* Unread means unchecked: "bad" is never seen; 5 is no record. */
	catalog_json_init(&r, keyed, sizeof(keyed) - 1, false, &err);
	assert_int_equal(catalog_json_object_begin(&r, "x"), 0);
	assert_true(catalog_json_skim_records(&r, true));
	assert_int_equal(catalog_json_object_next(&r), 1);
	assert_string_equal(r.str, "z");
	assert_int_equal(catalog_json_skim_record(&r), 0);
	assert_int_equal(catalog_json_skip(&r), 0);
	assert_int_equal(catalog_json_object_next(&r), 0);
	catalog_json_release(&r);

	catalog_json_init(&r, compact, sizeof(compact) - 1, false, &err);
	assert_int_equal(catalog_json_array_begin(&r, "x"), 0);
	assert_false(catalog_json_skim_records(&r, false));
	assert_int_equal(catalog_json_array_next(&r), 1);
	assert_int_equal(catalog_json_skim_record(&r), 0);
	catalog_json_release(&r);
}

static void test_metadata_round_trip(void **state)
{
	static const char text[] =
		"{\"format_version\":1,\"last_backup_date\":\"2026-01-01T00:00:00Z\","
		"\"file_checksums\":{\"d\":{\"type\":\"dir\",\"mtime\":[-2,250000000],"
		"\"modified_time\":-1.75,\"mode\":\"0700\"},"
		"\"d/f\":{\"type\":\"file\",\"size\":3,\"modified_time\":1.5,"
		"\"mtime\":[1,500000000],\"ctime\":[2,0],\"inode\":\"18446744073709551\","
		"\"mode\":\"4755\",\"uid\":1000,\"gid\":1000,\"checksum\":"
		"\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"},"
		"\"l\":{\"type\":\"symlink\",\"modified_time\":0,\"link_target_hex\":\"ff2e2e\"}},"
		"\"contents\":{\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\":"
		"{\"size\":3,\"member\":\"d/f\",\"backup_id\":\"2026-01-01_00-00-00\","
		"\"last_used\":\"2026-01-01_00-00-00\"}},"
		"\"backup_history\":[{\"date\":\"2026-01-01T00:00:00Z\",\"backup_id\":"
		"\"2026-01-01_00-00-00\",\"archive\":\"x_backup_2026-01-01_00-00-00.tar.zst\","
		"\"files_added\":2,\"total_files\":2}],\"reported_specials\":[]}";
	struct metadata md, again;
	struct buf out = {0}, out2 = {0};
	struct error err;
	const struct tree_entry *f, *l;

	(void)state;
	catalog_init(&md);
	catalog_init(&again);
	assert_int_equal(catalog_parse(text, sizeof(text) - 1, &md, &err), 0);
	assert_int_equal(md.files.len, 3);
	f = tree_find(&md.files, "d/f");
	assert_non_null(f);
	assert_int_equal(f->mode, 04755);
	assert_true(f->ino == UINT64_C(18446744073709551));
	l = tree_find(&md.files, "l");
	assert_string_equal(l->link_target, "\xff..");
	assert_int_equal(tree_find(&md.files, "d")->mtime.sec, -2);
	catalog_format(&md, &out);
	assert_int_equal(catalog_parse(out.data, out.len, &again, &err), 0);
	catalog_format(&again, &out2);
	assert_string_equal(out.data, out2.data);
	buf_release(&out);
	buf_release(&out2);
	catalog_release(&md);
	catalog_release(&again);
}

/* The source and destination id: kept through a round trip, a source
 * that is not UTF-8 as source_hex. */
static void test_metadata_identity(void **state)
{
	static const char *const sources[] = { "/home/u/proj", "/srv/\xff\xfe" };
	static const char id[] = "0123456789abcdef0123456789abcdef";
	struct metadata md, again;
	struct buf out = {0};
	struct error err;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(sources); i++) {
		catalog_init(&md);
		catalog_init(&again);
		md.source = xstrdup(sources[i]);
		md.dest_id = xstrdup(id);
		catalog_format(&md, &out);
		assert_int_equal(catalog_parse(out.data, out.len, &again,
					       &err), 0);
		assert_string_equal(again.source, sources[i]);
		assert_string_equal(again.dest_id, id);
		buf_release(&out);
		catalog_release(&md);
		catalog_release(&again);
	}
	/* The manifests carry them too, for repair. */
	for (size_t i = 0; i < ARRAY_SIZE(sources); i++) {
		struct manifest m, back;

		catalog_manifest_init(&m);
		catalog_manifest_init(&back);
		m.backup_id = xstrdup("2026-01-01_00-00-00");
		m.date = xstrdup("2026-01-01T00:00:00Z");
		m.source = xstrdup(sources[i]);
		m.dest_id = xstrdup(id);
		catalog_manifest_format(&m, &out);
		assert_int_equal(catalog_manifest_parse(out.data, out.len,
							&back, &err), 0);
		assert_string_equal(back.source, sources[i]);
		assert_string_equal(back.dest_id, id);
		buf_release(&out);
		catalog_manifest_release(&m);
		catalog_manifest_release(&back);
	}
	/* Neither: metadata from before they were recorded. */
	catalog_init(&md);
	catalog_format(&md, &out);
	assert_null(strstr(out.data, "source"));
	assert_null(strstr(out.data, "destination_id"));
	assert_int_equal(catalog_parse(out.data, out.len, &again, &err), 0);
	assert_null(again.source);
	assert_null(again.dest_id);
	buf_release(&out);
	catalog_release(&md);
	catalog_release(&again);
}

static void test_metadata_rejects(void **state)
{
	static const struct {
		const char *text, *message;
	} cases[] = {
		{ "[]", "the top level must be an object" },
		{ "{}", "missing 'file_checksums'" },
		{ "{\"file_checksums\":{},\"file_checksums\":{}}", "'file_checksums' appears twice" },
		{ "{\"file_checksums\":{\"a\":{\"type\":\"file\",\"size\":\"1\"}}}", "'size' must be a number" },
		{ "{\"file_checksums\":{\"a\":{\"type\":\"file\",\"size\":1e300}}}", "'size' must be a whole number" },
		{ "{\"file_checksums\":{\"/a\":{\"type\":\"dir\",\"modified_time\":0}}}", "path must be relative" },
		{ "{\"file_checksums\":{\"a\":{\"type\":\"dir\",\"modified_time\":0,\"mode\":\"0755\",\"mode\":\"0700\"}}}", "'mode' appears twice" },
		{ "{\"file_checksums\":{\"a\":{\"type\":\"dir\",\"modified_time\":0},\"a\":{\"type\":\"dir\",\"modified_time\":0}}}", "path 'a' appears twice" },
		{ "{\"file_checksums\":{\"a\":{\"type\":\"file\",\"size\":1,\"modified_time\":0}}}", "missing 'checksum'" },
		{ "{\"format_version\":3,\"file_checksums\":{}}", "newer than this incbak" },
		{ "{\"file_checksums\":{\"a\\u0000b\":{\"type\":\"dir\",\"modified_time\":0}}}", "contains a NUL" },
		{ "{\"source\":\"proj\",\"file_checksums\":{}}", "source 'proj' is not an absolute path" },
		{ "{\"source\":1,\"file_checksums\":{}}", "'source' must be a string" },
		{ "{\"destination_id\":\"0123\",\"file_checksums\":{}}", "'destination_id' must be 32 lower-case hex digits" },
		{ "{\"destination_id\":\"0123456789ABCDEF0123456789abcdef\",\"file_checksums\":{}}", "'destination_id' must be 32 lower-case hex digits" },
	};
	struct metadata md;
	struct error err;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		catalog_init(&md);
		err.msg[0] = '\0';
		assert_int_equal(catalog_parse(cases[i].text,
					       strlen(cases[i].text), &md,
					       &err),
				 -1);
		if (!strstr(err.msg, cases[i].message))
			fail_msg("case %zu: got '%s'", i, err.msg);
		catalog_release(&md);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_documents),
		cmocka_unit_test(test_invalid_documents),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_exact_integers),
		cmocka_unit_test(test_string_decoding),
		cmocka_unit_test(test_integer_limits),
		cmocka_unit_test(test_string_stops_at_every_offset),
		cmocka_unit_test(test_hex_and_utf8),
		cmocka_unit_test(test_error_position),
		cmocka_unit_test(test_skim_records),
		cmocka_unit_test(test_metadata_round_trip),
		cmocka_unit_test(test_metadata_identity),
		cmocka_unit_test(test_metadata_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
