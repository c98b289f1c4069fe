/* SPDX-License-Identifier: MIT */
/* The moves in flight, cancelled when the daemon is told to stop. */
#include <pthread.h>
#include <syslog.h>

#include "helper/daemon/log.h"
#include "helper/daemon/stopping.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct nm_inflight *moves;
static bool stopping;

/* Stops its engine, keeps it from freezing, thaws it now. */
static void cancel(struct nm_move *mv)
{
	char err[NM_ERRLEN];

	if (nm_move_expire(mv, err) < 0)
		nm_log(LOG_ERR, "stopping: thaw failed: %s (the journal "
		       "keeps it for the next start)", err);
}

void nm_stopping_enter(struct nm_inflight *f, struct nm_move *mv)
{
	pthread_mutex_lock(&lock);
	f->mv = mv;
	if (stopping) {
		f->next = NULL;
		cancel(mv);
	} else {
		f->next = moves;
		moves = f;
	}
	pthread_mutex_unlock(&lock);
}

void nm_stopping_leave(struct nm_inflight *f)
{
	pthread_mutex_lock(&lock);
	for (struct nm_inflight **p = &moves; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	f->mv = NULL;
	pthread_mutex_unlock(&lock);
}

int nm_stopping_cancel_all(void)
{
	int n = 0;

	pthread_mutex_lock(&lock);
	stopping = true;
	/* Under the lock: a move cannot end (and free its handle) meanwhile. */
	for (struct nm_inflight *f = moves; f; f = f->next, n++)
		cancel(f->mv);
	pthread_mutex_unlock(&lock);
	return n;
}

bool nm_stopping(void)
{
	bool s;

	pthread_mutex_lock(&lock);
	s = stopping;
	pthread_mutex_unlock(&lock);
	return s;
}
