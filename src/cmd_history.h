/* What show, diff, log and find share: loading the settings and the
 * history, and printing entries and changes as text or JSON. */
#ifndef INCBAK_CMD_HISTORY_H
#define INCBAK_CMD_HISTORY_H

#include <stdint.h>

#include "cmd.h"

struct history_change;
struct history_diff_stats;
struct jsonout;
struct metadata;
struct tree_entry;

/* Loads s and md's history (no file records: each command reads the
 * manifests it needs). -1 when both loaded, else the exit code, after
 * saying why. */
int cmd_history_open(const struct common_opts *c, struct settings *s,
		     struct metadata *md);

/* Parses the options log and find take (the common ones) and the one
 * operand they need, `what` naming it in the error ("pattern"). -1 with
 * *operand set, else the exit code, after printing help or the error. */
int cmd_history_parse_one(struct common_opts *c, const char *cmd,
			  const char *usage, const char *what, int argc,
			  char **argv, const char **operand);

/* Resolves a backup the user named (id, prefix, "latest"): its index in
 * md->history, or -1 after reporting (the exit code in *code). */
int cmd_history_resolve(const struct common_opts *c,
			const struct metadata *md, const char *query,
			int *code);

/* An entry as a JSON object: path, type, size, mtime, checksum/target. */
struct jsonout *cmd_history_entry_json(const struct tree_entry *e);
/* A change: mark, path, and its old and new entries. */
struct jsonout *cmd_history_change_json(const struct history_change *ch);
/* "M  1.4 KiB  docs/a.txt" (the new size, or the old one if removed). */
void cmd_history_print_change(const struct history_change *ch);
/* The summary: "2 added, 1 removed, 1 modified, 0 type changes;
 * +1.4 MiB, -20 B". */
void cmd_history_print_stats(const struct history_diff_stats *st);
struct jsonout *cmd_history_stats_json(const struct history_diff_stats *st);
/* "2026-12-07 23:57:40 UTC (3h ago)" for a backup id, at now. */
void cmd_history_when(const char *id, int64_t now, char *out, size_t len);

#endif
