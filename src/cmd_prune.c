/* `incbak prune`: rotation without a backup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "jsonout.h"
#include "log.h"
#include "prune.h"
#include "util.h"

static const char prune_usage[] =
	"usage: incbak prune [OPTIONS]\n"
	"\n"
	"Remove the oldest backups beyond the retention limit, without making\n"
	"a backup. Content that a kept backup still needs is first carried\n"
	"into the newest archive, so every kept backup stays restorable.\n"
	"\n"
	"  --keep N         keep the newest N backups (default: [retention]\n"
	"                   max_backups, 10)\n"
	"  --dry-run        show what would be removed; change nothing\n"
	READER_OPTIONS_HELP
	"\n"
	"Exit status: 0 success or nothing to do, 1 error, 2 usage error,\n"
	"4 another run holds the lock, 5 an archive to carry from is damaged.\n";

enum {
	OPT_KEEP = OPT_FIRST_COMMAND_OPTION,
	OPT_DRY_RUN,
};

struct prune_cmd {
	struct common_opts common;
	int keep;
	bool dry_run;
	struct jsonout *removed;   /* --json: the backups removed */
};

static int parse_prune_options(struct prune_cmd *pc, int argc, char **argv)
{
	static const struct option options[] = {
		{ "keep", required_argument, NULL, OPT_KEEP },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, ":qh", options, NULL)) != -1) {
		if (common_option(&pc->common, opt, optarg))
			continue;
		switch (opt) {
		case OPT_KEEP:
			if (cmd_parse_keep(argv, optarg, &pc->keep) < 0)
				return EXIT_USAGE;
			break;
		case OPT_DRY_RUN:
			pc->dry_run = true;
			break;
		case 'h':
			fputs(prune_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_usage_error("prune", argv, opt);
		}
	}
	return cmd_no_arguments("prune", argc, argv);
}

static void on_removed(void *ctx, const char *id, const char *archive,
		       int64_t carried, int64_t copied)
{
	struct prune_cmd *pc = ctx;

	if (pc->removed) {
		struct jsonout *o = jsonout_object();

		jsonout_str(o, "backup_id", id);
		jsonout_str(o, "archive", archive);
		jsonout_int(o, "contents_carried", carried);
		jsonout_int(o, "contents_copied", copied);
		jsonout_add(pc->removed, NULL, o);
	} else if (!pc->common.quiet) {
		printf("%s %s (%s), carrying %lld content%s forward",
		       pc->dry_run ? "would remove" : "removed", id, archive,
		       (long long)carried, carried == 1 ? "" : "s");
		if (!pc->dry_run)
			printf(" (%lld in frames copied unchanged)",
			       (long long)copied);
		putchar('\n');
	}
}

static void on_cleaned_up(void *ctx, const char *msg)
{
	struct prune_cmd *pc = ctx;

	if (!pc->common.quiet)
		log_error("%s", msg);
}

static int prune(struct prune_cmd *pc, const struct cmd_env *env,
		 struct error *err)
{
	struct settings s;
	struct prune_options o;
	struct prune_stats st;
	int rc;

	if (settings_load(&pc->common, &s, err) < 0) {
		settings_release(&s);
		return STATUS_USAGE;
	}
	o = (struct prune_options){
		.dest = s.dest,
		/* A destination named with --dest is pruned whoever's it
		 * is; one found through the config must be this tree's. */
		.source = pc->common.dest ? NULL : s.source,
		.max_backups = pc->keep ? pc->keep : s.cfg.max_backups,
		.dry_run = pc->dry_run,
		.compression_level = s.cfg.compression_level,
		.threads = s.cfg.threads,
		.host = env->host,
		.now = env->clock.now(env->clock.ctx).sec,
		.report = { on_removed, pc },
		.notice = on_cleaned_up,
		.ctx = pc,
	};
	rc = prune_run(&o, &st, err);
	if (rc == STATUS_OK && !st.rotate.backups_removed &&
	    !pc->common.quiet && !pc->removed)
		printf("nothing to prune: %zu backup%s, keeping up to %d\n",
		       st.backups, st.backups == 1 ? "" : "s", o.max_backups);
	settings_release(&s);
	return rc;
}

int cmd_prune(int argc, char **argv, const struct cmd_env *env)
{
	struct prune_cmd pc = {0};
	struct error err = {{0}};
	int code = parse_prune_options(&pc, argc, argv);

	if (code >= 0)
		return code;
	if (pc.common.json)
		pc.removed = jsonout_array();
	code = cmd_exit_code(prune(&pc, env, &err));
	if (code != EXIT_OK)
		log_error("%s", err.msg);
	if (pc.common.json) {
		struct jsonout *j = jsonout_object();

		jsonout_bool(j, "success", code == EXIT_OK);
		jsonout_bool(j, "dry_run", pc.dry_run);
		jsonout_add(j, "removed", pc.removed);
		if (code != EXIT_OK) {
			jsonout_str(j, "error", err.msg);
			jsonout_int(j, "exit_code", code);
		}
		jsonout_print(j);
	}
	return code;
}
