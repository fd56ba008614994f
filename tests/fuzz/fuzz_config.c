/* Fuzz target for the INI loader: the input, as an exactly sized C string,
 * is parsed over a config that already holds every key. A failure must
 * leave that config untouched and give a one-line "FILE:..." message; a
 * success must leave every value in its range. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FILE_NAME "fuzz.ini"
#define BASE_DIR "/home/fuzz/proj"

static const char good_config[] =
	"[backup]\n"
	"destination = ../backups\n"
	"name = proj\n"
	"exclude = build/\n"
	"exclude = !keep.log\n"
	"exclude_if_present = .nobackup\n"
	"compression_level = 7\n"
	"threads = 2\n"
	"one_file_system = no\n"
	"log_file = ~/incbak.log\n"
	"ignore_inode = yes\n"
	"ignore_ctime = on\n"
	"verify_after_backup = 1\n"
	"[retention]\n"
	"max_backups = 42\n";

static void fail(const char *what, const char *msg)
{
	fprintf(stderr, "config property failed: %s (%s)\n", what, msg);
	abort();
}

static void parse_good(struct config *cfg)
{
	struct error err = { "" };

	config_init(cfg);
	if (config_parse_string(cfg, good_config, FILE_NAME, BASE_DIR,
				&err) < 0)
		fail("the built-in good config does not parse", err.msg);
}

static bool same_string(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_list(const struct strlist *a, const struct strlist *b)
{
	if (a->len != b->len)
		return false;
	for (size_t i = 0; i < a->len; i++)
		if (strcmp(a->items[i], b->items[i]) != 0)
			return false;
	return true;
}

static bool same_config(const struct config *a, const struct config *b)
{
	return same_string(a->destination, b->destination) &&
	       same_string(a->name, b->name) &&
	       same_string(a->log_file, b->log_file) &&
	       same_list(&a->excludes, &b->excludes) &&
	       same_list(&a->exclude_if_present, &b->exclude_if_present) &&
	       a->compression_level == b->compression_level &&
	       a->threads == b->threads &&
	       a->one_file_system == b->one_file_system &&
	       a->ignore_inode == b->ignore_inode &&
	       a->ignore_ctime == b->ignore_ctime &&
	       a->verify_after_backup == b->verify_after_backup &&
	       a->max_backups == b->max_backups;
}

static void check_ranges(const struct config *cfg)
{
	if (cfg->compression_level < 1 || cfg->compression_level > 19 ||
	    cfg->threads < 0 || cfg->threads > 256 ||
	    cfg->max_backups < 1 || cfg->max_backups > 100000)
		fail("a number out of range was accepted", "");
	if (cfg->name && (!*cfg->name || strchr(cfg->name, '/') ||
			  strlen(cfg->name) > 100))
		fail("a bad name was accepted", cfg->name);
	if (cfg->destination && cfg->destination[0] != '/')
		fail("destination not made absolute", cfg->destination);
	for (size_t i = 0; i < cfg->exclude_if_present.len; i++)
		if (strchr(cfg->exclude_if_present.items[i], '/'))
			fail("exclude_if_present with a '/'",
			     cfg->exclude_if_present.items[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool home_set;
	struct config cfg, want;
	struct error err = { "" };
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	/* "~/" must expand the same way on every machine */
	if (!home_set) {
		setenv("HOME", "/home/fuzz", 1);
		home_set = true;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	parse_good(&cfg);
	parse_good(&want);
	if (config_parse_string(&cfg, text, FILE_NAME, BASE_DIR, &err) < 0) {
		if (!same_config(&cfg, &want))
			fail("a failed parse changed the config", err.msg);
		if (strncmp(err.msg, FILE_NAME ":", strlen(FILE_NAME) + 1) ||
		    strchr(err.msg, '\n'))
			fail("the message is not one 'FILE:...' line", err.msg);
	} else {
		if (err.msg[0])
			fail("a successful parse set a message", err.msg);
		check_ranges(&cfg);
	}
	config_release(&cfg);
	config_release(&want);
	free(text);
	return 0;
}
