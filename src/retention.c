/* Retention: restic's `forget` rules over incbak's backups, as a pure
 * decision (the caller prunes through rotation's carry-forward). */
#include "retention.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "duration.h"
#include "util.h"

static const char *const period_names[RETENTION_PERIODS] = {
	"last", "hourly", "daily", "weekly", "monthly", "yearly",
};

static void policy_counts(const struct retention_policy *p,
			  int counts[RETENTION_PERIODS])
{
	counts[RETENTION_LAST] = p->keep_last;
	counts[RETENTION_HOURLY] = p->keep_hourly;
	counts[RETENTION_DAILY] = p->keep_daily;
	counts[RETENTION_WEEKLY] = p->keep_weekly;
	counts[RETENTION_MONTHLY] = p->keep_monthly;
	counts[RETENTION_YEARLY] = p->keep_yearly;
}

static bool has_count_rule(const struct retention_policy *p)
{
	int counts[RETENTION_PERIODS];
	int i;

	policy_counts(p, counts);
	for (i = 0; i < RETENTION_PERIODS; i++)
		if (counts[i] != 0)
			return true;
	return p->keep_within > 0;
}

void retention_policy_resolve(struct retention_policy *p, int max_backups,
			      bool max_backups_set)
{
	if (!has_count_rule(p)) {
		p->keep_last = max_backups;
		p->max_backups = 0;
	} else {
		p->max_backups = max_backups_set ? max_backups : 0;
	}
}

static int check_policy(const struct retention_policy *p, struct error *err)
{
	int counts[RETENTION_PERIODS];
	int i;

	policy_counts(p, counts);
	for (i = 0; i < RETENTION_PERIODS; i++)
		if (counts[i] < -1)
			return error_set(err, "keep_%s must be -1 (all), 0 "
					 "(off) or a positive count, not %d",
					 period_names[i], counts[i]);
	if (p->keep_within < 0)
		return error_set(err, "keep_within must not be negative");
	if (p->max_backups < 0)
		return error_set(err, "max_backups must not be negative");
	return 0;
}

/* ISO 8601 weeks: Monday to Sunday, week 1 holds the year's first
 * Thursday, so a year has 53 weeks when it starts on a Thursday, or on a
 * Wednesday in a leap year. */
static int iso_weeks_in_year(int year)
{
	int p = (year + year / 4 - year / 100 + year / 400) % 7;
	int q = ((year - 1) + (year - 1) / 4 - (year - 1) / 100 +
		 (year - 1) / 400) % 7;

	return p == 4 || q == 3 ? 53 : 52;
}

static int iso_week_key(const struct tm *tm)
{
	int year = tm->tm_year + 1900;
	int weekday = tm->tm_wday == 0 ? 7 : tm->tm_wday; /* Monday = 1 */
	int week = (tm->tm_yday + 1 - weekday + 10) / 7;

	if (week < 1) {
		year--;
		week = iso_weeks_in_year(year);
	} else if (week > iso_weeks_in_year(year)) {
		year++;
		week = 1;
	}
	return year * 100 + week;
}

/* The period a local time falls in, as a number equal for equal periods;
 * keep_last's period is the backup itself. */
static long period_key(int period, const struct tm *tm, size_t rank)
{
	long y = tm->tm_year + 1900L, m = tm->tm_mon + 1L;

	switch (period) {
	case RETENTION_HOURLY:
		return ((y * 100 + m) * 100 + tm->tm_mday) * 100 + tm->tm_hour;
	case RETENTION_DAILY:
		return (y * 100 + m) * 100 + tm->tm_mday;
	case RETENTION_WEEKLY:
		return iso_week_key(tm);
	case RETENTION_MONTHLY:
		return y * 100 + m;
	case RETENTION_YEARLY:
		return y;
	default:
		return (long)rank;
	}
}

struct ranked {
	const struct retention_backup *b;
	size_t index;
};

/* Newest first; equal times by id, the greater id first. */
static int newest_first(const void *pa, const void *pb)
{
	const struct ranked *a = pa, *b = pb;
	int c;

	if (a->b->time != b->b->time)
		return a->b->time > b->b->time ? -1 : 1;
	c = strcmp(a->b->id, b->b->id);
	if (c != 0)
		return -c;
	return a->index < b->index ? -1 : a->index > b->index;
}

static bool has_kept_tag(const struct retention_backup *b,
			 const struct retention_policy *p, size_t *which)
{
	size_t i, j;

	for (i = 0; i < p->n_keep_tags; i++)
		for (j = 0; j < b->n_tags; j++)
			if (strcmp(p->keep_tags[i], b->tags[j]) == 0) {
				*which = i;
				return true;
			}
	return false;
}

/* State of the period rules while walking from the newest backup down. */
struct buckets {
	int left[RETENTION_PERIODS];    /* periods still to keep; -1: all */
	int used[RETENTION_PERIODS];    /* periods kept so far */
	long last[RETENTION_PERIODS];   /* the period last kept */
	bool started[RETENTION_PERIODS];
};

/* Applies the period rules to one backup (rank in the newest-first walk,
 * `oldest` if it is the last one). */
static void apply_periods(struct buckets *bk, const struct tm *tm,
			  size_t rank, bool oldest,
			  struct retention_verdict *v)
{
	int i;

	for (i = 0; i < RETENTION_PERIODS; i++) {
		long key;
		bool fresh;

		if (bk->left[i] == 0)
			continue;
		key = period_key(i, tm, rank);
		fresh = !bk->started[i] || key != bk->last[i];
		if (!fresh && !oldest)
			continue;
		bk->started[i] = true;
		bk->last[i] = key;
		if (bk->left[i] > 0)
			bk->left[i]--;
		v->reasons |= RETENTION_BY_PERIOD(i);
		v->slot[i] = ++bk->used[i];
		if (!fresh)
			v->oldest |= RETENTION_BY_PERIOD(i);
	}
}

/* The rules for the backups that are not in the future, newest first. */
static int apply_rules(const struct ranked *r, size_t n,
		       const struct retention_policy *p,
		       struct retention_verdict *out, struct error *err)
{
	struct buckets bk;
	size_t i;

	memset(&bk, 0, sizeof(bk));
	policy_counts(p, bk.left);
	for (i = 0; i < n; i++) {
		const struct retention_backup *b = r[i].b;
		struct retention_verdict *v = &out[r[i].index];
		time_t t = (time_t)b->time;
		struct tm tm;

		if (!localtime_r(&t, &tm))
			return error_set(err, "backup '%s': cannot convert "
					 "its time to local time", b->id);
		if (i == 0)
			v->reasons |= RETENTION_BY_NEWEST;
		if (has_kept_tag(b, p, &v->tag))
			v->reasons |= RETENTION_BY_TAG;
		if (p->keep_within > 0 &&
		    b->time > r[0].b->time - p->keep_within)
			v->reasons |= RETENTION_BY_WITHIN;
		apply_periods(&bk, &tm, i, i == n - 1, v);
	}
	return 0;
}

/* Removes the oldest kept backups beyond p->max_backups that nothing
 * protects. r is newest first. */
static void apply_cap(const struct ranked *r, size_t n,
		      const struct retention_policy *p,
		      struct retention_verdict *out)
{
	const unsigned protect = RETENTION_BY_FUTURE | RETENTION_BY_NEWEST |
				 RETENTION_BY_PINNED;
	size_t kept = 0, i;

	for (i = 0; i < n; i++)
		kept += out[r[i].index].keep;
	for (i = n; i-- > 0 && kept > (size_t)p->max_backups;) {
		struct retention_verdict *v = &out[r[i].index];

		if (!v->keep || (v->reasons & protect))
			continue;
		v->keep = false;
		v->over_cap = true;
		kept--;
	}
}

int retention_apply(const struct retention_backup *backups, size_t n,
		    const struct retention_policy *p, int64_t now,
		    struct retention_verdict *out, struct error *err)
{
	struct ranked *r = NULL;
	size_t i, past = 0;
	bool no_policy = !has_count_rule(p) && p->n_keep_tags == 0 &&
			 p->max_backups == 0;
	int ret = -1;

	if (check_policy(p, err) < 0)
		goto out;
	r = xcalloc(n ? n : 1, sizeof(*r));
	for (i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		r[i].b = &backups[i];
		r[i].index = i;
		if (backups[i].pinned)
			out[i].reasons |= RETENTION_BY_PINNED;
		if (no_policy)
			out[i].reasons |= RETENTION_BY_NO_POLICY;
	}
	qsort(r, n, sizeof(*r), newest_first);
	/* The future ones sort first: keep them and leave them out. */
	while (past < n && r[past].b->time > now)
		out[r[past++].index].reasons |= RETENTION_BY_FUTURE;
	if (apply_rules(r + past, n - past, p, out, err) < 0)
		goto out;
	for (i = 0; i < n; i++)
		out[i].keep = out[i].reasons != 0;
	if (p->max_backups > 0)
		apply_cap(r, n, p, out);
	ret = 0;
out:
	free(r);
	return ret;
}

/* The separator before the next reason. */
static const char *sep(const struct buf *b)
{
	return b->len ? ", " : "";
}

static void append_rules(struct buf *b, const struct retention_verdict *v,
			 const struct retention_policy *p)
{
	static const struct {
		unsigned bit;
		const char *name;
	} fixed[] = {
		{ RETENTION_BY_FUTURE, "future" },
		{ RETENTION_BY_NEWEST, "newest" },
		{ RETENTION_BY_PINNED, "pinned" },
		{ RETENTION_BY_NO_POLICY, "no policy" },
	};
	char within[DURATION_TEXT_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fixed); i++)
		if (v->reasons & fixed[i].bit)
			buf_printf(b, "%s%s", sep(b), fixed[i].name);
	if (v->reasons & RETENTION_BY_TAG)
		buf_printf(b, "%stag %s", sep(b), p->keep_tags[v->tag]);
	if (v->reasons & RETENTION_BY_WITHIN)
		buf_printf(b, "%swithin %s", sep(b),
			   duration_format(p->keep_within, within,
					   sizeof(within)));
	for (i = 0; i < RETENTION_PERIODS; i++)
		if (v->reasons & RETENTION_BY_PERIOD(i))
			buf_printf(b, "%s%s %d%s", sep(b), period_names[i],
				   v->slot[i],
				   v->oldest & RETENTION_BY_PERIOD(i) ?
				   " (oldest)" : "");
}

char *retention_reasons_format(const struct retention_verdict *v,
			       const struct retention_policy *p)
{
	struct buf b = { NULL, 0, 0 };
	char *s;

	if (v->keep) {
		append_rules(&b, v, p);
		return b.data ? b.data : xstrdup("keep");
	}
	if (!v->over_cap)
		return xstrdup("remove");
	append_rules(&b, v, p);
	s = str_fmt("remove (over max_backups; %s)", b.data);
	free(b.data);
	return s;
}
