/* Thread starts and the core budget shared by every pool (see threads.h). */
#include "threads.h"

#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

static atomic_int budget; /* the `threads` setting; 0: one per core */

void threads_set_budget(int threads)
{
	atomic_store(&budget, threads < 0 ? 0 : threads);
}

static int cores_online(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (cpus < 1)
		return 1;
	return cpus > 4096 ? 4096 : (int)cpus;
}

int threads_count(int wanted, int cap)
{
	int cores = cores_online();
	int most = atomic_load(&budget);

	/* More threads than cores would only add buffers and switches. */
	if (most <= 0 || most > cores)
		most = cores;
	if (wanted <= 0 || wanted > most)
		wanted = most;
	if (cap > 0 && wanted > cap)
		wanted = cap;
	return wanted;
}

/* The new thread inherits the mask in force while it is created: block
 * everything for that moment, then give the caller its own mask back. */
int threads_start(pthread_t *thread, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(thread, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc == 0 ? 0 : -1;
}
