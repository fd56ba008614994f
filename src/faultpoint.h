/* Named points between durable steps where a test build can crash on
 * purpose (INCBAK_CRASH_AT=NAME or NAME:N for the Nth time it is reached),
 * so tests can prove that a kill -9 at any step loses nothing; or stop
 * there (INCBAK_STOP_AT, the same way), so a test can change what the
 * command works on at a known moment. In the
 * shipped binary this is a no-op: faultpoint.c is built with
 * INCBAK_FAULT_INJECTION only into build/incbak-faults. */
#ifndef INCBAK_FAULTPOINT_H
#define INCBAK_FAULTPOINT_H

void fault_point(const char *name);

/* Whether the page cache holds the file open at fd, as a test says: in the
 * test build, INCBAK_FAULT_CACHED=PATTERN makes exactly the files whose
 * path matches PATTERN (fnmatch(3), the path as /proc/self/fd shows it)
 * seem cached (1) and every other file not (0), so a test of what a run
 * asks of the kernel does not depend on what other processes do to the
 * cache. -1 when no test says: ask the kernel. */
int fault_cached(int fd);

#endif
