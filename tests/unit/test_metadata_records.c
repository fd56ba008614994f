/* Saving backup_metadata.json copies the file records of the entries that
 * kept their mark (METADATA_RECORDS, tree_entry.same_record) from the file
 * they were loaded from, and a run's manifest is made from them: what is
 * written is byte for byte what formatting every record anew gives,
 * whatever changed in between. */
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
#include "tree.h"
#include "util.h"

#define ID_A "2026-01-01_00-00-00"
#define ID_B "2026-01-02_00-00-00"
#define ID_C "2026-01-03_00-00-00"
#define FILES 3000

static void sum_of(size_t i, uint8_t sum[HASH_SIZE])
{
	for (size_t k = 0; k < HASH_SIZE; k++)
		sum[k] = (uint8_t)(i >> (8 * (k % 4)) ^ k * 37);
}

/* Names of every kind a record writes differently: plain, escaped,
 * UTF-8, and not UTF-8 (written with a hex twin). */
static void name_of(size_t i, char *out, size_t size)
{
	static const char *const tails[] = {
		"", "-\"quoted\"", "-caf\xc3\xa9", "-\xff\xfe", "-back\\slash",
	};

	snprintf(out, size, "d%03zu/f%05zu%s", i / 40, i,
		 i % 9 == 4 ? tails[(i / 9) % 5] : "");
}

static void add_entry(struct metadata *md, const char *name, size_t i)
{
	struct tree_entry *e = tree_push(&md->files);

	e->path = xstrdup(name);
	e->type = i % 10 == 3 ? ENTRY_DIR : i % 10 == 7 ? ENTRY_SYMLINK
							: ENTRY_FILE;
	e->size = e->type == ENTRY_FILE ? i * 17 : 0;
	e->ino = 1000 + i;
	e->mtime = (struct nstime){ 1700000000 + (int64_t)i, (int32_t)i };
	e->ctime = (struct nstime){ 1700000100 + (int64_t)i, 5 };
	e->mode = e->type == ENTRY_DIR ? 0755 : 0644;
	e->uid = (uint32_t)i % 3;
	e->gid = (uint32_t)i % 5;
	e->recheck = e->type == ENTRY_FILE && i % 23 == 0;
	if (e->type == ENTRY_SYMLINK)
		e->link_target = xstrdup(i % 2 ? "../target" : "t\xc3\xa9");
	if (e->type == ENTRY_FILE) {
		sum_of(i, e->checksum);
		if (!catalog_content_find(&md->contents, e->checksum))
			catalog_content_insert(&md->contents, e->checksum,
					       e->size, i % 3 ? ID_A : ID_B,
					       name, ID_B);
	}
}

static void build(struct metadata *md)
{
	char name[64];
	struct history_entry *h;

	catalog_init(md);
	md->last_backup_date = xstrdup("2026-01-02T00:00:00Z");
	for (size_t i = 0; i < FILES; i++) {
		name_of(i, name, sizeof(name));
		add_entry(md, name, i);
	}
	tree_sort(&md->files);
	h = catalog_add_history(md);
	h->backup_id = xstrdup(ID_B);
	h->date = xstrdup("2026-01-02T00:00:00Z");
	h->archive = xstrdup("x_backup_" ID_B ".tar.zst");
}

static void read_whole(const char *path, struct buf *out)
{
	FILE *in = fopen(path, "r");
	char chunk[65536];
	size_t n;

	assert_non_null(in);
	out->len = 0;
	while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
		buf_append(out, chunk, n);
	buf_append(out, "", 1);
	fclose(in);
}

static void load_noting_records(struct fixture *f, struct metadata *md)
{
	struct error err;
	bool found;

	catalog_init(md);
	assert_int_equal(catalog_load_parts(f->dir, md, &found,
					    METADATA_ALL | METADATA_RECORDS,
					    &err),
			 0);
	assert_true(found);
}

/* The file holds exactly what formatting md anew gives. */
static void assert_saved_as_formatted(struct fixture *f,
				      const struct metadata *md)
{
	struct buf want = {0}, got = {0};

	catalog_format(md, &want);
	buf_append(&want, "", 1);
	read_whole(f->path, &got);
	assert_int_equal(got.len, want.len);
	assert_string_equal(got.data, want.data);
	buf_release(&want);
	buf_release(&got);
}

static struct tree_entry *entry_named(struct metadata *md, size_t i)
{
	char name[64];
	struct tree_entry *e;

	name_of(i, name, sizeof(name));
	e = tree_find(&md->files, name);
	assert_non_null(e);
	return e;
}

static void save(struct fixture *f, const struct metadata *md)
{
	struct error err;

	assert_int_equal(catalog_save(f->dir, md, &err), 0);
}

/* What a run does to the tree and the contents: entries changed (their
 * records dropped, as a run drops them), removed and added, contents
 * moved to another archive (records kept: the holder is the save's to
 * check), a content gone. */
static void change_like_a_run(struct metadata *md)
{
	struct tree next = {0};
	char name[64];

	for (size_t i = 0; i < md->files.len; i++) {
		struct tree_entry *e = &md->files.entries[i];

		if (i % 11 == 5)
			continue;
		tree_entry_copy(tree_push(&next), e);
		e = &next.entries[next.len - 1];
		if (i % 7 == 2) {
			e->mtime.nsec++;
			e->same_record = false;
		}
		if (i % 31 == 8) {
			e->recheck = !e->recheck;
			e->same_record = false;
		}
		if (i % 13 == 6) {
			struct tree_entry *added = tree_push(&next);

			snprintf(name, sizeof(name), "%s-new",
				 md->files.entries[i].path);
			tree_entry_copy(added, &md->files.entries[i]);
			free(added->path);
			added->path = xstrdup(name);
			added->same_record = false;
		}
	}
	tree_release(&md->files);
	md->files = next;
	tree_sort(&md->files);
	for (size_t i = 0; i < md->contents.len; i += 13)
		catalog_content_set_holder(&md->contents,
					   &md->contents.items[i], ID_C);
}

static bool drop_one(const struct content *c, void *ctx)
{
	return c == ctx;
}

static size_t count_marked(const struct metadata *md)
{
	size_t n = 0;

	for (size_t i = 0; i < md->files.len; i++)
		n += md->files.entries[i].same_record;
	return n;
}

/* Every record but those whose key is escaped (a quote, a backslash, or
 * a name that is not UTF-8, written with a hex twin) can be found again by
 * its path. */
static void test_a_load_marks_the_records_it_can_copy(void **state)
{
	struct fixture *f = *state;
	struct metadata md, back, plain;
	size_t escaped = 0;

	build(&md);
	save(f, &md);
	load_noting_records(f, &back);
	assert_int_equal(back.files.len, FILES);
	for (size_t i = 0; i < back.files.len; i++) {
		const char *p = back.files.entries[i].path;

		escaped += strpbrk(p, "\"\\\xff") != NULL;
		assert_true(back.files.entries[i].same_record ==
			    !strpbrk(p, "\"\\\xff"));
	}
	assert_true(escaped > 0);
	assert_int_equal(count_marked(&back), FILES - escaped);
	/* only a load that asks marks them */
	catalog_init(&plain);
	{
		struct error err;
		bool found;

		assert_int_equal(catalog_load(f->dir, &plain, &found, &err), 0);
	}
	assert_int_equal(count_marked(&plain), 0);
	catalog_release(&md);
	catalog_release(&back);
	catalog_release(&plain);
}

static void test_a_save_after_changes_is_formatted_anew(void **state)
{
	struct fixture *f = *state;
	struct metadata md, back, again;
	struct content *gone;

	build(&md);
	save(f, &md);
	load_noting_records(f, &back);
	change_like_a_run(&back);
	gone = catalog_content_find(&back.contents,
				    entry_named(&back, 1)->checksum);
	assert_non_null(gone);
	catalog_content_remove_if(&back.contents, drop_one, gone);
	save(f, &back);
	assert_saved_as_formatted(f, &back);
	/* and loads to the same again */
	load_noting_records(f, &again);
	save(f, &again);
	assert_saved_as_formatted(f, &back);
	catalog_release(&md);
	catalog_release(&back);
	catalog_release(&again);
}

/* A record an entry kept is copied, not formatted: an entry changed
 * without losing its mark (which no caller does) shows in the file as it
 * was. */
static void test_kept_records_are_copied(void **state)
{
	struct fixture *f = *state;
	struct metadata md, back, again;

	build(&md);
	save(f, &md);
	load_noting_records(f, &back);
	entry_named(&back, 10)->size = 999999;
	save(f, &back);
	load_noting_records(f, &again);
	assert_int_equal(entry_named(&again, 10)->size, 10 * 17);
	catalog_release(&md);
	catalog_release(&back);
	catalog_release(&again);
}

/* Once the file is not the one loaded, its records are not copied, even
 * where the other file has records of the same length in the same
 * place. */
static void test_nothing_is_copied_from_another_file(void **state)
{
	struct fixture *f = *state;
	struct metadata md, back;
	struct buf text = {0};
	char *mode;

	build(&md);
	save(f, &md);
	load_noting_records(f, &back);
	read_whole(f->path, &text);
	mode = strstr(text.data, "\"d000/f00003\":{\"type\":\"dir\"");
	assert_non_null(mode);
	mode = strstr(mode, "\"mode\":\"0755\"");
	assert_non_null(mode);
	memcpy(mode, "\"mode\":\"0700\"", strlen("\"mode\":\"0700\""));
	metadata_dir_write(f, text.data);
	save(f, &back);
	assert_saved_as_formatted(f, &back);
	buf_release(&text);
	catalog_release(&md);
	catalog_release(&back);
}

static int append_to(void *ctx, const char *data, size_t len)
{
	buf_append(ctx, data, len);
	return 0;
}

/* m's manifest as a run writes it, made from rec's records or not. */
static void write_manifest_of(const struct metadata *md,
			      const struct catalog_records *rec,
			      struct buf *out)
{
	struct manifest m;

	/* a view of md, nothing copied or released */
	catalog_manifest_init(&m);
	m.backup_id = (char *)ID_C;
	m.date = (char *)"2026-01-03T00:00:00Z";
	m.files = md->files;
	out->len = 0;
	assert_int_equal(catalog_manifest_write(&m, &md->contents, ID_A, rec,
						append_to, out),
			 0);
	buf_append(out, "", 1);
}

/* A run's manifest, made from the records of the metadata it replaces, is
 * byte for byte the manifest formatted anew, and it is made from them. */
static void test_a_manifest_made_from_records_is_formatted_anew(void **state)
{
	struct fixture *f = *state;
	struct metadata md, back;
	struct catalog_records *rec;
	struct buf copied = {0}, formatted = {0};

	build(&md);
	save(f, &md);
	load_noting_records(f, &back);
	change_like_a_run(&back);
	rec = catalog_records_open(f->dir, &back);
	assert_non_null(rec);
	write_manifest_of(&back, rec, &copied);
	write_manifest_of(&back, NULL, &formatted);
	assert_int_equal(copied.len, formatted.len);
	assert_string_equal(copied.data, formatted.data);
	/* made from them: an entry changed behind its mark shows as it was */
	entry_named(&back, 10)->size = 999999;
	write_manifest_of(&back, rec, &copied);
	assert_null(strstr(copied.data, "\"size\":999999"));
	write_manifest_of(&back, NULL, &formatted);
	assert_non_null(strstr(formatted.data, "\"size\":999999"));
	catalog_records_close(rec);
	/* not from a file other than the one loaded, nor without marks */
	save(f, &md);
	assert_null(catalog_records_open(f->dir, &back));
	catalog_release(&back);
	catalog_init(&back);
	{
		struct error err;
		bool found;

		assert_int_equal(catalog_load(f->dir, &back, &found, &err), 0);
	}
	assert_null(catalog_records_open(f->dir, &back));
	buf_release(&copied);
	buf_release(&formatted);
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
		IN_DIR(test_a_load_marks_the_records_it_can_copy),
		IN_DIR(test_a_save_after_changes_is_formatted_anew),
		IN_DIR(test_kept_records_are_copied),
		IN_DIR(test_nothing_is_copied_from_another_file),
		IN_DIR(test_a_manifest_made_from_records_is_formatted_anew),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
