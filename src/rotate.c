/* Rotation that keeps every kept backup whole. Archives hold only what
 * changed, so the oldest archive usually holds bytes that newer backups
 * still use; before it goes, those bytes are copied into the newest
 * archive. */
#include "rotate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faultpoint.h"
#include "fsutil.h"
#include "hash.h"
#include "catalog.h"
#include "dest.h"
#include "intent.h"
#include "rotate_plan.h"
#include "tarball.h"
#include "util.h"

#define COPY_CHUNK ((size_t)1 << 20)

/* A member of the heir copied into the rewritten archive, and where it
 * starts there now. */
struct moved {
	char *name;
	uint64_t frame, skip;
};

/* One carried content: where it is now and where it goes. */
struct carry {
	struct content *content; /* in md->contents */
	char *new_member;        /* set once it is in the heir */
	bool copied;             /* its frames go in as they are (maybe: see
				    struct segment) */
	const struct tree_entry *takes; /* the heir file whose name it keeps */
	uint64_t frame, skip;    /* where its member starts: in the victim,
				    then, once copied, in the heir */
};

/* A span of the victim's frames between two member boundaries, read
 * while deciding whether it goes into the heir as it is: only if every
 * member in it is one the heir's tree has as it is (see
 * member_stays_as_is), so `tar -x` of the heir still gives files of its
 * tree and nothing stale. */
struct segment {
	uint64_t comp, unc;      /* where it starts in the victim */
	bool whole;              /* every member in it stays as it is */
	struct carry **carries;  /* the contents it holds */
	size_t ncarries, alloc;
};

/* A span of the victim's frames, from compressed offset comp
 * (uncompressed unc) to uncompressed unc_end (UINT64_MAX: the end), whose
 * contents to carry are read and compressed again one by one. */
struct frame_span {
	uint64_t comp, unc, unc_end;
};

struct rewrite {
	const char *dest;
	const struct rotate_options *opts;
	struct carry *carries;
	size_t ncarries;
	struct carry **carry_by_member;  /* sorted by the victim's member */
	struct tarball_writer *w;
	struct strlist heir_names;   /* member names copied from the heir */
	const struct tree_entry **by_checksum; /* heir files that may name a
						  carried content, sorted */
	size_t nby_checksum;
	bool *name_taken;            /* per heir file: a carry took its path */
	struct moved *moved;         /* the heir's own file members */
	size_t nmoved, moved_alloc;
	bool have_heir_manifest;
	struct manifest heir;
	size_t placed_holds;         /* the first holds, copied raw, already
					know their compressed offsets */
	bool copy_frames;            /* carry_by_frames(), not member by
					member from the start */
	size_t ncopied;              /* carries whose frames went in as
					they are */
	struct hash *hash;
	char *chunk;
	struct error *err;
	int rc;                      /* -1 or STATUS_DAMAGED on failure */
	uint64_t new_size;           /* of the rewritten heir */
};

static void entry_from_member(const struct tarball_member *m,
			      struct tree_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->type = m->type;
	e->mode = m->mode;
	e->uid = m->uid;
	e->gid = m->gid;
	e->size = m->size > 0 ? (uint64_t)m->size : 0;
	e->mtime = m->mtime;
	e->link_target = (char *)m->link_target;
}

/* An archive that cannot be read (a zstd checksum, a cut-off frame, an
 * I/O error) is damage, as restore and verify count it: exit 5, where a
 * failure to write the new archive is exit 1. */
static int read_failed(struct rewrite *rw)
{
	char *why;

	if (rw->rc == STATUS_DAMAGED)
		return -1;
	rw->rc = STATUS_DAMAGED;
	why = xstrdup(rw->err->msg);
	error_set(rw->err, "%s; nothing was removed", why);
	free(why);
	return -1;
}

/* Copies the current member's data, hashing it; sets *size. */
static int copy_data(struct rewrite *rw, struct tarball_reader *r,
		     uint8_t sum[HASH_SIZE], uint64_t *size)
{
	ssize_t n;

	hash_reset(rw->hash);
	*size = 0;
	while ((n = tarball_read(r, rw->chunk, COPY_CHUNK, rw->err)) > 0) {
		if (tarball_write_data(rw->w, rw->chunk, (size_t)n, rw->err) < 0)
			return -1;
		hash_update(rw->hash, rw->chunk, (size_t)n);
		*size += (uint64_t)n;
	}
	if (n < 0)
		return read_failed(rw);
	return hash_final(rw->hash, sum);
}

/* Remembers where the member just started, for the heir's holds. */
static void note_moved(struct rewrite *rw, const char *name)
{
	struct moved *mv;

	grow_array((void **)&rw->moved, &rw->moved_alloc, rw->nmoved + 1,
		   sizeof(*rw->moved));
	mv = &rw->moved[rw->nmoved++];
	mv->name = xstrdup(name);
	tarball_last_member_position(rw->w, &mv->frame, &mv->skip);
}

static int cmp_moved(const void *a, const void *b)
{
	return strcmp(((const struct moved *)a)->name,
		      ((const struct moved *)b)->name);
}

/* The heir's holds name members of the old file: point them at the same
 * members in the new one (unknown if, oddly, one was not copied). */
static void relocate_holds(struct rewrite *rw)
{
	if (rw->nmoved > 1)
		qsort(rw->moved, rw->nmoved, sizeof(*rw->moved), cmp_moved);
	for (size_t i = 0; i < rw->heir.holds.len; i++) {
		struct content *h = &rw->heir.holds.items[i];
		struct moved key = { .name = h->member }, *mv = NULL;

		if (rw->nmoved)
			mv = bsearch(&key, rw->moved, rw->nmoved,
				     sizeof(*rw->moved), cmp_moved);
		h->has_frame = mv != NULL;
		h->frame_offset = mv ? mv->frame : 0;
		h->frame_skip = mv ? mv->skip : 0;
	}
}

static int copy_member(struct rewrite *rw, struct tarball_reader *r,
		       const struct tarball_member *m, const char *name)
{
	struct tree_entry e;
	uint8_t sum[HASH_SIZE];
	uint64_t size;

	entry_from_member(m, &e);
	if (m->is_hardlink)
		return tarball_write_hardlink(rw->w, name, m->link_target, &e,
					      rw->err);
	if (tarball_write_header(rw->w, name, &e, rw->err) < 0)
		return -1;
	if (e.type != ENTRY_FILE)
		return 0;
	note_moved(rw, name);
	return copy_data(rw, r, sum, &size);
}

/* The heir's manifest, parsed record by record as it is decompressed
 * (never whole: 300 MB for a million files); one that does not go through
 * that way is read again from the archive, which says what is wrong. */
static int read_heir_manifest(struct rewrite *rw, struct tarball_reader *r,
			      const char *path)
{
	struct catalog_stream *s = catalog_stream_new(NULL);
	struct error ignored;
	ssize_t n;
	int rc;

	catalog_manifest_release(&rw->heir);
	catalog_manifest_init(&rw->heir);
	while ((n = tarball_read(r, rw->chunk, COPY_CHUNK, rw->err)) > 0)
		catalog_stream_feed(s, rw->chunk, (size_t)n);
	rc = n < 0 ? read_failed(rw)
		   : catalog_stream_finish(s, &rw->heir, &ignored);
	catalog_stream_free(s);
	if (rc > 0 || (rc < 0 && n == 0)) {
		catalog_manifest_release(&rw->heir);
		catalog_manifest_init(&rw->heir);
		rc = catalog_manifest_read(path, &rw->heir, rw->err);
		if (rc < 0)
			read_failed(rw);
	}
	rw->have_heir_manifest = rc == 0;
	return rc;
}

/* Pass 1, for a heir without an index: everything of it but its manifest
 * goes into the new archive, decompressed and compressed again. */
static int copy_heir(struct rewrite *rw, const char *path)
{
	struct tarball_reader *r = NULL;
	struct tarball_member m;
	int more, rc = -1;

	if (tarball_reader_open(path, &r, rw->err) < 0)
		return read_failed(rw);
	while ((more = tarball_next(r, &m, rw->err)) > 0) {
		if (m.is_other)
			continue;
		if (!strcmp(m.name, MANIFEST_MEMBER) && !m.is_hardlink) {
			if (read_heir_manifest(rw, r, path) < 0)
				goto out;
			continue;
		}
		if (copy_member(rw, r, &m, m.name) < 0)
			goto out;
		strlist_push(&rw->heir_names, m.name);
	}
	if (more < 0) {
		read_failed(rw);
		goto out;
	}
	if (!rw->have_heir_manifest) {
		error_set(rw->err, "'%s' has no %s: not an incbak archive",
			  path, MANIFEST_MEMBER);
		read_failed(rw);
		goto out;
	}
	relocate_holds(rw);
	rc = 0;
out:
	tarball_reader_close(r);
	return rc;
}

/* Pass 1 without decompressing: the heir's members up to its manifest
 * frame are copied as they are, and keep their positions. Returns 1 when
 * done, 0 when the heir has no index (then copy_heir() does it), -1. */
static int copy_heir_raw(struct rewrite *rw, const char *path)
{
	struct tarball_reader *r = NULL;
	struct tarball_member m;
	uint64_t manifest_frame;
	struct error ignored;
	int more, rc = -1;

	if (tarball_find_manifest_frame(path, &manifest_frame, &ignored) != 1)
		return 0;
	if (tarball_reader_open_at(path, manifest_frame, 0, &r, rw->err) < 0)
		return read_failed(rw);
	more = tarball_next(r, &m, rw->err);
	if (more == 0 || (more > 0 && (strcmp(m.name, MANIFEST_MEMBER) ||
				       m.is_hardlink))) {
		rc = 0; /* the index is stale: read the heir in order */
		goto out;
	}
	if (more < 0) {
		read_failed(rw);
		goto out;
	}
	if (read_heir_manifest(rw, r, path) < 0)
		goto out;
	if (tarball_writer_start_with(rw->w, path, manifest_frame,
				      rw->err) < 0)
		goto out;
	/* Carried contents must not take the name of a member in there. */
	for (size_t i = 0; i < rw->heir.holds.len; i++)
		strlist_push(&rw->heir_names, rw->heir.holds.items[i].member);
	rw->placed_holds = rw->heir.holds.len;
	rc = 1;
out:
	tarball_reader_close(r);
	return rc;
}

/* Lookups for carrying: a victim with every file of a big tree carries
 * tens of thousands of contents, so none of them may scan a list. */
static int cmp_entries_by_checksum(const void *a, const void *b)
{
	const struct tree_entry *x = *(const struct tree_entry *const *)a;
	const struct tree_entry *y = *(const struct tree_entry *const *)b;
	int c = memcmp(x->checksum, y->checksum, HASH_SIZE);

	/* then in tree order, which decides between equal candidates */
	return c ? c : (x > y) - (x < y);
}

static int cmp_carries_by_member(const void *a, const void *b)
{
	const struct carry *x = *(const struct carry *const *)a;
	const struct carry *y = *(const struct carry *const *)b;
	int c = strcmp(x->content->member, y->content->member);

	return c ? c : (x > y) - (x < y);
}

static void index_for_carrying(struct rewrite *rw)
{
	const struct tree *files = &rw->heir.files;

	rw->by_checksum = xmalloc((files->len + 1) * sizeof(*rw->by_checksum));
	rw->name_taken = xcalloc(files->len + 1, sizeof(*rw->name_taken));
	for (size_t i = 0; i < files->len; i++) {
		const struct tree_entry *e = &files->entries[i];

		if (e->type == ENTRY_FILE && !dest_member_reserved(e->path))
			rw->by_checksum[rw->nby_checksum++] = e;
	}
	qsort(rw->by_checksum, rw->nby_checksum, sizeof(*rw->by_checksum),
	      cmp_entries_by_checksum);
	rw->carry_by_member = xmalloc((rw->ncarries + 1) *
				      sizeof(*rw->carry_by_member));
	for (size_t i = 0; i < rw->ncarries; i++)
		rw->carry_by_member[i] = &rw->carries[i];
	qsort(rw->carry_by_member, rw->ncarries, sizeof(*rw->carry_by_member),
	      cmp_carries_by_member);
}

/* The first heir file (in tree order) with this checksum. */
static size_t first_with_checksum(const struct rewrite *rw,
				  const uint8_t sum[HASH_SIZE])
{
	size_t lo = 0, hi = rw->nby_checksum;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(rw->by_checksum[mid]->checksum, sum, HASH_SIZE) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A carried content goes under a path of the heir's own tree that has it,
 * so a plain `tar -x` of the new base gives that tree; failing that, under
 * .incbak/content/CHECKSUM. */
static char *carried_name(struct rewrite *rw, const struct content *c)
{
	char hex[HASH_HEX_SIZE];
	const struct tree_entry *own = tree_find(&rw->heir.files, c->member);

	/* Its own name if the heir's tree has it there, so hard links to it
	 * copied with their frames still find it. */
	if (own && own->type == ENTRY_FILE &&
	    !memcmp(own->checksum, c->checksum, HASH_SIZE) &&
	    !rw->name_taken[own - rw->heir.files.entries] &&
	    !strlist_has_sorted(&rw->heir_names, own->path)) {
		rw->name_taken[own - rw->heir.files.entries] = true;
		return xstrdup(own->path);
	}

	for (size_t i = first_with_checksum(rw, c->checksum);
	     i < rw->nby_checksum &&
	     !memcmp(rw->by_checksum[i]->checksum, c->checksum, HASH_SIZE);
	     i++) {
		const struct tree_entry *e = rw->by_checksum[i];
		size_t at = (size_t)(e - rw->heir.files.entries);

		if (rw->name_taken[at] ||
		    strlist_has_sorted(&rw->heir_names, e->path))
			continue;
		rw->name_taken[at] = true;
		return xstrdup(e->path);
	}
	hex_encode(c->checksum, HASH_SIZE, hex);
	return str_fmt("%s%s", DEST_CONTENT_DIR, hex);
}

/* The first carry (by member) whose member is not below `member`. */
static size_t first_carry_from(const struct rewrite *rw, const char *member)
{
	size_t lo = 0, hi = rw->ncarries;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(rw->carry_by_member[mid]->content->member,
			   member) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The carry for a member of the victim that is not carried yet. */
static struct carry *find_carry(struct rewrite *rw, const char *member)
{
	for (size_t i = first_carry_from(rw, member); i < rw->ncarries &&
	     !strcmp(rw->carry_by_member[i]->content->member, member); i++)
		if (!rw->carry_by_member[i]->new_member &&
		    !rw->carry_by_member[i]->copied)
			return rw->carry_by_member[i];
	return NULL;
}

/* The carry of the victim's member `member` that is in the heir under
 * that same name already: copied with its frame (or about to be), or
 * carried under it. */
static struct carry *find_kept_name(struct rewrite *rw, const char *member)
{
	for (size_t i = first_carry_from(rw, member); i < rw->ncarries &&
	     !strcmp(rw->carry_by_member[i]->content->member, member); i++) {
		struct carry *cy = rw->carry_by_member[i];

		if (cy->copied || (cy->new_member &&
				   !strcmp(cy->new_member, member)))
			return cy;
	}
	return NULL;
}

static int carry_member(struct rewrite *rw, struct tarball_reader *r,
			const struct tarball_member *m, struct carry *cy,
			const char *victim)
{
	struct content *c = cy->content, *h;
	struct tree_entry e;
	uint8_t sum[HASH_SIZE];
	uint64_t size;
	char *name = carried_name(rw, c);

	entry_from_member(m, &e);
	e.mode = 0644;
	if (tarball_write_header(rw->w, name, &e, rw->err) < 0 ||
	    copy_data(rw, r, sum, &size) < 0) {
		free(name);
		return -1;
	}
	if (memcmp(sum, c->checksum, HASH_SIZE) || size != c->size) {
		free(name);
		rw->rc = STATUS_DAMAGED;
		return error_set(rw->err, "'%s' in '%s' does not match its "
				 "checksum: not carrying damaged data forward; "
				 "nothing was removed", c->member, victim);
	}
	cy->new_member = name;
	h = catalog_content_insert(&rw->heir.holds, c->checksum, c->size, NULL,
				   name, NULL);
	tarball_last_member_position(rw->w, &h->frame_offset, &h->frame_skip);
	h->has_frame = true;
	return 0;
}

/* Pass 2, member by member: the contents to carry in a span of the
 * victim's frames, each read and compressed again. */
static int carry_from_span(struct rewrite *rw, const char *path,
			   const struct frame_span *span)
{
	struct tarball_reader *r = NULL;
	struct tarball_member m;
	int more, rc = -1;

	if (tarball_reader_open_at(path, span->comp, 0, &r, rw->err) < 0)
		return read_failed(rw);
	while ((more = tarball_next(r, &m, rw->err)) > 0) {
		struct carry *cy;

		if (span->unc_end != UINT64_MAX &&
		    span->unc + tarball_member_offset(r) >= span->unc_end)
			break;
		if (m.is_hardlink || m.type != ENTRY_FILE)
			continue;
		cy = find_carry(rw, m.name);
		if (cy && carry_member(rw, r, &m, cy, path) < 0)
			goto out;
	}
	rc = more < 0 ? read_failed(rw) : 0;
out:
	tarball_reader_close(r);
	return rc;
}

/* The heir's tree entry at a member's path (a folder's member name ends
 * in '/'). */
static const struct tree_entry *find_in_heir_tree(const struct rewrite *rw,
						  const struct tarball_member *m)
{
	const struct tree_entry *e;
	size_t n = strlen(m->name);
	char *path;

	if (m->type != ENTRY_DIR || n < 2 || m->name[n - 1] != '/')
		return tree_find(&rw->heir.files, m->name);
	path = xstrndup(m->name, n - 1);
	e = tree_find(&rw->heir.files, path);
	free(path);
	return e;
}

/* Whether the victim's member m can go into the heir as it is (see
 * rotate_plan_member_as_is). Sets *cy to the carry of a file's content,
 * and marks the heir file whose name it then keeps. */
static bool member_stays_as_is(struct rewrite *rw,
			       const struct tarball_member *m,
			       struct carry **cy)
{
	const struct carry *target = NULL;
	struct carry *named = find_carry(rw, m->name);
	struct rotate_member f = {
		.type = (uint8_t)m->type,
		.is_hardlink = m->is_hardlink,
		.is_other = m->is_other,
		.is_manifest = !strcmp(m->name, MANIFEST_MEMBER),
		.heir_has_name = strlist_has_sorted(&rw->heir_names, m->name),
		.reserved = dest_member_reserved(m->name),
		.size = (uint64_t)m->size,
		.link_target = m->link_target,
		.carried = named ? named->content : NULL,
	};

	*cy = NULL;
	if (!f.reserved)
		f.in_heir = find_in_heir_tree(rw, m);
	if (f.in_heir)
		f.name_taken = rw->name_taken[f.in_heir - rw->heir.files.entries];
	if (m->is_hardlink && m->link_target)
		target = find_kept_name(rw, m->link_target);
	if (target)
		f.link_carried = target->content;
	if (!rotate_plan_member_as_is(&f))
		return false;
	if (named && m->type == ENTRY_FILE && !m->is_hardlink) {
		*cy = named;
		if (!f.reserved)
			named->takes = f.in_heir;
	}
	return true;
}

static void segment_start(struct segment *sg, uint64_t comp, uint64_t unc)
{
	sg->comp = comp;
	sg->unc = unc;
	sg->whole = true;
	sg->ncarries = 0;
}

/* A member that is not kept as it is: the segment is carried member by
 * member, and its contents are no longer taken as copied. */
static void segment_spoil(struct segment *sg)
{
	for (size_t i = 0; i < sg->ncarries; i++) {
		sg->carries[i]->copied = false;
		sg->carries[i]->takes = NULL;
	}
	sg->ncarries = 0;
	sg->whole = false;
}

/* A content whose member starts at uncompressed offset pos of the victim. */
static void segment_add(struct segment *sg, struct carry *cy,
			const struct tarball_reader *r, uint64_t pos)
{
	uint64_t frame_unc = 0;

	tarball_frame_at(r, pos, &cy->frame, &frame_unc);
	cy->skip = pos - frame_unc;
	cy->copied = true;
	grow_array((void **)&sg->carries, &sg->alloc, sg->ncarries + 1,
		   sizeof(*sg->carries));
	sg->carries[sg->ncarries++] = cy;
}

/* The segment ends at a member boundary: copied as it is if every member
 * in it stays so, else carried member by member. */
static int end_segment(struct rewrite *rw, const char *path, int victim_fd,
		       struct segment *sg, uint64_t comp_end, uint64_t unc_end)
{
	struct frame_span span = { sg->comp, sg->unc, unc_end };
	uint64_t at;

	if (unc_end <= sg->unc)
		return 0;
	if (!sg->whole)
		return carry_from_span(rw, path, &span);
	if (tarball_writer_append_frames(rw->w, victim_fd, sg->comp,
					 comp_end - sg->comp, &at,
					 rw->err) < 0)
		return -1;
	for (size_t i = 0; i < sg->ncarries; i++) {
		struct carry *cy = sg->carries[i];

		cy->new_member = xstrdup(cy->content->member);
		cy->frame = at + (cy->frame - sg->comp);
		if (cy->takes)
			rw->name_taken[cy->takes - rw->heir.files.entries] =
				true;
		rw->ncopied++;
	}
	return 0;
}

/* Pass 2: the victim's frames that hold only members the heir keeps as
 * they are go into it unchanged, not compressed again, read once to find
 * that out (which checks their zstd checksums); what the others hold to
 * carry is carried member by member, in the victim's order, so a hard
 * link copied always follows its target. */
static int carry_by_frames(struct rewrite *rw, const char *path)
{
	struct tarball_reader *r = NULL;
	struct tarball_member m;
	struct segment sg = {0};
	uint64_t pos = 0, comp;
	int fd = -1, more, rc = -1;

	/* The reader first: it refuses what is not a regular file, on which
	 * open() could block. */
	if (tarball_reader_open_whole(path, &r, rw->err) < 0) {
		read_failed(rw);
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		error_set(rw->err, "cannot open '%s': %s", path,
			  strerror(errno));
		read_failed(rw);
		goto out;
	}
	segment_start(&sg, 0, 0);
	while ((more = tarball_next(r, &m, rw->err)) > 0) {
		struct carry *cy;

		pos = tarball_member_offset(r);
		if (pos > sg.unc && tarball_frame_ends_at(r, pos, &comp)) {
			if (end_segment(rw, path, fd, &sg, comp, pos) < 0)
				goto out;
			segment_start(&sg, comp, pos);
		}
		if (!strcmp(m.name, MANIFEST_MEMBER) && !m.is_hardlink)
			break;
		if (!sg.whole)
			continue;
		if (!member_stays_as_is(rw, &m, &cy))
			segment_spoil(&sg);
		else if (cy)
			segment_add(&sg, cy, r, pos);
	}
	if (more < 0) {
		read_failed(rw);
		goto out;
	}
	/* What follows the last boundary read (all of an archive without a
	 * manifest frame) is carried member by member. */
	segment_spoil(&sg);
	if (end_segment(rw, path, fd, &sg, 0, more ? pos : UINT64_MAX) < 0)
		goto out;
	rc = 0;
out:
	segment_spoil(&sg);
	free(sg.carries);
	tarball_reader_close(r);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* A crash after the heir was rewritten but before the metadata was saved
 * leaves the heir already holding some contents: use them as they are. */
static void adopt_already_carried(struct rewrite *rw)
{
	for (size_t i = 0; i < rw->ncarries; i++) {
		struct content *h = catalog_content_find(&rw->heir.holds,
						 rw->carries[i].content->checksum);

		if (h)
			rw->carries[i].new_member = xstrdup(h->member);
	}
}

static int check_all_carried(struct rewrite *rw, const char *victim)
{
	for (size_t i = 0; i < rw->ncarries; i++) {
		if (rw->carries[i].new_member)
			continue;
		rw->rc = STATUS_DAMAGED;
		return error_set(rw->err, "'%s' is missing from '%s', but a "
				 "kept backup needs it; nothing was removed",
				 rw->carries[i].content->member, victim);
	}
	return 0;
}

/* The heir's holds know their frames by number; once those frames are
 * written, by compressed offset. */
static int resolve_positions(struct rewrite *rw)
{
	if (tarball_writer_flush(rw->w, rw->err) < 0)
		return -1;
	for (size_t i = rw->placed_holds; i < rw->heir.holds.len; i++) {
		struct content *h = &rw->heir.holds.items[i];

		if (h->has_frame)
			h->frame_offset = tarball_frame_offset(rw->w,
							       h->frame_offset);
	}
	for (size_t i = 0; i < rw->ncarries; i++) {
		const struct carry *cy = &rw->carries[i];
		struct content *h;

		if (!cy->copied || !cy->new_member)
			continue;
		h = catalog_content_insert(
			&rw->heir.holds, cy->content->checksum,
			cy->content->size, NULL, cy->new_member, NULL);
		h->has_frame = true;
		h->frame_offset = cy->frame;
		h->frame_skip = cy->skip;
	}
	return 0;
}

static int finish_heir(struct rewrite *rw, int64_t mtime)
{
	uint64_t size;
	int rc;

	if (resolve_positions(rw) < 0 ||
	    catalog_manifest_add(rw->w, &rw->heir, NULL, NULL, NULL, mtime,
				 CATALOG_MANIFEST_BUFFERED, rw->err) < 0)
		return -1;
	rc = tarball_writer_commit(rw->w, &size, rw->err);
	rw->w = NULL;
	rw->new_size = size;
	return rc;
}

static int rewrite_heir(struct rewrite *rw, const struct history_entry *victim,
			struct history_entry *heir)
{
	char *heir_path = dest_archive_path(rw->dest, heir->archive);
	char *victim_path = dest_archive_path(rw->dest, victim->archive);
	const struct frame_span whole = { 0, 0, UINT64_MAX };
	int64_t mtime = 0;
	int copied, rc = -1;

	if (tarball_writer_open(rw->dest, heir->archive,
				rw->opts->compression_level, rw->opts->threads,
				&rw->w, rw->err) < 0)
		goto out;
	copied = copy_heir_raw(rw, heir_path);
	if (copied < 0 || (copied == 0 && copy_heir(rw, heir_path) < 0))
		goto out;
	/* The heir comes to hold most of what is carried and stays until it
	 * is the oldest: written with its whole tree now, it need not be
	 * copied again then to make its tree whole. */
	if (rw->heir.delta &&
	    catalog_manifest_complete(heir_path, &rw->heir, NULL, NULL,
				    rw->err) < 0) {
		rw->rc = STATUS_DAMAGED;
		goto out;
	}
	strlist_sort(&rw->heir_names);
	index_for_carrying(rw);
	adopt_already_carried(rw);
	if ((rw->copy_frames ? carry_by_frames(rw, victim_path)
			     : carry_from_span(rw, victim_path, &whole)) < 0 ||
	    check_all_carried(rw, victim_path) < 0)
		goto out;
	parse_backup_id(heir->backup_id, &mtime);
	if (finish_heir(rw, mtime) < 0)
		goto out;
	fault_point("rotate:heir-written");
	rc = 0;
out:
	tarball_writer_abort(rw->w);
	rw->w = NULL;
	free(heir_path);
	free(victim_path);
	return rc;
}

static void collect_carries(struct metadata *md, const char *victim_id,
			    struct carry **out, size_t *n)
{
	size_t alloc = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < md->contents.len; i++) {
		struct content *c = &md->contents.items[i];

		if (!rotate_plan_carries(c, victim_id))
			continue;
		grow_array((void **)out, &alloc, *n + 1, sizeof(**out));
		(*out)[(*n)++] = (struct carry){ .content = c };
	}
}

static bool held_by(const struct content *c, void *id)
{
	return !strcmp(c->holder, id);
}

/* The metadata after the step: carried contents belong to the heir, the
 * victim's other contents and its history entry are gone. */
static int64_t forget_victim(struct metadata *md, struct carry *carries,
			     size_t n, const char *heir_id)
{
	char *victim_id = md->history[0].backup_id;
	size_t before = md->contents.len;

	for (size_t i = 0; i < n; i++) {
		struct content *c = carries[i].content;

		catalog_content_set_holder(&md->contents, c, heir_id);
		if (carries[i].new_member)
			catalog_content_set_member(&md->contents, c,
					   carries[i].new_member);
	}
	catalog_content_remove_if(&md->contents, held_by, victim_id);
	free(victim_id);
	free(md->history[0].date);
	free(md->history[0].archive);
	free(md->history[0].parent);
	memmove(&md->history[0], &md->history[1],
		(md->nhistory - 1) * sizeof(*md->history));
	md->nhistory--;
	return (int64_t)(before - md->contents.len);
}

/* After the step: every content the rewritten heir holds starts where its
 * new manifest says. */
static void adopt_heir_positions(struct metadata *md,
				 const struct manifest *heir,
				 const char *heir_id)
{
	for (size_t i = 0; i < md->contents.len; i++) {
		struct content *c = &md->contents.items[i];
		const struct content *h;

		if (strcmp(c->holder, heir_id))
			continue;
		h = catalog_content_find(&heir->holds, c->checksum);
		if (h)
			catalog_content_copy_frame(c, h);
		else
			c->has_frame = false;
	}
}

static void rewrite_release(struct rewrite *rw);

/* The oldest kept backup's manifest may list only what changed since the
 * victim's tree. Before the victim goes it is written whole: the archive
 * copied as the heir's is (its frames before the manifest as they are, so
 * every member keeps its place), with a whole manifest, under a temporary
 * name renamed over the old one. Either archive restores the same tree. */
static int make_tree_whole(const char *dest, struct metadata *md,
			   const char *victim,
			   const struct rotate_options *opts, int *damaged,
			   struct error *err)
{
	struct history_entry *h = &md->history[1];
	struct rewrite rw = { .dest = dest, .opts = opts, .err = err };
	char *path = dest_archive_path(dest, h->archive);
	char *parent = NULL;
	int64_t mtime = 0;
	int copied, rc = -1;

	catalog_manifest_init(&rw.heir);
	rw.hash = hash_new();
	rw.chunk = xmalloc(COPY_CHUNK);
	*damaged = 1;
	if (catalog_manifest_parent(path, &parent, err) < 0)
		goto out;
	/* A parent already gone (a damaged destination) is not the victim's
	 * to fix: the removal changes nothing for that tree. */
	if (!parent || strcmp(parent, victim)) {
		rc = 0;
		goto out;
	}
	*damaged = 0;
	if (tarball_writer_open(dest, h->archive, opts->compression_level,
				opts->threads, &rw.w, err) < 0)
		goto out;
	copied = copy_heir_raw(&rw, path);
	if (copied < 0 || (copied == 0 && copy_heir(&rw, path) < 0)) {
		*damaged = rw.rc == STATUS_DAMAGED;
		goto out;
	}
	*damaged = 1;
	if (catalog_manifest_complete(path, &rw.heir, NULL, NULL, err) < 0)
		goto out;
	*damaged = 0;
	parse_backup_id(h->backup_id, &mtime);
	if (finish_heir(&rw, mtime) < 0)
		goto out;
	fault_point("rotate:tree-whole");
	h->bytes_written = (int64_t)rw.new_size;
	adopt_heir_positions(md, &rw.heir, h->backup_id);
	free(h->parent);
	h->parent = NULL;
	rc = 0;
out:
	rewrite_release(&rw);
	free(parent);
	free(path);
	return rc;
}

static void rewrite_release(struct rewrite *rw)
{
	for (size_t i = 0; i < rw->nmoved; i++)
		free(rw->moved[i].name);
	free(rw->moved);
	for (size_t i = 0; i < rw->ncarries; i++)
		free(rw->carries[i].new_member);
	free(rw->carries);
	tarball_writer_abort(rw->w);
	strlist_clear(&rw->heir_names);
	free(rw->by_checksum);
	free(rw->name_taken);
	free(rw->carry_by_member);
	catalog_manifest_release(&rw->heir);
	hash_free(rw->hash);
	free(rw->chunk);
}

static int remove_victim_file(const char *dest, const char *archive,
			      uint64_t *freed, struct error *err)
{
	char *path = dest_archive_path(dest, archive);
	struct stat st;
	int rc = 0;

	if (stat(path, &st) == 0)
		*freed += (uint64_t)st.st_size;
	if (unlink(path) < 0 && errno != ENOENT)
		rc = error_set(err, "cannot remove '%s': %s", path,
			       strerror(errno));
	free(path);
	if (rc == 0)
		rc = fs_fsync_dir(dest, err);
	return rc;
}

/* The victim's needed contents go into the newest archive, not the
 * next-oldest: content that stays in use (most of a tree) then moves once
 * every max_backups runs, when the archive holding it becomes the oldest,
 * instead of being recompressed by every run that rotates. */
static int rotate_one(const char *dest, struct metadata *md,
		      const struct rotate_options *opts,
		      const struct rotate_report *report,
		      struct rotate_stats *stats, struct error *err)
{
	struct rewrite rw = { .dest = dest, .opts = opts, .err = err };
	struct history_entry *heir = &md->history[md->nhistory - 1];
	char *victim_archive = xstrdup(md->history[0].archive);
	char *victim_id = xstrdup(md->history[0].backup_id);
	char *heir_id = xstrdup(heir->backup_id);
	int rc = -1;

	catalog_manifest_init(&rw.heir);
	rw.hash = hash_new();
	rw.chunk = xmalloc(COPY_CHUNK);
	collect_carries(md, victim_id, &rw.carries, &rw.ncarries);
	rw.copy_frames = rotate_plan_copy_frames(md, victim_id);
	/* With two backups the heir is the oldest kept, made whole below. */
	if (!opts->dry_run &&
	    rotate_plan_whole_first(md->nhistory, rw.ncarries)) {
		int damaged;

		if (make_tree_whole(dest, md, victim_archive, opts, &damaged,
				    err) < 0) {
			rc = damaged ? STATUS_DAMAGED : -1;
			goto out;
		}
	}
	if (!opts->dry_run && rw.ncarries) {
		if (rewrite_heir(&rw, &md->history[0], heir) < 0) {
			rc = rw.rc ? rw.rc : -1;
			goto out;
		}
		heir->bytes_written = (int64_t)rw.new_size;
		heir->files_stored = (int64_t)rw.heir.holds.len;
		free(heir->parent);
		heir->parent = NULL;
	}
	stats->contents_carried += (int64_t)rw.ncarries;
	stats->contents_copied += (int64_t)rw.ncopied;
	stats->contents_dropped += forget_victim(md, rw.carries, rw.ncarries,
						 heir_id);
	if (!opts->dry_run && rw.ncarries)
		adopt_heir_positions(md, &rw.heir, heir_id);
	stats->backups_removed++;
	if (report && report->removed)
		report->removed(report->ctx, victim_id, victim_archive,
				(int64_t)rw.ncarries, (int64_t)rw.ncopied);
	if (!opts->dry_run) {
		/* Once the metadata forgets the victim, only the intent
		 * proves its file is ours to remove after a crash. */
		if (intent_begin(dest, victim_archive, err) < 0 ||
		    catalog_save(dest, md, err) < 0)
			goto out;
		stats->metadata_saved = true;
		fault_point("rotate:metadata-saved");
		if (remove_victim_file(dest, victim_archive, &stats->bytes_freed,
				       err) < 0)
			goto out;
		fault_point("rotate:victim-removed");
		if (intent_end(dest, victim_archive, err) < 0)
			goto out;
	}
	rc = STATUS_OK;
out:
	rewrite_release(&rw);
	free(victim_archive);
	free(victim_id);
	free(heir_id);
	return rc;
}

struct clean_up_notice {
	void (*notice)(void *ctx, const char *msg);
	void *ctx;
};

static void on_leftover(void *ctx, const char *archive)
{
	struct clean_up_notice *n = ctx;
	char *msg = str_fmt("removed '%s', left by an interrupted run",
			    archive);

	n->notice(n->ctx, msg);
	free(msg);
}

int rotate_clean_up(const char *dest, const struct metadata *md,
		    void (*notice)(void *ctx, const char *msg), void *ctx,
		    struct error *err)
{
	struct clean_up_notice n = { notice, ctx };
	/* Under the lock every temporary file is one a killed writer left. */
	int swept = fs_sweep_temp(dest, err);

	if (swept < 0)
		return -1;
	if (swept > 0) {
		char *msg = str_fmt("removed %d temporary file%s left by an "
				    "interrupted run", swept,
				    swept == 1 ? "" : "s");

		notice(ctx, msg);
		free(msg);
	}
	return intent_settle(dest, md, on_leftover, &n, err) < 0 ? -1 : 0;
}

/* A step that failed says what it kept ("nothing was removed"); when
 * earlier steps removed backups, the error says that too. */
static void say_removed_before(struct error *err, int64_t removed)
{
	static const char kept[] = "; nothing was removed";
	size_t len = strlen(err->msg), klen = sizeof(kept) - 1;
	char *why;

	if (!removed)
		return;
	if (len >= klen && !strcmp(err->msg + len - klen, kept))
		err->msg[len - klen] = '\0';
	why = xstrdup(err->msg);
	error_set(err, "%s; %lld backup%s removed before it stopped", why,
		  (long long)removed, removed == 1 ? " was" : "s were");
	free(why);
}

int rotate_apply(const char *dest, struct metadata *md,
		 const struct rotate_options *opts,
		 const struct rotate_report *report, struct rotate_stats *stats,
		 struct error *err)
{
	size_t excess = rotate_plan_excess(md, opts->max_backups);

	for (size_t i = 0; i < excess; i++) {
		int rc = -1;

		if (incbak_interrupted)
			error_set(err, "interrupted");
		else
			rc = rotate_one(dest, md, opts, report, stats, err);
		if (rc != STATUS_OK) {
			say_removed_before(err, stats->backups_removed);
			return rc;
		}
	}
	return STATUS_OK;
}
