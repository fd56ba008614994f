/* Settings from the INI file: defaults, parsing, validation. Knows nothing of
 * the command line; flags are applied over this by the commands. */
#ifndef INCBAK_CONFIG_H
#define INCBAK_CONFIG_H

#include <stdbool.h>

#include "util.h"

struct config {
	/* [backup] */
	char *destination;          /* as resolved: absolute if the file gave a
				       relative one; NULL if unset. May hold
				       {name} and {hash}: see
				       config_expand_destination() */
	char *name;                 /* NULL: the source's basename */
	struct strlist excludes;    /* `exclude =` lines, in order */
	struct strlist exclude_if_present; /* `exclude_if_present =` lines */
	int compression_level;      /* 1..19, default 3 */
	int threads;                /* 0 = number of cores (default), 1..256 */
	bool one_file_system;       /* default true */
	char *log_file;             /* NULL: <dest>/backup_operations.log;
				       relative values resolved like destination */
	bool ignore_inode;          /* default false */
	bool ignore_ctime;          /* default false */
	bool verify_after_backup;   /* default false */
	bool xattrs;                /* extended attributes; default true */
	bool acls;                  /* POSIX ACLs; default true */
	/* [retention] */
	int max_backups;            /* 1..100000, default 10 */
	/* Not a key: whether the user allowed this config to run commands
	 * (see config_is_trusted). Always false for now. */
	bool allowed;
};

/* Fills cfg with the built-in defaults. */
void config_init(struct config *cfg);

/* Frees what cfg owns and resets it to the defaults. Accepts NULL. */
void config_release(struct config *cfg);

/* Parses INI text. `filename` is used in messages; `base_dir` (absolute, the
 * folder that holds the file) resolves relative `destination` and `log_file`.
 * On error returns -1, leaves cfg as it was before the call (nothing partly
 * applied), and sets err to one line: "FILE:LINE: REASON", e.g.
 *   "incbak.ini:3: unknown key 'destinaton' in section [backup]". */
int config_parse_string(struct config *cfg, const char *text,
			const char *filename, const char *base_dir,
			struct error *err);

/* Reads and parses a file (see config_parse_string). A missing or unreadable
 * file is an error naming it and the reason; so is a file owned by anyone
 * but the user running incbak or root, or that group or others can write:
 * the message says how to proceed. */
int config_load_file(struct config *cfg, const char *path, struct error *err);

/* Whether commands a config names (the hooks to come) may run. Reading a
 * config is already limited to files owned by the user or root that no
 * one else can write (config_load_file refuses others); running commands
 * from one will need more: that the user allowed this very file, as
 * direnv's `allow` does (its path and checksum recorded in the user's own
 * state, outside any source tree), so a cloned tree's incbak.ini never
 * runs anything. That rule goes here and sets cfg->allowed; until it
 * exists no config is trusted, and nothing calls for it. */
bool config_is_trusted(const struct config *cfg);

/* A destination with its placeholders replaced: {name} by name (the
 * backup's name: `name`, else the source folder's), {hash} by hash (8 hex
 * digits of the source path's SHA-256, as in the default destination), so
 * that one user-wide `destination = /backups/{name}` gives each source a
 * folder of its own. Any other '{' is an error: NULL, with *why saying
 * so. Newly allocated. */
char *config_expand_destination(const char *value, const char *name,
				const char *hash, const char **why);

/* Parses a boolean the way the config does (true/false, yes/no, on/off, 1/0,
 * case-insensitive); returns 0 and sets *out, or -1. */
int config_parse_bool(const char *s, bool *out);

#endif
