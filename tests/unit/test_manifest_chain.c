/* Manifests that list what changed since their parent's tree: what a run
 * writes (version 2, the parent named, unchanged entries left out), what a
 * reader accepts, and the whole tree made from the parent's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "catalog.h"
#include "tree.h"
#include "util.h"

#define SUM_A "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SUM_B "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
#define PARENT "x_backup_2025-12-31_00-00-00.tar.zst"

static void head(char *out, size_t n, int version, const char *parent)
{
	snprintf(out, n, "{\"format_version\":%d,\"backup_id\":"
		 "\"2026-01-01_00-00-00\",%s%s%s\"date\":\"2026-01-01T00:00:00Z\",",
		 version, parent ? "\"parent\":\"" : "", parent ? parent : "",
		 parent ? "\"," : "");
}

static int parse_with(int version, const char *parent, const char *files,
		      struct manifest *m, struct error *err)
{
	char text[4096];
	size_t n;

	head(text, sizeof(text), version, parent);
	n = strlen(text);
	snprintf(text + n, sizeof(text) - n,
		 "\"files\":[%s],\"deleted\":[{\"path\":\"d/gone\"}],"
		 "\"holds\":{}}", files);
	catalog_manifest_init(m);
	return catalog_manifest_parse(text, strlen(text), m, err);
}

static struct tree_entry *add_file(struct tree *t, const char *path,
				   const char *hex, uint64_t size)
{
	struct tree_entry *e = tree_push(t);

	e->path = xstrdup(path);
	e->type = hex ? ENTRY_FILE : ENTRY_DIR;
	e->size = size;
	e->mode = 0644;
	if (hex)
		assert_int_equal(hex_decode(hex, e->checksum, HASH_SIZE), 0);
	return e;
}

static void test_run_writes_only_changes(void **state)
{
	struct manifest m, back;
	struct buf text = {0};
	struct error err;

	(void)state;
	catalog_manifest_init(&m);
	m.backup_id = xstrdup("2026-01-01_00-00-00");
	m.date = xstrdup("2026-01-01T00:00:00Z");
	m.parent = xstrdup(PARENT);
	m.delta = true;
	add_file(&m.files, "d", NULL, 0)->unchanged = true;
	add_file(&m.files, "d/a", SUM_A, 3);
	add_file(&m.files, "d/b", SUM_B, 5)->unchanged = true;
	catalog_manifest_format(&m, &text);
	buf_append(&text, "", 1);
	assert_non_null(strstr(text.data, "\"format_version\": 2,"));
	assert_non_null(strstr(text.data, "\"parent\": \"" PARENT "\","));
	assert_null(strstr(text.data, "\"d/b\""));
	catalog_manifest_init(&back);
	assert_int_equal(
		catalog_manifest_parse(text.data, text.len - 1, &back, &err),
		0);
	assert_true(back.delta);
	assert_string_equal(back.parent, PARENT);
	assert_int_equal(back.files.len, 1);
	assert_string_equal(back.files.entries[0].path, "d/a");
	catalog_manifest_release(&back);
	/* Without a parent the same manifest lists every entry, version 1. */
	free(m.parent);
	m.parent = NULL;
	m.delta = false;
	text.len = 0;
	catalog_manifest_format(&m, &text);
	buf_append(&text, "", 1);
	assert_non_null(strstr(text.data, "\"format_version\": 1,"));
	assert_null(strstr(text.data, "parent"));
	assert_non_null(strstr(text.data, "\"d/b\""));
	buf_release(&text);
	catalog_manifest_release(&m);
}

static void test_whole_tree_from_the_parents(void **state)
{
	struct manifest m;
	struct tree base = {0};
	struct error err;
	const char *want[] = { "d", "d/a", "d/kept", "e" };

	(void)state;
	add_file(&base, "d", NULL, 0);
	add_file(&base, "d/a", SUM_B, 5);
	add_file(&base, "d/gone", SUM_B, 5);
	add_file(&base, "d/kept", SUM_B, 5);
	/* The child changed d/a, added e and deleted d/gone. */
	assert_int_equal(parse_with(2, PARENT,
		"{\"path\":\"d/a\",\"type\":\"file\",\"size\":3,"
		"\"modified_time\":1,\"checksum\":\"" SUM_A "\"},"
		"{\"path\":\"e\",\"type\":\"dir\",\"modified_time\":1}",
		&m, &err), 0);
	assert_true(m.delta);
	catalog_manifest_compose(&m, &base);
	assert_false(m.delta);
	assert_string_equal(m.parent, PARENT);
	assert_int_equal(m.files.len, 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(m.files.entries[i].path, want[i]);
	assert_int_equal(m.files.entries[1].size, 3);
	assert_int_equal(m.files.entries[2].size, 5);
	/* The parent's tree is the caller's still. */
	assert_int_equal(base.len, 4);
	catalog_manifest_release(&m);
	tree_release(&base);
}

static void test_bad_parents_refused(void **state)
{
	const char *bad[] = { "a/b.tar.zst", "..", "." };
	struct manifest m;
	struct error err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char want[64];

		assert_int_equal(parse_with(2, bad[i], "", &m, &err), -1);
		snprintf(want, sizeof(want), "parent '%s' must be a file name",
			 bad[i]);
		assert_non_null(strstr(err.msg, want));
	}
	assert_int_equal(parse_with(3, PARENT, "", &m, &err), -1);
	assert_non_null(strstr(err.msg, "format_version 3 is newer than this "
				"incbak understands (2)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_writes_only_changes),
		cmocka_unit_test(test_whole_tree_from_the_parents),
		cmocka_unit_test(test_bad_parents_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
