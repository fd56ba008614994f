/* The reading side of a restore (and of verify) on its own thread. It
 * passes what it reads to the caller as messages in a ring of bytes (a
 * member's kind and name, chunks of its data, its digest), so a small file
 * costs no allocation and the ring's size bounds the memory however far
 * the reader gets ahead. The two ends of the ring move without a lock; a
 * side that must wait sleeps on a condition and is woken only once there
 * is a batch for it, since a wake-up per message (tens of thousands of
 * small files) cost more system time than the thread saved. */
#include "archive_readahead.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "tarball.h"
#include "threads.h"
#include "util.h"

#define RING_SIZE ((size_t)16 << 20)
/* The most data one message carries: small enough that the ring holds
 * many, large enough that a big file costs few. */
#define CHUNK_MAX ((size_t)256 << 10)
#define MSG_ALIGN ((size_t)8)
#define MSG_MAX (RING_SIZE / 2 - sizeof(struct msg))
/* A sleeping side is woken once this much is there for it. */
#define WAKE_BATCH (RING_SIZE / 4)
/* The reader hashes a member when at least this much waits for the caller
 * as it starts. */
#define HASH_HERE_FILL (RING_SIZE / 4)

/* A member's message starts with its type and flags, then its name and
 * its link target (empty if none), each NUL-terminated. */
#define MEMBER_HEAD 2
#define FLAG_HARDLINK 1
#define FLAG_OTHER 2

enum msg_kind {
	MSG_MEMBER = 1, /* a file member, whose data follow; hashed by the
			   reader */
	MSG_MEMBER_RAW, /* the same, to be hashed by the caller */
	MSG_MEMBER_INFO, /* any other member (every_member only): nothing
			    follows */
	MSG_DATA,       /* some of its bytes */
	MSG_END,        /* its SHA-256, if the reader hashed it */
	MSG_FAIL,       /* the error message: nothing follows */
	MSG_EOF,        /* the archive's end: nothing follows */
	MSG_WRAP,       /* the next message is at the ring's start */
};

struct msg {
	uint32_t kind;
	uint32_t len;   /* of the payload that follows */
};

enum reader_state { READ_HEADER, READ_DATA, READ_DONE };

struct archive_readahead {
	char *ring;
	_Atomic uint64_t head;   /* end of the published messages */
	_Atomic uint64_t tail; /* end of the messages the caller is done with */
	/* Sleeping, and what wakes them: */
	pthread_mutex_t mu;
	pthread_cond_t filled;   /* a batch published, or the last message */
	pthread_cond_t emptied;  /* room freed, or stop set */
	atomic_bool caller_sleeps;
	_Atomic uint64_t reader_sleeps; /* room it waits for; 0: awake */
	/* Set by the caller once it wants nothing more; the reader looks at
	 * it between members too, so it does not go on through the rest of
	 * a big archive nobody reads. Changed under mu, for the sleeper. */
	atomic_bool stop;
	bool threaded;
	pthread_t thread;

	/* The reader's own. */
	struct tarball_reader *rd;
	char *path;
	char *scratch;           /* for members passed over */
	bool every_member;       /* archive_readahead_open_every() */
	archive_readahead_want_fn want;
	void *ctx;
	struct hash *hash;
	bool hashing;            /* the reader hashes the current member */
	enum reader_state state;
	uint64_t left;           /* bytes the current member may still give */
	uint64_t wrap;           /* bytes passed over to reserve at the start */
	struct error err;

	/* The caller's own. */
	uint64_t seen_head;      /* head when the caller last looked */
	uint64_t at;             /* the caller's tail */
	bool lent;               /* the data message at `at` was handed out */
	bool in_member;
	bool failed;
	struct hash *caller_hash; /* for the members the reader left */
	bool caller_hashes;
	char *name;              /* the member's message, as sent */
	size_t name_alloc;
	uint8_t digest[HASH_SIZE];
};

static size_t padded(size_t len)
{
	return (len + MSG_ALIGN - 1) & ~(MSG_ALIGN - 1);
}

/* ---- the reader ---- */

/* Wakes the caller if it sleeps and there is a batch for it, or anything
 * at all if `now`: the reader is about to work without publishing (it
 * passes over members nobody wants, or waits for room), or has published
 * its last message. */
static void wake_caller(struct archive_readahead *p, uint64_t head, bool now)
{
	uint64_t waiting;

	if (!p->threaded || !atomic_load(&p->caller_sleeps))
		return;
	waiting = head - atomic_load(&p->tail);
	if (waiting == 0 || (!now && waiting < WAKE_BATCH))
		return;
	pthread_mutex_lock(&p->mu);
	pthread_cond_signal(&p->filled);
	pthread_mutex_unlock(&p->mu);
}

/* Room for a message with up to len bytes of payload: its payload's
 * address, or NULL if the caller stopped the read-ahead. Threaded, waits
 * for the caller to free enough; otherwise the caller has taken every
 * message, so the ring is empty. */
static char *reserve(struct archive_readahead *p, size_t len)
{
	uint64_t head = atomic_load_explicit(&p->head, memory_order_relaxed);
	size_t at = (size_t)(head % RING_SIZE);
	size_t need = sizeof(struct msg) + padded(len);
	bool stop = false;

	/* Messages are at most half the ring, so one always fits in an empty
	 * ring, even after passing over its end. */
	p->wrap = at + need > RING_SIZE ? RING_SIZE - at : 0;
	need += p->wrap;
	if (p->threaded && head + need - atomic_load(&p->tail) > RING_SIZE) {
		/* What is there may be less than a batch (a long name). */
		wake_caller(p, head, true);
		pthread_mutex_lock(&p->mu);
		atomic_store(&p->reader_sleeps, need > WAKE_BATCH ? need
								  : WAKE_BATCH);
		while (!atomic_load(&p->stop) &&
		       head + need - atomic_load(&p->tail) > RING_SIZE)
			pthread_cond_wait(&p->emptied, &p->mu);
		atomic_store(&p->reader_sleeps, 0);
		stop = atomic_load(&p->stop);
		pthread_mutex_unlock(&p->mu);
	}
	if (stop)
		return NULL;
	at = (size_t)((head + p->wrap) % RING_SIZE);
	return p->ring + at + sizeof(struct msg);
}

/* Publishes the message reserve() made room for, with len bytes. */
static void publish(struct archive_readahead *p, enum msg_kind kind, size_t len)
{
	struct msg m = { (uint32_t)kind, (uint32_t)len };
	uint64_t head = atomic_load_explicit(&p->head, memory_order_relaxed);
	size_t at = (size_t)(head % RING_SIZE);

	if (p->wrap) {
		struct msg w = { MSG_WRAP, 0 };

		memcpy(p->ring + at, &w, sizeof(w));
		at = 0;
	}
	memcpy(p->ring + at, &m, sizeof(m));
	head += p->wrap + sizeof(m) + padded(len);
	atomic_store(&p->head, head);
	wake_caller(p, head, kind == MSG_FAIL || kind == MSG_EOF);
}

/* A whole message from bytes at hand; false if the caller stopped. */
static bool send(struct archive_readahead *p, enum msg_kind kind,
		 const void *data, size_t len)
{
	char *to = reserve(p, len);

	if (!to)
		return false;
	memcpy(to, data, len);
	publish(p, kind, len);
	return true;
}

static bool send_failure(struct archive_readahead *p)
{
	p->state = READ_DONE;
	send(p, MSG_FAIL, p->err.msg, strlen(p->err.msg) + 1);
	return false;
}

/* Reads through a member nobody wants, as tarball_next() would, but
 * stops as soon as the caller does: the member may be gigabytes. 0, or -1
 * when stopped or the archive is damaged (p->err then says how). */
static int pass_over(struct archive_readahead *p)
{
	ssize_t n;

	if (!p->scratch)
		p->scratch = xmalloc(CHUNK_MAX);
	while ((n = tarball_read(p->rd, p->scratch, CHUNK_MAX, &p->err)) > 0)
		if (atomic_load(&p->stop))
			return -1;
	return n < 0 ? -1 : 0;
}

static bool is_file(const struct tarball_member *m)
{
	return m->type == ENTRY_FILE && !m->is_hardlink && !m->is_other;
}

/* Sends member m as `kind`; false if the caller stopped or it cannot be
 * sent (the failure is then sent instead). */
static bool announce(struct archive_readahead *p, enum msg_kind kind,
		     const struct tarball_member *m)
{
	const char *target = m->link_target ? m->link_target : "";
	size_t nlen = strlen(m->name) + 1, tlen = strlen(target) + 1;
	char *to;

	if (MEMBER_HEAD + nlen + tlen > MSG_MAX) {
		error_set(&p->err, "'%s': member name of %zu bytes is too long",
			  p->path, nlen + tlen - 2);
		return send_failure(p);
	}
	to = reserve(p, MEMBER_HEAD + nlen + tlen);
	if (!to)
		return false;
	to[0] = (char)m->type;
	to[1] = (char)((m->is_hardlink ? FLAG_HARDLINK : 0) |
		       (m->is_other ? FLAG_OTHER : 0));
	memcpy(to + MEMBER_HEAD, m->name, nlen);
	memcpy(to + MEMBER_HEAD + nlen, target, tlen);
	publish(p, kind, MEMBER_HEAD + nlen + tlen);
	return true;
}

/* Whether m is delivered, and then (in *limit) how many of its bytes may
 * be: all of a file's for archive_readahead_open_every(). */
static bool wanted(struct archive_readahead *p, const struct tarball_member *m,
		   int64_t *limit)
{
	*limit = -1;
	if (p->every_member) {
		*limit = INT64_MAX - 1;
		return true;
	}
	if (is_file(m))
		*limit = p->want(p->ctx, m->name);
	return *limit >= 0;
}

/* Finds the next wanted member and announces it. */
static bool read_header(struct archive_readahead *p)
{
	struct tarball_member m;
	int64_t limit = -1;
	int rc;

	while ((rc = tarball_next(p->rd, &m, &p->err)) > 0) {
		if (atomic_load(&p->stop))
			return false;
		if (wanted(p, &m, &limit))
			break;
		/* Passing over it may take long (a big file): the caller
		 * gets what there is first, and may be done with it. */
		wake_caller(
			p, atomic_load_explicit(&p->head, memory_order_relaxed),
			true);
		if (m.type == ENTRY_FILE && m.size > (int64_t)CHUNK_MAX &&
		    pass_over(p) < 0) {
			if (atomic_load(&p->stop))
				return false;
			return send_failure(p);
		}
	}
	if (rc < 0)
		return send_failure(p);
	if (rc == 0) {
		p->state = READ_DONE;
		send(p, MSG_EOF, "", 0);
		return false;
	}
	if (!is_file(&m))
		return announce(p, MSG_MEMBER_INFO, &m);
	if (hash_reset(p->hash) < 0) {
		error_set(&p->err, "SHA-256 is not available");
		return send_failure(p);
	}
	p->left = (uint64_t)limit + 1;
	p->state = READ_DATA;
	/* Hashing goes to whichever side has time: the reader, when the
	 * caller lags behind (the ring is filling: small files, where
	 * creating each costs more than reading it); the caller, when it
	 * waits for the reader (big files, where decompressing is the work). */
	p->hashing = p->threaded && atomic_load(&p->head) -
				    atomic_load(&p->tail) >= HASH_HERE_FILL;
	return announce(p, p->hashing ? MSG_MEMBER : MSG_MEMBER_RAW, &m);
}

/* Fills len bytes at to from the member, short only at its end. */
static ssize_t read_full(struct archive_readahead *p, char *to, size_t len)
{
	size_t got = 0;
	ssize_t n = 1;

	while (got < len && n > 0) {
		n = tarball_read(p->rd, to + got, len - got, &p->err);
		if (n > 0)
			got += (size_t)n;
	}
	return n < 0 ? -1 : (ssize_t)got;
}

/* The member's next chunk, or its digest once it has given all it has or
 * all it may. Every chunk but a member's last is CHUNK_MAX bytes, so the
 * caller sees whole blocks at block-aligned offsets. */
static bool read_data(struct archive_readahead *p)
{
	size_t len = p->left < CHUNK_MAX ? (size_t)p->left : CHUNK_MAX;
	ssize_t n = 0;
	uint8_t sum[HASH_SIZE];
	char *to;

	if (len) {
		to = reserve(p, len);
		if (!to)
			return false;
		n = read_full(p, to, len);
		if (n < 0)
			return send_failure(p);
		if (n > 0 && p->hashing &&
		    hash_update(p->hash, to, (size_t)n) < 0) {
			error_set(&p->err, "SHA-256 is not available");
			return send_failure(p);
		}
		if (n > 0) {
			p->left -= (uint64_t)n;
			publish(p, MSG_DATA, (size_t)n);
			return true;
		}
	}
	if (p->hashing && hash_final(p->hash, sum) < 0) {
		error_set(&p->err, "SHA-256 is not available");
		return send_failure(p);
	}
	p->state = READ_HEADER;
	return send(p, MSG_END, sum, p->hashing ? sizeof(sum) : 0);
}

/* Publishes at least one message; false once there is nothing more to do
 * (the last message, end or failure, is published) or the caller
 * stopped. */
static bool read_step(struct archive_readahead *p)
{
	switch (p->state) {
	case READ_HEADER:
		return read_header(p);
	case READ_DATA:
		return read_data(p);
	case READ_DONE:
		break;
	}
	return false;
}

static void *read_ahead(void *arg)
{
	struct archive_readahead *p = arg;

	/* Named for top -H and perf. */
	pthread_setname_np(pthread_self(), "incbak-read");
	while (!atomic_load(&p->stop) && read_step(p))
		;
	return NULL;
}

/* ---- the caller ---- */

/* Sleeps until the reader published something past the caller's tail. */
static void wait_for_reader(struct archive_readahead *p)
{
	pthread_mutex_lock(&p->mu);
	atomic_store(&p->caller_sleeps, true);
	while (atomic_load(&p->head) == p->at)
		pthread_cond_wait(&p->filled, &p->mu);
	atomic_store(&p->caller_sleeps, false);
	pthread_mutex_unlock(&p->mu);
}

/* The message at the caller's tail, once there is one. */
static const struct msg *peek(struct archive_readahead *p)
{
	const struct msg *m;

	if (p->at == p->seen_head) {
		if (!p->threaded)
			read_step(p);
		else if (atomic_load(&p->head) == p->at)
			wait_for_reader(p);
		p->seen_head = atomic_load(&p->head);
	}
	m = (const struct msg *)(p->ring + p->at % RING_SIZE);
	if (m->kind != MSG_WRAP)
		return m;
	/* WRAP is always published with the message after it. */
	p->at += RING_SIZE - p->at % RING_SIZE;
	return (const struct msg *)(p->ring + p->at % RING_SIZE);
}

static const char *payload(const struct msg *m)
{
	return (const char *)(m + 1);
}

/* Gives the message at the caller's tail back to the reader. */
static void release(struct archive_readahead *p, const struct msg *m)
{
	uint64_t wants;

	p->at += sizeof(*m) + padded(m->len);
	p->lent = false;
	atomic_store(&p->tail, p->at);
	wants = p->threaded ? atomic_load(&p->reader_sleeps) : 0;
	if (wants && p->at + RING_SIZE - atomic_load(&p->head) >= wants) {
		pthread_mutex_lock(&p->mu);
		pthread_cond_signal(&p->emptied);
		pthread_mutex_unlock(&p->mu);
	}
}

/* FAIL and EOF stay at tail, so every later call sees them again. */
static int fail(struct archive_readahead *p, const struct msg *m,
		struct error *err)
{
	p->in_member = false;
	p->failed = true;
	return error_set(err, "%s", payload(m));
}

int archive_readahead_next_member(struct archive_readahead *p,
				  struct archive_readahead_member *out,
				  struct error *err)
{
	const struct msg *m;
	size_t nlen;

	if (p->lent)
		release(p, (const struct msg *)(p->ring + p->at % RING_SIZE));
	for (;;) {
		m = peek(p);
		if (m->kind == MSG_FAIL)
			return fail(p, m, err);
		if (m->kind == MSG_EOF) {
			p->in_member = false;
			return 0;
		}
		if (m->kind == MSG_MEMBER || m->kind == MSG_MEMBER_RAW ||
		    m->kind == MSG_MEMBER_INFO)
			break;
		release(p, m);
	}
	p->in_member = m->kind != MSG_MEMBER_INFO;
	memset(p->digest, 0, HASH_SIZE);
	p->caller_hashes = m->kind == MSG_MEMBER_RAW;
	if (p->caller_hashes && hash_reset(p->caller_hash) < 0)
		return error_set(err, "SHA-256 is not available");
	if (m->len > p->name_alloc) {
		free(p->name);
		p->name_alloc = m->len;
		p->name = xmalloc(p->name_alloc);
	}
	memcpy(p->name, payload(m), m->len);
	release(p, m);
	nlen = strlen(p->name + MEMBER_HEAD) + 1;
	out->name = p->name + MEMBER_HEAD;
	out->link_target = p->name[MEMBER_HEAD + nlen]
				   ? p->name + MEMBER_HEAD + nlen : NULL;
	out->type = (enum entry_type)(unsigned char)p->name[0];
	out->is_hardlink = p->name[1] & FLAG_HARDLINK;
	out->is_other = p->name[1] & FLAG_OTHER;
	return 1;
}

int archive_readahead_next(struct archive_readahead *p, const char **name,
			   struct error *err)
{
	struct archive_readahead_member m;
	int rc = archive_readahead_next_member(p, &m, err);

	if (rc > 0)
		*name = m.name;
	return rc;
}

ssize_t archive_readahead_data(struct archive_readahead *p, const void **data,
		      struct error *err)
{
	const struct msg *m;

	if (p->lent) {
		/* The caller is done with the chunk it was given. */
		m = (const struct msg *)(p->ring + p->at % RING_SIZE);
		release(p, m);
	}
	if (p->failed)
		return fail(p, peek(p), err);
	if (!p->in_member)
		return 0;
	m = peek(p);
	if (m->kind == MSG_FAIL)
		return fail(p, m, err);
	if (m->kind != MSG_DATA) {
		/* END follows a member's data; anything else cannot, and is
		 * left for archive_readahead_next() with a digest nothing
		 * matches. */
		memset(p->digest, 0, HASH_SIZE);
		p->in_member = false;
		if (m->kind != MSG_END)
			return 0;
		if (!p->caller_hashes)
			memcpy(p->digest, payload(m), HASH_SIZE);
		release(p, m);
		if (p->caller_hashes &&
		    hash_final(p->caller_hash, p->digest) < 0)
			return error_set(err, "SHA-256 is not available");
		return 0;
	}
	if (p->caller_hashes && hash_update(p->caller_hash, payload(m),
					    m->len) < 0)
		return error_set(err, "SHA-256 is not available");
	*data = payload(m);
	p->lent = true;
	return (ssize_t)m->len;
}

void archive_readahead_digest(const struct archive_readahead *p,
			      uint8_t out[HASH_SIZE])
{
	memcpy(out, p->digest, HASH_SIZE);
}

static void start_reader(struct archive_readahead *p)
{
	/* Set before the thread starts, which reads it. */
	p->threaded = true;
	if (threads_start(&p->thread, read_ahead, p) < 0)
		p->threaded = false;
}

static int open_readahead(const char *path, archive_readahead_want_fn want,
			  void *ctx, bool every_member, bool threaded,
			  struct archive_readahead **out, struct error *err)
{
	struct archive_readahead *p;
	struct tarball_reader *rd;

	if (tarball_reader_open(path, &rd, err) < 0)
		return -1;
	p = xcalloc(1, sizeof(*p));
	p->hash = hash_new();
	p->caller_hash = hash_new();
	if (!p->hash || !p->caller_hash) {
		tarball_reader_close(rd);
		hash_free(p->hash);
		hash_free(p->caller_hash);
		free(p);
		return error_set(err, "SHA-256 is not available");
	}
	p->rd = rd;
	p->path = xstrdup(path);
	p->want = want;
	p->ctx = ctx;
	p->every_member = every_member;
	p->ring = xmalloc(RING_SIZE);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->filled, NULL);
	pthread_cond_init(&p->emptied, NULL);
	if (threaded)
		start_reader(p);
	*out = p;
	return 0;
}

int archive_readahead_open(const char *path, archive_readahead_want_fn want,
			   void *ctx, bool threaded,
			   struct archive_readahead **out, struct error *err)
{
	return open_readahead(path, want, ctx, false, threaded, out, err);
}

int archive_readahead_open_every(const char *path, bool threaded,
			struct archive_readahead **out, struct error *err)
{
	return open_readahead(path, NULL, NULL, true, threaded, out, err);
}

void archive_readahead_close(struct archive_readahead *p)
{
	if (!p)
		return;
	if (p->threaded) {
		pthread_mutex_lock(&p->mu);
		atomic_store(&p->stop, true);
		pthread_cond_signal(&p->emptied);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
	}
	pthread_cond_destroy(&p->emptied);
	pthread_cond_destroy(&p->filled);
	pthread_mutex_destroy(&p->mu);
	tarball_reader_close(p->rd);
	hash_free(p->hash);
	hash_free(p->caller_hash);
	free(p->ring);
	free(p->path);
	free(p->scratch);
	free(p->name);
	free(p);
}
