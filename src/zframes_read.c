/* Frames in a ring of slots, frame i in slot i % nslots: workers
 * take the next frame whose slot is free and decompress it there; the
 * caller takes them back in order and frees a slot when it asks for the
 * next frame. Workers see nothing but their slot and the mapped bytes. */
#include "zframes_read.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "fsutil.h"
#include "threads.h"
#include "util.h"

/* The most a frame may hold to be decoded whole (incbak's hold 4 MiB):
 * each slot's buffer grows to its largest frame. */
#define ZFRAMES_READ_MAX_FRAME ((uint64_t)64 << 20)
#define ZFRAMES_READ_MAX_WORKERS 4
/* One per worker and one the caller reads, each up to a frame (4 MiB) of
 * memory: more buys nothing measurable on 2 cores. */
#define ZFRAMES_READ_SLOTS (ZFRAMES_READ_MAX_WORKERS + 1)
#define NO_SLOT ((size_t)-1)

struct frame {
	uint64_t start, end;     /* compressed bytes in data */
	size_t size;             /* uncompressed, from its header */
};

enum dslot_state { DSLOT_FREE, DSLOT_BUSY, DSLOT_DONE };

struct dslot {
	enum dslot_state state;
	size_t frame;
	char *buf;
	size_t cap;
	const char *error;       /* zstd's reason, when it failed */
};

struct zframes_read {
	const unsigned char *data;
	struct frame *frames;
	size_t nframes, frames_alloc;
	pthread_mutex_t mu;
	pthread_cond_t work;     /* a slot was freed, or stop was set */
	pthread_cond_t done;     /* a slot was decompressed */
	bool stop;
	struct dslot slots[ZFRAMES_READ_SLOTS];
	size_t nslots;           /* in use: one per worker, one the caller
				    reads */
	size_t next_claim;       /* the next frame a worker takes */
	size_t next_out;         /* the next frame handed back */
	size_t held;             /* the slot the caller reads, or NO_SLOT */
	pthread_t threads[ZFRAMES_READ_MAX_WORKERS];
	int nthreads;
	ZSTD_DCtx *own;          /* when no worker could start */
};

/* Every frame's extent and size, from the headers and block headers
 * alone; false if one does not say its size or is too big. */
static bool scan_frames(struct zframes_read *d, size_t len)
{
	uint64_t off = 0;

	while (off < len) {
		const unsigned char *p = d->data + off;
		size_t c = ZSTD_findFrameCompressedSize(p, len - off);
		unsigned long long u;
		struct frame *f;

		if (ZSTD_isError(c))
			return false;
		u = ZSTD_getFrameContentSize(p, c);
		if (u == ZSTD_CONTENTSIZE_UNKNOWN ||
		    u == ZSTD_CONTENTSIZE_ERROR || u > ZFRAMES_READ_MAX_FRAME)
			return false;
		grow_array((void **)&d->frames, &d->frames_alloc,
			   d->nframes + 1, sizeof(*d->frames));
		f = &d->frames[d->nframes++];
		f->start = off;
		f->end = off + c;
		f->size = (size_t)u;
		off += c;
		/* the block headers read stay mapped otherwise */
		fs_release_mapped((const char *)p, (const char *)p + c);
	}
	return true;
}

static void decode(struct zframes_read *d, ZSTD_DCtx *dctx, struct dslot *s)
{
	const struct frame *f = &d->frames[s->frame];
	size_t n;

	s->error = NULL;
	if (f->size == 0)
		return; /* a skippable frame, or an empty one */
	if (s->cap < f->size) {
		free(s->buf);
		s->buf = xmalloc(f->size);
		s->cap = f->size;
	}
	n = ZSTD_decompressDCtx(dctx, s->buf, f->size, d->data + f->start,
				(size_t)(f->end - f->start));
	if (ZSTD_isError(n))
		s->error = ZSTD_getErrorName(n);
	else if (n != f->size)
		s->error = "frame shorter than its header says";
	/* read once: the mapping does not keep the archive resident */
	fs_release_mapped((const char *)d->data + f->start,
			  (const char *)d->data + f->end);
}

static void *worker_main(void *arg)
{
	struct zframes_read *d = arg;
	ZSTD_DCtx *dctx = ZSTD_createDCtx();

	pthread_setname_np(pthread_self(), "incbak-unzstd");
	pthread_mutex_lock(&d->mu);
	for (;;) {
		struct dslot *s;

		while (!d->stop && !(d->next_claim < d->nframes &&
				     d->slots[d->next_claim % d->nslots]
						     .state == DSLOT_FREE))
			pthread_cond_wait(&d->work, &d->mu);
		if (d->stop)
			break;
		s = &d->slots[d->next_claim % d->nslots];
		s->frame = d->next_claim++;
		s->state = DSLOT_BUSY;
		pthread_mutex_unlock(&d->mu);
		if (dctx)
			decode(d, dctx, s);
		else
			s->error = "cannot create a decompressor";
		pthread_mutex_lock(&d->mu);
		s->state = DSLOT_DONE;
		pthread_cond_broadcast(&d->done);
	}
	pthread_mutex_unlock(&d->mu);
	ZSTD_freeDCtx(dctx);
	return NULL;
}

static void start_workers(struct zframes_read *d, int wanted)
{
	while (d->nthreads < wanted &&
	       threads_start(&d->threads[d->nthreads], worker_main, d) == 0)
		d->nthreads++;
}

struct zframes_read *zframes_read_new(const unsigned char *data, size_t len)
{
	struct zframes_read *d = xcalloc(1, sizeof(*d));
	int wanted = threads_count(0, ZFRAMES_READ_MAX_WORKERS);

	d->data = data;
	d->held = NO_SLOT;
	if (!scan_frames(d, len)) {
		free(d->frames);
		free(d);
		return NULL;
	}
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->work, NULL);
	pthread_cond_init(&d->done, NULL);
	/* Set before the workers start: they read it. */
	d->nslots = (size_t)wanted + 1;
	start_workers(d, wanted);
	if (d->nthreads == 0)
		d->own = ZSTD_createDCtx();
	return d;
}

/* The caller is done with the frame it held: its slot takes another. */
static void release_held(struct zframes_read *d)
{
	if (d->held == NO_SLOT)
		return;
	pthread_mutex_lock(&d->mu);
	d->slots[d->held].state = DSLOT_FREE;
	pthread_cond_broadcast(&d->work);
	pthread_mutex_unlock(&d->mu);
	d->held = NO_SLOT;
}

/* Waits for frame next_out in its slot (decompressing it here when there
 * are no workers). */
static struct dslot *wait_next(struct zframes_read *d)
{
	size_t i = d->next_out % d->nslots;
	struct dslot *s = &d->slots[i];

	if (d->nthreads == 0) {
		s->frame = d->next_out;
		if (d->own)
			decode(d, d->own, s);
		else
			s->error = "cannot create a decompressor";
		return s;
	}
	pthread_mutex_lock(&d->mu);
	while (s->state != DSLOT_DONE || s->frame != d->next_out)
		pthread_cond_wait(&d->done, &d->mu);
	pthread_mutex_unlock(&d->mu);
	return s;
}

int zframes_read_next(struct zframes_read *d, const void **out, size_t *out_len,
		  uint64_t *end, const char **why)
{
	struct dslot *s;

	release_held(d);
	if (d->next_out == d->nframes)
		return 0;
	s = wait_next(d);
	if (s->error) {
		*why = s->error;
		return -1;
	}
	*out = s->buf;
	*out_len = d->frames[d->next_out].size;
	*end = d->frames[d->next_out].end;
	d->held = (size_t)(s - d->slots);
	d->next_out++;
	return 1;
}

void zframes_read_free(struct zframes_read *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	d->stop = true;
	pthread_cond_broadcast(&d->work);
	pthread_mutex_unlock(&d->mu);
	for (int i = 0; i < d->nthreads; i++)
		pthread_join(d->threads[i], NULL);
	ZSTD_freeDCtx(d->own);
	for (size_t i = 0; i < ZFRAMES_READ_SLOTS; i++)
		free(d->slots[i].buf);
	free(d->frames);
	pthread_cond_destroy(&d->work);
	pthread_cond_destroy(&d->done);
	pthread_mutex_destroy(&d->mu);
	free(d);
}
