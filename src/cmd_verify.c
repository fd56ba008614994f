/* `incbak verify`: reads archives back and checks that every backup can be
 * restored, under the shared lock. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "jsonout.h"
#include "log.h"
#include "util.h"
#include "verify.h"

static const char verify_usage[] =
	"usage: incbak verify [OPTIONS] [ID...]\n"
	"\n"
	"Read the archives of the named backups (default: every backup) from\n"
	"start to end, hash every stored file again and compare it with the\n"
	"archive's manifest and backup_metadata.json; then check that every\n"
	"file of those backups has its content in an intact archive. Members\n"
	"incbak never writes are problems too: unsafe names, devices, FIFOs,\n"
	"hard links to anything but an earlier file, members below a symlink.\n"
	"An ID is a backup id, a unique prefix of one, or 'latest'.\n"
	"\n"
	READER_OPTIONS_HELP
	"\n"
	"Each problem is printed on stdout as 'ARCHIVE: PATH: what is wrong'\n"
	"(PATH is '-' when it concerns the whole archive), then a summary\n"
	"'verified N archives, M files: K problems' (M counts the files of the\n"
	"verified backups); with --quiet only the problems.\n"
	"\n"
	"Exit status: 0 no problems, 1 error, 2 usage error or unknown ID,\n"
	"4 a run holds the lock, 5 problems found.\n";

struct verify_cmd {
	struct common_opts common;
	struct strlist queries;     /* IDs as given */
	struct settings settings;
	struct jsonout *problems;   /* --json */
	const struct cmd_env *env;
};

static int parse_verify_options(struct verify_cmd *vc, int argc, char **argv)
{
	static const struct option options[] = {
		COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, ":qh", options, NULL)) != -1) {
		if (common_option(&vc->common, opt, optarg))
			continue;
		if (opt == 'h') {
			fputs(verify_usage, stdout);
			return EXIT_OK;
		}
		return cmd_usage_error("verify", argv, opt);
	}
	for (int i = optind; i < argc; i++)
		strlist_push(&vc->queries, argv[i]);
	return -1;
}

static void on_problem(void *ctx, const char *archive, const char *path,
		       const char *what)
{
	struct verify_cmd *vc = ctx;
	struct jsonout *o;

	if (!vc->problems) {
		char *line = str_fmt("%s: %s: %s", archive, path, what);
		char *clean = log_escape(line);

		printf("%s\n", clean);
		free(clean);
		free(line);
		return;
	}
	o = jsonout_object();
	jsonout_str(o, "archive", archive);
	jsonout_str(o, "path", path);
	jsonout_str(o, "problem", what);
	jsonout_add(vc->problems, NULL, o);
}

static void print_summary(const struct verify_cmd *vc,
			  const struct verify_stats *st)
{
	if (vc->common.json) {
		struct jsonout *j = jsonout_object();

		jsonout_bool(j, "success", st->problems == 0);
		jsonout_int(j, "archives", st->archives);
		jsonout_int(j, "files", st->files);
		jsonout_add(j, "problems", vc->problems);
		jsonout_print(j);
		return;
	}
	if (!vc->common.quiet)
		printf("verified %lld archive%s, %lld file%s: %lld problem%s\n",
		       (long long)st->archives, st->archives == 1 ? "" : "s",
		       (long long)st->files, st->files == 1 ? "" : "s",
		       (long long)st->problems, st->problems == 1 ? "" : "s");
}

static int verify(struct verify_cmd *vc)
{
	const struct cmd_env *env = vc->env;
	struct verify_options o = {
		.dest = vc->settings.dest,
		.queries = (const char *const *)vc->queries.items,
		.nqueries = vc->queries.len,
		.host = env->host,
		.now = env->clock.now(env->clock.ctx).sec,
		.report = { on_problem, vc },
	};
	struct verify_stats st;
	struct error err = {{0}};
	int rc;

	if (vc->common.json)
		vc->problems = jsonout_array();
	rc = verify_run(&o, &st, &err);
	if (rc != STATUS_OK)
		return cmd_fail(&vc->common, rc, err.msg);
	print_summary(vc, &st);
	vc->problems = NULL; /* printed and freed with the summary */
	return cmd_exit_code(st.problems ? STATUS_DAMAGED : STATUS_OK);
}

int cmd_verify(int argc, char **argv, const struct cmd_env *env)
{
	struct verify_cmd vc = { .env = env };
	int code = parse_verify_options(&vc, argc, argv);

	if (code < 0)
		code = cmd_load_settings(&vc.common, &vc.settings);
	if (code < 0)
		code = verify(&vc);
	jsonout_free(vc.problems);
	settings_release(&vc.settings);
	strlist_clear(&vc.queries);
	return code;
}
