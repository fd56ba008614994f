/* Which backups a retention policy keeps, with restic's `forget` semantics:
 * pure, over an array of backups, a policy and the current time. */
#ifndef INCBAK_RETENTION_H
#define INCBAK_RETENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct error;

/* One backup as the policy sees it. Nothing here is owned. */
struct retention_backup {
	const char *id;
	int64_t time;              /* seconds since the epoch */
	const char *const *tags;   /* n_tags labels (`run --tag`) */
	size_t n_tags;
	bool pinned;               /* `incbak pin ID`: never removed */
};

/* The period rules, in the order reasons are written. */
enum retention_period {
	RETENTION_LAST,
	RETENTION_HOURLY,
	RETENTION_DAILY,
	RETENTION_WEEKLY,
	RETENTION_MONTHLY,
	RETENTION_YEARLY,
	RETENTION_PERIODS
};

/* A policy. Counts: 0 = rule off, N > 0, or -1 = every period. Each period
 * rule keeps the newest backup of each of the last N periods (hour, day,
 * ISO week Monday to Sunday, month, year; in local time, as TZ says) that
 * have a backup; keep_last counts backups. As restic does, when fewer than N
 * periods have a backup, the oldest backup is kept too ("daily 3 (oldest)").
 * keep_within keeps every backup younger than that many seconds before the
 * newest one; keep_tags keeps backups carrying any of those tags. Rules are
 * ORed. Always kept, whatever the policy: the newest backup, pinned ones,
 * and ones dated after `now` (a clock gone wrong), which take no part in the
 * rules: they are not "the newest", keep_within does not measure from them
 * and they use up no period.
 *
 * max_backups > 0 caps how many are kept: beyond it the oldest kept backups
 * go, whichever rule kept them, but never the newest, a pinned or a future
 * one (so more than max_backups may remain if those alone exceed it).
 * A policy with no rule and no cap keeps everything (restic does too).
 * Use retention_policy_resolve() to combine the config's max_backups. */
struct retention_policy {
	int keep_last;
	int keep_hourly;
	int keep_daily;
	int keep_weekly;
	int keep_monthly;
	int keep_yearly;
	int64_t keep_within;         /* seconds; 0 = off */
	const char *const *keep_tags; /* n_keep_tags tags; not owned */
	size_t n_keep_tags;
	int max_backups;             /* cap; 0 = none */
};

/* Why a backup is kept (bits of retention_verdict.reasons). */
enum retention_reason {
	RETENTION_BY_FUTURE = 1u << 0,
	RETENTION_BY_NEWEST = 1u << 1,
	RETENTION_BY_PINNED = 1u << 2,
	RETENTION_BY_TAG = 1u << 3,
	RETENTION_BY_WITHIN = 1u << 4,
	RETENTION_BY_NO_POLICY = 1u << 5,
	/* RETENTION_BY_PERIOD(RETENTION_DAILY) and so on */
#define RETENTION_BY_PERIOD(p) (1u << (8 + (p)))
};

/* The decision for one backup. */
struct retention_verdict {
	bool keep;
	unsigned reasons;             /* retention_reason bits that keep it */
	int slot[RETENTION_PERIODS];  /* period rules: 1 = the newest period */
	unsigned oldest;              /* RETENTION_BY_PERIOD bits given to it
					 as the oldest backup */
	size_t tag;                   /* index in keep_tags of the first tag
					 that keeps it */
	bool over_cap;                /* kept by a rule, removed by
					 max_backups */
};

/* Combines the config's [retention] keys into *p: when p has no keep_*
 * rule (keep_tags alone is not a rule of how many to keep), max_backups
 * means keep_last = max_backups and no cap, exactly what incbak did before
 * keep_* existed; when it has one, the keep_* rules decide and max_backups
 * is a cap only if the user wrote it (max_backups_set), so the default of 10
 * never silently cuts keep_daily = 30. */
void retention_policy_resolve(struct retention_policy *p, int max_backups,
			      bool max_backups_set);

/* Decides for each of the n backups (any order; equal times are ordered by
 * id, the greater id being the newer) and writes out[i] for backups[i].
 * Reads local time through localtime_r() (TZ). Returns 0, or -1 with err
 * set for an invalid policy (a count below -1, a negative keep_within, a
 * negative max_backups) or a time localtime_r() cannot convert. */
int retention_apply(const struct retention_backup *backups, size_t n,
		    const struct retention_policy *p, int64_t now,
		    struct retention_verdict *out, struct error *err);

/* The reasons of v as one line, newly allocated: "newest, last 1, daily 1",
 * "pinned", "tag release", "within 2d", "daily 5 (oldest)", "future";
 * "remove" for a backup that goes, "remove (over max_backups; daily 9)" for
 * one the cap removed. */
char *retention_reasons_format(const struct retention_verdict *v,
			       const struct retention_policy *p);

#endif
