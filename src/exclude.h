/* gitignore-style exclusion patterns: an ordered list where the last
 * matching pattern wins, with per-directory pattern files pushed and popped
 * as the scanner enters and leaves folders. */
#ifndef INCBAK_EXCLUDE_H
#define INCBAK_EXCLUDE_H

#include <stdbool.h>
#include <stddef.h>

struct error;
struct exclude_set;

enum exclude_match {
	EXCLUDE_NO_MATCH = 0, /* no pattern matched: the path is included */
	EXCLUDE_EXCLUDED,     /* the last matching pattern excludes it */
	EXCLUDE_INCLUDED,     /* the last matching pattern is a `!` re-include */
};

/* The built-in default patterns, NULL-terminated. */
extern const char *const exclude_default_patterns[];

struct exclude_set *exclude_set_new(void);
/* Accepts NULL. */
void exclude_set_free(struct exclude_set *set);
/* An independent copy: each thread of a walk pushes and pops its own. */
struct exclude_set *exclude_set_copy(const struct exclude_set *set);

/* Adds one gitignore pattern that applies below `base`: "" for the source
 * root, else a relative directory path without trailing slash ("a/b").
 * Blank patterns and `#` comments are ignored (returns 0). A pattern that can
 * never match (e.g. "!" alone, or "/") is an error: returns -1 and fills err
 * naming the pattern and the reason. */
int exclude_set_add(struct exclude_set *set, const char *pattern,
		    const char *base, struct error *err);

/* Adds every line of a .incbakignore file's contents (gitignore rules:
 * `#` comments, blank lines, trailing unescaped spaces trimmed, `\` escapes,
 * CRLF tolerated), applying below `base`. Lines that are errors are skipped
 * silently, as git does. */
void exclude_set_add_lines(struct exclude_set *set, const char *text,
			   size_t len, const char *base);

/* A position in the list, for dropping patterns pushed by a folder's
 * .incbakignore when the scanner leaves that folder. */
size_t exclude_set_mark(const struct exclude_set *set);
void exclude_set_truncate(struct exclude_set *set, size_t mark);

/* Matches `path` (relative to the source root, no leading or trailing
 * slash, components separated by '/') against the patterns in order; the
 * last pattern that matches decides. is_dir says whether path is a directory
 * (patterns with a trailing '/' match directories only). */
enum exclude_match exclude_set_match(const struct exclude_set *set,
				     const char *path, bool is_dir);

/* Convenience: true if exclude_set_match() says EXCLUDE_EXCLUDED. */
bool exclude_set_excludes(const struct exclude_set *set, const char *path,
			  bool is_dir);

#endif
