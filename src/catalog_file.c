/* backup_metadata.json as a file: loading it (whole, in parts, or on a thread
 * of its own while a run walks its tree) and saving it atomically. */
#include "catalog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "catalog_internal.h"
#include "threads.h"

static void remember_origin(struct catalog_origin *o, const struct stat *st)
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

static bool is_origin(const struct catalog_origin *o, const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_dev == o->dev &&
	       st->st_ino == o->ino && st->st_size == o->size &&
	       same_timespec(st->st_mtim, o->mtime) &&
	       same_timespec(st->st_ctim, o->ctime) &&
	       o->contents_from <= o->contents_to &&
	       o->contents_to <= (size_t)o->size;
}

/* 0, or -1 with errno set (ENOENT: there is none). */
static int metadata_file_open(const char *dest, struct catalog_file *f)
{
	memset(f, 0, sizeof(*f));
	f->path = path_join(dest, METADATA_FILE_NAME);
	f->map = MAP_FAILED;
	/* O_NONBLOCK: a FIFO planted under this name must not hang us. */
	f->fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	return f->fd < 0 || fstat(f->fd, &f->st) < 0 ? -1 : 0;
}

/* Maps the whole file read-only; 0, or -1 with errno set. */
static int metadata_file_map(struct catalog_file *f)
{
	if (f->st.st_size == 0)
		return 0;
	f->map = mmap(NULL, (size_t)f->st.st_size, PROT_READ, MAP_PRIVATE,
		      f->fd, 0);
	return f->map == MAP_FAILED ? -1 : 0;
}

static void metadata_file_close(struct catalog_file *f)
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
	struct catalog_json r;
	char hex[HASH_HEX_SIZE];
	int rc = 1;

	while (len && *text == ' ') {
		text++;
		len--;
	}
	if (len < 4 || memcmp(text, "{\n", 2) ||
	    memcmp(text + len - 2, "\n}", 2))
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
	catalog_json_init(&r, found.data, found.len, false, err);
	rc = catalog_read_contents(&r, idx, true, NULL, "'contents'") < 0 ||
	     catalog_json_finish(&r) < 0 ? -1 : 0;
	catalog_json_release(&r);
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
	const struct catalog_origin *o = &md->origin;
	struct content_index idx = {0};
	struct catalog_file f;
	struct catalog_json r;
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
			catalog_contents_release(&idx);
			catalog_json_init(&r, text, len, true, err);
			rc = catalog_read_contents(&r, &idx, true, only,
						   "'contents'") < 0 ||
			     catalog_json_finish(&r) < 0 ? -1 : 0;
			catalog_json_release(&r);
		}
		if (rc < 0) {
			report_corrupt(err, f.path);
			catalog_contents_release(&idx);
			goto out;
		}
	}
	catalog_contents_release(&md->contents);
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
	struct catalog_file f;
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
	 * dropped as we go (see catalog_json.c), so the file's size does not
	 * add to the run's memory. */
	if (metadata_file_map(&f) < 0) {
		error_set(err, "cannot read '%s': %s", f.path, strerror(errno));
		goto out;
	}
	if (f.map != MAP_FAILED)
		madvise(f.map, (size_t)f.st.st_size, MADV_SEQUENTIAL);
	if (catalog_parse_text(f.map == MAP_FAILED ? "" : f.map,
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

int catalog_load_parts(const char *dest, struct metadata *md, bool *found,
		       unsigned parts, struct error *err)
{
	return load_parts(dest, md, found, parts, NULL, err);
}

int catalog_load(const char *dest, struct metadata *md, bool *found,
		 struct error *err)
{
	return catalog_load_parts(dest, md, found, METADATA_ALL, err);
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
	catalog_init(&part);
	if (load_parts(dest, &part, &found, parts, only, err) < 0)
		return -1;
	catalog_contents_release(&md->contents);
	md->contents = part.contents;
	memset(&part.contents, 0, sizeof(part.contents));
	catalog_release(&part);
	md->contents_pending = only != NULL;
	return 0;
}

int catalog_load_contents(const char *dest, struct metadata *md,
			  struct error *err)
{
	if (!md->contents_pending)
		return 0;
	return reload_contents(dest, md, NULL, err);
}

int catalog_load_some_contents(const char *dest, struct metadata *md,
			       const uint8_t *sums, size_t n, struct error *err)
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
		qsort(sorted, n, HASH_SIZE, catalog_cmp_checksums);
	}
	rc = reload_contents(dest, md, &only, err);
	free(sorted);
	return rc;
}

struct catalog_loading {
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
	struct catalog_loading *l = arg;

	l->rc = catalog_load_parts(l->dest, &l->md, &l->found, l->parts,
				   &l->err);
	return NULL;
}

struct catalog_loading *catalog_load_start(const char *dest, unsigned parts)
{
	struct catalog_loading *l = xcalloc(1, sizeof(*l));

	l->dest = dest;
	l->parts = parts;
	catalog_init(&l->md);
	l->threaded = threads_start(&l->thread, load_in_background, l) == 0;
	/* Without a thread the load is only not overlapped. */
	if (!l->threaded)
		load_in_background(l);
	return l;
}

int catalog_load_finish(struct catalog_loading *l, struct metadata *md,
			bool *found, struct error *err)
{
	int rc;

	if (l->threaded)
		pthread_join(l->thread, NULL);
	rc = l->rc;
	if (rc < 0) {
		if (err)
			*err = l->err;
		catalog_release(&l->md);
	} else {
		catalog_release(md);
		*md = l->md;
		*found = l->found;
	}
	free(l);
	return rc;
}

struct catalog_records *catalog_records_open(const char *dest,
					     const struct metadata *md)
{
	const struct catalog_origin *o = &md->origin;
	struct catalog_records *rec;

	if (!o->known || o->files_from >= o->files_to)
		return NULL;
	rec = xcalloc(1, sizeof(*rec));
	rec->from = o->files_from;
	rec->to = o->files_to;
	if (metadata_file_open(dest, &rec->f) < 0 ||
	    !is_origin(o, &rec->f.st) ||
	    o->files_to > (size_t)rec->f.st.st_size ||
	    metadata_file_map(&rec->f) < 0 || rec->f.map == MAP_FAILED) {
		catalog_records_close(rec);
		return NULL;
	}
	return rec;
}

void catalog_records_close(struct catalog_records *rec)
{
	if (!rec)
		return;
	metadata_file_close(&rec->f);
	free(rec);
}
