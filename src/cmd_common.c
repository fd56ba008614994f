/* Options shared by all commands, and where source, config and destination
 * come from: flags, then the config file, then built-in defaults. */
#include "cmd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "hash.h"
#include "jsonout.h"
#include "log.h"
#include "threads.h"
#include "util.h"

bool common_option(struct common_opts *c, int opt, const char *arg)
{
	switch (opt) {
	case OPT_SOURCE:
		c->source = arg;
		return true;
	case OPT_DEST:
		c->dest = arg;
		return true;
	case OPT_CONFIG:
		c->config = arg;
		return true;
	case OPT_JSON:
		c->json = true;
		return true;
	case 'q':
		c->quiet = true;
		return true;
	default:
		return false;
	}
}

static const struct {
	enum status status;
	enum exit_code code;
} exit_codes[] = {
	{ STATUS_OK, EXIT_OK },
	{ STATUS_ERROR, EXIT_ERROR },
	{ STATUS_USAGE, EXIT_USAGE },
	{ STATUS_PARTIAL, EXIT_PARTIAL },
	{ STATUS_BUSY, EXIT_LOCKED },
	{ STATUS_DAMAGED, EXIT_INTEGRITY },
};

int cmd_exit_code(int status)
{
	for (size_t i = 0; i < ARRAY_SIZE(exit_codes); i++)
		if ((int)exit_codes[i].status == status)
			return exit_codes[i].code;
	return EXIT_ERROR;
}

int cmd_fail(const struct common_opts *c, int status, const char *msg)
{
	int code = cmd_exit_code(status);

	if (c->json) {
		struct jsonout *j = jsonout_object();

		jsonout_bool(j, "success", false);
		jsonout_str(j, "error", msg);
		jsonout_int(j, "exit_code", code);
		jsonout_print(j);
	}
	log_error("%s", msg);
	return code;
}

int cmd_load_settings(const struct common_opts *c, struct settings *s)
{
	struct error err = {{0}};

	if (settings_load(c, s, &err) < 0)
		return cmd_fail(c, STATUS_USAGE, err.msg);
	return -1;
}

void cmd_report_failures(int64_t n, const char *noun, const char *what,
			 int code)
{
	log_error("%lld %s%s %s (see above); exit status %d", (long long)n,
		  noun, n == 1 ? "" : "s", what, code);
}

/* Whether --json is among a command's arguments (before any "--"). */
static bool asks_json(char **argv)
{
	for (size_t i = 1; argv[i] && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--json"))
			return true;
	return false;
}

int cmd_usage_fail(char **argv, const char *fmt, ...)
{
	struct common_opts c = { .json = asks_json(argv) };
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = str_vfmt(fmt, ap);
	va_end(ap);
	cmd_fail(&c, STATUS_USAGE, msg);
	free(msg);
	return EXIT_USAGE;
}

int cmd_parse_keep(char **argv, const char *arg, int *out)
{
	int64_t v;

	if (parse_int64(arg, 1, 100000, &v) < 0) {
		cmd_usage_fail(argv, "--keep: '%s' is not a number from 1 to "
			       "100000", arg);
		return -1;
	}
	*out = (int)v;
	return 0;
}

int cmd_no_arguments(const char *cmd, int argc, char **argv)
{
	if (optind < argc)
		return cmd_usage_fail(argv, "%s: unexpected argument '%s'",
				      cmd, argv[optind]);
	return -1;
}

int cmd_usage_error(const char *cmd, char **argv, int opt)
{
	const char *word = argv[optind - 1];

	if (opt == ':')
		cmd_usage_fail(argv, "%s: option '%s' needs a value", cmd,
			       word);
	else
		cmd_usage_fail(argv, "%s: unknown option '%s'", cmd, word);
	fprintf(stderr, "Try 'incbak %s --help'.\n", cmd);
	return EXIT_USAGE;
}

static bool file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* XDG base folder (e.g. XDG_DATA_HOME) or HOME/fallback. */
static char *xdg_dir(const char *var, const char *fallback,
		     struct error *err)
{
	const char *v = getenv(var);
	const char *home = getenv("HOME");

	if (v && v[0] == '/')
		return xstrdup(v);
	if (!home || !*home) {
		error_set(err, "neither %s nor HOME is set; give --dest", var);
		return NULL;
	}
	return str_fmt("%s/%s", home, fallback);
}

static int find_config(const struct common_opts *c, struct settings *s,
		       struct error *err)
{
	char *candidate;

	if (c->config) {
		if (!file_exists(c->config))
			return error_set(err, "config file '%s': %s",
					 c->config, strerror(errno ? errno
								   : EINVAL));
		s->config_path = path_resolve(c->config, err);
		return s->config_path ? 0 : -1;
	}
	candidate = path_join(s->source, "incbak.ini");
	if (file_exists(candidate)) {
		s->config_path = candidate;
		return 0;
	}
	free(candidate);
	{
		struct error ignored;
		char *base = xdg_dir("XDG_CONFIG_HOME", ".config", &ignored);

		if (!base)
			return 0;
		candidate = str_fmt("%s/incbak/config.ini", base);
		free(base);
	}
	if (file_exists(candidate))
		s->config_path = candidate;
	else
		free(candidate);
	return 0;
}

static int find_source(const struct common_opts *c, struct settings *s,
		       struct error *err)
{
	char *dir = NULL;
	const char *src = c->source;
	struct stat st;

	if (!src && c->config) {
		dir = path_dirname(c->config);
		src = dir;
	}
	if (!src)
		src = ".";
	s->source = path_resolve(src, err);
	free(dir);
	if (!s->source)
		return error_prefix(err, "source");
	if (stat(s->source, &st) < 0 || !S_ISDIR(st.st_mode))
		return error_set(err, "source '%s' is not a folder", s->source);
	return 0;
}

/* The SHA-256 of the source path in hex: its first 8 digits tell trees
 * of the same name apart. */
static void source_hash(const char *source, char hex[HASH_HEX_SIZE])
{
	uint8_t sum[HASH_SIZE];

	hash_buffer(source, strlen(source), sum);
	hex_encode(sum, HASH_SIZE, hex);
}

/* ~/.local/share/incbak/<basename>-<8 hex of SHA-256(source)>: distinct
 * trees with the same name never share a destination. */
static int default_dest(struct settings *s, struct error *err)
{
	char hex[HASH_HEX_SIZE];
	char *base = xdg_dir("XDG_DATA_HOME", ".local/share", err);
	char *name;

	if (!base)
		return -1;
	source_hash(s->source, hex);
	name = path_basename(s->source);
	if (!strcmp(name, "/")) {
		free(name);
		name = xstrdup("root");
	}
	s->dest = str_fmt("%s/incbak/%s-%.8s", base, name, hex);
	free(name);
	free(base);
	return 0;
}

/* The config's destination, its {name} and {hash} filled in for this
 * source, or NULL with err set. */
static char *config_dest(const struct settings *s, struct error *err)
{
	char hex[HASH_HEX_SIZE];
	const char *why = NULL;
	char *dest;

	source_hash(s->source, hex);
	hex[8] = '\0';
	dest = config_expand_destination(s->cfg.destination, s->name, hex,
					 &why);
	if (!dest)
		error_set(err, "%s: destination '%s': %s",
			  s->config_path ? s->config_path : "config",
			  s->cfg.destination, why);
	return dest;
}

/* ${XDG_STATE_HOME:-~/.local/state}/incbak, or none without a HOME. */
static void state_dir(struct settings *s)
{
	struct error ignored;
	char *base = xdg_dir("XDG_STATE_HOME", ".local/state", &ignored);

	if (base)
		s->state_dir = str_fmt("%s/incbak", base);
	free(base);
}

int settings_load(const struct common_opts *c, struct settings *s,
		  struct error *err)
{
	memset(s, 0, sizeof(*s));
	config_init(&s->cfg);
	if (find_source(c, s, err) < 0 || find_config(c, s, err) < 0)
		return -1;
	if (s->config_path && config_load_file(&s->cfg, s->config_path,
					       err) < 0)
		return -1;
	/* The one core budget every pool below honours. */
	threads_set_budget(s->cfg.threads);
	s->name = s->cfg.name ? xstrdup(s->cfg.name)
			      : path_basename(s->source);
	if (!strcmp(s->name, "/")) {
		free(s->name);
		s->name = xstrdup("root");
	}
	if (c->dest)
		s->dest = path_absolute(c->dest);
	else if (s->cfg.destination)
		s->dest = config_dest(s, err);
	else if (default_dest(s, err) < 0)
		return -1;
	if (!s->dest)
		return -1;
	s->log_path = s->cfg.log_file ? xstrdup(s->cfg.log_file)
				      : path_join(s->dest,
						  "backup_operations.log");
	state_dir(s);
	return 0;
}

void settings_release(struct settings *s)
{
	free(s->source);
	free(s->dest);
	free(s->state_dir);
	free(s->config_path);
	free(s->name);
	free(s->log_path);
	config_release(&s->cfg);
	memset(s, 0, sizeof(*s));
}
