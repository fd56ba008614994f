/* A file's bytes sent to disk as it grows (fs_writeback_advance): every
 * few MiB, never more than was written, whatever the descriptor. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsutil.h"

#define MIB ((uint64_t)1 << 20)

static char chunk[1 << 20];

/* Writes count MiB to wb->fd through wb, checking after each one. */
static void write_mib(struct fs_writeback *wb, int count)
{
	for (int i = 0; i < count; i++) {
		assert_int_equal(fs_write_all(wb->fd, chunk, sizeof(chunk)),
				 0);
		fs_writeback_advance(wb, sizeof(chunk));
		assert_true(wb->sent <= wb->written);
		/* What is not sent yet stays below the step. */
		assert_true(wb->written - wb->sent < 8 * MIB);
	}
}

static void test_sent_every_few_mib(void **state)
{
	char path[] = "/tmp/incbak-test.fsutil.XXXXXX";
	struct fs_writeback wb = { 0 };

	(void)state;
	memset(chunk, 'x', sizeof(chunk));
	wb.fd = mkstemp(path);
	assert_true(wb.fd >= 0);
	unlink(path);
	write_mib(&wb, 7);
	assert_int_equal(wb.written, 7 * MIB);
	assert_int_equal(wb.sent, 0);
	write_mib(&wb, 13);
	assert_int_equal(wb.written, 20 * MIB);
	assert_int_equal(wb.sent, 16 * MIB);
	close(wb.fd);
}

/* A pipe or a device cannot be written back: the bytes are counted the
 * same, and the writes still succeed. */
static void test_not_a_file(void **state)
{
	struct fs_writeback wb = { 0 };

	(void)state;
	wb.fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_true(wb.fd >= 0);
	write_mib(&wb, 9);
	assert_int_equal(wb.written, 9 * MIB);
	assert_int_equal(wb.sent, 8 * MIB);
	close(wb.fd);
}

/* Counting from where an earlier writer left off (a rewritten archive
 * keeps the frames it copied). */
static void test_from_an_offset(void **state)
{
	struct fs_writeback wb = { .written = 100 * MIB, .sent = 100 * MIB };

	(void)state;
	wb.fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_true(wb.fd >= 0);
	write_mib(&wb, 8);
	assert_int_equal(wb.sent, 108 * MIB);
	close(wb.fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sent_every_few_mib),
		cmocka_unit_test(test_not_a_file),
		cmocka_unit_test(test_from_an_offset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
