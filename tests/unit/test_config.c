/* Unit tests for config.c: defaults, every key, path resolution, each error
 * message word for word, atomic failure, and loading from disk. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

#define BASE "/home/u/proj"

static void assert_defaults(const struct config *cfg)
{
	assert_null(cfg->destination);
	assert_null(cfg->name);
	assert_null(cfg->log_file);
	assert_int_equal(cfg->excludes.len, 0);
	assert_int_equal(cfg->exclude_if_present.len, 0);
	assert_int_equal(cfg->compression_level, 3);
	assert_int_equal(cfg->threads, 0);
	assert_true(cfg->one_file_system);
	assert_false(cfg->ignore_inode);
	assert_false(cfg->ignore_ctime);
	assert_false(cfg->verify_after_backup);
	assert_int_equal(cfg->max_backups, 10);
}

/* Parses text that must be accepted, showing the message if it is not.
 * cfg must have been through config_init(). */
static void parse_ok(struct config *cfg, const char *text)
{
	struct error err = { "" };

	if (config_parse_string(cfg, text, "incbak.ini", BASE, &err) != 0)
		fail_msg("unexpected error: %s", err.msg);
	assert_string_equal(err.msg, "");
}

/* Parses text that must be refused with exactly `want`, leaving the
 * defaults in place. */
static void check_error(const char *text, const char *want)
{
	struct config cfg;
	struct error err = { "" };

	config_init(&cfg);
	assert_int_equal(config_parse_string(&cfg, text, "incbak.ini", BASE,
					     &err), -1);
	assert_string_equal(err.msg, want);
	assert_defaults(&cfg);
	config_release(&cfg);
}

static void test_defaults(void **state)
{
	struct config cfg;

	(void)state;
	memset(&cfg, 0xa5, sizeof(cfg));
	config_init(&cfg);
	assert_defaults(&cfg);
	config_release(&cfg);
	config_release(NULL);
}

static void test_empty_text_gives_defaults(void **state)
{
	struct config cfg;

	(void)state;
	config_init(&cfg);
	parse_ok(&cfg, "");
	assert_defaults(&cfg);
	parse_ok(&cfg, "[backup]\n[retention]\n\n; nothing set\n");
	assert_defaults(&cfg);
	config_release(&cfg);
}

static void test_every_key(void **state)
{
	struct config cfg;

	(void)state;
	config_init(&cfg);
	parse_ok(&cfg,
		 "[backup]\n"
		 "destination = /mnt/backups\n"
		 "name = photos\n"
		 "exclude = *.tmp\n"
		 "exclude_if_present = .nobackup\n"
		 "compression_level = 19\n"
		 "threads = 256\n"
		 "one_file_system = false\n"
		 "log_file = /var/log/incbak.log\n"
		 "ignore_inode = yes\n"
		 "ignore_ctime = on\n"
		 "verify_after_backup = 1\n"
		 "[retention]\n"
		 "max_backups = 100000\n");
	assert_string_equal(cfg.destination, "/mnt/backups");
	assert_string_equal(cfg.name, "photos");
	assert_int_equal(cfg.excludes.len, 1);
	assert_string_equal(cfg.excludes.items[0], "*.tmp");
	assert_int_equal(cfg.exclude_if_present.len, 1);
	assert_string_equal(cfg.exclude_if_present.items[0], ".nobackup");
	assert_int_equal(cfg.compression_level, 19);
	assert_int_equal(cfg.threads, 256);
	assert_false(cfg.one_file_system);
	assert_string_equal(cfg.log_file, "/var/log/incbak.log");
	assert_true(cfg.ignore_inode);
	assert_true(cfg.ignore_ctime);
	assert_true(cfg.verify_after_backup);
	assert_int_equal(cfg.max_backups, 100000);
	config_release(&cfg);
}

static void test_range_limits_accepted(void **state)
{
	struct config cfg;

	(void)state;
	config_init(&cfg);
	parse_ok(&cfg, "[backup]\ncompression_level = 1\nthreads = 0\n"
		 "[retention]\nmax_backups = 1\n");
	assert_int_equal(cfg.compression_level, 1);
	assert_int_equal(cfg.threads, 0);
	assert_int_equal(cfg.max_backups, 1);
	config_release(&cfg);
}

static void test_repeatables_in_order(void **state)
{
	struct config cfg;

	(void)state;
	config_init(&cfg);
	parse_ok(&cfg,
		 "[backup]\n"
		 "exclude = *.o\n"
		 "exclude_if_present = CACHEDIR.TAG\n"
		 "exclude = !keep.o\n"
		 "[retention]\n"
		 "[backup]\n"
		 "exclude = /build/\n"
		 "exclude_if_present = .nobackup\n");
	assert_int_equal(cfg.excludes.len, 3);
	assert_string_equal(cfg.excludes.items[0], "*.o");
	assert_string_equal(cfg.excludes.items[1], "!keep.o");
	assert_string_equal(cfg.excludes.items[2], "/build/");
	assert_int_equal(cfg.exclude_if_present.len, 2);
	assert_string_equal(cfg.exclude_if_present.items[0], "CACHEDIR.TAG");
	assert_string_equal(cfg.exclude_if_present.items[1], ".nobackup");
	config_release(&cfg);
}

static void test_paths(void **state)
{
	struct config cfg;

	(void)state;
	config_init(&cfg);
	parse_ok(&cfg, "[backup]\ndestination = ../bk\nlog_file = logs/x.log\n");
	assert_string_equal(cfg.destination, BASE "/../bk");
	assert_string_equal(cfg.log_file, BASE "/logs/x.log");
	parse_ok(&cfg, "[backup]\ndestination = /srv/bk/\n"
		 "log_file = /tmp/a.log\n");
	assert_string_equal(cfg.destination, "/srv/bk/");
	assert_string_equal(cfg.log_file, "/tmp/a.log");
	config_release(&cfg);
}

static void test_path_under_root_base(void **state)
{
	struct config cfg;
	struct error err = { "" };

	(void)state;
	config_init(&cfg);
	assert_int_equal(config_parse_string(&cfg, "[backup]\ndestination = bk\n",
					     "x.ini", "/", &err), 0);
	assert_string_equal(cfg.destination, "/bk");
	config_release(&cfg);
}

static void test_tilde(void **state)
{
	struct config cfg;
	char *home;

	(void)state;
	home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	assert_int_equal(setenv("HOME", "/home/tester", 1), 0);
	config_init(&cfg);
	parse_ok(&cfg, "[backup]\ndestination = ~/bk\nlog_file = ~\n");
	assert_string_equal(cfg.destination, "/home/tester/bk");
	assert_string_equal(cfg.log_file, "/home/tester");
	config_release(&cfg);
	check_error("[backup]\ndestination = ~bob/bk\n",
		    "incbak.ini:2: bad value '~bob/bk' for 'destination': "
		    "expected a path ('~user' is not expanded)");
	assert_int_equal(unsetenv("HOME"), 0);
	check_error("[backup]\ndestination = ~/bk\n",
		    "incbak.ini:2: bad value '~/bk' for 'destination': "
		    "cannot expand '~': HOME is not set");
	if (home)
		assert_int_equal(setenv("HOME", home, 1), 0);
	free(home);
}

static void test_bools(void **state)
{
	static const char *const yes[] = { "true", "TRUE", "Yes", "on", "1" };
	static const char *const no[] = { "false", "False", "NO", "oFF", "0" };
	static const char *const bad[] = { "", "2", "yess", "t", " on", "-1" };
	bool b;

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		assert_int_equal(config_parse_bool(yes[i], &b), 0);
		assert_true(b);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		assert_int_equal(config_parse_bool(no[i], &b), 0);
		assert_false(b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(config_parse_bool(bad[i], &b), -1);
}

static void test_error_unknown_key(void **state)
{
	(void)state;
	check_error("[backup]\nname = a\ndestinaton = /x\n",
		    "incbak.ini:3: unknown key 'destinaton' in section [backup]");
	/* Keys are exact and lower case. */
	check_error("[backup]\nName = a\n",
		    "incbak.ini:2: unknown key 'Name' in section [backup]");
	/* A key in the wrong section is unknown there. */
	check_error("[retention]\nthreads = 2\n",
		    "incbak.ini:2: unknown key 'threads' in section [retention]");
}

static void test_error_reserved_sections(void **state)
{
	(void)state;
	check_error("[schedule]\n\nevery = 1h\n",
		    "incbak.ini:3: unknown key 'every' in section [schedule]");
	check_error("[hooks]\npre = true\n",
		    "incbak.ini:2: unknown key 'pre' in section [hooks]");
}

static void test_error_unknown_section(void **state)
{
	(void)state;
	/* Even with no keys in it. */
	check_error("[foo]\n", "incbak.ini:1: unknown section [foo]");
	check_error("[backup]\nname = a\n[Backup]\nname = b\n",
		    "incbak.ini:3: unknown section [Backup]");
	check_error("[]\nname = a\n", "incbak.ini:1: unknown section []");
}

static void test_error_key_outside_section(void **state)
{
	(void)state;
	check_error("; top\n\n\n\n\n\n\n\nname = a\n[backup]\n",
		    "incbak.ini:9: key 'name' outside any section");
}

static void test_error_bad_int(void **state)
{
	(void)state;
	check_error("[backup]\n\n\n\ncompression_level = x\n",
		    "incbak.ini:5: bad value 'x' for 'compression_level': "
		    "expected an integer from 1 to 19");
	check_error("[backup]\nthreads = 4 # four\n",
		    "incbak.ini:2: bad value '4 # four' for 'threads': "
		    "expected an integer from 0 to 256");
	check_error("[backup]\nthreads = 99999999999999999999\n",
		    "incbak.ini:2: bad value '99999999999999999999' for "
		    "'threads': expected an integer from 0 to 256");
}

static void test_error_out_of_range(void **state)
{
	(void)state;
	check_error("[backup]\ncompression_level = 0\n",
		    "incbak.ini:2: bad value '0' for 'compression_level': "
		    "expected an integer from 1 to 19");
	check_error("[backup]\ncompression_level = 20\n",
		    "incbak.ini:2: bad value '20' for 'compression_level': "
		    "expected an integer from 1 to 19");
	check_error("[backup]\nthreads = -1\n",
		    "incbak.ini:2: bad value '-1' for 'threads': "
		    "expected an integer from 0 to 256");
	check_error("[backup]\nthreads = 257\n",
		    "incbak.ini:2: bad value '257' for 'threads': "
		    "expected an integer from 0 to 256");
	check_error("[retention]\nmax_backups = 0\n",
		    "incbak.ini:2: bad value '0' for 'max_backups': "
		    "expected an integer from 1 to 100000");
	check_error("[retention]\nmax_backups = 100001\n",
		    "incbak.ini:2: bad value '100001' for 'max_backups': "
		    "expected an integer from 1 to 100000");
}

static void test_error_bad_bool(void **state)
{
	(void)state;
	check_error("[backup]\none_file_system = maybe\n",
		    "incbak.ini:2: bad value 'maybe' for 'one_file_system': "
		    "expected true/false, yes/no, on/off or 1/0");
	check_error("[backup]\nverify_after_backup =\n",
		    "incbak.ini:2: bad value '' for 'verify_after_backup': "
		    "expected true/false, yes/no, on/off or 1/0");
}

static void test_error_duplicate_key(void **state)
{
	(void)state;
	check_error("[backup]\nname = a\n\n[retention]\n[backup]\n\nname = b\n",
		    "incbak.ini:7: 'name' given twice (first on line 2)");
	check_error("[retention]\nmax_backups = 3\nmax_backups = 3\n",
		    "incbak.ini:3: 'max_backups' given twice (first on line 2)");
}

/* Builds "[backup]\nname = a\nexclude = xxx...\n" whose third line is
 * `len` bytes long. */
static char *text_with_long_line(size_t len)
{
	const char *head = "[backup]\nname = a\nexclude = ";
	size_t prefix = strlen("exclude = ");
	size_t total = strlen(head) + (len - prefix) + 2;
	char *text = malloc(total);

	assert_non_null(text);
	strcpy(text, head);
	memset(text + strlen(head), 'x', len - prefix);
	strcpy(text + total - 2, "\n");
	return text;
}

static void test_error_long_line(void **state)
{
	char *text = text_with_long_line(250);

	(void)state;
	assert_int_equal(strlen(strchr(strchr(text, '\n') + 1, '\n') + 1), 251);
	check_error(text, "incbak.ini:3: line longer than 199 bytes");
	free(text);
	text = text_with_long_line(200);
	check_error(text, "incbak.ini:3: line longer than 199 bytes");
	free(text);
}

static void test_longest_line_accepted(void **state)
{
	char *text = text_with_long_line(199);
	struct config cfg;

	(void)state;
	config_init(&cfg);
	parse_ok(&cfg, text);
	assert_int_equal(cfg.excludes.len, 1);
	assert_int_equal(strlen(cfg.excludes.items[0]), 199 - 10);
	config_release(&cfg);
	free(text);
}

static void test_error_empty_path(void **state)
{
	(void)state;
	check_error("[backup]\ndestination =\n",
		    "incbak.ini:2: bad value '' for 'destination': "
		    "expected a non-empty path");
	check_error("[backup]\nlog_file =   \n",
		    "incbak.ini:2: bad value '' for 'log_file': "
		    "expected a non-empty path");
}

static void test_error_bad_names(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} bad[] = {
		{ "[backup]\nname =\n", "incbak.ini:2: bad value '' for 'name'" },
		{ "[backup]\nname = a/b\n",
		  "incbak.ini:2: bad value 'a/b' for 'name'" },
		{ "[backup]\nname = .\n", "incbak.ini:2: bad value '.' for 'name'" },
		{ "[backup]\nname = ..\n",
		  "incbak.ini:2: bad value '..' for 'name'" },
	};
	const char *why = ": expected 1 to 100 bytes without '/', not '.' or '..'";
	char text[256];
	char want[256];
	struct config cfg;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(want, sizeof(want), "%s%s", bad[i].want, why);
		check_error(bad[i].text, want);
	}
	snprintf(text, sizeof(text), "[backup]\nname = %0100d\n", 7);
	config_init(&cfg);
	parse_ok(&cfg, text);
	assert_int_equal(strlen(cfg.name), 100);
	config_release(&cfg);
	snprintf(text, sizeof(text), "[backup]\nname = %0101d\n", 7);
	snprintf(want, sizeof(want), "incbak.ini:2: bad value '%0101d' for "
		 "'name'%s", 7, why);
	check_error(text, want);
}

static void test_error_bad_list_items(void **state)
{
	(void)state;
	check_error("[backup]\nexclude_if_present = a/.nobackup\n",
		    "incbak.ini:2: bad value 'a/.nobackup' for "
		    "'exclude_if_present': expected a file name without '/', "
		    "not '.' or '..'");
	check_error("[backup]\nexclude =\n",
		    "incbak.ini:2: bad value '' for 'exclude': "
		    "expected a non-empty pattern");
}

static void test_error_syntax(void **state)
{
	(void)state;
	check_error("[backup]\nname = a\njust words\n",
		    "incbak.ini:3: syntax error: expected '[section]' or "
		    "'key = value'");
	check_error("[backup\nname = a\n",
		    "incbak.ini:1: syntax error: expected '[section]' or "
		    "'key = value'");
}

/* inih joins an indented line to the key above it; we must not. */
static void test_indented_lines_are_not_continuations(void **state)
{
	struct config cfg;

	(void)state;
	config_init(&cfg);
	parse_ok(&cfg, "[backup]\nexclude = *.o\n    threads = 4\n"
		 "  [retention]\n\tmax_backups = 5\n");
	assert_int_equal(cfg.excludes.len, 1);
	assert_string_equal(cfg.excludes.items[0], "*.o");
	assert_int_equal(cfg.threads, 4);
	assert_int_equal(cfg.max_backups, 5);
	config_release(&cfg);
	check_error("[backup]\nexclude = *.o\n    *.tmp\n",
		    "incbak.ini:3: syntax error: expected '[section]' or "
		    "'key = value'");
}

/* The first problem is reported, whichever part of the parser finds it. */
static void test_first_error_wins(void **state)
{
	(void)state;
	check_error("[backup]\nfoo = 1\nthreads = x\n",
		    "incbak.ini:2: unknown key 'foo' in section [backup]");
	check_error("[backup]\nwords\nthreads = x\n",
		    "incbak.ini:2: syntax error: expected '[section]' or "
		    "'key = value'");
	check_error("[backup]\nthreads = x\nwords\n",
		    "incbak.ini:2: bad value 'x' for 'threads': "
		    "expected an integer from 0 to 256");
	check_error("[backup]\nwords\n[nope]\n",
		    "incbak.ini:2: syntax error: expected '[section]' or "
		    "'key = value'");
}

static void test_failed_parse_keeps_cfg(void **state)
{
	struct config cfg;
	struct error err = { "" };

	(void)state;
	config_init(&cfg);
	parse_ok(&cfg, "[backup]\ndestination = /a\nname = good\n"
		 "exclude = *.o\nthreads = 7\n[retention]\nmax_backups = 4\n");
	assert_int_equal(config_parse_string(&cfg,
		"[backup]\ndestination = /b\nname = bad\nexclude = *.c\n"
		"threads = 8\n[retention]\nmax_backups = 0\n",
		"incbak.ini", BASE, &err), -1);
	assert_string_equal(err.msg, "incbak.ini:7: bad value '0' for "
			    "'max_backups': expected an integer from 1 to 100000");
	assert_string_equal(cfg.destination, "/a");
	assert_string_equal(cfg.name, "good");
	assert_int_equal(cfg.excludes.len, 1);
	assert_string_equal(cfg.excludes.items[0], "*.o");
	assert_int_equal(cfg.threads, 7);
	assert_int_equal(cfg.max_backups, 4);
	config_release(&cfg);
}

/* A successful parse replaces the whole config; it does not layer. */
/* {name} and {hash} in a destination: kept by the parse, filled in for a
 * source by config_expand_destination(); any other '{' is an error. */
static void test_destination_placeholders(void **state)
{
	static const struct {
		const char *value, *want;
	} cases[] = {
		{ "/backups/{name}", "/backups/proj" },
		{ "/backups/{name}-{hash}", "/backups/proj-1a2b3c4d" },
		{ "/b/{hash}/{name}/{name}", "/b/1a2b3c4d/proj/proj" },
		{ "/backups", "/backups" },
		{ "", "" },
		{ "/b/{nam}", NULL },
		{ "/b/{", NULL },
		{ "/b/{{name}", NULL },
		{ "/b/}", "/b/}" },
	};
	struct config cfg;
	const char *why;
	char *got;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		why = NULL;
		got = config_expand_destination(cases[i].value, "proj",
						"1a2b3c4d", &why);
		if (cases[i].want) {
			assert_non_null(got);
			assert_string_equal(got, cases[i].want);
		} else {
			assert_null(got);
			assert_string_equal(why, "'{' starts a placeholder: "
					    "{name} or {hash}");
		}
		free(got);
	}
	config_init(&cfg);
	parse_ok(&cfg, "[backup]\ndestination = bk/{name}-{hash}\n");
	assert_string_equal(cfg.destination, BASE "/bk/{name}-{hash}");
	config_release(&cfg);
	check_error("[backup]\ndestination = /bk/{source}\n",
		    "incbak.ini:2: bad value '/bk/{source}' for 'destination': "
		    "'{' starts a placeholder: {name} or {hash}");
}

static void test_parse_replaces(void **state)
{
	struct config cfg;
	struct error err = { "" };

	(void)state;
	config_init(&cfg);
	parse_ok(&cfg, "[backup]\nname = first\nexclude = *.o\nthreads = 3\n");
	assert_int_equal(config_parse_string(&cfg, "[backup]\nexclude = *.c\n",
					     "incbak.ini", BASE, &err), 0);
	assert_null(cfg.name);
	assert_int_equal(cfg.threads, 0);
	assert_int_equal(cfg.excludes.len, 1);
	assert_string_equal(cfg.excludes.items[0], "*.c");
	config_release(&cfg);
}

static void test_comments(void **state)
{
	struct config cfg;

	(void)state;
	config_init(&cfg);
	parse_ok(&cfg,
		 "; full-line comment\n"
		 "# another\n"
		 "[backup] ; after a header\n"
		 "  ; indented comment\n"
		 "# name = hidden\n"
		 "name = a;b\n"
		 "exclude = *.o ; stripped: ';' after a blank\n"
		 "exclude = #kept\n"
		 "exclude = a # not a comment\n"
		 "threads = 2 ;\n");
	assert_string_equal(cfg.name, "a;b");
	assert_int_equal(cfg.excludes.len, 3);
	assert_string_equal(cfg.excludes.items[0], "*.o");
	assert_string_equal(cfg.excludes.items[1], "#kept");
	assert_string_equal(cfg.excludes.items[2], "a # not a comment");
	assert_int_equal(cfg.threads, 2);
	config_release(&cfg);
}

static void test_syntax_variants(void **state)
{
	struct config cfg;

	(void)state;
	config_init(&cfg);
	parse_ok(&cfg, "\xEF\xBB\xBF[backup]\r\nname: x\r\n"
		 "destination = \"/q\"\r\nexclude = a=b\r\n");
	assert_string_equal(cfg.name, "x");
	assert_string_equal(cfg.destination, BASE "/\"/q\"");
	assert_string_equal(cfg.excludes.items[0], "a=b");
	config_release(&cfg);
	check_error("\xEF\xBB\xBF[foo]\n", "incbak.ini:1: unknown section [foo]");
}

/* A temporary folder holding one file; removed by the teardown. */
struct tmp {
	char dir[PATH_MAX];
	char file[PATH_MAX + 16];
};

static int tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	strcpy(t->dir, "/tmp/test_config.XXXXXX");
	if (!mkdtemp(t->dir)) {
		free(t);
		return -1;
	}
	snprintf(t->file, sizeof(t->file), "%s/incbak.ini", t->dir);
	*state = t;
	return 0;
}

static int tmp_teardown(void **state)
{
	struct tmp *t = *state;

	unlink(t->file);
	rmdir(t->dir);
	free(t);
	return 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void test_load_file(void **state)
{
	static const char text[] = "[backup]\ndestination = bk\nname = n\n";
	struct tmp *t = *state;
	struct config cfg;
	struct error err = { "" };
	char *real = realpath(t->dir, NULL);
	char *want;

	assert_non_null(real);
	want = malloc(strlen(real) + 4);
	assert_non_null(want);
	sprintf(want, "%s/bk", real);
	write_file(t->file, text, sizeof(text) - 1);
	config_init(&cfg);
	assert_int_equal(config_load_file(&cfg, t->file, &err), 0);
	assert_string_equal(cfg.destination, want);
	assert_string_equal(cfg.name, "n");
	config_release(&cfg);
	free(want);
	free(real);
}

/* A relative path to the file resolves against the current directory. */
static void test_load_relative_path(void **state)
{
	static const char text[] = "[backup]\nlog_file = x.log\n";
	struct tmp *t = *state;
	struct config cfg;
	struct error err = { "" };
	char old[PATH_MAX];
	char *real = realpath(t->dir, NULL);
	char want[PATH_MAX + 8];
	int rc;

	assert_non_null(real);
	snprintf(want, sizeof(want), "%s/x.log", real);
	free(real);
	write_file(t->file, text, sizeof(text) - 1);
	assert_non_null(getcwd(old, sizeof(old)));
	assert_int_equal(chdir(t->dir), 0);
	config_init(&cfg);
	rc = config_load_file(&cfg, "incbak.ini", &err);
	assert_int_equal(chdir(old), 0);
	assert_int_equal(rc, 0);
	assert_string_equal(cfg.log_file, want);
	config_release(&cfg);
}

static void test_load_errors_name_the_file(void **state)
{
	static const char good[] = "[backup]\nname = kept\n";
	static const char bad[] = "[backup]\nthreads = 1000\n";
	struct tmp *t = *state;
	struct config cfg;
	struct error err = { "" };
	char want[PATH_MAX * 2];

	write_file(t->file, good, sizeof(good) - 1);
	config_init(&cfg);
	assert_int_equal(config_load_file(&cfg, t->file, &err), 0);
	write_file(t->file, bad, sizeof(bad) - 1);
	assert_int_equal(config_load_file(&cfg, t->file, &err), -1);
	snprintf(want, sizeof(want), "%s:2: bad value '1000' for 'threads': "
		 "expected an integer from 0 to 256", t->file);
	assert_string_equal(err.msg, want);
	assert_string_equal(cfg.name, "kept");
	config_release(&cfg);
}

static void test_load_missing(void **state)
{
	struct tmp *t = *state;
	struct config cfg;
	struct error err = { "" };
	char path[PATH_MAX + 16];
	char want[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/missing.ini", t->dir);
	snprintf(want, sizeof(want),
		 "cannot read '%s': No such file or directory", path);
	config_init(&cfg);
	assert_int_equal(config_load_file(&cfg, path, &err), -1);
	assert_string_equal(err.msg, want);
	assert_defaults(&cfg);
	config_release(&cfg);
}

static void test_load_nul_byte(void **state)
{
	static const char text[] = "[backup]\nname = a\nexclude = b\0c\n";
	struct tmp *t = *state;
	struct config cfg;
	struct error err = { "" };
	char want[PATH_MAX * 2];

	write_file(t->file, text, sizeof(text) - 1);
	snprintf(want, sizeof(want), "%s:3: NUL byte", t->file);
	config_init(&cfg);
	assert_int_equal(config_load_file(&cfg, t->file, &err), -1);
	assert_string_equal(err.msg, want);
	assert_defaults(&cfg);
	config_release(&cfg);
}

static void test_load_too_large(void **state)
{
	struct tmp *t = *state;
	struct config cfg;
	struct error err = { "" };
	char want[PATH_MAX * 2];
	size_t len = 1024 * 1024 + 1;
	char *text = malloc(len);

	assert_non_null(text);
	memset(text, '\n', len);
	write_file(t->file, text, len);
	snprintf(want, sizeof(want), "%s: too large", t->file);
	config_init(&cfg);
	assert_int_equal(config_load_file(&cfg, t->file, &err), -1);
	assert_string_equal(err.msg, want);
	/* One byte less is within the limit. */
	write_file(t->file, text, len - 1);
	assert_int_equal(config_load_file(&cfg, t->file, &err), 0);
	config_release(&cfg);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_text_gives_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_range_limits_accepted),
		cmocka_unit_test(test_repeatables_in_order),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_path_under_root_base),
		cmocka_unit_test(test_tilde),
		cmocka_unit_test(test_bools),
		cmocka_unit_test(test_error_unknown_key),
		cmocka_unit_test(test_error_reserved_sections),
		cmocka_unit_test(test_error_unknown_section),
		cmocka_unit_test(test_error_key_outside_section),
		cmocka_unit_test(test_error_bad_int),
		cmocka_unit_test(test_error_out_of_range),
		cmocka_unit_test(test_error_bad_bool),
		cmocka_unit_test(test_error_duplicate_key),
		cmocka_unit_test(test_error_long_line),
		cmocka_unit_test(test_longest_line_accepted),
		cmocka_unit_test(test_error_empty_path),
		cmocka_unit_test(test_error_bad_names),
		cmocka_unit_test(test_error_bad_list_items),
		cmocka_unit_test(test_error_syntax),
		cmocka_unit_test(test_indented_lines_are_not_continuations),
		cmocka_unit_test(test_first_error_wins),
		cmocka_unit_test(test_failed_parse_keeps_cfg),
		cmocka_unit_test(test_destination_placeholders),
		cmocka_unit_test(test_parse_replaces),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_syntax_variants),
		cmocka_unit_test_setup_teardown(test_load_file, tmp_setup,
						tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_relative_path,
						tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_errors_name_the_file,
						tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_missing, tmp_setup,
						tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_nul_byte, tmp_setup,
						tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_too_large, tmp_setup,
						tmp_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
