/* Per-user records of destinations: a file per destination, named by the
 * SHA-256 of its path, holding the path, the newest backup seen and the
 * destination's id. */
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

/* The value of a record's "KEY VALUE" line, if it is len bytes long. */
static bool recorded(const struct buf *b, const char *key, size_t len,
		     char *out)
{
	char *tag = str_fmt("\n%s ", key);
	const char *p = b->data ? strstr(b->data, tag) : NULL;

	if (p)
		p += strlen(tag);
	free(tag);
	if (!p || strcspn(p, "\n") != len)
		return false;
	memcpy(out, p, len);
	out[len] = '\0';
	return true;
}

/* Another destination's metadata where this one's was: its id differs
 * from the one recorded (both known). */
static int check_id(const struct buf *b, const char *dest,
		    const struct metadata *md, struct error *err)
{
	char id[DEST_ID_HEX + 1];

	if (!md->dest_id || !recorded(b, "id", DEST_ID_HEX, id) ||
	    !strcmp(id, md->dest_id))
		return 0;
	return error_set(err, "destination '%s' is not the one backed up to "
			 "before (its id is %s, not %s): is the right disk "
			 "mounted? If it is and you mean to start afresh "
			 "there, give --new-dest", dest, md->dest_id, id);
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
	rc = check_id(&b, dest, md, err);
	if (rc < 0 || !recorded(&b, "last", BACKUP_ID_SIZE - 1, last) ||
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
		     const char *last_id, const char *dest_id,
		     struct error *err)
{
	char *path = record_path(state_dir, dest);
	char *dir = path_dirname(path);
	char *text = str_fmt("incbak destination record\nlast %s\n%s%s%s"
			     "dest %s\n", last_id, dest_id ? "id " : "",
			     dest_id ? dest_id : "", dest_id ? "\n" : "",
			     dest);
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
