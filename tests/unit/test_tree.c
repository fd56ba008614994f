/* Trees: paths kept in the tree's own storage next to malloc'ed ones;
 * entries that say the same of their path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tree.h"
#include "util.h"

/* Paths of every length up to past a storage block, one of them far
 * longer than a block, stay intact however they are mixed. */
static void test_stored_paths_stay_intact(void **state)
{
	struct tree t = {0};
	size_t n = 3000;
	char *huge = xmalloc(300000);

	(void)state;
	memset(huge, 'h', 299999);
	huge[299999] = '\0';
	for (size_t i = 0; i < n; i++) {
		struct tree_entry *e = tree_push(&t);
		char name[400];

		snprintf(name, sizeof(name), "%zu/%0*zu", i, (int)(i % 300),
			 i);
		if (i == n / 2) {
			e->path = tree_store_path(&t, huge);
			e->path_stored = true;
		} else if (i % 7 == 0) {
			e->path = xstrdup(name); /* malloc'ed, as a copy is */
		} else {
			e->path = tree_store_path(&t, name);
			e->path_stored = true;
		}
	}
	for (size_t i = 0; i < n; i++) {
		char name[400];

		snprintf(name, sizeof(name), "%zu/%0*zu", i, (int)(i % 300),
			 i);
		assert_string_equal(t.entries[i].path,
				    i == n / 2 ? huge : name);
	}
	tree_sort(&t);
	assert_non_null(tree_find(&t, huge));
	assert_non_null(tree_find(&t, "7/0000007"));
	/* a stored entry released alone, then its slot reused */
	tree_entry_release(&t.entries[1]);
	assert_null(t.entries[1].path);
	assert_false(t.entries[1].path_stored);
	tree_entry_copy(&t.entries[1], &t.entries[2]);
	assert_false(t.entries[1].path_stored);
	assert_string_equal(t.entries[1].path, t.entries[2].path);
	assert_ptr_not_equal(t.entries[1].path, t.entries[2].path);
	tree_release(&t);
	assert_null(t.names);
	free(huge);
}

static struct tree_entry sample(enum entry_type type)
{
	struct tree_entry e = {
		.path = "a", .size = 5, .ino = 7, .mtime = { 100, 1 },
		.ctime = { 200, 2 }, .mode = 0644, .uid = 1, .gid = 2,
		.type = (uint8_t)type,
	};

	memset(e.checksum, 0xab, HASH_SIZE);
	if (type == ENTRY_SYMLINK)
		e.link_target = "target";
	return e;
}

/* Any field a record shows makes two entries differ; the path, the marks
 * and what a type does not show do not. */
static void test_same_entries(void **state)
{
	struct tree_entry a = sample(ENTRY_FILE), b;
	char other_target[] = "target";

	(void)state;
	b = a;
	b.path = "elsewhere";
	b.same_record = true;
	assert_true(tree_entry_same(&a, &b));
#define DIFFERS(change) \
	do { b = a; change; assert_false(tree_entry_same(&a, &b)); } while (0)
	DIFFERS(b.type = ENTRY_DIR);
	DIFFERS(b.size++);
	DIFFERS(b.ino++);
	DIFFERS(b.mtime.sec++);
	DIFFERS(b.mtime.nsec++);
	DIFFERS(b.ctime.sec++);
	DIFFERS(b.ctime.nsec++);
	DIFFERS(b.mode = 0600);
	DIFFERS(b.uid++);
	DIFFERS(b.gid++);
	DIFFERS(b.recheck = true);
	DIFFERS(b.checksum[HASH_SIZE - 1] ^= 1);
	a = sample(ENTRY_DIR);
	b = a;
	b.checksum[0] ^= 1;
	assert_true(tree_entry_same(&a, &b));
	a = sample(ENTRY_SYMLINK);
	b = a;
	b.link_target = other_target;
	assert_true(tree_entry_same(&a, &b));
	DIFFERS(b.link_target = "targe");
	DIFFERS(b.link_target = NULL);
#undef DIFFERS
}

/* A tree of n entries "PREFIX/i", paths in its own storage. */
static void fill(struct tree *t, const char *prefix, size_t n)
{
	char name[64];

	for (size_t i = 0; i < n; i++) {
		struct tree_entry *e = tree_push(t);

		snprintf(name, sizeof(name), "%s/%zu", prefix, i);
		e->path = tree_store_path(t, name);
		e->path_stored = true;
		e->size = i;
	}
}

static void assert_filled(const struct tree *t, size_t from,
			  const char *prefix, size_t n)
{
	char name[64];

	for (size_t i = 0; i < n; i++) {
		const struct tree_entry *e = &t->entries[from + i];

		snprintf(name, sizeof(name), "%s/%zu", prefix, i);
		assert_string_equal(e->path, name);
		assert_int_equal(e->size, i);
	}
}

/* Absorbing keeps every entry, in order, after dst's own, with its path:
 * into an empty tree, and from a tree of several copying blocks. */
static void test_absorb_keeps_entries_in_order(void **state)
{
	struct tree dst = {0}, a = {0}, b = {0}, none = {0};
	size_t na = 1000, nb = 200001;

	(void)state;
	fill(&a, "a", na);
	fill(&b, "b", nb);
	tree_absorb(&dst, &none);
	assert_int_equal(dst.len, 0);
	tree_absorb(&dst, &a);
	assert_int_equal(a.len, 0);
	assert_null(a.entries);
	tree_absorb(&dst, &b);
	assert_int_equal(b.len, 0);
	assert_null(b.entries);
	tree_absorb(&dst, &none);
	assert_int_equal(dst.len, na + nb);
	assert_filled(&dst, 0, "a", na);
	assert_filled(&dst, na, "b", nb);
	tree_release(&dst);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stored_paths_stay_intact),
		cmocka_unit_test(test_same_entries),
		cmocka_unit_test(test_absorb_keeps_entries_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
