/* Fuzz target for the archive reader: opens the input as an in-memory
 * tar.zst (or plain tar), reads every member's header and all its data,
 * and parses the manifest member as catalog_manifest.c does. Damage must end in
 * an error, never a crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "tarball.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A few bytes of zstd can stand for gigabytes of zeros: stop reading
 * there rather than time out. */
#define MAX_UNPACKED ((int64_t)64 << 20)

static void fail(const char *what, const char *name)
{
	fprintf(stderr, "archive property failed: %s (member '%s')\n", what,
		name);
	abort();
}

/* Reads the current member to its end; the manifest's bytes go to text.
 * Returns -1 on a damaged member or when the budget is spent. */
static int read_member(struct tarball_reader *r, const char *name,
		       struct buf *text, int64_t *budget, struct error *err)
{
	static char chunk[16384];
	ssize_t n;

	while ((n = tarball_read(r, chunk, sizeof(chunk), err)) > 0) {
		if ((size_t)n > sizeof(chunk))
			fail("read more than asked", name);
		*budget -= n;
		if (*budget < 0)
			return -1;
		if (text)
			buf_append(text, chunk, (size_t)n);
	}
	if (n < 0 && !err->msg[0])
		fail("a read error without a message", name);
	return n < 0 ? -1 : 0;
}

static void parse_manifest(const struct buf *text)
{
	struct manifest m;
	struct error err = { "" };

	catalog_manifest_init(&m);
	catalog_manifest_parse(text->data ? text->data : "", text->len, &m,
			       &err);
	catalog_manifest_release(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tarball_reader *r = NULL;
	struct tarball_member mem;
	struct buf text = {0};
	struct error err = { "" };
	int64_t budget = MAX_UNPACKED;
	bool found = false;
	int more;

	if (tarball_reader_open_memory(data, size, "fuzz.tar.zst", &r,
				       &err) < 0) {
		if (!err.msg[0])
			fail("open failed without a message", "");
		return 0;
	}
	while ((more = tarball_next(r, &mem, &err)) > 0) {
		bool manifest = !strcmp(mem.name, MANIFEST_MEMBER) &&
				!mem.is_hardlink;

		if ((mem.is_hardlink || mem.type == ENTRY_SYMLINK) &&
		    !mem.link_target)
			fail("a link without a target", mem.name);
		text.len = manifest ? 0 : text.len;
		if (read_member(r, mem.name, manifest ? &text : NULL, &budget,
				&err) < 0)
			break;
		found = found || manifest;
	}
	if (more < 0 && !err.msg[0])
		fail("a damaged archive without a message", "");
	if (more == 0 && found)
		parse_manifest(&text);
	buf_release(&text);
	tarball_reader_close(r);
	return 0;
}
