/* backup_metadata.json and archive manifests: JSON <-> struct metadata /
 * struct manifest. Written by hand one record per line (so the file diffs and
 * greps well); read with a pull parser straight into the structures (no JSON
 * tree: see json.h) and validated field by field, because a hand-edited or
 * damaged file must give a clear error, never a crash or a silently wrong
 * state. */
#include "metadata.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>


#include "faultpoint.h"
#include "fsutil.h"
#include "json.h"
#include "records.h"

#define METADATA_MAX_SIZE ((size_t)4 << 30)
#define MAX_EXACT_INT 9007199254740992.0 /* 2^53: doubles are exact below */

/* ---- writing ---- */

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
struct metadata_sink {
	struct buf *text;
	int (*take)(void *ctx, const char *data, size_t len);
	void *ctx;
	int failed;          /* take()'s first nonzero result */
};

/* Small enough that the pieces in flight (a manifest's, the metadata's
 * file records' and its contents') cost little at the peak of a big run,
 * big enough that a write is rare. */
#define SINK_DRAIN_AT ((size_t)1 << 20)

static void sink_put(struct metadata_sink *sink, const char *data,
		     size_t len)
{
	if (!sink->take)
		buf_append(sink->text, data, len);
	else if (!sink->failed)
		sink->failed = sink->take(sink->ctx, data, len);
}

static void sink_drain(struct metadata_sink *sink, size_t at_least)
{
	if (!sink->take || sink->text->len < at_least)
		return;
	sink_put(sink, sink->text->data, sink->text->len);
	sink->text->len = 0;
}

/* Those held by `holder` only, if not NULL. */
static void format_contents(struct metadata_sink *sink,
			    const struct content_index *idx, bool with_owner,
			    const char *holder)
{
	bool owned;
	const struct content **sorted = content_order(idx, &owned);
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
	const struct content **sorted = content_order(p->contents, &owned);
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

static void take_contents(struct contents_pipe *p, struct metadata_sink *sink)
{
	struct buf piece;

	sink_drain(sink, 0);
	while (pipe_take(p, &piece)) {
		sink_put(sink, piece.data, piece.len);
		buf_release(&piece);
	}
}

/* backup_metadata.json opened, and mapped once asked. */
struct metadata_file {
	char *path;
	int fd;
	struct stat st;
	void *map;    /* MAP_FAILED until mapped, and for an empty file */
};

/* The records of md's file: see metadata_records_open(). */
struct metadata_records {
	struct metadata_file f;
	size_t from, to;      /* file_checksums' byte range */
};

/* The file_checksums of the file a save replaces, mapped, for copying the
 * records that entries kept (tree_entry.same_record) instead of
 * formatting them again: at is the first line not passed yet. */
struct record_source {
	const char *at, *end;
	const char *released;   /* pages before this were given back */
};

/* src set to read rec's records from the start; NULL if rec is. */
static struct record_source *record_source_of(
	const struct metadata_records *rec, struct record_source *src)
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
	c = content_find(&md->contents, e->checksum);
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
			   struct metadata_sink *sink)
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
			struct metadata_sink *sink)
{
	struct buf *out = sink->text;
	struct contents_pipe pipe = { .contents = &md->contents };
	pthread_t thread;
	bool threaded = false;

	if (md->contents.len >= 4096) {
		pthread_mutex_init(&pipe.lock, NULL);
		pthread_cond_init(&pipe.changed, NULL);
		threaded = pthread_create(&thread, NULL,
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
			content_find(&md->contents, e->checksum) : NULL;
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

static void format_tail(const struct metadata *md, struct metadata_sink *sink)
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
			    struct metadata_sink *sink)
{
	format_body(md, NULL, sink);
	format_tail(md, sink);
}

void metadata_format(const struct metadata *md, struct buf *out)
{
	struct metadata_sink sink = { out, NULL, NULL, 0 };

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

/* holds: see manifest_write(); rec: see metadata_records_open(). */
static void format_manifest(const struct manifest *m,
			    const struct content_index *holds,
			    const char *holder,
			    const struct metadata_records *rec,
			    struct metadata_sink *sink)
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

void manifest_format(const struct manifest *m, struct buf *out)
{
	struct metadata_sink sink = { out, NULL, NULL, 0 };

	format_manifest(m, &m->holds, NULL, NULL, &sink);
}

int manifest_write(const struct manifest *m,
		   const struct content_index *contents, const char *holder,
		   const struct metadata_records *rec,
		   int (*take)(void *ctx, const char *data, size_t len),
		   void *ctx)
{
	struct buf text = {0};
	struct metadata_sink sink = { &text, take, ctx, 0 };

	format_manifest(m, contents ? contents : &m->holds,
			contents ? holder : NULL, rec, &sink);
	buf_release(&text);
	return sink.failed;
}

/* ---- reading ---- */


static const char *const entry_fields[F_COUNT] = {
	"path", "path_hex", "type", "size", "modified_time", "mtime", "ctime",
	"inode", "mode", "uid", "gid", "checksum", "link_target",
	"link_target_hex", "recheck",
};

/* The first byte rules out most names before a full comparison. */
static int field_index(const char *const *names, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (names[i][0] == key[0] && !strcmp(names[i], key))
			return i;
	return -1;
}

/* The decoded string, which must not hold a NUL (\u0000). */
static int string_value(struct json_reader *r, const char *what)
{
	if (json_read_string(r, what) < 0)
		return -1;
	if (strlen(r->str) != r->str_len)
		return error_set(r->err, "%s contains a NUL character", what);
	return 0;
}

static char *decode_hex_name(struct json_reader *r, const char *what)
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

static int read_name(struct json_reader *r, char **out, bool hex,
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

static int read_time_pair(struct json_reader *r, struct nstime *t,
			  const char *what)
{
	int64_t sec, nsec;
	int n1, n2, n3;

	/* A syntax error (a truncated file) keeps the reader's message; a
	 * well-formed array of the wrong length gets ours. */
	if (json_array_begin(r, what) < 0 || (n1 = json_array_next(r)) < 0)
		return -1;
	if (n1 == 0)
		goto shape;
	if (json_read_int(r, -1000000000000000LL, 1000000000000000LL, &sec,
			  what) < 0 || (n2 = json_array_next(r)) < 0)
		return -1;
	if (n2 == 0)
		goto shape;
	if (json_read_int(r, 0, 999999999, &nsec, what) < 0 ||
	    (n3 = json_array_next(r)) < 0)
		return -1;
	if (n3 != 0)
		goto shape;
	t->sec = sec;
	t->nsec = (int32_t)nsec;
	return 0;
shape:
	return error_set(r->err, "%s must be [seconds, nanoseconds]", what);
}

static int read_u32(struct json_reader *r, uint32_t *out, const char *what)
{
	int64_t v;

	if (json_read_int(r, 0, UINT32_MAX, &v, what) < 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int read_type(struct json_reader *r, struct tree_entry *e)
{
	enum entry_type type;

	if (string_value(r, "'type'") < 0)
		return -1;
	if (tree_type_parse(r->str, &type) < 0)
		return error_set(r->err, "unknown type '%s'", r->str);
	e->type = (uint8_t)type;
	return 0;
}

static int read_inode(struct json_reader *r, struct tree_entry *e)
{
	int64_t n;

	if (string_value(r, "'inode'") < 0)
		return -1;
	if (parse_int64(r->str, 0, INT64_MAX, &n) < 0)
		return error_set(r->err, "'inode' must be a decimal number");
	e->ino = (uint64_t)n;
	return 0;
}

static int read_mode(struct json_reader *r, struct tree_entry *e)
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

static int read_checksum(struct json_reader *r, uint8_t out[HASH_SIZE],
			 const char *what)
{
	if (string_value(r, what) < 0)
		return -1;
	if (r->str_len != 2 * HASH_SIZE || hex_decode(r->str, out, HASH_SIZE))
		return error_set(r->err, "%s must be 64 hex digits", what);
	return 0;
}

static int read_size(struct json_reader *r, uint64_t *out, const char *what)
{
	int64_t v;

	if (json_read_int(r, 0, INT64_MAX, &v, what) < 0)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

static int read_entry_field(struct json_reader *r, struct entry_state *st,
			    int f)
{
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
		return json_read_double(r, &st->modified_time,
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

		if (json_read_bool(r, &recheck, "'recheck'") < 0)
			return -1;
		e->recheck = recheck;
		return 0;
	}
	default: return json_skip(r);
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

static int read_entry_fields(struct json_reader *r, struct entry_state *st)
{
	int more;

	if (json_object_begin(r, "an entry") < 0)
		return -1;
	while ((more = json_object_next(r)) > 0) {
		int f = field_index(entry_fields, F_COUNT, r->str);

		if (f >= 0 && (st->seen & 1u << f))
			return error_set(r->err, "'%s' appears twice",
					 entry_fields[f]);
		if (f >= 0)
			st->seen |= 1u << f;
		if (read_entry_field(r, st, f) < 0)
			return -1;
	}
	return more;
}

/* read_entry(); *fast says whether the record was laid out as incbak
 * writes it. */
static int read_entry_noting_layout(struct json_reader *r, struct tree *t,
				    const char *key, const char *where,
				    bool *fast)
{
	struct tree_entry *e = tree_push(t);
	struct entry_state st = { .e = e };

	if (key) {
		e->path = tree_store_path(t, key);
		e->path_stored = true;
	}
	*fast = fast_entry_fields(r, t, &st, !key);
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
int read_entry(struct json_reader *r, struct tree *t, const char *key,
	       const char *where)
{
	bool fast;

	return read_entry_noting_layout(r, t, key, where, &fast);
}

/* Whether the file record just read, keyed `key` (len bytes), can be
 * found again by its path and copied whole: laid out as incbak writes
 * records, on a line of its own, its key the path itself (no escapes). */
static bool record_is_copyable(const struct json_reader *r, const char *key,
			       size_t len)
{
	return r->element > r->start && r->element[-1] == '\n' &&
	       r->element[0] == '"' && r->element + len + 4 <= r->p &&
	       !memcmp(r->element + 1, key, len) &&
	       !memcmp(r->element + 1 + len, "\":{", 3) &&
	       (r->p == r->end || *r->p == ',' || *r->p == '\n');
}

int check_duplicates(const struct tree *t, struct error *err)
{
	ptrdiff_t dup = tree_find_duplicate(t);

	if (dup >= 0)
		return error_set(err, "path '%s' appears twice",
				 t->entries[dup].path);
	return 0;
}

/* With mark_records, the entries whose records a save may copy are
 * marked (tree_entry.same_record). */
static int read_file_checksums(struct json_reader *r, struct tree *files,
			       bool mark_records)
{
	int more;

	if (json_object_begin(r, "'file_checksums'") < 0)
		return -1;
	while ((more = json_object_next(r)) > 0) {
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
	return check_duplicates(files, r->err);
}

static int read_files_array(struct json_reader *r, struct tree *files)
{
	int more;

	if (json_array_begin(r, "'files'") < 0)
		return -1;
	while ((more = json_array_next(r)) > 0)
		if (read_entry(r, files, NULL, "files") < 0)
			return -1;
	if (more < 0)
		return -1;
	tree_sort(files);
	return check_duplicates(files, r->err);
}

bool is_backup_id(const char *s)
{
	static const char shape[] = "dddd-dd-dd_dd-dd-dd";

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return false;
	return true;
}

static int read_backup_id(struct json_reader *r, char **out, const char *what)
{
	if (string_value(r, what) < 0)
		return -1;
	if (!is_backup_id(r->str))
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

static int read_id_into(struct json_reader *r, char out[BACKUP_ID_SIZE],
			const char *what)
{
	if (string_value(r, what) < 0)
		return -1;
	if (!is_backup_id(r->str))
		return error_set(r->err, "%s is not a backup id "
				 "(YYYY-MM-DD_HH-MM-SS)", what);
	memcpy(out, r->str, BACKUP_ID_SIZE);
	return 0;
}

static int read_content_field(struct json_reader *r, struct content_state *c,
			      int f)
{
	switch (f) {
	case C_SIZE: return read_size(r, &c->size, "'size'");
	case C_MEMBER: return read_name(r, &c->member, false, "'member'");
	case C_MEMBER_HEX: return read_name(r, &c->member, true,
					    "'member_hex'");
	case C_HOLDER: return read_id_into(r, c->holder, "'backup_id'");
	case C_LAST: return read_id_into(r, c->last, "'last_used'");
	case C_FRAME: return read_size(r, &c->frame, "'frame'");
	case C_SKIP: return read_size(r, &c->skip, "'skip'");
	default: return json_skip(r);
	}
}

static int read_content_fields(struct json_reader *r, struct content_state *c,
			       bool with_owner)
{
	int more;

	if (fast_content_fields(r, c))
		goto check;
	if (json_object_begin(r, "a content") < 0)
		return -1;
	while ((more = json_object_next(r)) > 0) {
		int f = field_index(content_fields, C_COUNT, r->str);

		if (f >= 0 && (c->seen & 1u << f))
			return error_set(r->err, "'%s' appears twice",
					 content_fields[f]);
		if (f >= 0)
			c->seen |= 1u << f;
		if (read_content_field(r, c, f) < 0)
			return -1;
	}
	if (more < 0)
		return -1;
check:
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
struct content_filter {
	const uint8_t *sums;  /* sorted, nsums * HASH_SIZE bytes */
	size_t nsums;
	bool skim;            /* skip the others unchecked (METADATA_SKIM) */
};

static int cmp_checksums(const void *a, const void *b)
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
				   cmp_checksums);
}

/* A record a reader leaves out: skimmed where allowed and laid out for
 * it, else checked as JSON. */
static int leave_record(struct json_reader *r, bool skim)
{
	if (skim && json_skim_record(r))
		return 0;
	return json_skip(r);
}

int read_content(struct json_reader *r, struct content_index *idx,
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
	if (idx && content_find(idx, sum)) {
		error_set(r->err, "appears twice");
		goto out;
	}
	if (read_content_fields(r, &c, with_owner) < 0)
		goto out;
	rc = 0;
	if (!idx)
		goto out;
	item = content_insert(idx, sum, c.size, c.holder, c.member, c.last);
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
static int leave_records(struct json_reader *r, bool skim, const char *what)
{
	int more;

	if (json_object_begin(r, what) < 0)
		return -1;
	if (skim)
		json_skim_records(r, true);
	while ((more = json_object_next(r)) > 0)
		if (leave_record(r, skim) < 0)
			return -1;
	return more;
}

/* With idx NULL, each record is checked and dropped (see
 * metadata_load_parts); records `only` does not keep are left out. */
static int read_contents(struct json_reader *r, struct content_index *idx,
			 bool with_owner, const struct content_filter *only,
			 const char *what)
{
	int more;

	if (only && !only->nsums)
		return leave_records(r, only->skim, what);
	if (json_object_begin(r, what) < 0)
		return -1;
	while ((more = json_object_next(r)) > 0) {
		int rc = filter_keeps(only, r->str, r->str_len) ?
			 read_content(r, idx, with_owner) :
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

static int read_history_field(struct json_reader *r, struct history_entry *h,
			      int f)
{
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
	case -1: return json_skip(r);
	default:
		return json_read_int(r, 0, INT64_MAX, counts[f],
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

static int read_history_entry(struct json_reader *r, struct metadata *md)
{
	struct history_entry *h = metadata_add_history(md);
	unsigned seen = 0;
	int more;

	if (json_object_begin(r, "an entry") < 0)
		return -1;
	while ((more = json_object_next(r)) > 0) {
		int f = field_index(history_fields, H_COUNT, r->str);

		if (f >= 0 && (seen & 1u << f))
			return error_set(r->err, "'%s' appears twice",
					 history_fields[f]);
		if (f >= 0)
			seen |= 1u << f;
		if (read_history_field(r, h, f) < 0)
			return -1;
	}
	if (more < 0)
		return -1;
	return check_history_entry(md, h, r->err);
}

static int read_history(struct json_reader *r, struct metadata *md)
{
	int more;

	if (json_array_begin(r, "'backup_history'") < 0)
		return -1;
	while ((more = json_array_next(r)) > 0)
		if (read_history_entry(r, md) < 0)
			return error_prefix(r->err, "backup_history");
	return more;
}

/* An array of {"path": ...} or {"path_hex": ...}. */
int read_path_list(struct json_reader *r, struct strlist *out,
			  const char *what)
{
	int more;

	if (json_array_begin(r, what) < 0)
		return -1;
	while ((more = json_array_next(r)) > 0) {
		char *path = NULL;
		int inner;

		if (json_object_begin(r, what) < 0)
			return -1;
		while ((inner = json_object_next(r)) > 0) {
			bool hex = !strcmp(r->str, "path_hex");

			if ((hex || !strcmp(r->str, "path")) ?
			    read_name(r, &path, hex, what) < 0 :
			    json_skip(r) < 0) {
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
	int (*read)(struct json_reader *r, int key, void *ctx);
	void *ctx;
};

static int read_top(struct json_reader *r, const struct top_reader *t)
{
	unsigned seen = 0;
	int more;

	if (json_object_begin(r, "the top level") < 0)
		return -1;
	while ((more = json_object_next(r)) > 0) {
		int k = field_index(t->keys, t->nkeys, r->str);

		if (k < 0) {
			if (json_skip(r) < 0)
				return -1;
			continue;
		}
		if (seen & 1u << k)
			return error_set(r->err, "'%s' appears twice",
					 t->keys[k]);
		seen |= 1u << k;
		if (t->read(r, k, t->ctx) < 0)
			return -1;
	}
	if (more < 0)
		return -1;
	return json_finish(r) < 0 ? -1 : (int)seen;
}

static int read_version(struct json_reader *r, int newest)
{
	int64_t version;

	if (json_read_int(r, 0, 1000000, &version, "'format_version'") < 0)
		return -1;
	if (version > newest)
		return error_set(r->err, "format_version %lld is newer than "
				 "this incbak understands (%d)",
				 (long long)version, newest);
	return 0;
}

enum { M_VERSION, M_DATE, M_FILES, M_CONTENTS, M_HISTORY, M_SPECIALS,
       M_TREE_ID, M_COUNT };

static const char *const metadata_keys[M_COUNT] = {
	"format_version", "last_backup_date", "file_checksums", "contents",
	"backup_history", "reported_specials", "tree_backup_id",
};

struct metadata_reader {
	struct metadata *md;
	unsigned parts;
	const struct content_filter *only; /* contents kept; NULL: as parts
					      says */
	bool contents_read;                /* every one of them */
};

/* Left out, with METADATA_SKIM. */
static const struct content_filter no_contents = { NULL, 0, true };

static int read_metadata_key(struct json_reader *r, int key, void *ctx)
{
	struct metadata_reader *mr = ctx;
	struct metadata *md = mr->md;

	switch (key) {
	case M_VERSION: return read_version(r, METADATA_FORMAT_VERSION);
	case M_TREE_ID:
		return read_backup_id(r, &md->tree_backup_id,
				      "'tree_backup_id'");
	case M_DATE:
		if (json_peek(r) == JSON_NULL)
			return json_read_null(r);
		return read_name(r, &md->last_backup_date, false,
				 "'last_backup_date'");
	case M_FILES:
		if (mr->parts & METADATA_FILES) {
			md->origin.files_from = (size_t)(r->p - r->start);
			if (read_file_checksums(r, &md->files,
						mr->parts & METADATA_RECORDS) < 0)
				return -1;
			md->origin.files_to = (size_t)(r->p - r->start);
			return 0;
		}
		if (mr->parts & METADATA_SKIM)
			return leave_records(r, true, "'file_checksums'");
		return json_skip(r);
	case M_CONTENTS: {
		size_t from = (size_t)(r->p - r->start);
		/* What follows the contents (the history) is small: the
		 * rest of the file says how big they are. */
		bool all = (mr->parts & METADATA_CONTENTS) ||
			   ((mr->parts & METADATA_SMALL_CONTENTS) && !mr->only &&
			    (size_t)(r->end - r->p) <=
			    METADATA_SMALL_CONTENTS_SIZE);
		const struct content_filter *only = mr->only;

		if (!all && !only && (mr->parts & METADATA_SKIM))
			only = &no_contents;
		if (read_contents(r, all || mr->only ? &md->contents : NULL,
				  true, all ? NULL : only, "'contents'") < 0)
			return -1;
		md->origin.contents_from = from;
		md->origin.contents_to = (size_t)(r->p - r->start);
		mr->contents_read = all;
		return 0;
	}
	case M_HISTORY: return read_history(r, md);
	default: return read_path_list(r, &md->reported_specials,
				       "'reported_specials'");
	}
}

static int parse_metadata_text(const char *text, size_t len, bool mapped,
			       unsigned parts, const struct content_filter *only,
			       struct metadata *md, struct error *err)
{
	struct json_reader r;
	struct metadata_reader mr = { md, parts, only, false };
	struct top_reader t = { metadata_keys, M_COUNT, read_metadata_key,
				&mr };
	int seen;

	json_reader_init(&r, text, len, mapped, err);
	seen = read_top(&r, &t);
	json_reader_release(&r);
	if (seen >= 0 && !(seen & 1 << M_FILES))
		seen = error_set(err, "missing 'file_checksums'");
	if (seen < 0) {
		metadata_release(md);
		metadata_init(md);
		return -1;
	}
	md->contents_pending = !(parts & METADATA_CONTENTS) &&
			       !mr.contents_read;
	return 0;
}

int metadata_parse(const char *text, size_t len, struct metadata *md,
		   struct error *err)
{
	return parse_metadata_text(text, len, false, METADATA_ALL, NULL, md,
				   err);
}

enum { N_VERSION, N_ID, N_DATE, N_ADDED, N_MODIFIED, N_DELETED, N_FILES,
       N_DELETED_LIST, N_HOLDS, N_PARENT, N_COUNT };

static const char *const manifest_keys[N_COUNT] = {
	"format_version", "backup_id", "date", "files_added",
	"files_modified", "files_deleted", "files", "deleted", "holds",
	"parent",
};

static int read_manifest_key(struct json_reader *r, int key, void *ctx)
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
	case N_DATE: return read_name(r, &m->date, false, "'date'");
	case N_ADDED: return json_read_int(r, 0, INT64_MAX, &m->files_added,
					   "'files_added'");
	case N_MODIFIED: return json_read_int(r, 0, INT64_MAX,
					      &m->files_modified,
					      "'files_modified'");
	case N_DELETED: return json_read_int(r, 0, INT64_MAX,
					     &m->files_deleted,
					     "'files_deleted'");
	case N_FILES: return read_files_array(r, &m->files);
	case N_DELETED_LIST: return read_path_list(r, &m->deleted,
						   "'deleted'");
	default: return read_contents(r, &m->holds, false, NULL, "'holds'");
	}
}

int manifest_parse(const char *text, size_t len, struct manifest *m,
		   struct error *err)
{
	struct json_reader r;
	struct top_reader t = { manifest_keys, N_COUNT, read_manifest_key, m };
	int seen;

	json_reader_init(&r, text, len, false, err);
	seen = read_top(&r, &t);
	json_reader_release(&r);
	if (seen >= 0 && (!m->backup_id || !m->date))
		seen = error_set(err, "manifest: missing 'backup_id' or "
				 "'date'");
	if (seen < 0) {
		manifest_release(m);
		manifest_init(m);
		return -1;
	}
	return 0;
}

/* ---- files ---- */

static void remember_origin(struct metadata_origin *o, const struct stat *st)
{
	o->known = true;
	o->dev = st->st_dev;
	o->ino = st->st_ino;
	o->size = st->st_size;
	o->mtime = st->st_mtim;
	o->ctime = st->st_ctim;
}

static bool same_timespec(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static bool is_origin(const struct metadata_origin *o, const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_dev == o->dev &&
	       st->st_ino == o->ino && st->st_size == o->size &&
	       same_timespec(st->st_mtim, o->mtime) &&
	       same_timespec(st->st_ctim, o->ctime) &&
	       o->contents_from <= o->contents_to &&
	       o->contents_to <= (size_t)o->size;
}

/* 0, or -1 with errno set (ENOENT: there is none). */
static int metadata_file_open(const char *dest, struct metadata_file *f)
{
	memset(f, 0, sizeof(*f));
	f->path = path_join(dest, METADATA_FILE_NAME);
	f->map = MAP_FAILED;
	/* O_NONBLOCK: a FIFO planted under this name must not hang us. */
	f->fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	return f->fd < 0 || fstat(f->fd, &f->st) < 0 ? -1 : 0;
}

/* Maps the whole file read-only; 0, or -1 with errno set. */
static int metadata_file_map(struct metadata_file *f)
{
	if (f->st.st_size == 0)
		return 0;
	f->map = mmap(NULL, (size_t)f->st.st_size, PROT_READ, MAP_PRIVATE,
		      f->fd, 0);
	return f->map == MAP_FAILED ? -1 : 0;
}

static void metadata_file_close(struct metadata_file *f)
{
	if (f->map != MAP_FAILED)
		munmap(f->map, (size_t)f->st.st_size);
	if (f->fd >= 0)
		close(f->fd);
	free(f->path);
}

/* The line of the contents record for checksum `hex`, by bisection of
 * the lines in [lo, hi): incbak writes them one per line, sorted. */
static bool bisect_content(const char *lo, const char *hi, const char *hex,
			   struct buf *out)
{
	while (lo < hi) {
		const char *mid = lo + (hi - lo) / 2;
		const char *start = memrchr(lo, '\n', (size_t)(mid - lo));
		const char *end;
		size_t len;
		int c;

		start = start ? start + 1 : lo;
		end = memchr(start, '\n', (size_t)(hi - start));
		end = end ? end : hi;
		len = (size_t)(end - start);
		if (len < HASH_HEX_SIZE + 1 || start[0] != '"' ||
		    start[HASH_HEX_SIZE] != '"')
			return false;
		c = memcmp(start + 1, hex, HASH_HEX_SIZE - 1);
		if (c == 0) {
			if (start[len - 1] == ',')
				len--;
			buf_puts(out, out->len > 2 ? ",\n" : "");
			buf_append(out, start, len);
			return true;
		}
		if (c < 0)
			lo = end + 1;
		else
			hi = start;
	}
	return false;
}

/* The records `only` keeps, found by bisection in the contents object
 * text[0..len) and parsed as a contents object of their own. 0, 1 if one
 * is not found that way (the caller reads the records in turn), -1. */
static int bisect_contents(const char *text, size_t len,
			   const struct content_filter *only,
			   struct content_index *idx, struct error *err)
{
	struct buf found = {0};
	struct json_reader r;
	char hex[HASH_HEX_SIZE];
	int rc = 1;

	while (len && *text == ' ') {
		text++;
		len--;
	}
	if (len < 4 || memcmp(text, "{\n", 2) || memcmp(text + len - 2, "\n}", 2))
		return 1;
	buf_puts(&found, "{\n");
	for (size_t i = 0; i < only->nsums; i++) {
		const uint8_t *sum = only->sums + i * HASH_SIZE;

		if (i && !memcmp(sum, sum - HASH_SIZE, HASH_SIZE))
			continue;
		hex_encode(sum, HASH_SIZE, hex);
		if (!bisect_content(text + 2, text + len - 1, hex, &found))
			goto out;
	}
	buf_puts(&found, "\n}");
	json_reader_init(&r, found.data, found.len, false, err);
	rc = read_contents(&r, idx, true, NULL, "'contents'") < 0 ||
	     json_finish(&r) < 0 ? -1 : 0;
	json_reader_release(&r);
out:
	buf_release(&found);
	return rc;
}

/* A metadata file that does not parse: the error says so, where, and
 * what gets the user out of it. */
static void report_corrupt(struct error *err, const char *path)
{
	char *why = xstrdup(err->msg);

	error_set(err, "corrupt metadata '%s': %s; 'incbak repair' rebuilds "
		  "it from the archives", path, why);
	free(why);
}

/* Reads the contents (those `only` keeps) from their byte range of the
 * file the load read. Returns 0 when done, 1 when the file is not that one
 * any more (the caller then reads it whole), -1 on an error naming the
 * file. */
static int load_contents_range(const char *dest, struct metadata *md,
			       const struct content_filter *only,
			       struct error *err)
{
	const struct metadata_origin *o = &md->origin;
	struct content_index idx = {0};
	struct metadata_file f;
	struct json_reader r;
	int rc = 1;

	if (metadata_file_open(dest, &f) < 0 || !is_origin(o, &f.st))
		goto out;
	if (o->contents_to > o->contents_from) {
		if (metadata_file_map(&f) < 0)
			goto out;
		const char *text = (const char *)f.map + o->contents_from;
		size_t len = o->contents_to - o->contents_from;

		rc = only && only->nsums ?
		     bisect_contents(text, len, only, &idx, err) : 1;
		if (rc > 0) {
			content_index_release(&idx);
			json_reader_init(&r, text, len, true, err);
			rc = read_contents(&r, &idx, true, only,
					   "'contents'") < 0 ||
			     json_finish(&r) < 0 ? -1 : 0;
			json_reader_release(&r);
		}
		if (rc < 0) {
			report_corrupt(err, f.path);
			content_index_release(&idx);
			goto out;
		}
	}
	content_index_release(&md->contents);
	md->contents = idx;
	md->contents_pending = only != NULL;
	rc = 0;
out:
	metadata_file_close(&f);
	return rc;
}

static int load_parts(const char *dest, struct metadata *md, bool *found,
		      unsigned parts, const struct content_filter *only,
		      struct error *err)
{
	struct metadata_file f;
	int rc = -1;

	*found = false;
	if (metadata_file_open(dest, &f) < 0) {
		if (f.fd < 0 && errno == ENOENT) {
			rc = 0;
			goto out;
		}
		*found = true;
		error_set(err, "cannot read '%s': %s", f.path, strerror(errno));
		goto out;
	}
	*found = true;
	if (!S_ISREG(f.st.st_mode)) {
		error_set(err, "cannot read '%s': not a regular file", f.path);
		goto out;
	}
	/* Mapped and read front to back, the pages already parsed are
	 * dropped as we go (see json.c), so the file's size does not add to
	 * the run's memory. */
	if (metadata_file_map(&f) < 0) {
		error_set(err, "cannot read '%s': %s", f.path, strerror(errno));
		goto out;
	}
	if (f.map != MAP_FAILED)
		madvise(f.map, (size_t)f.st.st_size, MADV_SEQUENTIAL);
	if (parse_metadata_text(f.map == MAP_FAILED ? "" : f.map,
				(size_t)f.st.st_size, true, parts, only, md,
				err) < 0) {
		report_corrupt(err, f.path);
		goto out;
	}
	if (md->contents_pending || (parts & METADATA_RECORDS))
		remember_origin(&md->origin, &f.st);
	rc = 0;
out:
	metadata_file_close(&f);
	return rc;
}

int metadata_load_parts(const char *dest, struct metadata *md, bool *found,
			unsigned parts, struct error *err)
{
	return load_parts(dest, md, found, parts, NULL, err);
}

int metadata_load(const char *dest, struct metadata *md, bool *found,
		  struct error *err)
{
	return metadata_load_parts(dest, md, found, METADATA_ALL, err);
}

/* The contents `only` keeps (NULL: all) of the file an earlier load left
 * them out of: from their byte range if it is still that file, else from
 * the whole file again. */
static int reload_contents(const char *dest, struct metadata *md,
			   const struct content_filter *only,
			   struct error *err)
{
	struct metadata part;
	bool found;
	unsigned parts = only ? METADATA_SKIM : METADATA_CONTENTS;

	if (md->origin.known) {
		int rc = load_contents_range(dest, md, only, err);

		if (rc <= 0)
			return rc;
	}
	metadata_init(&part);
	if (load_parts(dest, &part, &found, parts, only, err) < 0)
		return -1;
	content_index_release(&md->contents);
	md->contents = part.contents;
	memset(&part.contents, 0, sizeof(part.contents));
	metadata_release(&part);
	md->contents_pending = only != NULL;
	return 0;
}

int metadata_load_contents(const char *dest, struct metadata *md,
			   struct error *err)
{
	if (!md->contents_pending)
		return 0;
	return reload_contents(dest, md, NULL, err);
}

int metadata_load_some_contents(const char *dest, struct metadata *md,
				const uint8_t *sums, size_t n,
				struct error *err)
{
	uint8_t *sorted;
	struct content_filter only;
	int rc;

	if (!md->contents_pending)
		return 0;
	sorted = xmalloc(n ? n * HASH_SIZE : 1);
	only = (struct content_filter){ sorted, n, true };
	if (n) {
		memcpy(sorted, sums, n * HASH_SIZE);
		qsort(sorted, n, HASH_SIZE, cmp_checksums);
	}
	rc = reload_contents(dest, md, &only, err);
	free(sorted);
	return rc;
}

struct metadata_loading {
	pthread_t thread;
	bool threaded;
	const char *dest;
	unsigned parts;
	struct metadata md;
	bool found;
	int rc;
	struct error err;
};

static void *load_in_background(void *arg)
{
	struct metadata_loading *l = arg;

	l->rc = metadata_load_parts(l->dest, &l->md, &l->found, l->parts,
				    &l->err);
	return NULL;
}

struct metadata_loading *metadata_load_start(const char *dest,
					     unsigned parts)
{
	struct metadata_loading *l = xcalloc(1, sizeof(*l));

	l->dest = dest;
	l->parts = parts;
	metadata_init(&l->md);
	l->threaded = pthread_create(&l->thread, NULL, load_in_background,
				     l) == 0;
	/* Without a thread the load is only not overlapped. */
	if (!l->threaded)
		load_in_background(l);
	return l;
}

int metadata_load_finish(struct metadata_loading *l, struct metadata *md,
			 bool *found, struct error *err)
{
	int rc;

	if (l->threaded)
		pthread_join(l->thread, NULL);
	rc = l->rc;
	if (rc < 0) {
		if (err)
			*err = l->err;
		metadata_release(&l->md);
	} else {
		metadata_release(md);
		*md = l->md;
		*found = l->found;
	}
	free(l);
	return rc;
}

/* A metadata_sink's take(): errno of a failed write, or 0. The bytes go
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
struct metadata_saving {
	const struct metadata *md;
	char *path, *tmp;
	int fd;
	struct fs_writeback out;
	struct metadata_records *records; /* in the file replaced */
	struct buf text;
	struct metadata_sink sink;
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
	struct metadata_saving *s = arg;

	struct record_source src;

	format_body(s->md, record_source_of(s->records, &src), &s->sink);
	if (!s->sink.failed && fdatasync(s->fd) < 0)
		s->sink.failed = errno ? errno : EIO;
	return NULL;
}

static void saving_free(struct metadata_saving *s)
{
	if (s->fd >= 0) {
		close(s->fd);
		unlink(s->tmp);
	}
	metadata_records_close(s->records);
	buf_release(&s->text);
	free(s->tmp);
	free(s->path);
	free(s);
}

struct metadata_records *metadata_records_open(const char *dest,
					       const struct metadata *md)
{
	const struct metadata_origin *o = &md->origin;
	struct metadata_records *rec;

	if (!o->known || o->files_from >= o->files_to)
		return NULL;
	rec = xcalloc(1, sizeof(*rec));
	rec->from = o->files_from;
	rec->to = o->files_to;
	if (metadata_file_open(dest, &rec->f) < 0 || !is_origin(o, &rec->f.st) ||
	    o->files_to > (size_t)rec->f.st.st_size ||
	    metadata_file_map(&rec->f) < 0 || rec->f.map == MAP_FAILED) {
		metadata_records_close(rec);
		return NULL;
	}
	return rec;
}

void metadata_records_close(struct metadata_records *rec)
{
	if (!rec)
		return;
	metadata_file_close(&rec->f);
	free(rec);
}

struct metadata_saving *metadata_save_begin(const char *dest,
					    const struct metadata *md)
{
	struct metadata_saving *s = xcalloc(1, sizeof(*s));

	fault_point("metadata:save");
	s->md = md;
	s->path = path_join(dest, METADATA_FILE_NAME);
	s->sink = (struct metadata_sink){ &s->text, write_to_fd, &s->out, 0 };
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
	s->records = metadata_records_open(dest, md);
	grow_array((void **)&s->text.data, &s->text.alloc,
		   SINK_DRAIN_AT + 65536, 1);
	s->threaded = pthread_create(&s->thread, NULL, write_body, s) == 0;
	/* Without a thread it is only not overlapped. */
	if (!s->threaded)
		write_body(s);
	return s;
}

int metadata_save_end(struct metadata_saving *s, struct error *err)
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

void metadata_save_abort(struct metadata_saving *s)
{
	if (!s)
		return;
	if (s->threaded)
		pthread_join(s->thread, NULL);
	saving_free(s);
}

int metadata_save(const char *dest, const struct metadata *md,
		  struct error *err)
{
	return metadata_save_end(metadata_save_begin(dest, md), err);
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
	free(h->parent);
}

void metadata_release(struct metadata *md)
{
	if (!md)
		return;
	free(md->last_backup_date);
	free(md->tree_backup_id);
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
	free(m->parent);
	tree_release(&m->files);
	strlist_clear(&m->deleted);
	content_index_release(&m->holds);
	memset(m, 0, sizeof(*m));
}

static int cmp_path_ptrs(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool listed_in(char **sorted, size_t n, const char *path)
{
	return n && bsearch(&path, sorted, n, sizeof(*sorted),
			    cmp_path_ptrs) != NULL;
}

void manifest_compose(struct manifest *m, const struct tree *base)
{
	char **gone = xmalloc((m->deleted.len + 1) * sizeof(*gone));
	struct tree whole = {0};

	if (m->deleted.len) {
		memcpy(gone, m->deleted.items, m->deleted.len * sizeof(*gone));
		qsort(gone, m->deleted.len, sizeof(*gone), cmp_path_ptrs);
	}
	tree_sort(&m->files);
	for (size_t i = 0; i < base->len; i++) {
		const struct tree_entry *e = &base->entries[i];
		struct tree_entry *copy;

		if (listed_in(gone, m->deleted.len, e->path) ||
		    tree_find(&m->files, e->path))
			continue;
		copy = tree_push(&whole);
		*copy = *e;
		copy->path = tree_store_path(&whole, e->path);
		copy->path_stored = true;
		copy->link_target = e->link_target ? xstrdup(e->link_target)
						   : NULL;
		copy->same_record = copy->unchanged = false;
	}
	free(gone);
	tree_absorb(&whole, &m->files);
	tree_sort(&whole);
	tree_release(&m->files);
	m->files = whole;
	m->delta = false;
}
