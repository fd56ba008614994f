/* Settings from the INI file: the table of keys, the checks on their values,
 * and the glue that feeds inih one line at a time so that every message can
 * name its line. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

/*
 * How Debian's libinih (55) behaves, checked on this machine, and what we do
 * about it. We parse with ini_parse_stream() and our own reader rather than
 * ini_parse_string(), because the reader sees every raw line:
 * - Lines pass through a buffer of INI_MAX_LINE (200) bytes. A longer line is
 *   cut and its rest read as a new line: values are silently truncated and
 *   later line numbers drift. The reader refuses any line over MAX_LINE
 *   bytes before inih sees it.
 * - ini.h says INI_HANDLER_LINENO is 0 (the library happens to pass a line
 *   number anyway, which the ABI lets us ignore). We count lines in the
 *   reader instead: inih reads a line and handles it before reading the
 *   next, so the reader's count is the line the handler is looking at.
 * - Multi-line values are on: an indented line after a key continues it, so
 *   an indented "threads = 4" under an exclude would become a pattern. The
 *   reader drops leading blanks, which makes indented lines ordinary lines
 *   (and a bare indented word a syntax error).
 * - The handler is not called for "[section]" lines, so the reader checks
 *   section names itself: an unknown section is an error even when empty.
 * - Comments: lines whose first non-blank is ';' or '#'. Inline, only a ';'
 *   after a blank starts a comment: "a ; b" gives "a", while "a;b" and
 *   "a # b" are kept whole. Values lose surrounding blanks, keep quotes, and
 *   "key: value" works like "key = value".
 */
#define MAX_LINE (INI_MAX_LINE - 1)	/* the reader drops the newline */
#define MAX_FILE_SIZE (1024 * 1024)
#define MAX_NAME 100
#define UTF8_BOM "\xEF\xBB\xBF"

enum value_kind {
	VAL_PATH,		/* char *, resolved against base_dir and $HOME */
	VAL_NAME,		/* char *, the backup's name */
	VAL_PATTERN,		/* struct strlist, gitignore patterns as given */
	VAL_FILE_NAME,		/* struct strlist, plain file names */
	VAL_INT,		/* int in [min, max] */
	VAL_BOOL,		/* bool */
};

struct key_spec {
	const char *section;
	const char *key;
	enum value_kind kind;
	size_t offset;		/* of the field in struct config */
	int min, max;		/* VAL_INT only */
};

#define FIELD(f) offsetof(struct config, f)

static const struct key_spec keys[] = {
	{ "backup", "destination", VAL_PATH, FIELD(destination), 0, 0 },
	{ "backup", "name", VAL_NAME, FIELD(name), 0, 0 },
	{ "backup", "exclude", VAL_PATTERN, FIELD(excludes), 0, 0 },
	{ "backup", "exclude_if_present", VAL_FILE_NAME,
	  FIELD(exclude_if_present), 0, 0 },
	{ "backup", "compression_level", VAL_INT, FIELD(compression_level),
	  1, 19 },
	{ "backup", "threads", VAL_INT, FIELD(threads), 0, 256 },
	{ "backup", "one_file_system", VAL_BOOL, FIELD(one_file_system), 0, 0 },
	{ "backup", "log_file", VAL_PATH, FIELD(log_file), 0, 0 },
	{ "backup", "ignore_inode", VAL_BOOL, FIELD(ignore_inode), 0, 0 },
	{ "backup", "ignore_ctime", VAL_BOOL, FIELD(ignore_ctime), 0, 0 },
	{ "backup", "verify_after_backup", VAL_BOOL,
	  FIELD(verify_after_backup), 0, 0 },
	{ "backup", "xattrs", VAL_BOOL, FIELD(xattrs), 0, 0 },
	{ "backup", "acls", VAL_BOOL, FIELD(acls), 0, 0 },
	{ "retention", "max_backups", VAL_INT, FIELD(max_backups), 1, 100000 },
};

/* [schedule] and [hooks] are reserved for later work: they exist so that a
 * key in them reads "unknown key", not "unknown section". */
static const char *const sections[] = {
	"backup", "retention", "schedule", "hooks",
};

struct parse_state {
	struct config cfg;	/* built here, moved out only on success */
	const char *filename;
	const char *base_dir;
	const char *next;	/* the reader's place in the text */
	int line;		/* the line inih is handling */
	int err_line;		/* line of the first error we found, or 0 */
	int first_line[ARRAY_SIZE(keys)]; /* where each key was set, or 0 */
	struct error *err;
};

void config_init(struct config *cfg)
{
	*cfg = (struct config){
		.compression_level = 3,
		.threads = 0,
		.one_file_system = true,
		.xattrs = true,
		.acls = true,
		.max_backups = 10,
	};
}

void config_release(struct config *cfg)
{
	if (!cfg)
		return;
	free(cfg->destination);
	free(cfg->name);
	free(cfg->log_file);
	strlist_clear(&cfg->excludes);
	strlist_clear(&cfg->exclude_if_present);
	config_init(cfg);
}

int config_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* Keeps the first error only: later ones are often its echoes. */
static int record_error(struct parse_state *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int record_error(struct parse_state *st, const char *fmt, ...)
{
	va_list ap;
	char *reason;

	if (st->err_line)
		return -1;
	va_start(ap, fmt);
	reason = str_vfmt(fmt, ap);
	va_end(ap);
	error_set(st->err, "%s:%d: %s", st->filename, st->line, reason);
	free(reason);
	st->err_line = st->line;
	return -1;
}

static int bad_value(struct parse_state *st, const struct key_spec *spec,
		     const char *value, const char *expected)
{
	return record_error(st, "bad value '%s' for '%s': %s", value,
			    spec->key, expected);
}

static bool section_known(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
		if (strcmp(name, sections[i]) == 0)
			return true;
	return false;
}

static const struct key_spec *find_key(const char *section, const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (strcmp(section, keys[i].section) == 0 &&
		    strcmp(key, keys[i].key) == 0)
			return &keys[i];
	return NULL;
}

/* Takes the section name where inih does (up to the first ']'); a line
 * without one is left to inih, which calls it a syntax error. */
static void check_section(struct parse_state *st, const char *line)
{
	const char *end = strchr(line + 1, ']');
	char *name;

	if (!end)
		return;
	name = xstrndup(line + 1, (size_t)(end - line - 1));
	if (!section_known(name))
		record_error(st, "unknown section [%s]", name);
	free(name);
}

/* inih's fgets-style reader: hands over one line at a time, without its
 * newline and leading blanks (see the top of the file), and ends the input
 * at the first error so that nothing after it is applied. */
static char *read_line(char *buf, int size, void *stream)
{
	struct parse_state *st = stream;
	const char *line = st->next;
	const char *end = line + strcspn(line, "\n");
	const char *start = line;
	size_t len;

	if (!*line || st->err_line)
		return NULL;
	st->line++;
	st->next = *end ? end + 1 : end;
	/* The size test only matters if inih's buffer ever shrinks. */
	if (end - line > MAX_LINE || end - line >= size) {
		record_error(st, "line longer than %d bytes", MAX_LINE);
		return NULL;
	}
	while (start < end && isspace((unsigned char)*start))
		start++;
	len = (size_t)(end - start);
	memcpy(buf, start, len);
	buf[len] = '\0';
	if (buf[0] == '[')
		check_section(st, buf);
	return buf;
}

/* "~" and "~/..." start at $HOME; other relative paths at the folder that
 * holds the file, so a config works whatever the current directory. Returns
 * NULL and sets *why when the path cannot be used. */
static char *resolve_path(const char *value, const char *base_dir,
			  const char **why)
{
	const char *home = getenv("HOME");

	if (!*value) {
		*why = "expected a non-empty path";
		return NULL;
	}
	if (value[0] == '~') {
		if (value[1] && value[1] != '/') {
			*why = "expected a path ('~user' is not expanded)";
			return NULL;
		}
		if (!home || !*home) {
			*why = "cannot expand '~': HOME is not set";
			return NULL;
		}
		return str_fmt("%s%s", home, value + 1);
	}
	if (value[0] == '/' || !base_dir || !*base_dir)
		return xstrdup(value);
	/* No canonicalising: "../bk" stays visible in messages as written. */
	return str_fmt("%s%s%s", base_dir,
		       base_dir[strlen(base_dir) - 1] == '/' ? "" : "/", value);
}

/* A name that can stand alone in a folder: not empty, no '/', not "." or
 * "..". NUL bytes cannot get this far (config_load_file refuses them). */
static bool plain_file_name(const char *s)
{
	return *s && !strchr(s, '/') && strcmp(s, ".") != 0 &&
	       strcmp(s, "..") != 0;
}

char *config_expand_destination(const char *value, const char *name,
				const char *hash, const char **why)
{
	static const struct { const char *word; size_t len; } words[] = {
		{ "{name}", 6 }, { "{hash}", 6 },
	};
	struct buf out = {0};

	for (const char *p = value; *p; p++) {
		size_t i;

		if (*p != '{') {
			buf_append(&out, p, 1);
			continue;
		}
		for (i = 0; i < ARRAY_SIZE(words); i++)
			if (!strncmp(p, words[i].word, words[i].len))
				break;
		if (i == ARRAY_SIZE(words)) {
			buf_release(&out);
			*why = "'{' starts a placeholder: {name} or {hash}";
			return NULL;
		}
		buf_puts(&out, i == 0 ? name : hash);
		p += words[i].len - 1;
	}
	return out.data ? out.data : xstrdup("");
}

static int set_path(struct parse_state *st, const struct key_spec *spec,
		    char **field, const char *value)
{
	const char *why = NULL;
	char *path = NULL;

	/* Placeholders are expanded once the source is known (settings);
	 * here they are only checked. */
	if (spec->offset == FIELD(destination)) {
		char *check = config_expand_destination(value, "n", "h", &why);

		if (!check)
			return bad_value(st, spec, value, why);
		free(check);
	}
	path = resolve_path(value, st->base_dir, &why);
	if (!path)
		return bad_value(st, spec, value, why);
	free(*field);
	*field = path;
	return 0;
}

static int set_string(struct parse_state *st, const struct key_spec *spec,
		      char **field, const char *value)
{
	if (!plain_file_name(value) || strlen(value) > MAX_NAME)
		return bad_value(st, spec, value,
				 "expected 1 to 100 bytes without '/', "
				 "not '.' or '..'");
	free(*field);
	*field = xstrdup(value);
	return 0;
}

static int add_to_list(struct parse_state *st, const struct key_spec *spec,
		       struct strlist *field, const char *value)
{
	if (spec->kind == VAL_PATTERN && !*value)
		return bad_value(st, spec, value, "expected a non-empty pattern");
	if (spec->kind == VAL_FILE_NAME && !plain_file_name(value))
		return bad_value(st, spec, value,
				 "expected a file name without '/', "
				 "not '.' or '..'");
	strlist_push(field, value);
	return 0;
}

static int set_int(struct parse_state *st, const struct key_spec *spec,
		   int *field, const char *value)
{
	int64_t v;

	if (parse_int64(value, spec->min, spec->max, &v) < 0)
		return record_error(st, "bad value '%s' for '%s': expected an "
				    "integer from %d to %d", value, spec->key,
				    spec->min, spec->max);
	*field = (int)v;
	return 0;
}

static int set_bool(struct parse_state *st, const struct key_spec *spec,
		    bool *field, const char *value)
{
	if (config_parse_bool(value, field) < 0)
		return bad_value(st, spec, value,
				 "expected true/false, yes/no, on/off or 1/0");
	return 0;
}

static int apply_value(struct parse_state *st, const struct key_spec *spec,
		       const char *value)
{
	void *field = (char *)&st->cfg + spec->offset;

	switch (spec->kind) {
	case VAL_PATH:
		return set_path(st, spec, field, value);
	case VAL_NAME:
		return set_string(st, spec, field, value);
	case VAL_PATTERN:
	case VAL_FILE_NAME:
		return add_to_list(st, spec, field, value);
	case VAL_INT:
		return set_int(st, spec, field, value);
	case VAL_BOOL:
		return set_bool(st, spec, field, value);
	}
	return record_error(st, "internal error: key '%s' has no kind",
			    spec->key);
}

static int set_key(struct parse_state *st, const char *section,
		   const char *key, const char *value)
{
	const struct key_spec *spec;
	size_t i;

	if (!*section)
		return record_error(st, "key '%s' outside any section", key);
	/* Unreachable while check_section() sees every header; kept so that
	 * a change in inih cannot turn this into "unknown key". */
	if (!section_known(section))
		return record_error(st, "unknown section [%s]", section);
	spec = find_key(section, key);
	if (!spec)
		return record_error(st, "unknown key '%s' in section [%s]",
				    key, section);
	i = (size_t)(spec - keys);
	if (spec->kind != VAL_PATTERN && spec->kind != VAL_FILE_NAME &&
	    st->first_line[i])
		return record_error(st, "'%s' given twice (first on line %d)",
				    key, st->first_line[i]);
	st->first_line[i] = st->line;
	return apply_value(st, spec, value);
}

/* inih's handler: returning 0 makes inih note an error, which we have
 * already recorded with its reason. */
static int on_key(void *user, const char *section, const char *key,
		  const char *value)
{
	struct parse_state *st = user;

	if (st->err_line)
		return 0;
	return set_key(st, section, key, value) == 0;
}

int config_parse_string(struct config *cfg, const char *text,
			const char *filename, const char *base_dir,
			struct error *err)
{
	struct parse_state st = {
		.filename = filename,
		.base_dir = base_dir,
		.err = err,
	};
	int ret;

	config_init(&st.cfg);
	/* Skipped here, not by inih, so that check_section() sees line 1. */
	st.next = str_starts(text, UTF8_BOM) ? text + 3 : text;
	ret = ini_parse_stream(read_line, &st, on_key, &st);
	/* inih returns the first line it disliked: ours, or an earlier line
	 * that is not "[section]", "key = value" or a comment. */
	if (ret > 0 && (!st.err_line || ret < st.err_line))
		error_set(err, "%s:%d: syntax error: expected '[section]' or "
			  "'key = value'", filename, ret);
	else if (ret < 0 && !st.err_line)
		error_set(err, "%s: cannot parse (inih error %d)", filename,
			  ret);
	if (ret != 0 || st.err_line) {
		config_release(&st.cfg);
		return -1;
	}
	config_release(cfg);
	*cfg = st.cfg;
	return 0;
}

/* Reads the whole file, NUL-terminated. The cap keeps a wrong path (a disk
 * image, /dev/zero) from filling memory. */
/* A config decides where incbak writes (log_file, destination) and, to
 * come, what it runs: it must be the word of the user running incbak or
 * root, not of whoever else could write a file into the source tree (as
 * OpenSSH's StrictModes and git's safe.directory decide). */
static int check_owner(const struct stat *st, const char *path,
		       struct error *err)
{
	uid_t me = geteuid();

	if (st->st_uid != me && st->st_uid != 0)
		return error_set(err, "config file '%s' is owned by uid %u, "
				 "not by you (uid %u) or root: its settings "
				 "are not taken; pass --config with a file "
				 "you own, or run incbak as its owner", path,
				 (unsigned)st->st_uid, (unsigned)me);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return error_set(err, "config file '%s' can be written by "
				 "others (mode %04o): its settings are not "
				 "taken; run 'chmod go-w' on it, or pass "
				 "--config with a file only you can write",
				 path, (unsigned)(st->st_mode & 07777));
	return 0;
}

static char *read_file(const char *path, size_t *len, struct error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	char *text = NULL;
	ssize_t n = 0, got;
	bool ok = false;

	if (fd < 0 || fstat(fd, &st) < 0) {
		error_set(err, "cannot read '%s': %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		error_set(err, "cannot read '%s': not a file", path);
		goto out;
	}
	if (check_owner(&st, path, err) < 0)
		goto out;
	text = xmalloc(MAX_FILE_SIZE + 2);
	while (n <= (ssize_t)MAX_FILE_SIZE &&
	       (got = read(fd, text + n, MAX_FILE_SIZE + 1 - (size_t)n)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			error_set(err, "cannot read '%s': %s", path,
				  strerror(errno));
			goto out;
		}
		n += got;
	}
	if (n > (ssize_t)MAX_FILE_SIZE) {
		error_set(err, "%s: too large", path);
		goto out;
	}
	text[n] = '\0';
	*len = (size_t)n;
	ok = true;
out:
	if (fd >= 0)
		close(fd);
	if (!ok) {
		free(text);
		text = NULL;
	}
	return text;
}

/* inih would stop at a NUL as if the file ended there. */
static int check_no_nul(const char *text, size_t len, const char *path,
			struct error *err)
{
	const char *nul = memchr(text, '\0', len);
	int line = 1;

	if (!nul)
		return 0;
	for (const char *p = text; p < nul; p++)
		line += *p == '\n';
	return error_set(err, "%s:%d: NUL byte", path, line);
}

/* The absolute folder holding path. Only the folder goes through realpath:
 * relative paths in a symlinked config are meant from where the link is. */
static char *folder_of(const char *path, struct error *err)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	char *abs;

	if (!slash)
		dir = xstrdup(".");
	else if (slash == path)
		dir = xstrdup("/");
	else
		dir = xstrndup(path, (size_t)(slash - path));
	abs = realpath(dir, NULL);
	if (!abs)
		error_set(err, "cannot resolve the folder of '%s': %s", path,
			  strerror(errno));
	free(dir);
	return abs;
}

int config_load_file(struct config *cfg, const char *path, struct error *err)
{
	char *text = NULL;
	char *dir = NULL;
	size_t len = 0;
	int ret = -1;

	text = read_file(path, &len, err);
	if (!text || check_no_nul(text, len, path, err) < 0)
		goto out;
	dir = folder_of(path, err);
	if (!dir)
		goto out;
	ret = config_parse_string(cfg, text, path, dir, err);
out:
	free(dir);
	free(text);
	return ret;
}

bool config_is_trusted(const struct config *cfg)
{
	return cfg->allowed;
}
