/* `incbak restore`: a backup (or some paths of it) back onto disk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "jsonout.h"
#include "log.h"
#include "restore.h"
#include "scan.h"
#include "util.h"

static const char restore_usage[] =
	"usage: incbak restore ID [PATH...] [OPTIONS]\n"
	"\n"
	"Restore the tree exactly as it was at backup ID (as 'incbak list'\n"
	"shows it, a unique prefix of it, or 'latest'): files with their\n"
	"bytes, modes and times, symlinks as symlinks, folders, empty ones\n"
	"too. Every file is checked against its recorded SHA-256. PATHs\n"
	"restore only those files or folders, reading only their records of\n"
	"the manifest and the metadata: absolute paths inside the source, or\n"
	"relative ones from the current folder when it is inside the source\n"
	"(else from the source's top). A folder restore creates inside the\n"
	"source gets a CACHEDIR.TAG, so that runs leave the copy out.\n"
	"\n"
	"  --to DIR         restore into DIR (default: ./incbak-restore-ID);\n"
	"                   it must be empty or new unless --force\n"
	"  --force          restore over what DIR holds: each file is written\n"
	"                   to a temporary name and renamed over the old one\n"
	"  --delete         with --force: also remove what backup ID did not\n"
	"                   have (within the PATHs given)\n"
	"  --dry-run        list what would be deleted, restored or updated\n"
	"                   (not what is already there), change nothing;\n"
	"                   into a non-empty DIR also without --force\n"
	"  --same-owner     as root: keep setuid and setgid bits (owners are\n"
	"                   always restored when running as root)\n"
	READER_OPTIONS_HELP
	"\n"
	"Exit status: 0 success, 1 error, 2 usage error, unknown backup, a\n"
	"PATH outside the source or not in the backup, 4 another run holds\n"
	"the lock, 5 damaged or hostile backup data (checksum mismatch,\n"
	"missing or unsafe member).\n";

enum {
	OPT_TO = OPT_FIRST_COMMAND_OPTION,
	OPT_FORCE,
	OPT_DELETE,
	OPT_DRY_RUN,
	OPT_SAME_OWNER,
};

struct restore_cmd {
	struct common_opts common;
	struct restore_options opts;
	struct strlist paths;
	struct settings settings;
	struct progress progress;
	struct jsonout *planned;       /* --json --dry-run: the paths */
	struct jsonout *changes;       /* ... and what happens to each */
	const struct cmd_env *env;
};

static int parse_flag(struct restore_cmd *rc, int opt, char **argv)
{
	switch (opt) {
	case OPT_TO:
		rc->opts.target = optarg;
		return -1;
	case OPT_FORCE:
		rc->opts.force = true;
		return -1;
	case OPT_DELETE:
		rc->opts.delete_extra = true;
		return -1;
	case OPT_DRY_RUN:
		rc->opts.dry_run = true;
		return -1;
	case OPT_SAME_OWNER:
		rc->opts.same_owner = true;
		return -1;
	case 'h':
		fputs(restore_usage, stdout);
		return EXIT_OK;
	default:
		return cmd_usage_error("restore", argv, opt);
	}
}

static int parse_restore_options(struct restore_cmd *rc, int argc,
				 char **argv)
{
	static const struct option options[] = {
		{ "to", required_argument, NULL, OPT_TO },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "delete", no_argument, NULL, OPT_DELETE },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "same-owner", no_argument, NULL, OPT_SAME_OWNER },
		COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int opt, code;

	while ((opt = getopt_long(argc, argv, ":qh", options, NULL)) != -1) {
		if (common_option(&rc->common, opt, optarg))
			continue;
		code = parse_flag(rc, opt, argv);
		if (code >= 0)
			return code;
	}
	if (optind >= argc) {
		cmd_usage_fail(argv, "restore: which backup? give an ID (see "
			       "'incbak list') or 'latest'");
		fputs("Try 'incbak restore --help'.\n", stderr);
		return EXIT_USAGE;
	}
	if (rc->opts.delete_extra && !rc->opts.force) {
		return cmd_usage_fail(argv, "restore: --delete needs --force");
	}
	rc->opts.id = argv[optind++];
	while (optind < argc)
		strlist_push(&rc->paths, argv[optind++]);
	return -1;
}

static const char *const action_names[] = {
	[RESTORE_PLAN_SAME] = "same",
	[RESTORE_PLAN_NEW] = "restore",
	[RESTORE_PLAN_UPDATE] = "update",
	[RESTORE_PLAN_DELETE] = "delete",
};

static void on_planned(void *ctx, enum restore_plan_action action,
		       const char *path)
{
	struct restore_cmd *rc = ctx;

	if (rc->planned) {
		struct jsonout *change = jsonout_object();

		if (action != RESTORE_PLAN_DELETE)
			jsonout_str(rc->planned, NULL, path);
		jsonout_str(change, "action", action_names[action]);
		jsonout_str(change, "path", path);
		jsonout_add(rc->changes, NULL, change);
	} else if (!rc->common.quiet) {
		char *clean = log_escape(path);

		printf("would %s %s\n", action_names[action], clean);
		free(clean);
	}
}

static void on_progress(void *ctx, uint64_t done, uint64_t total,
			uint64_t bytes)
{
	struct restore_cmd *rc = ctx;
	struct nstime now = rc->env->clock.now(rc->env->clock.ctx);

	(void)bytes;
	progress_update(&rc->progress, now.sec * 1000 + now.nsec / 1000000,
			"restoring: %llu/%llu files and symlinks",
			(unsigned long long)done, (unsigned long long)total);
}

static void print_json(struct restore_cmd *rc, const struct restore_stats *st)
{
	struct jsonout *j = jsonout_object();

	jsonout_bool(j, "success", true);
	jsonout_str(j, "backup_id", st->backup_id);
	jsonout_str(j, "target", st->target);
	jsonout_int(j, "files", st->files);
	jsonout_int(j, "folders", st->folders);
	jsonout_int(j, "symlinks", st->symlinks);
	jsonout_int(j, "bytes", (int64_t)st->bytes);
	jsonout_int(j, "deleted", st->deleted);
	jsonout_bool(j, "excluded_from_runs", st->tagged);
	if (rc->planned) {
		jsonout_bool(j, "dry_run", true);
		jsonout_int(j, "unchanged", st->unchanged);
		jsonout_bool(j, "needs_force", st->needs_force);
		jsonout_add(j, "paths", rc->planned);
		jsonout_add(j, "changes", rc->changes);
		rc->planned = rc->changes = NULL;
	}
	jsonout_print(j);
}

static void print_summary(const struct restore_stats *st)
{
	char size[32];

	log_format_size(st->bytes, size, sizeof(size));
	printf("restored %lld file%s, %lld folder%s, %lld symlink%s (%s) "
	       "from backup %s into %s\n", (long long)st->files,
	       st->files == 1 ? "" : "s", (long long)st->folders,
	       st->folders == 1 ? "" : "s", (long long)st->symlinks,
	       st->symlinks == 1 ? "" : "s", size, st->backup_id, st->target);
	if (st->deleted)
		printf("removed %lld entr%s that backup %s did not have\n",
		       (long long)st->deleted, st->deleted == 1 ? "y" : "ies",
		       st->backup_id);
	if (st->tagged)
		printf("it is inside the source: its %s keeps it out of the "
		       "next runs\n", SCAN_CACHEDIR_TAG);
}

/* After the planned changes: why a dry run into a non-empty folder
 * did not fail. */
static void print_dry_run_note(const struct restore_stats *st)
{
	fflush(stdout);
	if (st->needs_force)
		log_warning("'%s' is not empty: the restore needs --force "
			    "(the above is what it would do)", st->target);
}

/* PATHs as the backup names them: an absolute path inside the source, or
 * a relative one from the current folder when that is inside it. */
static int map_paths(struct restore_cmd *rc)
{
	const char *source = rc->settings.source;
	char *cwd = getcwd(NULL, 0);
	int code = -1;

	for (size_t i = 0; cwd && i < rc->paths.len; i++) {
		char *asked = rc->paths.items[i];
		char *mapped = restore_plan_map_path(source, cwd, asked);
		char *real = mapped || asked[0] != '/' ? NULL
						       : realpath(asked, NULL);

		if (!mapped && real)
			mapped = restore_plan_map_path(source, cwd, real);
		free(real);
		if (!mapped) {
			char *msg = str_fmt("'%s' is outside the source '%s'",
					    asked, source);

			code = cmd_fail(&rc->common, STATUS_USAGE, msg);
			free(msg);
			break;
		}
		free(asked);
		rc->paths.items[i] = mapped;
	}
	if (!cwd)
		code = cmd_fail(&rc->common, STATUS_ERROR,
				"cannot find the current folder");
	free(cwd);
	return code;
}

static int do_restore(struct restore_cmd *rc)
{
	struct restore_stats st = {0};
	struct error err = {{0}};
	struct nstime now = rc->env->clock.now(rc->env->clock.ctx);
	int result;

	rc->opts.dest = rc->settings.dest;
	/* A destination named with --dest is read whoever's it is; one
	 * found through the config must be this tree's, or "latest" would
	 * be another tree's backup. */
	rc->opts.owner = rc->common.dest ? NULL : rc->settings.source;
	rc->opts.source = rc->settings.source;
	rc->opts.paths = &rc->paths;
	rc->opts.host = rc->env->host;
	rc->opts.now = now.sec;
	rc->opts.report = (struct restore_report){ on_planned, on_progress,
						   rc };
	if (rc->common.json && rc->opts.dry_run) {
		rc->planned = jsonout_array();
		rc->changes = jsonout_array();
	}
	progress_init(&rc->progress, !rc->common.quiet && !rc->common.json &&
				     !rc->opts.dry_run);
	result = restore_run(&rc->opts, &st, &err);
	progress_clear(&rc->progress);
	for (size_t i = 0; i < st.nlost; i++)
		log_warning("the target's file system does not support "
			    "attribute '%s': %lld file%s restored without it",
			    st.lost[i].name, (long long)st.lost[i].files,
			    st.lost[i].files == 1 ? "" : "s");
	if (result != STATUS_OK && result != STATUS_PARTIAL)
		cmd_fail(&rc->common, result, err.msg);
	else if (rc->common.json)
		print_json(rc, &st);
	else if (!rc->common.quiet && !rc->opts.dry_run)
		print_summary(&st);
	else if (!rc->common.quiet)
		print_dry_run_note(&st);
	restore_stats_release(&st);
	return cmd_exit_code(result);
}

int cmd_restore(int argc, char **argv, const struct cmd_env *env)
{
	struct restore_cmd rc = { .env = env };
	int code = parse_restore_options(&rc, argc, argv);

	if (code < 0)
		code = cmd_load_settings(&rc.common, &rc.settings);
	if (code < 0)
		code = map_paths(&rc);
	if (code < 0)
		code = do_restore(&rc);
	jsonout_free(rc.planned);
	jsonout_free(rc.changes);
	settings_release(&rc.settings);
	strlist_clear(&rc.paths);
	return code;
}
