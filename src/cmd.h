/* What the command files share: exit codes, the options every command
 * takes, and how source, destination and config are found. */
#ifndef INCBAK_CMD_H
#define INCBAK_CMD_H

#include <getopt.h>
#include <stdbool.h>

#include "backup.h"
#include "config.h"
#include "status.h"

/* Fixed for every command; documented in README.md and incbak(1). */
enum exit_code {
	EXIT_OK = 0,
	EXIT_ERROR = 1,
	EXIT_USAGE = 2,
	EXIT_PARTIAL = 3,
	EXIT_LOCKED = 4,
	EXIT_INTEGRITY = 5,
};

/* What main.c hands every command: the only clock and host name. */
struct cmd_env {
	struct backup_clock clock;
	const char *host;
};

/* Options every command accepts. */
struct common_opts {
	const char *source;
	const char *dest;
	const char *config;
	bool json;
	bool quiet;
};

enum {
	OPT_SOURCE = 1000,
	OPT_DEST,
	OPT_CONFIG,
	OPT_JSON,
	OPT_QUIET,
	OPT_HELP,
	OPT_FIRST_COMMAND_OPTION, /* commands number their own from here */
};

#define COMMON_LONG_OPTIONS \
	{ "source", required_argument, NULL, OPT_SOURCE }, \
	{ "dest", required_argument, NULL, OPT_DEST }, \
	{ "config", required_argument, NULL, OPT_CONFIG }, \
	{ "json", no_argument, NULL, OPT_JSON }, \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "help", no_argument, NULL, 'h' }

#define COMMON_OPTIONS_HELP \
	"  --source DIR     the tree to back up (default: the folder holding\n" \
	"                   --config, else the current folder)\n" \
	"  --dest DIR       where backups go (default: see incbak(1))\n" \
	COMMON_CONFIG_HELP \
	"  -q, --quiet      print nothing on success\n" \
	"  -h, --help       show this help\n"

#define COMMON_CONFIG_HELP \
	"  --config FILE    settings (default: SOURCE/incbak.ini, else\n" \
	"                   ~/.config/incbak/config.ini, if present)\n" \
	"  --json           print one JSON document on stdout\n"

/* The same for the commands that work on backups already made: there the
 * source only says which destination and config are meant. */
#define SOURCE_BACKED_UP_HELP \
	"  --source DIR     the backed-up tree, which picks the default\n" \
	"                   destination and config (default: the folder\n" \
	"                   holding --config, else the current folder)\n" \
	"  --dest DIR       where the backups are (default: see incbak(1))\n" \
	COMMON_CONFIG_HELP

/* For those that print only what was asked for (list, show, diff, log,
 * find): -q is accepted but changes nothing. */
#define LISTING_OPTIONS_HELP \
	SOURCE_BACKED_UP_HELP \
	"  -h, --help       show this help\n"

#define READER_OPTIONS_HELP \
	SOURCE_BACKED_UP_HELP \
	"  -q, --quiet      print nothing on success\n" \
	"  -h, --help       show this help\n"

/* Handles a common option; returns true if opt was one. */
bool common_option(struct common_opts *c, int opt, const char *arg);

/* The exit code for a core call's outcome: an enum status, or -1 for
 * STATUS_ERROR. The one table from outcome to exit code. */
int cmd_exit_code(int status);

/* Reports a failed command: the error on stderr and, with --json, the
 * {"success": false, "error": ..., "exit_code": ...} object. Returns the
 * exit code for status. */
int cmd_fail(const struct common_opts *c, int status, const char *msg);

/* Says on stderr that n NOUNs WHAT (see above), and the exit status. */
void cmd_report_failures(int64_t n, const char *noun, const char *what,
			 int code);

/* Parses a --keep value (1..100000); reports the error itself, the way
 * cmd_usage_fail() does (argv: the command's). */
int cmd_parse_keep(char **argv, const char *arg, int *out);

/* For a command that takes options only: -1 once they are parsed and
 * nothing follows them, else EXIT_USAGE after saying what follows. */
int cmd_no_arguments(const char *cmd, int argc, char **argv);

/* Reports a bad option the way every command does (exit 2 follows). */
int cmd_usage_error(const char *cmd, char **argv, int opt);

/* Reports a usage error found while reading the command line (argv: the
 * command's, from its name on): on stderr and, when --json is among the
 * arguments, as the {"success": false, ...} object on stdout, since the
 * options after the bad one were never read. Returns EXIT_USAGE. */
int cmd_usage_fail(char **argv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The settings a command works with, after defaults, config and flags. */
struct settings {
	char *source;       /* absolute, resolved */
	char *dest;         /* absolute */
	char *config_path;  /* NULL if no config file */
	char *name;         /* archive name prefix */
	char *log_path;     /* operations log */
	char *state_dir;    /* this user's incbak state, or NULL (no HOME) */
	struct config cfg;
};

/* Resolves source, config file and destination (see incbak(1)). Returns 0,
 * or -1 with err set (a usage or configuration error: exit 2). */
int settings_load(const struct common_opts *c, struct settings *s,
		  struct error *err);
void settings_release(struct settings *s);

/* settings_load() for a command that has parsed its options: -1 when the
 * settings loaded, else the exit code after reporting why (cmd_fail). */
int cmd_load_settings(const struct common_opts *c, struct settings *s);

int cmd_run(int argc, char **argv, const struct cmd_env *env);
int cmd_list(int argc, char **argv, const struct cmd_env *env);
int cmd_restore(int argc, char **argv, const struct cmd_env *env);
int cmd_verify(int argc, char **argv, const struct cmd_env *env);
int cmd_repair(int argc, char **argv, const struct cmd_env *env);
int cmd_prune(int argc, char **argv, const struct cmd_env *env);
int cmd_show(int argc, char **argv, const struct cmd_env *env);
int cmd_diff(int argc, char **argv, const struct cmd_env *env);
int cmd_log(int argc, char **argv, const struct cmd_env *env);
int cmd_find(int argc, char **argv, const struct cmd_env *env);

#endif
