/* The walk: however its threads share the folders out, the tree, the
 * patterns in force in each folder and what it reports are those of one
 * thread walking alone. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "exclude.h"
#include "scan.h"
#include "util.h"

#define TOP_DIRS 300
#define SUB_DIRS 4
#define RUNS 10
#define CACHEDIR_SIGNATURE "Signature: 8a477f597d28d172789f06886806bc55"

struct fixture {
	char root[64];
	struct strlist expected;   /* every path the walk must record */
	struct strlist specials;   /* every special it must report */
};

static void put_file(const char *root, const char *rel, const char *text)
{
	char *path = str_fmt("%s/%s", root, rel);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	free(path);
}

static void put_dir(const char *root, const char *rel)
{
	char *path = str_fmt("%s/%s", root, rel);

	assert_int_equal(mkdir(path, 0755), 0);
	free(path);
}

/* Folder d<i>/s<j> and what the walk must make of it: the root's
 * .incbakignore leaves out *.skip, every third d<i> lets keep.skip back
 * in below it, every fifth d<i>/s1 leaves out a.txt, every seventh
 * d<i>/s3 is a cache folder (left out whole), every eleventh d<i>/s2
 * holds a fifo (reported, not recorded). */
static void make_sub(struct fixture *f, int i, int j)
{
	char *dir = str_fmt("d%03d/s%d", i, j);
	bool cache = j == 3 && i % 7 == 0;
	bool keep_back = i % 3 == 0;
	bool no_a = j == 1 && i % 5 == 0;
	static const char *const files[] = { "a.txt", "b.skip", "keep.skip",
					     "z.tmp" };

	put_dir(f->root, dir);
	if (!cache)
		strlist_push(&f->expected, dir);
	if (cache) {
		char *tag = str_fmt("%s/CACHEDIR.TAG", dir);

		put_file(f->root, tag, CACHEDIR_SIGNATURE "\n");
		free(tag);
	}
	if (no_a) {
		char *ign = str_fmt("%s/.incbakignore", dir);

		put_file(f->root, ign, "a.txt\n");
		if (!cache)
			strlist_push(&f->expected, ign);
		free(ign);
	}
	for (size_t k = 0; k < ARRAY_SIZE(files); k++) {
		char *rel = str_fmt("%s/%s", dir, files[k]);
		bool out = cache || k == 1 || k == 3 || (k == 0 && no_a) ||
			   (k == 2 && !keep_back);

		put_file(f->root, rel, rel);
		if (!out)
			strlist_push(&f->expected, rel);
		free(rel);
	}
	if (j == 2 && i % 11 == 0) {
		char *fifo = str_fmt("%s/%s/pipe", f->root, dir);

		assert_int_equal(mkfifo(fifo, 0644), 0);
		free(fifo);
		strlist_push_owned(&f->specials, str_fmt("%s/pipe", dir));
	}
	free(dir);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->root, sizeof(f->root), "/tmp/incbak-unit.XXXXXX");
	if (!mkdtemp(f->root)) {
		free(f);
		return -1;
	}
	*state = f;
	put_file(f->root, ".incbakignore", "*.skip\n");
	strlist_push(&f->expected, ".incbakignore");
	for (int i = 0; i < TOP_DIRS; i++) {
		char *dir = str_fmt("d%03d", i);

		put_dir(f->root, dir);
		strlist_push(&f->expected, dir);
		if (i % 3 == 0) {
			char *ign = str_fmt("%s/.incbakignore", dir);

			put_file(f->root, ign, "!keep.skip\n");
			strlist_push(&f->expected, ign);
			free(ign);
		}
		free(dir);
		for (int j = 0; j < SUB_DIRS; j++)
			make_sub(f, i, j);
	}
	strlist_sort(&f->expected);
	strlist_sort(&f->specials);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd = str_fmt("rm -rf '%s'", f->root);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	strlist_clear(&f->expected);
	strlist_clear(&f->specials);
	free(f);
	return 0;
}

struct heard {
	struct strlist specials;
	size_t unreadable;
};

static void on_special(void *ctx, const char *path, const char *kind)
{
	struct heard *h = ctx;

	assert_string_equal(kind, "fifo");
	strlist_push(&h->specials, path);
}

static void on_unreadable(void *ctx, const char *path, const char *reason)
{
	struct heard *h = ctx;

	(void)path;
	(void)reason;
	h->unreadable++;
}

/* Ten walks of 1,500 folders, every other one by as many threads as there
 * are cores (up to 4), the others by one: the same sorted tree every
 * time, .incbakignore rules applied where they were found and below, the
 * fifos reported in path order. */
static void test_walk_is_the_same_every_time(void **state)
{
	struct fixture *f = *state;
	struct exclude_set *set = exclude_set_new();
	struct error err;

	assert_int_equal(exclude_set_add(set, "*.tmp", "", &err), 0);
	for (int run = 0; run < RUNS; run++) {
		struct heard h = {0};
		struct scan_options o = {
			.root = f->root,
			.excludes = set,
			.threads = run % 2,
			.report = { on_special, on_unreadable, &h },
		};
		struct scan_result res = {0};

		assert_int_equal(scan_tree(&o, &res, &err), 0);
		assert_int_equal(h.unreadable, 0);
		assert_int_equal(res.failed_dirs.len, 0);
		assert_int_equal(res.tree.len, f->expected.len);
		for (size_t i = 0; i < res.tree.len; i++)
			assert_string_equal(res.tree.entries[i].path,
					    f->expected.items[i]);
		assert_int_equal(h.specials.len, f->specials.len);
		for (size_t i = 0; i < h.specials.len; i++)
			assert_string_equal(h.specials.items[i],
					    f->specials.items[i]);
		/* the caller's patterns are as they were */
		assert_int_equal(exclude_set_mark(set), 1);
		strlist_clear(&h.specials);
		scan_result_release(&res);
	}
	exclude_set_free(set);
}

/* A copy of a pattern set matches as the set does, and popping patterns
 * from one leaves the other whole. */
static void test_exclude_copy_is_independent(void **state)
{
	struct exclude_set *set = exclude_set_new(), *copy;
	struct error err;

	(void)state;
	assert_int_equal(exclude_set_add(set, "*.o", "", &err), 0);
	assert_int_equal(exclude_set_add(set, "!keep.o", "src", &err), 0);
	copy = exclude_set_copy(set);
	assert_true(exclude_set_excludes(copy, "a.o", false));
	assert_false(exclude_set_excludes(copy, "src/keep.o", false));
	exclude_set_truncate(set, 0);
	assert_false(exclude_set_excludes(set, "a.o", false));
	assert_true(exclude_set_excludes(copy, "a.o", false));
	assert_false(exclude_set_excludes(copy, "src/keep.o", false));
	exclude_set_free(set);
	exclude_set_free(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_walk_is_the_same_every_time, setup, teardown),
		cmocka_unit_test(test_exclude_copy_is_independent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
