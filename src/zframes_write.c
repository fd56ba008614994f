/* Frames in a ring of slots: the caller fills one slot, workers compress
 * the queued ones, and the caller writes finished slots out in ring order,
 * which is frame order. Only the caller's thread touches the file and the
 * bookkeeping of offsets; workers see nothing but their slot. */
#include "zframes_write.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "fsutil.h"
#include "threads.h"
#include "util.h"

enum slot_state { SLOT_FREE, SLOT_QUEUED, SLOT_BUSY, SLOT_DONE };

struct slot {
	enum slot_state state;
	uint64_t frame_no;
	int level;
	char *in, *out;
	size_t in_len, out_cap;
	size_t result;           /* of ZSTD_compress2: a size or an error */
};

struct worker {
	struct zframes_write *pool;
	ZSTD_CCtx *cctx;
	pthread_t thread;
};

struct zframes_write {
	int fd, level;
	int frame_level;         /* for the frames submitted from now on */
	pthread_mutex_t mu;
	pthread_cond_t queued;   /* a slot was queued, or stop was set */
	pthread_cond_t done;     /* a slot was compressed */
	bool stop;
	struct worker *workers;
	int nworkers;
	ZSTD_CCtx *own_cctx;     /* when no worker could start */
	struct slot *slots;
	size_t nslots;
	size_t fill;             /* the slot taking bytes */
	size_t oldest;           /* the next slot to write out */
	size_t take;             /* the next slot a worker compresses */
	uint64_t fill_frame;     /* the number of fill's frame */
	uint64_t *offsets;       /* compressed offset of each frame written */
	size_t offsets_alloc;
	uint64_t frames_written;
	struct fs_writeback out;  /* the file: bytes written, sent to disk */
	bool failed;
	int fail_errno;
	const char *zstd_error;
};

static ZSTD_CCtx *new_cctx(int level)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();

	if (!c)
		return NULL;
	if (ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel,
						level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1))) {
		ZSTD_freeCCtx(c);
		return NULL;
	}
	return c;
}

static void compress_slot(ZSTD_CCtx *cctx, struct slot *s)
{
	s->result = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel,
					   s->level);
	if (!ZSTD_isError(s->result))
		s->result = ZSTD_compress2(cctx, s->out, s->out_cap, s->in,
					   s->in_len);
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct zframes_write *p = wk->pool;

	/* Named for top -H and perf. */
	pthread_setname_np(pthread_self(), "incbak-zstd");
	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct slot *s;

		while (!p->stop && p->slots[p->take].state != SLOT_QUEUED)
			pthread_cond_wait(&p->queued, &p->mu);
		if (p->stop)
			break;
		s = &p->slots[p->take];
		p->take = (p->take + 1) % p->nslots;
		s->state = SLOT_BUSY;
		pthread_mutex_unlock(&p->mu);
		compress_slot(wk->cctx, s);
		pthread_mutex_lock(&p->mu);
		s->state = SLOT_DONE;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void start_workers(struct zframes_write *p, int wanted)
{
	p->workers = xcalloc((size_t)wanted, sizeof(*p->workers));
	for (int i = 0; i < wanted; i++) {
		struct worker *wk = &p->workers[p->nworkers];

		wk->pool = p;
		wk->cctx = new_cctx(p->level);
		if (!wk->cctx)
			break;
		if (threads_start(&wk->thread, worker_main, wk) < 0) {
			ZSTD_freeCCtx(wk->cctx);
			break;
		}
		p->nworkers++;
	}
}

/* A frame can take far longer to fill than to compress (a folder of tiny
 * files): frames queued ahead keep the workers busy through such runs.
 * Past three the cores were hardly busier. Each costs 8 MiB. */
#define ZFRAMES_WRITE_SPARE 3

struct zframes_write *zframes_write_new(int fd, int level, int threads)
{
	struct zframes_write *p = xcalloc(1, sizeof(*p));

	threads = threads_count(threads, 0);
	p->fd = fd;
	p->out.fd = fd;
	p->level = level;
	p->frame_level = level;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->queued, NULL);
	pthread_cond_init(&p->done, NULL);
	/* One slot filling, one per worker compressing, and ZFRAMES_WRITE_SPARE
	 * queued or waiting for their turn to be written. */
	p->nslots = (size_t)threads + 1 + ZFRAMES_WRITE_SPARE;
	p->slots = xcalloc(p->nslots, sizeof(*p->slots));
	start_workers(p, threads);
	if (p->nworkers == 0) {
		p->own_cctx = new_cctx(level);
		p->nslots = 1;
	}
	return p;
}

static int fail(struct zframes_write *p, int errnum, const char *zstd_error)
{
	p->failed = true;
	p->fail_errno = errnum;
	p->zstd_error = zstd_error;
	return -1;
}

static void set_state(struct zframes_write *p, struct slot *s,
		      enum slot_state state)
{
	pthread_mutex_lock(&p->mu);
	s->state = state;
	pthread_mutex_unlock(&p->mu);
}

/* Waits for the oldest slot in flight to be compressed and writes it. */
static int write_oldest(struct zframes_write *p)
{
	struct slot *s = &p->slots[p->oldest];

	pthread_mutex_lock(&p->mu);
	while (s->state != SLOT_DONE)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	if (ZSTD_isError(s->result))
		return fail(p, 0, ZSTD_getErrorName(s->result));
	grow_array((void **)&p->offsets, &p->offsets_alloc, s->frame_no + 1,
		   sizeof(*p->offsets));
	p->offsets[s->frame_no] = p->out.written;
	if (fs_write_all(p->fd, s->out, s->result) < 0)
		return fail(p, errno, NULL);
	/* Written back as it goes, so that the commit's fsync is not left
	 * all of the archive at once. */
	fs_writeback_advance(&p->out, s->result);
	p->frames_written = s->frame_no + 1;
	s->in_len = 0;
	set_state(p, s, SLOT_FREE);
	p->oldest = (p->oldest + 1) % p->nslots;
	return 0;
}

/* Hands the filling slot to the workers (or compresses it here), moves on
 * to the next slot and makes sure that one is free. */
static int submit(struct zframes_write *p)
{
	struct slot *s = &p->slots[p->fill];

	if (s->in_len == 0)
		return 0;
	s->frame_no = p->fill_frame++;
	s->level = p->frame_level;
	if (p->nworkers == 0) {
		if (!p->own_cctx)
			return fail(p, 0, "cannot create a compressor");
		compress_slot(p->own_cctx, s);
		s->state = SLOT_DONE;
	} else {
		pthread_mutex_lock(&p->mu);
		s->state = SLOT_QUEUED;
		pthread_cond_signal(&p->queued);
		pthread_mutex_unlock(&p->mu);
	}
	p->fill = (p->fill + 1) % p->nslots;
	while (p->slots[p->fill].state != SLOT_FREE)
		if (write_oldest(p) < 0)
			return -1;
	return 0;
}

void zframes_write_set_level(struct zframes_write *p, int level)
{
	p->frame_level = level;
}

void zframes_write_start_at(struct zframes_write *p, uint64_t offset)
{
	p->out.written = offset;
	p->out.sent = offset;
}

int zframes_write_append(struct zframes_write *p, const void *data, size_t len)
{
	const char *src = data;

	if (p->failed)
		return -1;
	while (len > 0) {
		struct slot *s = &p->slots[p->fill];
		size_t n = ZFRAMES_WRITE_FRAME_SIZE - s->in_len;

		if (!s->in) {
			s->in = xmalloc(ZFRAMES_WRITE_FRAME_SIZE);
			s->out_cap =
				ZSTD_compressBound(ZFRAMES_WRITE_FRAME_SIZE);
			s->out = xmalloc(s->out_cap);
		}
		if (n > len)
			n = len;
		memcpy(s->in + s->in_len, src, n);
		s->in_len += n;
		src += n;
		len -= n;
		if (s->in_len == ZFRAMES_WRITE_FRAME_SIZE && submit(p) < 0)
			return -1;
	}
	return 0;
}

int zframes_write_end_frame(struct zframes_write *p)
{
	return p->failed ? -1 : submit(p);
}

void zframes_write_position(const struct zframes_write *p, uint64_t *frame_no,
			uint64_t *within)
{
	*frame_no = p->fill_frame;
	*within = p->slots[p->fill].in_len;
}

int zframes_write_flush(struct zframes_write *p)
{
	if (zframes_write_end_frame(p) < 0)
		return -1;
	while (p->oldest != p->fill)
		if (write_oldest(p) < 0)
			return -1;
	return 0;
}

int zframes_write_append_raw(struct zframes_write *p, int from_fd,
			     uint64_t from, uint64_t len, uint64_t *at)
{
	if (zframes_write_flush(p) < 0)
		return -1;
	*at = p->out.written;
	if (fs_copy_range(from_fd, from, p->fd, len) < 0)
		return fail(p, errno, NULL);
	fs_writeback_advance(&p->out, len);
	return 0;
}

uint64_t zframes_write_frame_offset(const struct zframes_write *p,
				    uint64_t frame_no)
{
	return frame_no < p->frames_written ? p->offsets[frame_no]
					    : UINT64_MAX;
}

uint64_t zframes_write_bytes_out(const struct zframes_write *p)
{
	return p->out.written;
}

int zframes_write_errno(const struct zframes_write *p)
{
	return p->fail_errno;
}

const char *zframes_write_error(const struct zframes_write *p)
{
	if (p->fail_errno)
		return strerror(p->fail_errno);
	return p->zstd_error ? p->zstd_error : "compression failed";
}

void zframes_write_free(struct zframes_write *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->queued);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nworkers; i++) {
		pthread_join(p->workers[i].thread, NULL);
		ZSTD_freeCCtx(p->workers[i].cctx);
	}
	free(p->workers);
	ZSTD_freeCCtx(p->own_cctx);
	for (size_t i = 0; i < p->nslots; i++) {
		free(p->slots[i].in);
		free(p->slots[i].out);
	}
	free(p->slots);
	free(p->offsets);
	pthread_cond_destroy(&p->queued);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
