/* `incbak verify`: reads archives back and checks that every backup can be
 * restored, under the shared lock. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "jsonout.h"
#include "lock.h"
#include "log.h"
#include "metadata.h"
#include "store.h"
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
	COMMON_OPTIONS_HELP
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
	struct strlist ids;         /* resolved */
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

/* Loads the metadata; a missing or damaged one is an error that `incbak
 * repair` fixes. */
static int load_metadata(const struct verify_cmd *vc, struct metadata *md)
{
	const char *dest = vc->settings.dest;
	struct error err = {{0}};
	bool found;
	char *msg;
	int code;

	if (metadata_load(dest, md, &found, &err) < 0) {
		msg = str_fmt("%s; run 'incbak repair' to rebuild it from the "
			      "archives", err.msg);
	} else if (!found) {
		msg = str_fmt("no %s in '%s'; if it holds backups, run 'incbak "
			      "repair' to rebuild it from the archives",
			      METADATA_FILE_NAME, dest);
	} else if (!md->nhistory) {
		msg = str_fmt("no backups in '%s' to verify", dest);
	} else {
		return EXIT_OK;
	}
	code = cmd_fail(&vc->common, EXIT_ERROR, msg);
	free(msg);
	return code;
}

static int resolve_ids(struct verify_cmd *vc, const struct metadata *md)
{
	struct error err = {{0}};

	for (size_t i = 0; i < vc->queries.len; i++) {
		int at = store_resolve_id(md, vc->queries.items[i], &err);

		if (at < 0)
			return cmd_fail(&vc->common, EXIT_USAGE, err.msg);
		strlist_push(&vc->ids, md->history[at].backup_id);
	}
	return EXIT_OK;
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

static int verify_locked(struct verify_cmd *vc)
{
	struct verify_report report = { on_problem, vc };
	struct verify_stats st;
	struct metadata md;
	struct error err = {{0}};
	int code;

	metadata_init(&md);
	code = load_metadata(vc, &md);
	if (code == EXIT_OK)
		code = resolve_ids(vc, &md);
	if (code != EXIT_OK)
		goto out;
	if (vc->common.json)
		vc->problems = jsonout_array();
	if (verify_backups(vc->settings.dest, &md,
			   (const char *const *)vc->ids.items, vc->ids.len,
			   &report, &st, &err) < 0) {
		code = cmd_fail(&vc->common, EXIT_ERROR, err.msg);
		goto out;
	}
	print_summary(vc, &st);
	vc->problems = NULL; /* printed and freed with the summary */
	code = st.problems ? EXIT_INTEGRITY : EXIT_OK;
out:
	metadata_release(&md);
	return code;
}

static int verify_dest(struct verify_cmd *vc)
{
	const char *dest = vc->settings.dest;
	struct lock *lock = NULL;
	struct error err = {{0}};
	struct stat st;
	char *msg;
	int rc, code;

	errno = 0;
	if (stat(dest, &st) < 0 || !S_ISDIR(st.st_mode)) {
		msg = str_fmt("no backups in '%s' to verify: %s", dest,
			      errno ? strerror(errno) : "not a folder");
		code = cmd_fail(&vc->common, EXIT_ERROR, msg);
		free(msg);
		return code;
	}
	rc = lock_acquire(dest, LOCK_SHARED, vc->env->host,
			  vc->env->clock.now(vc->env->clock.ctx).sec, &lock,
			  &err);
	if (rc != LOCK_ACQUIRED)
		return cmd_fail(&vc->common, rc == LOCK_BUSY ? EXIT_LOCKED
							  : EXIT_ERROR,
				      err.msg);
	code = verify_locked(vc);
	lock_release(lock);
	return code;
}

int cmd_verify(int argc, char **argv, const struct cmd_env *env)
{
	struct verify_cmd vc = { .env = env };
	struct error err = {{0}};
	int code = parse_verify_options(&vc, argc, argv);

	if (code >= 0)
		goto out;
	if (settings_load(&vc.common, &vc.settings, &err) < 0) {
		code = cmd_fail(&vc.common, EXIT_USAGE, err.msg);
		goto out;
	}
	code = verify_dest(&vc);
out:
	jsonout_free(vc.problems);
	settings_release(&vc.settings);
	strlist_clear(&vc.queries);
	strlist_clear(&vc.ids);
	return code;
}
