/* Unit tests for retention.c in the style of restic's snapshot_policy_test:
 * a fixed list of backups (hours, days, both DST changes in Europe/Berlin,
 * year ends, the ISO week 53 of 2020, dates after `now`), about thirty
 * policies, and a golden file per policy under golden/retention/ listing
 * each backup's fate and reasons. UPDATE_GOLDEN=1 rewrites the files (then
 * read the diff). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "retention.h"
#include "util.h"

#define MAX_BACKUPS 128
#define NO_TAG NULL

/* A run of `count` backups from `start` (UTC), `step` seconds apart. */
struct series {
	const char *start;
	int64_t step;
	int count;
	const char *tag;
	bool pinned;
};

#define MIN 60
#define HOUR 3600
#define DAY 86400

/* Berlin is UTC+1 in winter and UTC+2 in summer: the comments give local
 * time. */
static const struct series series[] = {
	/* the oldest two on one day: restic keeps the older as well while a
	 * rule has periods left ("(oldest)") */
	{ "2016-02-29T08:00:00Z", 4 * HOUR, 2, NO_TAG, false },
	{ "2017-03-01T12:00:00Z", 0, 1, NO_TAG, true },
	{ "2018-06-15T10:00:00Z", 0, 1, NO_TAG, false },
	/* 2019-01-01 00:30 local: a new year in Berlin, not yet in UTC */
	{ "2018-12-31T23:30:00Z", 0, 1, NO_TAG, false },
	{ "2019-03-15T12:00:00Z", 0, 1, NO_TAG, false },
	{ "2019-06-01T08:00:00Z", 0, 1, "release", false },
	/* 23:59 on 30 September, then 00:01 on 1 October, local */
	{ "2019-09-30T21:59:00Z", 2 * MIN, 2, NO_TAG, false },
	/* Sun 29 Dec (2019-W52), Mon 30 Dec (2020-W01) */
	{ "2019-12-29T12:00:00Z", DAY, 2, NO_TAG, false },
	/* 23:59 on 31 Dec 2019 (2020-W01), 00:01 on 1 Jan 2020 */
	{ "2019-12-31T22:59:00Z", 2 * MIN, 2, NO_TAG, false },
	{ "2020-01-15T10:00:00Z", 0, 1, NO_TAG, false },
	{ "2020-02-15T10:00:00Z", 0, 1, NO_TAG, false },
	{ "2020-02-29T10:00:00Z", 0, 1, "release", false },
	/* spring forward, 29 Mar 2020: 23:30 CET on the 28th, 01:30 CET,
	 * 03:00 CEST, 03:30 CEST; then 00:30 CEST on Monday the 30th */
	{ "2020-03-28T22:30:00Z", 0, 1, NO_TAG, false },
	{ "2020-03-29T00:30:00Z", 30 * MIN, 3, NO_TAG, false },
	{ "2020-03-29T22:30:00Z", 0, 1, NO_TAG, false },
	{ "2020-04-15T10:00:00Z", 0, 1, NO_TAG, false },
	/* Fridays from 1 May to 3 July */
	{ "2020-05-01T10:00:00Z", 7 * DAY, 10, NO_TAG, false },
	/* every 25 minutes on a Sunday morning */
	{ "2020-06-21T08:00:00Z", 25 * MIN, 6, NO_TAG, false },
	/* two backups at the same second */
	{ "2020-07-04T12:00:00Z", 0, 2, NO_TAG, false },
	{ "2020-08-15T10:00:00Z", 0, 1, "pre-upgrade", true },
	{ "2020-09-15T10:00:00Z", 0, 1, NO_TAG, false },
	/* fall back, 25 Oct 2020: 01:45 CEST, 02:15 CEST, 02:45 CEST,
	 * 02:15 CET, 02:45 CET, 03:15 CET */
	{ "2020-10-24T23:45:00Z", 30 * MIN, 6, NO_TAG, false },
	/* 01:30 on 1 Nov; 00:30 on 1 Dec local (still 30 Nov in UTC) */
	{ "2020-11-01T00:30:00Z", 0, 1, NO_TAG, false },
	{ "2020-11-30T23:30:00Z", 0, 1, NO_TAG, false },
	/* Sun 27 Dec (W52), then Mon 28 Dec 2020 to Mon 4 Jan 2021: 2020 has
	 * an ISO week 53, ending on Sun 3 Jan 2021 */
	{ "2020-12-27T11:00:00Z", DAY, 9, NO_TAG, false },
	/* 23:30 on 31 Dec 2020, 00:30 on 1 Jan 2021 local */
	{ "2020-12-31T22:30:00Z", HOUR, 2, NO_TAG, false },
	/* three an hour, 07:00 to 14:40 local */
	{ "2021-01-10T06:00:00Z", 20 * MIN, 24, NO_TAG, false },
	/* 19:00 local, every day to the 19th */
	{ "2021-01-11T18:00:00Z", DAY, 9, NO_TAG, false },
	/* the day of `now` (13:00 local); the last one is `now` itself */
	{ "2021-01-20T09:00:00Z", 0, 1, NO_TAG, false },
	{ "2021-01-20T11:59:59Z", 1, 2, NO_TAG, false },
	/* in the future: one second after `now`, a day, half a year */
	{ "2021-01-20T12:00:01Z", 0, 1, NO_TAG, false },
	{ "2021-01-21T12:00:00Z", 0, 1, NO_TAG, false },
	{ "2021-06-01T00:00:00Z", 0, 1, "release", false },
};

#define NOW_UTC "2021-01-20T12:00:00Z"

struct dataset {
	struct retention_backup b[MAX_BACKUPS];
	char ids[MAX_BACKUPS][8];
	size_t n;
	int64_t now;
};

static int64_t utc(const char *text)
{
	struct tm tm;
	char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm);
	assert_non_null(end);
	assert_int_equal(*end, '\0');
	return (int64_t)timegm(&tm);
}

/* The backups in time order (series overlap: sorted, stable), named
 * b001, b002, ... */
static void dataset_build(struct dataset *d)
{
	size_t i, k;
	int j;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < ARRAY_SIZE(series); i++) {
		int64_t start = utc(series[i].start);

		for (j = 0; j < series[i].count; j++) {
			struct retention_backup b = { NULL, 0, NULL, 0,
						      series[i].pinned };

			assert_true(d->n < MAX_BACKUPS);
			b.time = start + j * series[i].step;
			if (series[i].tag) {
				b.tags = &series[i].tag;
				b.n_tags = 1;
			}
			for (k = d->n; k > 0 && d->b[k - 1].time > b.time; k--)
				d->b[k] = d->b[k - 1];
			d->b[k] = b;
			d->n++;
		}
	}
	for (k = 0; k < d->n; k++) {
		snprintf(d->ids[k], sizeof(d->ids[0]), "b%03zu", k + 1);
		d->b[k].id = d->ids[k];
	}
	d->now = utc(NOW_UTC);
}

static const char *const tags_release[] = { "release" };
static const char *const tags_release_upgrade[] = { "release",
						    "pre-upgrade" };

/* A policy and its golden file's name. resolve: pass the policy through
 * retention_policy_resolve(max_backups, max_set) as the config will. */
struct policy_case {
	const char *name;
	struct retention_policy p;
	bool resolve;
	int max_backups;
	bool max_set;
};

#define TAGS(t) .keep_tags = t, .n_keep_tags = ARRAY_SIZE(t)

static const struct policy_case policies[] = {
	{ "no-policy", { 0 }, false, 0, false },
	{ "last-1", { .keep_last = 1 }, false, 0, false },
	{ "last-3", { .keep_last = 3 }, false, 0, false },
	{ "last-10", { .keep_last = 10 }, false, 0, false },
	{ "last-200", { .keep_last = 200 }, false, 0, false },
	{ "hourly-5", { .keep_hourly = 5 }, false, 0, false },
	{ "hourly-30", { .keep_hourly = 30 }, false, 0, false },
	{ "hourly-all", { .keep_hourly = -1 }, false, 0, false },
	{ "daily-3", { .keep_daily = 3 }, false, 0, false },
	{ "daily-10", { .keep_daily = 10 }, false, 0, false },
	{ "daily-30", { .keep_daily = 30 }, false, 0, false },
	{ "daily-all", { .keep_daily = -1 }, false, 0, false },
	{ "weekly-2", { .keep_weekly = 2 }, false, 0, false },
	{ "weekly-5", { .keep_weekly = 5 }, false, 0, false },
	{ "weekly-30", { .keep_weekly = 30 }, false, 0, false },
	{ "monthly-3", { .keep_monthly = 3 }, false, 0, false },
	{ "monthly-12", { .keep_monthly = 12 }, false, 0, false },
	{ "monthly-30", { .keep_monthly = 30 }, false, 0, false },
	{ "yearly-1", { .keep_yearly = 1 }, false, 0, false },
	{ "yearly-3", { .keep_yearly = 3 }, false, 0, false },
	{ "yearly-10", { .keep_yearly = 10 }, false, 0, false },
	{ "within-90m", { .keep_within = 90 * MIN }, false, 0, false },
	{ "within-1d", { .keep_within = DAY }, false, 0, false },
	{ "within-2w", { .keep_within = 14 * DAY }, false, 0, false },
	{ "tag-release", { TAGS(tags_release) }, false, 0, false },
	{ "tag-release-pre-upgrade", { TAGS(tags_release_upgrade) }, false,
	  0, false },
	{ "last2-daily7-weekly4-monthly12-yearly3",
	  { .keep_last = 2, .keep_daily = 7, .keep_weekly = 4,
	    .keep_monthly = 12, .keep_yearly = 3 }, false, 0, false },
	{ "hourly6-daily3-within1d",
	  { .keep_hourly = 6, .keep_daily = 3, .keep_within = DAY }, false,
	  0, false },
	{ "weekly4-tag-release", { .keep_weekly = 4, TAGS(tags_release) },
	  false, 0, false },
	{ "max-backups-5", { 0 }, true, 5, true },
	{ "max-backups-10-default-tag-release", { TAGS(tags_release) }, true,
	  10, false },
	{ "daily30-max-backups-8", { .keep_daily = 30 }, true, 8, true },
	{ "daily30-max-backups-default", { .keep_daily = 30 }, true, 10,
	  false },
	{ "monthly12-max-backups-1", { .keep_monthly = 12 }, true, 1, true },
};

static struct retention_policy policy_of(const struct policy_case *c)
{
	struct retention_policy p = c->p;

	if (c->resolve)
		retention_policy_resolve(&p, c->max_backups, c->max_set);
	return p;
}

/* The policy in words for the golden file's header. */
static void describe_policy(struct buf *out, const struct policy_case *c)
{
	buf_printf(out, "# policy %s: last %d, hourly %d, daily %d, weekly %d,"
		   " monthly %d, yearly %d, within %llds, tags %zu",
		   c->name, c->p.keep_last, c->p.keep_hourly, c->p.keep_daily,
		   c->p.keep_weekly, c->p.keep_monthly, c->p.keep_yearly,
		   (long long)c->p.keep_within, c->p.n_keep_tags);
	if (c->resolve)
		buf_printf(out, "; resolved with max_backups %d (%s)",
			   c->max_backups, c->max_set ? "set" : "default");
	buf_puts(out, "\n");
}

static void format_local(int64_t sec, char *out, size_t size)
{
	time_t t = (time_t)sec;
	struct tm tm;

	assert_non_null(localtime_r(&t, &tm));
	strftime(out, size, "%Y-%m-%d %H:%M:%S %Z %a %G-W%V", &tm);
}

/* Checks what every policy must hold and renders the golden text. */
static void render(const struct dataset *d, const struct policy_case *c,
		   const struct retention_policy *p,
		   const struct retention_verdict *v, struct buf *out)
{
	size_t i, kept = 0, removed = 0;
	char when[64];

	describe_policy(out, c);
	format_local(d->now, when, sizeof(when));
	buf_printf(out, "# now %s\n", when);
	for (i = 0; i < d->n; i++) {
		char *why = retention_reasons_format(&v[i], p);

		if (v[i].keep) {
			kept++;
			assert_int_not_equal(v[i].reasons, 0);
		} else {
			removed++;
		}
		if (d->b[i].pinned || d->b[i].time > d->now)
			assert_true(v[i].keep);
		format_local(d->b[i].time, when, sizeof(when));
		buf_printf(out, "%s  %s  %s%s\n", d->b[i].id, when,
			   v[i].keep ? "keep: " : "", why);
		free(why);
	}
	assert_int_equal(kept + removed, d->n);
	buf_printf(out, "# kept %zu, removed %zu\n", kept, removed);
}

static char *golden_path(const char *name)
{
	const char *dir = getenv("GOLDEN_DIR");
	const char *slash = strrchr(__FILE__, '/');

	if (dir)
		return str_fmt("%s/%s", dir, name);
	return str_fmt("%.*sgolden/retention/%s",
		       slash ? (int)(slash - __FILE__ + 1) : 0, __FILE__,
		       name);
}

static char *read_text(const char *path)
{
	struct buf b = { NULL, 0, 0 };
	char chunk[4096];
	FILE *f = fopen(path, "r");
	size_t got;

	if (!f)
		return NULL;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, got);
	fclose(f);
	return b.data ? b.data : xstrdup("");
}

/* Compares with the golden file, or rewrites it under UPDATE_GOLDEN=1. */
static int compare_golden(const char *name, const char *text)
{
	char *path = golden_path(name);
	char *want = NULL;
	int ret = 0;

	if (getenv("UPDATE_GOLDEN") && strcmp(getenv("UPDATE_GOLDEN"), "1")
	    == 0) {
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		assert_int_equal(fputs(text, f) >= 0, 1);
		assert_int_equal(fclose(f), 0);
		goto out;
	}
	want = read_text(path);
	if (!want) {
		print_error("%s: missing (UPDATE_GOLDEN=1 writes it)\n", path);
		ret = -1;
	} else if (strcmp(want, text) != 0) {
		print_error("%s differs; got:\n%s", path, text);
		ret = -1;
	}
out:
	free(want);
	free(path);
	return ret;
}

/* Every policy over the backups in time order and shuffled: the same
 * verdicts, and the golden file's text. */
static void test_golden(void **state)
{
	static struct dataset d, shuffled;
	struct retention_verdict v[MAX_BACKUPS], vs[MAX_BACKUPS];
	size_t i, j, failures = 0;

	(void)state;
	dataset_build(&d);
	assert_true(d.n >= 90);
	/* i * 37 mod n is a permutation when n is not a multiple of 37 */
	assert_int_not_equal(d.n % 37, 0);
	shuffled = d;
	for (i = 0; i < d.n; i++)
		shuffled.b[i] = d.b[(i * 37) % d.n];
	for (i = 0; i < ARRAY_SIZE(policies); i++) {
		struct retention_policy p = policy_of(&policies[i]);
		struct error err = { { 0 } };
		struct buf text = { NULL, 0, 0 };
		char *name = str_fmt("%s.golden", policies[i].name);

		assert_int_equal(retention_apply(d.b, d.n, &p, d.now, v, &err),
				 0);
		assert_int_equal(retention_apply(shuffled.b, shuffled.n, &p,
						 d.now, vs, &err), 0);
		for (j = 0; j < d.n; j++)
			assert_memory_equal(&vs[j], &v[(j * 37) % d.n],
					    sizeof(v[0]));
		render(&d, &policies[i], &p, v, &text);
		if (compare_golden(name, text.data) < 0)
			failures++;
		buf_release(&text);
		free(name);
	}
	assert_int_equal(failures, 0);
}

/* An oracle independent of retention.c's calendar code: with every period
 * kept (-1), the kept backups are exactly the newest of each group that
 * strftime() puts them in, plus the oldest. b is in time order, all past. */
static void check_unlimited(const struct retention_backup *b, size_t n,
			    int64_t now)
{
	static const char *const formats[] = {
		"%Y%m%d%H", "%Y%m%d", "%G%V", "%Y%m", "%Y",
	};
	struct retention_verdict *v = xcalloc(n, sizeof(*v));
	size_t f, i;

	for (f = 0; f < ARRAY_SIZE(formats); f++) {
		struct retention_policy p = { 0 };
		int *count = &p.keep_hourly + f;
		struct error err = { { 0 } };
		char prev[32] = "";

		*count = -1;
		assert_int_equal(retention_apply(b, n, &p, now, v, &err), 0);
		for (i = n; i-- > 0;) {
			time_t t = (time_t)b[i].time;
			struct tm tm;
			char key[32];
			bool want;

			if (b[i].time > now)
				continue;
			localtime_r(&t, &tm);
			strftime(key, sizeof(key), formats[f], &tm);
			want = strcmp(key, prev) != 0 || i == 0;
			snprintf(prev, sizeof(prev), "%s", key);
			if (want != ((v[i].reasons &
				      RETENTION_BY_PERIOD(f + 1)) != 0))
				fail_msg("%s: %s (%s) kept %d", formats[f],
					 b[i].id, key, !want);
		}
	}
	free(v);
}

static void test_unlimited_matches_strftime(void **state)
{
	static struct dataset d;

	(void)state;
	dataset_build(&d);
	check_unlimited(d.b, d.n, d.now);
}

/* Every day from 1998 to 2040 at 23:30 UTC (the next day in Berlin):
 * every kind of ISO year start and end, 53-week years and leap days. */
static void test_unlimited_many_years(void **state)
{
	int64_t start = utc("1998-12-20T23:30:00Z");
	size_t n = 15400, i;
	struct retention_backup *b = xcalloc(n, sizeof(*b));

	(void)state;
	for (i = 0; i < n; i++) {
		b[i].id = "x";
		b[i].time = start + (int64_t)i * DAY;
	}
	check_unlimited(b, n, b[n - 1].time);
	free(b);
}

/* Rules hand-checked on a few backups, independent of the golden files. */
static void test_small_cases(void **state)
{
	static const char *const tag_x[] = { "x" };
	struct retention_backup b[] = {
		{ "a", 1000, NULL, 0, false },
		{ "b", 2000, tag_x, 1, false },
		{ "c", 3000, NULL, 0, true },
		{ "d", 4000, NULL, 0, false },
		{ "e", 9000, NULL, 0, false },  /* after now */
	};
	struct retention_policy p = { .keep_last = 1 };
	struct retention_verdict v[ARRAY_SIZE(b)];
	struct error err = { { 0 } };
	char *s;

	(void)state;
	assert_int_equal(retention_apply(b, ARRAY_SIZE(b), &p, 5000, v, &err),
			 0);
	assert_false(v[0].keep);
	assert_false(v[1].keep);
	assert_true(v[2].keep);
	assert_int_equal(v[3].reasons, RETENTION_BY_NEWEST |
			 RETENTION_BY_PERIOD(RETENTION_LAST));
	assert_int_equal(v[4].reasons, RETENTION_BY_FUTURE);
	s = retention_reasons_format(&v[3], &p);
	assert_string_equal(s, "newest, last 1");
	free(s);

	/* keep_within is strict, as restic's: exactly 3000 s older goes */
	p = (struct retention_policy){ .keep_within = 3000 };
	assert_int_equal(retention_apply(b, ARRAY_SIZE(b), &p, 5000, v, &err),
			 0);
	assert_false(v[0].keep);
	assert_true(v[1].keep);
	s = retention_reasons_format(&v[1], &p);
	assert_string_equal(s, "within 50m");
	free(s);

	/* the cap spares the newest, pinned and future backups */
	p = (struct retention_policy){ .keep_last = 5, .max_backups = 1 };
	assert_int_equal(retention_apply(b, ARRAY_SIZE(b), &p, 5000, v, &err),
			 0);
	assert_false(v[0].keep);
	assert_true(v[0].over_cap);
	assert_true(v[2].keep && v[3].keep && v[4].keep);
	s = retention_reasons_format(&v[1], &p);
	assert_string_equal(s, "remove (over max_backups; last 3)");
	free(s);

	/* no backups at all */
	assert_int_equal(retention_apply(b, 0, &p, 5000, v, &err), 0);
}

static void test_invalid_policy(void **state)
{
	static const struct {
		struct retention_policy p;
		const char *msg;
	} cases[] = {
		{ { .keep_daily = -2 }, "keep_daily must be -1 (all), 0 (off) "
					"or a positive count, not -2" },
		{ { .keep_last = -5 }, "keep_last must be -1 (all), 0 (off) or "
				       "a positive count, not -5" },
		{ { .keep_within = -1 }, "keep_within must not be negative" },
		{ { .max_backups = -1 }, "max_backups must not be negative" },
	};
	struct retention_backup b = { "a", 1, NULL, 0, false };
	struct retention_verdict v;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct error err = { { 0 } };

		assert_int_equal(retention_apply(&b, 1, &cases[i].p, 10, &v,
						 &err), -1);
		assert_string_equal(err.msg, cases[i].msg);
	}
}

static void test_resolve(void **state)
{
	struct retention_policy p = { 0 };

	(void)state;
	retention_policy_resolve(&p, 10, false);
	assert_int_equal(p.keep_last, 10);
	assert_int_equal(p.max_backups, 0);
	p = (struct retention_policy){ .keep_daily = 7 };
	retention_policy_resolve(&p, 10, false);
	assert_int_equal(p.keep_last, 0);
	assert_int_equal(p.max_backups, 0);
	retention_policy_resolve(&p, 20, true);
	assert_int_equal(p.max_backups, 20);
	p = (struct retention_policy){ .keep_within = 60 };
	retention_policy_resolve(&p, 3, true);
	assert_int_equal(p.keep_last, 0);
	assert_int_equal(p.max_backups, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_unlimited_matches_strftime),
		cmocka_unit_test(test_unlimited_many_years),
		cmocka_unit_test(test_small_cases),
		cmocka_unit_test(test_invalid_policy),
		cmocka_unit_test(test_resolve),
	};

	/* Calendar periods are local time: fix the zone, with both DST
	 * changes in the data. */
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
