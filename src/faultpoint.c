/* Crash points for the fault-injection test build (see faultpoint.h). */
#include "faultpoint.h"

#ifdef INCBAK_FAULT_INJECTION
#include <fnmatch.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Whether the point called name is the one var names (NAME, or NAME:N
 * for the Nth time it is reached, counted in *hits). */
static bool is_wanted(const char *var, const char *name, long *hits)
{
	const char *want = getenv(var);
	size_t n = strlen(name);

	if (!want || strncmp(want, name, n) || (want[n] && want[n] != ':'))
		return false;
	++*hits;
	return *hits == (want[n] == ':' ? atol(want + n + 1) : 1);
}

/* INCBAK_CRASH_AT=NAME crashes the first time NAME is reached,
 * NAME:N the Nth time. INCBAK_STOP_AT stops the process there instead
 * (SIGSTOP), so a test can change the world under it and let it go on
 * (SIGCONT). INCBAK_FAULT_TRACE=FILE appends every point reached, so a
 * test can list the points a command passes. */
void fault_point(const char *name)
{
	static long crash_hits, stop_hits;
	const char *trace = getenv("INCBAK_FAULT_TRACE");

	if (trace && *trace) {
		FILE *f = fopen(trace, "a");

		if (f) {
			fprintf(f, "%s\n", name);
			fclose(f);
		}
	}
	if (is_wanted("INCBAK_STOP_AT", name, &stop_hits))
		raise(SIGSTOP);
	if (is_wanted("INCBAK_CRASH_AT", name, &crash_hits))
		kill(getpid(), SIGKILL);
}

int fault_cached(int fd)
{
	const char *pattern = getenv("INCBAK_FAULT_CACHED");
	char link[64], path[PATH_MAX];
	ssize_t n;

	if (!pattern || !*pattern)
		return -1;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		return -1;
	path[n] = '\0';
	return fnmatch(pattern, path, 0) == 0;
}
#else
void fault_point(const char *name)
{
	(void)name;
}

int fault_cached(int fd)
{
	(void)fd;
	return -1;
}
#endif
