/* libarchive wrapper for incbak's archives: pax format (long and non-UTF-8
 * names, nanosecond times) compressed with zstd, readable by GNU tar and
 * bsdtar. */
#include "tarball.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "fsutil.h"
#include "util.h"

struct tarball_writer {
	struct archive *a;
	int fd;
	char *tmp_path;
	char *final_path;
};

struct tarball_reader {
	struct archive *a;
	struct archive_entry *entry;
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

static int configure_writer(struct archive *a, int level, int threads)
{
	char value[32];
	int rc;

	if (archive_write_set_format_pax(a) != ARCHIVE_OK)
		return -1;
	/* ARCHIVE_WARN would mean libarchive fell back to running an external
	 * zstd program; we want libzstd in-process or nothing. */
	rc = archive_write_add_filter_zstd(a);
	if (rc != ARCHIVE_OK)
		return -1;
	snprintf(value, sizeof(value), "%d", level);
	if (archive_write_set_filter_option(a, "zstd", "compression-level",
					    value) != ARCHIVE_OK)
		return -1;
	snprintf(value, sizeof(value), "%d", threads);
	/* Older libarchive lacks the option; one thread is still correct. */
	archive_write_set_filter_option(a, "zstd", "threads", value);
	/* The default 10 KiB blocks make many small write() calls. */
	archive_write_set_bytes_per_block(a, 1 << 20);
	archive_write_set_bytes_in_last_block(a, 1);
	return 0;
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
	if (configure_writer(w->a, level, threads) < 0 ||
	    archive_write_open_fd(w->a, w->fd) != ARCHIVE_OK) {
		archive_fail(w->a, w->final_path, err);
		goto fail;
	}
	*out = w;
	return 0;
fail:
	tarball_writer_abort(w);
	return -1;
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
	return ae;
}

int tarball_write_header(struct tarball_writer *w, const char *name,
			 const struct tree_entry *e, struct error *err)
{
	struct archive_entry *ae = entry_for(name, e);
	int rc = archive_write_header(w->a, ae);

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
	struct archive_entry *ae = entry_for(name, e);
	int rc;

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

int tarball_write_buffer(struct tarball_writer *w, const char *name,
			 const void *data, size_t len, int64_t mtime,
			 struct error *err)
{
	struct tree_entry e = {
		.type = ENTRY_FILE, .mode = 0600, .size = len,
		.mtime = { .sec = mtime },
	};

	if (tarball_write_header(w, name, &e, err) < 0)
		return -1;
	return tarball_write_data(w, data, len, err);
}

int tarball_writer_commit(struct tarball_writer *w, uint64_t *size,
			  struct error *err)
{
	struct stat st;
	int rc = -1;

	if (archive_write_close(w->a) != ARCHIVE_OK) {
		archive_fail(w->a, w->final_path, err);
		goto out;
	}
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
	struct tarball_reader *r = reader_new(path);

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

int tarball_next(struct tarball_reader *r, struct tarball_member *m,
		 struct error *err)
{
	int rc = archive_read_next_header(r->a, &r->entry);

	if (rc == ARCHIVE_EOF)
		return 0;
	if (rc < ARCHIVE_WARN)
		return archive_fail(r->a, r->path, err);
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
		return archive_fail(r->a, r->path, err);
	return n;
}

void tarball_reader_close(struct tarball_reader *r)
{
	if (!r)
		return;
	if (r->a)
		archive_read_free(r->a);
	free(r->path);
	free(r);
}
