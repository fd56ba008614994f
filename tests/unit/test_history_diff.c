/* Unit tests for history_diff.c: the marks show and diff print for two
 * trees, and which paths a find pattern matches, by tables. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history_diff.h"
#include "tree.h"
#include "util.h"

/* An entry written as "path:f:SIZE:SUMBYTE", "path:d", "path:l:TARGET". */
struct spec {
	const char *path;
	char type;
	uint64_t size;
	const char *target;
	uint8_t sum;
};

static void build(struct tree *t, const struct spec *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct tree_entry *e = tree_push(t);

		e->path = xstrdup(s[i].path);
		e->type = s[i].type == 'f' ? ENTRY_FILE
			: s[i].type == 'd' ? ENTRY_DIR : ENTRY_SYMLINK;
		e->size = s[i].size;
		memset(e->checksum, s[i].sum, HASH_SIZE);
		if (s[i].target)
			e->link_target = xstrdup(s[i].target);
		e->mtime.sec = (int64_t)i; /* times alone are no change */
	}
	tree_sort(t);
}

static void collect(void *ctx, const struct history_change *c)
{
	struct buf *b = ctx;

	buf_printf(b, "%c %s;", (char)c->mark,
		   (c->now ? c->now : c->old)->path);
}

static void test_diff(void **state)
{
	static const struct spec old[] = {
		{ "a.txt", 'f', 5, NULL, 1 },
		{ "docs", 'd', 0, NULL, 0 },
		{ "docs/d.txt", 'f', 3, NULL, 2 },
		{ "gone.txt", 'f', 7, NULL, 3 },
		{ "link", 'l', 0, "a.txt", 0 },
		{ "same.txt", 'f', 9, NULL, 4 },
		{ "x", 'f', 4, NULL, 5 },
		{ "z", 'f', 1, NULL, 6 },
	};
	static const struct spec now[] = {
		{ "a.txt", 'f', 5, NULL, 9 },       /* same size, new content */
		{ "docs", 'd', 0, NULL, 0 },
		{ "docs/e.txt", 'f', 3, NULL, 2 },  /* renamed */
		{ "link", 'l', 0, "same.txt", 0 },  /* new target */
		{ "new.txt", 'f', 10, NULL, 7 },
		{ "same.txt", 'f', 9, NULL, 4 },
		{ "x", 'd', 0, NULL, 0 },           /* file to folder */
		{ "z", 'f', 2, NULL, 6 },           /* size alone */
	};
	struct tree a = {0}, b = {0}, empty = {0};
	struct buf out = {0};
	struct history_diff_stats st;

	(void)state;
	build(&a, old, ARRAY_SIZE(old));
	build(&b, now, ARRAY_SIZE(now));
	history_diff(&a, &b, collect, &out, &st);
	assert_string_equal(out.data ? out.data : "",
			    "M a.txt;- docs/d.txt;+ docs/e.txt;- gone.txt;"
			    "M link;+ new.txt;T x;M z;");
	assert_int_equal(st.added, 2);
	assert_int_equal(st.removed, 2);
	assert_int_equal(st.modified, 3);
	assert_int_equal(st.type_changed, 1);
	/* +3 (e) +10 (new) +1 (z); -3 (d) -7 (gone) -4 (x) */
	assert_int_equal(st.bytes_added, 14);
	assert_int_equal(st.bytes_removed, 14);

	buf_release(&out);
	history_diff(&a, &a, collect, &out, &st);
	assert_true(!out.data || !*out.data);
	assert_int_equal(st.added + st.removed + st.modified, 0);

	history_diff(&empty, &a, NULL, NULL, &st);
	assert_int_equal(st.added, (int64_t)ARRAY_SIZE(old));
	history_diff(&a, &empty, NULL, NULL, &st);
	assert_int_equal(st.removed, (int64_t)ARRAY_SIZE(old));
	buf_release(&out);
	tree_release(&a);
	tree_release(&b);
}

static void test_match(void **state)
{
	static const struct {
		const char *pattern, *path;
		bool match;
	} cases[] = {
		{ "*.txt", "a.txt", true },
		{ "*.txt", "docs/deep/a.txt", true },   /* base name */
		{ "*.txt", "a.txt.bak", false },
		{ "a?.txt", "ab.txt", true },
		{ "[ab].txt", "b.txt", true },
		{ "docs", "docs", true },
		{ "docs", "x/docs", true },
		{ "docs/*.txt", "docs/a.txt", true },
		{ "docs/*.txt", "docs/sub/a.txt", false }, /* * stops at / */
		{ "docs/*.txt", "x/docs/a.txt", false },   /* whole path */
		{ "/a.txt", "a.txt", true },              /* anchored */
		{ "/a.txt", "docs/a.txt", false },
		{ "docs/*/a.txt", "docs/sub/a.txt", true },
	};
	size_t failures = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (history_match(cases[i].pattern, cases[i].path) !=
		    cases[i].match) {
			print_error("'%s' on '%s': want %d\n",
				    cases[i].pattern, cases[i].path,
				    cases[i].match);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void test_scope(void **state)
{
	static const struct {
		const char *pattern, *scope;
	} cases[] = {
		{ "*.txt", "" },
		{ "a.txt", "" },            /* a base name anywhere */
		{ "/a.txt", "" },
		{ "docs/*.txt", "docs" },
		{ "docs/sub/a.txt", "docs/sub" },
		{ "/docs/sub/*", "docs/sub" },
		{ "docs/s*/a.txt", "docs" },
		{ "d?cs/a.txt", "" },
		{ "[d]ocs/a.txt", "" },
	};
	size_t failures = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *got = history_pattern_scope(cases[i].pattern);

		if (strcmp(got, cases[i].scope)) {
			print_error("'%s': got '%s', want '%s'\n",
				    cases[i].pattern, got, cases[i].scope);
			failures++;
		}
		free(got);
	}
	assert_int_equal(failures, 0);
	assert_true(history_path_within("docs/a", "docs"));
	assert_true(history_path_within("docs", "docs"));
	assert_false(history_path_within("docsx/a", "docs"));
	assert_true(history_path_within("anything", ""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_scope),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
