/* backup_metadata.json and archive manifests read from text into struct
 * metadata / struct manifest: with a pull parser straight into the
 * structures (no JSON tree: see catalog_json.c) and validated field by field,
 * because a hand-edited or damaged file must give a clear error, never a
 * crash or a silently wrong state. */
#include "catalog.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attrs.h"
#include "catalog_internal.h"

static const char *const entry_fields[F_COUNT] = {
	"path", "path_hex", "type", "size", "modified_time", "mtime", "ctime",
	"inode", "mode", "uid", "gid", "checksum", "link_target",
	"link_target_hex", "recheck", "attrs",
};

/* The first byte rules out most names before a full comparison. */
static int field_index(const char *const *names, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (names[i][0] == key[0] && !strcmp(names[i], key))
			return i;
	return -1;
}

/* The members of an object, each field of `names` read by read(r, f, ctx)
 * at most once (bits in *seen) and any other skipped, as a newer incbak
 * may add some: 0 at the object's end, or -1. */
static int read_fields(struct catalog_json *r, const char *what,
		       const char *const *names, int n, unsigned *seen,
		       int (*read)(struct catalog_json *r, int f, void *ctx),
		       void *ctx)
{
	int more;

	if (catalog_json_object_begin(r, what) < 0)
		return -1;
	while ((more = catalog_json_object_next(r)) > 0) {
		int f = field_index(names, n, r->str);

		if (f < 0) {
			if (catalog_json_skip(r) < 0)
				return -1;
			continue;
		}
		if (*seen & 1u << f)
			return error_set(r->err, "'%s' appears twice",
					 names[f]);
		*seen |= 1u << f;
		if (read(r, f, ctx) < 0)
			return -1;
	}
	return more;
}

/* The decoded string, which must not hold a NUL (\u0000). */
static int string_value(struct catalog_json *r, const char *what)
{
	if (catalog_json_string(r, what) < 0)
		return -1;
	if (strlen(r->str) != r->str_len)
		return error_set(r->err, "%s contains a NUL character", what);
	return 0;
}

static char *decode_hex_name(struct catalog_json *r, const char *what)
{
	size_t n;
	char *name;

	if (string_value(r, what) < 0)
		return NULL;
	n = r->str_len;
	name = xmalloc(n / 2 + 1);
	if (n % 2 || n == 0 || hex_decode(r->str, (uint8_t *)name, n / 2) < 0 ||
	    memchr(name, '\0', n / 2)) {
		free(name);
		error_set(r->err, "%s is not valid hex", what);
		return NULL;
	}
	name[n / 2] = '\0';
	return name;
}

static int read_name(struct catalog_json *r, char **out, bool hex,
		     const char *what)
{
	char *name = hex ? decode_hex_name(r, what)
			 : string_value(r, what) < 0 ? NULL : xstrdup(r->str);

	if (!name)
		return -1;
	free(*out);
	*out = name;
	return 0;
}

static int read_time_pair(struct catalog_json *r, struct nstime *t,
			  const char *what)
{
	int64_t sec, nsec;
	int n1, n2, n3;

	/* A syntax error (a truncated file) keeps the reader's message; a
	 * well-formed array of the wrong length gets ours. */
	if (catalog_json_array_begin(r, what) < 0 ||
	    (n1 = catalog_json_array_next(r)) < 0)
		return -1;
	if (n1 == 0)
		goto shape;
	if (catalog_json_int(r, -1000000000000000LL, 1000000000000000LL, &sec,
			     what) < 0 ||
	    (n2 = catalog_json_array_next(r)) < 0)
		return -1;
	if (n2 == 0)
		goto shape;
	if (catalog_json_int(r, 0, 999999999, &nsec, what) < 0 ||
	    (n3 = catalog_json_array_next(r)) < 0)
		return -1;
	if (n3 != 0)
		goto shape;
	t->sec = sec;
	t->nsec = (int32_t)nsec;
	return 0;
shape:
	return error_set(r->err, "%s must be [seconds, nanoseconds]", what);
}

static int read_u32(struct catalog_json *r, uint32_t *out, const char *what)
{
	int64_t v;

	if (catalog_json_int(r, 0, UINT32_MAX, &v, what) < 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int read_type(struct catalog_json *r, struct tree_entry *e)
{
	enum entry_type type;

	if (string_value(r, "'type'") < 0)
		return -1;
	if (tree_type_parse(r->str, &type) < 0)
		return error_set(r->err, "unknown type '%s'", r->str);
	e->type = (uint8_t)type;
	return 0;
}

static int read_inode(struct catalog_json *r, struct tree_entry *e)
{
	int64_t n;

	if (string_value(r, "'inode'") < 0)
		return -1;
	if (parse_int64(r->str, 0, INT64_MAX, &n) < 0)
		return error_set(r->err, "'inode' must be a decimal number");
	e->ino = (uint64_t)n;
	return 0;
}

static int read_mode(struct catalog_json *r, struct tree_entry *e)
{
	char *end;
	unsigned long v;

	if (string_value(r, "'mode'") < 0)
		return -1;
	errno = 0;
	v = strtoul(r->str, &end, 8);
	if (errno || *end || !r->str_len || r->str[0] == '-' || v > 07777)
		return error_set(r->err, "'mode' must be octal permission "
				 "bits");
	e->mode = (uint32_t)v;
	return 0;
}

static int read_checksum(struct catalog_json *r, uint8_t out[HASH_SIZE],
			 const char *what)
{
	if (string_value(r, what) < 0)
		return -1;
	if (r->str_len != 2 * HASH_SIZE || hex_decode(r->str, out, HASH_SIZE))
		return error_set(r->err, "%s must be 64 hex digits", what);
	return 0;
}

static int read_size(struct catalog_json *r, uint64_t *out, const char *what)
{
	int64_t v;

	if (catalog_json_int(r, 0, INT64_MAX, &v, what) < 0)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

/* Extended attributes and ACLs, as attrs.h encodes them; "" is none. */
static int read_attrs(struct catalog_json *r, struct tree_entry *e)
{
	struct attrs_item *items;
	long n;

	if (string_value(r, "'attrs'") < 0)
		return -1;
	n = attrs_decode(r->str, &items);
	if (n < 0)
		return error_set(r->err, "'attrs' must be name=value pairs "
				 "in hex digits, separated by ','");
	attrs_items_free(items, n);
	free(e->attrs);
	e->attrs = n ? xstrdup(r->str) : NULL;
	return 0;
}

static int read_entry_field(struct catalog_json *r, int f, void *ctx)
{
	struct entry_state *st = ctx;
	struct tree_entry *e = st->e;

	switch (f) {
	case F_PATH:
	case F_PATH_HEX:
		/* A stored key is not ours to free: the field replaces it. */
		if (e->path_stored) {
			e->path = NULL;
			e->path_stored = false;
		}
		return read_name(r, &e->path, f == F_PATH_HEX,
				 f == F_PATH_HEX ? "'path_hex'" : "'path'");
	case F_TYPE: return read_type(r, e);
	case F_SIZE: return read_size(r, &e->size, "'size'");
	case F_MODIFIED_TIME:
		return catalog_json_double(r, &st->modified_time,
					   "'modified_time'");
	case F_MTIME: return read_time_pair(r, &e->mtime, "'mtime'");
	case F_CTIME: return read_time_pair(r, &e->ctime, "'ctime'");
	case F_INODE: return read_inode(r, e);
	case F_MODE: return read_mode(r, e);
	case F_UID: return read_u32(r, &e->uid, "'uid'");
	case F_GID: return read_u32(r, &e->gid, "'gid'");
	case F_CHECKSUM: return read_checksum(r, e->checksum, "'checksum'");
	case F_LINK: return read_name(r, &e->link_target, false,
				      "'link_target'");
	case F_LINK_HEX: return read_name(r, &e->link_target, true,
					  "'link_target_hex'");
	case F_RECHECK: {
		bool recheck;

		if (catalog_json_bool(r, &recheck, "'recheck'") < 0)
			return -1;
		e->recheck = recheck;
		return 0;
	}
	case F_ATTRS: return read_attrs(r, e);
	default: return catalog_json_skip(r);
	}
}

/* Only the float (as older tools wrote it) is close enough to restore, and
 * a mismatch only makes the next run hash the file again. */
static int mtime_from_float(struct entry_state *st, struct error *err)
{
	double t = st->modified_time;

	if (!(st->seen & 1u << F_MODIFIED_TIME) || fabs(t) > 1e15)
		return error_set(err, "missing or bad 'modified_time'");
	st->e->mtime.sec = (int64_t)floor(t);
	st->e->mtime.nsec = (int32_t)((t - floor(t)) * 1e9);
	if (st->e->mtime.nsec > 999999999)
		st->e->mtime.nsec = 999999999;
	return 0;
}

static int check_entry(struct entry_state *st, struct error *err)
{
	struct tree_entry *e = st->e;

	if (!e->path)
		return error_set(err, "missing 'path'");
	if (!tree_path_is_safe(e->path))
		return error_set(err, "path must be relative, without '..' "
				 "or empty parts");
	if (!(st->seen & 1u << F_MODE))
		e->mode = e->type == ENTRY_DIR ? 0755 : 0644;
	if (e->type == ENTRY_FILE && !(st->seen & 1u << F_SIZE))
		return error_set(err, "missing 'size'");
	if (e->type == ENTRY_FILE && !(st->seen & 1u << F_CHECKSUM))
		return error_set(err, "missing 'checksum'");
	if (e->type == ENTRY_SYMLINK && !e->link_target)
		return error_set(err, "missing 'link_target'");
	if (e->type != ENTRY_FILE)
		e->size = 0;
	if (e->type != ENTRY_SYMLINK) {
		free(e->link_target);
		e->link_target = NULL;
	}
	if (!(st->seen & 1u << F_MTIME))
		return mtime_from_float(st, err);
	return 0;
}

static int read_entry_fields(struct catalog_json *r, struct entry_state *st)
{
	return read_fields(r, "an entry", entry_fields, F_COUNT, &st->seen,
			   read_entry_field, st);
}

/* catalog_read_entry(); *fast says whether the record was laid out as incbak
 * writes it. */
static int read_entry_noting_layout(struct catalog_json *r, struct tree *t,
				    const char *key, const char *where,
				    bool *fast)
{
	struct tree_entry *e = tree_push(t);
	struct entry_state st = { .e = e };

	if (key) {
		e->path = tree_store_path(t, key);
		e->path_stored = true;
	}
	*fast = catalog_fastread_entry(r, t, &st, !key);
	if ((!*fast && read_entry_fields(r, &st) < 0) ||
	    check_entry(&st, r->err) < 0) {
		/* A syntax error's position says more than the entry. */
		if (str_starts(r->err->msg, "not valid JSON"))
			return -1;
		if (e->path)
			return error_prefix(r->err, "%s '%.400s'", where,
					    e->path);
		return error_prefix(r->err, "%s entry %zu", where, t->len);
	}
	return 0;
}

/* One entry; `key` (file_checksums) or its "path" field names it. */
int catalog_read_entry(struct catalog_json *r, struct tree *t, const char *key,
		       const char *where)
{
	bool fast;

	return read_entry_noting_layout(r, t, key, where, &fast);
}

/* Whether the file record just read, keyed `key` (len bytes), can be
 * found again by its path and copied whole: laid out as incbak writes
 * records, on a line of its own, its key the path itself (no escapes). */
static bool record_is_copyable(const struct catalog_json *r, const char *key,
			       size_t len)
{
	return r->element > r->start && r->element[-1] == '\n' &&
	       r->element[0] == '"' && r->element + len + 4 <= r->p &&
	       !memcmp(r->element + 1, key, len) &&
	       !memcmp(r->element + 1 + len, "\":{", 3) &&
	       (r->p == r->end || *r->p == ',' || *r->p == '\n');
}

int catalog_check_duplicates(const struct tree *t, struct error *err)
{
	ptrdiff_t dup = tree_find_duplicate(t);

	if (dup >= 0)
		return error_set(err, "path '%s' appears twice",
				 t->entries[dup].path);
	return 0;
}

/* With mark_records, the entries whose records a save may copy are
 * marked (tree_entry.same_record). */
static int read_file_checksums(struct catalog_json *r, struct tree *files,
			       bool mark_records)
{
	int more;

	if (catalog_json_object_begin(r, "'file_checksums'") < 0)
		return -1;
	while ((more = catalog_json_object_next(r)) > 0) {
		char *key;
		size_t len = r->str_len;
		bool fast;
		int rc;

		if (strlen(r->str) != len)
			return error_set(r->err, "file_checksums: a path "
					 "contains a NUL character");
		key = xstrdup(r->str);
		rc = read_entry_noting_layout(r, files, key, "file_checksums",
					      &fast);
		if (rc == 0 && mark_records && fast)
			files->entries[files->len - 1].same_record =
				record_is_copyable(r, key, len);
		free(key);
		if (rc < 0)
			return -1;
	}
	if (more < 0)
		return -1;
	tree_sort(files);
	return catalog_check_duplicates(files, r->err);
}

static int read_files_array(struct catalog_json *r, struct tree *files)
{
	int more;

	if (catalog_json_array_begin(r, "'files'") < 0)
		return -1;
	while ((more = catalog_json_array_next(r)) > 0)
		if (catalog_read_entry(r, files, NULL, "files") < 0)
			return -1;
	if (more < 0)
		return -1;
	tree_sort(files);
	return catalog_check_duplicates(files, r->err);
}

static int read_backup_id(struct catalog_json *r, char **out, const char *what)
{
	if (string_value(r, what) < 0)
		return -1;
	if (!catalog_is_backup_id(r->str))
		return error_set(r->err, "%s is not a backup id "
				 "(YYYY-MM-DD_HH-MM-SS)", what);
	free(*out);
	*out = xstrdup(r->str);
	return 0;
}

static const char *const content_fields[C_COUNT] = {
	"size", "member", "member_hex", "backup_id", "last_used", "frame",
	"skip",
};

static int read_id_into(struct catalog_json *r, char out[BACKUP_ID_SIZE],
			const char *what)
{
	if (string_value(r, what) < 0)
		return -1;
	if (!catalog_is_backup_id(r->str))
		return error_set(r->err, "%s is not a backup id "
				 "(YYYY-MM-DD_HH-MM-SS)", what);
	memcpy(out, r->str, BACKUP_ID_SIZE);
	return 0;
}

static int read_content_field(struct catalog_json *r, int f, void *ctx)
{
	struct content_state *c = ctx;

	switch (f) {
	case C_SIZE: return read_size(r, &c->size, "'size'");
	case C_MEMBER: return read_name(r, &c->member, false, "'member'");
	case C_MEMBER_HEX: return read_name(r, &c->member, true,
					    "'member_hex'");
	case C_HOLDER: return read_id_into(r, c->holder, "'backup_id'");
	case C_LAST: return read_id_into(r, c->last, "'last_used'");
	case C_FRAME: return read_size(r, &c->frame, "'frame'");
	case C_SKIP: return read_size(r, &c->skip, "'skip'");
	default: return catalog_json_skip(r);
	}
}

static int read_content_fields(struct catalog_json *r, struct content_state *c,
			       bool with_owner)
{
	if (!catalog_fastread_content(r, c) &&
	    read_fields(r, "a content", content_fields, C_COUNT, &c->seen,
			read_content_field, c) < 0)
		return -1;
	if (!(c->seen & 1u << C_SIZE) || !c->member)
		return error_set(r->err, "missing 'size' or 'member'");
	if (!tree_path_is_safe(c->member))
		return error_set(r->err, "unsafe member name");
	if (with_owner && (!(c->seen & 1u << C_HOLDER) ||
			   !(c->seen & 1u << C_LAST)))
		return error_set(r->err, "missing 'backup_id' or 'last_used'");
	/* Both or neither: older files have no position at all. */
	if (!(c->seen & 1u << C_FRAME) != !(c->seen & 1u << C_SKIP))
		return error_set(r->err, "'frame' and 'skip' go together");
	return 0;
}

/* Which contents a reader keeps (NULL: every one). */

int catalog_cmp_checksums(const void *a, const void *b)
{
	return memcmp(a, b, HASH_SIZE);
}

static bool filter_keeps(const struct content_filter *f, const char *key,
			 size_t len)
{
	uint8_t sum[HASH_SIZE];

	if (!f)
		return true;
	/* A bad key is left to the full reader; here it is not asked for. */
	if (len != 2 * HASH_SIZE || hex_decode(key, sum, HASH_SIZE))
		return false;
	return f->nsums && bsearch(sum, f->sums, f->nsums, HASH_SIZE,
				   catalog_cmp_checksums);
}

/* A record a reader leaves out: skimmed where allowed and laid out for
 * it, else checked as JSON. */
static int leave_record(struct catalog_json *r, bool skim)
{
	if (skim && catalog_json_skim_record(r))
		return 0;
	return catalog_json_skip(r);
}

int catalog_read_content(struct catalog_json *r, struct content_index *idx,
			 bool with_owner)
{
	struct content_state c = {0};
	struct content *item;
	uint8_t sum[HASH_SIZE];
	char key[HASH_HEX_SIZE + 8];
	size_t keylen = r->str_len < sizeof(key) - 1 ? r->str_len :
			sizeof(key) - 1;
	int rc = -1;

	/* The key, for messages: the fields' strings replace r->str. */
	memcpy(key, r->str, keylen);
	key[keylen] = '\0';
	if (r->str_len != 2 * HASH_SIZE || hex_decode(r->str, sum, HASH_SIZE)) {
		error_set(r->err, "key must be a checksum");
		goto out;
	}
	if (idx && catalog_content_find(idx, sum)) {
		error_set(r->err, "appears twice");
		goto out;
	}
	if (read_content_fields(r, &c, with_owner) < 0)
		goto out;
	rc = 0;
	if (!idx)
		goto out;
	item = catalog_content_insert(idx, sum, c.size, c.holder, c.member,
				      c.last);
	item->has_frame = (c.seen & 1u << C_FRAME) != 0;
	item->frame_offset = c.frame;
	item->frame_skip = c.skip;
out:
	if (rc < 0)
		error_prefix(r->err, "content '%s'", key);
	free(c.member);
	return rc;
}

/* An object of records, all left out. */
static int leave_records(struct catalog_json *r, bool skim, const char *what)
{
	int more;

	if (catalog_json_object_begin(r, what) < 0)
		return -1;
	if (skim)
		catalog_json_skim_records(r, true);
	while ((more = catalog_json_object_next(r)) > 0)
		if (leave_record(r, skim) < 0)
			return -1;
	return more;
}

/* With idx NULL, each record is checked and dropped (see
 * catalog_load_parts); records `only` does not keep are left out. */
int catalog_read_contents(struct catalog_json *r, struct content_index *idx,
			  bool with_owner, const struct content_filter *only,
			  const char *what)
{
	int more;

	if (only && !only->nsums)
		return leave_records(r, only->skim, what);
	if (catalog_json_object_begin(r, what) < 0)
		return -1;
	while ((more = catalog_json_object_next(r)) > 0) {
		int rc = filter_keeps(only, r->str, r->str_len) ?
			 catalog_read_content(r, idx, with_owner) :
			 leave_record(r, only->skim);

		if (rc < 0)
			return -1;
	}
	return more;
}

enum history_field { H_DATE, H_ID, H_ARCHIVE, H_ADDED, H_MODIFIED,
		     H_DELETED, H_BACKED_UP, H_STORED, H_TOTAL, H_BYTES,
		     H_PARENT, H_COUNT };

static const char *const history_fields[H_COUNT] = {
	"date", "backup_id", "archive", "files_added", "files_modified",
	"files_deleted", "files_backed_up", "files_stored", "total_files",
	"bytes_written", "parent",
};

static int read_history_field(struct catalog_json *r, int f, void *ctx)
{
	struct history_entry *h = ctx;
	int64_t *counts[H_COUNT] = {
		[H_ADDED] = &h->files_added, [H_MODIFIED] = &h->files_modified,
		[H_DELETED] = &h->files_deleted,
		[H_BACKED_UP] = &h->files_backed_up,
		[H_STORED] = &h->files_stored, [H_TOTAL] = &h->total_files,
		[H_BYTES] = &h->bytes_written,
	};

	switch (f) {
	case H_DATE: return read_name(r, &h->date, false, "'date'");
	case H_ID: return read_backup_id(r, &h->backup_id, "'backup_id'");
	case H_ARCHIVE: return read_name(r, &h->archive, false, "'archive'");
	case H_PARENT: return read_name(r, &h->parent, false, "'parent'");
	case -1: return catalog_json_skip(r);
	default:
		return catalog_json_int(r, 0, INT64_MAX, counts[f],
					history_fields[f]);
	}
}

static bool is_file_name(const char *name)
{
	return *name && !strchr(name, '/') && strcmp(name, ".") &&
	       strcmp(name, "..");
}

static int check_history_entry(const struct metadata *md,
			       const struct history_entry *h, struct error *err)
{
	if (!h->backup_id || !h->date || !h->archive)
		return error_set(err, "missing 'backup_id', 'date' or "
				 "'archive'");
	if (!is_file_name(h->archive))
		return error_set(err, "archive '%s' must be a file name",
				 h->archive);
	if (h->parent && !is_file_name(h->parent))
		return error_set(err, "parent '%s' must be a file name",
				 h->parent);
	if (md->nhistory > 1 &&
	    strcmp(md->history[md->nhistory - 2].backup_id, h->backup_id) >= 0)
		return error_set(err, "'%s' is not newer than the entry "
				 "before it", h->backup_id);
	return 0;
}

static int read_history_entry(struct catalog_json *r, struct metadata *md)
{
	struct history_entry *h = catalog_add_history(md);
	unsigned seen = 0;

	if (read_fields(r, "an entry", history_fields, H_COUNT, &seen,
			read_history_field, h) < 0)
		return -1;
	return check_history_entry(md, h, r->err);
}

static int read_history(struct catalog_json *r, struct metadata *md)
{
	int more;

	if (catalog_json_array_begin(r, "'backup_history'") < 0)
		return -1;
	while ((more = catalog_json_array_next(r)) > 0)
		if (read_history_entry(r, md) < 0)
			return error_prefix(r->err, "backup_history");
	return more;
}

/* An array of {"path": ...} or {"path_hex": ...}. */
int catalog_read_path_list(struct catalog_json *r, struct strlist *out,
			   const char *what)
{
	int more;

	if (catalog_json_array_begin(r, what) < 0)
		return -1;
	while ((more = catalog_json_array_next(r)) > 0) {
		char *path = NULL;
		int inner;

		if (catalog_json_object_begin(r, what) < 0)
			return -1;
		while ((inner = catalog_json_object_next(r)) > 0) {
			bool hex = !strcmp(r->str, "path_hex");

			if ((hex || !strcmp(r->str, "path")) ?
			    read_name(r, &path, hex, what) < 0 :
			    catalog_json_skip(r) < 0) {
				free(path);
				return -1;
			}
		}
		if (inner < 0 || !path) {
			free(path);
			return inner < 0 ? -1 : error_set(r->err, "%s: an "
							  "entry has no path",
							  what);
		}
		strlist_push_owned(out, path);
	}
	return more;
}

/* Top-level keys: each at most once, unknown ones skipped (a newer incbak
 * may add some). */
struct top_reader {
	const char *const *keys;
	int nkeys;
	int (*read)(struct catalog_json *r, int key, void *ctx);
	void *ctx;
};

static int read_top(struct catalog_json *r, const struct top_reader *t)
{
	unsigned seen = 0;

	if (read_fields(r, "the top level", t->keys, t->nkeys, &seen, t->read,
			t->ctx) < 0)
		return -1;
	return catalog_json_finish(r) < 0 ? -1 : (int)seen;
}

static int read_version(struct catalog_json *r, int newest)
{
	int64_t version;

	if (catalog_json_int(r, 0, 1000000, &version, "'format_version'") < 0)
		return -1;
	if (version > newest)
		return error_set(r->err, "format_version %lld is newer than "
				 "this incbak understands (%d)",
				 (long long)version, newest);
	return 0;
}

enum { M_VERSION, M_DATE, M_FILES, M_CONTENTS, M_HISTORY, M_SPECIALS,
       M_TREE_ID, M_SOURCE, M_SOURCE_HEX, M_DEST_ID, M_COUNT };

static const char *const metadata_keys[M_COUNT] = {
	"format_version", "last_backup_date", "file_checksums", "contents",
	"backup_history", "reported_specials", "tree_backup_id",
	"source", "source_hex", "destination_id",
};

/* "source", or "source_hex" for one that is not UTF-8 (written after it,
 * so it wins). */
static int read_source(struct catalog_json *r, char **out, bool hex)
{
	if (read_name(r, out, hex, "'source'") < 0)
		return -1;
	if ((*out)[0] != '/')
		return error_set(r->err, "source '%s' is not an absolute path",
				 *out);
	return 0;
}

static int read_dest_id(struct catalog_json *r, char **out)
{
	if (string_value(r, "'destination_id'") < 0)
		return -1;
	if (strlen(r->str) != DEST_ID_HEX ||
	    strspn(r->str, "0123456789abcdef") != DEST_ID_HEX)
		return error_set(r->err, "'destination_id' must be %d "
				 "lower-case hex digits", DEST_ID_HEX);
	free(*out);
	*out = xstrdup(r->str);
	return 0;
}

struct metadata_reader {
	struct metadata *md;
	unsigned parts;
	const struct content_filter *only; /* contents kept; NULL: as parts
					      says */
	bool contents_read;                /* every one of them */
};

/* Left out, with METADATA_SKIM. */
static const struct content_filter no_contents = { NULL, 0, true };

static int read_metadata_key(struct catalog_json *r, int key, void *ctx)
{
	struct metadata_reader *mr = ctx;
	struct metadata *md = mr->md;

	switch (key) {
	case M_VERSION: return read_version(r, METADATA_FORMAT_VERSION);
	case M_TREE_ID:
		return read_backup_id(r, &md->tree_backup_id,
				      "'tree_backup_id'");
	case M_SOURCE:
	case M_SOURCE_HEX:
		return read_source(r, &md->source, key == M_SOURCE_HEX);
	case M_DEST_ID:
		return read_dest_id(r, &md->dest_id);
	case M_DATE:
		if (catalog_json_peek(r) == JSON_NULL)
			return catalog_json_null(r);
		return read_name(r, &md->last_backup_date, false,
				 "'last_backup_date'");
	case M_FILES:
		if (mr->parts & METADATA_FILES) {
			md->origin.files_from = (size_t)(r->p - r->start);
			if (read_file_checksums(r, &md->files, mr->parts &
						METADATA_RECORDS) < 0)
				return -1;
			md->origin.files_to = (size_t)(r->p - r->start);
			return 0;
		}
		if (mr->parts & METADATA_SKIM)
			return leave_records(r, true, "'file_checksums'");
		return catalog_json_skip(r);
	case M_CONTENTS: {
		size_t from = (size_t)(r->p - r->start);
		/* What follows the contents (the history) is small: the
		 * rest of the file says how big they are. */
		bool all = (mr->parts & METADATA_CONTENTS) ||
			   ((mr->parts & METADATA_SMALL_CONTENTS) &&
			    !mr->only && (size_t)(r->end - r->p) <=
			    METADATA_SMALL_CONTENTS_SIZE);
		const struct content_filter *only = mr->only;
		struct content_index *into =
			all || mr->only ? &md->contents : NULL;

		if (!all && !only && (mr->parts & METADATA_SKIM))
			only = &no_contents;
		if (catalog_read_contents(r, into, true, all ? NULL : only,
					  "'contents'") < 0)
			return -1;
		md->origin.contents_from = from;
		md->origin.contents_to = (size_t)(r->p - r->start);
		mr->contents_read = all;
		return 0;
	}
	case M_HISTORY: return read_history(r, md);
	default:
		return catalog_read_path_list(r, &md->reported_specials,
					      "'reported_specials'");
	}
}

int catalog_parse_text(const char *text, size_t len, bool mapped,
		       unsigned parts, const struct content_filter *only,
		       struct metadata *md, struct error *err)
{
	struct catalog_json r;
	struct metadata_reader mr = { md, parts, only, false };
	struct top_reader t = { metadata_keys, M_COUNT, read_metadata_key,
				&mr };
	int seen;

	catalog_json_init(&r, text, len, mapped, err);
	seen = read_top(&r, &t);
	catalog_json_release(&r);
	if (seen >= 0 && !(seen & 1 << M_FILES))
		seen = error_set(err, "missing 'file_checksums'");
	if (seen < 0) {
		catalog_release(md);
		catalog_init(md);
		return -1;
	}
	md->contents_pending = !(parts & METADATA_CONTENTS) &&
			       !mr.contents_read;
	return 0;
}

int catalog_parse(const char *text, size_t len, struct metadata *md,
		  struct error *err)
{
	return catalog_parse_text(text, len, false, METADATA_ALL, NULL, md,
				  err);
}

enum { N_VERSION, N_ID, N_DATE, N_ADDED, N_MODIFIED, N_DELETED, N_FILES,
       N_DELETED_LIST, N_HOLDS, N_PARENT, N_SOURCE, N_SOURCE_HEX, N_DEST_ID,
       N_COUNT };

static const char *const manifest_keys[N_COUNT] = {
	"format_version", "backup_id", "date", "files_added",
	"files_modified", "files_deleted", "files", "deleted", "holds",
	"parent", "source", "source_hex", "destination_id",
};

static int read_manifest_key(struct catalog_json *r, int key, void *ctx)
{
	struct manifest *m = ctx;

	switch (key) {
	case N_VERSION: return read_version(r, MANIFEST_FORMAT_VERSION);
	case N_PARENT:
		if (read_name(r, &m->parent, false, "'parent'") < 0)
			return -1;
		if (!is_file_name(m->parent))
			return error_set(r->err, "parent '%s' must be a file "
					 "name", m->parent);
		m->delta = true;
		return 0;
	case N_ID: return read_backup_id(r, &m->backup_id, "'backup_id'");
	case N_SOURCE:
	case N_SOURCE_HEX:
		return read_source(r, &m->source, key == N_SOURCE_HEX);
	case N_DEST_ID: return read_dest_id(r, &m->dest_id);
	case N_DATE: return read_name(r, &m->date, false, "'date'");
	case N_ADDED:
		return catalog_json_int(r, 0, INT64_MAX, &m->files_added,
					"'files_added'");
	case N_MODIFIED:
		return catalog_json_int(r, 0, INT64_MAX, &m->files_modified,
					"'files_modified'");
	case N_DELETED:
		return catalog_json_int(r, 0, INT64_MAX, &m->files_deleted,
					"'files_deleted'");
	case N_FILES:
		return read_files_array(r, &m->files);
	case N_DELETED_LIST:
		return catalog_read_path_list(r, &m->deleted, "'deleted'");
	default:
		return catalog_read_contents(r, &m->holds, false, NULL,
					     "'holds'");
	}
}

int catalog_manifest_parse(const char *text, size_t len, struct manifest *m,
			   struct error *err)
{
	struct catalog_json r;
	struct top_reader t = { manifest_keys, N_COUNT, read_manifest_key, m };
	int seen;

	catalog_json_init(&r, text, len, false, err);
	seen = read_top(&r, &t);
	catalog_json_release(&r);
	if (seen >= 0 && (!m->backup_id || !m->date))
		seen = error_set(err, "manifest: missing 'backup_id' or "
				 "'date'");
	if (seen < 0) {
		catalog_manifest_release(m);
		catalog_manifest_init(m);
		return -1;
	}
	return 0;
}
