/* incbak verify's core: reads each archive once, hashes what it stores, and
 * checks every verified backup's tree against what is really there. A
 * damaged archive is a finding to report, never a reason to stop. */
#include "verify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "attrs.h"
#include "hash.h"
#include "lock.h"
#include "catalog.h"
#include "archive_readahead.h"
#include "dest.h"
#include "tree.h"
#include "util.h"

/* A manifest larger than this is not one of ours (as in store.c). */
#define MANIFEST_MAX ((size_t)2 << 30)
/* Checksums in messages: enough hex digits to tell contents apart. */
#define SHORT_SUM 16

/* What is known about one entry of md->contents. */
enum content_state {
	CONTENT_PENDING, /* its holder is among the archives still to read */
	CONTENT_OK,      /* hashed and right, or held by a trusted archive */
	CONTENT_BAD,     /* holder unknown, missing, or without the bytes */
};

/* A tree file whose content is held by an archive read later (content
 * carried forward into a newer archive by rotation). */
struct deferred {
	const char *archive; /* borrowed from md->history */
	char *path;
	size_t content;      /* index in md->contents */
};

struct verifier {
	const char *dest;
	const struct metadata *md;
	const struct verify_report *report;
	struct verify_stats *stats;
	struct error *err;
	bool *selected;            /* per history entry: read it */
	bool *missing;             /* per history entry: no archive file */
	ptrdiff_t *holder;         /* per content: history index or -1 */
	enum content_state *state; /* per content */
	struct deferred *deferred;
	size_t ndeferred, deferred_alloc;
	/* The whole tree of the archive read last, from which the next one's
	 * manifest, if it lists only what changed, is completed. */
	struct tree last_tree;
	const char *last_archive;  /* borrowed from md->history; NULL */
};

/* One archive as read. */
struct archive_check {
	const struct history_entry *h;
	size_t index;              /* in md->history */
	struct tree members;       /* regular members: path, size, checksum,
				      and in ino their place among them */
	struct tree links;         /* hard link members: path, link_target,
				      and in ino the regular members before */
	struct strlist names;      /* every member's name (a folder's without
				      its trailing '/') */
	struct strlist symlinks;   /* the symlink members' names */
	struct manifest manifest;
	bool have_manifest;
	bool tree_known;           /* the manifest's tree is whole */
	bool broken; /* the archive could not be read to its end */
};

static void problem(struct verifier *v, const char *archive, const char *path,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void problem(struct verifier *v, const char *archive, const char *path,
		    const char *fmt, ...)
{
	va_list ap;
	char *what;

	va_start(ap, fmt);
	what = str_vfmt(fmt, ap);
	va_end(ap);
	v->stats->problems++;
	if (v->report && v->report->problem)
		v->report->problem(v->report->ctx, archive, path ? path : "-",
				   what);
	free(what);
}

static void short_sum(const uint8_t sum[HASH_SIZE], char out[HASH_HEX_SIZE])
{
	hex_encode(sum, HASH_SIZE, out);
	out[SHORT_SUM] = '\0';
}

/* ---- setup ---- */

static ptrdiff_t history_index(const struct metadata *md, const char *id)
{
	size_t lo = 0, hi = md->nhistory;

	/* The history is sorted by id (catalog_parse insists). */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(md->history[mid].backup_id, id);

		if (c == 0)
			return (ptrdiff_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int select_backups(struct verifier *v, const char *const *ids,
			  size_t nids)
{
	const struct metadata *md = v->md;

	v->selected = xcalloc(md->nhistory + 1, sizeof(*v->selected));
	v->missing = xcalloc(md->nhistory + 1, sizeof(*v->missing));
	for (size_t i = 0; i < md->nhistory; i++) {
		char *path =
			dest_archive_path(v->dest, md->history[i].archive);
		struct stat st;

		v->selected[i] = nids == 0;
		v->missing[i] = stat(path, &st) < 0 && errno == ENOENT;
		free(path);
	}
	for (size_t i = 0; i < nids; i++) {
		ptrdiff_t at = history_index(md, ids[i]);

		if (at < 0)
			return error_set(v->err, "backup '%s' is not in the "
					 "history", ids[i]);
		v->selected[at] = true;
	}
	return 0;
}

/* Contents held by archives that are not read are trusted while their
 * archive exists; the others wait for their archive. */
static void init_contents(struct verifier *v)
{
	const struct content_index *idx = &v->md->contents;

	v->holder = xcalloc(idx->len + 1, sizeof(*v->holder));
	v->state = xcalloc(idx->len + 1, sizeof(*v->state));
	for (size_t i = 0; i < idx->len; i++) {
		ptrdiff_t h = history_index(v->md, idx->items[i].holder);

		v->holder[i] = h;
		if (h < 0 || v->missing[h])
			v->state[i] = CONTENT_BAD;
		else
			v->state[i] = v->selected[h] ? CONTENT_PENDING
						     : CONTENT_OK;
	}
}

/* ---- reading one archive ---- */

/* Hashes the current member's bytes (the read-ahead hashes them on whichever
 * thread is ahead) into a new entry of ac->members. 0, 1 if the archive is
 * damaged (aerr set), -1 to stop. */
static int hash_member(struct verifier *v, struct archive_check *ac,
		       struct archive_readahead *p, const char *name,
		       struct error *aerr)
{
	struct tree_entry *e;
	uint64_t size = 0;
	const void *data;
	ssize_t n;

	while ((n = archive_readahead_data(p, &data, aerr)) > 0) {
		size += (uint64_t)n;
		if (incbak_interrupted)
			return error_set(v->err, "interrupted");
	}
	if (n < 0)
		return 1;
	e = tree_push(&ac->members);
	e->path = xstrdup(name);
	e->type = ENTRY_FILE;
	e->ino = ac->members.len - 1;
	e->size = size;
	archive_readahead_digest(p, e->checksum);
	v->stats->members++;
	return 0;
}

static int read_manifest(struct verifier *v, struct archive_check *ac,
			 struct archive_readahead *p, struct error *aerr)
{
	struct buf text = {0};
	struct error perr = {{0}};
	const void *data;
	ssize_t n;
	int rc = 1;

	while ((n = archive_readahead_data(p, &data, aerr)) > 0) {
		if (text.len + (size_t)n > MANIFEST_MAX) {
			error_set(aerr, "%s is too large", MANIFEST_MEMBER);
			goto out;
		}
		buf_append(&text, data, (size_t)n);
	}
	if (n < 0)
		goto out;
	rc = 0;
	catalog_manifest_release(&ac->manifest);
	catalog_manifest_init(&ac->manifest);
	ac->have_manifest = catalog_manifest_parse(text.data ? text.data : "",
					   text.len, &ac->manifest, &perr) == 0;
	if (!ac->have_manifest)
		problem(v, ac->h->archive, MANIFEST_MEMBER, "bad manifest: %s",
			perr.msg);
out:
	buf_release(&text);
	return rc;
}

/* A name that could leave the target of an extraction: incbak never
 * writes one. Names below a symlink member are checked at the end. */
static void check_name(struct verifier *v, struct archive_check *ac,
		       const struct archive_readahead_member *m)
{
	size_t n = strlen(m->name);
	char *name;

	if (m->type == ENTRY_DIR && n > 1 && m->name[n - 1] == '/')
		n--;
	name = xstrndup(m->name, n);
	if (!tree_path_is_safe(name))
		problem(v, ac->h->archive, m->name, "unsafe member name");
	strlist_push_owned(&ac->names, name);
}

static void add_link(struct archive_check *ac,
		     const struct archive_readahead_member *m)
{
	struct tree_entry *e = tree_push(&ac->links);

	e->path = xstrdup(m->name);
	e->link_target = xstrdup(m->link_target ? m->link_target : "");
	e->ino = ac->members.len;
}

static int read_member(struct verifier *v, struct archive_check *ac,
		       struct archive_readahead *p,
		       const struct archive_readahead_member *m,
		       struct error *aerr)
{
	char *name;
	int rc;

	if (incbak_interrupted)
		return error_set(v->err, "interrupted");
	check_name(v, ac, m);
	if (m->is_other) {
		problem(v, ac->h->archive, m->name, "a device, FIFO or socket: "
			"incbak never stores one");
		return 0;
	}
	if (m->is_hardlink) {
		add_link(ac, m);
		return 0;
	}
	if (m->type == ENTRY_SYMLINK)
		strlist_push(&ac->symlinks, m->name);
	if (m->type != ENTRY_FILE)
		return 0;
	if (!strcmp(m->name, MANIFEST_MEMBER))
		return read_manifest(v, ac, p, aerr);
	name = xstrdup(m->name);
	rc = hash_member(v, ac, p, name, aerr);
	free(name);
	return rc;
}

/* Reads the archive to its end, decompressing on a second thread. Damage
 * is reported here, once; returns -1 only when verification must stop. */
static int read_archive(struct verifier *v, struct archive_check *ac)
{
	char *path = dest_archive_path(v->dest, ac->h->archive);
	struct archive_readahead *p = NULL;
	struct archive_readahead_member m;
	struct error aerr = {{0}};
	int more = -1, rc = 0;

	if (archive_readahead_open_every(path, true, &p, &aerr) == 0)
		while ((more = archive_readahead_next_member(p, &m, &aerr)) >
			       0 &&
		       (rc = read_member(v, ac, p, &m, &aerr)) == 0)
			;
	if (rc < 0)
		goto out;
	if (more < 0 || rc > 0) {
		ac->broken = true;
		problem(v, ac->h->archive, "-", "cannot read the archive: %s",
			error_without_path(aerr.msg, path));
	}
	rc = 0;
out:
	archive_readahead_close(p);
	free(path);
	return rc;
}

/* ---- checking one archive ---- */

/* True if the archive has `member` with exactly this content; reports
 * what is wrong if `report`. */
static bool member_matches(struct verifier *v, const struct archive_check *ac,
			   const char *member, const uint8_t sum[HASH_SIZE],
			   uint64_t size, bool report)
{
	const struct tree_entry *e = tree_find(&ac->members, member);
	char want[HASH_HEX_SIZE], got[HASH_HEX_SIZE];

	short_sum(sum, want);
	if (!e) {
		if (report)
			problem(v, ac->h->archive, member, "missing: content "
				"%s should be stored here", want);
		return false;
	}
	short_sum(e->checksum, got);
	if (memcmp(e->checksum, sum, HASH_SIZE)) {
		if (report)
			problem(v, ac->h->archive, member, "damaged: the bytes "
				"hash to %s, not %s", got, want);
		return false;
	}
	if (e->size != size) {
		if (report)
			problem(v, ac->h->archive, member, "%llu bytes, but "
				"recorded as %llu", (unsigned long long)e->size,
				(unsigned long long)size);
		return false;
	}
	return true;
}

/* incbak stores a duplicate as a hard link to a file member before it;
 * any other target is something tar would link to outside the archive. */
static void check_links(struct verifier *v, const struct archive_check *ac)
{
	for (size_t i = 0; i < ac->links.len; i++) {
		const struct tree_entry *l = &ac->links.entries[i];
		const struct tree_entry *e = tree_find(&ac->members,
						       l->link_target);

		if (!e || e->ino >= l->ino ||
		    !tree_path_is_safe(l->link_target))
			problem(v, ac->h->archive, l->path, "hard link to "
				"'%s', which is not stored before it",
				l->link_target);
	}
}

/* tar would write a member below a symlink member through the link. */
static void check_below_symlinks(struct verifier *v, struct archive_check *ac)
{
	strlist_sort(&ac->symlinks);
	for (size_t i = 0; ac->symlinks.len && i < ac->names.len; i++) {
		char *name = ac->names.items[i];
		char *slash = strchr(name, '/');
		bool below = false;

		for (; slash && !below; slash = strchr(slash + 1, '/')) {
			*slash = '\0';
			below = strlist_has_sorted(&ac->symlinks, name);
			*slash = '/';
			if (below)
				problem(v, ac->h->archive, name,
					"below symlink "
					"member '%.*s'",
					(int)(slash - name), name);
		}
	}
}

static void check_manifest(struct verifier *v, const struct archive_check *ac)
{
	const struct content_index *holds = &ac->manifest.holds;

	if (strcmp(ac->manifest.backup_id, ac->h->backup_id))
		problem(v, ac->h->archive, MANIFEST_MEMBER, "it is the "
			"manifest of backup %s", ac->manifest.backup_id);
	for (size_t i = 0; i < holds->len; i++)
		member_matches(v, ac, holds->items[i].member,
			       holds->items[i].checksum, holds->items[i].size,
			       true);
}

/* True if the manifest's holds already say the same as c (so a problem
 * with it has been reported). */
static bool listed_in_holds(const struct archive_check *ac,
			    const struct content *c)
{
	const struct content *hold;

	if (!ac->have_manifest)
		return false;
	hold = catalog_content_find(&ac->manifest.holds, c->checksum);
	return hold && !strcmp(hold->member, c->member) &&
	       hold->size == c->size;
}

/* Decides, for every content the metadata says this archive holds, whether
 * the bytes are really there. */
static void settle_contents(struct verifier *v, const struct archive_check *ac)
{
	const struct content_index *idx = &v->md->contents;

	for (size_t i = 0; i < idx->len; i++) {
		const struct content *c = &idx->items[i];
		bool report;

		if (v->holder[i] != (ptrdiff_t)ac->index)
			continue;
		report = !ac->broken && !listed_in_holds(ac, c);
		v->state[i] = member_matches(v, ac, c->member, c->checksum,
					     c->size, report) ? CONTENT_OK
							      : CONTENT_BAD;
	}
}

/* A file of `archive`'s tree whose content is not to be had. */
static void report_lost(struct verifier *v, const char *archive,
			const char *path, size_t content)
{
	const struct content *c = &v->md->contents.items[content];
	ptrdiff_t h = v->holder[content];
	char sum[HASH_HEX_SIZE];

	short_sum(c->checksum, sum);
	if (h < 0)
		problem(v, archive, path, "content %s is held by backup %s, "
			"which is not in the history", sum, c->holder);
	else if (v->missing[h])
		problem(v, archive, path, "content %s is in %s, which is "
			"missing", sum, v->md->history[h].archive);
	else
		problem(v, archive, path, "content %s is missing or damaged "
			"in %s", sum, v->md->history[h].archive);
}

static void check_file(struct verifier *v, const char *archive,
		       const struct tree_entry *e)
{
	const struct content *c = catalog_content_find(&v->md->contents, e->checksum);
	char sum[HASH_HEX_SIZE];
	size_t i;
	struct deferred *d;

	if (!c) {
		short_sum(e->checksum, sum);
		problem(v, archive, e->path, "content %s is not in %s", sum,
			METADATA_FILE_NAME);
		return;
	}
	i = (size_t)(c - v->md->contents.items);
	if (v->state[i] == CONTENT_BAD)
		report_lost(v, archive, e->path, i);
	if (v->state[i] != CONTENT_PENDING)
		return;
	grow_array((void **)&v->deferred, &v->deferred_alloc,
		   v->ndeferred + 1, sizeof(*v->deferred));
	d = &v->deferred[v->ndeferred++];
	d->archive = archive;
	d->path = xstrdup(e->path);
	d->content = i;
}

/* The recorded extended attributes and ACLs of e could be applied: each
 * ACL is one the kernel would take (the manifest's reader already checked
 * the encoding). */
static void check_attrs(struct verifier *v, const char *archive,
			const struct tree_entry *e)
{
	struct attrs_item *items;
	struct attrs_acl_entry acl[1];
	long n = attrs_decode(e->attrs, &items);

	if (n < 0) {
		problem(v, archive, e->path, "its attributes are damaged");
		return;
	}
	for (long i = 0; i < n; i++)
		if (attrs_is_acl(items[i].name) &&
		    attrs_acl_entries(items[i].value, items[i].size, acl,
				      ARRAY_SIZE(acl)) < 0)
			problem(v, archive, e->path, "attribute '%s' is not "
				"an ACL", items[i].name);
	attrs_items_free(items, n);
}

static void check_tree(struct verifier *v, const struct archive_check *ac)
{
	const struct tree *t = &ac->manifest.files;

	for (size_t i = 0; i < t->len; i++) {
		if (t->entries[i].attrs)
			check_attrs(v, ac->h->archive, &t->entries[i]);
		if (t->entries[i].type != ENTRY_FILE)
			continue;
		v->stats->files++;
		/* Empty files restore from their record alone. */
		if (t->entries[i].size > 0)
			check_file(v, ac->h->archive, &t->entries[i]);
	}
}

/* A manifest that lists only what changed since its parent's tree is
 * completed from that tree: the one just checked, as a run writes them,
 * else read from the parent's archive. */
static void complete_tree(struct verifier *v, struct archive_check *ac)
{
	struct manifest *m = &ac->manifest;
	struct error err = {{0}};
	char *path;

	ac->tree_known = true;
	if (!m->delta)
		return;
	path = dest_archive_path(v->dest, ac->h->archive);
	if (catalog_manifest_complete(path, m, v->last_archive, &v->last_tree,
				    &err) < 0) {
		ac->tree_known = false;
		problem(v, ac->h->archive, MANIFEST_MEMBER,
			"cannot know this backup's tree: %s",
			error_without_path(err.msg, path));
	}
	free(path);
}

/* Kept for the next archive's manifest. */
static void keep_tree(struct verifier *v, struct archive_check *ac)
{
	tree_release(&v->last_tree);
	v->last_archive = NULL;
	if (!ac->have_manifest || !ac->tree_known)
		return;
	v->last_tree = ac->manifest.files;
	memset(&ac->manifest.files, 0, sizeof(ac->manifest.files));
	v->last_archive = ac->h->archive;
}

static void check_archive(struct verifier *v, struct archive_check *ac)
{
	tree_sort(&ac->members);
	if (!ac->broken && !ac->have_manifest)
		problem(v, ac->h->archive, "-", "no %s: not an incbak archive",
			MANIFEST_MEMBER);
	if (!ac->broken)
		check_links(v, ac);
	check_below_symlinks(v, ac);
	if (ac->have_manifest)
		check_manifest(v, ac);
	settle_contents(v, ac);
	/* A tree that cannot be completed is checked as far as it is
	 * known: what its manifest lists. */
	if (ac->have_manifest) {
		complete_tree(v, ac);
		check_tree(v, ac);
	}
	keep_tree(v, ac);
}

static int verify_one(struct verifier *v, size_t index)
{
	struct archive_check ac = { .h = &v->md->history[index],
				    .index = index };
	int rc = 0;

	catalog_manifest_init(&ac.manifest);
	v->stats->archives++;
	if (v->missing[index]) {
		ac.broken = true;
		problem(v, ac.h->archive, "-", "the archive is missing");
	} else {
		rc = read_archive(v, &ac);
	}
	if (rc == 0)
		check_archive(v, &ac);
	tree_release(&ac.members);
	tree_release(&ac.links);
	strlist_clear(&ac.names);
	strlist_clear(&ac.symlinks);
	catalog_manifest_release(&ac.manifest);
	return rc;
}

static void settle_deferred(struct verifier *v)
{
	for (size_t i = 0; i < v->ndeferred; i++) {
		const struct deferred *d = &v->deferred[i];

		if (v->state[d->content] != CONTENT_OK)
			report_lost(v, d->archive, d->path, d->content);
	}
}

static void verifier_release(struct verifier *v)
{
	free(v->selected);
	free(v->missing);
	free(v->holder);
	free(v->state);
	for (size_t i = 0; i < v->ndeferred; i++)
		free(v->deferred[i].path);
	free(v->deferred);
	tree_release(&v->last_tree);
}

int verify_backups(const char *dest, const struct metadata *md,
		   const char *const *ids, size_t nids,
		   const struct verify_report *report,
		   struct verify_stats *stats, struct error *err)
{
	struct verifier v = { .dest = dest, .md = md, .report = report,
			      .stats = stats, .err = err };
	int rc = -1;

	memset(stats, 0, sizeof(*stats));
	if (select_backups(&v, ids, nids) < 0)
		goto out;
	init_contents(&v);
	for (size_t i = 0; i < md->nhistory; i++)
		if (v.selected[i] && verify_one(&v, i) < 0)
			goto out;
	settle_deferred(&v);
	rc = 0;
out:
	verifier_release(&v);
	return rc;
}

/* A missing or damaged metadata file is an error that `incbak repair`
 * fixes. */
static int load_metadata(const char *dest, struct metadata *md,
			 struct error *err)
{
	bool found;

	if (catalog_load(dest, md, &found, err) < 0) {
		char *why = xstrdup(err->msg);

		error_set(err, "%s; run 'incbak repair' to rebuild it from the "
			  "archives", why);
		free(why);
		return -1;
	}
	if (!found)
		return error_set(err, "no %s in '%s'; if it holds backups, "
				 "run 'incbak repair' to rebuild it from the "
				 "archives", METADATA_FILE_NAME, dest);
	if (!md->nhistory)
		return error_set(err, "no backups in '%s' to verify", dest);
	return 0;
}

static int verify_locked(const struct verify_options *o, struct metadata *md,
			 struct verify_stats *stats, struct error *err)
{
	struct strlist ids = {0};
	int rc = -1;

	if (load_metadata(o->dest, md, err) < 0)
		goto out;
	for (size_t i = 0; i < o->nqueries; i++) {
		int at = dest_resolve_id(md, o->queries[i], err);

		if (at < 0) {
			rc = STATUS_USAGE;
			goto out;
		}
		strlist_push(&ids, md->history[at].backup_id);
	}
	rc = verify_backups(o->dest, md, (const char *const *)ids.items,
			    ids.len, &o->report, stats, err);
out:
	strlist_clear(&ids);
	return rc;
}

int verify_run(const struct verify_options *o, struct verify_stats *stats,
	       struct error *err)
{
	struct lock *lock = NULL;
	struct metadata md;
	struct stat st;
	int rc;

	memset(stats, 0, sizeof(*stats));
	errno = 0;
	if (stat(o->dest, &st) < 0 || !S_ISDIR(st.st_mode))
		return error_set(err, "no backups in '%s' to verify: %s",
				 o->dest, errno ? strerror(errno)
						: "not a folder");
	rc = lock_acquire(o->dest, LOCK_SHARED, o->host, o->now, &lock, err);
	if (rc != STATUS_OK)
		return rc;
	catalog_init(&md);
	rc = verify_locked(o, &md, stats, err);
	catalog_release(&md);
	lock_release(lock);
	return rc;
}
