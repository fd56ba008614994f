/* Sizes, ages and counts in the words a person reads (see human.h). */
#include "human.h"

#include <stdio.h>

#include "util.h"

void human_size(uint64_t bytes, char *out, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB",
					     "PiB", "EiB" };
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 1024) {
		snprintf(out, len, "%llu B", (unsigned long long)bytes);
		return;
	}
	v /= 1024;
	/* 1023.96 KiB would print as "1024.0 KiB": move up a unit first. */
	while (v >= 1023.95 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	snprintf(out, len, "%.1f %s", v, units[u]);
}

void human_age(int64_t then, int64_t now, char *out, size_t len)
{
	static const struct {
		int64_t seconds;
		const char *suffix;
	} units[] = {
		{ 365 * 86400, "y" },
		{ 86400, "d" },
		{ 3600, "h" },
		{ 60, "m" },
		{ 1, "s" },
	};
	int64_t d = now - then;

	if (d < 0) {
		snprintf(out, len, "in the future");
		return;
	}
	if (d == 0) {
		snprintf(out, len, "just now");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (d >= units[i].seconds) {
			snprintf(out, len, "%lld%s ago",
				 (long long)(d / units[i].seconds),
				 units[i].suffix);
			return;
		}
	}
}

const char *human_plural(int64_t n, const char *one, const char *many)
{
	return n == 1 || n == -1 ? one : many;
}

void human_count(int64_t n, const char *one, const char *many, char *out,
		 size_t len)
{
	snprintf(out, len, "%lld %s", (long long)n, human_plural(n, one, many));
}
