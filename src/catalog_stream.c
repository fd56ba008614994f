/* Reading a manifest as it is decompressed, record by record, never whole;
 * for a restore of some paths, only their records. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_internal.h"
#include "catalog.h"

/* At, under or above one of paths. */
static bool path_in_scopes(const char *path, size_t n,
			   const struct strlist *paths)
{
	for (size_t i = 0; i < paths->len; i++) {
		const char *s = paths->items[i];
		size_t m = strlen(s);

		if (n >= m && !memcmp(path, s, m) && (n == m || path[m] == '/'))
			return true;
		if (n < m && !memcmp(s, path, n) && s[n] == '/')
			return true;
	}
	return false;
}

/* A name that is not UTF-8 is written twice: readable in "path", exact
 * in the "path_hex" after it. */
static bool hex_name_follows(const char *after, const char *end)
{
	static const char hex[] = ",\"path_hex\":";

	return (size_t)(end - after) >= sizeof(hex) - 1 &&
	       !memcmp(after, hex, sizeof(hex) - 1);
}

/* Whether a files record (one line) is one a reader of `paths` needs,
 * judged from its leading "path" alone; a record laid out otherwise, or
 * named in hex, is kept (parsing it checks it). */
static bool record_in_scopes(const char *line, size_t len,
			     const struct strlist *paths)
{
	static const char lead[] = "{\"path\":\"";
	const char *name = line + sizeof(lead) - 1, *end = line + len, *quote;
	struct catalog_json r;
	struct error ignored;
	bool keep = true;

	if (len < sizeof(lead) - 1 || memcmp(line, lead, sizeof(lead) - 1))
		return true;
	/* Most paths have no escapes: then the text is the path. */
	quote = memchr(name, '"', (size_t)(end - name));
	if (quote && !memchr(name, '\\', (size_t)(quote - name)))
		return hex_name_follows(quote + 1, end) ||
		       path_in_scopes(name, (size_t)(quote - name), paths);
	catalog_json_init(&r, name - 1, (size_t)(end - name + 1), false,
			  &ignored);
	if (catalog_json_string(&r, "'path'") == 0 &&
	    strlen(r.str) == r.str_len && !hex_name_follows(r.p, end))
		keep = path_in_scopes(r.str, r.str_len, paths);
	catalog_json_release(&r);
	return keep;
}

/* The manifest, line by line as catalog_manifest_format() writes it, never
 * whole in memory: each record (a line) is parsed as it arrives, with the
 * checks of a whole parse, and the lines around the sections are kept, to be
 * parsed at the end as a manifest with empty sections. For a reader of
 * some paths, only the files and "deleted" records record_in_scopes()
 * keeps are parsed, and no "holds" record. */
enum sieve_state { SIEVE_TOP, SIEVE_FILES, SIEVE_DELETED, SIEVE_HOLDS,
		   SIEVE_LOST };

struct catalog_stream {
	const struct strlist *paths;  /* NULL: every record */
	struct manifest records;      /* what the records said */
	struct buf skeleton;          /* the lines around them */
	struct buf partial;           /* a line not complete yet */
	struct buf one;               /* a record as a document of its own */
	struct catalog_json reader;
	struct error err;
	enum sieve_state state;
	bool holds_checked_only;      /* parsed, not kept */
	bool comma;                   /* the last record ended with one */
	bool any;                     /* a record in this section so far */
};

struct catalog_stream *catalog_stream_new(const struct strlist *paths)
{
	struct catalog_stream *s = xcalloc(1, sizeof(*s));

	s->paths = paths && paths->len ? paths : NULL;
	catalog_manifest_init(&s->records);
	catalog_json_init(&s->reader, "", 0, false, &s->err);
	return s;
}

void catalog_stream_check_holds_only(struct catalog_stream *s)
{
	s->holds_checked_only = true;
}

static bool line_is(const char *line, size_t len, const char *text)
{
	return len == strlen(text) && !memcmp(line, text, len);
}

/* A record on a line of its own; `lead` opens it ('{', or '"' for a
 * key). The comma after it, if any, is left out of *len and noted: one
 * must separate records, and none may follow the last. */
static bool record_line(struct catalog_stream *s, const char *line,
			size_t *len, char lead)
{
	size_t n = *len;
	bool comma = n && line[n - 1] == ',';

	if (comma)
		n--;
	if (n < 2 || line[0] != lead || line[n - 1] != '}' ||
	    (s->any && !s->comma))
		return false;
	s->any = true;
	s->comma = comma;
	*len = n;
	return true;
}

static void sieve_top_line(struct catalog_stream *s, const char *line,
			   size_t len)
{
	buf_append(&s->skeleton, line, len);
	buf_append(&s->skeleton, "\n", 1);
	s->any = s->comma = false;
	if (line_is(line, len, "\"files\": ["))
		s->state = SIEVE_FILES;
	else if (line_is(line, len, "\"deleted\": ["))
		s->state = SIEVE_DELETED;
	else if (line_is(line, len, "\"holds\": {"))
		s->state = SIEVE_HOLDS;
}

/* Parses one record into s->records, wrapped as a one-element array (or
 * object, for a holds record and its key). */
static bool parse_record(struct catalog_stream *s, const char *line,
			 size_t len)
{
	struct catalog_json *r = &s->reader;
	bool keyed = s->state == SIEVE_HOLDS;
	bool ok;

	s->one.len = 0;
	buf_append(&s->one, keyed ? "{" : "[", 1);
	buf_append(&s->one, line, len);
	buf_append(&s->one, keyed ? "}" : "]", 1);
	catalog_json_rebind(r, s->one.data, s->one.len);
	switch (s->state) {
	case SIEVE_FILES:
		ok = catalog_json_array_begin(r, "'files'") == 0 &&
		     catalog_json_array_next(r) == 1 &&
		     catalog_read_entry(r, &s->records.files, NULL,
					"files") == 0 &&
		     catalog_json_array_next(r) == 0;
		break;
	case SIEVE_DELETED:
		ok = catalog_read_path_list(r, &s->records.deleted,
					    "'deleted'") == 0;
		break;
	default:
		ok = catalog_json_object_begin(r, "'holds'") == 0 &&
		     catalog_json_object_next(r) == 1 &&
		     catalog_read_content(r, s->holds_checked_only ? NULL :
					  &s->records.holds, false) == 0 &&
		     catalog_json_object_next(r) == 0;
		break;
	}
	return ok && catalog_json_finish(r) == 0;
}

static bool record_wanted(const struct catalog_stream *s, const char *line,
			  size_t len)
{
	if (!s->paths)
		return true;
	/* The deletions too: a manifest that lists only what changed is
	 * completed from its parent's tree, less what it deleted. */
	return (s->state == SIEVE_FILES || s->state == SIEVE_DELETED) &&
	       record_in_scopes(line, len, s->paths);
}

static void sieve_line(struct catalog_stream *s, const char *line, size_t len)
{
	char closer = s->state == SIEVE_HOLDS ? '}' : ']';

	switch (s->state) {
	case SIEVE_TOP:
		sieve_top_line(s, line, len);
		return;
	case SIEVE_LOST:
		return;
	default:
		break;
	}
	/* Anything unexpected (another layout, damage) ends the sieve: the
	 * caller reads the manifest whole, whose errors say where. */
	if (len && line[0] == closer &&
	    (len == 1 || (len == 2 && line[1] == ','))) {
		s->state = s->comma ? SIEVE_LOST : SIEVE_TOP;
		if (s->state == SIEVE_TOP)
			sieve_top_line(s, line, len);
		return;
	}
	if (!record_line(s, line, &len, s->state == SIEVE_HOLDS ? '"' : '{') ||
	    (record_wanted(s, line, len) && !parse_record(s, line, len)))
		s->state = SIEVE_LOST;
}

void catalog_stream_feed(struct catalog_stream *s, const char *data, size_t len)
{
	const char *end = data + len, *nl;

	while (s->state != SIEVE_LOST &&
	       (nl = memchr(data, '\n', (size_t)(end - data))) != NULL) {
		if (s->partial.len) {
			buf_append(&s->partial, data, (size_t)(nl - data));
			sieve_line(s, s->partial.data, s->partial.len);
			s->partial.len = 0;
		} else {
			sieve_line(s, data, (size_t)(nl - data));
		}
		data = nl + 1;
	}
	if (s->state != SIEVE_LOST)
		buf_append(&s->partial, data, (size_t)(end - data));
}

static void move_records(struct manifest *to, struct manifest *from)
{
	tree_release(&to->files);
	to->files = from->files;
	memset(&from->files, 0, sizeof(from->files));
	strlist_clear(&to->deleted);
	to->deleted = from->deleted;
	memset(&from->deleted, 0, sizeof(from->deleted));
	catalog_contents_release(&to->holds);
	to->holds = from->holds;
	memset(&from->holds, 0, sizeof(from->holds));
}

int catalog_stream_finish(struct catalog_stream *s, struct manifest *m,
			  struct error *err)
{
	if (s->partial.len && s->state != SIEVE_LOST)
		sieve_line(s, s->partial.data, s->partial.len);
	s->partial.len = 0;
	if (s->state != SIEVE_TOP)
		return 1;
	if (catalog_manifest_parse(s->skeleton.data ? s->skeleton.data : "",
				   s->skeleton.len, m, err) < 0)
		return -1;
	/* Records on a line of their own all went past; others did not. */
	if (m->files.len || m->deleted.len || m->holds.len) {
		catalog_manifest_release(m);
		catalog_manifest_init(m);
		return 1;
	}
	move_records(m, &s->records);
	tree_sort(&m->files);
	if (catalog_check_duplicates(&m->files, err) < 0) {
		catalog_manifest_release(m);
		catalog_manifest_init(m);
		return -1;
	}
	return 0;
}

void catalog_stream_free(struct catalog_stream *s)
{
	if (!s)
		return;
	catalog_manifest_release(&s->records);
	catalog_json_release(&s->reader);
	buf_release(&s->skeleton);
	buf_release(&s->partial);
	buf_release(&s->one);
	free(s);
}

int catalog_manifest_parse_paths(const char *text, size_t len,
				 const struct strlist *paths,
				 struct manifest *m, struct error *err)
{
	if (paths && paths->len) {
		struct catalog_stream *s = catalog_stream_new(paths);
		int rc;

		catalog_stream_feed(s, text, len);
		rc = catalog_stream_finish(s, m, err);
		catalog_stream_free(s);
		if (rc == 0)
			return 0;
	}
	/* Not laid out as ours, or damaged: the whole text, whose errors
	 * name the right lines. */
	return catalog_manifest_parse(text, len, m, err);
}
