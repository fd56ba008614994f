/* Fuzz target for the exclusion matcher. The first line of the input is a
 * pattern, the rest are paths separated by newlines or NULs. The pattern
 * is added below the root and below "sub", and the whole input is read as
 * a .incbakignore file; every path is matched as a folder and as a file.
 * For a pattern without wildcards or escapes the answer must equal a plain
 * strcmp of the path (or its basename) with the pattern's text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exclude.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a wildcard-free pattern means, worked out the simple way. */
struct literal {
	bool usable;   /* the pattern is wildcard-free: compare with it */
	bool negate, dir_only, anchored;
	const char *body;
	size_t body_len;
};

static struct literal literal_parse(const char *pat)
{
	struct literal lit = { .body = pat };
	size_t len = strlen(pat);

	if (!*pat || pat[0] == '#' || strpbrk(pat, "*?[\\ "))
		return lit;
	lit.usable = true;
	lit.negate = pat[0] == '!';
	lit.body += lit.negate;
	len -= lit.negate;
	lit.dir_only = len > 0 && lit.body[len - 1] == '/';
	len -= lit.dir_only;
	lit.anchored = memchr(lit.body, '/', len) != NULL;
	if (len > 0 && lit.body[0] == '/') {
		lit.body++;
		len--;
	}
	lit.body_len = len;
	return lit;
}

static bool literal_matches(const struct literal *lit, const char *base,
			    const char *path, bool is_dir)
{
	size_t base_len = strlen(base);
	const char *rest = path;
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;

	if (lit->dir_only && !is_dir)
		return false;
	if (base_len > 0) {
		if (strncmp(path, base, base_len) != 0 || path[base_len] != '/')
			return false;
		rest = path + base_len + 1;
	}
	if (lit->anchored)
		return strlen(rest) == lit->body_len &&
		       memcmp(rest, lit->body, lit->body_len) == 0;
	return strlen(name) == lit->body_len &&
	       memcmp(name, lit->body, lit->body_len) == 0;
}

static void fail(const char *what, const char *pattern, const char *base,
		 const char *path, bool is_dir)
{
	fprintf(stderr, "exclude property failed: %s\npattern '%s' base '%s' "
		"path '%s' (%s)\n", what, pattern, base, path,
		is_dir ? "dir" : "file");
	abort();
}

/* Adds pattern below base, checking that only empty literals fail. */
static struct exclude_set *set_for(const char *pattern, const char *base,
				   const struct literal *lit)
{
	struct exclude_set *set = exclude_set_new();
	struct error err = { "" };
	int rc = exclude_set_add(set, pattern, base, &err);

	if (rc < 0 && !err.msg[0])
		fail("an error without a message", pattern, base, "", false);
	if (lit->usable && (rc < 0) != (lit->body_len == 0))
		fail(rc < 0 ? "a plain pattern was refused" :
		     "a pattern with nothing to match was accepted",
		     pattern, base, "", false);
	return set;
}

static void check_path(struct exclude_set *const sets[3],
		       const char *const bases[2], const struct literal *lit,
		       const char *pattern, const char *path)
{
	for (int d = 0; d < 2; d++) {
		bool is_dir = d;

		for (int i = 0; i < 2; i++) {
			enum exclude_match got =
				exclude_set_match(sets[i], path, is_dir);
			enum exclude_match want = EXCLUDE_NO_MATCH;

			if (exclude_set_excludes(sets[i], path, is_dir) !=
			    (got == EXCLUDE_EXCLUDED))
				fail("excludes() disagrees with match()",
				     pattern, bases[i], path, is_dir);
			if (!lit->usable || lit->body_len == 0)
				continue;
			if (literal_matches(lit, bases[i], path, is_dir))
				want = lit->negate ? EXCLUDE_INCLUDED :
						     EXCLUDE_EXCLUDED;
			if (got != want)
				fail("differs from a plain comparison",
				     pattern, bases[i], path, is_dir);
		}
		exclude_set_match(sets[2], path, is_dir);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const bases[2] = { "", "sub" };
	char *text = xmalloc(size + 1);
	char *end = text + size;
	char *pattern = text, *p;
	struct exclude_set *sets[3];
	struct literal lit;
	size_t mark;

	memcpy(text, data, size);
	*end = '\0';
	p = pattern + strcspn(pattern, "\n");
	if (p < end)
		*p++ = '\0';
	lit = literal_parse(pattern);
	sets[0] = set_for(pattern, bases[0], &lit);
	sets[1] = set_for(pattern, bases[1], &lit);
	sets[2] = exclude_set_new();
	exclude_set_add_lines(sets[2], (const char *)data, size, "sub");
	mark = exclude_set_mark(sets[2]);
	exclude_set_add_lines(sets[2], (const char *)data, size, "");
	while (p < end) {
		char *path = p;
		size_t n = strcspn(path, "\n");

		path[n] = '\0';
		p = path + n + 1;
		if (*path)
			check_path(sets, bases, &lit, pattern, path);
	}
	exclude_set_truncate(sets[2], mark);
	for (int i = 0; i < 3; i++)
		exclude_set_free(sets[i]);
	free(text);
	return 0;
}
