/* gitignore-style exclusion: patterns are parsed once into a compact form
 * and matched with a byte-oriented wildmatch that backtracks without
 * recursion, so the scanner can ask about every file cheaply. */
#include "exclude.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *const exclude_default_patterns[] = {
	".git/", "__pycache__/", "*.pyc", "*.log", "*.tmp", "*.temp", "*.swp",
	NULL,
};

/* How a pattern body is compared, cheapest first. Most real patterns are
 * plain names or "*.ext", and those skip the general matcher. */
enum pattern_kind {
	PATTERN_LITERAL, /* text is the unescaped name or path */
	PATTERN_SUFFIX,  /* "*" + literal: text is the unescaped suffix */
	PATTERN_WILD,    /* text is the body for wild_match(), escapes kept */
};

struct pattern {
	char *text;
	size_t len;            /* strlen(text) */
	char *base;            /* "" or "a/b": applies to "a/b/..." only */
	size_t base_len;
	enum pattern_kind kind;
	bool negate;           /* leading '!' */
	bool dir_only;         /* trailing '/' */
	bool anchored;         /* had a '/' before its end: match the path
				  below base, not the basename */
};

struct exclude_set {
	struct pattern *patterns;
	size_t len;
	size_t alloc;
};

/* Backtracking state for wild_match(). Only the latest '*' and the latest
 * "**" ever need to be resumed: a later star can absorb whatever an earlier
 * one would, which keeps matching O(pattern * text). */
struct wild {
	const char *pat0;    /* pattern start, to see where "**" begins */
	const char *star_p;  /* after the latest '*', or NULL */
	const char *star_t;  /* text that '*' would swallow next */
	const char *dstar_p; /* after the latest "**" + "/", or NULL */
	const char *dstar_t; /* text where that "**" stopped */
};

/* The subject of one exclude_set_match() call, split once for all
 * patterns. */
struct subject {
	const char *path;
	const char *name; /* basename of path */
	size_t name_len;
};

struct exclude_set *exclude_set_new(void)
{
	return xcalloc(1, sizeof(struct exclude_set));
}

static void pattern_release(struct pattern *pat)
{
	free(pat->text);
	free(pat->base);
}

void exclude_set_free(struct exclude_set *set)
{
	if (!set)
		return;
	exclude_set_truncate(set, 0);
	free(set->patterns);
	free(set);
}

struct exclude_set *exclude_set_copy(const struct exclude_set *set)
{
	struct exclude_set *copy = exclude_set_new();

	copy->len = copy->alloc = set->len;
	copy->patterns = set->len ? xcalloc(set->len, sizeof(*set->patterns))
				  : NULL;
	for (size_t i = 0; i < set->len; i++) {
		copy->patterns[i] = set->patterns[i];
		copy->patterns[i].text = xstrdup(set->patterns[i].text);
		copy->patterns[i].base = xstrdup(set->patterns[i].base);
	}
	return copy;
}

size_t exclude_set_mark(const struct exclude_set *set)
{
	return set->len;
}

void exclude_set_truncate(struct exclude_set *set, size_t mark)
{
	while (set->len > mark)
		pattern_release(&set->patterns[--set->len]);
}

/* Length of s without its trailing spaces, keeping a space that a backslash
 * escapes (gitignore's "foo\ "). */
static size_t trim_trailing_spaces(const char *s, size_t len)
{
	size_t end = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len) {
			i++;
			end = i + 1;
		} else if (s[i] != ' ') {
			end = i + 1;
		}
	}
	return end;
}

/* Reads one member of a bracket class, honouring a backslash escape. */
static unsigned char class_char(const char **p)
{
	const char *s = *p;

	if (s[0] == '\\' && s[1] != '\0') {
		*p = s + 2;
		return (unsigned char)s[1];
	}
	*p = s + 1;
	return (unsigned char)s[0];
}

static bool posix_class_has(const char *name, size_t len, unsigned char ch,
			    bool *known)
{
	static const struct {
		const char *name;
		int (*test)(int);
	} classes[] = {
		{ "alnum", isalnum }, { "alpha", isalpha }, { "blank", isblank },
		{ "cntrl", iscntrl }, { "digit", isdigit }, { "graph", isgraph },
		{ "lower", islower }, { "print", isprint }, { "punct", ispunct },
		{ "space", isspace }, { "upper", isupper }, { "xdigit", isxdigit },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(classes); i++) {
		if (strlen(classes[i].name) == len &&
		    memcmp(classes[i].name, name, len) == 0) {
			*known = true;
			return classes[i].test(ch) != 0;
		}
	}
	*known = false;
	return false;
}

/* At "[:" inside a class: a "[:name:]" sets *hit and returns 1, past it;
 * anything not closed by ":]" returns 0 so the '[' counts as a plain
 * member; an unknown name or no ']' at all returns -1, as in git. */
static int posix_class(const char **p, unsigned char ch, bool *hit)
{
	const char *name = *p + 2;
	const char *end = strchr(name, ']');
	bool known;

	if (!end)
		return -1;
	if (end - name < 2 || end[-1] != ':')
		return 0;
	if (posix_class_has(name, (size_t)(end - 1 - name), ch, &known))
		*hit = true;
	if (!known)
		return -1;
	*p = end + 1;
	return 1;
}

/* Matches ch against the class whose '[' is just before p. Returns the
 * pattern after the closing ']', or NULL if the class is malformed. */
static const char *class_match(const char *p, unsigned char ch, bool *hit)
{
	bool negate = *p == '!' || *p == '^';
	bool found = false;
	const char *first;

	p += negate;
	first = p;
	while (*p != ']' || p == first) {
		unsigned char lo, hi;
		int r = 0;

		if (*p == '\0')
			return NULL;
		if (p[0] == '[' && p[1] == ':')
			r = posix_class(&p, ch, &found);
		if (r < 0)
			return NULL;
		if (r > 0)
			continue;
		lo = hi = class_char(&p);
		if (p[0] == '-' && p[1] != ']' && p[1] != '\0') {
			p++;
			hi = class_char(&p);
		}
		if (lo <= ch && ch <= hi)
			found = true;
	}
	*hit = found != negate;
	return p + 1;
}

/* Matches one non-star pattern element against *t, advancing *p past it.
 * Nothing but a literal '/' matches a '/' (git's WM_PATHNAME). */
static bool match_one(const char **p, const char *t)
{
	const char *s = *p;
	bool hit = false;

	if (*t == '\0' || *s == '\0')
		return false;
	switch (*s) {
	case '?':
		*p = s + 1;
		return *t != '/';
	case '[':
		*p = class_match(s + 1, (unsigned char)*t, &hit);
		return *p && hit && *t != '/';
	case '\\':
		if (s[1] != '\0')
			s++;
		break;
	default:
		break;
	}
	*p = s + 1;
	return *s == *t;
}

/* Handles a run of '*' at *p. Returns true when the run is a "**" that
 * ends the pattern and starts a component: it matches whatever is left. */
static bool wild_star(struct wild *w, const char **p, const char *t)
{
	const char *q = *p;
	bool whole = q == w->pat0 || q[-1] == '/';

	while (*q == '*')
		q++;
	whole = whole && q - *p >= 2;
	if (whole && *q == '\0')
		return true;
	if (whole && *q == '/') {
		/* "**" + "/" stands for zero or more whole directories; try
		 * zero first, and forget older stars (this one covers them) */
		w->dstar_p = q + 1;
		w->dstar_t = t;
		w->star_p = NULL;
		*p = q + 1;
		return false;
	}
	w->star_p = q;
	w->star_t = t;
	*p = q;
	return false;
}

/* After a mismatch, moves (*p, *t) to the next untried alternative: first
 * let the latest '*' swallow one more byte of its directory, then let the
 * latest "**" swallow one more directory. */
static bool wild_backtrack(struct wild *w, const char **p, const char **t)
{
	const char *slash;

	if (w->star_p && *w->star_t != '\0' && *w->star_t != '/') {
		*p = w->star_p;
		*t = ++w->star_t;
		return true;
	}
	if (!w->dstar_p)
		return false;
	slash = strchr(w->dstar_t, '/');
	if (!slash)
		return false;
	w->dstar_t = slash + 1;
	w->star_p = NULL;
	*p = w->dstar_p;
	*t = w->dstar_t;
	return true;
}

/* gitignore's wildmatch: '*' and '?' and classes stay within one path
 * component, "**" between slashes crosses them. */
static bool wild_match(const char *pat, const char *text)
{
	struct wild w = { .pat0 = pat };
	const char *p = pat;
	const char *t = text;

	for (;;) {
		if (*p == '*') {
			if (wild_star(&w, &p, t))
				return true;
		} else if (*p == '\0' && *t == '\0') {
			return true;
		} else if (match_one(&p, t)) {
			t++;
		} else if (!wild_backtrack(&w, &p, &t)) {
			return false;
		}
	}
}

/* Why the pattern body can never match, or NULL. Checking here means the
 * matcher meets only well-formed classes and escapes. */
static const char *pattern_problem(const struct pattern *pat,
				   const char *body)
{
	const char *p = body;
	bool hit;

	if (*body == '\0')
		return pat->negate ? "nothing to re-include" : "nothing to match";
	while (*p) {
		if (p[0] == '\\' && p[1] == '\0')
			return "trailing backslash escapes nothing";
		if (p[0] == '\\')
			p += 2;
		else if (p[0] != '[')
			p++;
		else if (!(p = class_match(p + 1, 0, &hit)))
			return "unterminated or malformed '[...]' class";
	}
	return NULL;
}

/* Unescapes s into a new string if it holds no wildcard; else NULL. */
static char *literal_text(const char *s)
{
	char *out = xmalloc(strlen(s) + 1);
	size_t n = 0;

	for (; *s; s++) {
		if (*s == '*' || *s == '?' || *s == '[') {
			free(out);
			return NULL;
		}
		/* pattern_problem() ruled out a trailing backslash */
		if (*s == '\\')
			s++;
		out[n++] = *s;
	}
	out[n] = '\0';
	return out;
}

/* Picks the cheapest way to compare body and stores it in pat. */
static void pattern_compile(struct pattern *pat, const char *body)
{
	pat->kind = PATTERN_LITERAL;
	pat->text = literal_text(body);
	if (!pat->text && !pat->anchored && body[0] == '*' &&
	    body[1] != '*' && body[1] != '\0') {
		pat->kind = PATTERN_SUFFIX;
		pat->text = literal_text(body + 1);
	}
	if (!pat->text) {
		pat->kind = PATTERN_WILD;
		pat->text = xstrdup(body);
	}
	pat->len = strlen(pat->text);
}

/* Sets pat's flags from a trimmed, non-blank pattern of len bytes and
 * returns a copy of its body, without the '!' and the slashes that only
 * carry flags. */
static char *pattern_parse(struct pattern *pat, const char *s, size_t len)
{
	pat->negate = s[0] == '!';
	s += pat->negate;
	len -= pat->negate;
	pat->dir_only = len > 0 && s[len - 1] == '/';
	len -= pat->dir_only;
	pat->anchored = memchr(s, '/', len) != NULL;
	if (len > 0 && s[0] == '/') {
		s++;
		len--;
	}
	return xstrndup(s, len);
}

/* Stores base without trailing slashes; NULL means the source root. */
static void pattern_set_base(struct pattern *pat, const char *base)
{
	base = base ? base : "";
	pat->base_len = strlen(base);
	while (pat->base_len > 0 && base[pat->base_len - 1] == '/')
		pat->base_len--;
	pat->base = xstrndup(base, pat->base_len);
}

int exclude_set_add(struct exclude_set *set, const char *pattern,
		    const char *base, struct error *err)
{
	struct pattern pat = { 0 };
	size_t len = trim_trailing_spaces(pattern, strlen(pattern));
	char *body = NULL;
	const char *problem;
	void *patterns;
	int ret = -1;

	if (len == 0 || pattern[0] == '#')
		return 0;
	body = pattern_parse(&pat, pattern, len);
	problem = pattern_problem(&pat, body);
	if (problem) {
		error_set(err, "invalid exclude pattern '%s': %s", pattern,
			  problem);
		goto out;
	}
	pattern_compile(&pat, body);
	pattern_set_base(&pat, base);
	patterns = set->patterns;
	grow_array(&patterns, &set->alloc, set->len + 1, sizeof(pat));
	set->patterns = patterns;
	set->patterns[set->len++] = pat;
	ret = 0;
out:
	free(body);
	return ret;
}

void exclude_set_add_lines(struct exclude_set *set, const char *text,
			   size_t len, const char *base)
{
	char *copy = xstrndup(text, len);
	char *line = copy;
	char *end = copy + len;

	/* editors on Windows like to start files with a UTF-8 BOM */
	if (len >= 3 && memcmp(copy, "\xef\xbb\xbf", 3) == 0)
		line += 3;
	while (line < end) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		char *stop = nl ? nl : end;

		if (stop > line && stop[-1] == '\r')
			stop--;
		*stop = '\0';
		exclude_set_add(set, line, base, NULL);
		line = nl ? nl + 1 : end;
	}
	free(copy);
}

/* Whether pat matches the subject, ignoring its negation. */
static bool pattern_matches(const struct pattern *pat, const struct subject *s)
{
	const char *rest = s->path;

	if (pat->base_len > 0) {
		if (strncmp(rest, pat->base, pat->base_len) != 0 ||
		    rest[pat->base_len] != '/')
			return false;
		rest += pat->base_len + 1;
	}
	if (pat->anchored)
		return pat->kind == PATTERN_LITERAL ?
			strcmp(rest, pat->text) == 0 : wild_match(pat->text, rest);
	switch (pat->kind) {
	case PATTERN_LITERAL:
		return s->name_len == pat->len &&
		       memcmp(s->name, pat->text, pat->len) == 0;
	case PATTERN_SUFFIX:
		return s->name_len >= pat->len &&
		       memcmp(s->name + s->name_len - pat->len, pat->text,
			      pat->len) == 0;
	default:
		return wild_match(pat->text, s->name);
	}
}

enum exclude_match exclude_set_match(const struct exclude_set *set,
				     const char *path, bool is_dir)
{
	struct subject s = { .path = path };
	const char *slash = strrchr(path, '/');
	size_t i;

	/* the basename of the part below any base is the path's basename */
	s.name = slash ? slash + 1 : path;
	s.name_len = strlen(s.name);
	/* walk backwards: the first hit is the last matching pattern */
	for (i = set->len; i-- > 0;) {
		const struct pattern *pat = &set->patterns[i];

		if (pat->dir_only && !is_dir)
			continue;
		if (pattern_matches(pat, &s))
			return pat->negate ? EXCLUDE_INCLUDED : EXCLUDE_EXCLUDED;
	}
	return EXCLUDE_NO_MATCH;
}

bool exclude_set_excludes(const struct exclude_set *set, const char *path,
			  bool is_dir)
{
	return exclude_set_match(set, path, is_dir) == EXCLUDE_EXCLUDED;
}
