/* Crash points for the fault-injection test build (see faultpoint.h). */
#include "faultpoint.h"

#ifdef INCBAK_FAULT_INJECTION
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long hits;

/* INCBAK_CRASH_AT=NAME crashes the first time NAME is reached,
 * NAME:N the Nth time. INCBAK_FAULT_TRACE=FILE appends every point reached,
 * so a test can list the points a command passes. */
void fault_point(const char *name)
{
	const char *want = getenv("INCBAK_CRASH_AT");
	const char *trace = getenv("INCBAK_FAULT_TRACE");
	size_t n = strlen(name);

	if (trace && *trace) {
		FILE *f = fopen(trace, "a");

		if (f) {
			fprintf(f, "%s\n", name);
			fclose(f);
		}
	}
	if (!want || strncmp(want, name, n) || (want[n] && want[n] != ':'))
		return;
	hits++;
	if (want[n] == ':' && hits != atol(want + n + 1))
		return;
	kill(getpid(), SIGKILL);
}
#else
void fault_point(const char *name)
{
	(void)name;
}
#endif
