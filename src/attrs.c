/* Extended attributes and ACLs of a path, encoded for the catalog. */
#include "attrs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "util.h"

bool attrs_is_acl(const char *name)
{
	return !strcmp(name, ATTRS_ACL_ACCESS) ||
	       !strcmp(name, ATTRS_ACL_DEFAULT);
}

static bool wanted(const char *name, const struct attrs_options *o)
{
	if (attrs_is_acl(name))
		return o->acls;
	/* Other system.* names are the file system's own (NFSv4 ACLs,
	 * richacls), not attributes a file carries to another one. */
	if (!strncmp(name, "system.", 7))
		return false;
	return o->xattrs;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The list of names of path, NUL-separated, in *names (allocated). */
static ssize_t list_names(const char *path, char **names)
{
	ssize_t n = llistxattr(path, NULL, 0);

	*names = NULL;
	while (n > 0) {
		*names = xrealloc(*names, (size_t)n);
		ssize_t got = llistxattr(path, *names, (size_t)n);

		if (got >= 0)
			return got;
		if (errno != ERANGE)
			return -1;
		n = llistxattr(path, NULL, 0);
	}
	return n;
}

static void put_hex(struct buf *out, const void *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		char two[2] = { digits[p[i] >> 4], digits[p[i] & 15] };

		buf_append(out, two, 2);
	}
}

/* Appends name's item to out; 1 if the attribute went away meanwhile. */
static int put_item(struct buf *out, const char *path, const char *name)
{
	ssize_t n = lgetxattr(path, name, NULL, 0);
	char *value = NULL;

	while (n >= 0) {
		value = xrealloc(value, (size_t)n + 1);
		ssize_t got = lgetxattr(path, name, value, (size_t)n);

		if (got >= 0) {
			n = got;
			break;
		}
		if (errno != ERANGE)
			n = -1;
		else
			n = lgetxattr(path, name, NULL, 0);
	}
	if (n < 0) {
		free(value);
		return errno == ENODATA ? 1 : -1;
	}
	if (out->len)
		buf_append(out, ",", 1);
	put_hex(out, name, strlen(name));
	buf_append(out, "=", 1);
	put_hex(out, value, (size_t)n);
	free(value);
	return 0;
}

static bool unsupported(int errnum)
{
	return errnum == ENOTSUP || errnum == EOPNOTSUPP || errnum == ENOSYS;
}

char *attrs_read(const char *path, const struct attrs_options *o,
		 int *errnum)
{
	struct buf out = {0};
	char *names = NULL, **sorted = NULL;
	size_t count = 0;
	ssize_t n;

	*errnum = 0;
	if (!o->xattrs && !o->acls)
		return NULL;
	n = list_names(path, &names);
	if (n < 0) {
		if (!unsupported(errno))
			*errnum = errno;
		goto out;
	}
	sorted = xmalloc(((size_t)n + 1) * sizeof(*sorted));
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1)
		if (wanted(names + i, o))
			sorted[count++] = names + i;
	qsort(sorted, count, sizeof(*sorted), cmp_names);
	for (size_t i = 0; i < count; i++)
		if (put_item(&out, path, sorted[i]) < 0) {
			*errnum = errno;
			break;
		}
out:
	free(sorted);
	free(names);
	if (*errnum || !out.len) {
		buf_release(&out);
		return NULL;
	}
	return out.data;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes the hex digits from p to end into a new buffer of *len bytes
 * (NUL-terminated); NULL if they are not hex digits. */
static unsigned char *unhex(const char *p, const char *end, size_t *len)
{
	size_t n = (size_t)(end - p);
	unsigned char *out;

	if (n % 2)
		return NULL;
	out = xmalloc(n / 2 + 1);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_value(p[2 * i]), lo = hex_value(p[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(out);
			return NULL;
		}
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	out[n / 2] = 0;
	*len = n / 2;
	return out;
}

/* One "HEXNAME=HEXVALUE" from p to end into *it; -1 if malformed. */
static int decode_item(const char *p, const char *end, struct attrs_item *it)
{
	const char *eq = memchr(p, '=', (size_t)(end - p));
	size_t nlen;

	if (!eq || eq == p)
		return -1;
	it->name = (char *)unhex(p, eq, &nlen);
	it->value = unhex(eq + 1, end, &it->size);
	if (!it->name || !it->value || strlen(it->name) != nlen) {
		free(it->name);
		free(it->value);
		return -1;
	}
	return 0;
}

long attrs_decode(const char *attrs, struct attrs_item **items)
{
	long n = 0, alloc = 0;
	const char *p = attrs;

	*items = NULL;
	while (*p) {
		const char *end = strchr(p, ',');

		if (!end)
			end = p + strlen(p);
		if (n == alloc) {
			alloc = alloc ? 2 * alloc : 4;
			*items = xrealloc(*items,
					  (size_t)alloc * sizeof(**items));
		}
		if (decode_item(p, end, &(*items)[n]) < 0) {
			attrs_items_free(*items, n);
			*items = NULL;
			return -1;
		}
		n++;
		p = *end ? end + 1 : end;
	}
	return n;
}

void attrs_items_free(struct attrs_item *items, long n)
{
	for (long i = 0; i < n; i++) {
		free(items[i].name);
		free(items[i].value);
	}
	free(items);
}

/* Whether an ACL in the kernel's xattr form (linux/posix_acl_xattr.h: a
 * 4-byte version, then 8-byte entries of tag, permissions and id) has an
 * entry for a named user or group. A value too short to tell counts as
 * naming one. */
static bool acl_names_others(const unsigned char *v, size_t size)
{
	if (size < 4)
		return true;
	for (size_t at = 4; at + 8 <= size; at += 8) {
		unsigned tag = v[at] | (unsigned)v[at + 1] << 8;

		if (tag == 0x02 || tag == 0x08) /* ACL_USER, ACL_GROUP */
			return true;
	}
	return false;
}

bool attrs_may_apply(const struct attrs_item *it, bool privileged)
{
	const char *name = it->name;

	if (privileged)
		return !strncmp(name, "user.", 5) || attrs_is_acl(name) ||
		       !strncmp(name, "security.", 9) ||
		       !strncmp(name, "trusted.", 8);
	if (attrs_is_acl(name))
		return !acl_names_others(it->value, it->size);
	if (!strncmp(name, "user.", 5))
		return true;
	return false;
}

long attrs_acl_entries(const unsigned char *v, size_t size,
		       struct attrs_acl_entry *out, size_t max)
{
	long n = 0;

	if (size < 4 || (size - 4) % 8 || v[0] != 2 || v[1] || v[2] || v[3])
		return -1;
	for (size_t at = 4; at < size && (size_t)n < max; at += 8, n++) {
		out[n].tag = v[at] | (unsigned)v[at + 1] << 8;
		out[n].perm = v[at + 2] | (unsigned)v[at + 3] << 8;
		out[n].id = v[at + 4] | (uint32_t)v[at + 5] << 8 |
			    (uint32_t)v[at + 6] << 16 |
			    (uint32_t)v[at + 7] << 24;
	}
	return n;
}

bool attrs_same(const char *a, const char *b)
{
	if (!a || !b)
		return !a && !b;
	return !strcmp(a, b);
}
