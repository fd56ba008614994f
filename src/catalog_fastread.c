/* The records of backup_metadata.json and of manifests as incbak writes
 * them, read with no general parsing: each field is where the writer put
 * it, so reading one is a memcmp of its name and a scan of its value. A
 * record that is laid out any other way (another tool rewrote the file, a
 * name with escapes, damage) is left to the general reader, which alone
 * gives errors: so this file accepts a strict subset of what the general
 * reader accepts, and must read it the same way (fuzz_metadata and
 * fuzz_manifest compare the two). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attrs.h"
#include "catalog_internal.h"
#include "catalog.h"
#include "tree.h"

bool catalog_fastread_enabled = true;

struct cursor {
	const char *p, *end;
};

static bool take(struct cursor *c, const char *text, size_t n)
{
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, text, n))
		return false;
	c->p += n;
	return true;
}

/* A literal: a field's name with its quotes and colon, punctuation. */
#define TAKE(c, text) take(c, text, sizeof(text) - 1)

#define BYTES_OF(x) (UINT64_C(0x0101010101010101) * (x))

/* True if one of the eight bytes is a quote, a backslash, a control
 * character or not ASCII (haszero and hasless of "Bit Twiddling Hacks"). */
static bool word_leaves_plain(uint64_t w)
{
	uint64_t quote = w ^ BYTES_OF('"');
	uint64_t backslash = w ^ BYTES_OF('\\');

	return (((quote - BYTES_OF(1)) & ~quote) |
		((backslash - BYTES_OF(1)) & ~backslash) |
		(w - BYTES_OF(0x20)) | w) & BYTES_OF(0x80);
}

/* A string of ASCII without control characters or escapes: JSON decodes
 * it to exactly its bytes. Sets its span (quotes excluded). */
static bool plain_string(struct cursor *c, const char **s, size_t *n)
{
	const char *q;
	uint64_t w;

	if (c->p >= c->end || *c->p != '"')
		return false;
	q = c->p + 1;
	while (c->end - q >= 8) {
		memcpy(&w, q, 8);
		if (word_leaves_plain(w))
			break;
		q += 8;
	}
	while (q < c->end && *q != '"') {
		unsigned char ch = (unsigned char)*q;

		if (ch < 0x20 || ch >= 0x80 || ch == '\\')
			return false;
		q++;
	}
	if (q >= c->end)
		return false;
	*s = c->p + 1;
	*n = (size_t)(q - *s);
	c->p = q + 1;
	return true;
}

/* A plain string copied into out[size] with its NUL; false if longer. */
static bool short_string(struct cursor *c, char *out, size_t size)
{
	const char *s;
	size_t n;

	if (!plain_string(c, &s, &n) || n >= size)
		return false;
	memcpy(out, s, n);
	out[n] = '\0';
	return true;
}

/* Digits as JSON writes an integer (no leading zero), at most max. */
static bool digits(struct cursor *c, uint64_t max, uint64_t *out)
{
	const char *q = c->p;
	uint64_t v = 0;

	if (q >= c->end || *q < '0' || *q > '9')
		return false;
	if (*q == '0') {
		q++;
	} else {
		while (q < c->end && *q >= '0' && *q <= '9') {
			unsigned d = (unsigned)(*q - '0');

			if (v > (max - d) / 10)
				return false;
			v = v * 10 + d;
			q++;
		}
	}
	/* A fraction or an exponent: the general reader decides. */
	if (q < c->end && (*q == '.' || *q == 'e' || *q == 'E'))
		return false;
	c->p = q;
	*out = v;
	return true;
}

static bool signed_digits(struct cursor *c, int64_t limit, int64_t *out)
{
	bool negative = c->p < c->end && *c->p == '-';
	uint64_t v;

	if (negative)
		c->p++;
	if (!digits(c, (uint64_t)limit, &v))
		return false;
	*out = negative ? -(int64_t)v : (int64_t)v;
	return true;
}

/* A number with an optional fraction and no exponent, as modified_time is
 * written: finite and exact enough for any double, under the general
 * reader's 64 characters. Only checked: the mtime pair that follows it is
 * what the reader uses. */
static bool decimal(struct cursor *c)
{
	const char *from = c->p, *q = c->p;

	if (q < c->end && *q == '-')
		q++;
	if (q >= c->end || *q < '0' || *q > '9')
		return false;
	if (*q == '0')
		q++;
	else
		while (q < c->end && *q >= '0' && *q <= '9')
			q++;
	if (q < c->end && *q == '.') {
		if (++q >= c->end || *q < '0' || *q > '9')
			return false;
		while (q < c->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < c->end && (*q == 'e' || *q == 'E'))
		return false;
	if (q - from >= 64)
		return false;
	c->p = q;
	return true;
}

/* [seconds, nanoseconds] in the general reader's ranges. */
static bool time_pair(struct cursor *c, struct nstime *t)
{
	int64_t sec;
	uint64_t nsec;

	if (!TAKE(c, "[") || !signed_digits(c, 1000000000000000LL, &sec) ||
	    !TAKE(c, ",") || !digits(c, 999999999, &nsec) || !TAKE(c, "]"))
		return false;
	t->sec = sec;
	t->nsec = (int32_t)nsec;
	return true;
}

static bool type_field(struct cursor *c, struct tree_entry *e)
{
	char name[16];
	enum entry_type type;

	if (!short_string(c, name, sizeof(name)) ||
	    tree_type_parse(name, &type) < 0)
		return false;
	e->type = (uint8_t)type;
	return true;
}

/* "inode" is a decimal string (a number would lose precision in tools
 * that read JSON numbers as doubles). */
static bool inode_field(struct cursor *c, struct tree_entry *e)
{
	struct cursor in;
	const char *s;
	size_t n;
	uint64_t v = 0;

	if (!plain_string(c, &s, &n) || n == 0 || n > 19)
		return false;
	in.p = s;
	in.end = s + n;
	/* Leading zeros are fine in a string: parse_int64 takes them. */
	while (in.p < in.end) {
		unsigned d = (unsigned)(*in.p - '0');

		if (d > 9)
			return false;
		v = v * 10 + d;
		in.p++;
	}
	if (v > INT64_MAX)
		return false;
	e->ino = v;
	return true;
}

static bool mode_field(struct cursor *c, struct tree_entry *e)
{
	const char *s;
	size_t n;
	uint32_t v = 0;

	if (!plain_string(c, &s, &n) || n == 0 || n > 8)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '7')
			return false;
		v = v << 3 | (uint32_t)(s[i] - '0');
	}
	if (v > 07777)
		return false;
	e->mode = v;
	return true;
}

static bool checksum_field(struct cursor *c, uint8_t out[HASH_SIZE])
{
	char hex[HASH_HEX_SIZE];

	return short_string(c, hex, sizeof(hex)) &&
	       strlen(hex) == 2 * HASH_SIZE && hex_decode(hex, out, HASH_SIZE) == 0;
}

static bool u32_field(struct cursor *c, uint32_t *out)
{
	uint64_t v;

	if (!digits(c, UINT32_MAX, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

/* The fields every entry has, in the writer's order. */
static bool common_fields(struct cursor *c, struct entry_state *st)
{
	struct tree_entry *e = st->e;

	if (!TAKE(c, "\"type\":") || !type_field(c, e) ||
	    !TAKE(c, ",\"size\":") || !digits(c, INT64_MAX, &e->size) ||
	    !TAKE(c, ",\"modified_time\":") || !decimal(c) ||
	    !TAKE(c, ",\"mtime\":") || !time_pair(c, &e->mtime) ||
	    !TAKE(c, ",\"ctime\":") || !time_pair(c, &e->ctime) ||
	    !TAKE(c, ",\"inode\":") || !inode_field(c, e) ||
	    !TAKE(c, ",\"mode\":") || !mode_field(c, e) ||
	    !TAKE(c, ",\"uid\":") || !u32_field(c, &e->uid) ||
	    !TAKE(c, ",\"gid\":") || !u32_field(c, &e->gid))
		return false;
	st->seen |= 1u << F_TYPE | 1u << F_SIZE | 1u << F_MODIFIED_TIME |
		    1u << F_MTIME | 1u << F_CTIME | 1u << F_INODE |
		    1u << F_MODE | 1u << F_UID | 1u << F_GID;
	return true;
}

/* The fields only some entries have, each at most once, in order. */
static bool optional_fields(struct cursor *c, struct entry_state *st)
{
	struct tree_entry *e = st->e;
	const char *s;
	size_t n;

	if (TAKE(c, ",\"attrs\":")) {
		struct attrs_item *items;
		long got;

		if (!plain_string(c, &s, &n))
			return false;
		e->attrs = xstrndup(s, n);
		got = attrs_decode(e->attrs, &items);
		if (got <= 0)
			return false; /* the general reader says why */
		attrs_items_free(items, got);
		st->seen |= 1u << F_ATTRS;
	}
	if (TAKE(c, ",\"checksum\":")) {
		if (!checksum_field(c, e->checksum))
			return false;
		st->seen |= 1u << F_CHECKSUM;
	}
	/* The holder, which the contents say again; not a field the reader
	 * keeps. */
	if (TAKE(c, ",\"backup_id\":") && !plain_string(c, &s, &n))
		return false;
	if (TAKE(c, ",\"link_target\":")) {
		if (!plain_string(c, &s, &n))
			return false;
		e->link_target = xstrndup(s, n);
		st->seen |= 1u << F_LINK;
	}
	if (TAKE(c, ",\"recheck\":")) {
		if (TAKE(c, "true"))
			e->recheck = true;
		else if (!TAKE(c, "false"))
			return false;
		st->seen |= 1u << F_RECHECK;
	}
	return TAKE(c, "}");
}

int catalog_fastread_entry(struct catalog_json *r, struct tree *t,
			   struct entry_state *st, bool with_path)
{
	struct cursor c = { r->p, r->end };
	struct entry_state before = *st;
	struct tree_entry *e = st->e, was = *st->e;

	if (!catalog_fastread_enabled || !TAKE(&c, "{"))
		return 0;
	if (with_path) {
		const char *s;
		size_t n;

		/* A name that is not UTF-8 has its hex twin next: such a
		 * record fails below and goes to the general reader. */
		if (!TAKE(&c, "\"path\":") || !plain_string(&c, &s, &n) ||
		    !TAKE(&c, ","))
			return 0;
		e->path = tree_store_name(t, s, n);
		e->path_stored = true;
		st->seen |= 1u << F_PATH;
	}
	if (!common_fields(&c, st) || !optional_fields(&c, st)) {
		/* As it was: the general reader starts again (a path left
		 * in the tree's storage is freed with the tree). */
		if (e->link_target != was.link_target)
			free(e->link_target);
		if (e->attrs != was.attrs)
			free(e->attrs);
		*e = was;
		*st = before;
		return 0;
	}
	catalog_json_advance(r, c.p);
	return 1;
}

static bool id_field(struct cursor *c, char out[BACKUP_ID_SIZE])
{
	return short_string(c, out, BACKUP_ID_SIZE) &&
	       catalog_is_backup_id(out);
}

int catalog_fastread_content(struct catalog_json *r, struct content_state *cs)
{
	struct cursor c = { r->p, r->end };
	struct content_state got = {0};
	const char *s;
	size_t n;

	if (!catalog_fastread_enabled || !TAKE(&c, "{\"size\":") ||
	    !digits(&c, INT64_MAX, &got.size) ||
	    !TAKE(&c, ",\"member\":") || !plain_string(&c, &s, &n))
		return 0;
	got.seen = 1u << C_SIZE | 1u << C_MEMBER;
	if (TAKE(&c, ",\"frame\":")) {
		if (!digits(&c, INT64_MAX, &got.frame) ||
		    !TAKE(&c, ",\"skip\":") ||
		    !digits(&c, INT64_MAX, &got.skip))
			return 0;
		got.seen |= 1u << C_FRAME | 1u << C_SKIP;
	}
	if (TAKE(&c, ",\"backup_id\":")) {
		if (!id_field(&c, got.holder) ||
		    !TAKE(&c, ",\"last_used\":") || !id_field(&c, got.last))
			return 0;
		got.seen |= 1u << C_HOLDER | 1u << C_LAST;
	}
	if (!TAKE(&c, "}"))
		return 0;
	/* No NUL can be among the bytes of a plain string. */
	got.member = xstrndup(s, n);
	*cs = got;
	catalog_json_advance(r, c.p);
	return 1;
}
