/* For unit tests of backup_metadata.json on disk: a fresh destination
 * folder per test, and the file replaced as incbak replaces it. Included
 * by the test files themselves (each is one program). */
#ifndef INCBAK_TEST_METADATA_DIR_H
#define INCBAK_TEST_METADATA_DIR_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "catalog.h"

struct fixture {
	char dir[64];
	char path[128];
};

static inline int metadata_dir_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/incbak-unit.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir,
		 METADATA_FILE_NAME);
	*state = f;
	return 0;
}

static inline int metadata_dir_teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Writes text to a new file renamed over the metadata, as incbak itself
 * writes it (a new inode each time). */
static inline void metadata_dir_write(const struct fixture *f,
				      const char *text)
{
	char tmp[160];
	FILE *out;

	snprintf(tmp, sizeof(tmp), "%s/new", f->dir);
	out = fopen(tmp, "w");
	assert_non_null(out);
	fputs(text, out);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(rename(tmp, f->path), 0);
}

#endif
