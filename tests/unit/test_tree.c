/* Trees: paths kept in the tree's own storage next to malloc'ed ones. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stored_paths_stay_intact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
