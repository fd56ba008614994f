/* Walks a source tree without following symlinks, applying exclusions, and
 * returns its entries sorted by path. */
#ifndef INCBAK_SCAN_H
#define INCBAK_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct stat;

#include "attrs.h"
#include "tree.h"
#include "util.h"

struct error;
struct exclude_set;

/* A folder holding a file of this name that starts with this signature is
 * left out of the walk (https://bford.info/cachedir/). */
#define SCAN_CACHEDIR_TAG "CACHEDIR.TAG"
#define SCAN_CACHEDIR_SIGNATURE \
	"Signature: 8a477f597d28d172789f06886806bc55"

/* Called for things the user should hear about (specials skipped, folders
 * that cannot be read); `path` is relative to the root. */
struct scan_report {
	void (*special)(void *ctx, const char *path, const char *kind);
	void (*unreadable)(void *ctx, const char *path, const char *reason);
	void *ctx;
};

struct scan_options {
	const char *root;                 /* absolute */
	bool have_root_fd;                /* walk from root_fd (the caller's
					     open of root; duplicated), so
					     the walk and the caller's reads
					     below it see the same folder
					     even if root's path is swapped */
	int root_fd;
	struct exclude_set *excludes;     /* patterns; .incbakignore files are
					     pushed and popped on it */
	const struct strlist *exclude_if_present; /* marker file names */
	bool one_file_system;
	int threads;                      /* that walk at most; 0: one per
					     core (4 at most either way) */
	bool skip_dir_valid;              /* skip the folder with this dev/ino
					     (the destination inside the source) */
	dev_t skip_dev;
	ino_t skip_ino;
	struct attrs_options attrs;       /* extended attributes, ACLs */
	struct scan_report report;
};

struct scan_result {
	struct tree tree;                 /* sorted by path; no checksums */
	struct strlist failed_dirs;       /* folders that could not be read:
					     their old records are kept */
};

/* Walks opts->root. Per-entry problems are reported and the walk goes on;
 * only a root that cannot be opened is an error (-1). */
int scan_tree(const struct scan_options *opts, struct scan_result *out,
	      struct error *err);

/* Frees what res owns; accepts a zeroed result. */
void scan_result_release(struct scan_result *res);

/* Fills e (except path) from a stat buffer and, for symlinks, reads the link
 * target relative to dirfd. Returns 0, or -1 with errno set. */
int scan_entry_from_stat(struct tree_entry *e, const struct stat *st,
			 int dirfd, const char *name);

/* The name of a file type we do not back up ("socket", "fifo", ...). */
const char *scan_special_kind(mode_t mode);

#endif
