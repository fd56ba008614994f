/* `incbak show ID`: one backup's summary and what it changed, or with
 * --all its whole tree. */
#include <stdio.h>
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

static const char show_usage[] =
	"usage: incbak show [OPTIONS] ID\n"
	"\n"
	"Show a backup (an id, a unique prefix of one, or 'latest'): its date,\n"
	"counts and archive size, then each path it changed since the backup\n"
	"kept before it, marked + added, - removed, M modified, T type changed.\n"
	"\n"
	"  -a, --all        list the backup's whole tree instead of its changes\n"
	LISTING_OPTIONS_HELP;

enum { OPT_ALL = OPT_FIRST_COMMAND_OPTION };

struct show {
	struct common_opts c;
	bool all;
	const char *id;
	struct jsonout *changes;  /* --json */
};

static int parse_show_options(struct show *sh, int argc, char **argv)
{
	static const struct option options[] = {
		COMMON_LONG_OPTIONS,
		{ "all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, ":aqh", options, NULL)) != -1) {
		if (common_option(&sh->c, opt, optarg))
			continue;
		if (opt == 'a') {
			sh->all = true;
			continue;
		}
		if (opt == 'h') {
			fputs(show_usage, stdout);
			return EXIT_OK;
		}
		return cmd_usage_error("show", argv, opt);
	}
	if (optind >= argc) {
		log_error("show: which backup? (an id, or 'latest')");
		fputs("Try 'incbak show --help'.\n", stderr);
		return EXIT_USAGE;
	}
	sh->id = argv[optind++];
	return cmd_no_arguments("show", argc, argv);
}

static void print_summary(const struct history_entry *h, int64_t now)
{
	char when[128], size[HUMAN_SIZE], files[48], stored[48];

	cmd_history_when(h->backup_id, now, when, sizeof(when));
	human_size((uint64_t)h->bytes_written, size, sizeof(size));
	human_count(h->total_files, "file", "files", files, sizeof(files));
	human_count(h->files_stored, "file", "files", stored, sizeof(stored));
	printf("backup %s\n", h->backup_id);
	printf("date:     %s\n", when);
	printf("archive:  %s, %s, %s stored\n", h->archive, size, stored);
	printf("tree:     %s\n", files);
	printf("changed:  %lld added, %lld modified, %lld deleted\n",
	       (long long)h->files_added, (long long)h->files_modified,
	       (long long)h->files_deleted);
}

static void summary_json(struct jsonout *o, const struct history_entry *h)
{
	jsonout_str(o, "backup_id", h->backup_id);
	jsonout_str(o, "date", h->date);
	jsonout_str(o, "archive", h->archive);
	jsonout_int(o, "size", h->bytes_written);
	jsonout_int(o, "files_added", h->files_added);
	jsonout_int(o, "files_modified", h->files_modified);
	jsonout_int(o, "files_deleted", h->files_deleted);
	jsonout_int(o, "files_stored", h->files_stored);
	jsonout_int(o, "total_files", h->total_files);
}

static void each_change(void *ctx, const struct history_change *ch)
{
	struct show *sh = ctx;

	if (sh->changes)
		jsonout_add(sh->changes, NULL, cmd_history_change_json(ch));
	else
		cmd_history_print_change(ch);
}

static void print_tree(struct show *sh, const struct tree *t,
		       struct jsonout *doc)
{
	struct jsonout *arr = doc ? jsonout_array() : NULL;

	for (size_t i = 0; i < t->len; i++) {
		const struct tree_entry *e = &t->entries[i];
		char size[HUMAN_SIZE];

		if (arr) {
			jsonout_add(arr, NULL, cmd_history_entry_json(e));
			continue;
		}
		if (e->type == ENTRY_FILE)
			human_size(e->size, size, sizeof(size));
		else
			snprintf(size, sizeof(size), "%s",
				 e->type == ENTRY_DIR ? "dir" : "link");
		printf("%10s  %s%s\n", size, e->path,
		       e->type == ENTRY_DIR ? "/" : "");
	}
	(void)sh;
	if (arr)
		jsonout_add(doc, "files", arr);
}

/* The changes against the backup kept before (none: all added). */
static int show_changes(struct show *sh, const struct settings *s,
			const struct metadata *md, int i,
			const struct tree *now, struct jsonout *doc)
{
	struct tree before = {0};
	struct history_diff_stats st;
	struct error err = {{0}};

	if (i > 0 && history_read_tree(s->dest, &md->history[i - 1], NULL,
				       &before, &err) < 0)
		return cmd_fail(&sh->c, STATUS_DAMAGED, err.msg);
	if (doc)
		sh->changes = jsonout_array();
	else
		putchar('\n');
	history_diff(&before, now, each_change, sh, &st);
	tree_release(&before);
	if (doc) {
		jsonout_str(doc, "previous",
			    i > 0 ? md->history[i - 1].backup_id : "");
		jsonout_add(doc, "changes", sh->changes);
		jsonout_add(doc, "summary", cmd_history_stats_json(&st));
		sh->changes = NULL;
	} else {
		cmd_history_print_stats(&st);
	}
	return -1;
}

int cmd_show(int argc, char **argv, const struct cmd_env *env)
{
	struct show sh = {0};
	struct settings s = {0};
	struct metadata md;
	struct tree t = {0};
	struct error err = {{0}};
	struct jsonout *doc = NULL;
	int i, code = parse_show_options(&sh, argc, argv);

	if (code >= 0)
		return code;
	catalog_init(&md);
	code = cmd_history_open(&sh.c, &s, &md);
	if (code >= 0)
		goto out;
	i = cmd_history_resolve(&sh.c, &md, sh.id, &code);
	if (i < 0)
		goto out;
	if (history_read_tree(s.dest, &md.history[i], NULL, &t, &err) < 0) {
		code = cmd_fail(&sh.c, STATUS_DAMAGED, err.msg);
		goto out;
	}
	if (sh.c.json) {
		doc = jsonout_object();
		summary_json(doc, &md.history[i]);
	} else {
		print_summary(&md.history[i], env->clock.now(env->clock.ctx).sec);
	}
	if (sh.all) {
		if (!doc)
			putchar('\n');
		print_tree(&sh, &t, doc);
	} else {
		code = show_changes(&sh, &s, &md, i, &t, doc);
		if (code >= 0)
			goto out;
	}
	if (doc)
		jsonout_print(doc);
	doc = NULL;
	code = EXIT_OK;
out:
	jsonout_free(doc);
	jsonout_free(sh.changes);
	tree_release(&t);
	catalog_release(&md);
	settings_release(&s);
	return code;
}
