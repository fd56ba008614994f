/* File-system helpers: complete writes, durable atomic replacement, folder
 * creation and path joins. */
#ifndef INCBAK_FSUTIL_H
#define INCBAK_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct buf;
struct error;

/* Prefix of every temporary file incbak creates in a destination; the next
 * run sweeps leftovers (from a kill -9) while it holds the lock. */
#define FS_TEMP_PREFIX ".incbak-tmp."

/* Writes all of buf, retrying short writes and EINTR; -1 with errno set. */
int fs_write_all(int fd, const void *buf, size_t len);

/* A file written front to back, its bytes sent to disk as it grows: the
 * fsync that makes it durable then waits only for the last few MiB (a
 * 40 MB file took 33 ms to fsync after being written whole). */
struct fs_writeback {
	int fd;
	uint64_t written;  /* bytes written so far */
	uint64_t sent;     /* of which the kernel was asked to write out */
};

/* Notes len more bytes written to wb->fd and, every few MiB, starts their
 * writeback without waiting. Where the kernel cannot (not a file), nothing
 * is lost: the fsync still does it all. */
void fs_writeback_advance(struct fs_writeback *wb, uint64_t len);

/* Gives back to the kernel the whole pages of a read-only file mapping
 * that lie in [from, to): read once, front to back, a big file then does
 * not stay resident. */
void fs_release_mapped(const char *from, const char *to);

/* Copies len bytes of from_fd, from its offset `from`, to to_fd's
 * position, in the kernel where it can; -1 with errno set (EIO if from_fd
 * ends first). */
int fs_copy_range(int from_fd, uint64_t from, int to_fd, uint64_t len);

/* Opens path (relative to dirfd) to read it, not following a symlink in
 * any of its components and never leaving dirfd's tree (a ".." is EXDEV, a
 * symlink ELOOP), with flags added; without changing its access time where allowed (files
 * we own, or as root). -1 with errno set. */
int fs_open_source(int dirfd, const char *path, int flags);

/* Reads up to max bytes of fd into out; -1 with errno set, or if the file is
 * larger than max (errno EFBIG). */
int fs_read_fd(int fd, struct buf *out, size_t max);

/* read(2) that also notes whether the bytes came from the page cache: until
 * *missed is set, it asks for cached data only (RWF_NOWAIT) and sets
 * *missed when some was not, then reads as usual. A backup drops from the
 * cache only files it brought in, leaving the user's working set alone. */
ssize_t fs_read_noting_cache(int fd, void *buf, size_t len, bool *missed);

/* fs_read_fd through fs_read_noting_cache, reading straight into out. */
int fs_read_fd_noting_cache(int fd, struct buf *out, size_t max,
			    bool *missed);

/* -1 with "cannot read PATH: not a regular file" if PATH exists and is not
 * one (a folder, or a FIFO whose open would block); 0 otherwise, leaving
 * a missing file to the open that follows. */
int fs_check_regular(const char *path, struct error *err);

/* Reads a whole file (at most max bytes); errors name the path. */
int fs_read_file(const char *path, struct buf *out, size_t max,
		 struct error *err);

/* Creates a new temporary file in dir named FS_TEMP_PREFIX<random>.<tag>
 * (O_EXCL, O_NOFOLLOW: never an existing file), mode `mode` whatever the
 * umask. Returns the fd and sets *tmp_path (caller
 * frees), or -1 with err set. */
int fs_temp_open(const char *dir, const char *tag, mode_t mode,
		 char **tmp_path, struct error *err);

/* fsyncs fd, closes it, renames tmp_path over final_path and fsyncs the
 * folder. On failure unlinks tmp_path. Closes fd in every case. */
int fs_commit_temp(int fd, const char *tmp_path, const char *final_path,
		   struct error *err);

/* Replaces path with data atomically and durably (temp, fsync, rename,
 * fsync folder). */
int fs_atomic_write(const char *path, const void *data, size_t len,
		    mode_t mode, struct error *err);

/* fsyncs a folder so a rename or unlink in it survives a crash. */
int fs_fsync_dir(const char *dir, struct error *err);

/* Creates path and missing parents; new folders get `mode`. */
int fs_mkdir_p(const char *path, mode_t mode, struct error *err);

/* Creates path (mode `mode`) if missing, but none of its parents: a
 * missing parent is an error saying so, for a disk that is not mounted
 * must not be filled in the empty folder it mounts on. */
int fs_mkdir_last(const char *path, mode_t mode, struct error *err);

/* 0 if the folder at path is writable by its owner only; 1 with err set to
 * why that matters if group or others can write it (they could plant or
 * replace files in it); -1 if it cannot be checked. */
int fs_check_private_dir(const char *path, struct error *err);

/* Removes leftover temporary files (FS_TEMP_PREFIX*: regular files owned
 * by the running user) from dir; returns the number removed, or -1. */
int fs_sweep_temp(const char *dir, struct error *err);

/* "a" + "/" + "b" without doubling slashes; newly allocated. */
char *path_join(const char *a, const char *b);

/* Folder part of path ("." if none); newly allocated. */
char *path_dirname(const char *path);

/* Last component of path, ignoring trailing slashes; newly allocated. */
char *path_basename(const char *path);

/* Absolute, symlink-resolved path of an existing file (realpath). */
char *path_resolve(const char *path, struct error *err);

/* path made absolute against the current folder, links not resolved (it
 * need not exist); as it is when the current folder is unknown. Newly
 * allocated. */
char *path_absolute(const char *path);

/* True if `path` is `dir` or lies below it (both absolute, normalised). */
bool path_is_within(const char *path, const char *dir);

#endif
