/* Writing a manifest into an archive: formatted once into memory when
 * small, counted and then written in pieces when big; either way the
 * archive carries the same manifest, whose holds are the contents the
 * backup itself holds; its frame is compressed at no more than level 2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zstd.h>

#include "fsutil.h"
#include "catalog.h"
#include "dest.h"
#include "tarball.h"
#include "util.h"
#include "zstd_size.h"

#define SUM_A "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SUM_B "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
#define SUM_C "486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7"
#define ID "2026-01-01_00-00-00"
#define OTHER "2025-01-01_00-00-00"
#define ARCHIVE "x_backup_" ID ".tar.zst"

static const char compact[] =
	"{\"format_version\":1,\"backup_id\":\"" ID "\","
	"\"date\":\"2026-01-01T00:00:00Z\",\"files_added\":2,\"files\":["
	"{\"path\":\"d\",\"type\":\"dir\",\"modified_time\":0},"
	"{\"path\":\"d/a\",\"type\":\"file\",\"size\":3,\"modified_time\":1,"
	"\"checksum\":\"" SUM_A "\"},"
	"{\"path\":\"d/b\",\"type\":\"file\",\"size\":5,\"modified_time\":1,"
	"\"checksum\":\"" SUM_B "\"},"
	"{\"path\":\"d/c\",\"type\":\"file\",\"size\":7,\"modified_time\":1,"
	"\"checksum\":\"" SUM_C "\"}],"
	"\"deleted\":[{\"path\":\"gone\"}],\"holds\":{}}";

static struct content *add(struct content_index *idx, const char *hex,
			   uint64_t size, const char *holder,
			   const char *member)
{
	uint8_t sum[HASH_SIZE];

	assert_int_equal(hex_decode(hex, sum, HASH_SIZE), 0);
	return catalog_content_insert(idx, sum, size, holder, member, holder);
}

static void parse(struct manifest *m)
{
	struct error err;

	catalog_manifest_init(m);
	assert_int_equal(
		catalog_manifest_parse(compact, sizeof(compact) - 1, m, &err),
		0);
}

/* What the archive must carry: the holds are A and C, held by ID. */
static void expected_text(struct buf *out)
{
	struct manifest m;
	struct content *a;

	parse(&m);
	a = add(&m.holds, SUM_A, 3, NULL, "d/a");
	a->has_frame = true;
	a->frame_offset = 4096;
	a->frame_skip = 512;
	add(&m.holds, SUM_C, 7, NULL, "d/c");
	catalog_manifest_format(&m, out);
	buf_append(out, "", 1);
	catalog_manifest_release(&m);
}

static void write_and_read_back(size_t buffered)
{
	char dir[] = "/tmp/incbak-unit.XXXXXX";
	struct content_index contents = {0};
	struct tarball_writer *w;
	struct manifest m, back;
	struct buf want = {0}, got = {0};
	struct content *a;
	struct error err;
	uint64_t size;
	char *path;

	assert_non_null(mkdtemp(dir));
	parse(&m);
	a = add(&contents, SUM_A, 3, ID, "d/a");
	a->has_frame = true;
	a->frame_offset = 4096;
	a->frame_skip = 512;
	add(&contents, SUM_B, 5, OTHER, "d/b");
	add(&contents, SUM_C, 7, ID, "d/c");
	assert_int_equal(tarball_writer_open(dir, ARCHIVE, 3, 1, &w, &err), 0);
	if (catalog_manifest_add(w, &m, &contents, ID, NULL, 1767225600,
				 buffered, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(tarball_writer_commit(w, &size, &err), 0);
	path = dest_archive_path(dir, ARCHIVE);
	catalog_manifest_init(&back);
	if (catalog_manifest_read(path, &back, &err) < 0)
		fail_msg("%s", err.msg);
	catalog_manifest_format(&back, &got);
	buf_append(&got, "", 1);
	expected_text(&want);
	assert_string_equal(got.data, want.data);
	/* A restore's read: the same tree, the holds only checked. */
	catalog_manifest_release(&back);
	catalog_manifest_init(&back);
	if (catalog_manifest_read_paths(path, NULL, &back, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(back.holds.len, 0);
	assert_int_equal(back.files.len, m.files.len);
	assert_int_equal(back.deleted.len, 1);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	free(path);
	buf_release(&want);
	buf_release(&got);
	catalog_manifest_release(&back);
	catalog_manifest_release(&m);
	catalog_contents_release(&contents);
}

static void test_small_manifest_in_one_piece(void **state)
{
	(void)state;
	write_and_read_back(CATALOG_MANIFEST_BUFFERED);
}

static void test_big_manifest_counted_then_written(void **state)
{
	(void)state;
	/* Four files can never fit in 100 bytes: counted from the start. */
	write_and_read_back(100);
}

static void test_manifest_found_too_big_while_buffered(void **state)
{
	(void)state;
	/* They might fit in 400 bytes, and do not. */
	write_and_read_back(400);
}

/* Writes a manifest-like member into an archive at `level`; returns how
 * big its frame is, and in *at_level the size zstd makes of that frame's
 * bytes at `want`. */
static size_t manifest_frame_size(int level, int want, size_t *at_level)
{
	char dir[] = "/tmp/incbak-unit.XXXXXX";
	struct tarball_writer *w;
	struct buf text = {0}, file = {0};
	struct error err;
	uint64_t size, off;
	unsigned long long plain;
	size_t frame;
	void *bytes;
	char *path;

	assert_non_null(mkdtemp(dir));
	for (int i = 0; i < 20000; i++)
		buf_printf(&text, "{\"path\":\"d%d/f%d\",\"size\":%d}\n",
			   i % 97, i, i * 31 % 7919);
	assert_int_equal(tarball_writer_open(dir, ARCHIVE, level, 1, &w, &err),
			 0);
	assert_int_equal(tarball_write_buffer(w, ".incbak/manifest.json",
					      text.data, text.len, 0, &err), 0);
	assert_int_equal(tarball_writer_commit(w, &size, &err), 0);
	path = dest_archive_path(dir, ARCHIVE);
	assert_int_equal(tarball_find_manifest_frame(path, &off, &err), 1);
	assert_int_equal(fs_read_file(path, &file, 1 << 26, &err), 0);
	frame = ZSTD_findFrameCompressedSize(file.data + off, file.len - off);
	assert_false(ZSTD_isError(frame));
	plain = ZSTD_getFrameContentSize(file.data + off, frame);
	assert_true(plain > text.len && plain < text.len + 8192);
	bytes = malloc(plain);
	assert_int_equal(ZSTD_decompress(bytes, plain, file.data + off, frame),
			 plain);
	*at_level = zstd_frame_size(bytes, plain, want);
	free(bytes);
	unlink(path);
	rmdir(dir);
	free(path);
	buf_release(&file);
	buf_release(&text);
	return frame;
}

/* Every run rewrites a manifest of the whole tree: above level 2 it would
 * cost much time for little size. */
static void test_manifest_frame_at_most_level_2(void **state)
{
	size_t got, want;

	(void)state;
	got = manifest_frame_size(19, 2, &want);
	assert_int_equal(got, want);
	got = manifest_frame_size(1, 1, &want);
	assert_int_equal(got, want);
	got = manifest_frame_size(19, 19, &want);
	assert_int_not_equal(got, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_manifest_in_one_piece),
		cmocka_unit_test(test_big_manifest_counted_then_written),
		cmocka_unit_test(test_manifest_found_too_big_while_buffered),
		cmocka_unit_test(test_manifest_frame_at_most_level_2),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
