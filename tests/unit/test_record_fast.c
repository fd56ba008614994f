/* The reader of records laid out as incbak writes them (catalog_fastread.c):
 * it takes every record the writer makes, and leaves every other one to
 * the general reader; either way a document reads the same, errors
 * included, as with the general reader alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "catalog_internal.h"
#include "catalog.h"
#include "tree.h"
#include "util.h"

#define SUM "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define ID "2026-01-01_00-00-00"
#define TIMES "\"modified_time\":1700000000.250000000,\"mtime\":[1700000000," \
	"250000000],\"ctime\":[1700000001,5]"
#define OWNER "\"inode\":\"123\",\"mode\":\"0644\",\"uid\":1000,\"gid\":100"

/* As catalog_format() writes them (fields after the key), and a few
 * the fast reader takes too. */
static const char *const written_entries[] = {
	"{\"type\":\"file\",\"size\":3," TIMES "," OWNER ",\"checksum\":\"" SUM
	"\",\"backup_id\":\"" ID "\"}",
	"{\"type\":\"file\",\"size\":0," TIMES "," OWNER ",\"checksum\":\"" SUM
	"\",\"backup_id\":\"" ID "\",\"recheck\":true}",
	"{\"type\":\"dir\",\"size\":0," TIMES ",\"inode\":\"9\",\"mode\":\"0755\","
	"\"uid\":0,\"gid\":0}",
	"{\"type\":\"symlink\",\"size\":0,\"modified_time\":-1.5,\"mtime\":[-2,"
	"500000000],\"ctime\":[0,0],\"inode\":\"0\",\"mode\":\"0777\",\"uid\":0,"
	"\"gid\":0,\"link_target\":\"../a b/c~\"}",
	"{\"type\":\"dir\",\"size\":0," TIMES ",\"inode\":\"9223372036854775807\","
	"\"mode\":\"7777\",\"uid\":4294967295,\"gid\":0}",
	/* user.a = "hi", user.b = "" */
	"{\"type\":\"file\",\"size\":3," TIMES "," OWNER ",\"attrs\":"
	"\"757365722e61=6869,757365722e62=\",\"checksum\":\"" SUM
	"\",\"backup_id\":\"" ID "\"}",
	"{\"type\":\"dir\",\"size\":0," TIMES "," OWNER ",\"attrs\":"
	"\"757365722e61=6869\"}",
	/* not as the writer puts them, but plain enough to take */
	"{\"type\":\"dir\",\"size\":0," TIMES ",\"inode\":\"0012\","
	"\"mode\":\"755\",\"uid\":0,\"gid\":0}",
	"{\"type\":\"dir\",\"size\":5,\"modified_time\":-0,\"mtime\":[-0,0],"
	"\"ctime\":[0,0]," OWNER ",\"recheck\":false}",
};

/* Laid out otherwise than the writer lays them out: the general reader
 * takes them (valid or not). */
static const char *const other_layouts[] = {
	/* white space */
	"{ \"type\":\"file\",\"size\":3," TIMES "," OWNER ",\"checksum\":\"" SUM "\"}",
	"{\"type\": \"dir\",\"size\":0," TIMES "," OWNER "}",
	"{\"type\":\"dir\",\"size\":0," TIMES "," OWNER " }",
	/* another order, a field missing, one unknown, one twice */
	"{\"size\":0,\"type\":\"dir\"," TIMES "," OWNER "}",
	"{\"type\":\"dir\",\"size\":0," TIMES ",\"mode\":\"0755\",\"uid\":0,\"gid\":0}",
	"{\"type\":\"dir\",\"size\":0," TIMES "," OWNER ",\"colour\":\"red\"}",
	"{\"type\":\"dir\",\"size\":0," TIMES "," OWNER ",\"recheck\":true,"
	"\"recheck\":false}",
	"{\"type\":\"dir\",\"size\":0," TIMES "," OWNER ",\"path\":\"x\"}",
	/* numbers the writer does not write */
	"{\"type\":\"dir\",\"size\":0,\"modified_time\":1e3,\"mtime\":[1,0],"
	"\"ctime\":[1,0]," OWNER "}",
	"{\"type\":\"dir\",\"size\":0,\"modified_time\":1.,\"mtime\":[1,0],"
	"\"ctime\":[1,0]," OWNER "}",
	"{\"type\":\"file\",\"size\":03," TIMES "," OWNER ",\"checksum\":\"" SUM "\"}",
	"{\"type\":\"file\",\"size\":3.0," TIMES "," OWNER ",\"checksum\":\"" SUM "\"}",
	/* strings with escapes or beyond ASCII */
	"{\"type\":\"symlink\",\"size\":0," TIMES "," OWNER
	",\"link_target\":\"a\\/b\"}",
	"{\"type\":\"symlink\",\"size\":0," TIMES "," OWNER
	",\"link_target\":\"caf\xc3\xa9\"}",
	"{\"type\":\"symlink\",\"size\":0," TIMES "," OWNER
	",\"link_target\":\"a\\u0000b\"}",
	"{\"type\":\"symlink\",\"size\":0," TIMES "," OWNER
	",\"link_target\":\"caf\\\\xE9\",\"link_target_hex\":\"636166e9\"}",
	"{\"type\":\"dir\",\"size\":0," TIMES "," OWNER ",\"recheck\":1}",
	"{\"type\":\"dir\",\"size\":0," TIMES "," OWNER ",}",
	"{\"type\":\"dir\",\"size\":0," TIMES "," OWNER,
};

/* Laid out as the writer would, with values it would not write: whichever
 * reader takes them, the outcome is the general reader's. */
static const char *const other_values[] = {
	"{\"type\":\"file\",\"size\":-3," TIMES "," OWNER ",\"checksum\":\"" SUM "\"}",
	"{\"type\":\"file\",\"size\":9223372036854775808," TIMES "," OWNER
	",\"checksum\":\"" SUM "\"}",
	"{\"type\":\"dir\",\"size\":0,\"modified_time\":1,\"mtime\":[1,1000000000],"
	"\"ctime\":[1,0]," OWNER "}",
	"{\"type\":\"dir\",\"size\":0,\"modified_time\":1,\"mtime\":[1000000000000001,0],"
	"\"ctime\":[1,0]," OWNER "}",
	"{\"type\":\"dir\",\"size\":0,\"modified_time\":1,\"mtime\":[1,0,0],"
	"\"ctime\":[1,0]," OWNER "}",
	"{\"type\":\"dir\",\"size\":0," TIMES ",\"inode\":\"9223372036854775808\","
	"\"mode\":\"0755\",\"uid\":0,\"gid\":0}",
	"{\"type\":\"dir\",\"size\":0," TIMES ",\"inode\":\"-1\","
	"\"mode\":\"0755\",\"uid\":0,\"gid\":0}",
	"{\"type\":\"dir\",\"size\":0," TIMES ",\"inode\":\"1\","
	"\"mode\":\"10000\",\"uid\":0,\"gid\":0}",
	"{\"type\":\"dir\",\"size\":0," TIMES ",\"inode\":\"1\","
	"\"mode\":\"0758\",\"uid\":0,\"gid\":0}",
	"{\"type\":\"dir\",\"size\":0," TIMES ",\"inode\":\"1\","
	"\"mode\":\"0755\",\"uid\":4294967296,\"gid\":0}",
	"{\"type\":\"door\",\"size\":0," TIMES "," OWNER "}",
	"{\"type\":\"door\",\"size\":0," TIMES "," OWNER ",\"recheck\":false}",
	"{\"type\":\"file\",\"size\":3," TIMES "," OWNER ",\"checksum\":\""
	"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD\"}",
	"{\"type\":\"file\",\"size\":3," TIMES "," OWNER ",\"checksum\":\"abc\"}",
	"{\"type\":\"file\",\"size\":3," TIMES "," OWNER "}",
	"{\"type\":\"symlink\",\"size\":0," TIMES "," OWNER "}",
	"{\"type\":\"symlink\",\"size\":0," TIMES "," OWNER ",\"link_target\":\"\"}",
	/* attributes not in hex, a name with a NUL, an odd digit, none */
	"{\"type\":\"dir\",\"size\":0," TIMES "," OWNER ",\"attrs\":\"user.a=hi\"}",
	"{\"type\":\"dir\",\"size\":0," TIMES "," OWNER ",\"attrs\":\"7500=68\"}",
	"{\"type\":\"dir\",\"size\":0," TIMES "," OWNER ",\"attrs\":\"75=6\"}",
	"{\"type\":\"dir\",\"size\":0," TIMES "," OWNER ",\"attrs\":\"=68\"}",
	"{\"type\":\"dir\",\"size\":0," TIMES "," OWNER ",\"attrs\":\"\"}",
};

static const char *const written_contents[] = {
	"{\"size\":3,\"member\":\"a/b c\",\"frame\":0,\"skip\":512,"
	"\"backup_id\":\"" ID "\",\"last_used\":\"" ID "\"}",
	"{\"size\":9223372036854775807,\"member\":\"x\",\"backup_id\":\"" ID
	"\",\"last_used\":\"" ID "\"}",
};

static const char *const other_contents[] = {
	"{\"size\":3,\"member\":\"a\",\"frame\":0,\"backup_id\":\"" ID
	"\",\"last_used\":\"" ID "\"}",
	"{\"size\":3,\"member\":\"a\",\"skip\":0,\"frame\":0,\"backup_id\":\"" ID
	"\",\"last_used\":\"" ID "\"}",
	"{\"member\":\"a\",\"size\":3,\"backup_id\":\"" ID "\",\"last_used\":\""
	ID "\"}",
	"{\"size\":3,\"member\":\"../a\",\"backup_id\":\"" ID "\",\"last_used\":\""
	ID "\"}",
	"{\"size\":3,\"member\":\"caf\xc3\xa9\",\"backup_id\":\"" ID
	"\",\"last_used\":\"" ID "\"}",
	"{\"size\":3,\"member\":\"a\",\"backup_id\":\"2026-01-01\","
	"\"last_used\":\"" ID "\"}",
	"{\"size\":3,\"member\":\"a\",\"backup_id\":\"" ID "\"}",
	"{\"size\":3,\"member\":\"a\"}",
	"{\"size\":3,\"member\":\"a\",\"backup_id\":\"" ID "\",\"last_used\":\""
	ID "\",\"note\":1}",
};

static int fast_entry_alone(const char *record, bool with_path)
{
	struct catalog_json r;
	struct error err;
	struct tree t = {0};
	struct entry_state st;
	int rc;

	catalog_json_init(&r, record, strlen(record), false, &err);
	st = (struct entry_state){ .e = tree_push(&t) };
	rc = catalog_fastread_entry(&r, &t, &st, with_path);
	if (rc)
		assert_ptr_equal(r.p, record + strlen(record));
	else
		assert_ptr_equal(r.p, record);
	catalog_json_release(&r);
	tree_release(&t);
	return rc;
}

static int fast_content_alone(const char *record)
{
	struct catalog_json r;
	struct error err;
	struct content_state c = {0};
	int rc;

	catalog_json_init(&r, record, strlen(record), false, &err);
	rc = catalog_fastread_content(&r, &c);
	assert_ptr_equal(r.p, rc ? record + strlen(record) : record);
	free(c.member);
	catalog_json_release(&r);
	return rc;
}

/* The outcome of a parse: "error: ..." or the document formatted. */
static void metadata_outcome(const char *text, bool fast, struct buf *out)
{
	struct metadata md;
	struct error err = { "" };

	catalog_fastread_enabled = fast;
	catalog_init(&md);
	out->len = 0;
	if (catalog_parse(text, strlen(text), &md, &err) < 0)
		buf_printf(out, "error: %s", err.msg);
	else
		catalog_format(&md, out);
	buf_append(out, "", 1);
	catalog_release(&md);
	catalog_fastread_enabled = true;
}

static void manifest_outcome(const char *text, bool fast, struct buf *out)
{
	struct manifest m;
	struct error err = { "" };

	catalog_fastread_enabled = fast;
	catalog_manifest_init(&m);
	out->len = 0;
	if (catalog_manifest_parse(text, strlen(text), &m, &err) < 0)
		buf_printf(out, "error: %s", err.msg);
	else
		catalog_manifest_format(&m, out);
	buf_append(out, "", 1);
	catalog_manifest_release(&m);
	catalog_fastread_enabled = true;
}

/* The record in a backup_metadata.json and in a manifest: the same
 * outcome with both readers. */
static void assert_entry_reads_alike(const char *record)
{
	struct buf doc = {0}, a = {0}, b = {0};

	buf_printf(&doc, "{\"format_version\":1,\"last_backup_date\":null,"
		   "\"file_checksums\":{\n\"p/q\":%s\n},\"contents\":{}}",
		   record);
	metadata_outcome(doc.data, true, &a);
	metadata_outcome(doc.data, false, &b);
	if (strcmp(a.data, b.data))
		fail_msg("%s\nfast: %s\ngeneral: %s", record, a.data, b.data);
	/* In a manifest the path comes first, inside the record. */
	doc.len = 0;
	buf_printf(&doc, "{\"format_version\":1,\"backup_id\":\"" ID "\","
		   "\"date\":\"2026-01-01T00:00:00Z\",\"files\":[\n"
		   "{\"path\":\"p/q\",%s\n],\"deleted\":[],\"holds\":{}}",
		   record + 1);
	manifest_outcome(doc.data, true, &a);
	manifest_outcome(doc.data, false, &b);
	if (strcmp(a.data, b.data))
		fail_msg("%s\nfast: %s\ngeneral: %s", record, a.data, b.data);
	buf_release(&doc);
	buf_release(&a);
	buf_release(&b);
}

static void assert_content_reads_alike(const char *record)
{
	struct buf doc = {0}, a = {0}, b = {0};

	buf_printf(&doc, "{\"format_version\":1,\"last_backup_date\":null,"
		   "\"file_checksums\":{},\"contents\":{\n\"" SUM "\":%s\n}}",
		   record);
	metadata_outcome(doc.data, true, &a);
	metadata_outcome(doc.data, false, &b);
	if (strcmp(a.data, b.data))
		fail_msg("%s\nfast: %s\ngeneral: %s", record, a.data, b.data);
	buf_release(&doc);
	buf_release(&a);
	buf_release(&b);
}

static void test_written_entries_are_read_fast(void **state)
{
	char with_path[1024];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(written_entries); i++) {
		const char *rec = written_entries[i];

		if (!fast_entry_alone(rec, false))
			fail_msg("not taken: %s", rec);
		snprintf(with_path, sizeof(with_path), "{\"path\":\"a/b\",%s",
			 rec + 1);
		if (!fast_entry_alone(with_path, true))
			fail_msg("not taken: %s", with_path);
		/* a manifest's record needs its path first */
		assert_int_equal(fast_entry_alone(rec, true), 0);
		assert_entry_reads_alike(rec);
	}
}

static void test_other_layouts_go_to_the_general_reader(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(other_layouts); i++) {
		const char *rec = other_layouts[i];

		if (fast_entry_alone(rec, false))
			fail_msg("taken: %s", rec);
		assert_entry_reads_alike(rec);
	}
}

static void test_other_values_read_alike(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(other_values); i++)
		assert_entry_reads_alike(other_values[i]);
}

static void test_written_contents_are_read_fast(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(written_contents); i++) {
		if (!fast_content_alone(written_contents[i]))
			fail_msg("not taken: %s", written_contents[i]);
		assert_content_reads_alike(written_contents[i]);
	}
}

static void test_other_contents_read_alike(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(other_contents); i++)
		assert_content_reads_alike(other_contents[i]);
}

/* A name with a character JSON escapes, a path in hex: the writer's own
 * output, read back the same either way. */
static void test_a_formatted_tree_reads_alike(void **state)
{
	static const char *const names[] = {
		"plain/name.txt", "tab\there", "quote\"back\\slash",
		"caf\xc3\xa9", "bad\xff" "byte", "sp ace",
	};
	struct metadata md;
	struct buf text = {0}, a = {0}, b = {0};

	(void)state;
	catalog_init(&md);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		struct tree_entry *e = tree_push(&md.files);

		e->path = xstrdup(names[i]);
		e->type = i % 2 ? ENTRY_FILE : ENTRY_SYMLINK;
		e->mode = 0640;
		e->mtime.sec = 1700000000 + (int64_t)i;
		if (e->type == ENTRY_SYMLINK)
			e->link_target = xstrdup(names[ARRAY_SIZE(names) - 1 - i]);
		else
			assert_int_equal(hex_decode(SUM, e->checksum,
						    HASH_SIZE), 0);
	}
	tree_sort(&md.files);
	catalog_format(&md, &text);
	buf_append(&text, "", 1);
	metadata_outcome(text.data, true, &a);
	metadata_outcome(text.data, false, &b);
	assert_string_equal(a.data, b.data);
	assert_string_equal(a.data, text.data);
	buf_release(&text);
	buf_release(&a);
	buf_release(&b);
	catalog_release(&md);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_written_entries_are_read_fast),
		cmocka_unit_test(test_other_layouts_go_to_the_general_reader),
		cmocka_unit_test(test_other_values_read_alike),
		cmocka_unit_test(test_written_contents_are_read_fast),
		cmocka_unit_test(test_other_contents_read_alike),
		cmocka_unit_test(test_a_formatted_tree_reads_alike),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
