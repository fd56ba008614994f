/* Durations: "NUMBER UNIT" pairs to seconds and back, overflow-checked. */
#include "duration.h"

#include <inttypes.h>
#include <stdio.h>

#include "util.h"

struct unit {
	char name;
	int64_t seconds;
};

/* Largest first: the order a duration must be written in. */
static const struct unit units[] = {
	{ 'w', 7 * 86400 }, { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 },
	{ 's', 1 },
};

static int find_unit(char c)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(units); i++)
		if (units[i].name == c)
			return (int)i;
	return -1;
}

/* Reads the digits at *p into *value; -1 when there are none or they do not
 * fit. */
static int parse_number(const char **p, int64_t *value)
{
	int64_t v = 0;

	if (**p < '0' || **p > '9')
		return -1;
	for (; **p >= '0' && **p <= '9'; (*p)++) {
		int digit = **p - '0';

		if (v > (INT64_MAX - digit) / 10)
			return -2;
		v = v * 10 + digit;
	}
	*value = v;
	return 0;
}

int duration_parse(const char *s, int64_t *seconds, struct error *err)
{
	const char *p = s;
	int64_t total = 0;
	int last_unit = -1;

	if (s[0] == '0' && s[1] == '\0') {
		*seconds = 0;
		return 0;
	}
	if (*s == '\0')
		return error_set(err, "invalid duration '': empty (write e.g. "
				 "15m, 1h, 1d or 0)");
	while (*p) {
		int64_t value;
		int u, rc = parse_number(&p, &value);

		if (rc == -2)
			return error_set(err, "invalid duration '%s': too long",
					 s);
		if (rc < 0)
			return error_set(err, "invalid duration '%s': expected "
					 "a number at '%s'", s, p);
		if (*p == '\0')
			return error_set(err, "invalid duration '%s': missing "
					 "unit (s, m, h, d or w)", s);
		u = find_unit(*p);
		if (u < 0)
			return error_set(err, "invalid duration '%s': unknown "
					 "unit '%c' (use s, m, h, d or w)", s,
					 *p);
		if (u <= last_unit)
			return error_set(err, "invalid duration '%s': units "
					 "must go from largest to smallest, "
					 "each once (w d h m s)", s);
		last_unit = u;
		p++;
		if (value > (INT64_MAX - total) / units[u].seconds)
			return error_set(err, "invalid duration '%s': too long",
					 s);
		total += value * units[u].seconds;
	}
	*seconds = total;
	return 0;
}

/* Writes up to max_units non-zero units of seconds, largest first. */
static char *format_units(int64_t seconds, size_t max_units, char *buf,
			  size_t size)
{
	size_t i, used = 0, written = 0;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	if (seconds <= 0) {
		snprintf(buf, size, "0");
		return buf;
	}
	for (i = 0; i < ARRAY_SIZE(units) && written < max_units; i++) {
		int64_t n = seconds / units[i].seconds;
		int len;

		if (n == 0)
			continue;
		seconds -= n * units[i].seconds;
		len = snprintf(buf + used, size - used, "%" PRId64 "%c", n,
			       units[i].name);
		if (len < 0 || (size_t)len >= size - used) {
			buf[used] = '\0'; /* a whole unit or none */
			break;
		}
		used += (size_t)len;
		written++;
	}
	return buf;
}

char *duration_format(int64_t seconds, char *buf, size_t size)
{
	return format_units(seconds, ARRAY_SIZE(units), buf, size);
}

char *duration_format_short(int64_t seconds, char *buf, size_t size)
{
	return format_units(seconds, 2, buf, size);
}
