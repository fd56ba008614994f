/* A pull parser for JSON (RFC 8259): strict syntax, exact integers, UTF-8
 * checked, nesting bounded. See catalog_internal.h for why it exists. */
#include "catalog_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "util.h"

#define JSON_MAX_DEPTH 64 /* catalog_internal.h sizes `first` to match */
#define RELEASE_CHUNK ((size_t)1 << 20)

void catalog_json_init(struct catalog_json *r, const char *text, size_t len,
		       bool mapped, struct error *err)
{
	memset(r, 0, sizeof(*r));
	r->start = r->p = r->released = text;
	r->end = text + len;
	r->err = err;
	r->mapped = mapped;
}

void catalog_json_rebind(struct catalog_json *r, const char *text, size_t len)
{
	char *str = r->str;
	size_t alloc = r->str_alloc;
	struct error *err = r->err;
	bool mapped = r->mapped;

	catalog_json_init(r, text, len, mapped, err);
	r->str = str;
	r->str_alloc = alloc;
}

void catalog_json_release(struct catalog_json *r)
{
	free(r->str);
	r->str = NULL;
	r->str_len = r->str_alloc = 0;
}

static int syntax_error(struct catalog_json *r, const char *what)
{
	size_t line = 1, col = 1;

	for (const char *q = r->start; q < r->p && q < r->end; q++) {
		if (*q == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	return error_set(r->err, "not valid JSON at line %zu, column %zu: %s",
			 line, col, what);
}

/* A mapped file is read once, front to back: hand the pages behind us back
 * to the kernel so a big metadata file does not stay resident. */
static void release_consumed(struct catalog_json *r)
{
	if (!r->mapped || (size_t)(r->p - r->released) < RELEASE_CHUNK)
		return;
	fs_release_mapped(r->released, r->p);
	r->released = r->p;
}

void catalog_json_advance(struct catalog_json *r, const char *to)
{
	r->p = to;
	release_consumed(r);
}

static void skip_space(struct catalog_json *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' ||
				 *r->p == '\r' || *r->p == '\t'))
		r->p++;
}

int catalog_json_peek(struct catalog_json *r)
{
	skip_space(r);
	if (r->p >= r->end)
		return syntax_error(r, "unexpected end");
	switch (*r->p) {
	case '{': return JSON_OBJECT;
	case '[': return JSON_ARRAY;
	case '"': return JSON_STRING;
	case 't': case 'f': return JSON_BOOL;
	case 'n': return JSON_NULL;
	default:
		if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9'))
			return JSON_NUMBER;
		return syntax_error(r, "unexpected character");
	}
}

static int expect_type(struct catalog_json *r, int type, const char *what)
{
	static const char *const names[] = {
		"null", "true or false", "a number", "a string", "an object",
		"an array",
	};
	int t = catalog_json_peek(r);

	if (t < 0)
		return -1;
	if (t != type)
		return error_set(r->err, "%s must be %s", what, names[type]);
	return 0;
}

static int literal(struct catalog_json *r, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n))
		return syntax_error(r, "bad literal");
	r->p += n;
	return 0;
}

int catalog_json_null(struct catalog_json *r)
{
	if (expect_type(r, JSON_NULL, "value") < 0)
		return -1;
	return literal(r, "null");
}

int catalog_json_bool(struct catalog_json *r, bool *out, const char *what)
{
	if (expect_type(r, JSON_BOOL, what) < 0)
		return -1;
	*out = *r->p == 't';
	return literal(r, *out ? "true" : "false");
}

static void str_put(struct catalog_json *r, const char *s, size_t n)
{
	grow_array((void **)&r->str, &r->str_alloc, r->str_len + n + 1, 1);
	memcpy(r->str + r->str_len, s, n);
	r->str_len += n;
	r->str[r->str_len] = '\0';
}

static int hex4(struct catalog_json *r, unsigned *out)
{
	*out = 0;
	if (r->end - r->p < 4)
		return syntax_error(r, "short \\u escape");
	for (int i = 0; i < 4; i++) {
		char c = r->p[i];
		int v = c >= '0' && c <= '9' ? c - '0'
		      : c >= 'a' && c <= 'f' ? c - 'a' + 10
		      : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		if (v < 0)
			return syntax_error(r, "bad \\u escape");
		*out = *out << 4 | (unsigned)v;
	}
	r->p += 4;
	return 0;
}

static void put_utf8(struct catalog_json *r, unsigned cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xC0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (char)(0xF0 | cp >> 18);
		b[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		b[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		b[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	str_put(r, b, n);
}

static int unicode_escape(struct catalog_json *r)
{
	unsigned cp, lo;

	if (hex4(r, &cp) < 0)
		return -1;
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return syntax_error(r, "lone low surrogate");
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
			return syntax_error(r, "lone high surrogate");
		r->p += 2;
		if (hex4(r, &lo) < 0)
			return -1;
		if (lo < 0xDC00 || lo > 0xDFFF)
			return syntax_error(r, "bad surrogate pair");
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
	}
	put_utf8(r, cp);
	return 0;
}

static int escape(struct catalog_json *r)
{
	static const char from[] = "\"\\/bfnrt";
	static const char to[] = "\"\\/\b\f\n\r\t";
	const char *hit;

	if (r->p >= r->end)
		return syntax_error(r, "unterminated string");
	if (*r->p == 'u') {
		r->p++;
		return unicode_escape(r);
	}
	hit = strchr(from, *r->p);
	if (!hit || !*r->p)
		return syntax_error(r, "bad escape");
	str_put(r, &to[hit - from], 1);
	r->p++;
	return 0;
}

#define BYTES_OF(c) (UINT64_C(0x0101010101010101) * (c))
#define HIGH_BITS BYTES_OF(0x80)

/* True if one of the eight bytes in w is a quote, a backslash or a control
 * character (the exact bit tricks of "Bit Twiddling Hacks": haszero,
 * hasless). */
static bool word_ends_run(uint64_t w)
{
	uint64_t quote = w ^ BYTES_OF('"');
	uint64_t backslash = w ^ BYTES_OF('\\');

	return (((quote - BYTES_OF(1)) & ~quote) |
		((backslash - BYTES_OF(1)) & ~backslash) |
		((w - BYTES_OF(0x20)) & ~w)) & HIGH_BITS;
}

/* Copies the run of plain characters up to the next quote or backslash.
 * Every string of the metadata passes here: eight bytes at a time. */
static int plain_run(struct catalog_json *r)
{
	const char *q = r->p;
	uint64_t w;

	while (r->end - q >= 8) {
		memcpy(&w, q, 8);
		if (word_ends_run(w))
			break;
		q += 8;
	}
	while (q < r->end && *q != '"' && *q != '\\' &&
	       (unsigned char)*q >= 0x20)
		q++;
	if (q < r->end && (unsigned char)*q < 0x20)
		return syntax_error(r, "control character in string");
	if (!utf8_valid(r->p, (size_t)(q - r->p)))
		return syntax_error(r, "string is not UTF-8");
	str_put(r, r->p, (size_t)(q - r->p));
	r->p = q;
	return 0;
}

int catalog_json_string(struct catalog_json *r, const char *what)
{
	if (expect_type(r, JSON_STRING, what) < 0)
		return -1;
	r->p++;
	r->str_len = 0;
	str_put(r, "", 0);
	for (;;) {
		if (plain_run(r) < 0)
			return -1;
		if (r->p >= r->end)
			return syntax_error(r, "unterminated string");
		if (*r->p == '"')
			break;
		r->p++;
		if (escape(r) < 0)
			return -1;
	}
	r->p++;
	return 0;
}

/* The extent of a number token, checked against the JSON grammar. */
static int number_span(struct catalog_json *r, const char **from, size_t *n)
{
	const char *q = r->p;

	if (q < r->end && *q == '-')
		q++;
	if (q >= r->end || *q < '0' || *q > '9')
		return syntax_error(r, "bad number");
	if (*q == '0')
		q++;
	else
		while (q < r->end && *q >= '0' && *q <= '9')
			q++;
	if (q < r->end && *q == '.') {
		if (++q >= r->end || *q < '0' || *q > '9')
			return syntax_error(r, "bad number");
		while (q < r->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < r->end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < r->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= r->end || *q < '0' || *q > '9')
			return syntax_error(r, "bad number");
		while (q < r->end && *q >= '0' && *q <= '9')
			q++;
	}
	*from = r->p;
	*n = (size_t)(q - r->p);
	r->p = q;
	return 0;
}

/* The token's digits, accumulated without strtoll: every file record holds
 * several numbers. number_span has checked the grammar. */
static int whole_number(const char *s, size_t n, int64_t *out)
{
	bool negative = n > 0 && *s == '-';
	uint64_t v = 0;
	uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;

	for (size_t i = negative; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || v > (limit - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (!negative)
		*out = (int64_t)v;
	else if (v == (uint64_t)INT64_MAX + 1)
		*out = INT64_MIN;
	else
		*out = -(int64_t)v;
	return 0;
}

int catalog_json_int(struct catalog_json *r, int64_t min, int64_t max,
		     int64_t *out, const char *what)
{
	const char *s;
	size_t n;
	int64_t v;

	if (expect_type(r, JSON_NUMBER, what) < 0 ||
	    number_span(r, &s, &n) < 0)
		return -1;
	if (whole_number(s, n, &v) < 0 || v < min || v > max)
		return error_set(r->err, "%s must be a whole number from %lld "
				 "to %lld", what, (long long)min,
				 (long long)max);
	*out = v;
	return 0;
}

int catalog_json_double(struct catalog_json *r, double *out, const char *what)
{
	const char *s;
	size_t n;
	char text[64];

	if (expect_type(r, JSON_NUMBER, what) < 0 ||
	    number_span(r, &s, &n) < 0)
		return -1;
	if (n >= sizeof(text))
		return error_set(r->err, "%s: number too long", what);
	memcpy(text, s, n);
	text[n] = '\0';
	errno = 0;
	*out = strtod(text, NULL);
	if (errno || !isfinite(*out))
		return error_set(r->err, "%s is out of range", what);
	return 0;
}

static int open_container(struct catalog_json *r, int type, const char *what)
{
	if (expect_type(r, type, what) < 0)
		return -1;
	if (r->depth >= JSON_MAX_DEPTH)
		return syntax_error(r, "nested too deeply");
	r->first[++r->depth] = true;
	r->p++;
	return 0;
}

int catalog_json_object_begin(struct catalog_json *r, const char *what)
{
	return open_container(r, JSON_OBJECT, what);
}

int catalog_json_array_begin(struct catalog_json *r, const char *what)
{
	return open_container(r, JSON_ARRAY, what);
}

/* Before an element: the closer (0), or a comma unless it is the first
 * (1). */
static int next_element(struct catalog_json *r, char closer)
{
	bool first = r->first[r->depth];

	skip_space(r);
	if (r->p >= r->end)
		return syntax_error(r, "unexpected end");
	if (*r->p == closer) {
		r->p++;
		r->depth--;
		release_consumed(r);
		return 0;
	}
	r->first[r->depth] = false;
	if (!first) {
		if (*r->p != ',')
			return syntax_error(r, "expected ',' or a closing "
					    "bracket");
		r->p++;
		skip_space(r);
	}
	r->element = r->p;
	return 1;
}

int catalog_json_object_next(struct catalog_json *r)
{
	int more = next_element(r, '}');

	if (more <= 0)
		return more;
	if (catalog_json_peek(r) != JSON_STRING)
		return syntax_error(r, "expected a key");
	if (catalog_json_string(r, "key") < 0)
		return -1;
	skip_space(r);
	if (r->p >= r->end || *r->p != ':')
		return syntax_error(r, "expected ':'");
	r->p++;
	return 1;
}

int catalog_json_array_next(struct catalog_json *r)
{
	return next_element(r, ']');
}

int catalog_json_skip(struct catalog_json *r)
{
	const char *s;
	size_t n;
	bool b;
	int more;

	switch (catalog_json_peek(r)) {
	case JSON_NULL: return catalog_json_null(r);
	case JSON_BOOL: return catalog_json_bool(r, &b, "value");
	case JSON_NUMBER: return number_span(r, &s, &n);
	case JSON_STRING: return catalog_json_string(r, "value");
	case JSON_OBJECT:
		if (catalog_json_object_begin(r, "value") < 0)
			return -1;
		while ((more = catalog_json_object_next(r)) > 0)
			if (catalog_json_skip(r) < 0)
				return -1;
		return more;
	case JSON_ARRAY:
		if (catalog_json_array_begin(r, "value") < 0)
			return -1;
		while ((more = catalog_json_array_next(r)) > 0)
			if (catalog_json_skip(r) < 0)
				return -1;
		return more;
	default:
		return -1;
	}
}

/* A line is the unit: '\n' cannot occur inside a JSON string, so a line
 * that starts with the element and ends with its closing brace holds
 * exactly that element, unless the brace closes an object nested in it
 * (then the caller's next read fails, as on any damage). */
int catalog_json_skim_record(struct catalog_json *r)
{
	const char *line_end, *e;

	skip_space(r);
	if (r->p >= r->end || *r->p != '{' || !r->element ||
	    (r->element > r->start && r->element[-1] != '\n') ||
	    memchr(r->element, '\n', (size_t)(r->p - r->element)))
		return 0;
	line_end = memchr(r->p, '\n', (size_t)(r->end - r->p));
	e = line_end ? line_end : r->end;
	if (e > r->p && e[-1] == ',')
		e--;
	if (e - r->p < 2 || e[-1] != '}')
		return 0;
	r->p = e;
	release_consumed(r);
	return 1;
}

bool catalog_json_skim_records(struct catalog_json *r, bool keyed)
{
	const char *p = r->p, *line_end, *e;
	bool skipped = false, more = true;

	if (r->depth == 0 || !r->first[r->depth] || p >= r->end || *p != '\n')
		return false;
	while (more && ++p < r->end && *p == (keyed ? '"' : '{')) {
		line_end = memchr(p, '\n', (size_t)(r->end - p));
		if (!line_end)
			break;
		e = line_end;
		more = e[-1] == ',';
		if (more)
			e--;
		if (e - p < 2 || e[-1] != '}')
			break;
		r->p = e;
		r->first[r->depth] = false;
		skipped = true;
		p = line_end;
		release_consumed(r);
	}
	return skipped;
}

int catalog_json_finish(struct catalog_json *r)
{
	skip_space(r);
	if (r->p != r->end)
		return syntax_error(r, "text after the end");
	return 0;
}
