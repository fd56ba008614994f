/* Every thread incbak starts, started here: with signals blocked (the
 * caller's thread handles them and sets incbak_interrupted), and sized
 * from one core budget, the `threads` setting. */
#ifndef INCBAK_THREADS_H
#define INCBAK_THREADS_H

#include <pthread.h>

/* The `threads` setting (0: one per core online), which every pool then
 * honours. The command layer sets it once, before the core starts any
 * thread; until then the budget is one thread per core. */
void threads_set_budget(int threads);

/* How many threads a pool runs: `wanted` (0: the budget), no more than
 * the budget and the cores online, and no more than `cap` (0: no cap of
 * the pool's own). At least 1. */
int threads_count(int wanted, int cap);

/* Starts fn(arg) on a new thread that receives no signals. 0, or -1 when
 * no thread can be started: the caller then does the work itself or with
 * fewer threads. */
int threads_start(pthread_t *thread, void *(*fn)(void *), void *arg);

#endif
