/* Runs a fuzz target's LLVMFuzzerTestOneInput over saved inputs without
 * libFuzzer, so the corpus replays under any compiler and sanitizer (as
 * zstd's regression_driver.c does). Arguments are files or folders (every
 * file in them, sorted); with none, the target's own corpus folder, found
 * from the program name: replay_NAME reads REPLAY_CORPUS_DIR/NAME. Prints
 * TAP; a failed property aborts in the target, which prove reports. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

#ifndef REPLAY_CORPUS_DIR
#define REPLAY_CORPUS_DIR "tests/fuzz/corpus"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds path, or the files in it if it is a folder; -1 if unreadable. */
static int collect(const char *path, struct strlist *files)
{
	struct stat st;
	struct dirent *d;
	DIR *dir;
	size_t first = files->len;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "replay: cannot stat '%s': %s\n", path,
			strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		strlist_push(files, path);
		return 0;
	}
	dir = opendir(path);
	if (!dir) {
		fprintf(stderr, "replay: cannot open '%s': %s\n", path,
			strerror(errno));
		return -1;
	}
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] != '.')
			strlist_push_owned(files, str_fmt("%s/%s", path,
							  d->d_name));
	closedir(dir);
	qsort(files->items + first, files->len - first, sizeof(char *),
	      cmp_names);
	return 0;
}

/* Reads path into an exactly sized buffer, so that reading past the end
 * is a sanitizer error as it is under libFuzzer. */
static uint8_t *read_input(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	struct buf b = {0};
	char chunk[65536];
	size_t n;
	uint8_t *data = NULL;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	if (!ferror(f)) {
		data = xmalloc(b.len ? b.len : 1);
		memcpy(data, b.data ? b.data : "", b.len);
		*size = b.len;
	}
	fclose(f);
	buf_release(&b);
	return data;
}

/* The corpus folder that belongs to the program called argv0. */
static char *default_corpus(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	base = base ? base + 1 : argv0;
	if (str_starts(base, "replay_"))
		base += strlen("replay_");
	return str_fmt("%s/%s", REPLAY_CORPUS_DIR, base);
}

int main(int argc, char **argv)
{
	struct strlist files = {0};
	int failed = 0;

	if (argc < 2) {
		char *dir = default_corpus(argv[0]);

		failed |= collect(dir, &files) < 0;
		free(dir);
	}
	for (int i = 1; i < argc; i++)
		failed |= collect(argv[i], &files) < 0;
	if (failed) {
		printf("Bail out! cannot list the inputs\n");
		return 1;
	}
	printf("1..%zu\n", files.len);
	fflush(stdout);
	for (size_t i = 0; i < files.len; i++) {
		size_t size = 0;
		uint8_t *data = read_input(files.items[i], &size);

		if (!data) {
			printf("not ok %zu - %s # cannot read: %s\n", i + 1,
			       files.items[i], strerror(errno));
			failed = 1;
			continue;
		}
		LLVMFuzzerTestOneInput(data, size);
		free(data);
		printf("ok %zu - %s\n", i + 1, files.items[i]);
		fflush(stdout);
	}
	strlist_clear(&files);
	return failed;
}
