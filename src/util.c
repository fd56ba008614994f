/* Small helpers shared by every module. */
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int error_set(struct error *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int error_prefix(struct error *err, const char *fmt, ...)
{
	char *prefix, *old;
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	prefix = str_vfmt(fmt, ap);
	va_end(ap);
	old = xstrdup(err->msg);
	error_set(err, "%s: %s", prefix, old);
	free(prefix);
	free(old);
	return -1;
}

_Noreturn void out_of_memory(size_t n)
{
	fprintf(stderr, "incbak: out of memory (wanted %zu bytes)\n", n);
	abort();
}

const char *error_without_path(const char *msg, const char *path)
{
	size_t n = strlen(path);

	if (msg[0] == '\'' && !strncmp(msg + 1, path, n) &&
	    !strncmp(msg + 1 + n, "': ", 3))
		return msg + n + 4;
	return msg;
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		out_of_memory(n);
	return p;
}

void *xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);

	if (!p)
		out_of_memory(count * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		out_of_memory(n);
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void grow_array(void **array, size_t *alloc, size_t need, size_t elem)
{
	size_t n;

	if (need <= *alloc)
		return;
	n = *alloc ? *alloc : 16;
	while (n < need)
		n *= 2;
	if (n > SIZE_MAX / elem)
		out_of_memory(SIZE_MAX);
	*array = xrealloc(*array, n * elem);
	*alloc = n;
}

/* GCC's -Wformat-truncation reports a "null format string" here when
 * -fsanitize=undefined instruments callers; no caller passes NULL. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif
char *str_vfmt(const char *fmt, va_list ap)
{
	va_list cp;
	char probe[1];
	int n;
	char *s;

	va_copy(cp, ap);
	n = vsnprintf(probe, sizeof(probe), fmt, cp);
	va_end(cp);
	if (n < 0)
		n = 0;
	s = xmalloc((size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

char *str_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = str_vfmt(fmt, ap);
	va_end(ap);
	return s;
}

bool str_starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

void strlist_push(struct strlist *list, const char *s)
{
	strlist_push_owned(list, xstrdup(s));
}

void strlist_push_owned(struct strlist *list, char *s)
{
	grow_array((void **)&list->items, &list->alloc, list->len + 1,
		   sizeof(*list->items));
	list->items[list->len++] = s;
}

/* Blocks of names, newest first. */
struct name_block {
	struct name_block *next;
	size_t used, size;
	char data[];
};

#define NAME_BLOCK_SIZE ((size_t)256 << 10)

char *names_store(struct name_block **store, const char *name, size_t n)
{
	size_t len = n + 1;
	struct name_block *b = *store;
	char *out;

	if (!b || b->size - b->used < len) {
		size_t size = len > NAME_BLOCK_SIZE / 4 ? len : NAME_BLOCK_SIZE;

		b = xmalloc(sizeof(*b) + size);
		b->used = 0;
		b->size = size;
		/* A block for one long name goes behind the current one, so
		 * the current one keeps filling. */
		if (size == len && *store) {
			b->next = (*store)->next;
			(*store)->next = b;
		} else {
			b->next = *store;
			*store = b;
		}
	}
	out = b->data + b->used;
	memcpy(out, name, n);
	out[n] = '\0';
	b->used += len;
	return out;
}

void names_splice(struct name_block **from, struct name_block **to)
{
	struct name_block *last = *from;

	if (!last)
		return;
	while (last->next)
		last = last->next;
	last->next = *to;
	*to = *from;
	*from = NULL;
}

void names_release(struct name_block **store)
{
	while (*store) {
		struct name_block *next = (*store)->next;

		free(*store);
		*store = next;
	}
}

void strlist_clear(struct strlist *list)
{
	for (size_t i = 0; i < list->len; i++)
		free(list->items[i]);
	free(list->items);
	list->items = NULL;
	list->len = list->alloc = 0;
}

bool strlist_contains(const struct strlist *list, const char *s)
{
	for (size_t i = 0; i < list->len; i++)
		if (strcmp(list->items[i], s) == 0)
			return true;
	return false;
}

static int cmp_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strlist_sort(struct strlist *list)
{
	/* qsort(NULL, 0, ...) is undefined, and an empty list has no items. */
	if (list->len > 1)
		qsort(list->items, list->len, sizeof(*list->items),
		      cmp_strings);
}

bool strlist_has_sorted(const struct strlist *list, const char *s)
{
	if (!list->len)
		return false;
	return bsearch(&s, list->items, list->len, sizeof(*list->items),
		       cmp_strings) != NULL;
}

void buf_append(struct buf *b, const void *data, size_t len)
{
	grow_array((void **)&b->data, &b->alloc, b->len + len + 1, 1);
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

/* Formats straight into the buffer's free space: the metadata of a big
 * tree is hundreds of thousands of these. */
void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	grow_array((void **)&b->data, &b->alloc, b->len + 128, 1);
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->alloc - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)	/* as str_vfmt: an impossible format adds nothing */
		n = 0;
	if ((size_t)n >= b->alloc - b->len) {
		grow_array((void **)&b->data, &b->alloc, b->len + (size_t)n + 1,
			   1);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->alloc - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void buf_release(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->alloc = 0;
}

void hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

/* One more than a hex digit's value, 0 for anything else: every metadata
 * load decodes two checksums per file, so this is a table, not tests. */
static const uint8_t hex_digit_plus_one[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
	['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15,
	['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15,
	['F'] = 16,
};

int hex_decode(const char *hex, uint8_t *out, size_t len)
{
	const unsigned char *h = (const unsigned char *)hex;

	for (size_t i = 0; i < len; i++) {
		unsigned hi = hex_digit_plus_one[h[2 * i]];
		unsigned lo;

		if (!hi)
			return -1;
		lo = hex_digit_plus_one[h[2 * i + 1]];
		if (!lo)
			return -1;
		out[i] = (uint8_t)((hi - 1) << 4 | (lo - 1));
	}
	return hex[2 * len] == '\0' ? 0 : -1;
}

int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static size_t utf8_sequence_length(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return 2;
	if (c >= 0xE0 && c <= 0xEF)
		return 3;
	if (c >= 0xF0 && c <= 0xF4)
		return 4;
	return 0;
}

bool utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		size_t n;

		/* Names are mostly ASCII: skip it eight bytes at a time. */
		while (len - i >= 8) {
			uint64_t w;

			memcpy(&w, s + i, 8);
			if (w & UINT64_C(0x8080808080808080))
				break;
			i += 8;
		}
		if (i >= len)
			break;
		n = utf8_sequence_length(s[i]);

		if (n == 0 || i + n > len)
			return false;
		for (size_t k = 1; k < n; k++)
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
		/* overlongs and surrogates that the lead byte alone allows */
		if ((s[i] == 0xE0 && s[i + 1] < 0xA0) ||
		    (s[i] == 0xED && s[i + 1] > 0x9F) ||
		    (s[i] == 0xF0 && s[i + 1] < 0x90) ||
		    (s[i] == 0xF4 && s[i + 1] > 0x8F))
			return false;
		i += n;
	}
	return true;
}

volatile sig_atomic_t incbak_interrupted;

void format_backup_id(int64_t sec, char out[BACKUP_ID_SIZE])
{
	time_t t = (time_t)sec;
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    !strftime(out, BACKUP_ID_SIZE, "%Y-%m-%d_%H-%M-%S", &tm))
		snprintf(out, BACKUP_ID_SIZE, "0000-00-00_00-00-00");
}

int parse_backup_id(const char *id, int64_t *sec)
{
	struct tm tm = {0};
	const char *end = strptime(id, "%Y-%m-%d_%H-%M-%S", &tm);

	if (!end || *end || strlen(id) != BACKUP_ID_SIZE - 1)
		return -1;
	*sec = (int64_t)timegm(&tm);
	return 0;
}

void format_iso_utc(int64_t sec, char *out, size_t len)
{
	time_t t = (time_t)sec;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, len, "%lld", (long long)sec);
}
