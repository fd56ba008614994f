/* `incbak run`: one backup of the source into the destination. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backup.h"
#include "cmd.h"
#include "exclude.h"
#include "fsutil.h"
#include "jsonout.h"
#include "log.h"
#include "catalog.h"
#include "util.h"

static const char run_usage[] =
	"usage: incbak run [OPTIONS]\n"
	"\n"
	"Back up the new and changed files of the source into a dated\n"
	"NAME_backup_YYYY-MM-DD_HH-MM-SS.tar.zst in the destination.\n"
	"\n"
	"  --exclude PATTERN        leave out paths matching a gitignore-style\n"
	"                           pattern (repeatable)\n"
	"  --no-default-excludes    do not apply the built-in patterns (.git/,\n"
	"                           __pycache__/, *.pyc, *.log, *.tmp, *.temp, *.swp)\n"
	"  --checksum               hash every file, even if size and times match\n"
	"  --keep N                 keep the newest N backups (overrides\n"
	"                           [retention] max_backups, default 10)\n"
	"  --allow-shared-dest      accept a destination that other users can\n"
	"                           write to (file systems such as vfat)\n"
	"  --new-dest               start afresh in a destination that had\n"
	"                           backups and now has none (or older ones)\n"
	"  --reattach               the source was moved: take over the\n"
	"                           destination that recorded its old path\n"
	COMMON_OPTIONS_HELP
	"\n"
	"Exit status: 0 success or nothing to do, 1 error, 2 usage or\n"
	"configuration error, 3 some files could not be read, 4 another run\n"
	"holds the lock, 5 rotation found a damaged archive.\n";

enum {
	OPT_EXCLUDE = OPT_FIRST_COMMAND_OPTION,
	OPT_NO_DEFAULT_EXCLUDES,
	OPT_CHECKSUM,
	OPT_KEEP,
	OPT_ALLOW_SHARED_DEST,
	OPT_NEW_DEST,
	OPT_REATTACH,
};

struct run_cmd {
	struct common_opts common;
	struct strlist excludes;
	bool no_default_excludes;
	bool checksum;
	int keep;                   /* 0: from the config */
	bool allow_shared_dest;
	bool new_dest;
	bool reattach;
	struct settings settings;
	struct progress progress;
	struct strlist warnings;
	const struct cmd_env *env;
	bool log_legacy_ok;         /* see check_log() */
};

static int parse_run_options(struct run_cmd *rc, int argc, char **argv)
{
	static const struct option options[] = {
		{ "exclude", required_argument, NULL, OPT_EXCLUDE },
		{ "no-default-excludes", no_argument, NULL,
		  OPT_NO_DEFAULT_EXCLUDES },
		{ "checksum", no_argument, NULL, OPT_CHECKSUM },
		{ "keep", required_argument, NULL, OPT_KEEP },
		{ "allow-shared-dest", no_argument, NULL,
		  OPT_ALLOW_SHARED_DEST },
		{ "new-dest", no_argument, NULL, OPT_NEW_DEST },
		{ "reattach", no_argument, NULL, OPT_REATTACH },
		COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, ":qh", options, NULL)) != -1) {
		if (common_option(&rc->common, opt, optarg))
			continue;
		switch (opt) {
		case OPT_EXCLUDE:
			strlist_push(&rc->excludes, optarg);
			break;
		case OPT_NO_DEFAULT_EXCLUDES:
			rc->no_default_excludes = true;
			break;
		case OPT_CHECKSUM:
			rc->checksum = true;
			break;
		case OPT_ALLOW_SHARED_DEST:
			rc->allow_shared_dest = true;
			break;
		case OPT_NEW_DEST:
			rc->new_dest = true;
			break;
		case OPT_REATTACH:
			rc->reattach = true;
			break;
		case OPT_KEEP:
			if (cmd_parse_keep(argv, optarg, &rc->keep) < 0)
				return EXIT_USAGE;
			break;
		case 'h':
			fputs(run_usage, stdout);
			return 0;
		default:
			return cmd_usage_error("run", argv, opt);
		}
	}
	return cmd_no_arguments("run", argc, argv);
}

static int add_patterns(struct exclude_set *set, char *const *patterns,
			size_t n, const char *origin, struct error *err)
{
	for (size_t i = 0; i < n; i++)
		if (exclude_set_add(set, patterns[i], "", err) < 0)
			return error_prefix(err, "%s", origin);
	return 0;
}

/* Defaults, then the config's `exclude =` lines, then --exclude: later
 * patterns win, so a flag can re-include what the config excluded. */
static struct exclude_set *build_excludes(struct run_cmd *rc,
					  struct error *err)
{
	struct exclude_set *set = exclude_set_new();
	size_t ndefaults = 0;

	while (exclude_default_patterns[ndefaults])
		ndefaults++;
	if ((!rc->no_default_excludes &&
	     add_patterns(set, (char *const *)exclude_default_patterns,
			  ndefaults, "default excludes", err) < 0) ||
	    add_patterns(set, rc->settings.cfg.excludes.items,
			 rc->settings.cfg.excludes.len,
			 rc->settings.config_path ? rc->settings.config_path
						  : "config", err) < 0 ||
	    add_patterns(set, rc->excludes.items, rc->excludes.len,
			 "--exclude", err) < 0) {
		exclude_set_free(set);
		return NULL;
	}
	return set;
}

static void on_warning(void *ctx, const char *msg)
{
	struct run_cmd *rc = ctx;

	progress_clear(&rc->progress);
	log_warning("%s", msg);
	strlist_push(&rc->warnings, msg);
}

static void on_notice(void *ctx, const char *msg)
{
	struct run_cmd *rc = ctx;

	if (rc->common.quiet)
		return;
	progress_clear(&rc->progress);
	log_error("%s", msg);
}

static int64_t elapsed_ms(const struct run_cmd *rc, struct nstime start)
{
	struct nstime now = rc->env->clock.now(rc->env->clock.ctx);

	return (now.sec - start.sec) * 1000 + (now.nsec - start.nsec) / 1000000;
}

static void on_progress(void *ctx, uint64_t done, uint64_t total,
			uint64_t bytes)
{
	struct run_cmd *rc = ctx;
	struct nstime now = rc->env->clock.now(rc->env->clock.ctx);
	char size[32];

	log_format_size(bytes, size, sizeof(size));
	progress_update(&rc->progress, now.sec * 1000 + now.nsec / 1000000,
			"%llu/%llu files, %s read", (unsigned long long)done,
			(unsigned long long)total, size);
}

static void print_summary(const struct run_cmd *rc,
			  const struct backup_stats *st, double secs)
{
	char read[32], size[32];

	if (st->skipped) {
		printf("no changes since %s\n", st->previous_id);
		return;
	}
	log_format_size(st->bytes_read, read, sizeof(read));
	log_format_size(st->archive_size, size, sizeof(size));
	printf("backup %s: %lld added, %lld modified, %lld deleted "
	       "(%lld files in total)\n", st->backup_id,
	       (long long)st->files_added, (long long)st->files_modified,
	       (long long)st->files_deleted, (long long)st->total_files);
	printf("read %s, archive %s, %.2f s\n", read, size, secs);
	printf("archive: %s/%s\n", rc->settings.dest, st->archive);
}

static struct jsonout *removed_ids_json(const struct strlist *ids)
{
	struct jsonout *a = jsonout_array();

	for (size_t i = 0; i < ids->len; i++)
		jsonout_str(a, NULL, ids->items[i]);
	return a;
}

static void print_json(const struct run_cmd *rc, const struct backup_stats *st,
		       double secs)
{
	struct jsonout *j = jsonout_object();
	struct jsonout *w = jsonout_array();
	char date[32];
	char *path = st->archive ? path_join(rc->settings.dest, st->archive)
				 : NULL;

	jsonout_bool(j, "success", true);
	if (st->skipped) {
		jsonout_str(j, "skipped", "no changes");
		jsonout_str(j, "last_backup_id", st->previous_id);
	} else {
		int64_t sec = st->started.sec;

		parse_backup_id(st->backup_id, &sec);
		format_iso_utc(sec, date, sizeof(date));
		jsonout_str(j, "backup_id", st->backup_id);
		jsonout_str(j, "timestamp", date);
		jsonout_str(j, "archive", path);
		jsonout_int(j, "size", (int64_t)st->archive_size);
	}
	jsonout_int(j, "files_added", st->files_added);
	jsonout_int(j, "files_modified", st->files_modified);
	jsonout_int(j, "files_deleted", st->files_deleted);
	jsonout_int(j, "files_stored", st->files_stored);
	jsonout_int(j, "total_files", st->total_files);
	jsonout_int(j, "bytes_read", (int64_t)st->bytes_read);
	jsonout_int(j, "backups_removed", st->backups_removed);
	jsonout_add(j, "removed", removed_ids_json(&st->removed_ids));
	jsonout_num(j, "elapsed_seconds", secs);
	for (size_t i = 0; i < rc->warnings.len; i++)
		jsonout_str(w, NULL, rc->warnings.items[i]);
	jsonout_add(j, "warnings", w);
	jsonout_print(j);
	free(path);
}

static void log_run(const struct run_cmd *rc, const struct backup_stats *st,
		    int code, const char *error, double secs)
{
	char date[32];
	char *line;
	struct error err;

	struct stat dir_st;
	char *dir;
	bool have_dir;

	if (!rc->settings.log_path)
		return;
	/* A run that failed before its destination existed has nowhere to
	 * log to; saying so would only hide the real error. */
	dir = path_dirname(rc->settings.log_path);
	have_dir = stat(dir, &dir_st) == 0;
	free(dir);
	if (!have_dir)
		return;
	format_iso_utc(st->started.sec, date, sizeof(date));
	if (error)
		line = str_fmt("%s run exit=%d error: %s", date, code, error);
	else if (st->skipped)
		line = str_fmt("%s run exit=%d no changes since %s "
			       "bytes_read=%llu warnings=%lld %.2fs", date, code,
			       st->previous_id,
			       (unsigned long long)st->bytes_read,
			       (long long)st->warnings, secs);
	else
		line = str_fmt("%s run exit=%d backup=%s added=%lld "
			       "modified=%lld deleted=%lld stored=%lld "
			       "total=%lld bytes_read=%llu size=%llu "
			       "warnings=%lld %.2fs", date, code, st->backup_id,
			       (long long)st->files_added,
			       (long long)st->files_modified,
			       (long long)st->files_deleted,
			       (long long)st->files_stored,
			       (long long)st->total_files,
			       (unsigned long long)st->bytes_read,
			       (unsigned long long)st->archive_size,
			       (long long)st->warnings, secs);
	if (log_append_line(rc->settings.log_path, line, rc->log_legacy_ok,
			    &err) < 0 &&
	    !rc->common.quiet)
		log_warning("%s", err.msg);
	free(line);
}

static int do_backup(struct run_cmd *rc, struct exclude_set *excludes)
{
	struct settings *s = &rc->settings;
	struct backup_options opts = {
		.source = s->source, .dest = s->dest, .name = s->name,
		.excludes = excludes,
		.exclude_if_present = &s->cfg.exclude_if_present,
		.one_file_system = s->cfg.one_file_system,
		.ignore_inode = s->cfg.ignore_inode,
		.ignore_ctime = s->cfg.ignore_ctime,
		.attrs = { s->cfg.xattrs, s->cfg.acls },
		.checksum_all = rc->checksum,
		.compression_level = s->cfg.compression_level,
		.threads = s->cfg.threads,
		.max_backups = rc->keep ? rc->keep : s->cfg.max_backups,
		.verify_after_backup = s->cfg.verify_after_backup,
		.allow_shared_dest = rc->allow_shared_dest,
		.create_dest_parents = !rc->common.dest &&
				       !s->cfg.destination,
		.state_dir = s->state_dir,
		.new_dest = rc->new_dest,
		.reattach = rc->reattach,
		.host = rc->env->host,
		.clock = rc->env->clock,
		.report = { on_warning, on_notice, on_progress, rc },
	};
	struct backup_stats st = {0};
	struct error err = {{0}};
	int rc_backup, code;
	double secs;

	progress_init(&rc->progress, !rc->common.quiet && !rc->common.json);
	rc_backup = backup_run(&opts, &st, &err);
	progress_clear(&rc->progress);
	secs = (double)elapsed_ms(rc, st.started) / 1000.0;
	if (rc_backup != STATUS_OK) {
		/* A refused destination is not written to, not even the
		 * log in it. */
		if (rc_backup != STATUS_BUSY && rc_backup != STATUS_USAGE)
			log_run(rc, &st, cmd_exit_code(rc_backup), err.msg,
				secs);
		backup_stats_release(&st);
		return cmd_fail(&rc->common, rc_backup, err.msg);
	}
	code = cmd_exit_code(st.warnings ? STATUS_PARTIAL : STATUS_OK);
	log_run(rc, &st, code, NULL, secs);
	if (rc->common.json)
		print_json(rc, &st, secs);
	else if (!rc->common.quiet)
		print_summary(rc, &st, secs);
	if (code == EXIT_PARTIAL)
		cmd_report_failures(st.warnings, "file",
				    "could not be backed up", code);
	backup_stats_release(&st);
	return code;
}

/* The log is checked before the run, so a refused one stops it before
 * anything is written. A destination's own log from before logs had a
 * header is still incbak's when the destination holds backups (see
 * log_check). */
static int check_log(struct run_cmd *rc, struct error *err)
{
	const struct settings *s = &rc->settings;
	char *meta = path_join(s->dest, METADATA_FILE_NAME);
	struct stat st;

	rc->log_legacy_ok = !s->cfg.log_file && lstat(meta, &st) == 0 &&
			    S_ISREG(st.st_mode);
	free(meta);
	return log_check(s->log_path, rc->log_legacy_ok, err);
}

int cmd_run(int argc, char **argv, const struct cmd_env *env)
{
	struct run_cmd rc = { .env = env };
	struct exclude_set *excludes = NULL;
	struct error err = {{0}};
	int code = parse_run_options(&rc, argc, argv);

	if (code >= 0)
		goto out;
	if (settings_load(&rc.common, &rc.settings, &err) < 0 ||
	    check_log(&rc, &err) < 0 ||
	    !(excludes = build_excludes(&rc, &err))) {
		code = cmd_fail(&rc.common, STATUS_USAGE, err.msg);
		goto out;
	}
	code = do_backup(&rc, excludes);
out:
	exclude_set_free(excludes);
	settings_release(&rc.settings);
	strlist_clear(&rc.excludes);
	strlist_clear(&rc.warnings);
	return code;
}
