/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "helper/daemon/watchdog.h"
#include "lib/base/clock.h"

static void *watch(void *p)
{
	struct nm_watchdog *w = p;
	struct timespec ts = {
		.tv_sec = w->deadline_ms / 1000,
		.tv_nsec = (w->deadline_ms % 1000) * 1000000,
	};
	int rc = 0;

	pthread_mutex_lock(&w->lock);
	while (!w->stop && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&w->cond, &w->lock, &ts);
	if (!w->stop) {
		w->fired = true;
		pthread_mutex_unlock(&w->lock);
		w->fire(w->arg);
		return NULL;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int nm_watchdog_start(struct nm_watchdog *w, int ms, void (*fire)(void *),
		      void *arg, char *err)
{
	pthread_condattr_t ca;
	int rc;

	memset(w, 0, sizeof(*w));
	/* nm_now_ms() is CLOCK_MONOTONIC, the clock the condition waits on */
	w->deadline_ms = (long long)nm_now_ms() + ms;
	w->fire = fire;
	w->arg = arg;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	rc = pthread_create(&w->thread, NULL, watch, w);
	if (rc) {
		nm_seterr(err, "watchdog thread: %s", strerror(rc));
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		return -1;
	}
	return 0;
}

bool nm_watchdog_stop(struct nm_watchdog *w)
{
	bool fired;

	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	fired = w->fired;
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	return fired;
}
