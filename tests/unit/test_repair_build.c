/* Unit tests for repair_build(): the metadata rebuilt from archives'
 * manifests alone, by tables of archives and what the result must say. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "repair.h"
#include "tree.h"
#include "util.h"

#define MAX_ARCHIVES 3

/* One archive: its backup's id letter, the checksums (one digit each) it
 * holds, and its manifest's tree: "a=1" a file with content 1, "e=1:0" an
 * empty one, "d/" a folder. */
struct archive_spec {
	char id;
	const char *holds;
	const char *tree;
	bool delta;
};

struct build_case {
	const char *what;
	struct archive_spec archives[MAX_ARCHIVES]; /* ends at id 0 */
	/* "1:AB" content 1 held by A, last used by B; sorted by checksum */
	const char *contents;
	const char *files;        /* the rebuilt tree's paths */
	char tree_id;             /* 0: none */
	int64_t total_files[MAX_ARCHIVES], stored[MAX_ARCHIVES];
};

static char *backup_id(char id)
{
	return str_fmt("2026010%cT000000Z", '1' + (id - 'A'));
}

static void add_tree(struct manifest *m, const char *spec)
{
	char *copy = xstrdup(spec), *save = NULL;

	for (char *tok = strtok_r(copy, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		struct tree_entry *e = tree_push(&m->files);
		char *eq = strchr(tok, '=');
		size_t n = strlen(tok);

		if (tok[n - 1] == '/') {
			e->path = xstrndup(tok, n - 1);
			e->type = ENTRY_DIR;
			continue;
		}
		e->path = xstrndup(tok, (size_t)(eq - tok));
		e->type = ENTRY_FILE;
		e->checksum[0] = (uint8_t)eq[1];
		e->size = strstr(eq, ":0") ? 0 : 10;
	}
	tree_sort(&m->files);
	free(copy);
}

static void make_manifest(struct manifest *m, const struct archive_spec *a)
{
	catalog_manifest_init(m);
	m->backup_id = backup_id(a->id);
	m->date = str_fmt("2026-01-0%cT00:00:00Z", '1' + (a->id - 'A'));
	m->delta = a->delta;
	for (const char *h = a->holds; *h; h++) {
		uint8_t sum[HASH_SIZE] = { (uint8_t)*h };
		char member[2] = { *h, 0 };

		catalog_content_insert(&m->holds, sum, 10, NULL, member, NULL);
	}
	add_tree(m, a->tree);
}

/* The contents as "1:AB 2:AA", by checksum. */
static char *describe_contents(const struct metadata *md)
{
	const struct content **sorted = catalog_content_sorted(&md->contents);
	char *out = xstrdup("");

	for (size_t i = 0; i < md->contents.len; i++) {
		const struct content *c = sorted[i];
		char *more = str_fmt("%s%s%c:%c%c", out, i ? " " : "",
				     c->checksum[0],
				     'A' + (c->holder[7] - '1'),
				     'A' + (c->last_used[7] - '1'));

		free(out);
		out = more;
	}
	free(sorted);
	return out;
}

static char *describe_files(const struct metadata *md)
{
	char *out = xstrdup("");

	for (size_t i = 0; i < md->files.len; i++) {
		char *more = str_fmt("%s%s%s", out, i ? " " : "",
				     md->files.entries[i].path);

		free(out);
		out = more;
	}
	return out;
}

static void check_case(const struct build_case *c)
{
	struct manifest m[MAX_ARCHIVES];
	struct repair_archive a[MAX_ARCHIVES];
	struct metadata md;
	size_t n = 0;
	char *contents, *files, *tree_id = c->tree_id ? backup_id(c->tree_id)
						      : NULL;

	catalog_init(&md);
	for (; n < MAX_ARCHIVES && c->archives[n].id; n++) {
		make_manifest(&m[n], &c->archives[n]);
		a[n] = (struct repair_archive){ .name = "x.tar.zst",
						.size = 100 + n,
						.manifest = &m[n] };
	}
	repair_build(&md, a, n);
	contents = describe_contents(&md);
	files = describe_files(&md);
	if (strcmp(contents, c->contents) || strcmp(files, c->files))
		fail_msg("%s: contents '%s' (want '%s'), files '%s' (want "
			 "'%s')", c->what, contents, c->contents, files,
			 c->files);
	if ((tree_id == NULL) != (md.tree_backup_id == NULL) ||
	    (tree_id && strcmp(tree_id, md.tree_backup_id)))
		fail_msg("%s: tree_backup_id %s", c->what,
			 md.tree_backup_id ? md.tree_backup_id : "none");
	assert_int_equal(md.nhistory, n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(md.history[i].backup_id, m[i].backup_id);
		assert_int_equal(md.history[i].bytes_written, 100 + i);
		if (md.history[i].total_files != c->total_files[i] ||
		    md.history[i].files_stored != c->stored[i])
			fail_msg("%s: archive %zu: %lld files, %lld stored",
				 c->what, i,
				 (long long)md.history[i].total_files,
				 (long long)md.history[i].files_stored);
	}
	if (n)
		assert_string_equal(md.last_backup_date, m[n - 1].date);
	free(contents);
	free(files);
	free(tree_id);
	for (size_t i = 0; i < n; i++)
		catalog_manifest_release(&m[i]);
	catalog_release(&md);
}

static void test_repair_build(void **state)
{
	static const struct build_case cases[] = {
		{ "one archive",
		  { { 'A', "12", "a=1 b=2 d/", false } },
		  "1:AA 2:AA", "a b d", 'A', { 2 }, { 2 } },
		{ "the newest tree refers to an older archive's content",
		  { { 'A', "12", "a=1 b=2", false },
		    { 'B', "3", "a=1 c=3", false } },
		  "1:AB 2:AA 3:BB", "a c", 'B', { 2, 2 }, { 2, 1 } },
		{ "a content two archives hold stays with the older",
		  { { 'A', "1", "a=1", false },
		    { 'B', "1", "a=1", false } },
		  "1:AB", "a", 'B', { 1, 1 }, { 1, 1 } },
		{ "a file whose bytes no archive holds is stored again",
		  { { 'A', "1", "a=1", false },
		    { 'B', "", "a=1 x=9", false } },
		  "1:AB", "a", 0, { 1, 2 }, { 1, 0 } },
		{ "an empty file needs no content",
		  { { 'A', "1", "a=1 e=9:0", false } },
		  "1:AA", "a e", 'A', { 2 }, { 1 } },
		{ "a content no tree uses is last used by its holder",
		  { { 'A', "12", "a=1", false },
		    { 'B', "", "a=1", false } },
		  "1:AB 2:AA", "a", 'B', { 1, 1 }, { 2, 0 } },
		{ "the newest manifest lists only changes: tree unknown",
		  { { 'A', "1", "a=1", false },
		    { 'B', "2", "b=2", true } },
		  "1:AA 2:BB", "b", 0, { 1, 1 }, { 1, 1 } },
		{ "three archives, a content used by the middle one only",
		  { { 'A', "12", "a=1 b=2", false },
		    { 'B', "", "b=2", false },
		    { 'C', "3", "c=3", false } },
		  "1:AA 2:AB 3:CC", "c", 'C', { 2, 1, 1 }, { 2, 0, 1 } },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check_case(&cases[i]);
}

/* The source and destination id come from the newest manifest that has
 * them; none: left for the next run to record. */
static void test_identity(void **state)
{
	static const struct archive_spec specs[] = {
		{ 'A', "1", "a=1", false },
		{ 'B', "", "a=1", false },
		{ 'C', "", "a=1", false },
	};
	static const char id1[] = "11111111111111111111111111111111";
	static const char id2[] = "22222222222222222222222222222222";
	struct manifest m[3];
	struct repair_archive a[3];
	struct metadata md;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		make_manifest(&m[i], &specs[i]);
		a[i] = (struct repair_archive){ .name = "x.tar.zst",
						.manifest = &m[i] };
	}
	catalog_init(&md);
	repair_build(&md, a, 3);
	assert_null(md.source);
	assert_null(md.dest_id);
	catalog_release(&md);
	m[0].source = xstrdup("/old");
	m[0].dest_id = xstrdup(id1);
	m[1].source = xstrdup("/moved");
	m[1].dest_id = xstrdup(id2);
	catalog_init(&md);
	repair_build(&md, a, 3);
	assert_string_equal(md.source, "/moved");
	assert_string_equal(md.dest_id, id2);
	catalog_release(&md);
	for (size_t i = 0; i < 3; i++)
		catalog_manifest_release(&m[i]);
}

static void test_no_archives(void **state)
{
	struct metadata md;

	(void)state;
	catalog_init(&md);
	repair_build(&md, NULL, 0);
	assert_int_equal(md.nhistory, 0);
	assert_int_equal(md.contents.len, 0);
	assert_null(md.last_backup_date);
	catalog_release(&md);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repair_build),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_no_archives),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
