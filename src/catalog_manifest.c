/* The manifest of an archive: reading it (the one entry point, whichever
 * way is fastest), completing it from its parents, adding it to an archive
 * being written. */
#include "catalog.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dest.h"
#include "fsutil.h"
#include "tarball.h"

/* A manifest larger than this is not one of ours. */
#define MANIFEST_MAX ((size_t)2 << 30)
#define SIEVE_WINDOW ((size_t)1 << 20)

/* Reads the member straight into out, sized from its header: a big tree's
 * manifest is megabytes, and growing by copies costs more than parsing. */
static int read_member(struct tarball_reader *r, struct buf *out,
		       int64_t size, const char *path, struct error *err)
{
	ssize_t n;

	if (size < 0 || (uint64_t)size > MANIFEST_MAX)
		return error_set(err, "'%s': manifest too large", path);
	grow_array((void **)&out->data, &out->alloc, (size_t)size + 1, 1);
	for (;;) {
		if (out->alloc - out->len < 65536 + 1)
			grow_array((void **)&out->data, &out->alloc,
				   out->len + 65536 + 1, 1);
		n = tarball_read(r, out->data + out->len,
				 out->alloc - out->len - 1, err);
		if (n <= 0)
			break;
		out->len += (size_t)n;
		if (out->len > MANIFEST_MAX)
			return error_set(err, "'%s': manifest too large", path);
	}
	out->data[out->len] = '\0';
	return n < 0 ? -1 : 0;
}

/* Reads the manifest member from r, which must be at it: 1 (text holds
 * it), 0 if the next member is something else, -1. */
static int read_manifest_here(struct tarball_reader *r, struct buf *text,
			      const char *path, struct error *err)
{
	struct tarball_member mem;
	int more = tarball_next(r, &mem, err);

	if (more <= 0)
		return more;
	if (strcmp(mem.name, MANIFEST_MEMBER) || mem.is_hardlink)
		return 0;
	return read_member(r, text, mem.size, path, err) < 0 ? -1 : 1;
}

/* The fast way: the index at the end says where the manifest's frame
 * starts, and only that frame is decompressed. 1 if text holds the
 * manifest, 0 if the archive must be read in order instead. */
static int read_manifest_indexed(const char *path, struct buf *text)
{
	struct tarball_reader *r = NULL;
	uint64_t at;
	int rc = 0;

	/* Any trouble here (no index, a damaged one) sends the caller to
	 * the sequential pass, which reports what is wrong. */
	if (tarball_find_manifest_frame(path, &at, NULL) != 1 ||
	    tarball_reader_open_at(path, at, 0, &r, NULL) < 0)
		goto out;
	rc = read_manifest_here(r, text, path, NULL) == 1;
	if (!rc)
		text->len = 0;
out:
	tarball_reader_close(r);
	return rc;
}

/* The manifest's frame decompressed a window at a time through a sieve
 * (see catalog_stream_feed), never held whole: a big tree's manifest is
 * hundreds of megabytes, and holding it costs more than decompressing it.
 * 0 if m holds the result; else the caller reads it whole, which reports
 * what is wrong. */
static int read_manifest_sieved(const char *path,
				const struct strlist *paths, bool keep_holds,
				struct manifest *m)
{
	struct tarball_reader *r = NULL;
	struct tarball_member mem;
	struct catalog_stream *s = NULL;
	struct error ignored;
	char *window = NULL;
	uint64_t at;
	ssize_t n;
	int rc = -1;

	if (tarball_find_manifest_frame(path, &at, NULL) != 1 ||
	    tarball_reader_open_rest(path, at, &r, NULL) < 0 ||
	    tarball_next(r, &mem, NULL) <= 0 ||
	    strcmp(mem.name, MANIFEST_MEMBER) || mem.is_hardlink)
		goto out;
	s = catalog_stream_new(paths);
	if (!keep_holds)
		catalog_stream_check_holds_only(s);
	window = xmalloc(SIEVE_WINDOW);
	while ((n = tarball_read(r, window, SIEVE_WINDOW, NULL)) > 0)
		catalog_stream_feed(s, window, (size_t)n);
	if (n == 0 && catalog_stream_finish(s, m, &ignored) == 0)
		rc = 0;
out:
	free(window);
	catalog_stream_free(s);
	tarball_reader_close(r);
	return rc;
}

/* The slow way: every member in order; the last manifest wins. */
static int read_manifest_sequential(const char *path, struct buf *text,
				    struct error *err)
{
	struct tarball_reader *r = NULL;
	struct tarball_member mem;
	bool found = false;
	int rc = -1, more;

	if (tarball_reader_open(path, &r, err) < 0)
		return -1;
	while ((more = tarball_next(r, &mem, err)) > 0) {
		if (strcmp(mem.name, MANIFEST_MEMBER) || mem.is_hardlink)
			continue;
		text->len = 0;
		if (read_member(r, text, mem.size, path, err) < 0)
			goto out;
		found = true;
	}
	if (more < 0)
		goto out;
	if (!found) {
		error_set(err, "'%s' has no %s: not an incbak archive", path,
			  MANIFEST_MEMBER);
		goto out;
	}
	rc = 0;
out:
	tarball_reader_close(r);
	return rc;
}

/* The manifest as the archive has it: with a parent, its tree lists only
 * what changed. The one place that picks how a manifest is read, fastest
 * first; each way either gives the manifest or steps aside, silently, for
 * the next, so that only the last one, which reads anything readable,
 * reports what is wrong:
 * 1. streamed: the manifest's own frame, found by the archive's index,
 *    parsed record by record as it is decompressed (read_manifest_sieved);
 * 2. indexed: that frame read whole into text (read_manifest_indexed);
 * 3. sequential: every member in order, the last manifest winning
 *    (read_manifest_sequential), for an archive whose index is missing or
 *    damaged.
 * Text from 2 or 3 goes to catalog_manifest_parse(), which itself reads
 * each record the fast way where it can (catalog_fastread.c). */
static int read_own_manifest(const char *path, const struct strlist *paths,
			     bool keep_holds, struct manifest *m,
			     struct error *err)
{
	struct buf text = {0};
	int rc = -1;

	if (read_manifest_sieved(path, paths, keep_holds, m) == 0)
		return 0;
	if (!read_manifest_indexed(path, &text) &&
	    read_manifest_sequential(path, &text, err) < 0)
		goto out;
	if (catalog_manifest_parse(text.data ? text.data : "", text.len, m,
				   err) < 0) {
		error_prefix(err, "'%s': bad manifest", path);
		goto out;
	}
	rc = 0;
out:
	buf_release(&text);
	return rc;
}

static int read_manifest(const char *path, const struct strlist *paths,
			 bool keep_holds, int depth, struct manifest *m,
			 struct error *err);

/* m, read from the archive at path, made whole from its parent's tree, read
 * the same way (for the same paths), and so on up the chain. */
/* A parent that could be the manifest's own or a later backup's would let
 * a chain loop. */
static int check_parent(const char *path, const struct manifest *m,
			struct error *err)
{
	char id[BACKUP_ID_SIZE];

	if (!dest_parse_archive_name(m->parent, id) ||
	    strcmp(id, m->backup_id) >= 0)
		return error_set(err, "'%s': bad manifest: parent '%s' is not "
				 "an older backup", path, m->parent);
	return 0;
}

static int complete_tree(const char *path, const struct strlist *paths,
			 int depth, struct manifest *m, struct error *err)
{
	char *dir = path_dirname(path);
	char *parent_path = path_join(dir, m->parent);
	struct manifest base;
	int rc = -1;

	catalog_manifest_init(&base);
	if (check_parent(path, m, err) < 0)
		goto out;
	if (depth >= MANIFEST_CHAIN_LIMIT) {
		error_set(err, "'%s': bad manifest: its tree continues a chain "
			  "of more than %d manifests", path,
			  MANIFEST_CHAIN_LIMIT);
		goto out;
	}
	if (access(parent_path, F_OK) < 0) {
		error_set(err, "'%s': its tree continues that of '%s', which "
			  "is missing", path, m->parent);
		goto out;
	}
	if (read_manifest(parent_path, paths, false, depth + 1, &base,
			  err) < 0)
		goto out;
	catalog_manifest_compose(m, &base.files);
	rc = 0;
out:
	catalog_manifest_release(&base);
	free(parent_path);
	free(dir);
	return rc;
}

static int read_manifest(const char *path, const struct strlist *paths,
			 bool keep_holds, int depth, struct manifest *m,
			 struct error *err)
{
	if (read_own_manifest(path, paths, keep_holds, m, err) < 0)
		return -1;
	if (!m->delta || complete_tree(path, paths, depth, m, err) == 0)
		return 0;
	catalog_manifest_release(m);
	catalog_manifest_init(m);
	return -1;
}

int catalog_manifest_read(const char *path, struct manifest *m,
			  struct error *err)
{
	return read_manifest(path, NULL, true, 0, m, err);
}

int catalog_manifest_read_paths(const char *path, const struct strlist *paths,
				struct manifest *m, struct error *err)
{
	return read_manifest(path, paths, false, 0, m, err);
}

int catalog_manifest_read_own(const char *path, struct manifest *m,
			      struct error *err)
{
	return read_own_manifest(path, NULL, true, m, err);
}

/* The lines before "files", as catalog_manifest_format() lays them out, and
 * empty sections after them: 1 if m holds that, 0 if the manifest is laid
 * out otherwise, -1. */
static int read_manifest_header(const char *path, struct manifest *m)
{
	static const char files[] = "\n\"files\": [";
	static const char empty[] = "\"files\": [], \"deleted\": [], "
				    "\"holds\": {}}";
	struct tarball_reader *r = NULL;
	struct tarball_member mem;
	struct buf text = {0};
	char head[4096];
	const char *end;
	ssize_t n = 0;
	uint64_t at;
	int rc = 0;

	if (tarball_find_manifest_frame(path, &at, NULL) != 1 ||
	    tarball_reader_open_at(path, at, 0, &r, NULL) < 0 ||
	    tarball_next(r, &mem, NULL) <= 0 ||
	    strcmp(mem.name, MANIFEST_MEMBER) || mem.is_hardlink ||
	    (n = tarball_read(r, head, sizeof(head) - 1, NULL)) <= 0)
		goto out;
	head[n] = '\0';
	end = strstr(head, files);
	if (!end)
		goto out;
	buf_append(&text, head, (size_t)(end - head) + 1);
	buf_append(&text, empty, sizeof(empty) - 1);
	rc = catalog_manifest_parse(text.data, text.len, m, NULL) == 0 ? 1 : 0;
out:
	buf_release(&text);
	tarball_reader_close(r);
	return rc;
}

int catalog_manifest_parent(const char *path, char **parent, struct error *err)
{
	struct manifest m;
	int rc;

	catalog_manifest_init(&m);
	rc = read_manifest_header(path, &m);
	if (rc == 0)
		rc = read_own_manifest(path, NULL, false, &m, err);
	*parent = rc < 0 || !m.delta ? NULL : m.parent;
	if (*parent)
		m.parent = NULL;
	catalog_manifest_release(&m);
	return rc < 0 ? -1 : 0;
}

int catalog_manifest_complete(const char *path, struct manifest *m,
			      const char *known_archive,
			      const struct tree *known_tree, struct error *err)
{
	if (!m->delta)
		return 0;
	if (!known_archive || strcmp(known_archive, m->parent))
		return complete_tree(path, NULL, 0, m, err);
	if (check_parent(path, m, err) < 0)
		return -1;
	catalog_manifest_compose(m, known_tree);
	return 0;
}

struct manifest_text {
	struct buf text;
	size_t buffered;         /* the most text kept */
	uint64_t size;
	bool too_big;            /* text was given up: only counted */
};

static int keep_or_count(void *ctx, const char *data, size_t len)
{
	struct manifest_text *t = ctx;

	t->size += len;
	if (!t->too_big && t->text.len + len > t->buffered) {
		t->too_big = true;
		buf_release(&t->text);
	}
	if (!t->too_big)
		buf_append(&t->text, data, len);
	return 0;
}

struct manifest_member {
	struct tarball_writer *w;
	struct error *err;
	uint64_t written;
};

static int add_to_member(void *ctx, const char *data, size_t len)
{
	struct manifest_member *mm = ctx;

	mm->written += len;
	return tarball_write_data(mm->w, data, len, mm->err) < 0 ? -1 : 0;
}

/* Every file record holds over 100 bytes of field names alone. */
#define MANIFEST_RECORD_MIN 100

int catalog_manifest_add(struct tarball_writer *w, const struct manifest *m,
			 const struct content_index *contents,
			 const char *holder, const struct catalog_records *rec,
			 int64_t mtime, size_t buffered, struct error *err)
{
	struct manifest_text t = { .buffered = buffered };
	struct manifest_member mm = { w, err, 0 };
	int rc;

	/* Sure to be too big: only counted, never buffered in vain (64 MiB
	 * held while a million-file run is at its peak). */
	if (m->files.len > buffered / MANIFEST_RECORD_MIN)
		t.too_big = true;
	catalog_manifest_write(m, contents, holder, rec, keep_or_count, &t);
	if (!t.too_big) {
		rc = tarball_write_buffer(w, MANIFEST_MEMBER, t.text.data,
					  t.text.len, mtime, err);
		goto out;
	}
	rc = tarball_begin_buffer(w, MANIFEST_MEMBER, t.size, mtime, err);
	if (rc == 0 && catalog_manifest_write(m, contents, holder, rec,
					      add_to_member, &mm) != 0)
		rc = -1;
	if (rc == 0 && mm.written != t.size)
		rc = error_set(err, "internal error: the manifest changed "
			       "size between two passes");
out:
	buf_release(&t.text);
	return rc;
}
