/* `incbak find PATTERN`: which backups hold paths matching a glob, newest
 * first. */
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
#include "tree.h"
#include "util.h"

static const char find_usage[] =
	"usage: incbak find [OPTIONS] PATTERN\n"
	"\n"
	"List the kept backups that hold paths matching PATTERN, newest first,\n"
	"with each match's size and modification time. PATTERN is a glob\n"
	"(* ? [...]; quote it from the shell): without a '/' it matches a base\n"
	"name anywhere ('*.txt'), with one the whole path from the top of the\n"
	"source ('docs/*.txt', where * does not cross '/'). Only the records\n"
	"in the pattern's folder are read.\n"
	"\n"
	LISTING_OPTIONS_HELP;

struct find {
	struct common_opts c;
	const char *pattern;
};

static int parse_find_options(struct find *f, int argc, char **argv)
{
	return cmd_history_parse_one(&f->c, "find", find_usage, "pattern",
				     argc, argv, &f->pattern);
}

static void print_match(const struct tree_entry *e)
{
	char size[HUMAN_SIZE], mtime[32];

	if (e->type == ENTRY_FILE)
		human_size(e->size, size, sizeof(size));
	else
		snprintf(size, sizeof(size), "%s",
			 e->type == ENTRY_DIR ? "dir" : "link");
	format_iso_utc(e->mtime.sec, mtime, sizeof(mtime));
	printf("  %10s  %-20s  %s%s\n", size, mtime, e->path,
	       e->type == ENTRY_DIR ? "/" : "");
}

/* Lists one backup's matches; returns how many. */
static int64_t find_in(const struct find *f, const struct history_entry *h,
		       const struct tree *t, int64_t now, struct jsonout *arr)
{
	struct jsonout *matches = arr ? jsonout_array() : NULL;
	int64_t n = 0;

	for (size_t i = 0; i < t->len; i++) {
		const struct tree_entry *e = &t->entries[i];

		if (!history_match(f->pattern, e->path))
			continue;
		if (!n && !arr) {
			char when[128];

			cmd_history_when(h->backup_id, now, when, sizeof(when));
			printf("%s  %s\n", h->backup_id, when);
		}
		n++;
		if (matches)
			jsonout_add(matches, NULL, cmd_history_entry_json(e));
		else
			print_match(e);
	}
	if (arr && n) {
		struct jsonout *o = jsonout_object();

		jsonout_str(o, "backup_id", h->backup_id);
		jsonout_str(o, "date", h->date);
		jsonout_add(o, "matches", matches);
		jsonout_add(arr, NULL, o);
		matches = NULL;
	}
	jsonout_free(matches);
	return n;
}

static int search(struct find *f, const struct settings *s,
		  const struct metadata *md, int64_t now, struct jsonout *arr,
		  int64_t *found)
{
	struct strlist paths = {0};
	char *scope = history_pattern_scope(f->pattern);
	struct error err = {{0}};
	int code = -1;

	if (*scope)
		strlist_push(&paths, scope);
	for (size_t i = md->nhistory; i-- > 0;) {
		struct tree t = {0};

		if (history_read_tree(s->dest, &md->history[i],
				      *scope ? &paths : NULL, &t, &err) < 0) {
			code = cmd_fail(&f->c, STATUS_DAMAGED, err.msg);
			break;
		}
		if (find_in(f, &md->history[i], &t, now, arr))
			(*found)++;
		tree_release(&t);
	}
	strlist_clear(&paths);
	free(scope);
	return code;
}

int cmd_find(int argc, char **argv, const struct cmd_env *env)
{
	struct find f = {0};
	struct settings s = {0};
	struct metadata md;
	struct jsonout *arr = NULL;
	char *msg = NULL;
	int64_t found = 0;
	int code;

	catalog_init(&md);
	code = parse_find_options(&f, argc, argv);
	if (code >= 0)
		goto out;
	code = cmd_history_open(&f.c, &s, &md);
	if (code >= 0)
		goto out;
	if (f.c.json)
		arr = jsonout_array();
	code = search(&f, &s, &md, env->clock.now(env->clock.ctx).sec, arr,
		      &found);
	if (code >= 0)
		goto out;
	if (!found && !f.c.json) {
		msg = str_fmt("no kept backup holds a path matching '%s'",
			      f.pattern);
		code = cmd_fail(&f.c, STATUS_ERROR, msg);
		goto out;
	}
	if (arr)
		jsonout_print(arr);
	arr = NULL;
	code = found ? EXIT_OK : EXIT_ERROR;
out:
	jsonout_free(arr);
	catalog_release(&md);
	settings_release(&s);
	free(msg);
	return code;
}
