/* Unit tests for exclude.c: gitignore pattern semantics, table-driven, plus
 * the set's bookkeeping (mark/truncate), file parsing and error cases. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "exclude.h"
#include "util.h"

#define NO EXCLUDE_NO_MATCH
#define EX EXCLUDE_EXCLUDED
#define IN EXCLUDE_INCLUDED
#define DIR true
#define REG false
#define MAX_PATTERNS 6

struct match_case {
	const char *patterns[MAX_PATTERNS]; /* NULL-terminated, all at base */
	const char *base;
	const char *path;
	bool is_dir;
	enum exclude_match want;
};

static const char *match_name(enum exclude_match m)
{
	return m == EX ? "excluded" : m == IN ? "included" : "no match";
}

/* Runs every case and reports all mismatches before failing, so one run
 * shows the whole picture. */
static void run_cases(const struct match_case *cases, size_t n)
{
	size_t failures = 0;
	size_t i, j;

	for (i = 0; i < n; i++) {
		const struct match_case *c = &cases[i];
		struct exclude_set *set = exclude_set_new();
		struct error err = { { 0 } };
		enum exclude_match got;

		for (j = 0; j < MAX_PATTERNS && c->patterns[j]; j++)
			assert_int_equal(exclude_set_add(set, c->patterns[j],
							 c->base, &err), 0);
		got = exclude_set_match(set, c->path, c->is_dir);
		if (got != c->want) {
			print_error("case %zu: pattern '%s'%s base '%s' path "
				    "'%s' (%s): got %s, want %s\n", i,
				    c->patterns[0], c->patterns[1] ? "..." : "",
				    c->base, c->path, c->is_dir ? "dir" : "file",
				    match_name(got), match_name(c->want));
			failures++;
		}
		exclude_set_free(set);
	}
	assert_int_equal(failures, 0);
}

#define RUN(cases) run_cases(cases, ARRAY_SIZE(cases))

static void test_basename_at_any_depth(void **state)
{
	static const struct match_case cases[] = {
		{ { "foo" }, "", "foo", REG, EX },
		{ { "foo" }, "", "a/foo", REG, EX },
		{ { "foo" }, "", "a/b/c/foo", DIR, EX },
		{ { "foo" }, "", "foobar", REG, NO },
		{ { "foo" }, "", "afoo", REG, NO },
		{ { "foo" }, "", "foo/bar", REG, NO },
		{ { "*.c" }, "", "x.c", REG, EX },
		{ { "*.c" }, "", "a/b/x.c", REG, EX },
		{ { "*.c" }, "", ".c", REG, EX },
		{ { "*.c" }, "", "x.cc", REG, NO },
		{ { "*.c" }, "", "x.c/y", REG, NO },
		{ { "*.c" }, "", "c", REG, NO },
		{ { "*" }, "", "a/b/anything", REG, EX },
		{ { "a*b" }, "", "ab", REG, EX },
		{ { "a*b" }, "", "d/axxb", REG, EX },
		{ { "a*b" }, "", "a/b", REG, NO },
		{ { "*o*" }, "", "x/foo", REG, EX },
		{ { "*o*" }, "", "o/x", REG, NO },
		{ { "x*" }, "", "a/xyz", REG, EX },
		{ { "x*" }, "", "ax", REG, NO },
	};

	(void)state;
	RUN(cases);
}

static void test_anchored(void **state)
{
	static const struct match_case cases[] = {
		{ { "/foo" }, "", "foo", REG, EX },
		{ { "/foo" }, "", "a/foo", REG, NO },
		{ { "a/b" }, "", "a/b", REG, EX },
		{ { "a/b" }, "", "x/a/b", REG, NO },
		{ { "a/b" }, "", "a/b/c", REG, NO },
		{ { "a/b" }, "", "a/bc", REG, NO },
		{ { "/a/b" }, "", "a/b", DIR, EX },
		{ { "a/*.c" }, "", "a/x.c", REG, EX },
		{ { "a/*.c" }, "", "a/b/x.c", REG, NO },
		{ { "/*.c" }, "", "x.c", REG, EX },
		{ { "/*.c" }, "", "a/x.c", REG, NO },
		{ { "doc/frotz/" }, "", "doc/frotz", DIR, EX },
		{ { "doc/frotz/" }, "", "a/doc/frotz", DIR, NO },
		{ { "*/b" }, "", "a/b", REG, EX },
		{ { "*/b" }, "", "x/a/b", REG, NO },
	};

	(void)state;
	RUN(cases);
}

static void test_dir_only(void **state)
{
	static const struct match_case cases[] = {
		{ { "build/" }, "", "build", DIR, EX },
		{ { "build/" }, "", "build", REG, NO },
		{ { "build/" }, "", "a/b/build", DIR, EX },
		{ { "build/" }, "", "a/b/build", REG, NO },
		{ { "/build/" }, "", "a/build", DIR, NO },
		{ { "/build/" }, "", "build", DIR, EX },
		{ { "*.d/" }, "", "x/y.d", DIR, EX },
		{ { "*.d/" }, "", "x/y.d", REG, NO },
		/* a dir-only pattern that cannot apply does not hide an
		 * earlier one */
		{ { "x", "!x/" }, "", "x", REG, EX },
		{ { "x", "!x/" }, "", "x", DIR, IN },
	};

	(void)state;
	RUN(cases);
}

static void test_negation_last_wins(void **state)
{
	static const struct match_case cases[] = {
		{ { "*.log", "!keep.log" }, "", "keep.log", REG, IN },
		{ { "*.log", "!keep.log" }, "", "a/keep.log", REG, IN },
		{ { "*.log", "!keep.log" }, "", "a.log", REG, EX },
		{ { "*.log", "!keep.log" }, "", "a.txt", REG, NO },
		{ { "!keep.log", "*.log" }, "", "keep.log", REG, EX },
		{ { "build/", "!build/" }, "", "build", DIR, IN },
		{ { "*", "!*.c" }, "", "x.c", REG, IN },
		{ { "*", "!*.c" }, "", "x.h", REG, EX },
		{ { "*", "!*.c", "b*" }, "", "b.c", REG, EX },
		{ { "!foo" }, "", "foo", REG, IN },
		{ { "!foo" }, "", "bar", REG, NO },
		{ { "!/a/*.c" }, "", "a/x.c", REG, IN },
	};

	(void)state;
	RUN(cases);
}

static void test_double_star(void **state)
{
	static const struct match_case cases[] = {
		{ { "**/foo" }, "", "foo", REG, EX },
		{ { "**/foo" }, "", "a/foo", REG, EX },
		{ { "**/foo" }, "", "a/b/c/foo", DIR, EX },
		{ { "**/foo" }, "", "afoo", REG, NO },
		{ { "**/foo" }, "", "foo/x", REG, NO },
		{ { "**/foo/bar" }, "", "foo/bar", REG, EX },
		{ { "**/foo/bar" }, "", "x/y/foo/bar", REG, EX },
		{ { "**/foo/bar" }, "", "foo/x/bar", REG, NO },
		{ { "abc/**" }, "", "abc/x", REG, EX },
		{ { "abc/**" }, "", "abc/x/y/z", DIR, EX },
		{ { "abc/**" }, "", "abc", DIR, NO },
		{ { "abc/**" }, "", "abcd/x", REG, NO },
		{ { "abc/**" }, "", "x/abc/y", REG, NO },
		{ { "a/**/b" }, "", "a/b", REG, EX },
		{ { "a/**/b" }, "", "a/x/b", REG, EX },
		{ { "a/**/b" }, "", "a/x/y/z/b", REG, EX },
		{ { "a/**/b" }, "", "a/xb", REG, NO },
		{ { "a/**/b" }, "", "ab", REG, NO },
		{ { "a/**/b" }, "", "a/x/bb", REG, NO },
		{ { "a/**/b" }, "", "x/a/b", REG, NO },
		{ { "a/**/b" }, "", "a/b/c", REG, NO },
		{ { "a/**/*.c" }, "", "a/x.c", REG, EX },
		{ { "a/**/*.c" }, "", "a/b/c/x.c", REG, EX },
		{ { "a/**/*.c" }, "", "a/b/x.h", REG, NO },
		{ { "a/**/*.c" }, "", "a/b.c/x", REG, NO },
		{ { "**" }, "", "x/y", REG, EX },
		{ { "x/**/**/y" }, "", "x/y", REG, EX },
		{ { "x/**/**/y" }, "", "x/1/2/3/y", REG, EX },
		{ { "**/a/**/b/**" }, "", "q/a/r/s/b/t", REG, EX },
		{ { "**/a/**/b/**" }, "", "q/a/r/s/b", REG, NO },
		/* not between slashes: an ordinary star */
		{ { "a**b" }, "", "x/azzb", REG, EX },
		{ { "/x/a**b" }, "", "x/a/b", REG, NO },
		{ { "/x/a**b" }, "", "x/azzb", REG, EX },
		{ { "/x**/y" }, "", "x/z/y", REG, NO },
		{ { "/x**/y" }, "", "xz/y", REG, EX },
		{ { "/x/**y" }, "", "x/z/y", REG, NO },
	};

	(void)state;
	RUN(cases);
}

static void test_wildcards_and_classes(void **state)
{
	static const struct match_case cases[] = {
		{ { "?.c" }, "", "a.c", REG, EX },
		{ { "?.c" }, "", "ab.c", REG, NO },
		{ { "?.c" }, "", ".c", REG, NO },
		{ { "/a?b" }, "", "a/b", REG, NO },
		{ { "/a?b" }, "", "axb", REG, EX },
		{ { "[a-c].txt" }, "", "b.txt", REG, EX },
		{ { "[a-c].txt" }, "", "d.txt", REG, NO },
		{ { "[a-c].txt" }, "", "-.txt", REG, NO },
		{ { "[xa-c]" }, "", "x", REG, EX },
		{ { "[!a]x" }, "", "bx", REG, EX },
		{ { "[!a]x" }, "", "ax", REG, NO },
		{ { "[^a]x" }, "", "bx", REG, EX },
		{ { "[^a]x" }, "", "ax", REG, NO },
		{ { "[]]" }, "", "]", REG, EX },
		{ { "[!]]" }, "", "]", REG, NO },
		{ { "[a-]" }, "", "-", REG, EX },
		{ { "[\\]]" }, "", "]", REG, EX },
		{ { "[\\-]" }, "", "-", REG, EX },
		{ { "[[]" }, "", "[", REG, EX },
		{ { "[[:digit:]]*" }, "", "7up", REG, EX },
		{ { "[[:digit:]]*" }, "", "up", REG, NO },
		{ { "[[:alpha:]][[:upper:]]" }, "", "aB", REG, EX },
		{ { "[[:alpha:]][[:upper:]]" }, "", "ab", REG, NO },
		{ { "[![:space:]]" }, "", " ", REG, NO },
		{ { "[[:x]" }, "", ":", REG, EX },
		{ { "/a[/]b" }, "", "a/b", REG, NO },
		{ { "/a[!x]b" }, "", "a/b", REG, NO },
		{ { "[\x80-\xff]" }, "", "\xc3", REG, EX },
		{ { "[\x80-\xff]" }, "", "A", REG, NO },
		{ { "*[0-9].bak" }, "", "d/file7.bak", REG, EX },
		{ { "*[0-9].bak" }, "", "d/file.bak", REG, NO },
	};

	(void)state;
	RUN(cases);
}

static void test_escapes_and_spaces(void **state)
{
	static const struct match_case cases[] = {
		{ { "\\!important" }, "", "!important", REG, EX },
		{ { "\\!important" }, "", "important", REG, NO },
		{ { "\\#hash" }, "", "#hash", REG, EX },
		{ { "\\*" }, "", "*", REG, EX },
		{ { "\\*" }, "", "x", REG, NO },
		{ { "a\\?" }, "", "a?", REG, EX },
		{ { "a\\?" }, "", "ab", REG, NO },
		{ { "*\\?" }, "", "what?", REG, EX },
		{ { "*\\?" }, "", "whatx", REG, NO },
		{ { "\\[x]" }, "", "[x]", REG, EX },
		{ { "\\[x]" }, "", "x", REG, NO },
		{ { "\\\\" }, "", "\\", REG, EX },
		/* escapes inside patterns that need the general matcher */
		{ { "[ab]\\*" }, "", "a*", REG, EX },
		{ { "[ab]\\*" }, "", "ab", REG, NO },
		{ { "a\\*b*" }, "", "a*bc", REG, EX },
		{ { "a\\*b*" }, "", "axbc", REG, NO },
		{ { "/d/\\[*" }, "", "d/[x", REG, EX },
		{ { "foo  " }, "", "foo", REG, EX },
		{ { "foo  " }, "", "foo  ", REG, NO },
		{ { "foo\\ " }, "", "foo ", REG, EX },
		{ { "foo\\ " }, "", "foo", REG, NO },
		{ { "foo \\  " }, "", "foo  ", REG, EX },
		{ { "foo\\\\  " }, "", "foo\\", REG, EX },
		{ { "  lead" }, "", "  lead", REG, EX },
		{ { "  lead" }, "", "lead", REG, NO },
		{ { "a b" }, "", "x/a b", REG, EX },
		{ { "!#x" }, "", "#x", REG, IN },
	};

	(void)state;
	RUN(cases);
}

static void test_base_scoping(void **state)
{
	static const struct match_case cases[] = {
		{ { "x" }, "sub", "sub/x", REG, EX },
		{ { "x" }, "sub", "sub/y/x", REG, EX },
		{ { "x" }, "sub", "x", REG, NO },
		{ { "x" }, "sub", "subx/x", REG, NO },
		{ { "x" }, "sub", "other/sub/x", REG, NO },
		{ { "sub" }, "sub", "sub", DIR, NO },
		{ { "*" }, "sub", "sub", DIR, NO },
		{ { "*" }, "sub", "sub/a", REG, EX },
		{ { "/x" }, "sub", "sub/x", REG, EX },
		{ { "/x" }, "sub", "sub/y/x", REG, NO },
		{ { "a/b" }, "s/t", "s/t/a/b", REG, EX },
		{ { "a/b" }, "s/t", "s/a/b", REG, NO },
		{ { "a/b" }, "s/t", "a/b", REG, NO },
		{ { "**/x" }, "sub", "sub/x", REG, EX },
		{ { "**/x" }, "sub", "sub/a/x", REG, EX },
		{ { "**/x" }, "sub", "x", REG, NO },
		{ { "x/**" }, "sub", "sub/x/y", REG, EX },
		{ { "x" }, "sub/", "sub/x", REG, EX },
		{ { "d/" }, "s", "s/d", DIR, EX },
		{ { "d/" }, "s", "s/d", REG, NO },
	};

	(void)state;
	RUN(cases);
}

/* A root pattern and a deeper folder's re-include, as the scanner would
 * push them. */
static void test_base_overrides_root(void **state)
{
	struct exclude_set *set = exclude_set_new();

	(void)state;
	assert_int_equal(exclude_set_add(set, "*.log", "", NULL), 0);
	assert_int_equal(exclude_set_add(set, "!keep.log", "sub", NULL), 0);
	assert_int_equal(exclude_set_match(set, "sub/keep.log", REG), IN);
	assert_int_equal(exclude_set_match(set, "sub/a/keep.log", REG), IN);
	assert_int_equal(exclude_set_match(set, "keep.log", REG), EX);
	assert_int_equal(exclude_set_match(set, "other/keep.log", REG), EX);
	exclude_set_free(set);
}

static void test_defaults(void **state)
{
	static const struct {
		const char *path;
		bool is_dir;
		enum exclude_match want;
	} cases[] = {
		{ ".git", DIR, EX },     { ".git", REG, NO },
		{ "a/.git", DIR, EX },   { ".gitignore", REG, NO },
		{ "a.log", REG, EX },    { "d/e/a.log", REG, EX },
		{ "log", REG, NO },      { "a.log.gz", REG, NO },
		{ "__pycache__", DIR, EX }, { "x/__pycache__", DIR, EX },
		{ "__pycache__", REG, NO }, { "m.pyc", REG, EX },
		{ "m.py", REG, NO },     { "x.swp", REG, EX },
		{ "y.temp", REG, EX },   { "z.tmp", REG, EX },
		{ "notes.txt", REG, NO }, { "src", DIR, NO },
	};
	struct exclude_set *set = exclude_set_new();
	struct error err = { { 0 } };
	size_t i, n = 0;

	(void)state;
	for (i = 0; exclude_default_patterns[i]; i++)
		assert_int_equal(exclude_set_add(set,
				 exclude_default_patterns[i], "", &err), 0);
	assert_int_equal(i, 7);
	assert_int_equal(exclude_set_mark(set), 7);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		enum exclude_match got = exclude_set_match(set, cases[i].path,
							   cases[i].is_dir);

		if (got != cases[i].want) {
			print_error("default '%s': got %s\n", cases[i].path,
				    match_name(got));
			n++;
		}
	}
	assert_int_equal(n, 0);
	exclude_set_free(set);
}

static void test_weird_bytes(void **state)
{
	static const struct match_case cases[] = {
		{ { "*.log" }, "", "\xff\xfe.log", REG, EX },
		{ { "*.log" }, "", "d\xff/\xfe.log", REG, EX },
		{ { "a?b" }, "", "a\nb", REG, EX },
		{ { "a*b" }, "", "x/a\n\nb", REG, EX },
		{ { "a\nb" }, "", "a\nb", REG, EX },
		{ { "-rf" }, "", "x/-rf", REG, EX },
		{ { "\xff\xfe" }, "", "d/\xff\xfe", REG, EX },
		{ { "\xff\xfe" }, "", "d/\xff", REG, NO },
		{ { "\xff*" }, "", "\xff\x01\x7f", REG, EX },
		{ { "*" }, "", "\n", REG, EX },
		{ { "x" }, "\xe9t\xe9", "\xe9t\xe9/x", REG, EX },
		{ { "x" }, "\xe9t\xe9", "\xe9t\xe8/x", REG, NO },
	};

	(void)state;
	RUN(cases);
}

/* No exponential blow-up: each '*' is resumed at most once per byte. A
 * naive recursive matcher would not finish before the alarm. */
static void test_pathological_stars(void **state)
{
	static char text[4001];
	static char deep[4001];
	struct exclude_set *set = exclude_set_new();
	size_t i;

	(void)state;
	memset(text, 'a', sizeof(text) - 1);
	for (i = 0; i + 1 < sizeof(deep); i++)
		deep[i] = i % 2 ? '/' : 'a';
	deep[sizeof(deep) - 2] = 'a';
	alarm(20);
	assert_int_equal(exclude_set_add(set, "*a*a*a*a*a*a*a*a*a*a*a*a*b", "",
					 NULL), 0);
	assert_int_equal(exclude_set_match(set, text, REG), NO);
	assert_int_equal(exclude_set_add(set, "**/a/**/a/**/a/**/a/**/b", "",
					 NULL), 0);
	assert_int_equal(exclude_set_match(set, deep, REG), NO);
	text[sizeof(text) - 2] = 'b';
	assert_int_equal(exclude_set_match(set, text, REG), EX);
	alarm(0);
	exclude_set_free(set);
}

static void test_mark_truncate(void **state)
{
	struct exclude_set *set = exclude_set_new();
	size_t mark;

	(void)state;
	assert_int_equal(exclude_set_mark(set), 0);
	assert_int_equal(exclude_set_add(set, "*.log", "", NULL), 0);
	mark = exclude_set_mark(set);
	assert_int_equal(mark, 1);
	assert_int_equal(exclude_set_add(set, "!keep.log", "sub", NULL), 0);
	assert_int_equal(exclude_set_add(set, "tmp/", "sub", NULL), 0);
	assert_int_equal(exclude_set_mark(set), 3);
	assert_int_equal(exclude_set_match(set, "sub/keep.log", REG), IN);
	assert_int_equal(exclude_set_match(set, "sub/tmp", DIR), EX);

	exclude_set_truncate(set, mark);
	assert_int_equal(exclude_set_mark(set), 1);
	assert_int_equal(exclude_set_match(set, "sub/keep.log", REG), EX);
	assert_int_equal(exclude_set_match(set, "sub/tmp", DIR), NO);
	exclude_set_truncate(set, 5); /* beyond the end: nothing to drop */
	assert_int_equal(exclude_set_mark(set), 1);

	assert_int_equal(exclude_set_add(set, "!a.log", "", NULL), 0);
	assert_int_equal(exclude_set_match(set, "a.log", REG), IN);
	exclude_set_truncate(set, 0);
	assert_int_equal(exclude_set_mark(set), 0);
	assert_int_equal(exclude_set_match(set, "a.log", REG), NO);
	exclude_set_free(set);
	exclude_set_free(NULL);
}

/* Many folders pushed and popped, as a deep scan does; ASan checks that
 * every dropped pattern is freed. */
static void test_many_push_pop(void **state)
{
	struct exclude_set *set = exclude_set_new();
	char base[32];
	size_t i;

	(void)state;
	for (i = 0; i < 200; i++) {
		size_t mark = exclude_set_mark(set);

		snprintf(base, sizeof(base), "d%zu", i);
		assert_int_equal(exclude_set_add(set, "x", base, NULL), 0);
		assert_int_equal(exclude_set_add(set, "*.o", base, NULL), 0);
		if (i % 2)
			exclude_set_truncate(set, mark);
	}
	assert_int_equal(exclude_set_mark(set), 200);
	assert_true(exclude_set_excludes(set, "d0/x", REG));
	assert_false(exclude_set_excludes(set, "d1/x", REG));
	exclude_set_free(set);
}

static void test_add_lines(void **state)
{
	static const char text[] =
		"# comment\n"
		"\n"
		"*.log\r\n"
		"!keep.log  \r\n"
		"   \n"
		"build/\n"
		"\\#x\n"
		"crlf\r\n"
		"last";
	struct exclude_set *set = exclude_set_new();

	(void)state;
	exclude_set_add_lines(set, text, strlen(text), "");
	assert_int_equal(exclude_set_mark(set), 6);
	assert_int_equal(exclude_set_match(set, "a.log", REG), EX);
	assert_int_equal(exclude_set_match(set, "keep.log", REG), IN);
	assert_int_equal(exclude_set_match(set, "build", DIR), EX);
	assert_int_equal(exclude_set_match(set, "build", REG), NO);
	assert_int_equal(exclude_set_match(set, "#x", REG), EX);
	assert_int_equal(exclude_set_match(set, "crlf", REG), EX);
	assert_int_equal(exclude_set_match(set, "crlf\r", REG), NO);
	assert_int_equal(exclude_set_match(set, "last", REG), EX);
	assert_int_equal(exclude_set_match(set, "# comment", REG), NO);
	assert_int_equal(exclude_set_match(set, "comment", REG), NO);
	exclude_set_free(set);
}

static void test_add_lines_edges(void **state)
{
	static const char bad[] = "!\n/\nfoo[\nbar\\\n[[:nope:]]\nok\n";
	static const char bom[] = "\xef\xbb\xbf*.bak\n";
	struct exclude_set *set = exclude_set_new();

	(void)state;
	/* invalid lines are skipped, the rest still count */
	exclude_set_add_lines(set, bad, strlen(bad), "sub");
	assert_int_equal(exclude_set_mark(set), 1);
	assert_true(exclude_set_excludes(set, "sub/ok", REG));
	assert_false(exclude_set_excludes(set, "ok", REG));
	exclude_set_truncate(set, 0);

	exclude_set_add_lines(set, bom, strlen(bom), "");
	assert_int_equal(exclude_set_mark(set), 1);
	assert_true(exclude_set_excludes(set, "x.bak", REG));
	exclude_set_truncate(set, 0);

	/* only len bytes count, and a NUL need not end the text */
	exclude_set_add_lines(set, "a\nbcd", 3, "");
	assert_int_equal(exclude_set_mark(set), 2);
	assert_true(exclude_set_excludes(set, "b", REG));
	assert_false(exclude_set_excludes(set, "bcd", REG));
	exclude_set_add_lines(set, "", 0, "");
	exclude_set_add_lines(set, "\n\r\n", 3, "");
	assert_int_equal(exclude_set_mark(set), 2);
	exclude_set_free(set);
}

static void test_errors(void **state)
{
	static const struct {
		const char *pattern;
		const char *reason;
	} cases[] = {
		{ "!", "nothing to re-include" },
		{ "!   ", "nothing to re-include" },
		{ "!/", "nothing to re-include" },
		{ "/", "nothing to match" },
		{ "//", "nothing to match" },
		{ "foo\\", "trailing backslash" },
		{ "a[b", "class" },
		{ "[!]", "class" },
		{ "[[:nope:]]", "class" },
		{ "[[:alpha:", "class" },
	};
	struct exclude_set *set = exclude_set_new();
	char want[256];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct error err = { { 0 } };

		assert_int_equal(exclude_set_add(set, cases[i].pattern, "",
						 &err), -1);
		snprintf(want, sizeof(want), "invalid exclude pattern '%s': ",
			 cases[i].pattern);
		assert_non_null(strstr(err.msg, want));
		assert_non_null(strstr(err.msg, cases[i].reason));
		assert_int_equal(exclude_set_add(set, cases[i].pattern, "",
						 NULL), -1);
	}
	assert_int_equal(exclude_set_mark(set), 0);
	exclude_set_free(set);
}

static void test_blank_and_comments(void **state)
{
	static const char *const ignored[] = { "", "   ", "#", "# x", "#*" };
	struct exclude_set *set = exclude_set_new();
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(ignored); i++) {
		struct error err = { { 0 } };

		assert_int_equal(exclude_set_add(set, ignored[i], "", &err), 0);
		assert_string_equal(err.msg, "");
	}
	assert_int_equal(exclude_set_mark(set), 0);
	assert_int_equal(exclude_set_match(set, "#", REG), NO);
	assert_int_equal(exclude_set_match(set, "# x", REG), NO);
	exclude_set_free(set);
}

static void test_excludes_convenience(void **state)
{
	struct exclude_set *set = exclude_set_new();

	(void)state;
	assert_false(exclude_set_excludes(set, "a.o", REG));
	assert_int_equal(exclude_set_add(set, "*.o", "", NULL), 0);
	assert_int_equal(exclude_set_add(set, "!keep.o", "", NULL), 0);
	assert_true(exclude_set_excludes(set, "a.o", REG));
	assert_false(exclude_set_excludes(set, "keep.o", REG));
	assert_false(exclude_set_excludes(set, "a.c", REG));
	exclude_set_free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basename_at_any_depth),
		cmocka_unit_test(test_anchored),
		cmocka_unit_test(test_dir_only),
		cmocka_unit_test(test_negation_last_wins),
		cmocka_unit_test(test_double_star),
		cmocka_unit_test(test_wildcards_and_classes),
		cmocka_unit_test(test_escapes_and_spaces),
		cmocka_unit_test(test_base_scoping),
		cmocka_unit_test(test_base_overrides_root),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_weird_bytes),
		cmocka_unit_test(test_pathological_stars),
		cmocka_unit_test(test_mark_truncate),
		cmocka_unit_test(test_many_push_pop),
		cmocka_unit_test(test_add_lines),
		cmocka_unit_test(test_add_lines_edges),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_blank_and_comments),
		cmocka_unit_test(test_excludes_convenience),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
