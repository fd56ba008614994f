/* backup_metadata.json and manifests written by hand, one record per line (so
 * the file diffs and greps well), in pieces handed to a writer as they fill. */
#include "catalog.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faultpoint.h"
#include "fsutil.h"
#include "catalog_internal.h"
#include "threads.h"

static void json_string(struct buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t plain = 0;   /* start of the run of bytes copied as they are */

	buf_append(out, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c != '"' && c != '\\' && c >= 0x20)
			continue;
		buf_append(out, s + plain, i - plain);
		plain = i + 1;
		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };
			buf_append(out, esc, 2);
		} else {
			char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4],
					hex[c & 15] };
			buf_append(out, esc, 6);
		}
	}
	buf_append(out, s + plain, len - plain);
	buf_append(out, "\"", 1);
}

/* JSON strings must be UTF-8; a name that is not gets a readable lossy form
 * (invalid bytes as \xNN text) and its exact bytes in a `<field>_hex`. */
/* Most names are printable ASCII: they go in as they are. */
static bool plain_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\')
			return false;
	}
	return true;
}

static void json_name(struct buf *out, const char *field, const char *s,
		      bool as_key)
{
	size_t len = strlen(s);
	bool valid;

	if (!as_key) {
		buf_append(out, "\"", 1);
		buf_puts(out, field);
		buf_append(out, "\":", 2);
	}
	if (plain_ascii(s, len)) {
		buf_append(out, "\"", 1);
		buf_append(out, s, len);
		buf_append(out, as_key ? "\":{" : "\"", as_key ? 3 : 1);
		return;
	}
	valid = utf8_valid(s, len);
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

/* The fixed fields of a record are written through a cursor into room
 * reserved once per record: an append per field (a capacity check, a
 * copy, a NUL) was most of the time of formatting a big tree's metadata,
 * and snprintf before that. */
#define FIELDS_ROOM 512  /* keys, numbers, a checksum: 400 at most */

static char *reserve(struct buf *out, size_t n)
{
	grow_array((void **)&out->data, &out->alloc, out->len + n + 1, 1);
	return out->data + out->len;
}

static void commit(struct buf *out, char *end)
{
	out->len = (size_t)(end - out->data);
	out->data[out->len] = '\0';
}

#define PUT_TEXT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), \
			  (p) + sizeof(lit) - 1)

static char *put_string(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

static char *put_u64(char *p, uint64_t v)
{
	char digits[20];
	size_t n = 0;

	do {
		digits[sizeof(digits) - ++n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	memcpy(p, digits + sizeof(digits) - n, n);
	return p + n;
}

static char *put_i64(char *p, int64_t v)
{
	if (v >= 0)
		return put_u64(p, (uint64_t)v);
	*p++ = '-';
	return put_u64(p, (uint64_t)0 - (uint64_t)v);
}

static char *put_nanoseconds(char *p, int32_t nsec)
{
	for (int i = 8; i >= 0; i--) {
		p[i] = (char)('0' + nsec % 10);
		nsec /= 10;
	}
	return p + 9;
}

/* Seconds with a fraction, exact in text: -1.25 s is sec -2, nsec 750e6. */
static char *put_seconds(char *p, struct nstime t)
{
	if (t.sec < 0 && t.nsec > 0) {
		*p++ = '-';
		p = put_u64(p, (uint64_t)-(t.sec + 1));
		*p++ = '.';
		return put_nanoseconds(p, 1000000000 - t.nsec);
	}
	p = put_i64(p, t.sec);
	*p++ = '.';
	return put_nanoseconds(p, t.nsec);
}

/* [seconds,nanoseconds] */
static char *put_time_pair(char *p, struct nstime t)
{
	*p++ = '[';
	p = put_i64(p, t.sec);
	*p++ = ',';
	p = put_u64(p, (uint64_t)t.nsec);
	*p++ = ']';
	return p;
}

/* Four octal digits, as "%04o" gives permission bits. */
static char *put_mode(char *p, uint32_t mode)
{
	for (int i = 3; i >= 0; i--) {
		p[i] = (char)('0' + (mode & 7));
		mode >>= 3;
	}
	return p + 4;
}

static char *put_checksum(char *p, const uint8_t *sum)
{
	char hex[HASH_HEX_SIZE];

	hex_encode(sum, HASH_SIZE, hex);
	memcpy(p, hex, HASH_HEX_SIZE - 1);
	return p + HASH_HEX_SIZE - 1;
}

static void format_entry_fields(struct buf *out, const struct tree_entry *e,
				const char *holder)
{
	char *p = reserve(out, FIELDS_ROOM + (holder ? strlen(holder) : 0));

	p = PUT_TEXT(p, "\"type\":\"");
	p = put_string(p, tree_type_name(e->type));
	p = PUT_TEXT(p, "\",\"size\":");
	p = put_u64(p, e->size);
	p = PUT_TEXT(p, ",\"modified_time\":");
	p = put_seconds(p, e->mtime);
	p = PUT_TEXT(p, ",\"mtime\":");
	p = put_time_pair(p, e->mtime);
	p = PUT_TEXT(p, ",\"ctime\":");
	p = put_time_pair(p, e->ctime);
	p = PUT_TEXT(p, ",\"inode\":\"");
	p = put_u64(p, e->ino);
	p = PUT_TEXT(p, "\",\"mode\":\"");
	p = put_mode(p, e->mode);
	p = PUT_TEXT(p, "\",\"uid\":");
	p = put_u64(p, e->uid);
	p = PUT_TEXT(p, ",\"gid\":");
	p = put_u64(p, e->gid);
	if (e->attrs) {
		/* Hex digits, commas and '=': nothing to escape. */
		commit(out, p);
		buf_puts(out, ",\"attrs\":\"");
		buf_puts(out, e->attrs);
		buf_puts(out, "\"");
		p = reserve(out, FIELDS_ROOM + (holder ? strlen(holder) : 0));
	}
	if (e->type == ENTRY_FILE) {
		p = PUT_TEXT(p, ",\"checksum\":\"");
		p = put_checksum(p, e->checksum);
		*p++ = '"';
		if (holder) {
			p = PUT_TEXT(p, ",\"backup_id\":\"");
			p = put_string(p, holder);
			*p++ = '"';
		}
	}
	commit(out, p);
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
	char *p = reserve(out, FIELDS_ROOM);

	*p++ = '"';
	p = put_checksum(p, c->checksum);
	p = PUT_TEXT(p, "\":{\"size\":");
	p = put_u64(p, c->size);
	*p++ = ',';
	commit(out, p);
	json_name(out, "member", c->member, false);
	p = reserve(out, FIELDS_ROOM + (with_owner ? strlen(c->holder) +
					strlen(c->last_used) : 0));
	if (c->has_frame) {
		p = PUT_TEXT(p, ",\"frame\":");
		p = put_u64(p, c->frame_offset);
		p = PUT_TEXT(p, ",\"skip\":");
		p = put_u64(p, c->frame_skip);
	}
	if (with_owner) {
		p = PUT_TEXT(p, ",\"backup_id\":\"");
		p = put_string(p, c->holder);
		p = PUT_TEXT(p, "\",\"last_used\":\"");
		p = put_string(p, c->last_used);
		*p++ = '"';
	}
	*p++ = '}';
	commit(out, p);
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
		   "\"total_files\":%lld,\"bytes_written\":%lld",
		   (long long)h->files_backed_up, (long long)h->files_added,
		   (long long)h->files_modified, (long long)h->files_deleted,
		   (long long)h->files_stored, (long long)h->total_files,
		   (long long)h->bytes_written);
	if (h->parent) {
		buf_puts(out, ",\"parent\":");
		json_string(out, h->parent, strlen(h->parent));
	}
	buf_puts(out, "}");
}

/* Where formatted text goes: `text`, which is handed to take() whenever it
 * holds a few MiB, so that saving the metadata of a million files does not
 * first build 600 MB of text (take NULL: it all stays in text). */
struct catalog_sink {
	struct buf *text;
	int (*take)(void *ctx, const char *data, size_t len);
	void *ctx;
	int failed;          /* take()'s first nonzero result */
};

/* Small enough that the pieces in flight (a manifest's, the metadata's
 * file records' and its contents') cost little at the peak of a big run,
 * big enough that a write is rare. */
#define SINK_DRAIN_AT ((size_t)1 << 20)

static void sink_put(struct catalog_sink *sink, const char *data,
		     size_t len)
{
	if (!sink->take)
		buf_append(sink->text, data, len);
	else if (!sink->failed)
		sink->failed = sink->take(sink->ctx, data, len);
}

static void sink_drain(struct catalog_sink *sink, size_t at_least)
{
	if (!sink->take || sink->text->len < at_least)
		return;
	sink_put(sink, sink->text->data, sink->text->len);
	sink->text->len = 0;
}

/* Those held by `holder` only, if not NULL. */
static void format_contents(struct catalog_sink *sink,
			    const struct content_index *idx, bool with_owner,
			    const char *holder)
{
	bool owned;
	const struct content **sorted = catalog_content_order(idx, &owned);
	struct buf *out = sink->text;
	size_t n = 0;

	for (size_t i = 0; i < idx->len; i++) {
		if (holder && strcmp(sorted[i]->holder, holder))
			continue;
		buf_puts(out, n++ ? ",\n" : "\n");
		format_content(out, sorted[i], with_owner);
		sink_drain(sink, SINK_DRAIN_AT);
	}
	if (owned)
		free(sorted);
}

/* The contents section, formatted on a second thread while the file
 * records are, and handed over in pieces of 1 MiB; at most PIPE_PIECES
 * wait at once (8 MiB, 40,000 contents), so the section never sits whole
 * in memory (200 MB for a million contents). */
#define PIPE_PIECES 8

struct contents_pipe {
	const struct content_index *contents;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct buf pieces[PIPE_PIECES]; /* a ring: `count` from `head` */
	size_t head, count;
	bool done;
};

/* Hands *piece over (it is left empty), waiting for room. */
static void pipe_put(struct contents_pipe *p, struct buf *piece)
{
	pthread_mutex_lock(&p->lock);
	while (p->count == PIPE_PIECES)
		pthread_cond_wait(&p->changed, &p->lock);
	p->pieces[(p->head + p->count) % PIPE_PIECES] = *piece;
	p->count++;
	memset(piece, 0, sizeof(*piece));
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->lock);
}

/* The next piece, in order, into *piece (the caller releases it); false
 * once there are no more. */
static bool pipe_take(struct contents_pipe *p, struct buf *piece)
{
	bool got;

	pthread_mutex_lock(&p->lock);
	while (!p->count && !p->done)
		pthread_cond_wait(&p->changed, &p->lock);
	got = p->count > 0;
	if (got) {
		*piece = p->pieces[p->head];
		p->head = (p->head + 1) % PIPE_PIECES;
		p->count--;
		pthread_cond_broadcast(&p->changed);
	}
	pthread_mutex_unlock(&p->lock);
	return got;
}

static void *format_contents_in_background(void *arg)
{
	struct contents_pipe *p = arg;
	bool owned;
	const struct content **sorted =
		catalog_content_order(p->contents, &owned);
	struct buf piece = {0};

	for (size_t i = 0; i < p->contents->len; i++) {
		buf_puts(&piece, i ? ",\n" : "\n");
		format_content(&piece, sorted[i], true);
		if (piece.len >= SINK_DRAIN_AT)
			pipe_put(p, &piece);
	}
	if (piece.len)
		pipe_put(p, &piece);
	if (owned)
		free(sorted);
	pthread_mutex_lock(&p->lock);
	p->done = true;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void take_contents(struct contents_pipe *p, struct catalog_sink *sink)
{
	struct buf piece;

	sink_drain(sink, 0);
	while (pipe_take(p, &piece)) {
		sink_put(sink, piece.data, piece.len);
		buf_release(&piece);
	}
}

/* backup_metadata.json opened, and mapped once asked. */
/* The file_checksums of the file a save replaces, mapped, for copying the
 * records that entries kept (tree_entry.same_record) instead of
 * formatting them again: at is the first line not passed yet. */
struct record_source {
	const char *at, *end;
	const char *released;   /* pages before this were given back */
};

/* src set to read rec's records from the start; NULL if rec is. */
static struct record_source *record_source_of(
	const struct catalog_records *rec, struct record_source *src)
{
	const char *map;

	if (!rec)
		return NULL;
	map = rec->f.map;
	*src = (struct record_source){ map + rec->from, map + rec->to, map };
	return src;
}

/* Records copied are not read again: their pages go, as the parser's do,
 * so a save does not hold the whole old file in memory. */
static void release_copied(struct record_source *src)
{
	if ((size_t)(src->at - src->released) < ((size_t)4 << 20))
		return;
	fs_release_mapped(src->released, src->at);
	src->released = src->at;
}

/* Where the line at `line` ends (its newline, or end). */
static const char *line_end(const char *line, const char *end)
{
	const char *nl = memchr(line, '\n', (size_t)(end - line));

	return nl ? nl : end;
}

/* The length of path's record on the line [line, stop) without the comma
 * after it, or 0 if the line holds no record of that path. */
static size_t record_on_line(const char *line, const char *stop,
			     const char *path, size_t plen)
{
	size_t n = (size_t)(stop - line);

	if (n < plen + 5 || line[0] != '"' || memcmp(line + 1, path, plen) ||
	    memcmp(line + 1 + plen, "\":{", 3))
		return 0;
	if (line[n - 1] == ',')
		n--;
	return line[n - 1] == '}' ? n : 0;
}

/* Moves src->at to path's record and returns its length; the lines passed
 * are records of paths gone or changed (both lists are in path order). 0
 * if there is none: then nothing more is copied from src. */
static size_t find_record(struct record_source *src, const char *path)
{
	size_t plen = strlen(path);

	for (const char *line = src->at; line < src->end;) {
		const char *stop = line_end(line, src->end);
		size_t n = record_on_line(line, stop, path, plen);

		if (n) {
			src->at = line;
			return n;
		}
		line = stop < src->end ? stop + 1 : src->end;
	}
	src->at = src->end;
	return 0;
}

/* Whether the record copied says what entry e says with its content's
 * holder: the rest of it was the same when the run kept e's mark
 * (tree_entry_same), and the holder is the one thing a file record shows
 * of something else. */
static bool copied_record_fits(const struct metadata *md,
			       const struct tree_entry *e, const char *text,
			       size_t len)
{
	const struct content *c;
	char tail[BACKUP_ID_SIZE + 40];
	int n;

	if (e->type != ENTRY_FILE)
		return true;
	c = catalog_content_find(&md->contents, e->checksum);
	if (!c)
		return false;
	n = snprintf(tail, sizeof(tail), ",\"backup_id\":\"%s\"%s}",
		     c->holder, e->recheck ? ",\"recheck\":true" : "");
	return n > 0 && (size_t)n < sizeof(tail) && len >= (size_t)n &&
	       !memcmp(text + len - (size_t)n, tail, (size_t)n);
}

/* Copies the records of files[i] and of the marked entries after it that
 * follow it line by line in src, at most about a MiB of them, with what
 * separates them; returns how many (0: format files[i] instead). */
static size_t copy_records(const struct metadata *md, size_t i,
			   struct record_source *src,
			   struct catalog_sink *sink)
{
	const struct tree_entry *ent = md->files.entries;
	size_t len = find_record(src, ent[i].path), j;
	const char *first = src->at, *end = first + len;

	if (!len || !copied_record_fits(md, &ent[i], first, len))
		return 0;
	for (j = i + 1; j < md->files.len && ent[j].same_record &&
	     (size_t)(end - first) < SINK_DRAIN_AT; j++) {
		const char *next = end + 2;

		if (next >= src->end || memcmp(end, ",\n", 2))
			break;
		len = record_on_line(next, line_end(next, src->end),
				     ent[j].path, strlen(ent[j].path));
		if (!len || !copied_record_fits(md, &ent[j], next, len))
			break;
		end = next + len;
	}
	buf_puts(sink->text, i ? ",\n" : "\n");
	if (sink->take) {
		sink_drain(sink, 0);
		sink_put(sink, first, (size_t)(end - first));
	} else {
		buf_append(sink->text, first, (size_t)(end - first));
	}
	src->at = end;
	release_copied(src);
	return j - i;
}

/* The two big sections are formatted on two threads: a run that changed
 * anything waits for this text before it can finish. Up to the end of the
 * contents: the history and what follows are format_tail()'s. Records that
 * entries kept are copied from src (NULL: none). */
static void format_body(const struct metadata *md, struct record_source *src,
			struct catalog_sink *sink)
{
	struct buf *out = sink->text;
	struct contents_pipe pipe = { .contents = &md->contents };
	pthread_t thread;
	bool threaded = false;

	if (md->contents.len >= 4096) {
		pthread_mutex_init(&pipe.lock, NULL);
		pthread_cond_init(&pipe.changed, NULL);
		threaded = threads_start(&thread,
					 format_contents_in_background,
					 &pipe) == 0;
		if (!threaded) {
			pthread_cond_destroy(&pipe.changed);
			pthread_mutex_destroy(&pipe.lock);
		}
	}
	buf_printf(out, "{\n\"format_version\": %d,\n\"last_backup_date\": ",
		   METADATA_FORMAT_VERSION);
	if (md->last_backup_date)
		json_string(out, md->last_backup_date,
			    strlen(md->last_backup_date));
	else
		buf_puts(out, "null");
	if (md->tree_backup_id)
		buf_printf(out, ",\n\"tree_backup_id\": \"%s\"",
			   md->tree_backup_id);
	if (md->source) {
		buf_puts(out, ",\n");
		json_name(out, "source", md->source, false);
	}
	if (md->dest_id)
		buf_printf(out, ",\n\"destination_id\": \"%s\"",
			   md->dest_id);
	buf_puts(out, ",\n\"file_checksums\": {");
	for (size_t i = 0; i < md->files.len; i++) {
		const struct tree_entry *e = &md->files.entries[i];
		const struct content *c;
		size_t copied = 0;

		if (src && src->at < src->end && e->same_record)
			copied = copy_records(md, i, src, sink);
		if (copied) {
			i += copied - 1;
			continue;
		}
		c = e->type == ENTRY_FILE ?
			catalog_content_find(&md->contents, e->checksum) : NULL;
		buf_puts(out, i ? ",\n" : "\n");
		json_name(out, "path", e->path, true);
		format_entry_fields(out, e, c ? c->holder : NULL);
		buf_puts(out, "}");
		sink_drain(sink, SINK_DRAIN_AT);
	}
	buf_puts(out, "\n},\n\"contents\": {");
	if (threaded) {
		take_contents(&pipe, sink);
		pthread_join(thread, NULL);
		pthread_cond_destroy(&pipe.changed);
		pthread_mutex_destroy(&pipe.lock);
	} else {
		format_contents(sink, &md->contents, true, NULL);
	}
	buf_puts(out, "\n},");
}

static void format_tail(const struct metadata *md, struct catalog_sink *sink)
{
	struct buf *out = sink->text;

	buf_puts(out, "\n\"backup_history\": [");
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
	sink_drain(sink, 0);
}

static void format_metadata(const struct metadata *md,
			    struct catalog_sink *sink)
{
	format_body(md, NULL, sink);
	format_tail(md, sink);
}

void catalog_format(const struct metadata *md, struct buf *out)
{
	struct catalog_sink sink = { out, NULL, NULL, 0 };

	format_metadata(md, &sink);
}

/* e's manifest record from its record in the metadata file (src moved
 * to it), which says the same of e but also names its content's holder:
 * the record but that, without its braces. False if it is not laid out
 * so: then e is formatted. */
static bool copy_manifest_fields(struct buf *out, const struct tree_entry *e,
				 struct record_source *src)
{
	static const char id_key[] = ",\"backup_id\":\"";
	static const char recheck[] = ",\"recheck\":true";
	size_t len = find_record(src, e->path), plen = strlen(e->path);
	size_t idlen = sizeof(id_key) - 1 + BACKUP_ID_SIZE;
	size_t rlen = e->recheck ? sizeof(recheck) - 1 : 0;
	const char *fields, *id;
	size_t flen;

	if (!len || len < plen + 5)
		return false;
	fields = src->at + plen + 4; /* after "PATH":{ */
	flen = len - plen - 5;       /* and without the closing brace */
	if (e->type == ENTRY_FILE) {
		if (flen < idlen + rlen)
			return false;
		id = fields + flen - rlen - idlen;
		if (memcmp(id, id_key, sizeof(id_key) - 1) ||
		    id[idlen - 1] != '"' ||
		    memcmp(fields + flen - rlen, recheck, rlen))
			return false;
		flen = (size_t)(id - fields);
	} else {
		rlen = 0;
	}
	buf_append(out, "\"path\":\"", 8);
	buf_append(out, e->path, plen);
	buf_append(out, "\",", 2);
	buf_append(out, fields, flen);
	buf_append(out, recheck, rlen);
	src->at += len;
	release_copied(src);
	return true;
}

/* holds: see catalog_manifest_write(); rec: see catalog_records_open(). */
static void format_manifest(const struct manifest *m,
			    const struct content_index *holds,
			    const char *holder,
			    const struct catalog_records *rec,
			    struct catalog_sink *sink)
{
	struct buf *out = sink->text;
	struct record_source src_space;
	struct record_source *src = record_source_of(rec, &src_space);

	bool delta = m->delta && m->parent;
	size_t listed = 0;

	buf_printf(out, "{\n\"format_version\": %d,\n\"backup_id\": \"%s\",",
		   delta ? MANIFEST_FORMAT_VERSION : MANIFEST_WHOLE_VERSION,
		   m->backup_id);
	if (delta) {
		buf_puts(out, "\n\"parent\": ");
		json_string(out, m->parent, strlen(m->parent));
		buf_puts(out, ",");
	}
	buf_puts(out, "\n\"date\": ");
	json_string(out, m->date, strlen(m->date));
	if (m->source) {
		buf_puts(out, ",\n");
		json_name(out, "source", m->source, false);
	}
	if (m->dest_id)
		buf_printf(out, ",\n\"destination_id\": \"%s\"", m->dest_id);
	buf_printf(out, ",\n\"files_added\": %lld,"
		   "\n\"files_modified\": %lld,\n\"files_deleted\": %lld,"
		   "\n\"files\": [",
		   (long long)m->files_added, (long long)m->files_modified,
		   (long long)m->files_deleted);
	for (size_t i = 0; i < m->files.len; i++) {
		const struct tree_entry *e = &m->files.entries[i];

		if (delta && e->unchanged)
			continue;
		buf_puts(out, listed++ ? ",\n{" : "\n{");
		if (!src || src->at >= src->end || !e->same_record ||
		    !copy_manifest_fields(out, e, src)) {
			json_name(out, "path", e->path, false);
			buf_puts(out, ",");
			format_entry_fields(out, e, NULL);
		}
		buf_puts(out, "}");
		sink_drain(sink, SINK_DRAIN_AT);
	}
	buf_puts(out, "\n],\n\"deleted\": [");
	for (size_t i = 0; i < m->deleted.len; i++) {
		buf_puts(out, i ? ",\n{" : "\n{");
		json_name(out, "path", m->deleted.items[i], false);
		buf_puts(out, "}");
		sink_drain(sink, SINK_DRAIN_AT);
	}
	buf_puts(out, "\n],\n\"holds\": {");
	format_contents(sink, holds, false, holder);
	buf_puts(out, "\n}\n}\n");
	sink_drain(sink, 0);
}

void catalog_manifest_format(const struct manifest *m, struct buf *out)
{
	struct catalog_sink sink = { out, NULL, NULL, 0 };

	format_manifest(m, &m->holds, NULL, NULL, &sink);
}

int catalog_manifest_write(const struct manifest *m,
			   const struct content_index *contents,
			   const char *holder,
			   const struct catalog_records *rec,
			   int (*take)(void *ctx, const char *data, size_t len),
			   void *ctx)
{
	struct buf text = {0};
	struct catalog_sink sink = { &text, take, ctx, 0 };

	format_manifest(m, contents ? contents : &m->holds,
			contents ? holder : NULL, rec, &sink);
	buf_release(&text);
	return sink.failed;
}

/* ---- saving ---- */

/* A catalog_sink's take(): errno of a failed write, or 0. The bytes go
 * to disk as they are written, so the fsync at the end waits for little. */
static int write_to_fd(void *ctx, const char *data, size_t len)
{
	struct fs_writeback *wb = ctx;

	if (fs_write_all(wb->fd, data, len) < 0)
		return errno ? errno : EIO;
	fs_writeback_advance(wb, len);
	return 0;
}

/* A save under way: the file being written, and the thread writing the
 * body to it while the caller goes on. */
struct catalog_saving {
	const struct metadata *md;
	char *path, *tmp;
	int fd;
	struct fs_writeback out;
	struct catalog_records *records; /* in the file replaced */
	struct buf text;
	struct catalog_sink sink;
	pthread_t thread;
	bool threaded;
	struct error err;
	int rc;
};

/* The body goes to the disk while the caller still works (a run commits
 * its archive meanwhile): the final fsync is then left only the history.
 * A failure is kept, as a later fsync may not report it again. */
static void *write_body(void *arg)
{
	struct catalog_saving *s = arg;

	struct record_source src;

	format_body(s->md, record_source_of(s->records, &src), &s->sink);
	if (!s->sink.failed && fdatasync(s->fd) < 0)
		s->sink.failed = errno ? errno : EIO;
	return NULL;
}

static void saving_free(struct catalog_saving *s)
{
	if (s->fd >= 0) {
		close(s->fd);
		unlink(s->tmp);
	}
	catalog_records_close(s->records);
	buf_release(&s->text);
	free(s->tmp);
	free(s->path);
	free(s);
}

struct catalog_saving *catalog_save_begin(const char *dest,
					  const struct metadata *md)
{
	struct catalog_saving *s = xcalloc(1, sizeof(*s));

	fault_point("metadata:save");
	s->md = md;
	s->path = path_join(dest, METADATA_FILE_NAME);
	s->sink = (struct catalog_sink){ &s->text, write_to_fd, &s->out, 0 };
	/* Saving now would drop every content record. */
	if (md->contents_pending) {
		s->fd = -1;
		s->rc = error_set(&s->err, "internal error: '%s' would be "
				  "saved without its contents",
				  METADATA_FILE_NAME);
		return s;
	}
	s->fd = fs_temp_open(dest, METADATA_FILE_NAME, 0600, &s->tmp,
			     &s->err);
	if (s->fd < 0) {
		s->rc = -1;
		return s;
	}
	s->out.fd = s->fd;
	s->records = catalog_records_open(dest, md);
	grow_array((void **)&s->text.data, &s->text.alloc,
		   SINK_DRAIN_AT + 65536, 1);
	s->threaded = threads_start(&s->thread, write_body, s) == 0;
	/* Without a thread it is only not overlapped. */
	if (!s->threaded)
		write_body(s);
	return s;
}

int catalog_save_end(struct catalog_saving *s, struct error *err)
{
	int rc = s->rc;

	if (s->threaded)
		pthread_join(s->thread, NULL);
	if (rc == 0) {
		format_tail(s->md, &s->sink);
		if (s->sink.failed)
			rc = error_set(&s->err, "cannot write '%s': %s",
				       s->path, strerror(s->sink.failed));
	}
	if (rc == 0) {
		rc = fs_commit_temp(s->fd, s->tmp, s->path, &s->err);
		s->fd = -1;
	}
	if (rc < 0)
		*err = s->err;
	saving_free(s);
	return rc;
}

void catalog_save_abort(struct catalog_saving *s)
{
	if (!s)
		return;
	if (s->threaded)
		pthread_join(s->thread, NULL);
	saving_free(s);
}

int catalog_save(const char *dest, const struct metadata *md, struct error *err)
{
	return catalog_save_end(catalog_save_begin(dest, md), err);
}
