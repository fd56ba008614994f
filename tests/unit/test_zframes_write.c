/* The frame pool: what comes out is one zstd stream that decompresses to
 * exactly the bytes put in, in order, whatever the number of workers; each
 * recorded frame offset is where a decoder can start to get the bytes from
 * that frame on; write errors are reported, not lost. */
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

#include "zframes_write.h"
#include "util.h"
#include "zstd_size.h"

/* Text-like bytes that compress, with some noise that does not. */
static unsigned char *make_input(size_t len, unsigned seed)
{
	unsigned char *data = malloc(len);
	uint32_t x = seed * 2654435761u + 1;

	assert_non_null(data);
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (i / 4096) % 3 ? (unsigned char)('a' + i % 23)
					 : (unsigned char)(x >> 24);
	}
	return data;
}

static unsigned char *read_all(FILE *f, size_t *len)
{
	long size;
	unsigned char *data;

	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size >= 0);
	rewind(f);
	data = malloc((size_t)size + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
	*len = (size_t)size;
	return data;
}

/* Decompresses src[from..len) to the end; returns the bytes. */
static unsigned char *decompress_from(const unsigned char *src, size_t len,
				      size_t from, size_t *out_len)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();
	ZSTD_inBuffer in = { src + from, len - from, 0 };
	size_t cap = 1 << 20, n = 0;
	unsigned char *out = malloc(cap);

	assert_non_null(d);
	assert_non_null(out);
	while (in.pos < in.size) {
		ZSTD_outBuffer o;
		size_t rc;

		if (cap - n < (1 << 16)) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		o = (ZSTD_outBuffer){ out + n, cap - n, 0 };
		rc = ZSTD_decompressStream(d, &o, &in);
		assert_false(ZSTD_isError(rc));
		n += o.pos;
	}
	ZSTD_freeDCtx(d);
	*out_len = n;
	return out;
}

struct mark {
	uint64_t frame, within, at;   /* position, and input offset there */
};

/* Writes len bytes in uneven pieces, ending a frame here and there, and
 * checks the whole stream and every marked position. */
static void round_trip(int threads, size_t len)
{
	unsigned char *input = make_input(len, (unsigned)threads);
	FILE *f = tmpfile();
	struct zframes_write *p;
	struct mark marks[64];
	size_t nmarks = 0, done = 0, step = 1, out_len, got_len;
	unsigned char *out, *got;

	assert_non_null(f);
	p = zframes_write_new(fileno(f), 3, threads);
	while (done < len) {
		size_t n = step < len - done ? step : len - done;

		if (nmarks < 64 && step % 3 == 0) {
			struct mark *m = &marks[nmarks++];

			zframes_write_position(p, &m->frame, &m->within);
			m->at = done;
		}
		assert_int_equal(zframes_write_append(p, input + done, n), 0);
		done += n;
		step = step * 7 % 1000003 + 1;
		if (step % 11 == 0)
			assert_int_equal(zframes_write_end_frame(p), 0);
	}
	assert_int_equal(zframes_write_flush(p), 0);
	assert_int_equal(fflush(f), 0);
	out = read_all(f, &out_len);
	assert_int_equal(zframes_write_bytes_out(p), out_len);

	got = decompress_from(out, out_len, 0, &got_len);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, input, len);
	free(got);
	for (size_t i = 0; i < nmarks; i++) {
		uint64_t off = zframes_write_frame_offset(p, marks[i].frame);

		assert_true(off < out_len);
		assert_true(marks[i].within < ZFRAMES_WRITE_FRAME_SIZE);
		got = decompress_from(out, out_len, (size_t)off, &got_len);
		assert_int_equal(got_len - marks[i].within, len - marks[i].at);
		assert_memory_equal(got + marks[i].within,
				    input + marks[i].at, len - marks[i].at);
		free(got);
	}
	zframes_write_free(p);
	fclose(f);
	free(out);
	free(input);
}

static void test_one_worker(void **state)
{
	(void)state;
	round_trip(1, 3 * ZFRAMES_WRITE_FRAME_SIZE + 12345);
}

static void test_all_cores(void **state)
{
	(void)state;
	round_trip(0, 5 * ZFRAMES_WRITE_FRAME_SIZE + 1);
}

static void test_more_threads_than_cores(void **state)
{
	(void)state;
	round_trip(64, 2 * ZFRAMES_WRITE_FRAME_SIZE - 1);
}

static void test_nothing_written(void **state)
{
	FILE *f = tmpfile();
	struct zframes_write *p;

	(void)state;
	assert_non_null(f);
	p = zframes_write_new(fileno(f), 3, 2);
	assert_int_equal(zframes_write_end_frame(p), 0);
	assert_int_equal(zframes_write_flush(p), 0);
	assert_int_equal(zframes_write_bytes_out(p), 0);
	assert_true(zframes_write_frame_offset(p, 0) == UINT64_MAX);
	zframes_write_free(p);
	fclose(f);
}

/* A descriptor that cannot be written: the error comes back with its
 * errno, and later calls keep failing instead of losing data. */
static void test_write_error(void **state)
{
	int fds[2];
	unsigned char *input = make_input(ZFRAMES_WRITE_FRAME_SIZE + 10, 7);
	struct zframes_write *p;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	close(fds[1]);
	/* the read end is not writable: EBADF */
	p = zframes_write_new(fds[0], 3, 2);
	assert_int_equal(
		zframes_write_append(p, input, ZFRAMES_WRITE_FRAME_SIZE + 10) ==
				0 &&
			zframes_write_flush(p) == 0,
		0);
	assert_int_not_equal(zframes_write_errno(p), 0);
	assert_non_null(strstr(zframes_write_error(p), "descriptor"));
	assert_int_equal(zframes_write_append(p, input, 1), -1);
	assert_int_equal(zframes_write_flush(p), -1);
	zframes_write_free(p);
	close(fds[0]);
	free(input);
}

/* A level set between frames applies from the frame being filled on: the
 * same bytes come out as zstd makes them at 19, then at 1. */
static void test_level_per_frame(void **state)
{
	size_t len = ZFRAMES_WRITE_FRAME_SIZE / 2;
	unsigned char *input = make_input(len, 5);
	FILE *f = tmpfile();
	struct zframes_write *p;

	(void)state;
	assert_non_null(f);
	p = zframes_write_new(fileno(f), 19, 2);
	assert_int_equal(zframes_write_append(p, input, len), 0);
	assert_int_equal(zframes_write_end_frame(p), 0);
	zframes_write_set_level(p, 1);
	assert_int_equal(zframes_write_append(p, input, len), 0);
	assert_int_equal(zframes_write_flush(p), 0);
	assert_int_equal(zframes_write_frame_offset(p, 1),
			 zstd_frame_size(input, len, 19));
	assert_int_equal(zframes_write_bytes_out(p) -
				 zframes_write_frame_offset(p, 1),
			 zstd_frame_size(input, len, 1));
	assert_true(zstd_frame_size(input, len, 1) !=
		    zstd_frame_size(input, len, 19));
	zframes_write_free(p);
	fclose(f);
	free(input);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_worker),
		cmocka_unit_test(test_all_cores),
		cmocka_unit_test(test_more_threads_than_cores),
		cmocka_unit_test(test_nothing_written),
		cmocka_unit_test(test_write_error),
		cmocka_unit_test(test_level_per_frame),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
