/* `incbak repair`: rebuilds a lost or damaged backup_metadata.json from the
 * archives' manifests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "jsonout.h"
#include "log.h"
#include "catalog.h"
#include "repair.h"
#include "util.h"

static const char repair_usage[] =
	"usage: incbak repair [OPTIONS]\n"
	"\n"
	"Rebuild backup_metadata.json from the archives in the destination\n"
	"when it is missing or cannot be read. A damaged file is kept as\n"
	"backup_metadata.json.corrupt-YYYY-MM-DD_HH-MM-SS, never deleted.\n"
	"Archives that cannot be read are skipped and named.\n"
	"\n"
	"  --force          rebuild even if backup_metadata.json reads fine\n"
	"                   (the old file is kept the same way)\n"
	READER_OPTIONS_HELP
	"\n"
	"Exit status: 0 success or nothing to repair, 1 error (no archives,\n"
	"none readable), 2 usage or configuration error, 4 another run holds\n"
	"the lock, 5 rebuilt, but some archives were skipped or some backups\n"
	"cannot be restored.\n";

enum {
	OPT_FORCE = OPT_FIRST_COMMAND_OPTION,
};

struct repair_cmd {
	struct common_opts common;
	bool force;
	struct settings settings;
	struct jsonout *skipped;  /* --json */
	struct jsonout *incomplete;
	const struct cmd_env *env;
};

static int parse_repair_options(struct repair_cmd *rc, int argc, char **argv)
{
	static const struct option options[] = {
		{ "force", no_argument, NULL, OPT_FORCE },
		COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, ":qh", options, NULL)) != -1) {
		if (common_option(&rc->common, opt, optarg))
			continue;
		if (opt == OPT_FORCE) {
			rc->force = true;
		} else if (opt == 'h') {
			fputs(repair_usage, stdout);
			return EXIT_OK;
		} else {
			return cmd_usage_error("repair", argv, opt);
		}
	}
	return cmd_no_arguments("repair", argc, argv);
}

/* An archive and why, for --json. */
static void list_archive(struct jsonout *list, const char *archive,
			 const char *reason)
{
	struct jsonout *o;

	if (!list)
		return;
	o = jsonout_object();
	jsonout_str(o, "archive", archive);
	jsonout_str(o, "reason", reason);
	jsonout_add(list, NULL, o);
}

/* Skipped archives are warnings: shown even with --quiet. */
static void on_skipped(void *ctx, const char *archive, const char *reason)
{
	struct repair_cmd *rc = ctx;

	log_warning("skipped '%s': %s", archive, reason);
	list_archive(rc->skipped, archive, reason);
}

static void on_incomplete(void *ctx, const char *archive, const char *reason)
{
	struct repair_cmd *rc = ctx;

	log_warning("kept '%s' for the files it holds, but its backup "
		    "cannot be restored: %s", archive, reason);
	list_archive(rc->incomplete, archive, reason);
}

static void print_json(struct repair_cmd *rc, const struct repair_stats *st)
{
	struct jsonout *j = jsonout_object();

	jsonout_bool(j, "success", st->skipped == 0 && st->incomplete == 0);
	jsonout_bool(j, "repaired", !st->not_needed);
	jsonout_int(j, "archives", st->archives);
	jsonout_add(j, "skipped", rc->skipped);
	rc->skipped = NULL;
	jsonout_add(j, "incomplete", rc->incomplete);
	rc->incomplete = NULL;
	if (st->kept_as)
		jsonout_str(j, "kept_as", st->kept_as);
	else
		jsonout_null(j, "kept_as");
	jsonout_print(j);
}

static void print_summary(const struct repair_stats *st)
{
	if (st->not_needed) {
		printf("%s is fine; nothing to repair\n", METADATA_FILE_NAME);
		return;
	}
	printf("rebuilt %s from %lld archive%s", METADATA_FILE_NAME,
	       (long long)st->archives, st->archives == 1 ? "" : "s");
	if (st->kept_as)
		printf(" (kept the %s file as %s)",
		       st->was_damaged ? "damaged" : "previous", st->kept_as);
	printf("\n");
}

static int do_repair(struct repair_cmd *rc)
{
	const struct cmd_env *env = rc->env;
	struct repair_options opts = {
		.dest = rc->settings.dest, .force = rc->force,
		.host = env->host, .now = env->clock.now(env->clock.ctx).sec,
		.report = { on_skipped, on_incomplete, rc },
	};
	struct repair_stats st;
	struct error err = {{0}};
	int result, code;

	if (rc->common.json) {
		rc->skipped = jsonout_array();
		rc->incomplete = jsonout_array();
	}
	result = repair_run(&opts, &st, &err);
	if (result != STATUS_OK) {
		code = cmd_fail(&rc->common, result, err.msg);
		repair_stats_release(&st);
		return code;
	}
	if (rc->common.json)
		print_json(rc, &st);
	else if (!rc->common.quiet)
		print_summary(&st);
	code = cmd_exit_code(st.skipped || st.incomplete ? STATUS_DAMAGED
							 : STATUS_OK);
	if (st.skipped)
		cmd_report_failures(st.skipped, "archive", "could not be used",
				    code);
	else if (st.incomplete)
		cmd_report_failures(st.incomplete, "backup",
				    "cannot be restored", code);
	repair_stats_release(&st);
	return code;
}

int cmd_repair(int argc, char **argv, const struct cmd_env *env)
{
	struct repair_cmd rc = { .env = env };
	int code = parse_repair_options(&rc, argc, argv);

	if (code < 0)
		code = cmd_load_settings(&rc.common, &rc.settings);
	if (code < 0)
		code = do_repair(&rc);
	jsonout_free(rc.skipped);
	jsonout_free(rc.incomplete);
	settings_release(&rc.settings);
	return code;
}
