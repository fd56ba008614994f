/* Reading a few records of big files, as a restore of some paths does: the
 * manifest's files at, under and above the paths, the metadata's history
 * and the contents asked for. What is read is checked as in a whole read;
 * what is left out is not read at all when laid out as incbak writes it,
 * and any other layout is read whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "catalog.h"
#include "metadata_dir.h"
#include "util.h"

#define SUM_A "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SUM_B "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
#define SUM_C "486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7"
#define SUM_D "0000000000000000000000000000000000000000000000000000000000000001"
#define ID "2026-01-01_00-00-00"
#define ODD_NAME "q\\\"u\\\\o\\nte" /* JSON for q"u\o<newline>te */

#define FILE_REC(path, sum) \
	"{\"path\":\"" path "\",\"type\":\"file\",\"size\":3," \
	"\"modified_time\":1.5,\"checksum\":\"" sum "\"}"
#define DIR_REC(path) \
	"{\"path\":\"" path "\",\"type\":\"dir\",\"modified_time\":0}"
#define HOLD(sum) "\"" sum "\":{\"size\":3,\"member\":\"m\"}"

/* Compact, as no incbak writes it; catalog_manifest_format() gives the layout.
 */
static const char compact_manifest[] =
	"{\"format_version\":1,\"backup_id\":\"" ID "\","
	"\"date\":\"2026-01-01T00:00:00Z\",\"files\":[" DIR_REC("a") "," DIR_REC("a/b") "," FILE_REC("a/b/c", SUM_A) "," FILE_REC("a/b.txt", SUM_B) "," FILE_REC(
		"a-b",
		SUM_B) "," DIR_REC("ab") "," FILE_REC("ab/x",
						      SUM_C) "," FILE_REC("z",
									  SUM_C) "," FILE_REC(ODD_NAME,
											      SUM_A) "],"
												     "\"deleted\":[{\"path\":\"gone\"}],"
												     "\"holds\":{" HOLD(SUM_A) "," HOLD(
													     SUM_B) "," HOLD(SUM_C) "}}";

static void formatted_manifest(struct buf *out)
{
	struct manifest m;
	struct error err;

	catalog_manifest_init(&m);
	assert_int_equal(catalog_manifest_parse(compact_manifest,
						sizeof(compact_manifest) - 1,
						&m, &err),
			 0);
	catalog_manifest_format(&m, out);
	catalog_manifest_release(&m);
}

/* The paths of m's files, one per line, in order. */
static char *file_paths(const struct manifest *m)
{
	struct buf out = {0};

	for (size_t i = 0; i < m->files.len; i++) {
		buf_puts(&out, m->files.entries[i].path);
		buf_puts(&out, "|");
	}
	buf_append(&out, "", 1);
	return out.data;
}

static void expect_paths(const char *text, size_t len, const char *path,
			 const char *want)
{
	struct strlist paths = {0};
	struct manifest m;
	struct error err;
	char *got;

	strlist_push(&paths, path);
	catalog_manifest_init(&m);
	assert_int_equal(
		catalog_manifest_parse_paths(text, len, &paths, &m, &err), 0);
	got = file_paths(&m);
	assert_string_equal(got, want);
	free(got);
	catalog_manifest_release(&m);
	strlist_clear(&paths);
}

static void test_files_at_under_and_above_the_paths(void **state)
{
	struct buf text = {0};
	struct strlist paths = {0};
	struct manifest m;
	struct error err;

	(void)state;
	formatted_manifest(&text);
	expect_paths(text.data, text.len, "a/b", "a|a/b|a/b/c|");
	expect_paths(text.data, text.len, "a", "a|a/b|a/b.txt|a/b/c|");
	expect_paths(text.data, text.len, "ab/x", "ab|ab/x|");
	expect_paths(text.data, text.len, "q\"u\\o\nte", "q\"u\\o\nte|");
	expect_paths(text.data, text.len, "nothing", "");
	/* The sections a restore does not use are not read. */
	strlist_push(&paths, "z");
	catalog_manifest_init(&m);
	assert_int_equal(catalog_manifest_parse_paths(text.data, text.len,
						      &paths, &m, &err),
			 0);
	assert_int_equal(m.holds.len, 0);
	assert_int_equal(m.deleted.len, 0);
	assert_string_equal(m.backup_id, ID);
	catalog_manifest_release(&m);
	strlist_clear(&paths);
	buf_release(&text);
}

static void test_pieces_of_any_size(void **state)
{
	static const size_t sizes[] = { 1, 2, 7, 64, 4096 };
	struct buf text = {0};
	struct strlist paths = {0};
	struct error err;

	(void)state;
	formatted_manifest(&text);
	strlist_push(&paths, "a/b");
	strlist_push(&paths, "q\"u\\o\nte");
	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		struct catalog_stream *s = catalog_stream_new(&paths);
		struct manifest m;
		char *got;

		for (size_t at = 0; at < text.len; at += sizes[k])
			catalog_stream_feed(s, text.data + at,
					    text.len - at < sizes[k] ?
					    text.len - at : sizes[k]);
		catalog_manifest_init(&m);
		assert_int_equal(catalog_stream_finish(s, &m, &err), 0);
		catalog_stream_free(s);
		got = file_paths(&m);
		assert_string_equal(got, "a|a/b|a/b/c|q\"u\\o\nte|");
		free(got);
		catalog_manifest_release(&m);
	}
	strlist_clear(&paths);
	buf_release(&text);
}

/* Read whole, record by record as it arrives: the same manifest. */
static void test_every_record_as_it_arrives(void **state)
{
	struct buf text = {0}, again = {0};
	struct manifest m;
	struct error err;
	struct catalog_stream *s = catalog_stream_new(NULL);

	(void)state;
	formatted_manifest(&text);
	for (size_t at = 0; at < text.len; at += 7)
		catalog_stream_feed(s, text.data + at,
				    text.len - at < 7 ? text.len - at : 7);
	catalog_manifest_init(&m);
	assert_int_equal(catalog_stream_finish(s, &m, &err), 0);
	catalog_stream_free(s);
	assert_int_equal(m.files.len, 9);
	assert_int_equal(m.deleted.len, 1);
	assert_int_equal(m.holds.len, 3);
	catalog_manifest_format(&m, &again);
	buf_append(&text, "", 1);
	buf_append(&again, "", 1);
	assert_string_equal(again.data, text.data);
	catalog_manifest_release(&m);
	buf_release(&text);
	buf_release(&again);
}

/* Checks that span records still hold: a path twice is an error. */
static void test_a_path_twice(void **state)
{
	struct buf text = {0};
	struct manifest m;
	struct error err;
	struct catalog_stream *s = catalog_stream_new(NULL);
	char *line, *end;

	(void)state;
	formatted_manifest(&text);
	buf_append(&text, "", 1);
	line = strstr(text.data, "\n{\"path\":\"ab/x\"") + 1;
	end = strchr(line, '\n') + 1;
	/* ab/x's line (which ends in a comma) twice: still JSON. */
	catalog_stream_feed(s, text.data, (size_t)(end - text.data));
	catalog_stream_feed(s, line, (size_t)(end - line));
	catalog_stream_feed(s, end, text.len - 1 - (size_t)(end - text.data));
	catalog_manifest_init(&m);
	err.msg[0] = '\0';
	assert_int_equal(catalog_stream_finish(s, &m, &err), -1);
	assert_string_equal(err.msg, "path 'ab/x' appears twice");
	catalog_stream_free(s);
	catalog_manifest_release(&m);
	buf_release(&text);
}

/* Records must be separated by commas, and none may follow the last, as
 * in any JSON: else the manifest is read whole, which says where. */
static void test_commas_between_records(void **state)
{
	static const char *const bad[] = {
		"}\n{\"path\":\"a-b\"",       /* a comma dropped */
		"},\n],\n\"deleted\"",       /* one after the last */
	};
	static const char *const fixed[] = {
		"},\n{\"path\":\"a-b\"",
		"}\n],\n\"deleted\"",
	};
	struct buf text = {0};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct catalog_stream *s = catalog_stream_new(NULL);
		struct manifest m;
		struct error err;
		struct buf edited = {0};
		char *at;

		text.len = 0;
		formatted_manifest(&text);
		buf_append(&text, "", 1);
		/* From the formatted text to the bad one by one edit. */
		at = strstr(text.data, fixed[i]);
		if (!at)
			fail_msg("case %zu: no '%s' in\n%s", i, fixed[i],
				 text.data);
		buf_append(&edited, text.data, (size_t)(at - text.data));
		buf_puts(&edited, bad[i]);
		buf_puts(&edited, at + strlen(fixed[i]));
		catalog_stream_feed(s, edited.data, edited.len);
		catalog_manifest_init(&m);
		assert_int_equal(catalog_stream_finish(s, &m, &err), 1);
		catalog_stream_free(s);
		catalog_manifest_init(&m);
		assert_int_equal(catalog_manifest_parse(edited.data, edited.len,
							&m, &err),
				 -1);
		assert_non_null(strstr(err.msg, "not valid JSON"));
		buf_release(&edited);
	}
	buf_release(&text);
}

static void test_another_layout_is_read_whole(void **state)
{
	(void)state;
	expect_paths(compact_manifest, sizeof(compact_manifest) - 1, "a/b",
		     "a|a-b|a/b|a/b.txt|a/b/c|ab|ab/x|q\"u\\o\nte|z|");
}

/* Replaces the first `from` after `anchor` in text with `to` (same
 * length). */
static void damage(char *text, const char *anchor, const char *from,
		   const char *to)
{
	char *at = strstr(text, anchor);

	assert_non_null(at);
	at = strstr(at, from);
	assert_non_null(at);
	assert_int_equal(strlen(from), strlen(to));
	memcpy(at, to, strlen(to));
}

static void test_damage_is_found_where_it_is_read(void **state)
{
	struct buf text = {0};
	struct strlist paths = {0};
	struct manifest m;
	struct error err, whole_err;

	(void)state;
	formatted_manifest(&text);
	buf_append(&text, "", 1);
	damage(text.data, "{\"path\":\"z\"", "\"type\":\"file\"",
	       "\"type\":\"fxle\"");
	strlist_push(&paths, "a/b");
	catalog_manifest_init(&m);
	assert_int_equal(catalog_manifest_parse_paths(text.data, text.len - 1,
						      &paths, &m, &err),
			 0);
	catalog_manifest_release(&m);
	catalog_manifest_init(&m);
	assert_int_equal(
		catalog_manifest_parse(text.data, text.len - 1, &m, &err), -1);
	/* Damage among the records asked for: the whole read's message,
	 * whose line is the line in the whole text. */
	damage(text.data, "{\"path\":\"a/b/c\"", "\"type\":\"file\"",
	       "\"type\"!\"file\"");
	assert_int_equal(
		catalog_manifest_parse(text.data, text.len - 1, &m, &whole_err),
		-1);
	assert_int_equal(catalog_manifest_parse_paths(text.data, text.len - 1,
						      &paths, &m, &err),
			 -1);
	assert_string_equal(err.msg, whole_err.msg);
	assert_non_null(strstr(err.msg, "line 13,"));
	strlist_clear(&paths);
	buf_release(&text);
}

/* ---- backup_metadata.json ---- */

static const char compact_metadata[] =
	"{\"format_version\":1,\"last_backup_date\":\"2026-01-01T00:00:00Z\","
	"\"file_checksums\":{"
	"\"a\":{\"type\":\"file\",\"size\":3,\"modified_time\":1.5,"
	"\"checksum\":\"" SUM_A "\"},"
	"\"b\":{\"type\":\"file\",\"size\":3,\"modified_time\":1.5,"
	"\"checksum\":\"" SUM_B "\"}},"
	"\"contents\":{"
	"\"" SUM_A "\":{\"size\":3,\"member\":\"a\",\"backup_id\":\"" ID "\","
	"\"last_used\":\"" ID "\",\"frame\":0,\"skip\":512},"
	"\"" SUM_B "\":{\"size\":3,\"member\":\"b\",\"backup_id\":\"" ID "\","
	"\"last_used\":\"" ID "\",\"frame\":7,\"skip\":1024},"
	"\"" SUM_C "\":{\"size\":3,\"member\":\"c\",\"backup_id\":\"" ID "\","
	"\"last_used\":\"" ID "\"}},"
	"\"backup_history\":[{\"date\":\"2026-01-01T00:00:00Z\",\"backup_id\":"
	"\"" ID "\",\"archive\":\"x_backup_" ID ".tar.zst\","
	"\"files_added\":2,\"total_files\":2}],\"reported_specials\":[]}";

/* Saved by incbak, so laid out as every run writes it. */
static int setup(void **state)
{
	struct metadata md;
	struct error err;
	struct fixture *f;
	int rc = -1;

	if (metadata_dir_setup(state) < 0)
		return -1;
	f = *state;
	catalog_init(&md);
	if (catalog_parse(compact_metadata, sizeof(compact_metadata) - 1, &md,
			  &err) == 0 &&
	    catalog_save(f->dir, &md, &err) == 0)
		rc = 0;
	catalog_release(&md);
	return rc;
}

static char *read_text(const char *path)
{
	FILE *in = fopen(path, "rb");
	char *text = calloc(1, 1 << 16);

	assert_non_null(in);
	assert_non_null(text);
	assert_true(fread(text, 1, (1 << 16) - 1, in) > 0);
	fclose(in);
	return text;
}

static void damage_file(const struct fixture *f, const char *anchor,
			const char *from, const char *to)
{
	char *text = read_text(f->path);

	damage(text, anchor, from, to);
	metadata_dir_write(f, text);
	free(text);
}

static void load_history(const struct fixture *f, struct metadata *md)
{
	struct error err;
	bool found;

	catalog_init(md);
	assert_int_equal(
		catalog_load_parts(f->dir, md, &found, METADATA_SKIM, &err), 0);
	assert_int_equal(md->nhistory, 1);
	assert_int_equal(md->files.len, 0);
	assert_int_equal(md->contents.len, 0);
	assert_true(md->contents_pending);
}

static void load_some(const struct fixture *f, struct metadata *md,
		      const char *const *hex, size_t n, int want_rc)
{
	uint8_t sums[8][HASH_SIZE];
	struct error err;

	for (size_t i = 0; i < n; i++)
		assert_int_equal(hex_decode(hex[i], sums[i], HASH_SIZE), 0);
	err.msg[0] = '\0';
	assert_int_equal(
		catalog_load_some_contents(f->dir, md, sums[0], n, &err),
		want_rc);
	if (want_rc < 0 && !strstr(err.msg, "corrupt metadata"))
		fail_msg("got '%s'", err.msg);
}

static bool has(const struct metadata *md, const char *hex)
{
	uint8_t sum[HASH_SIZE];

	assert_int_equal(hex_decode(hex, sum, HASH_SIZE), 0);
	return catalog_content_find(&md->contents, sum) != NULL;
}

static void test_history_without_checking_the_rest(void **state)
{
	struct fixture *f = *state;
	struct metadata md;
	struct error err;
	bool found;

	/* Not even JSON any more. */
	damage_file(f, "\"b\":{", "\"type\":\"file\"", "\"type\"!\"file\"");
	load_history(f, &md);
	catalog_release(&md);
	/* Every other reader still refuses the file. */
	catalog_init(&md);
	assert_int_equal(catalog_load_parts(f->dir, &md, &found, 0, &err), -1);
	catalog_release(&md);
}

static void test_only_the_contents_asked_for(void **state)
{
	static const char *const asked[] = { SUM_C, SUM_B, SUM_D, SUM_B };
	struct fixture *f = *state;
	struct metadata md;
	uint8_t sum[HASH_SIZE];
	const struct content *c;

	load_history(f, &md);
	load_some(f, &md, asked, ARRAY_SIZE(asked), 0);
	assert_true(md.contents_pending);
	assert_int_equal(md.contents.len, 2);
	assert_false(has(&md, SUM_A));
	assert_int_equal(hex_decode(SUM_B, sum, HASH_SIZE), 0);
	c = catalog_content_find(&md.contents, sum);
	assert_non_null(c);
	assert_string_equal(c->member, "b");
	assert_true(c->has_frame);
	assert_int_equal(c->frame_offset, 7);
	assert_int_equal(c->frame_skip, 1024);
	assert_true(has(&md, SUM_C));
	catalog_release(&md);
}

/* A hand-edited file need not be sorted: the records are still found. */
static void test_unsorted_contents(void **state)
{
	static const char *const asked[] = { SUM_A, SUM_C };
	struct fixture *f = *state;
	char *text = read_text(f->path);
	char *a = strstr(text, "\n\"" SUM_A), *c = strstr(text, "\n\"" SUM_C);
	size_t len = 2 + HASH_SIZE * 2;
	struct metadata md;

	/* Same-length keys swapped: records a and c trade places. */
	assert_non_null(a);
	assert_non_null(c);
	memcpy(a + 2, SUM_C, len - 2);
	memcpy(c + 2, SUM_A, len - 2);
	metadata_dir_write(f, text);
	free(text);
	load_history(f, &md);
	load_some(f, &md, asked, ARRAY_SIZE(asked), 0);
	assert_int_equal(md.contents.len, 2);
	assert_true(has(&md, SUM_A));
	assert_true(has(&md, SUM_C));
	catalog_release(&md);
}

static void test_damage_in_contents(void **state)
{
	static const char *const other[] = { SUM_A };
	static const char *const damaged[] = { SUM_B };
	struct fixture *f = *state;
	struct metadata md;

	damage_file(f, "\"" SUM_B "\":{", "\"member\"", "\"membex\"");
	load_history(f, &md);
	load_some(f, &md, other, 1, 0);
	assert_true(has(&md, SUM_A));
	load_some(f, &md, damaged, 1, -1);
	catalog_release(&md);
}

static void test_a_replaced_file(void **state)
{
	static const char *const asked[] = { SUM_B };
	struct fixture *f = *state;
	struct metadata md;
	char *text, *shifted;

	load_history(f, &md);
	/* Same records, one byte longer up front: the old range is wrong. */
	text = read_text(f->path);
	shifted = str_fmt(" %s", text);
	metadata_dir_write(f, shifted);
	free(shifted);
	free(text);
	load_some(f, &md, asked, 1, 0);
	assert_int_equal(md.contents.len, 1);
	assert_true(has(&md, SUM_B));
	catalog_release(&md);
}

/* Enough contents to be formatted on a second thread and handed over in
 * many pieces: all there, in order (bisection depends on it). */
static void test_many_contents_saved_in_order(void **state)
{
	struct fixture *f = *state;
	struct metadata md, back;
	struct error err;
	bool found;
	char *text, *at, prev[HASH_HEX_SIZE] = "";
	size_t n = 0;
	FILE *in;
	long len;

	catalog_init(&md);
	assert_int_equal(catalog_parse(compact_metadata,
				       sizeof(compact_metadata) - 1, &md, &err),
			 0);
	/* File records to format meanwhile: the pieces queue up. */
	for (uint32_t i = 0; i < 200000; i++) {
		struct tree_entry *e = tree_push(&md.files);
		char name[32];

		snprintf(name, sizeof(name), "d%07u", (unsigned)i);
		e->path = tree_store_path(&md.files, name);
		e->path_stored = true;
		e->type = ENTRY_DIR;
		e->mode = 0755;
	}
	tree_sort(&md.files);
	for (uint32_t i = 0; i < 60000; i++) {
		uint8_t sum[HASH_SIZE] = {0};

		/* Inserted out of order: the writer sorts. */
		sum[0] = (uint8_t)(i * 7919u >> 8);
		sum[1] = (uint8_t)(i * 7919u);
		sum[2] = (uint8_t)(i >> 8);
		sum[3] = (uint8_t)i;
		sum[31] = 0x5a;
		catalog_content_insert(
			&md.contents, sum, i, ID,
			"a/member/name/long/enough/to/need/several/"
			"pieces/of/four/mebibytes",
			ID);
	}
	assert_int_equal(catalog_save(f->dir, &md, &err), 0);
	in = fopen(f->path, "rb");
	assert_non_null(in);
	assert_int_equal(fseek(in, 0, SEEK_END), 0);
	len = ftell(in);
	assert_true(len > 8 << 20);
	rewind(in);
	text = calloc(1, (size_t)len + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)len, in), (size_t)len);
	fclose(in);
	at = strstr(text, "\n\"contents\": {\n");
	assert_non_null(at);
	for (at = strchr(at + 2, '\n'); at && at[1] == '"' &&
	     at[2 + 2 * HASH_SIZE] == '"'; at = strchr(at + 1, '\n')) {
		if (n && memcmp(prev, at + 2, 2 * HASH_SIZE) >= 0)
			fail_msg("record %zu is out of order", n);
		memcpy(prev, at + 2, 2 * HASH_SIZE);
		n++;
	}
	assert_int_equal(n, 60003);
	free(text);
	catalog_init(&back);
	assert_int_equal(catalog_load(f->dir, &back, &found, &err), 0);
	assert_int_equal(back.contents.len, 60003);
	catalog_release(&back);
	catalog_release(&md);
}

/* Each with a destination folder of its own. */
#define IN_DIR(test) \
	cmocka_unit_test_setup_teardown(test, setup, metadata_dir_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files_at_under_and_above_the_paths),
		cmocka_unit_test(test_pieces_of_any_size),
		cmocka_unit_test(test_every_record_as_it_arrives),
		cmocka_unit_test(test_a_path_twice),
		cmocka_unit_test(test_commas_between_records),
		cmocka_unit_test(test_another_layout_is_read_whole),
		cmocka_unit_test(test_damage_is_found_where_it_is_read),
		IN_DIR(test_history_without_checking_the_rest),
		IN_DIR(test_only_the_contents_asked_for),
		IN_DIR(test_unsorted_contents),
		IN_DIR(test_damage_in_contents),
		IN_DIR(test_a_replaced_file),
		IN_DIR(test_many_contents_saved_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
