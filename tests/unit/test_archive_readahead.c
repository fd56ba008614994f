/* Members read ahead on a thread: the same members, bytes and digests as a
 * read on the caller's thread, through a ring much smaller than the
 * archive; members longer than wanted cut one byte past; damage reported
 * where it is and again on every later call; a read-ahead closed midway
 * stops its thread. */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hash.h"
#include "archive_readahead.h"
#include "dest.h"
#include "tarball.h"
#include "tree.h"
#include "util.h"

#define ARCHIVE "test.tar.zst"
#define BLOCK 4096

struct member {
	const char *name;
	enum entry_type type;
	size_t size;
	const char *target; /* hard links and symlinks */
};

/* Sizes around the pieces the reader hands out (256 KiB) and the ring
 * (8 MiB), which the 20 MiB member wraps around twice. */
static const struct member members[] = {
	{ "d", ENTRY_DIR, 0, NULL },
	{ "d/empty", ENTRY_FILE, 0, NULL },
	{ "d/one", ENTRY_FILE, 1, NULL },
	{ "d/link", ENTRY_SYMLINK, 0, "one" },
	{ "d/piece", ENTRY_FILE, 262144, NULL },
	{ "d/piece+1", ENTRY_FILE, 262145, NULL },
	{ "d/same", ENTRY_FILE, 1, "d/one" },
	{ "d/skipped", ENTRY_FILE, 5000, NULL },
	{ "d/big", ENTRY_FILE, (size_t)20 << 20, NULL },
	{ "d/odd", ENTRY_FILE, 3 * 1048576 + 7, NULL },
	{ "z", ENTRY_FILE, 100, NULL },
};
#define NMEMBERS (sizeof(members) / sizeof(members[0]))

struct fixture {
	char dir[64];
	char *path;
};

/* Member i's bytes: different for every member and offset, compressible
 * but not trivially. */
static void fill(size_t i, char *p, size_t size)
{
	uint32_t x = (uint32_t)i * 2654435761u + 1;

	for (size_t k = 0; k < size; k++) {
		x = x * 1103515245u + 12345u;
		p[k] = (char)('a' + (x >> 16) % 7);
	}
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct tarball_writer *w;
	struct error err;
	uint64_t size;
	char *data = malloc((size_t)20 << 20);

	snprintf(f->dir, sizeof(f->dir), "/tmp/incbak-unit.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(tarball_writer_open(f->dir, ARCHIVE, 3, 1, &w, &err),
			 0);
	for (size_t i = 0; i < NMEMBERS; i++) {
		const struct member *m = &members[i];
		struct tree_entry e = { .type = (uint8_t)m->type, .mode = 0644,
					.size = m->size };
		int rc;

		if (m->type == ENTRY_SYMLINK)
			e.link_target = (char *)m->target;
		if (m->type == ENTRY_FILE && m->target) {
			rc = tarball_write_hardlink(w, m->name, m->target, &e,
						    &err);
		} else {
			rc = tarball_write_header(w, m->name, &e, &err);
			if (rc == 0 && m->type == ENTRY_FILE && m->size) {
				fill(i, data, m->size);
				rc = tarball_write_data(w, data, m->size, &err);
			}
		}
		if (rc < 0)
			fail_msg("%s", err.msg);
	}
	assert_int_equal(tarball_writer_commit(w, &size, &err), 0);
	free(data);
	f->path = dest_archive_path(f->dir, ARCHIVE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	/* The tests' own archives too, left behind by a test that failed. */
	const char *const extra[] = { "cut.tar.zst", "many.tar.zst" };

	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		char *path = str_fmt("%s/%s", f->dir, extra[i]);

		unlink(path);
		free(path);
	}
	unlink(f->path);
	rmdir(f->dir);
	free(f->path);
	free(f);
	return 0;
}

/* Every regular member but d/skipped, with its size as the limit, or
 * `cut` bytes where that is smaller. */
static int64_t cut;

static int64_t want(void *ctx, const char *name)
{
	(void)ctx;
	for (size_t i = 0; i < NMEMBERS; i++) {
		if (strcmp(members[i].name, name))
			continue;
		if (!strcmp(name, "d/skipped"))
			return -1;
		return (int64_t)members[i].size < cut ? (int64_t)members[i].size
						      : cut;
	}
	fail_msg("the reader asked about '%s', which is not a file", name);
	return -1;
}

static size_t index_of(const char *name)
{
	for (size_t i = 0; i < NMEMBERS; i++)
		if (!strcmp(members[i].name, name))
			return i;
	fail_msg("no member '%s'", name);
	return 0;
}

/* Reads the whole archive, checking every member's bytes and digest and
 * that every piece but the last is whole blocks; returns the names seen,
 * space-separated. */
static char *read_all(const char *path, bool threaded)
{
	struct archive_readahead *p;
	struct error err;
	struct buf names = { 0 };
	const char *name;
	char *expect = malloc((size_t)20 << 20);
	int rc;

	assert_int_equal(
		archive_readahead_open(path, want, NULL, threaded, &p, &err),
		0);
	while ((rc = archive_readahead_next(p, &name, &err)) > 0) {
		size_t i = index_of(name), size = members[i].size, got = 0;
		uint8_t sum[HASH_SIZE], digest[HASH_SIZE];
		const void *data;
		ssize_t n;

		buf_append(&names, name, strlen(name));
		buf_append(&names, " ", 1);
		fill(i, expect, size);
		while ((n = archive_readahead_data(p, &data, &err)) > 0) {
			assert_true(got + (size_t)n <= size);
			assert_memory_equal(data, expect + got, (size_t)n);
			got += (size_t)n;
			if (got < size)
				assert_int_equal((size_t)n % BLOCK, 0);
		}
		assert_int_equal(n, 0);
		assert_int_equal(got, size);
		archive_readahead_digest(p, digest);
		assert_int_equal(hash_buffer(expect, size, sum), 0);
		assert_memory_equal(digest, sum, HASH_SIZE);
	}
	assert_int_equal(rc, 0);
	/* The end stays the end. */
	assert_int_equal(archive_readahead_next(p, &name, &err), 0);
	archive_readahead_close(p);
	free(expect);
	buf_append(&names, "", 1);
	return names.data;
}

/* A read-ahead of the archive at path, at `member`. */
static struct archive_readahead *open_at(const char *path, bool threaded,
				const char *member)
{
	struct archive_readahead *p;
	struct error err;
	const char *name;

	assert_int_equal(
		archive_readahead_open(path, want, NULL, threaded, &p, &err),
		0);
	do
		assert_int_equal(archive_readahead_next(p, &name, &err), 1);
	while (strcmp(name, member));
	return p;
}

static void test_threaded_reads_what_inline_reads(void **state)
{
	struct fixture *f = *state;
	char *inline_names, *threaded_names;

	cut = INT64_MAX;
	inline_names = read_all(f->path, false);
	threaded_names = read_all(f->path, true);
	assert_string_equal(inline_names, "d/empty d/one d/piece d/piece+1 "
			    "d/big d/odd z ");
	assert_string_equal(threaded_names, inline_names);
	free(inline_names);
	free(threaded_names);
}

/* archive_readahead_open_every(): every member in archive order with its kind
 * and link target, folders, links and devices with no data, every file whole
 * with its digest (even d/skipped, which want() refuses). */
static void test_every_member_comes_with_its_kind(void **state)
{
	struct fixture *f = *state;
	char *expect = malloc((size_t)20 << 20);

	for (int threaded = 0; threaded < 2; threaded++) {
		struct archive_readahead *p;
		struct archive_readahead_member m;
		struct error err;
		size_t i = 0;
		int rc;

		assert_int_equal(archive_readahead_open_every(f->path, threaded,
							      &p, &err),
				 0);
		while ((rc = archive_readahead_next_member(p, &m, &err)) > 0) {
			const struct member *want_m = &members[i];
			bool hardlink = want_m->type == ENTRY_FILE &&
					want_m->target;
			size_t size = hardlink ? 0 : want_m->size, got = 0;
			uint8_t sum[HASH_SIZE], digest[HASH_SIZE];
			const void *data;
			ssize_t n;

			assert_true(i < NMEMBERS);
			assert_string_equal(m.name, want_m->type == ENTRY_DIR
					    ? "d/" : want_m->name);
			assert_int_equal(m.type, want_m->type);
			assert_int_equal(m.is_hardlink, hardlink);
			assert_false(m.is_other);
			if (want_m->target)
				assert_string_equal(m.link_target,
						    want_m->target);
			else
				assert_null(m.link_target);
			fill(i, expect, size);
			while ((n = archive_readahead_data(p, &data, &err)) >
			       0) {
				assert_true(got + (size_t)n <= size);
				assert_memory_equal(data, expect + got,
						    (size_t)n);
				got += (size_t)n;
			}
			assert_int_equal(n, 0);
			assert_int_equal(got, size);
			if (want_m->type == ENTRY_FILE && !hardlink) {
				archive_readahead_digest(p, digest);
				assert_int_equal(hash_buffer(expect, size, sum),
						 0);
				assert_memory_equal(digest, sum, HASH_SIZE);
			}
			i++;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(i, NMEMBERS);
		archive_readahead_close(p);
	}
	free(expect);
}

/* A member longer than wanted gives one byte more than wanted, and its
 * digest is of those bytes. */
static void test_member_longer_than_wanted_is_cut(void **state)
{
	struct fixture *f = *state;

	for (int threaded = 0; threaded < 2; threaded++) {
		struct archive_readahead *p;
		struct error err;
		const char *name;
		const void *data;
		size_t total = 0;
		ssize_t n;
		uint8_t digest[HASH_SIZE], sum[HASH_SIZE];
		char *expect = malloc(300000);

		cut = 262144 + 5;
		p = open_at(f->path, threaded, "d/big");
		while ((n = archive_readahead_data(p, &data, &err)) > 0)
			total += (size_t)n;
		assert_int_equal(total, 262144 + 6);
		fill(index_of("d/big"), expect, total);
		archive_readahead_digest(p, digest);
		assert_int_equal(hash_buffer(expect, total, sum), 0);
		assert_memory_equal(digest, sum, HASH_SIZE);
		/* The next member comes whole after the cut one. */
		assert_int_equal(archive_readahead_next(p, &name, &err), 1);
		assert_string_equal(name, "d/odd");
		archive_readahead_close(p);
		free(expect);
	}
}

/* Members left half read are passed over; a read-ahead closed while its
 * thread waits for room in the ring stops it. */
static void test_partial_reads_and_early_close(void **state)
{
	struct fixture *f = *state;

	cut = INT64_MAX;
	for (int threaded = 0; threaded < 2; threaded++) {
		struct archive_readahead *p;
		struct error err;
		const char *name;
		const void *data;

		p = open_at(f->path, threaded, "d/big");
		assert_int_equal(archive_readahead_data(p, &data, &err),
				 262144);
		assert_int_equal(archive_readahead_next(p, &name, &err), 1);
		assert_string_equal(name, "d/odd");
		assert_int_equal(archive_readahead_data(p, &data, &err),
				 262144);
		archive_readahead_close(p);

		/* Closed at once: the thread may be anywhere. */
		assert_int_equal(archive_readahead_open(f->path, want, NULL,
							threaded, &p, &err),
				 0);
		archive_readahead_close(p);
	}
}

/* A copy of the archive cut short in the middle of d/big. */
static char *truncated_copy(const struct fixture *f)
{
	char *copy = str_fmt("%s/cut.tar.zst", f->dir);
	FILE *in = fopen(f->path, "rb"), *out = fopen(copy, "wb");
	struct stat st;
	char chunk[65536];
	size_t left;

	assert_non_null(in);
	assert_non_null(out);
	assert_int_equal(stat(f->path, &st), 0);
	left = (size_t)st.st_size / 2;
	while (left > 0) {
		size_t n = fread(chunk, 1, left < sizeof(chunk) ? left
							       : sizeof(chunk),
				 in);

		assert_true(n > 0);
		assert_int_equal(fwrite(chunk, 1, n, out), n);
		left -= n;
	}
	fclose(in);
	assert_int_equal(fclose(out), 0);
	return copy;
}

/* The members before the damage come whole; the damaged one fails with
 * the reader's message, and so does every later call. */
static void test_damage_is_reported_where_it_is(void **state)
{
	struct fixture *f = *state;
	char *copy = truncated_copy(f);
	char first[sizeof(((struct error *)0)->msg)];

	cut = INT64_MAX;
	for (int threaded = 0; threaded < 2; threaded++) {
		struct archive_readahead *p;
		struct error err;
		const char *name;
		const void *data;
		ssize_t n;

		p = open_at(copy, threaded, "d/big");
		while ((n = archive_readahead_data(p, &data, &err)) > 0)
			;
		assert_int_equal(n, -1);
		assert_non_null(strstr(err.msg, "cut.tar.zst"));
		if (threaded)
			assert_string_equal(err.msg, first);
		else
			snprintf(first, sizeof(first), "%s", err.msg);
		err.msg[0] = '\0';
		assert_int_equal(archive_readahead_next(p, &name, &err), -1);
		assert_string_equal(err.msg, first);
		err.msg[0] = '\0';
		assert_int_equal(archive_readahead_data(p, &data, &err), -1);
		assert_string_equal(err.msg, first);
		archive_readahead_close(p);
	}
	unlink(copy);
	free(copy);
}

/* How many members the reader asked about, for the test below. */
static atomic_long asked;

static int64_t want_first_and_last(void *ctx, const char *name)
{
	(void)ctx;
	atomic_fetch_add(&asked, 1);
	return strcmp(name, "a") && strcmp(name, "z") ? -1 : 1;
}

/* A read-ahead closed while its reader passes over members nobody wants
 * stops there, not at the end of the archive, and what was found before
 * reaches the caller first (a restore of the first folder of a big archive
 * would otherwise read it all before it ends). */
static void test_close_stops_the_reader_between_members(void **state)
{
	struct fixture *f = *state;
	enum { UNWANTED = 100000 };
	struct tree_entry e = { .type = ENTRY_FILE, .mode = 0644, .size = 1 };
	struct tarball_writer *w;
	struct archive_readahead *p;
	struct error err;
	const char *name;
	uint64_t size;
	char *path = str_fmt("%s/many.tar.zst", f->dir);

	assert_int_equal(tarball_writer_open(f->dir, "many.tar.zst", 1, 1, &w,
					     &err), 0);
	assert_int_equal(tarball_write_header(w, "a", &e, &err), 0);
	assert_int_equal(tarball_write_data(w, "a", 1, &err), 0);
	e.size = 0;
	for (int i = 0; i < UNWANTED; i++) {
		char name[32];

		snprintf(name, sizeof(name), "u/%06d", i);
		assert_int_equal(tarball_write_header(w, name, &e, &err), 0);
	}
	e.size = 1;
	assert_int_equal(tarball_write_header(w, "z", &e, &err), 0);
	assert_int_equal(tarball_write_data(w, "z", 1, &err), 0);
	assert_int_equal(tarball_writer_commit(w, &size, &err), 0);

	atomic_store(&asked, 0);
	assert_int_equal(archive_readahead_open(path, want_first_and_last, NULL,
						true, &p, &err),
			 0);
	/* Closed once the reader is among the unwanted ones. */
	while (atomic_load(&asked) < 100)
		sched_yield();
	archive_readahead_close(p);
	assert_true(atomic_load(&asked) < UNWANTED);

	/* The first member reaches the caller while the reader passes over
	 * the others, not once it has passed them all. */
	atomic_store(&asked, 0);
	assert_int_equal(archive_readahead_open(path, want_first_and_last, NULL,
						true, &p, &err),
			 0);
	assert_int_equal(archive_readahead_next(p, &name, &err), 1);
	assert_string_equal(name, "a");
	assert_true(atomic_load(&asked) < UNWANTED);
	archive_readahead_close(p);
	unlink(path);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threaded_reads_what_inline_reads),
		cmocka_unit_test(test_member_longer_than_wanted_is_cut),
		cmocka_unit_test(test_every_member_comes_with_its_kind),
		cmocka_unit_test(test_partial_reads_and_early_close),
		cmocka_unit_test(test_damage_is_reported_where_it_is),
		cmocka_unit_test(test_close_stops_the_reader_between_members),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
