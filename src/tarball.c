/* libarchive wrapper for incbak's archives: pax format (long and non-UTF-8
 * names, nanosecond times) compressed with zstd, readable by GNU tar and
 * bsdtar. libarchive writes the raw tar; we compress it with libzstd
 * ourselves (zframes_write.c), in independent frames of a few MiB, and record
 * where members start, so a reader can start at any frame (zstd's
 * seekable-format idea) and every core compresses. */
#include "tarball.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <zstd.h>

#include "attrs.h"
#include "zframes_read.h"
#include "zframes_write.h"
#include "fsutil.h"
#include "util.h"

/* The trailer: a zstd skippable frame every zstd decoder passes over,
 * holding where the manifest's frame starts. */
#define SKIPPABLE_MAGIC 0x184D2A50u
#define INDEX_TAG "INCBAKIX"
#define INDEX_VERSION 1u
#define INDEX_PAYLOAD 20u /* tag, manifest frame offset, version */
#define INDEX_SIZE (8u + INDEX_PAYLOAD)

/* libarchive's "no errno" error code (its ERRNO_NONE is private). */
#define ERRNO_NONE (-1)
/* The most a manifest is compressed: every run rewrites one listing the
 * whole tree, and on that JSON zstd -2 is both faster and smaller than -3;
 * higher levels gain a few percent for several times the time. */
#define TARBALL_MANIFEST_LEVEL 2

struct tarball_writer {
	struct archive *a;
	struct zframes_write *frames;
	int fd;
	int level;
	uint64_t member_frame, member_skip; /* of the last member started */
	uint64_t manifest_frame;             /* its number */
	bool have_manifest;
	char *tmp_path;
	char *final_path;
};

struct zsource;

struct tarball_reader {
	struct archive *a;
	struct archive_entry *entry;
	struct zsource *zs;      /* tarball_reader_open_at() only */
	char *path;
};
static int archive_fail(struct archive *a, const char *path,
			struct error *err)
{
	const char *msg = archive_error_string(a);
	int code = archive_errno(a);

	if (!msg || !*msg)
		msg = code > 0 ? strerror(code) : "archive error";
	/* libarchive says "Write error" and keeps the reason in its errno:
	 * the user needs "No space left on device". */
	if (code > 0 && code < 1000 && !strstr(msg, strerror(code)))
		return error_set(err, "'%s': %s: %s", path, msg,
				 strerror(code));
	return error_set(err, "'%s': %s", path, msg);
}

/* libarchive's write callback: the raw tar stream, as it is produced. */
static la_ssize_t write_cb(struct archive *a, void *data, const void *buf,
			   size_t len)
{
	struct tarball_writer *w = data;

	if (zframes_write_append(w->frames, buf, len) < 0) {
		if (zframes_write_errno(w->frames))
			archive_set_error(a, zframes_write_errno(w->frames),
					  "Write error");
		else
			archive_set_error(a, ERRNO_NONE, "zstd: %s",
					  zframes_write_error(w->frames));
		return -1;
	}
	return (la_ssize_t)len;
}

static int frames_fail(struct tarball_writer *w, struct error *err)
{
	return error_set(err, "cannot write '%s': %s", w->tmp_path,
			 zframes_write_error(w->frames));
}

/* Before a member header: the previous member's padding goes out, and,
 * for the manifest, the frame ends so the member starts one of its own.
 * Records where the member starts. */
static int start_member(struct tarball_writer *w, bool own_frame,
			struct error *err)
{
	if (archive_write_finish_entry(w->a) < ARCHIVE_WARN)
		return archive_fail(w->a, w->final_path, err);
	if (own_frame && zframes_write_end_frame(w->frames) < 0)
		return frames_fail(w, err);
	zframes_write_position(w->frames, &w->member_frame, &w->member_skip);
	return 0;
}

static int configure_writer(struct tarball_writer *w)
{
	struct archive *a = w->a;

	if (archive_write_set_format_pax(a) != ARCHIVE_OK)
		return -1;
	/* No blocking: every byte reaches write_cb as soon as libarchive has
	 * it, so the offsets we record are exact. */
	if (archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK)
		return -1;
	archive_write_set_bytes_in_last_block(a, 1);
	return archive_write_open2(a, w, NULL, write_cb, NULL, NULL) ==
	       ARCHIVE_OK ? 0 : -1;
}

int tarball_writer_open(const char *dir, const char *final_name, int level,
			int threads, struct tarball_writer **out,
			struct error *err)
{
	struct tarball_writer *w = xcalloc(1, sizeof(*w));

	w->final_path = path_join(dir, final_name);
	w->fd = fs_temp_open(dir, final_name, 0600, &w->tmp_path, err);
	if (w->fd < 0)
		goto fail;
	w->a = archive_write_new();
	if (!w->a) {
		error_set(err, "'%s': cannot start an archive", w->final_path);
		goto fail;
	}
	w->level = level;
	w->frames = zframes_write_new(w->fd, level, threads);
	if (configure_writer(w) < 0) {
		archive_fail(w->a, w->final_path, err);
		goto fail;
	}
	*out = w;
	return 0;
fail:
	tarball_writer_abort(w);
	return -1;
}

/* Opens an archive for reading; a FIFO or a folder in its place is refused
 * before open() could hang on it. */
static int open_archive_file(const char *path, struct error *err)
{
	int fd;

	if (fs_check_regular(path, err) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(err, "cannot open '%s': %s", path,
				 strerror(errno));
	return fd;
}

int tarball_writer_start_with(struct tarball_writer *w, const char *path,
			      uint64_t len, struct error *err)
{
	int fd, rc = 0;

	fd = open_archive_file(path, err);
	if (fd < 0)
		return -1;
	if (fs_copy_range(fd, 0, w->fd, len) < 0)
		rc = error_set(err, "cannot copy '%s' into '%s': %s", path,
			       w->tmp_path, strerror(errno));
	else
		zframes_write_start_at(w->frames, len);
	close(fd);
	return rc;
}

void tarball_last_member_position(const struct tarball_writer *w,
				  uint64_t *frame_no, uint64_t *within_frame)
{
	*frame_no = w->member_frame;
	*within_frame = w->member_skip;
}

int tarball_writer_end_frame(struct tarball_writer *w, struct error *err)
{
	if (archive_write_finish_entry(w->a) < ARCHIVE_WARN)
		return archive_fail(w->a, w->final_path, err);
	return zframes_write_end_frame(w->frames) < 0 ? frames_fail(w, err) : 0;
}

int tarball_writer_flush(struct tarball_writer *w, struct error *err)
{
	if (archive_write_finish_entry(w->a) < ARCHIVE_WARN)
		return archive_fail(w->a, w->final_path, err);
	return zframes_write_flush(w->frames) < 0 ? frames_fail(w, err) : 0;
}

int tarball_writer_append_frames(struct tarball_writer *w, int from_fd,
				  uint64_t from, uint64_t len, uint64_t *at,
				  struct error *err)
{
	if (archive_write_finish_entry(w->a) < ARCHIVE_WARN)
		return archive_fail(w->a, w->final_path, err);
	if (zframes_write_append_raw(w->frames, from_fd, from, len, at) < 0)
		return frames_fail(w, err);
	return 0;
}

uint64_t tarball_frame_offset(const struct tarball_writer *w,
			      uint64_t frame_no)
{
	return zframes_write_frame_offset(w->frames, frame_no);
}

/* An ACL attribute as the entry's ACL, which the pax writer stores as
 * SCHILY.acl.access or .default for GNU tar and bsdtar to restore. */
static void add_acl(struct archive_entry *ae, const struct attrs_item *it)
{
	static const struct { unsigned ours; int theirs; } tags[] = {
		{ ATTRS_ACL_USER_OBJ, ARCHIVE_ENTRY_ACL_USER_OBJ },
		{ ATTRS_ACL_USER, ARCHIVE_ENTRY_ACL_USER },
		{ ATTRS_ACL_GROUP_OBJ, ARCHIVE_ENTRY_ACL_GROUP_OBJ },
		{ ATTRS_ACL_GROUP, ARCHIVE_ENTRY_ACL_GROUP },
		{ ATTRS_ACL_MASK, ARCHIVE_ENTRY_ACL_MASK },
		{ ATTRS_ACL_OTHER, ARCHIVE_ENTRY_ACL_OTHER },
	};
	struct attrs_acl_entry acl[64];
	int type = strcmp(it->name, ATTRS_ACL_ACCESS)
			   ? ARCHIVE_ENTRY_ACL_TYPE_DEFAULT
			   : ARCHIVE_ENTRY_ACL_TYPE_ACCESS;
	long n = attrs_acl_entries(it->value, it->size, acl, ARRAY_SIZE(acl));

	for (long i = 0; i < n; i++) {
		int perm = (acl[i].perm & 4 ? ARCHIVE_ENTRY_ACL_READ : 0) |
			   (acl[i].perm & 2 ? ARCHIVE_ENTRY_ACL_WRITE : 0) |
			   (acl[i].perm & 1 ? ARCHIVE_ENTRY_ACL_EXECUTE : 0);

		for (size_t t = 0; t < ARRAY_SIZE(tags); t++)
			if (tags[t].ours == acl[i].tag)
				archive_entry_acl_add_entry(
					ae, type, perm, tags[t].theirs,
					(int)acl[i].id, NULL);
	}
}

/* e's extended attributes (LIBARCHIVE.xattr and SCHILY.xattr records)
 * and ACLs, so that bsdtar -xpf and tar --xattrs --acls restore them. */
static void add_attrs(struct archive_entry *ae, const struct tree_entry *e)
{
	struct attrs_item *items;
	long n = e->attrs ? attrs_decode(e->attrs, &items) : 0;

	for (long i = 0; i < n; i++) {
		if (attrs_is_acl(items[i].name))
			add_acl(ae, &items[i]);
		else
			archive_entry_xattr_add_entry(ae, items[i].name,
						      items[i].value,
						      items[i].size);
	}
	if (n > 0)
		attrs_items_free(items, n);
}

static struct archive_entry *entry_for(const char *name,
				       const struct tree_entry *e)
{
	struct archive_entry *ae = archive_entry_new();

	archive_entry_copy_pathname(ae, name);
	archive_entry_set_perm(ae, e->mode);
	archive_entry_set_mtime(ae, e->mtime.sec, e->mtime.nsec);
	archive_entry_set_uid(ae, e->uid);
	archive_entry_set_gid(ae, e->gid);
	switch (e->type) {
	case ENTRY_FILE:
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_size(ae, (la_int64_t)e->size);
		break;
	case ENTRY_DIR:
		archive_entry_set_filetype(ae, AE_IFDIR);
		archive_entry_set_size(ae, 0);
		break;
	case ENTRY_SYMLINK:
		archive_entry_set_filetype(ae, AE_IFLNK);
		archive_entry_copy_symlink(ae, e->link_target);
		archive_entry_set_size(ae, 0);
		break;
	}
	add_attrs(ae, e);
	return ae;
}

/* Whether a member would not fit in what is left of the current frame.
 * It then starts a new one, so frames end where members do (but for a
 * member longer than a frame) and a rotation can copy a frame of members
 * it all still needs as it is, without compressing it again. The headers
 * are estimated: pax records, name and a ustar block. */
static bool member_would_straddle(const struct tarball_writer *w,
				  const char *name, uint64_t size)
{
	uint64_t frame_no, within;
	uint64_t bytes = 1536 + strlen(name) + (size + 511) / 512 * 512;

	zframes_write_position(w->frames, &frame_no, &within);
	return within > 0 && within + bytes > ZFRAMES_WRITE_FRAME_SIZE;
}

int tarball_write_header(struct tarball_writer *w, const char *name,
			 const struct tree_entry *e, struct error *err)
{
	struct archive_entry *ae;
	int rc;

	if (start_member(w, member_would_straddle(w, name, e->type == ENTRY_FILE
							     ? e->size : 0),
			 err) < 0)
		return -1;
	ae = entry_for(name, e);
	rc = archive_write_header(w->a, ae);
	archive_entry_free(ae);
	/* ARCHIVE_WARN here means a name that is not UTF-8 was stored as raw
	 * bytes (pax hdrcharset=BINARY): exactly what we want on Linux. */
	if (rc < ARCHIVE_WARN)
		return archive_fail(w->a, w->final_path, err);
	return 0;
}

int tarball_write_hardlink(struct tarball_writer *w, const char *name,
			   const char *target, const struct tree_entry *e,
			   struct error *err)
{
	struct archive_entry *ae;
	int rc;

	if (start_member(w, member_would_straddle(w, name, 0), err) < 0)
		return -1;
	ae = entry_for(name, e);
	archive_entry_copy_hardlink(ae, target);
	archive_entry_set_size(ae, 0);
	rc = archive_write_header(w->a, ae);
	archive_entry_free(ae);
	if (rc < ARCHIVE_WARN)
		return archive_fail(w->a, w->final_path, err);
	return 0;
}

int tarball_write_data(struct tarball_writer *w, const void *data,
		       size_t len, struct error *err)
{
	const char *p = data;

	while (len > 0) {
		la_ssize_t n = archive_write_data(w->a, p, len);

		if (n <= 0)
			return archive_fail(w->a, w->final_path, err);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int tarball_finish_file(struct tarball_writer *w, uint64_t written,
			uint64_t declared, struct error *err)
{
	static const char zeros[65536];

	while (written < declared) {
		uint64_t n = declared - written;

		if (n > sizeof(zeros))
			n = sizeof(zeros);
		if (tarball_write_data(w, zeros, (size_t)n, err) < 0)
			return -1;
		written += n;
	}
	return 0;
}

int tarball_begin_buffer(struct tarball_writer *w, const char *name,
			 uint64_t size, int64_t mtime, struct error *err)
{
	struct tree_entry e = {
		.type = ENTRY_FILE, .mode = 0600, .size = size,
		.mtime = { .sec = mtime },
	};

	/* The manifest gets a frame of its own, which the trailer points
	 * at: reading it means decompressing nothing else. */
	if (start_member(w, true, err) < 0)
		return -1;
	zframes_write_set_level(w->frames, w->level < TARBALL_MANIFEST_LEVEL
				       ? w->level : TARBALL_MANIFEST_LEVEL);
	w->manifest_frame = w->member_frame;
	w->have_manifest = true;
	return tarball_write_header(w, name, &e, err);
}

int tarball_write_buffer(struct tarball_writer *w, const char *name,
			 const void *data, size_t len, int64_t mtime,
			 struct error *err)
{
	if (tarball_begin_buffer(w, name, len, mtime, err) < 0)
		return -1;
	return tarball_write_data(w, data, len, err);
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* The skippable frame after the last zstd frame: tag, the manifest
 * frame's offset and the format version. */
static int write_index(struct tarball_writer *w, struct error *err)
{
	unsigned char t[INDEX_SIZE];

	if (!w->have_manifest)
		return 0;
	put_le(t, SKIPPABLE_MAGIC, 4);
	put_le(t + 4, INDEX_PAYLOAD, 4);
	memcpy(t + 8, INDEX_TAG, 8);
	put_le(t + 16, zframes_write_frame_offset(w->frames, w->manifest_frame),
	       8);
	put_le(t + 24, INDEX_VERSION, 4);
	if (fs_write_all(w->fd, t, sizeof(t)) < 0)
		return error_set(err, "cannot write '%s': %s", w->tmp_path,
				 strerror(errno));
	return 0;
}

/* The tar end blocks, the last frame and the index. */
static int finish_stream(struct tarball_writer *w, struct error *err)
{
	if (archive_write_close(w->a) != ARCHIVE_OK)
		return archive_fail(w->a, w->final_path, err);
	if (zframes_write_flush(w->frames) < 0)
		return frames_fail(w, err);
	if (write_index(w, err) < 0)
		return -1;
	return 0;
}

int tarball_writer_commit(struct tarball_writer *w, uint64_t *size,
			  struct error *err)
{
	struct stat st;
	int rc = -1;

	if (finish_stream(w, err) < 0)
		goto out;
	if (fstat(w->fd, &st) < 0) {
		error_set(err, "cannot stat '%s': %s", w->tmp_path,
			  strerror(errno));
		goto out;
	}
	*size = (uint64_t)st.st_size;
	rc = fs_commit_temp(w->fd, w->tmp_path, w->final_path, err);
	w->fd = -1;
	if (rc == 0) {
		free(w->tmp_path);
		w->tmp_path = NULL;
	}
out:
	tarball_writer_abort(w);
	return rc;
}

void tarball_writer_abort(struct tarball_writer *w)
{
	if (!w)
		return;
	if (w->a)
		archive_write_free(w->a);
	zframes_write_free(w->frames);
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp_path)
		unlink(w->tmp_path);
	free(w->tmp_path);
	free(w->final_path);
	free(w);
}

/* A reader for tar and tar.zst only, names kept as raw bytes; not open. */
static struct tarball_reader *reader_new(const char *name)
{
	struct tarball_reader *r = xcalloc(1, sizeof(*r));

	r->path = xstrdup(name);
	r->a = archive_read_new();
	archive_read_support_format_tar(r->a);
	archive_read_support_filter_zstd(r->a);
	archive_read_set_options(r->a, "hdrcharset=BINARY");
	return r;
}

/* Hands over r once archive_read_open_*() returned rc, or frees it. */
static int reader_opened(struct tarball_reader *r, int rc,
			 struct tarball_reader **out, struct error *err)
{
	if (rc != ARCHIVE_OK) {
		archive_fail(r->a, r->path, err);
		tarball_reader_close(r);
		return -1;
	}
	*out = r;
	return 0;
}

int tarball_reader_open(const char *path, struct tarball_reader **out,
			struct error *err)
{
	struct tarball_reader *r;

	if (fs_check_regular(path, err) < 0)
		return -1;
	r = reader_new(path);
	return reader_opened(r, archive_read_open_filename(r->a, path, 1 << 20),
			     out, err);
}

int tarball_reader_open_memory(const void *data, size_t len,
			       const char *name, struct tarball_reader **out,
			       struct error *err)
{
	struct tarball_reader *r = reader_new(name);

	return reader_opened(r, archive_read_open_memory(r->a, data, len),
			     out, err);
}

/* A raw tar stream decompressed from a frame boundary of an archive:
 * libarchive sees plain tar starting at a member header. */
struct zsource {
	int fd;
	uint64_t off;            /* next compressed byte to read */
	uint64_t skip;           /* uncompressed bytes still to drop */
	ZSTD_DCtx *zd;
	ZSTD_inBuffer in;
	char *inbuf, *outbuf;
	size_t in_size, out_size;
	size_t last;             /* ZSTD_decompressStream's last hint */
	bool eof;
	bool pending;            /* output filled up: more may be buffered */
	uint64_t start;          /* the compressed offset opened at */
	uint64_t produced;       /* uncompressed bytes decoded, skip included */
	struct frame_end *ends;  /* every frame finished, in order */
	size_t nends, ends_alloc;
	struct zframes_read *dec;    /* whole frames on workers, over map */
	void *map;
	size_t map_len;
	/* Why decoding failed: libarchive replaces the reason with
	 * "Truncated input file" when the failure comes while it skips. */
	char failed[160];
};

/* Where a zstd frame decoded by a zsource ended: its uncompressed offset
 * from the start, and the compressed offset in the file of what follows. */
struct frame_end {
	uint64_t unc, comp;
};

static void zsource_free(struct zsource *zs)
{
	if (!zs)
		return;
	if (zs->fd >= 0)
		close(zs->fd);
	ZSTD_freeDCtx(zs->zd);
	zframes_read_free(zs->dec);
	if (zs->map)
		munmap(zs->map, zs->map_len);
	free(zs->ends);
	free(zs->inbuf);
	free(zs->outbuf);
	free(zs);
}

static struct zsource *zsource_new(int fd, uint64_t off, uint64_t skip)
{
	struct zsource *zs = xcalloc(1, sizeof(*zs));

	zs->fd = fd;
	zs->off = off;
	zs->start = off;
	zs->skip = skip;
	zs->zd = ZSTD_createDCtx();
	zs->in_size = ZSTD_DStreamInSize();
	zs->out_size = ZSTD_DStreamOutSize();
	zs->inbuf = xmalloc(zs->in_size);
	zs->outbuf = xmalloc(zs->out_size);
	zs->in.src = zs->inbuf;
	return zs;
}

/* Refills the compressed input when it is used up; -1 with errno. */
static int zsource_fill(struct zsource *zs)
{
	ssize_t n;

	if (zs->in.pos < zs->in.size || zs->eof)
		return 0;
	do
		n = pread(zs->fd, zs->inbuf, zs->in_size, (off_t)zs->off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	zs->off += (uint64_t)n;
	zs->in.size = (size_t)n;
	zs->in.pos = 0;
	zs->eof = n == 0;
	return 0;
}

/* A frame ended after zs->produced bytes; the next starts at comp. */
static void note_frame_end(struct zsource *zs, uint64_t comp)
{
	struct frame_end *fe;

	grow_array((void **)&zs->ends, &zs->ends_alloc, zs->nends + 1,
		   sizeof(*zs->ends));
	fe = &zs->ends[zs->nends++];
	fe->unc = zs->produced;
	fe->comp = comp;
}

/* Fails a read of zs, keeping the reason for reader_fail(). */
__attribute__((format(printf, 4, 5)))
static la_ssize_t zsource_fail(struct archive *a, struct zsource *zs,
			       int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(zs->failed, sizeof(zs->failed), fmt, ap);
	va_end(ap);
	archive_set_error(a, code, "%s", zs->failed);
	return -1;
}

/* zsource_read() for a source with workers: each frame whole. */
static la_ssize_t zsource_read_frames(struct archive *a, struct zsource *zs,
				      const void **buf)
{
	for (;;) {
		const char *why = NULL;
		size_t len = 0;
		uint64_t end = 0;
		int rc = zframes_read_next(zs->dec, buf, &len, &end, &why);

		if (rc < 0)
			return zsource_fail(a, zs, ERRNO_NONE, "zstd: %s", why);
		if (rc == 0)
			return 0;
		zs->produced += len;
		note_frame_end(zs, zs->start + end);
		if (len > 0)
			return (la_ssize_t)len;
	}
}

/* libarchive's read callback: the next decompressed bytes past skip. */
static la_ssize_t zsource_read(struct archive *a, void *data,
			       const void **buf)
{
	struct zsource *zs = data;

	if (zs->dec)
		return zsource_read_frames(a, zs, buf);
	for (;;) {
		ZSTD_outBuffer out = { zs->outbuf, zs->out_size, 0 };

		if (!zs->pending && zsource_fill(zs) < 0)
			return zsource_fail(a, zs, errno, "read error: %s",
					    strerror(errno));
		if (zs->eof && !zs->pending)
			break;
		zs->last = ZSTD_decompressStream(zs->zd, &out, &zs->in);
		zs->pending = out.pos == out.size;
		if (ZSTD_isError(zs->last))
			return zsource_fail(a, zs, ERRNO_NONE, "zstd: %s",
					    ZSTD_getErrorName(zs->last));
		zs->produced += out.pos;
		if (zs->last == 0)
			note_frame_end(zs,
				       zs->off - (zs->in.size - zs->in.pos));
		if (out.pos <= zs->skip) {
			zs->skip -= out.pos;
			continue;
		}
		*buf = zs->outbuf + zs->skip;
		out.pos -= (size_t)zs->skip;
		zs->skip = 0;
		return (la_ssize_t)out.pos;
	}
	if (zs->last != 0)
		return zsource_fail(a, zs, ERRNO_NONE, "truncated zstd frame");
	return 0;
}

/* Maps the archive behind zs and hands its frames to workers, when they
 * all say their size; else zs stays a stream read on this thread. */
static void zsource_use_workers(struct zsource *zs)
{
	struct stat st;
	void *map;

	if (fstat(zs->fd, &st) < 0 || (uint64_t)st.st_size <= zs->start)
		return;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, zs->fd,
		   0);
	if (map == MAP_FAILED)
		return;
	madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	zs->dec = zframes_read_new((const unsigned char *)map + zs->start,
			       (size_t)st.st_size - zs->start);
	if (!zs->dec) {
		munmap(map, (size_t)st.st_size);
		return;
	}
	zs->map = map;
	zs->map_len = (size_t)st.st_size;
}

/* A reader of the plain tar that a zsource decodes from frame_offset. */
static int open_zsource_reader(const char *path, uint64_t frame_offset,
			       uint64_t within_frame, bool workers,
			       struct tarball_reader **out, struct error *err)
{
	struct tarball_reader *r;
	int fd;

	fd = open_archive_file(path, err);
	if (fd < 0)
		return -1;
	r = xcalloc(1, sizeof(*r));
	r->path = xstrdup(path);
	r->zs = zsource_new(fd, frame_offset, within_frame);
	if (workers)
		zsource_use_workers(r->zs);
	r->a = archive_read_new();
	/* Plain tar: the zstd frames are ours to decode. */
	archive_read_support_format_tar(r->a);
	archive_read_set_options(r->a, "hdrcharset=BINARY");
	return reader_opened(r, archive_read_open2(r->a, r->zs, NULL,
						   zsource_read, NULL, NULL),
			     out, err);
}

int tarball_reader_open_at(const char *path, uint64_t frame_offset,
			   uint64_t within_frame, struct tarball_reader **out,
			   struct error *err)
{
	return open_zsource_reader(path, frame_offset, within_frame, false,
				   out, err);
}

int tarball_reader_open_rest(const char *path, uint64_t frame_offset,
			     struct tarball_reader **out, struct error *err)
{
	return open_zsource_reader(path, frame_offset, 0, true, out, err);
}

int tarball_reader_open_whole(const char *path, struct tarball_reader **out,
			      struct error *err)
{
	return tarball_reader_open_rest(path, 0, out, err);
}

uint64_t tarball_member_offset(const struct tarball_reader *r)
{
	return (uint64_t)archive_read_header_position(r->a);
}

bool tarball_frame_ends_at(const struct tarball_reader *r, uint64_t unc,
			   uint64_t *comp)
{
	const struct zsource *zs = r->zs;

	if (!zs)
		return false;
	if (unc == 0) {
		*comp = zs->start;
		return true;
	}
	/* Looked up as the stream goes: the end asked for is among the last
	 * few noted (a skippable frame notes its end again). */
	for (size_t i = zs->nends; i-- > 0 && zs->ends[i].unc >= unc;)
		if (zs->ends[i].unc == unc) {
			*comp = zs->ends[i].comp;
			return true;
		}
	return false;
}

bool tarball_frame_at(const struct tarball_reader *r, uint64_t unc,
		      uint64_t *comp, uint64_t *frame_unc)
{
	const struct zsource *zs = r->zs;

	if (!zs)
		return false;
	for (size_t i = zs->nends; i-- > 0;)
		if (zs->ends[i].unc <= unc) {
			*comp = zs->ends[i].comp;
			*frame_unc = zs->ends[i].unc;
			return true;
		}
	*comp = zs->start;
	*frame_unc = 0;
	return true;
}

static uint64_t get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* 1 if the INDEX_SIZE bytes at t are our index pointing before end. */
static int parse_index(const unsigned char *t, uint64_t end, uint64_t *at)
{
	if (get_le(t, 4) != SKIPPABLE_MAGIC || get_le(t + 4, 4) !=
	    INDEX_PAYLOAD || memcmp(t + 8, INDEX_TAG, 8) ||
	    get_le(t + 24, 4) != INDEX_VERSION)
		return 0;
	*at = get_le(t + 16, 8);
	return *at < end;
}

int tarball_find_manifest_frame(const char *path, uint64_t *manifest_frame,
				struct error *err)
{
	unsigned char t[INDEX_SIZE];
	struct stat st;
	int fd, rc = -1;

	fd = open_archive_file(path, err);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		error_set(err, "cannot stat '%s': %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
	if (st.st_size < (off_t)INDEX_SIZE)
		goto out;
	if (pread(fd, t, sizeof(t), st.st_size - (off_t)INDEX_SIZE) !=
	    (ssize_t)sizeof(t))
		goto out;
	rc = parse_index(t, (uint64_t)st.st_size - INDEX_SIZE,
			 manifest_frame);
out:
	close(fd);
	return rc;
}

static void member_from_entry(struct archive_entry *ae,
			      struct tarball_member *m)
{
	mode_t type = archive_entry_filetype(ae);

	memset(m, 0, sizeof(*m));
	m->name = archive_entry_pathname(ae);
	m->mode = archive_entry_perm(ae) & 07777;
	m->uid = (uint32_t)archive_entry_uid(ae);
	m->gid = (uint32_t)archive_entry_gid(ae);
	m->size = archive_entry_size(ae);
	m->mtime.sec = archive_entry_mtime(ae);
	m->mtime.nsec = (int32_t)archive_entry_mtime_nsec(ae);
	m->is_hardlink = archive_entry_hardlink(ae) != NULL;
	if (m->is_hardlink) {
		m->link_target = archive_entry_hardlink(ae);
		m->type = ENTRY_FILE;
	} else if (type == AE_IFREG) {
		m->type = ENTRY_FILE;
	} else if (type == AE_IFDIR) {
		m->type = ENTRY_DIR;
	} else if (type == AE_IFLNK) {
		m->type = ENTRY_SYMLINK;
		m->link_target = archive_entry_symlink(ae);
	} else {
		m->is_other = true;
	}
}

/* The zstd frames' own reason first: what libarchive says of a failed
 * skip is only that the data ended. */
static int reader_fail(const struct tarball_reader *r, struct error *err)
{
	if (r->zs && r->zs->failed[0])
		return error_set(err, "'%s': %s", r->path, r->zs->failed);
	return archive_fail(r->a, r->path, err);
}

int tarball_next(struct tarball_reader *r, struct tarball_member *m,
		 struct error *err)
{
	int rc = archive_read_next_header(r->a, &r->entry);

	if (rc == ARCHIVE_EOF)
		return 0;
	if (rc < ARCHIVE_WARN)
		return reader_fail(r, err);
	member_from_entry(r->entry, m);
	if (!m->name)
		return error_set(err, "'%s': member without a name", r->path);
	return 1;
}

ssize_t tarball_read(struct tarball_reader *r, void *buf, size_t len,
		     struct error *err)
{
	la_ssize_t n = archive_read_data(r->a, buf, len);

	if (n < 0)
		return reader_fail(r, err);
	return n;
}

void tarball_reader_close(struct tarball_reader *r)
{
	if (!r)
		return;
	if (r->a)
		archive_read_free(r->a);
	zsource_free(r->zs);
	free(r->path);
	free(r);
}
