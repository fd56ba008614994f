/* The destination as a folder of archives: their names and paths, the
 * members they keep under .incbak/, listing them, and finding the backup a
 * user named. */
#include "dest.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "fsutil.h"
#include "hash.h"
#include "util.h"

bool dest_member_reserved(const char *path)
{
	return !strcmp(path, ".incbak") || str_starts(path, ".incbak/");
}

char *dest_member_name(const char *path, const uint8_t *checksum)
{
	char hex[HASH_HEX_SIZE];

	if (!dest_member_reserved(path))
		return xstrdup(path);
	hex_encode(checksum, HASH_SIZE, hex);
	return str_fmt("%s%s", DEST_CONTENT_DIR, hex);
}

char *dest_archive_path(const char *dest, const char *archive)
{
	return path_join(dest, archive);
}

bool dest_parse_archive_name(const char *name, char *id)
{
	static const char suffix[] = ".tar.zst";
	const char *mark = strstr(name, "_backup_");
	size_t idlen = BACKUP_ID_SIZE - 1;
	int64_t sec;

	/* The id is the fixed-width part right before the suffix. */
	while (mark && strstr(mark + 1, "_backup_"))
		mark = strstr(mark + 1, "_backup_");
	if (!mark || mark == name)
		return false;
	mark += strlen("_backup_");
	if (strlen(mark) != idlen + strlen(suffix) ||
	    strcmp(mark + idlen, suffix))
		return false;
	memcpy(id, mark, idlen);
	id[idlen] = '\0';
	return parse_backup_id(id, &sec) == 0;
}

static int cmp_by_id(const void *a, const void *b)
{
	char ia[BACKUP_ID_SIZE], ib[BACKUP_ID_SIZE];

	dest_parse_archive_name(*(char *const *)a, ia);
	dest_parse_archive_name(*(char *const *)b, ib);
	return strcmp(ia, ib);
}

int dest_list_archives(const char *dest, struct strlist *out, struct error *err)
{
	DIR *d = opendir(dest);
	struct dirent *de;
	char id[BACKUP_ID_SIZE];

	if (!d)
		return error_set(err, "cannot open '%s': %s", dest,
				 strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (dest_parse_archive_name(de->d_name, id))
			strlist_push(out, de->d_name);
	closedir(d);
	if (out->len > 1)
		qsort(out->items, out->len, sizeof(*out->items), cmp_by_id);
	return 0;
}

/* Length of the common prefix of a and b. */
static size_t common_prefix(const char *a, const char *b)
{
	size_t n = 0;

	while (a[n] && a[n] == b[n])
		n++;
	return n;
}

/* The ids sharing the longest prefix with query (at most 5), for the
 * message. */
static void close_matches(const struct metadata *md, const char *query,
			  struct buf *out)
{
	size_t best = 0, shown = 0;

	for (size_t i = 0; i < md->nhistory; i++) {
		size_t n = common_prefix(md->history[i].backup_id, query);

		if (n > best)
			best = n;
	}
	for (size_t i = md->nhistory; i-- > 0 && shown < 5;) {
		const char *id = md->history[i].backup_id;

		if (common_prefix(id, query) == best) {
			buf_printf(out, "%s%s", shown ? ", " : "", id);
			shown++;
		}
	}
}

int dest_resolve_id(const struct metadata *md, const char *query,
		    struct error *err)
{
	struct buf near = {0};
	size_t n = strlen(query);
	int found = -1, count = 0;

	if (!md->nhistory)
		return error_set(err, "unknown backup '%s': there are no "
				 "backups yet", query);
	if (!strcmp(query, "latest"))
		return (int)md->nhistory - 1;
	for (size_t i = 0; i < md->nhistory; i++) {
		if (!strcmp(md->history[i].backup_id, query))
			return (int)i;
		if (n && !strncmp(md->history[i].backup_id, query, n)) {
			found = (int)i;
			count++;
		}
	}
	if (count == 1)
		return found;
	close_matches(md, query, &near);
	error_set(err, "%s backup '%s'; %s: %s",
		  count ? "ambiguous" : "unknown", query,
		  count ? "it could be" : "closest",
		  near.data ? near.data : "");
	buf_release(&near);
	return -1;
}
