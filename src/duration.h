/* Durations as the config and the flags write them: "90s", "15m", "1h30m",
 * "1d", "2w", "0"; parsed to seconds and formatted back for messages. */
#ifndef INCBAK_DURATION_H
#define INCBAK_DURATION_H

#include <stddef.h>
#include <stdint.h>

struct error;

/* The longest text duration_format() writes, with its NUL
 * ("15250284452471w3d15h30m7s" for INT64_MAX). */
#define DURATION_TEXT_MAX 32

/* Parses s into *seconds. A duration is "0" or one or more NUMBER UNIT
 * pairs, units s, m, h, d (86400 s, not a calendar day) and w (7 d), each
 * unit at most once and from the largest down ("1h30m", not "30m1h"); no
 * spaces, no signs, no fractions. Returns 0, or -1 with err naming the text
 * and what is wrong, e.g. "invalid duration '15': missing unit (s, m, h, d
 * or w)"; *seconds is then left alone. */
int duration_parse(const char *s, int64_t *seconds, struct error *err);

/* Writes seconds (>= 0) exactly, largest units first, into buf: 0 -> "0",
 * 90 -> "1m30s", 86400 -> "1d", 93600 -> "1d2h". duration_parse() reads it
 * back to the same value. Negative values are written as "0". Returns buf. */
char *duration_format(int64_t seconds, char *buf, size_t size);

/* Like duration_format() but keeps only the two largest units, rounding
 * down, for ages in messages: 11520 -> "3h12m", 11545 -> "3h12m",
 * 90061 -> "1d1h". Returns buf. */
char *duration_format_short(int64_t seconds, char *buf, size_t size);

#endif
