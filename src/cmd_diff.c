/* `incbak diff [ID1 [ID2]]`: what the next run would store, the tree now
 * against a backup, or one backup against another. */
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "cmd_history.h"
#include "exclude.h"
#include "history.h"
#include "history_diff.h"
#include "jsonout.h"
#include "log.h"
#include "tree.h"
#include "util.h"

static const char diff_usage[] =
	"usage: incbak diff [OPTIONS] [ID1 [ID2]]\n"
	"\n"
	"With no id, what the next run would store: the source against the\n"
	"last run's records, reading only files whose size, times or inode\n"
	"changed. With one id, the source now against that backup; with two,\n"
	"the first backup against the second. An id is a backup id, a unique\n"
	"prefix of one, or 'latest'. Each changed path is marked + added,\n"
	"- removed, M modified, T type changed; a summary line follows.\n"
	"Excludes come from the defaults and the config, as for 'run'.\n"
	"\n"
	LISTING_OPTIONS_HELP;

struct diff {
	struct common_opts c;
	const char *ids[2];
	int nids;
	struct jsonout *changes;
	int64_t unreadable;
};

static int parse_diff_options(struct diff *d, int argc, char **argv)
{
	static const struct option options[] = {
		COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, ":qh", options, NULL)) != -1) {
		if (common_option(&d->c, opt, optarg))
			continue;
		if (opt == 'h') {
			fputs(diff_usage, stdout);
			return EXIT_OK;
		}
		return cmd_usage_error("diff", argv, opt);
	}
	while (optind < argc && d->nids < 2)
		d->ids[d->nids++] = argv[optind++];
	return cmd_no_arguments("diff", argc, argv);
}

static void each_change(void *ctx, const struct history_change *ch)
{
	struct diff *d = ctx;

	if (d->changes)
		jsonout_add(d->changes, NULL, cmd_history_change_json(ch));
	else
		cmd_history_print_change(ch);
}

static void on_unreadable(void *ctx, const char *path, const char *reason)
{
	struct diff *d = ctx;

	(void)d;
	log_warning("cannot read '%s': %s", path, reason);
}

static struct exclude_set *build_excludes(const struct settings *s,
					  struct error *err)
{
	struct exclude_set *set = exclude_set_new();

	for (size_t i = 0; exclude_default_patterns[i]; i++)
		if (exclude_set_add(set, exclude_default_patterns[i], "",
				    err) < 0)
			goto fail;
	for (size_t i = 0; i < s->cfg.excludes.len; i++)
		if (exclude_set_add(set, s->cfg.excludes.items[i], "",
				    err) < 0)
			goto fail;
	return set;
fail:
	exclude_set_free(set);
	return NULL;
}

/* The source now, checksummed against base. */
static int scan_now(struct diff *d, const struct settings *s,
		    const struct tree *base, struct tree *now)
{
	struct error err = {{0}};
	struct exclude_set *ex = build_excludes(s, &err);
	struct history_scan o = {
		.source = s->source,
		.dest = s->dest,
		.excludes = ex,
		.exclude_if_present = &s->cfg.exclude_if_present,
		.one_file_system = s->cfg.one_file_system,
		.change = { .ignore_ctime = s->cfg.ignore_ctime,
			    .ignore_inode = s->cfg.ignore_inode },
		.unreadable = on_unreadable,
		.ctx = d,
	};

	if (!ex)
		return cmd_fail(&d->c, STATUS_USAGE, err.msg);
	d->unreadable = history_scan_now(&o, base, now, &err);
	exclude_set_free(ex);
	if (d->unreadable < 0)
		return cmd_fail(&d->c, STATUS_ERROR, err.msg);
	return -1;
}

static int read_backup(struct diff *d, const struct settings *s,
		       const struct metadata *md, const char *id,
		       struct tree *t, const char **name)
{
	struct error err = {{0}};
	int code, i = cmd_history_resolve(&d->c, md, id, &code);

	if (i < 0)
		return code;
	*name = md->history[i].backup_id;
	if (history_read_tree(s->dest, &md->history[i], NULL, t, &err) < 0)
		return cmd_fail(&d->c, STATUS_DAMAGED, err.msg);
	return -1;
}

/* The two trees the ids ask for: old and new, and what to call them. */
static int load_sides(struct diff *d, const struct settings *s,
		      struct metadata *md, struct tree *old, struct tree *now,
		      const char **names)
{
	struct error err = {{0}};
	bool found;
	int code;

	if (d->nids == 0) {
		/* The records the next run compares against. */
		catalog_release(md);
		catalog_init(md);
		if (catalog_load_parts(s->dest, md, &found, METADATA_FILES,
				       &err) < 0)
			return cmd_fail(&d->c, STATUS_ERROR, err.msg);
		*old = md->files;
		memset(&md->files, 0, sizeof(md->files));
		names[0] = "last run";
		names[1] = "source";
		return scan_now(d, s, old, now);
	}
	code = read_backup(d, s, md, d->ids[0], old, &names[0]);
	if (code >= 0)
		return code;
	if (d->nids == 2)
		return read_backup(d, s, md, d->ids[1], now, &names[1]);
	names[1] = "source";
	return scan_now(d, s, old, now);
}

int cmd_diff(int argc, char **argv, const struct cmd_env *env)
{
	struct diff d = {0};
	struct settings s = {0};
	struct metadata md;
	struct tree old = {0}, now = {0};
	struct history_diff_stats st;
	const char *names[2] = { NULL, NULL };
	int code = parse_diff_options(&d, argc, argv);

	(void)env;
	if (code >= 0)
		return code;
	catalog_init(&md);
	code = cmd_history_open(&d.c, &s, &md);
	if (code >= 0)
		goto out;
	code = load_sides(&d, &s, &md, &old, &now, names);
	if (code >= 0)
		goto out;
	if (d.c.json)
		d.changes = jsonout_array();
	history_diff(&old, &now, each_change, &d, &st);
	if (d.c.json) {
		struct jsonout *doc = jsonout_object();

		jsonout_str(doc, "from", names[0]);
		jsonout_str(doc, "to", names[1]);
		jsonout_add(doc, "changes", d.changes);
		d.changes = NULL;
		jsonout_add(doc, "summary", cmd_history_stats_json(&st));
		jsonout_int(doc, "unreadable", d.unreadable);
		jsonout_print(doc);
	} else {
		cmd_history_print_stats(&st);
	}
	code = d.unreadable ? EXIT_PARTIAL : EXIT_OK;
out:
	jsonout_free(d.changes);
	tree_release(&old);
	tree_release(&now);
	catalog_release(&md);
	settings_release(&s);
	return code;
}
