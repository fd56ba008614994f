/* Trees from manifests and from the source for the history commands (see
 * history.h). */
#include "history.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog.h"
#include "dest.h"
#include "fsutil.h"
#include "hash.h"
#include "scan.h"
#include "tree.h"
#include "util.h"

int history_read_tree(const char *dest, const struct history_entry *h,
		      const struct strlist *paths, struct tree *out,
		      struct error *err)
{
	char *path = dest_archive_path(dest, h->archive);
	struct manifest m;
	int rc;

	catalog_manifest_init(&m);
	rc = catalog_manifest_read_paths(path, paths, &m, err);
	if (rc == 0) {
		*out = m.files;
		memset(&m.files, 0, sizeof(m.files));
	}
	catalog_manifest_release(&m);
	free(path);
	return rc;
}

static int hash_file(int root, const char *path, uint8_t sum[HASH_SIZE])
{
	struct hash *h = hash_new();
	char buf[65536];
	ssize_t n;
	int fd = fs_open_source(root, path, 0);
	int rc = -1;

	if (fd < 0)
		goto out;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (hash_update(h, buf, (size_t)n) < 0)
			goto out;
	}
	rc = hash_final(h, sum);
out:
	if (fd >= 0)
		close(fd);
	hash_free(h);
	return rc;
}

static int skip_destination(const struct history_scan *o,
			    struct scan_options *so)
{
	struct stat st;

	if (!path_is_within(o->dest, o->source) || stat(o->dest, &st) < 0)
		return 0;
	so->skip_dir_valid = true;
	so->skip_dev = st.st_dev;
	so->skip_ino = st.st_ino;
	return 0;
}

static void on_special(void *ctx, const char *path, const char *kind)
{
	(void)ctx;
	(void)path;
	(void)kind;
}

/* Fills in the checksums; drops the files that cannot be read. */
static int64_t checksum_files(const struct history_scan *o,
			      const struct tree *base, struct tree *t,
			      int root)
{
	int64_t failed = 0;
	size_t kept = 0;

	for (size_t i = 0; i < t->len; i++) {
		struct tree_entry *e = &t->entries[i];
		const struct tree_entry *old = tree_find(base, e->path);

		if (e->type == ENTRY_FILE &&
		    !change_needs_reading(e, old, &o->change))
			memcpy(e->checksum, old->checksum, HASH_SIZE);
		else if (e->type == ENTRY_FILE &&
			 hash_file(root, e->path, e->checksum) < 0) {
			if (o->unreadable)
				o->unreadable(o->ctx, e->path,
					      strerror(errno));
			failed++;
			tree_entry_release(e);
			continue;
		}
		t->entries[kept++] = *e;
	}
	t->len = kept;
	return failed;
}

int64_t history_scan_now(const struct history_scan *o, const struct tree *base,
			 struct tree *out, struct error *err)
{
	struct scan_options so = {
		.root = o->source,
		.excludes = o->excludes,
		.exclude_if_present = o->exclude_if_present,
		.one_file_system = o->one_file_system,
		.report = { on_special, o->unreadable, o->ctx },
	};
	struct scan_result res = {0};
	int64_t failed = -1;
	int root = -1;

	skip_destination(o, &so);
	if (scan_tree(&so, &res, err) < 0)
		goto out;
	failed = (int64_t)res.failed_dirs.len;
	root = open(o->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		error_set(err, "cannot open '%s': %s", o->source,
			  strerror(errno));
		failed = -1;
		goto out;
	}
	failed += checksum_files(o, base, &res.tree, root);
	*out = res.tree;
	memset(&res.tree, 0, sizeof(res.tree));
out:
	if (root >= 0)
		close(root);
	scan_result_release(&res);
	return failed;
}
