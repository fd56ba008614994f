/* backup_metadata.json and archive manifests: JSON <-> struct metadata /
 * struct manifest. Written by hand one record per line (so the file diffs and
 * greps well); read with cJSON and validated field by field, because a
 * hand-edited or damaged file must give a clear error, never a crash or a
 * silently wrong state. */
#include "metadata.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fsutil.h"

#define METADATA_MAX_SIZE ((size_t)4 << 30)
#define MAX_EXACT_INT 9007199254740992.0 /* 2^53: doubles are exact below */

/* ---- writing ---- */

static void json_string(struct buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	buf_append(out, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };
			buf_append(out, esc, 2);
		} else if (c < 0x20) {
			char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4],
					hex[c & 15] };
			buf_append(out, esc, 6);
		} else {
			buf_append(out, &s[i], 1);
		}
	}
	buf_append(out, "\"", 1);
}

/* JSON strings must be UTF-8; a name that is not gets a readable lossy form
 * (invalid bytes as \xNN text) and its exact bytes in a `<field>_hex`. */
static void json_name(struct buf *out, const char *field, const char *s,
		      bool as_key)
{
	size_t len = strlen(s);
	bool valid = utf8_valid(s, len);

	if (!as_key)
		buf_printf(out, "\"%s\":", field);
	if (valid) {
		json_string(out, s, len);
	} else {
		struct buf lossy = {0};

		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)s[i];

			if (c < 0x80)
				buf_append(&lossy, &s[i], 1);
			else
				buf_printf(&lossy, "\\x%02X", c);
		}
		json_string(out, lossy.data, lossy.len);
		buf_release(&lossy);
	}
	if (as_key)
		buf_puts(out, ":{");
	if (!valid) {
		char *hex = xmalloc(2 * len + 1);

		hex_encode((const uint8_t *)s, len, hex);
		buf_printf(out, "%s\"%s_hex\":\"%s\"", as_key ? "" : ",",
			   field, hex);
		if (as_key)
			buf_puts(out, ",");
		free(hex);
	}
}

/* Seconds with a fraction, exact in text: -1.25 s is sec -2, nsec 750e6. */
static void format_seconds(struct buf *out, struct nstime t)
{
	if (t.sec < 0 && t.nsec > 0)
		buf_printf(out, "-%lld.%09d", (long long)(-(t.sec + 1)),
			   1000000000 - t.nsec);
	else
		buf_printf(out, "%lld.%09d", (long long)t.sec, t.nsec);
}

static void format_entry_fields(struct buf *out, const struct tree_entry *e,
				const char *holder)
{
	char sum[HASH_HEX_SIZE];

	buf_printf(out, "\"type\":\"%s\",\"size\":%llu,\"modified_time\":",
		   tree_type_name(e->type), (unsigned long long)e->size);
	format_seconds(out, e->mtime);
	buf_printf(out, ",\"mtime\":[%lld,%d],"
		   "\"ctime\":[%lld,%d],\"inode\":\"%llu\",\"mode\":\"%04o\","
		   "\"uid\":%u,\"gid\":%u",
		   (long long)e->mtime.sec, e->mtime.nsec,
		   (long long)e->ctime.sec, e->ctime.nsec,
		   (unsigned long long)e->ino, e->mode, e->uid, e->gid);
	if (e->type == ENTRY_FILE) {
		hex_encode(e->checksum, HASH_SIZE, sum);
		buf_printf(out, ",\"checksum\":\"%s\"", sum);
		if (holder)
			buf_printf(out, ",\"backup_id\":\"%s\"", holder);
	}
	if (e->type == ENTRY_SYMLINK) {
		buf_puts(out, ",");
		json_name(out, "link_target", e->link_target, false);
	}
	if (e->recheck)
		buf_puts(out, ",\"recheck\":true");
}

static void format_content(struct buf *out, const struct content *c,
			   bool with_owner)
{
	char sum[HASH_HEX_SIZE];

	hex_encode(c->checksum, HASH_SIZE, sum);
	buf_printf(out, "\"%s\":{\"size\":%llu,", sum,
		   (unsigned long long)c->size);
	json_name(out, "member", c->member, false);
	if (with_owner)
		buf_printf(out, ",\"backup_id\":\"%s\",\"last_used\":\"%s\"",
			   c->holder, c->last_used);
	buf_puts(out, "}");
}

static void format_contents(struct buf *out, const struct content_index *idx,
			    bool with_owner)
{
	const struct content **sorted = content_sorted(idx);

	for (size_t i = 0; i < idx->len; i++) {
		buf_puts(out, i ? ",\n" : "\n");
		format_content(out, sorted[i], with_owner);
	}
	free(sorted);
}

static void format_history(struct buf *out, const struct history_entry *h)
{
	/* The parser takes any string for date and archive: escape them. */
	buf_puts(out, "{\"date\":");
	json_string(out, h->date, strlen(h->date));
	buf_printf(out, ",\"backup_id\":\"%s\",\"archive\":", h->backup_id);
	json_string(out, h->archive, strlen(h->archive));
	buf_printf(out, ",\"files_backed_up\":%lld,"
		   "\"files_added\":%lld,\"files_modified\":%lld,"
		   "\"files_deleted\":%lld,\"files_stored\":%lld,"
		   "\"total_files\":%lld,\"bytes_written\":%lld}",
		   (long long)h->files_backed_up, (long long)h->files_added,
		   (long long)h->files_modified, (long long)h->files_deleted,
		   (long long)h->files_stored, (long long)h->total_files,
		   (long long)h->bytes_written);
}

void metadata_format(const struct metadata *md, struct buf *out)
{
	buf_printf(out, "{\n\"format_version\": %d,\n\"last_backup_date\": ",
		   METADATA_FORMAT_VERSION);
	if (md->last_backup_date)
		json_string(out, md->last_backup_date,
			    strlen(md->last_backup_date));
	else
		buf_puts(out, "null");
	buf_puts(out, ",\n\"file_checksums\": {");
	for (size_t i = 0; i < md->files.len; i++) {
		const struct tree_entry *e = &md->files.entries[i];
		const struct content *c = e->type == ENTRY_FILE ?
			content_find(&md->contents, e->checksum) : NULL;

		buf_puts(out, i ? ",\n" : "\n");
		json_name(out, "path", e->path, true);
		format_entry_fields(out, e, c ? c->holder : NULL);
		buf_puts(out, "}");
	}
	buf_puts(out, "\n},\n\"contents\": {");
	format_contents(out, &md->contents, true);
	buf_puts(out, "\n},\n\"backup_history\": [");
	for (size_t i = 0; i < md->nhistory; i++) {
		buf_puts(out, i ? ",\n" : "\n");
		format_history(out, &md->history[i]);
	}
	buf_puts(out, "\n],\n\"reported_specials\": [");
	for (size_t i = 0; i < md->reported_specials.len; i++) {
		buf_puts(out, i ? ",\n{" : "\n{");
		json_name(out, "path", md->reported_specials.items[i], false);
		buf_puts(out, "}");
	}
	buf_puts(out, "\n]\n}\n");
}

void manifest_format(const struct manifest *m, struct buf *out)
{
	buf_printf(out, "{\n\"format_version\": %d,\n\"backup_id\": \"%s\","
		   "\n\"date\": ", METADATA_FORMAT_VERSION, m->backup_id);
	json_string(out, m->date, strlen(m->date));
	buf_printf(out, ",\n\"files_added\": %lld,"
		   "\n\"files_modified\": %lld,\n\"files_deleted\": %lld,"
		   "\n\"files\": [",
		   (long long)m->files_added, (long long)m->files_modified,
		   (long long)m->files_deleted);
	for (size_t i = 0; i < m->files.len; i++) {
		buf_puts(out, i ? ",\n{" : "\n{");
		json_name(out, "path", m->files.entries[i].path, false);
		buf_puts(out, ",");
		format_entry_fields(out, &m->files.entries[i], NULL);
		buf_puts(out, "}");
	}
	buf_puts(out, "\n],\n\"deleted\": [");
	for (size_t i = 0; i < m->deleted.len; i++) {
		buf_puts(out, i ? ",\n{" : "\n{");
		json_name(out, "path", m->deleted.items[i], false);
		buf_puts(out, "}");
	}
	buf_puts(out, "\n],\n\"holds\": {");
	format_contents(out, &m->holds, false);
	buf_puts(out, "\n}\n}\n");
}

/* ---- reading ---- */

static void error_position(struct error *err, const char *text, size_t len,
			   const char *at)
{
	size_t line = 1, col = 1;

	if (!at || at < text || at > text + len)
		at = text + len;
	for (const char *p = text; p < at; p++) {
		if (*p == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	error_set(err, "not valid JSON at line %zu, column %zu", line, col);
}

static cJSON *parse_json(const char *text, size_t len, struct error *err)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);

	if (!root) {
		error_position(err, text, len, end);
		return NULL;
	}
	while (end < text + len && (*end == ' ' || *end == '\n' ||
				    *end == '\r' || *end == '\t' || !*end))
		end++;
	if (end != text + len) {
		error_position(err, text, len, end);
		cJSON_Delete(root);
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		error_set(err, "top level is not a JSON object");
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

static int get_int(const cJSON *obj, const char *key, double min, double max,
		   bool required, int64_t *out, const char *what,
		   struct error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	double d;

	if (!v) {
		if (required)
			return error_set(err, "%s: missing '%s'", what, key);
		return 0;
	}
	d = v->valuedouble;
	if (!cJSON_IsNumber(v) || d != floor(d) || d < min || d > max)
		return error_set(err, "%s: '%s' must be an integer from %.0f "
				 "to %.0f", what, key, min, max);
	*out = (int64_t)d;
	return 0;
}

static const char *get_string(const cJSON *obj, const char *key,
			      bool required, const char *what,
			      struct error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!v) {
		if (required)
			error_set(err, "%s: missing '%s'", what, key);
		else
			err->msg[0] = '\0';
		return NULL;
	}
	if (!cJSON_IsString(v) || !v->valuestring) {
		error_set(err, "%s: '%s' must be a string", what, key);
		return NULL;
	}
	return v->valuestring;
}

/* Reads a name stored by json_name(): `<field>_hex` wins when present. */
static char *get_name(const cJSON *obj, const char *field,
		      const char *fallback, const char *what,
		      struct error *err)
{
	char hex_key[64];
	const char *hex, *plain;
	size_t n;
	char *name;

	snprintf(hex_key, sizeof(hex_key), "%s_hex", field);
	hex = get_string(obj, hex_key, false, what, err);
	if (!hex && err->msg[0])
		return NULL;
	if (!hex) {
		plain = fallback ? fallback
				 : get_string(obj, field, true, what, err);
		return plain ? xstrdup(plain) : NULL;
	}
	n = strlen(hex);
	name = xmalloc(n / 2 + 1);
	if (n % 2 || hex_decode(hex, (uint8_t *)name, n / 2) < 0 ||
	    memchr(name, '\0', n / 2)) {
		free(name);
		error_set(err, "%s: '%s' is not valid hex", what, hex_key);
		return NULL;
	}
	name[n / 2] = '\0';
	return name;
}

static int get_time_pair(const cJSON *obj, const char *key,
			 struct nstime *out, const char *what,
			 struct error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	const cJSON *s, *ns;

	if (!v)
		return 1;
	s = cJSON_GetArrayItem(v, 0);
	ns = cJSON_GetArrayItem(v, 1);
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2 ||
	    !cJSON_IsNumber(s) || !cJSON_IsNumber(ns) ||
	    s->valuedouble != floor(s->valuedouble) ||
	    fabs(s->valuedouble) > 1e15 ||
	    ns->valuedouble != floor(ns->valuedouble) ||
	    ns->valuedouble < 0 || ns->valuedouble > 999999999)
		return error_set(err, "%s: '%s' must be [seconds, "
				 "nanoseconds]", what, key);
	out->sec = (int64_t)s->valuedouble;
	out->nsec = (int32_t)ns->valuedouble;
	return 0;
}

static int get_mtime(const cJSON *obj, struct tree_entry *e, const char *what,
		     struct error *err)
{
	const cJSON *mt;
	int rc = get_time_pair(obj, "mtime", &e->mtime, what, err);

	if (rc <= 0)
		return rc;
	/* Only the float (as older tools wrote it): close enough to restore,
	 * and a mismatch only makes the next run hash the file again. */
	mt = cJSON_GetObjectItemCaseSensitive(obj, "modified_time");
	if (!cJSON_IsNumber(mt) || !isfinite(mt->valuedouble) ||
	    fabs(mt->valuedouble) > 1e15)
		return error_set(err, "%s: missing or bad 'modified_time'",
				 what);
	e->mtime.sec = (int64_t)floor(mt->valuedouble);
	e->mtime.nsec = (int32_t)((mt->valuedouble - floor(mt->valuedouble)) *
				  1e9);
	if (e->mtime.nsec > 999999999)
		e->mtime.nsec = 999999999;
	return 0;
}

static int parse_mode_field(const cJSON *obj, struct tree_entry *e,
			    const char *what, struct error *err)
{
	const char *mode = get_string(obj, "mode", false, what, err);
	char *end;
	unsigned long v;

	if (!mode) {
		if (err->msg[0])
			return -1;
		e->mode = e->type == ENTRY_DIR ? 0755 : 0644;
		return 0;
	}
	errno = 0;
	v = strtoul(mode, &end, 8);
	if (errno || *end || !*mode || v > 07777)
		return error_set(err, "%s: 'mode' must be octal permission "
				 "bits", what);
	e->mode = (uint32_t)v;
	return 0;
}

static int parse_checksum(const cJSON *obj, uint8_t out[HASH_SIZE],
			  const char *what, struct error *err)
{
	const char *sum = get_string(obj, "checksum", true, what, err);

	if (!sum)
		return -1;
	if (strlen(sum) != 2 * HASH_SIZE || hex_decode(sum, out, HASH_SIZE))
		return error_set(err, "%s: 'checksum' must be 64 hex digits",
				 what);
	return 0;
}

static int parse_entry_stat(const cJSON *obj, struct tree_entry *e,
			    const char *what, struct error *err)
{
	int64_t v = 0;
	const char *ino;

	if (get_int(obj, "size", 0, MAX_EXACT_INT, e->type == ENTRY_FILE,
		    &v, what, err) < 0)
		return -1;
	e->size = (uint64_t)v;
	v = 0;
	if (get_int(obj, "uid", 0, 4294967295.0, false, &v, what, err) < 0)
		return -1;
	e->uid = (uint32_t)v;
	v = 0;
	if (get_int(obj, "gid", 0, 4294967295.0, false, &v, what, err) < 0)
		return -1;
	e->gid = (uint32_t)v;
	if (get_mtime(obj, e, what, err) < 0 ||
	    get_time_pair(obj, "ctime", &e->ctime, what, err) < 0)
		return -1;
	ino = get_string(obj, "inode", false, what, err);
	if (!ino && err->msg[0])
		return -1;
	if (ino) {
		int64_t n;

		if (parse_int64(ino, 0, INT64_MAX, &n) < 0)
			return error_set(err, "%s: 'inode' must be a decimal "
					 "number", what);
		e->ino = (uint64_t)n;
	}
	return 0;
}

/* Fills e from a record; the path is already set. */
static int parse_entry(const cJSON *obj, struct tree_entry *e,
		       struct error *err)
{
	char what[512];
	const char *type;
	const cJSON *recheck;

	snprintf(what, sizeof(what), "entry '%.400s'", e->path);
	if (!cJSON_IsObject(obj))
		return error_set(err, "%s: not an object", what);
	if (!tree_path_is_safe(e->path))
		return error_set(err, "%s: path must be relative, without "
				 "'..' or empty parts", what);
	type = get_string(obj, "type", false, what, err);
	if (!type && err->msg[0])
		return -1;
	if (type && tree_type_parse(type, &e->type) < 0)
		return error_set(err, "%s: unknown type '%s'", what, type);
	if (parse_entry_stat(obj, e, what, err) < 0 ||
	    parse_mode_field(obj, e, what, err) < 0)
		return -1;
	if (e->type == ENTRY_FILE && parse_checksum(obj, e->checksum, what,
						    err) < 0)
		return -1;
	if (e->type == ENTRY_SYMLINK) {
		e->link_target = get_name(obj, "link_target", NULL, what, err);
		if (!e->link_target)
			return -1;
	}
	recheck = cJSON_GetObjectItemCaseSensitive(obj, "recheck");
	e->recheck = cJSON_IsTrue(recheck);
	return 0;
}

static int check_duplicates(const struct tree *t, struct error *err)
{
	ptrdiff_t dup = tree_find_duplicate(t);

	if (dup >= 0)
		return error_set(err, "path '%s' appears twice",
				 t->entries[dup].path);
	return 0;
}

static int parse_file_checksums(const cJSON *obj, struct tree *files,
				struct error *err)
{
	const cJSON *item;

	if (!cJSON_IsObject(obj))
		return error_set(err, "'file_checksums' must be an object");
	cJSON_ArrayForEach(item, obj) {
		struct tree_entry *e = tree_push(files);

		e->path = get_name(item, "path", item->string, "file_checksums",
				   err);
		if (!e->path || parse_entry(item, e, err) < 0)
			return -1;
	}
	tree_sort(files);
	return check_duplicates(files, err);
}

static int parse_files_array(const cJSON *arr, struct tree *files,
			     struct error *err)
{
	const cJSON *item;

	if (!cJSON_IsArray(arr))
		return error_set(err, "'files' must be an array");
	cJSON_ArrayForEach(item, arr) {
		struct tree_entry *e = tree_push(files);

		e->path = get_name(item, "path", NULL, "files", err);
		if (!e->path || parse_entry(item, e, err) < 0)
			return -1;
	}
	tree_sort(files);
	return check_duplicates(files, err);
}

static bool is_backup_id(const char *s)
{
	static const char shape[] = "dddd-dd-dd_dd-dd-dd";

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return false;
	return true;
}

static const char *get_backup_id(const cJSON *obj, const char *key,
				 const char *what, struct error *err)
{
	const char *id = get_string(obj, key, true, what, err);

	if (id && !is_backup_id(id)) {
		error_set(err, "%s: '%s' is not a backup id "
			  "(YYYY-MM-DD_HH-MM-SS)", what, key);
		return NULL;
	}
	return id;
}

static int parse_content(const cJSON *item, struct content_index *idx,
			 bool with_owner, struct error *err)
{
	uint8_t sum[HASH_SIZE];
	int64_t size = 0;
	const char *holder = NULL, *last = NULL;
	char *member;
	char what[128];

	snprintf(what, sizeof(what), "content '%.70s'", item->string);
	if (!cJSON_IsObject(item) || strlen(item->string) != 2 * HASH_SIZE ||
	    hex_decode(item->string, sum, HASH_SIZE) < 0)
		return error_set(err, "%s: key must be a checksum and value "
				 "an object", what);
	if (content_find(idx, sum))
		return error_set(err, "%s: appears twice", what);
	if (get_int(item, "size", 0, MAX_EXACT_INT, true, &size, what, err))
		return -1;
	if (with_owner && (!(holder = get_backup_id(item, "backup_id", what,
						    err)) ||
			   !(last = get_backup_id(item, "last_used", what,
						  err))))
		return -1;
	member = get_name(item, "member", NULL, what, err);
	if (!member)
		return -1;
	if (!tree_path_is_safe(member)) {
		free(member);
		return error_set(err, "%s: unsafe member name", what);
	}
	content_insert(idx, sum, (uint64_t)size, holder ? holder : "",
		       member, last ? last : "");
	free(member);
	return 0;
}

static int parse_contents(const cJSON *obj, struct content_index *idx,
			  bool with_owner, const char *key, struct error *err)
{
	const cJSON *item;

	if (!obj)
		return 0;
	if (!cJSON_IsObject(obj))
		return error_set(err, "'%s' must be an object", key);
	cJSON_ArrayForEach(item, obj)
		if (parse_content(item, idx, with_owner, err) < 0)
			return -1;
	return 0;
}

static int parse_history_entry(const cJSON *item, struct metadata *md,
			       struct error *err)
{
	struct history_entry *h;
	const char *id, *date, *archive;
	const char *what = "backup_history";

	if (!cJSON_IsObject(item))
		return error_set(err, "backup_history: entries must be objects");
	id = get_backup_id(item, "backup_id", what, err);
	date = id ? get_string(item, "date", true, what, err) : NULL;
	archive = date ? get_string(item, "archive", true, what, err) : NULL;
	if (!archive)
		return -1;
	if (strchr(archive, '/') || !strcmp(archive, "..") || !*archive)
		return error_set(err, "backup_history: archive '%s' must be a "
				 "file name", archive);
	if (md->nhistory && strcmp(md->history[md->nhistory - 1].backup_id,
				   id) >= 0)
		return error_set(err, "backup_history: '%s' is not newer than "
				 "the entry before it", id);
	h = metadata_add_history(md);
	h->backup_id = xstrdup(id);
	h->date = xstrdup(date);
	h->archive = xstrdup(archive);
	if (get_int(item, "files_added", 0, MAX_EXACT_INT, false,
		    &h->files_added, what, err) ||
	    get_int(item, "files_modified", 0, MAX_EXACT_INT, false,
		    &h->files_modified, what, err) ||
	    get_int(item, "files_deleted", 0, MAX_EXACT_INT, false,
		    &h->files_deleted, what, err) ||
	    get_int(item, "files_backed_up", 0, MAX_EXACT_INT, false,
		    &h->files_backed_up, what, err) ||
	    get_int(item, "files_stored", 0, MAX_EXACT_INT, false,
		    &h->files_stored, what, err) ||
	    get_int(item, "total_files", 0, MAX_EXACT_INT, false,
		    &h->total_files, what, err) ||
	    get_int(item, "bytes_written", 0, MAX_EXACT_INT, false,
		    &h->bytes_written, what, err))
		return -1;
	return 0;
}

static int parse_history(const cJSON *arr, struct metadata *md,
			 struct error *err)
{
	const cJSON *item;

	if (!arr)
		return 0;
	if (!cJSON_IsArray(arr))
		return error_set(err, "'backup_history' must be an array");
	cJSON_ArrayForEach(item, arr)
		if (parse_history_entry(item, md, err) < 0)
			return -1;
	return 0;
}

static int parse_path_list(const cJSON *arr, struct strlist *out,
			   const char *key, struct error *err)
{
	const cJSON *item;

	if (!arr)
		return 0;
	if (!cJSON_IsArray(arr))
		return error_set(err, "'%s' must be an array", key);
	cJSON_ArrayForEach(item, arr) {
		char *path = get_name(item, "path", NULL, key, err);

		if (!path)
			return -1;
		strlist_push_owned(out, path);
	}
	return 0;
}

static int check_version(const cJSON *root, struct error *err)
{
	int64_t version = 0;

	if (get_int(root, "format_version", 0, 1e9, false, &version,
		    "top level", err) < 0)
		return -1;
	if (version > METADATA_FORMAT_VERSION)
		return error_set(err, "format_version %lld is newer than this "
				 "incbak understands (%d)", (long long)version,
				 METADATA_FORMAT_VERSION);
	return 0;
}

static int metadata_from_json(const cJSON *root, struct metadata *md,
			      struct error *err)
{
	const cJSON *date = cJSON_GetObjectItemCaseSensitive(root,
							     "last_backup_date");
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(root,
							      "file_checksums");

	if (check_version(root, err) < 0)
		return -1;
	if (date && !cJSON_IsNull(date) && !cJSON_IsString(date))
		return error_set(err, "'last_backup_date' must be a string");
	if (cJSON_IsString(date))
		md->last_backup_date = xstrdup(date->valuestring);
	if (!files)
		return error_set(err, "missing 'file_checksums'");
	if (parse_file_checksums(files, &md->files, err) < 0 ||
	    parse_contents(cJSON_GetObjectItemCaseSensitive(root, "contents"),
			   &md->contents, true, "contents", err) < 0 ||
	    parse_history(cJSON_GetObjectItemCaseSensitive(root,
							   "backup_history"),
			  md, err) < 0)
		return -1;
	return parse_path_list(cJSON_GetObjectItemCaseSensitive(root,
				       "reported_specials"),
			       &md->reported_specials, "reported_specials", err);
}

int metadata_parse(const char *text, size_t len, struct metadata *md,
		   struct error *err)
{
	cJSON *root = parse_json(text, len, err);
	int rc;

	if (!root)
		return -1;
	rc = metadata_from_json(root, md, err);
	cJSON_Delete(root);
	if (rc < 0) {
		metadata_release(md);
		metadata_init(md);
	}
	return rc;
}

static int manifest_from_json(const cJSON *root, struct manifest *m,
			      struct error *err)
{
	const char *id, *date;

	if (check_version(root, err) < 0)
		return -1;
	id = get_backup_id(root, "backup_id", "manifest", err);
	date = id ? get_string(root, "date", true, "manifest", err) : NULL;
	if (!date)
		return -1;
	m->backup_id = xstrdup(id);
	m->date = xstrdup(date);
	if (get_int(root, "files_added", 0, MAX_EXACT_INT, false,
		    &m->files_added, "manifest", err) ||
	    get_int(root, "files_modified", 0, MAX_EXACT_INT, false,
		    &m->files_modified, "manifest", err) ||
	    get_int(root, "files_deleted", 0, MAX_EXACT_INT, false,
		    &m->files_deleted, "manifest", err))
		return -1;
	if (parse_files_array(cJSON_GetObjectItemCaseSensitive(root, "files"),
			      &m->files, err) < 0 ||
	    parse_path_list(cJSON_GetObjectItemCaseSensitive(root, "deleted"),
			    &m->deleted, "deleted", err) < 0)
		return -1;
	return parse_contents(cJSON_GetObjectItemCaseSensitive(root, "holds"),
			      &m->holds, false, "holds", err);
}

int manifest_parse(const char *text, size_t len, struct manifest *m,
		   struct error *err)
{
	cJSON *root = parse_json(text, len, err);
	int rc;

	if (!root)
		return -1;
	rc = manifest_from_json(root, m, err);
	cJSON_Delete(root);
	if (rc < 0) {
		manifest_release(m);
		manifest_init(m);
	}
	return rc;
}

/* ---- files ---- */

int metadata_load(const char *dest, struct metadata *md, bool *found,
		  struct error *err)
{
	char *path = path_join(dest, METADATA_FILE_NAME);
	struct buf text = {0};
	int rc = -1;

	*found = false;
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		rc = 0;
		goto out;
	}
	*found = true;
	if (fs_read_file(path, &text, METADATA_MAX_SIZE, err) < 0)
		goto out;
	if (metadata_parse(text.data ? text.data : "", text.len, md, err) < 0) {
		error_prefix(err, "corrupt metadata '%s'", path);
		goto out;
	}
	rc = 0;
out:
	buf_release(&text);
	free(path);
	return rc;
}

int metadata_save(const char *dest, const struct metadata *md,
		  struct error *err)
{
	char *path = path_join(dest, METADATA_FILE_NAME);
	struct buf text = {0};
	int rc;

	metadata_format(md, &text);
	rc = fs_atomic_write(path, text.data, text.len, 0600, err);
	buf_release(&text);
	free(path);
	return rc;
}

/* ---- in-memory helpers ---- */

void metadata_init(struct metadata *md)
{
	memset(md, 0, sizeof(*md));
}

static void history_release(struct history_entry *h)
{
	free(h->backup_id);
	free(h->date);
	free(h->archive);
}

void metadata_release(struct metadata *md)
{
	if (!md)
		return;
	free(md->last_backup_date);
	tree_release(&md->files);
	content_index_release(&md->contents);
	for (size_t i = 0; i < md->nhistory; i++)
		history_release(&md->history[i]);
	free(md->history);
	strlist_clear(&md->reported_specials);
	memset(md, 0, sizeof(*md));
}

struct history_entry *metadata_add_history(struct metadata *md)
{
	struct history_entry *h;

	grow_array((void **)&md->history, &md->history_alloc,
		   md->nhistory + 1, sizeof(*md->history));
	h = &md->history[md->nhistory++];
	memset(h, 0, sizeof(*h));
	return h;
}

const struct history_entry *metadata_last_backup(const struct metadata *md)
{
	return md->nhistory ? &md->history[md->nhistory - 1] : NULL;
}

const struct history_entry *metadata_find_backup(const struct metadata *md,
						 const char *id)
{
	for (size_t i = 0; i < md->nhistory; i++)
		if (strcmp(md->history[i].backup_id, id) == 0)
			return &md->history[i];
	return NULL;
}

/* The checksums are uniformly random already, so their first bytes make a
 * good hash; slots hold item index + 1 (0 = empty), linear probing. */
static size_t content_slot_start(const struct content_index *idx,
				 const uint8_t sum[HASH_SIZE])
{
	uint64_t h;

	memcpy(&h, sum, sizeof(h));
	return (size_t)(h & (idx->nslots - 1));
}

static void content_rehash(struct content_index *idx, size_t nslots)
{
	free(idx->slots);
	idx->nslots = nslots;
	idx->slots = xcalloc(nslots, sizeof(*idx->slots));
	for (size_t i = 0; i < idx->len; i++) {
		size_t s = content_slot_start(idx, idx->items[i].checksum);

		while (idx->slots[s])
			s = (s + 1) & (nslots - 1);
		idx->slots[s] = i + 1;
	}
}

struct content *content_find(const struct content_index *idx,
			     const uint8_t checksum[HASH_SIZE])
{
	size_t s;

	if (!idx->nslots)
		return NULL;
	for (s = content_slot_start(idx, checksum); idx->slots[s];
	     s = (s + 1) & (idx->nslots - 1)) {
		struct content *c = &idx->items[idx->slots[s] - 1];

		if (memcmp(c->checksum, checksum, HASH_SIZE) == 0)
			return c;
	}
	return NULL;
}

struct content *content_insert(struct content_index *idx,
			       const uint8_t checksum[HASH_SIZE], uint64_t size,
			       const char *holder, const char *member,
			       const char *last_used)
{
	struct content *c;
	size_t s;

	grow_array((void **)&idx->items, &idx->alloc, idx->len + 1,
		   sizeof(*idx->items));
	c = &idx->items[idx->len++];
	memcpy(c->checksum, checksum, HASH_SIZE);
	c->size = size;
	c->holder = xstrdup(holder ? holder : "");
	c->member = xstrdup(member);
	c->last_used = xstrdup(last_used ? last_used : "");
	if (idx->len * 2 > idx->nslots) {
		content_rehash(idx, idx->nslots ? idx->nslots * 2 : 64);
		return c;
	}
	for (s = content_slot_start(idx, checksum); idx->slots[s];
	     s = (s + 1) & (idx->nslots - 1))
		;
	idx->slots[s] = idx->len;
	return c;
}

void content_remove_if(struct content_index *idx,
		       bool (*drop)(const struct content *c, void *ctx),
		       void *ctx)
{
	size_t kept = 0;

	for (size_t i = 0; i < idx->len; i++) {
		struct content *c = &idx->items[i];

		if (drop(c, ctx)) {
			free(c->holder);
			free(c->member);
			free(c->last_used);
			continue;
		}
		idx->items[kept++] = *c;
	}
	idx->len = kept;
	content_rehash(idx, idx->nslots ? idx->nslots : 64);
}

bool content_has_size(const struct content_index *idx, uint64_t size)
{
	for (size_t i = 0; i < idx->len; i++)
		if (idx->items[i].size == size)
			return true;
	return false;
}

static int cmp_content_ptrs(const void *a, const void *b)
{
	const struct content *x = *(const struct content *const *)a;
	const struct content *y = *(const struct content *const *)b;

	return memcmp(x->checksum, y->checksum, HASH_SIZE);
}

const struct content **content_sorted(const struct content_index *idx)
{
	const struct content **v = xmalloc((idx->len + 1) * sizeof(*v));

	for (size_t i = 0; i < idx->len; i++)
		v[i] = &idx->items[i];
	if (idx->len > 1)
		qsort(v, idx->len, sizeof(*v), cmp_content_ptrs);
	return v;
}

void content_index_release(struct content_index *idx)
{
	for (size_t i = 0; i < idx->len; i++) {
		free(idx->items[i].holder);
		free(idx->items[i].member);
		free(idx->items[i].last_used);
	}
	free(idx->items);
	free(idx->slots);
	memset(idx, 0, sizeof(*idx));
}

void manifest_init(struct manifest *m)
{
	memset(m, 0, sizeof(*m));
}

void manifest_release(struct manifest *m)
{
	if (!m)
		return;
	free(m->backup_id);
	free(m->date);
	tree_release(&m->files);
	strlist_clear(&m->deleted);
	content_index_release(&m->holds);
	memset(m, 0, sizeof(*m));
}
