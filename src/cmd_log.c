/* `incbak log PATH`: the backups that changed one file or folder, so the
 * user can pick the version to restore. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "cmd_history.h"
#include "history.h"
#include "history_diff.h"
#include "human.h"
#include "jsonout.h"
#include "log.h"
#include "restore_plan.h"
#include "tree.h"
#include "util.h"

static const char log_usage[] =
	"usage: incbak log [OPTIONS] PATH\n"
	"\n"
	"The history of PATH (relative to the source) across the kept backups,\n"
	"oldest first: each backup that added, changed or removed it or\n"
	"anything under it, with the mark (+ - M T), size, modification time\n"
	"and checksum prefix, so that 'incbak restore ID PATH' can bring back\n"
	"the version wanted. Only the manifests' records at PATH are read.\n"
	"\n"
	LISTING_OPTIONS_HELP;

struct log_cmd {
	struct common_opts c;
	char *path;               /* normalised */
	const struct history_entry *h;
	struct jsonout *changes;  /* --json: of the backup being compared */
	int64_t versions;
};

static int parse_log_options(struct log_cmd *l, int argc, char **argv)
{
	const char *path = NULL;
	int code = cmd_history_parse_one(&l->c, "log", log_usage, "path",
					 argc, argv, &path);

	if (path)
		l->path = restore_plan_normalize(path);
	return code;
}

/* Keeps only the entries at or under the path (the reader gives the
 * folders above it too). */
static void keep_within(struct tree *t, const char *path)
{
	size_t kept = 0;

	for (size_t i = 0; i < t->len; i++) {
		if (history_path_within(t->entries[i].path, path))
			t->entries[kept++] = t->entries[i];
		else
			tree_entry_release(&t->entries[i]);
	}
	t->len = kept;
}

static void print_line(const struct log_cmd *l,
		       const struct history_change *ch)
{
	const struct tree_entry *e = ch->now ? ch->now : ch->old;
	char size[HUMAN_SIZE], mtime[32], sum[HASH_HEX_SIZE];

	if (e->type == ENTRY_FILE)
		human_size(e->size, size, sizeof(size));
	else
		snprintf(size, sizeof(size), "%s",
			 e->type == ENTRY_DIR ? "dir" : "link");
	format_iso_utc(e->mtime.sec, mtime, sizeof(mtime));
	if (ch->now && e->type == ENTRY_FILE)
		hex_encode(e->checksum, HASH_SIZE, sum);
	else
		snprintf(sum, sizeof(sum), "-");
	printf("%s  %c  %10s  %-20s  %-12.12s  %s\n", l->h->backup_id,
	       (char)ch->mark, size, ch->now ? mtime : "-", sum, e->path);
}

static void each_change(void *ctx, const struct history_change *ch)
{
	struct log_cmd *l = ctx;

	if (l->changes)
		jsonout_add(l->changes, NULL, cmd_history_change_json(ch));
	else
		print_line(l, ch);
}

static int walk_history(struct log_cmd *l, const struct settings *s,
			const struct metadata *md, struct jsonout *arr)
{
	struct strlist paths = {0};
	struct tree before = {0};
	struct error err = {{0}};
	int code = -1;

	strlist_push(&paths, l->path);
	for (size_t i = 0; i < md->nhistory; i++) {
		struct tree t = {0};
		struct history_diff_stats st;

		l->h = &md->history[i];
		if (history_read_tree(s->dest, l->h, *l->path ? &paths : NULL,
				      &t, &err) < 0) {
			code = cmd_fail(&l->c, STATUS_DAMAGED, err.msg);
			break;
		}
		keep_within(&t, l->path);
		l->changes = arr ? jsonout_array() : NULL;
		history_diff(&before, &t, each_change, l, &st);
		if (st.added + st.removed + st.modified + st.type_changed)
			l->versions++;
		if (arr && st.added + st.removed + st.modified +
				   st.type_changed) {
			struct jsonout *o = jsonout_object();

			jsonout_str(o, "backup_id", l->h->backup_id);
			jsonout_str(o, "date", l->h->date);
			jsonout_add(o, "changes", l->changes);
			jsonout_add(arr, NULL, o);
			l->changes = NULL;
		}
		jsonout_free(l->changes);
		l->changes = NULL;
		tree_release(&before);
		before = t;
	}
	tree_release(&before);
	strlist_clear(&paths);
	return code;
}

int cmd_log(int argc, char **argv, const struct cmd_env *env)
{
	struct log_cmd l = {0};
	struct settings s = {0};
	struct metadata md;
	struct jsonout *arr = NULL;
	char *msg = NULL;
	int code;

	(void)env;
	catalog_init(&md);
	code = parse_log_options(&l, argc, argv);
	if (code >= 0)
		goto out;
	code = cmd_history_open(&l.c, &s, &md);
	if (code >= 0)
		goto out;
	if (l.c.json)
		arr = jsonout_array();
	code = walk_history(&l, &s, &md, arr);
	if (code >= 0)
		goto out;
	if (!l.versions) {
		msg = str_fmt("'%s' is in no kept backup", l.path);
		code = cmd_fail(&l.c, STATUS_USAGE, msg);
		goto out;
	}
	if (arr)
		jsonout_print(arr);
	arr = NULL;
	code = EXIT_OK;
out:
	jsonout_free(arr);
	catalog_release(&md);
	settings_release(&s);
	free(msg);
	free(l.path);
	return code;
}
