/* `incbak list`: the backups in the destination, oldest first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "jsonout.h"
#include "log.h"
#include "catalog.h"
#include "util.h"

static const char list_usage[] =
	"usage: incbak list [OPTIONS]\n"
	"\n"
	"List the backups in the destination, oldest first: id, local date,\n"
	"files stored in the archive, archive size, files in the tree.\n"
	"\n"
	LISTING_OPTIONS_HELP;

static int parse_list_options(struct common_opts *c, int argc, char **argv)
{
	static const struct option options[] = {
		COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, ":qh", options, NULL)) != -1) {
		if (common_option(c, opt, optarg))
			continue;
		if (opt == 'h') {
			fputs(list_usage, stdout);
			return EXIT_OK;
		}
		return cmd_usage_error("list", argv, opt);
	}
	return cmd_no_arguments("list", argc, argv);
}

static void local_date(const char *id, char *out, size_t len)
{
	int64_t sec;
	time_t t;
	struct tm tm;

	if (parse_backup_id(id, &sec) < 0) {
		snprintf(out, len, "?");
		return;
	}
	t = (time_t)sec;
	if (!localtime_r(&t, &tm) ||
	    !strftime(out, len, "%Y-%m-%d %H:%M:%S %Z", &tm))
		snprintf(out, len, "?");
}

static void print_table(const struct metadata *md, const char *dest)
{
	if (!md->nhistory) {
		printf("no backups in %s\n", dest);
		return;
	}
	printf("%-19s  %-23s  %8s  %10s  %8s\n", "ID", "DATE", "STORED",
	       "SIZE", "FILES");
	for (size_t i = 0; i < md->nhistory; i++) {
		const struct history_entry *h = &md->history[i];
		char date[64], size[32];

		local_date(h->backup_id, date, sizeof(date));
		log_format_size((uint64_t)h->bytes_written, size, sizeof(size));
		printf("%-19s  %-23s  %8lld  %10s  %8lld\n", h->backup_id, date,
		       (long long)h->files_stored, size,
		       (long long)h->total_files);
	}
}

static void print_json(const struct metadata *md, const char *dest)
{
	struct jsonout *arr = jsonout_array();

	for (size_t i = 0; i < md->nhistory; i++) {
		const struct history_entry *h = &md->history[i];
		struct jsonout *o = jsonout_object();
		char *path = str_fmt("%s/%s", dest, h->archive);

		jsonout_str(o, "backup_id", h->backup_id);
		jsonout_str(o, "date", h->date);
		jsonout_str(o, "archive", path);
		jsonout_int(o, "size", h->bytes_written);
		jsonout_int(o, "files_added", h->files_added);
		jsonout_int(o, "files_modified", h->files_modified);
		jsonout_int(o, "files_deleted", h->files_deleted);
		jsonout_int(o, "files_stored", h->files_stored);
		jsonout_int(o, "total_files", h->total_files);
		jsonout_add(arr, NULL, o);
		free(path);
	}
	jsonout_print(arr);
}

int cmd_list(int argc, char **argv, const struct cmd_env *env)
{
	struct common_opts c = {0};
	struct settings s;
	struct metadata md;
	struct error err = {{0}};
	bool found;
	int code = parse_list_options(&c, argc, argv);

	(void)env;
	if (code >= 0)
		return code;
	catalog_init(&md);
	if (settings_load(&c, &s, &err) < 0) {
		code = cmd_fail(&c, STATUS_USAGE, err.msg);
		goto out;
	}
	/* Only the history is shown: the file records are checked as JSON,
	 * not kept (a third of the time, and no memory per file). */
	if (catalog_load_parts(s.dest, &md, &found, 0, &err) < 0) {
		code = cmd_fail(&c, STATUS_ERROR, err.msg);
		goto out;
	}
	if (c.json)
		print_json(&md, s.dest);
	else
		print_table(&md, s.dest);
	code = EXIT_OK;
out:
	catalog_release(&md);
	settings_release(&s);
	return code;
}
