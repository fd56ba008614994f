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

#endif
