/* Intents: incbak removes an unrecorded archive only where an intent of its
 * own names it, so a file someone else put in the destination is safe. */
#include "intent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "catalog.h"
#include "dest.h"
#include "util.h"

#define ARCHIVE_SUFFIX ".tar.zst"

/* .incbak-intent.NAME_backup_ID: not itself named like an archive. */
static char *intent_name(const char *archive)
{
	size_t n = strlen(archive), k = strlen(ARCHIVE_SUFFIX);

	if (n > k && !strcmp(archive + n - k, ARCHIVE_SUFFIX))
		n -= k;
	return str_fmt("%s%.*s", INTENT_PREFIX, (int)n, archive);
}

static int create_intent(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				     O_CLOEXEC, 0600);

	/* Left by a run that died: ours or not, it is replaced, never
	 * opened. */
	if (fd < 0 && errno == EEXIST && unlinkat(dirfd, name, 0) == 0)
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL |
					 O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	return close(fd);
}

int intent_begin(const char *dest, const char *archive, struct error *err)
{
	char *name = intent_name(archive);
	int dirfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = -1;

	if (dirfd < 0) {
		error_set(err, "cannot open '%s': %s", dest, strerror(errno));
		goto out;
	}
	if (create_intent(dirfd, name) < 0) {
		error_set(err, "cannot create '%s/%s': %s", dest, name,
			  strerror(errno));
		goto out;
	}
	if (fsync(dirfd) < 0 && errno != EINVAL) {
		error_set(err, "cannot sync '%s': %s", dest, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (dirfd >= 0)
		close(dirfd);
	free(name);
	return rc;
}

int intent_end(const char *dest, const char *archive, struct error *err)
{
	char *name = intent_name(archive);
	char *path = path_join(dest, name);
	int rc = 0;

	if (unlink(path) < 0 && errno != ENOENT)
		rc = error_set(err, "cannot remove '%s': %s", path,
			       strerror(errno));
	free(path);
	free(name);
	return rc;
}

static bool recorded(const struct metadata *md, const char *archive)
{
	for (size_t i = 0; i < md->nhistory; i++)
		if (!strcmp(md->history[i].archive, archive))
			return true;
	return false;
}

/* Whether the entry is an intent this user wrote, naming an archive;
 * sets *archive (caller frees). */
static bool own_intent(int dirfd, const char *name, char **archive)
{
	char id[BACKUP_ID_SIZE];
	struct stat st;

	if (!str_starts(name, INTENT_PREFIX))
		return false;
	*archive = str_fmt("%s%s", name + strlen(INTENT_PREFIX),
			   ARCHIVE_SUFFIX);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    dest_parse_archive_name(*archive, id))
		return true;
	free(*archive);
	*archive = NULL;
	return false;
}

static int settle_one(int dirfd, const char *name, const char *archive,
		      const struct metadata *md, bool *removed)
{
	*removed = false;
	if (!recorded(md, archive)) {
		if (unlinkat(dirfd, archive, 0) == 0)
			*removed = true;
		else if (errno != ENOENT)
			return -1;
	}
	return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
}

int intent_settle(const char *dest, const struct metadata *md,
		  void (*notice)(void *ctx, const char *archive), void *ctx,
		  struct error *err)
{
	DIR *d = opendir(dest);
	struct dirent *de;
	int removed = 0, settled = 0;

	if (!d)
		return error_set(err, "cannot open '%s': %s", dest,
				 strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char *archive = NULL;
		bool gone;

		if (!own_intent(dirfd(d), de->d_name, &archive))
			continue;
		if (settle_one(dirfd(d), de->d_name, archive, md, &gone) < 0) {
			removed = error_set(err, "cannot remove '%s/%s': %s",
					    dest, archive, strerror(errno));
			free(archive);
			break;
		}
		settled++;
		if (gone) {
			removed++;
			if (notice)
				notice(ctx, archive);
		}
		free(archive);
	}
	closedir(d);
	if (removed >= 0 && settled && fs_fsync_dir(dest, err) < 0)
		return -1;
	return removed;
}
