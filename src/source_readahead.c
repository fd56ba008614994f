/* Asking for files ahead of a reader on a cold page cache. Everything runs
 * on the reader's own thread: asking costs an open, two reads that may not
 * wait and an fadvise, and the kernel does the reading meanwhile. */
#include "source_readahead.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "faultpoint.h"
#include "fsutil.h"

/* The part of a file asked for: past it, the reader's own sequential
 * readahead keeps ahead of it. */
#define SOURCE_READAHEAD_FILE_PART ((uint64_t)4 << 20)
/* Files found in the cache one after another that make it a warm one. */
#define SOURCE_READAHEAD_CACHED_ROW 64

void source_readahead_init(struct source_readahead *w, int rootfd)
{
	memset(w, 0, sizeof(*w));
	w->rootfd = rootfd;
}

bool source_readahead_wants_more(const struct source_readahead *w)
{
	return !w->blind && w->len < SOURCE_READAHEAD_FILES &&
	       w->bytes < SOURCE_READAHEAD_BYTES;
}

/* Whether the byte at offset is in the page cache: 1 if so, 0 if not (a
 * read that may not wait fails with EAGAIN, or finds the file shorter),
 * -1 if the file system cannot tell. */
static int byte_cached(int fd, uint64_t offset)
{
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	ssize_t n;

	if (fault_cached(fd) >= 0)
		return fault_cached(fd);
	n = preadv2(fd, &iov, 1, (off_t)offset, RWF_NOWAIT);
	if (n >= 0)
		return n == 1;
	return errno == EAGAIN ? 0 : -1;
}

void source_readahead_ask(struct source_readahead *w, const char *path,
			  uint64_t size)
{
	uint64_t part = size < SOURCE_READAHEAD_FILE_PART
				? size
				: SOURCE_READAHEAD_FILE_PART;
	struct source_readahead_item *it;
	int fd, first, last;

	if (!part || !source_readahead_wants_more(w))
		return;
	/* Not blocking on a file that became a FIFO since the scan. */
	fd = fs_open_source(w->rootfd, path, O_NONBLOCK);
	if (fd < 0)
		return;
	first = byte_cached(fd, 0);
	last = first == 1 ? byte_cached(fd, part - 1) : first;
	/* Where the cache cannot be seen (tmpfs here, NFS, FUSE), warming
	 * could not be told from waste: the reader reads as it did. */
	if (last < 0) {
		w->blind = true;
		close(fd);
		return;
	}
	it = &w->ring[(w->first + w->len++) % SOURCE_READAHEAD_FILES];
	it->path = path;
	it->bytes = part;
	it->brought_in = !first || !last;
	w->bytes += part;
	w->cached_in_row = it->brought_in ? 0 : w->cached_in_row + 1;
	if (it->brought_in)
		posix_fadvise(fd, 0, (off_t)part, POSIX_FADV_WILLNEED);
	close(fd);
}

bool source_readahead_finds_cached(const struct source_readahead *w)
{
	return w->blind || w->cached_in_row >= SOURCE_READAHEAD_CACHED_ROW;
}

void source_readahead_resume(struct source_readahead *w)
{
	w->cached_in_row = 0;
}

/* Paths come in the reader's order, which is strcmp's. */
bool source_readahead_take(struct source_readahead *w, const char *path)
{
	while (w->len) {
		struct source_readahead_item *it = &w->ring[w->first];
		int c = it->path == path ? 0 : strcmp(it->path, path);
		bool brought_in = it->brought_in;

		if (c > 0)
			return false;
		w->bytes -= it->bytes;
		w->first = (w->first + 1) % SOURCE_READAHEAD_FILES;
		w->len--;
		if (c == 0)
			return brought_in;
	}
	return false;
}

void source_readahead_clear(struct source_readahead *w)
{
	source_readahead_init(w, w->rootfd);
}
