/* Helpers of show, diff, log and find (see cmd_history.h). */
#include "cmd_history.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "dest.h"
#include "history_diff.h"
#include "human.h"
#include "jsonout.h"
#include "log.h"
#include "tree.h"
#include "util.h"

int cmd_history_open(const struct common_opts *c, struct settings *s,
		     struct metadata *md)
{
	struct error err = {{0}};
	bool found;
	int code = cmd_load_settings(c, s);

	if (code >= 0)
		return code;
	if (catalog_load_parts(s->dest, md, &found, METADATA_SKIM, &err) < 0)
		return cmd_fail(c, STATUS_ERROR, err.msg);
	return -1;
}

int cmd_history_resolve(const struct common_opts *c,
			const struct metadata *md, const char *query,
			int *code)
{
	struct error err = {{0}};
	int i = dest_resolve_id(md, query, &err);

	if (i < 0)
		*code = cmd_fail(c, STATUS_USAGE, err.msg);
	return i;
}

struct jsonout *cmd_history_entry_json(const struct tree_entry *e)
{
	struct jsonout *o = jsonout_object();
	char hex[HASH_HEX_SIZE];

	jsonout_str(o, "path", e->path);
	jsonout_str(o, "type", tree_type_name(e->type));
	jsonout_int(o, "size", e->type == ENTRY_FILE ? (int64_t)e->size : 0);
	jsonout_int(o, "mtime", e->mtime.sec);
	jsonout_int(o, "mtime_nsec", e->mtime.nsec);
	jsonout_int(o, "mode", e->mode);
	if (e->type == ENTRY_FILE) {
		hex_encode(e->checksum, HASH_SIZE, hex);
		jsonout_str(o, "checksum", hex);
	}
	if (e->type == ENTRY_SYMLINK && e->link_target)
		jsonout_str(o, "target", e->link_target);
	return o;
}

struct jsonout *cmd_history_change_json(const struct history_change *ch)
{
	struct jsonout *o = jsonout_object();
	char mark[2] = { (char)ch->mark, '\0' };

	jsonout_str(o, "mark", mark);
	jsonout_str(o, "path", (ch->now ? ch->now : ch->old)->path);
	if (ch->old)
		jsonout_add(o, "old", cmd_history_entry_json(ch->old));
	else
		jsonout_null(o, "old");
	if (ch->now)
		jsonout_add(o, "new", cmd_history_entry_json(ch->now));
	else
		jsonout_null(o, "new");
	return o;
}

static void entry_size(const struct tree_entry *e, char *out, size_t len)
{
	if (e->type == ENTRY_FILE)
		human_size(e->size, out, len);
	else
		snprintf(out, len, "%s", e->type == ENTRY_DIR ? "dir" : "link");
}

void cmd_history_print_change(const struct history_change *ch)
{
	const struct tree_entry *e = ch->now ? ch->now : ch->old;
	char size[HUMAN_SIZE];

	entry_size(e, size, sizeof(size));
	printf("%c  %10s  %s%s\n", (char)ch->mark, size, e->path,
	       e->type == ENTRY_DIR ? "/" : "");
}

void cmd_history_print_stats(const struct history_diff_stats *st)
{
	char added[HUMAN_SIZE], removed[HUMAN_SIZE];

	human_size(st->bytes_added, added, sizeof(added));
	human_size(st->bytes_removed, removed, sizeof(removed));
	printf("%lld added, %lld removed, %lld modified, %lld %s; "
	       "+%s, -%s\n", (long long)st->added, (long long)st->removed,
	       (long long)st->modified, (long long)st->type_changed,
	       human_plural(st->type_changed, "type change", "type changes"),
	       added, removed);
}

struct jsonout *cmd_history_stats_json(const struct history_diff_stats *st)
{
	struct jsonout *o = jsonout_object();

	jsonout_int(o, "added", st->added);
	jsonout_int(o, "removed", st->removed);
	jsonout_int(o, "modified", st->modified);
	jsonout_int(o, "type_changed", st->type_changed);
	jsonout_int(o, "bytes_added", (int64_t)st->bytes_added);
	jsonout_int(o, "bytes_removed", (int64_t)st->bytes_removed);
	return o;
}

void cmd_history_when(const char *id, int64_t now, char *out, size_t len)
{
	int64_t sec;
	time_t t;
	struct tm tm;
	char date[64], age[32];

	if (parse_backup_id(id, &sec) < 0) {
		snprintf(out, len, "?");
		return;
	}
	t = (time_t)sec;
	if (!localtime_r(&t, &tm) ||
	    !strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %Z", &tm))
		snprintf(date, sizeof(date), "?");
	human_age(sec, now, age, sizeof(age));
	snprintf(out, len, "%s (%s)", date, age);
}

int cmd_history_parse_one(struct common_opts *c, const char *cmd,
			  const char *usage, const char *what, int argc,
			  char **argv, const char **operand)
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
			fputs(usage, stdout);
			return EXIT_OK;
		}
		return cmd_usage_error(cmd, argv, opt);
	}
	if (optind >= argc) {
		log_error("%s: which %s?", cmd, what);
		fprintf(stderr, "Try 'incbak %s --help'.\n", cmd);
		return EXIT_USAGE;
	}
	*operand = argv[optind++];
	return cmd_no_arguments(cmd, argc, argv);
}
