/* incbak's entry point: global options, the command table and signals. The
 * only file that reads the clock (so tests can set it with INCBAK_TEST_NOW,
 * as git's GIT_TEST_DATE_NOW does) or the host name. */
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "log.h"
#include "util.h"

#ifndef INCBAK_VERSION
#define INCBAK_VERSION "0.1.0"
#endif

struct command {
	const char *name;
	int (*run)(int argc, char **argv, const struct cmd_env *env);
	const char *summary;
};

static const struct command commands[] = {
	{ "run", cmd_run, "back up new and changed files" },
	{ "list", cmd_list, "list the backups" },
	{ "restore", cmd_restore, "restore a backup" },
	{ "verify", cmd_verify, "check that the archives hold every backup" },
	{ "repair", cmd_repair, "rebuild backup_metadata.json from the archives" },
	{ "prune", cmd_prune, "remove old backups beyond the retention limit" },
	{ "show", cmd_show, "show a backup: its summary and what it changed" },
	{ "diff", cmd_diff, "what changed: next run, tree now, or two backups" },
	{ "log", cmd_log, "the backups that changed a file or folder" },
	{ "find", cmd_find, "the backups holding paths matching a pattern" },
};

static void print_usage(FILE *out)
{
	fputs("usage: incbak [--version] [--help] COMMAND [OPTIONS]\n"
	      "\n"
	      "Incremental backups of a folder into dated tar.zst archives.\n"
	      "\n"
	      "Commands:\n", out);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name,
			commands[i].summary);
	fputs("\n"
	      "Run 'incbak help COMMAND' or 'incbak COMMAND --help' for a\n"
	      "command's options, and see incbak(1) and incbak.ini(5).\n"
	      "\n"
	      "Exit status: 0 success or nothing to do, 1 error (the message\n"
	      "says what was done before it), 2 usage or configuration error,\n"
	      "3 partial backup, 4 another run holds the lock, 5 integrity\n"
	      "failure.\n", out);
}

/* INCBAK_TEST_NOW=SECONDS fixes the clock for tests; waiting for the next
 * second then just moves the fixed clock on. */
struct test_clock {
	bool fixed;
	struct nstime now;
};

static struct nstime clock_now(void *ctx)
{
	struct test_clock *tc = ctx;
	struct timespec ts;
	struct nstime t;

	if (tc->fixed)
		return tc->now;
	clock_gettime(CLOCK_REALTIME, &ts);
	t.sec = ts.tv_sec;
	t.nsec = (int32_t)ts.tv_nsec;
	return t;
}

static void clock_wait_until(void *ctx, int64_t sec)
{
	struct test_clock *tc = ctx;

	if (tc->fixed) {
		if (tc->now.sec < sec)
			tc->now = (struct nstime){ .sec = sec };
		return;
	}
	for (;;) {
		struct nstime t = clock_now(ctx);
		struct timespec ts;

		if (t.sec >= sec)
			return;
		ts.tv_sec = 0;
		ts.tv_nsec = 1000000000L - t.nsec;
		nanosleep(&ts, NULL);
	}
}

static int init_clock(struct test_clock *tc)
{
	const char *fixed = getenv("INCBAK_TEST_NOW");
	int64_t sec;

	tc->fixed = false;
	if (!fixed || !*fixed)
		return 0;
	if (parse_int64(fixed, -(INT64_C(1) << 40), INT64_C(1) << 40,
			&sec) < 0) {
		log_error("INCBAK_TEST_NOW: '%s' is not a number of seconds",
			  fixed);
		return -1;
	}
	tc->fixed = true;
	tc->now = (struct nstime){ .sec = sec };
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	incbak_interrupted = 1;
}

static void install_signal_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* incbak help COMMAND is incbak COMMAND --help. */
static int help_command(int argc, char **argv)
{
	/* A command's help needs neither the clock nor the host. */
	static const struct cmd_env no_env;
	static char help_flag[] = "--help";
	char *help_argv[] = { argv[2], help_flag, NULL };
	const struct command *cmd;

	if (argc > 3) {
		log_error("help: unexpected argument '%s'", argv[3]);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h")) {
		print_usage(stdout);
		return EXIT_OK;
	}
	cmd = find_command(argv[2]);
	if (!cmd) {
		log_error("help: unknown command '%s'", argv[2]);
		fputs("Try 'incbak --help'.\n", stderr);
		return EXIT_USAGE;
	}
	opterr = 0;
	optind = 1;
	return cmd->run(2, help_argv, &no_env);
}

int main(int argc, char **argv)
{
	static char host[256];
	struct test_clock tc;
	struct cmd_env env;
	const struct command *cmd;
	int code;

	if (argc < 2) {
		print_usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    (!strcmp(argv[1], "help") && argc == 2)) {
		print_usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("incbak %s\n", INCBAK_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "help"))
		return help_command(argc, argv);
	cmd = find_command(argv[1]);
	if (!cmd) {
		log_error("unknown command '%s'", argv[1]);
		fputs("Try 'incbak --help'.\n", stderr);
		return EXIT_USAGE;
	}
	if (init_clock(&tc) < 0)
		return EXIT_USAGE;
	if (gethostname(host, sizeof(host) - 1) < 0)
		strcpy(host, "unknown");
	env.clock = (struct backup_clock){ clock_now, clock_wait_until, &tc };
	env.host = host;
	install_signal_handlers();
	/* libarchive converts names through the locale's charset: with UTF-8
	 * it stores UTF-8 names as they are, and only a name that is not
	 * UTF-8 gets a raw (hdrcharset=BINARY) pax header. Messages stay in
	 * the C locale. */
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		setlocale(LC_CTYPE, "");
	opterr = 0;
	optind = 1;
	code = cmd->run(argc - 1, argv + 1, &env);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_error("cannot write to standard output: %s",
			  strerror(errno));
		if (code == EXIT_OK)
			code = EXIT_ERROR;
	}
	return code;
}
