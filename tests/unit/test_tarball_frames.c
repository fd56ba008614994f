/* Frames and members: the writer ends a frame before a member that would
 * not fit in what is left of it, so frames end where members do (but
 * inside a member longer than a frame); a reader opened at a frame knows
 * where each member and each frame it decoded starts; frames appended as
 * they are from another archive decode in place. Rotation copies frames
 * on the strength of all three. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zstd.h>

#include "zframes_read.h"
#include "zframes_write.h"
#include "fsutil.h"
#include "tarball.h"
#include "threads.h"
#include "tree.h"
#include "util.h"

#define ARCHIVE "t_backup_2026-01-01_00-00-00.tar.zst"
#define MIB ((uint64_t)1 << 20)

struct sample {
	const char *name;
	uint64_t size;
};

/* 3 MiB, then 2 MiB that do not fit beside it, small ones filling the
 * second frame past its end, one longer than a frame, a last small one. */
static const struct sample samples[] = {
	{ "a", 3 * MIB }, { "b", 2 * MIB }, { "c00", 300000 },
	{ "c01", 300000 }, { "c02", 300000 }, { "c03", 300000 },
	{ "c04", 300000 }, { "c05", 300000 }, { "c06", 300000 },
	{ "d", 9 * MIB }, { "e", 1000 },
};
#define NSAMPLES (sizeof(samples) / sizeof(samples[0]))

static void write_sample_archive(const char *dir)
{
	struct tarball_writer *w;
	struct error err;
	uint64_t size;
	char *chunk = xcalloc(1, MIB);

	assert_int_equal(tarball_writer_open(dir, ARCHIVE, 1, 2, &w, &err), 0);
	for (size_t i = 0; i < NSAMPLES; i++) {
		struct tree_entry e = { .type = ENTRY_FILE, .mode = 0644,
					.size = samples[i].size };

		assert_int_equal(tarball_write_header(w, samples[i].name, &e,
						      &err), 0);
		for (uint64_t n = 0; n < samples[i].size; n += MIB) {
			size_t len = samples[i].size - n < MIB
				? (size_t)(samples[i].size - n) : MIB;

			memset(chunk, (int)('a' + i), len);
			assert_int_equal(tarball_write_data(w, chunk, len,
							    &err), 0);
		}
	}
	assert_int_equal(tarball_write_buffer(w, ".incbak/manifest.json",
					      "{}", 2, 0, &err), 0);
	assert_int_equal(tarball_writer_commit(w, &size, &err), 0);
	free(chunk);
}

struct layout {
	uint64_t start[NSAMPLES];       /* uncompressed offset of each member */
	bool starts_frame[NSAMPLES];    /* a frame starts with it */
	uint64_t first_frame[NSAMPLES]; /* the frame its first byte is in */
	uint64_t last_frame[NSAMPLES];  /* the frame its last byte is in */
};

/* The members' places, read back through a reader opened at the first
 * frame. */
static void read_layout(const char *path, struct layout *l)
{
	struct tarball_reader *r;
	struct tarball_member m;
	struct error err;
	uint64_t comp, end = 0;
	size_t i = 0;

	assert_int_equal(tarball_reader_open_at(path, 0, 0, &r, &err), 0);
	while (tarball_next(r, &m, &err) == 1) {
		uint64_t at = tarball_member_offset(r);

		if (!strcmp(m.name, ".incbak/manifest.json")) {
			/* the manifest starts a frame of its own */
			assert_true(tarball_frame_ends_at(r, at, &comp));
			end = at;
			break;
		}
		assert_true(i < NSAMPLES);
		assert_string_equal(m.name, samples[i].name);
		l->start[i] = at;
		l->starts_frame[i] = tarball_frame_ends_at(r, at, &comp);
		i++;
	}
	assert_int_equal(i, NSAMPLES);
	for (i = 0; i < NSAMPLES; i++) {
		uint64_t next = i + 1 < NSAMPLES ? l->start[i + 1] : end;

		assert_true(tarball_frame_at(r, l->start[i], &comp,
					     &l->first_frame[i]));
		assert_true(tarball_frame_at(r, next - 1, &comp,
					     &l->last_frame[i]));
	}
	tarball_reader_close(r);
}

static void test_frames_end_where_members_do(void **state)
{
	static const bool starts_frame[NSAMPLES] = {
		true, true, false, false, false, false, false, false,
		true, true, false,
	};
	char dir[] = "/tmp/incbak-unit.XXXXXX";
	struct layout l;
	char *path;

	(void)state;
	assert_non_null(mkdtemp(dir));
	write_sample_archive(dir);
	path = path_join(dir, ARCHIVE);
	read_layout(path, &l);
	/* b does not fit after a; c06 not after b and c00-c05; d is longer
	 * than a frame; e follows d's last bytes */
	for (size_t i = 0; i < NSAMPLES; i++)
		assert_int_equal(l.starts_frame[i], starts_frame[i]);
	/* no member that fits in a frame straddles two */
	for (size_t i = 0; i < NSAMPLES; i++)
		if (samples[i].size < ZFRAMES_WRITE_FRAME_SIZE)
			assert_int_equal(l.first_frame[i], l.last_frame[i]);
	assert_true(l.last_frame[9] > l.first_frame[9]);
	assert_int_equal(l.first_frame[10], l.last_frame[9]);
	unlink(path);
	free(path);
	assert_int_equal(rmdir(dir), 0);
}

/* A reader from a frame on, its frames decoded on workers, gives the
 * members from there with their bytes, and says where later frames start
 * in the file, as a reader of the stream from the start does. */
static void test_reader_from_a_frame_on_workers(void **state)
{
	char dir[] = "/tmp/incbak-unit.XXXXXX";
	struct tarball_reader *r;
	struct tarball_member m;
	struct error err;
	uint64_t b_frame, d_frame, comp, from_b = 0;
	char *path, *data = xmalloc(MIB);
	ssize_t n;
	struct layout l;
	size_t i = 1;

	(void)state;
	assert_non_null(mkdtemp(dir));
	write_sample_archive(dir);
	path = path_join(dir, ARCHIVE);
	read_layout(path, &l);
	assert_int_equal(tarball_reader_open_at(path, 0, 0, &r, &err), 0);
	while (tarball_next(r, &m, &err) == 1 && strcmp(m.name, "e"))
		;
	assert_true(tarball_frame_ends_at(r, l.start[1], &b_frame));
	assert_true(tarball_frame_ends_at(r, l.start[9], &d_frame));
	tarball_reader_close(r);
	assert_true(b_frame > 0);
	assert_int_equal(tarball_reader_open_rest(path, b_frame, &r, &err), 0);
	while (tarball_next(r, &m, &err) == 1 && i < NSAMPLES) {
		uint64_t size = 0;

		assert_string_equal(m.name, samples[i].name);
		assert_int_equal(tarball_member_offset(r),
				 l.start[i] - l.start[1]);
		if (i == 9) {
			assert_true(tarball_frame_ends_at(
				r, tarball_member_offset(r), &comp));
			assert_int_equal(comp, d_frame);
		}
		while ((n = tarball_read(r, data, MIB, &err)) > 0) {
			for (ssize_t k = 0; k < n; k++)
				assert_int_equal(data[k], (char)('a' + i));
			size += (uint64_t)n;
		}
		assert_int_equal(n, 0);
		assert_int_equal(size, samples[i].size);
		from_b++;
		i++;
	}
	assert_int_equal(from_b, NSAMPLES - 1);
	tarball_reader_close(r);
	unlink(path);
	free(path);
	free(data);
	assert_int_equal(rmdir(dir), 0);
}

static unsigned char *read_file(FILE *f, size_t *len)
{
	long size;
	unsigned char *data;

	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size > 0);
	rewind(f);
	data = xmalloc((size_t)size);
	assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
	*len = (size_t)size;
	return data;
}

/* Frames appended from another file decode where they were put, between
 * frames compressed here; they take no frame number. */
static void test_append_raw_frames(void **state)
{
	FILE *src = tmpfile(), *out = tmpfile();
	struct zframes_write *p;
	uint64_t at, from;
	unsigned char *packed, buf[3 * 4096 + 1];
	size_t len, n;

	(void)state;
	assert_non_null(src);
	assert_non_null(out);
	p = zframes_write_new(fileno(src), 3, 1);
	memset(buf, 'x', 4096);
	assert_int_equal(zframes_write_append(p, buf, 4096), 0);
	assert_int_equal(zframes_write_flush(p), 0);
	from = zframes_write_bytes_out(p);
	zframes_write_free(p);

	p = zframes_write_new(fileno(out), 3, 2);
	memset(buf, 'y', 4096);
	assert_int_equal(zframes_write_append(p, buf, 4096), 0);
	assert_int_equal(zframes_write_append_raw(p, fileno(src), 0, from, &at),
			 0);
	memset(buf, 'z', 4096);
	assert_int_equal(zframes_write_append(p, buf, 4096), 0);
	assert_int_equal(zframes_write_flush(p), 0);
	assert_int_equal(at, zframes_write_frame_offset(p, 1) - from);
	assert_true(at > zframes_write_frame_offset(p, 0));
	zframes_write_free(p);

	packed = read_file(out, &len);
	n = ZSTD_decompress(buf, sizeof(buf), packed, len);
	assert_false(ZSTD_isError(n));
	assert_int_equal(n, 3 * 4096);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(buf[i], i < 4096 ? 'y' : i < 8192 ? 'x' : 'z');
	free(packed);
	fclose(src);
	fclose(out);
}

/* Frames made by a pool of 1 MiB each (the last shorter), plus a
 * skippable frame, as incbak's archives end. */
static unsigned char *make_frames(size_t *len, size_t nbytes)
{
	static const unsigned char skippable[12] = {
		0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 'i', 'n', 'c', 'b',
	};
	FILE *f = tmpfile();
	struct zframes_write *p;
	unsigned char *data, *chunk = xmalloc(MIB);

	assert_non_null(f);
	p = zframes_write_new(fileno(f), 3, 2);
	for (size_t done = 0; done < nbytes; done += MIB) {
		size_t n = nbytes - done < MIB ? nbytes - done : MIB;

		for (size_t i = 0; i < n; i++)
			chunk[i] = (unsigned char)((done + i) * 7 / 5);
		assert_int_equal(zframes_write_append(p, chunk, n), 0);
		assert_int_equal(zframes_write_end_frame(p), 0);
	}
	assert_int_equal(zframes_write_flush(p), 0);
	zframes_write_free(p);
	assert_int_equal(fwrite(skippable, 1, sizeof(skippable), f),
			 sizeof(skippable));
	fflush(f);
	data = read_file(f, len);
	fclose(f);
	free(chunk);
	return data;
}

/* Frames come back in order, whole, with where each ends; the skippable
 * one gives nothing; a flipped bit is named, not handed on. */
static void test_frames_decoded_on_workers(void **state)
{
	size_t len, nbytes = 5 * MIB + 4321, got = 0, n;
	unsigned char *data = make_frames(&len, nbytes);
	struct zframes_read *d = zframes_read_new(data, len);
	const void *out;
	const char *why = NULL;
	uint64_t end, last_end = 0;
	int rc, frames = 0;

	(void)state;
	assert_non_null(d);
	while ((rc = zframes_read_next(d, &out, &n, &end, &why)) == 1) {
		const unsigned char *b = out;

		for (size_t i = 0; i < n; i++)
			assert_int_equal(b[i],
					 (unsigned char)((got + i) * 7 / 5));
		got += n;
		assert_true(end > last_end);
		last_end = end;
		frames++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(got, nbytes);
	assert_int_equal(frames, 7);
	assert_int_equal(last_end, len);
	zframes_read_free(d);

	/* a bit flipped in the third frame's data */
	data[len / 2] ^= 0x20;
	d = zframes_read_new(data, len);
	assert_non_null(d);
	got = 0;
	while ((rc = zframes_read_next(d, &out, &n, &end, &why)) == 1)
		got += n;
	assert_int_equal(rc, -1);
	assert_non_null(why);
	assert_true(got < nbytes);
	zframes_read_free(d);
	free(data);
}

static int threads_running(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* The `threads` setting bounds the decompressing workers too: with a
 * budget of one, one worker beside the caller's thread. */
static void test_frames_decoded_within_the_budget(void **state)
{
	size_t len, n;
	unsigned char *data = make_frames(&len, 3 * MIB);
	struct zframes_read *d;
	const void *out;
	const char *why = NULL;
	uint64_t end;

	(void)state;
	threads_set_budget(1);
	d = zframes_read_new(data, len);
	assert_non_null(d);
	assert_int_equal(threads_running(), 2);
	while (zframes_read_next(d, &out, &n, &end, &why) == 1)
		;
	zframes_read_free(d);
	threads_set_budget(0);
	free(data);
}

/* Bytes that are not frames saying their size are left to a stream. */
static void test_frames_without_sizes_refused(void **state)
{
	unsigned char junk[64];

	(void)state;
	memset(junk, 'x', sizeof(junk));
	assert_null(zframes_read_new(junk, sizeof(junk)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames_end_where_members_do),
		cmocka_unit_test(test_reader_from_a_frame_on_workers),
		cmocka_unit_test(test_append_raw_frames),
		cmocka_unit_test(test_frames_decoded_on_workers),
		cmocka_unit_test(test_frames_without_sizes_refused),
		cmocka_unit_test(test_frames_decoded_within_the_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
