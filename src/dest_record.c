/* Per-user records of destinations: a file per destination, named by the
 * SHA-256 of its path, holding the path and the newest backup seen. */
#include "dest_record.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "hash.h"
#include "catalog.h"
#include "util.h"

#define RECORD_MAX 8192

static char *record_path(const char *state_dir, const char *dest)
{
	uint8_t sum[HASH_SIZE];
	char hex[HASH_HEX_SIZE];

	hash_buffer(dest, strlen(dest), sum);
	hex_encode(sum, HASH_SIZE, hex);
	return str_fmt("%s/destinations/%s", state_dir, hex);
}

/* The "last ID" line of a record; false if there is none. */
static bool recorded_last(const struct buf *b, char id[BACKUP_ID_SIZE])
{
	const char *p = strstr(b->data, "\nlast ");
	size_t n;

	if (!p)
		return false;
	p += strlen("\nlast ");
	n = strcspn(p, "\n");
	if (n != BACKUP_ID_SIZE - 1)
		return false;
	memcpy(id, p, n);
	id[n] = '\0';
	return true;
}

int dest_record_check(const char *state_dir, const char *dest,
		      const struct metadata *md, struct error *err)
{
	const struct history_entry *newest = catalog_last_backup(md);
	char *path = record_path(state_dir, dest);
	struct buf b = {0};
	char last[BACKUP_ID_SIZE];
	struct error read_err;
	int rc = 0;

	if (fs_read_file(path, &b, RECORD_MAX, &read_err) < 0)
		goto out; /* never recorded: a new destination */
	if (!recorded_last(&b, last) ||
	    (newest && strcmp(newest->backup_id, last) >= 0))
		goto out;
	rc = error_set(err, "destination '%s' %s, but backup %s was written "
		       "there: is the disk mounted? If it is and you mean to "
		       "start afresh there, give --new-dest", dest,
		       newest ? "holds only older backups" : "has no backups",
		       last);
out:
	buf_release(&b);
	free(path);
	return rc;
}

int dest_record_save(const char *state_dir, const char *dest,
		     const char *last_id, struct error *err)
{
	char *path = record_path(state_dir, dest);
	char *dir = path_dirname(path);
	char *text = str_fmt("incbak destination record\nlast %s\ndest %s\n",
			     last_id, dest);
	int rc = -1;

	if (fs_mkdir_p(dir, 0700, err) < 0)
		goto out;
	rc = fs_atomic_write(path, text, strlen(text), 0600, err);
out:
	free(text);
	free(dir);
	free(path);
	return rc;
}
