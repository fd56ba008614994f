/* Loading backup_metadata.json in parts: the contents a run leaves out at
 * first (on a big tree only) are read later from their own byte range, and
 * from the whole file again if it is not the file that was loaded; and
 * saving it in two steps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "catalog.h"
#include "metadata_dir.h"
#include "util.h"

#define SUM_A "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SUM_B "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
#define SUM_C "486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7"
#define ID "2026-01-01_00-00-00"

static const char files_part[] =
	"{\"format_version\":1,\"last_backup_date\":\"2026-01-01T00:00:00Z\","
	"\"file_checksums\":{\"a\":{\"type\":\"file\",\"size\":3,"
	"\"modified_time\":1.5,\"checksum\":\"" SUM_A "\"}},";

static const char history_part[] =
	"\"backup_history\":[{\"date\":\"2026-01-01T00:00:00Z\",\"backup_id\":"
	"\"" ID "\",\"archive\":\"x_backup_" ID ".tar.zst\","
	"\"files_added\":1,\"total_files\":1}],\"reported_specials\":[]}\n";

static const char *content(const char *sum, int size)
{
	static char text[4][400];
	static int next;
	char *out = text[next++ % 4];

	snprintf(out, sizeof(text[0]),
		 "\"%s\":{\"size\":%d,\"member\":\"a\",\"backup_id\":\"" ID
		 "\",\"last_used\":\"" ID "\",\"frame\":0,\"skip\":512}",
		 sum, size);
	return out;
}

static void write_metadata(struct fixture *f, const char *contents)
{
	struct buf text = {0};

	buf_puts(&text, files_part);
	if (contents)
		buf_printf(&text, "\"contents\":{%s},", contents);
	buf_puts(&text, history_part);
	metadata_dir_write(f, text.data);
	buf_release(&text);
}

static void load_files_only(struct fixture *f, struct metadata *md)
{
	struct error err;
	bool found;

	catalog_init(md);
	assert_int_equal(
		catalog_load_parts(f->dir, md, &found, METADATA_FILES, &err),
		0);
	assert_true(found);
	assert_true(md->contents_pending);
	assert_int_equal(md->contents.len, 0);
}

static void format(const struct metadata *md, struct buf *out)
{
	out->len = 0;
	catalog_format(md, out);
	buf_append(out, "", 1);
}

/* md, loaded in parts, says what a whole load of the file says. */
static void assert_same_as_whole_load(struct fixture *f,
				      const struct metadata *md)
{
	struct metadata whole;
	struct buf a = {0}, b = {0};
	struct error err;
	bool found;

	catalog_init(&whole);
	assert_int_equal(catalog_load(f->dir, &whole, &found, &err), 0);
	format(md, &a);
	format(&whole, &b);
	assert_string_equal(a.data, b.data);
	buf_release(&a);
	buf_release(&b);
	catalog_release(&whole);
}

static void test_contents_later_equal_a_whole_load(void **state)
{
	struct fixture *f = *state;
	struct metadata later;
	struct error err;
	char both[900];

	snprintf(both, sizeof(both), "%s,%s", content(SUM_A, 3),
		 content(SUM_B, 5));
	write_metadata(f, both);
	load_files_only(f, &later);
	assert_int_equal(catalog_load_contents(f->dir, &later, &err), 0);
	assert_false(later.contents_pending);
	assert_int_equal(later.contents.len, 2);
	assert_same_as_whole_load(f, &later);
	catalog_release(&later);
}

static void test_a_replaced_file_is_read_whole(void **state)
{
	struct fixture *f = *state;
	struct metadata md;
	struct error err;
	uint8_t sum[HASH_SIZE];
	char three[1300];

	write_metadata(f, content(SUM_A, 3));
	load_files_only(f, &md);
	/* Longer, so the old byte range would cut a record in two. */
	snprintf(three, sizeof(three), "%s,%s,%s", content(SUM_C, 7),
		 content(SUM_B, 5), content(SUM_A, 3));
	write_metadata(f, three);
	assert_int_equal(catalog_load_contents(f->dir, &md, &err), 0);
	assert_int_equal(md.contents.len, 3);
	assert_int_equal(hex_decode(SUM_C, sum, HASH_SIZE), 0);
	assert_non_null(catalog_content_find(&md.contents, sum));
	catalog_release(&md);
}

static void test_a_replaced_corrupt_file_is_an_error(void **state)
{
	struct fixture *f = *state;
	struct metadata md;
	struct error err;

	write_metadata(f, content(SUM_A, 3));
	load_files_only(f, &md);
	write_metadata(f, "\"zz\":{}");
	err.msg[0] = '\0';
	assert_int_equal(catalog_load_contents(f->dir, &md, &err), -1);
	if (!strstr(err.msg, "corrupt metadata") ||
	    !strstr(err.msg, METADATA_FILE_NAME))
		fail_msg("got '%s'", err.msg);
	catalog_release(&md);
}

static void test_no_contents_key(void **state)
{
	struct fixture *f = *state;
	struct metadata md;
	struct error err;

	write_metadata(f, NULL);
	load_files_only(f, &md);
	assert_int_equal(catalog_load_contents(f->dir, &md, &err), 0);
	assert_false(md.contents_pending);
	assert_int_equal(md.contents.len, 0);
	catalog_release(&md);
}

static void test_small_contents_come_with_the_files(void **state)
{
	struct fixture *f = *state;
	struct metadata md;
	struct error err;
	bool found;
	char both[900];

	snprintf(both, sizeof(both), "%s,%s", content(SUM_A, 3),
		 content(SUM_B, 5));
	write_metadata(f, both);
	catalog_init(&md);
	assert_int_equal(
		catalog_load_parts(f->dir, &md, &found,
				   METADATA_FILES | METADATA_SMALL_CONTENTS,
				   &err),
		0);
	assert_false(md.contents_pending);
	assert_int_equal(md.contents.len, 2);
	assert_int_equal(md.files.len, 1);
	catalog_release(&md);
}

/* White space after the document counts as what follows the contents: a
 * file that is big there leaves them for later. */
static void test_big_contents_wait_until_asked(void **state)
{
	struct fixture *f = *state;
	struct metadata later;
	struct buf text = {0};
	struct error err;
	bool found;
	char both[900];

	snprintf(both, sizeof(both), "%s,%s", content(SUM_A, 3),
		 content(SUM_B, 5));
	buf_puts(&text, files_part);
	buf_printf(&text, "\"contents\":{%s},", both);
	buf_puts(&text, history_part);
	while (text.len < METADATA_SMALL_CONTENTS_SIZE + 4096)
		buf_puts(&text, "\n                                       ");
	metadata_dir_write(f, text.data);
	catalog_init(&later);
	assert_int_equal(
		catalog_load_parts(f->dir, &later, &found,
				   METADATA_FILES | METADATA_SMALL_CONTENTS,
				   &err),
		0);
	assert_true(later.contents_pending);
	assert_int_equal(later.contents.len, 0);
	assert_int_equal(catalog_load_contents(f->dir, &later, &err), 0);
	assert_int_equal(later.contents.len, 2);
	assert_same_as_whole_load(f, &later);
	buf_release(&text);
	catalog_release(&later);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' || !strncmp(de->d_name, ".incbak", 7))
			n++;
	closedir(d);
	return n;
}

/* The history added between the two steps is in the file; the rest as
 * it was when the save began. */
static void test_save_in_two_steps(void **state)
{
	struct fixture *f = *state;
	struct metadata md, again;
	struct catalog_saving *saving;
	struct history_entry *h;
	struct buf a = {0}, b = {0};
	struct error err;
	bool found;

	write_metadata(f, content(SUM_A, 3));
	catalog_init(&md);
	assert_int_equal(catalog_load(f->dir, &md, &found, &err), 0);
	saving = catalog_save_begin(f->dir, &md);
	h = catalog_add_history(&md);
	h->backup_id = xstrdup("2026-01-02_00-00-00");
	h->date = xstrdup("2026-01-02T00:00:00Z");
	h->archive = xstrdup("x_backup_2026-01-02_00-00-00.tar.zst");
	h->bytes_written = 1234;
	assert_int_equal(catalog_save_end(saving, &err), 0);
	catalog_init(&again);
	assert_int_equal(catalog_load(f->dir, &again, &found, &err), 0);
	assert_int_equal(again.nhistory, 2);
	assert_int_equal(again.history[1].bytes_written, 1234);
	format(&md, &a);
	format(&again, &b);
	assert_string_equal(a.data, b.data);
	/* the metadata file alone: no temporary file left */
	assert_int_equal(count_entries(f->dir), 1);
	buf_release(&a);
	buf_release(&b);
	catalog_release(&md);
	catalog_release(&again);
}

static void test_an_aborted_save_leaves_the_file(void **state)
{
	struct fixture *f = *state;
	struct metadata md;
	struct buf before = {0}, after = {0};
	struct error err;
	bool found;
	FILE *in;
	char chunk[4096];
	size_t n;

	write_metadata(f, content(SUM_A, 3));
	in = fopen(f->path, "r");
	assert_non_null(in);
	while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
		buf_append(&before, chunk, n);
	fclose(in);
	catalog_init(&md);
	assert_int_equal(catalog_load(f->dir, &md, &found, &err), 0);
	free(md.last_backup_date);
	md.last_backup_date = xstrdup("2027-01-01T00:00:00Z");
	catalog_save_abort(catalog_save_begin(f->dir, &md));
	in = fopen(f->path, "r");
	assert_non_null(in);
	while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
		buf_append(&after, chunk, n);
	fclose(in);
	assert_int_equal(before.len, after.len);
	assert_memory_equal(before.data, after.data, before.len);
	assert_int_equal(count_entries(f->dir), 1);
	buf_release(&before);
	buf_release(&after);
	catalog_release(&md);
}

/* A kept order is dropped by a change: what is saved is every content, in
 * order. */
static void test_kept_order_follows_changes(void **state)
{
	struct fixture *f = *state;
	struct metadata md, back;
	struct error err;
	uint8_t sum[HASH_SIZE];
	bool found;
	char both[900];

	snprintf(both, sizeof(both), "%s,%s", content(SUM_A, 3),
		 content(SUM_C, 7));
	write_metadata(f, both);
	catalog_init(&md);
	assert_int_equal(catalog_load(f->dir, &md, &found, &err), 0);
	catalog_contents_keep_order(&md.contents);
	/* SUM_B sorts between the two, and its insert may move the items. */
	assert_int_equal(hex_decode(SUM_B, sum, HASH_SIZE), 0);
	catalog_content_insert(&md.contents, sum, 5, ID, "b", ID);
	assert_int_equal(catalog_save(f->dir, &md, &err), 0);
	catalog_init(&back);
	assert_int_equal(catalog_load(f->dir, &back, &found, &err), 0);
	assert_int_equal(back.contents.len, 3);
	assert_non_null(catalog_content_find(&back.contents, sum));
	/* in order, or the reload's bisection could not find them */
	assert_int_equal(
		catalog_load_some_contents(f->dir, &back, sum, 1, &err), 0);
	catalog_release(&md);
	catalog_release(&back);
}

/* Each with a destination folder of its own. */
#define IN_DIR(test) \
	cmocka_unit_test_setup_teardown(test, metadata_dir_setup, \
					metadata_dir_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		IN_DIR(test_contents_later_equal_a_whole_load),
		IN_DIR(test_a_replaced_file_is_read_whole),
		IN_DIR(test_a_replaced_corrupt_file_is_an_error),
		IN_DIR(test_no_contents_key),
		IN_DIR(test_small_contents_come_with_the_files),
		IN_DIR(test_big_contents_wait_until_asked),
		IN_DIR(test_save_in_two_steps),
		IN_DIR(test_an_aborted_save_leaves_the_file),
		IN_DIR(test_kept_order_follows_changes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
