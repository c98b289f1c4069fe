/* SPDX-License-Identifier: MIT */
#ifndef NM_WATCHDOG_H
#define NM_WATCHDOG_H

#include <pthread.h>
#include <stdbool.h>

#include "lib/base/error.h"

/*
 * A deadline for a frozen job: unless stopped first, a thread calls
 * @fire(@arg) once @ms have passed.  The move uses it to thaw a job whose
 * migration runs too long.
 */
struct nm_watchdog {
	long long deadline_ms;		/* CLOCK_MONOTONIC (nm_now_ms) */
	void (*fire)(void *arg);	/* called at the deadline ... */
	void *arg;			/* ... with this */
	pthread_t thread;		/* waits for the deadline or stop */
	pthread_mutex_t lock;		/* guards stop and fired */
	pthread_cond_t cond;		/* signalled by nm_watchdog_stop */
	bool stop, fired;		/* stopped first / deadline reached */
};

int nm_watchdog_start(struct nm_watchdog *w, int ms, void (*fire)(void *),
		      void *arg, char *err);
/* Stops and joins it; returns true when it had fired. */
bool nm_watchdog_stop(struct nm_watchdog *w);

#endif
