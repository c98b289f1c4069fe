/* SPDX-License-Identifier: MIT */
/* The process table status requests share (status_procs.h). */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "lib/base/error.h"
#include "helper/daemon/status_procs.h"

struct nm_status_procs {
	struct nm_ptable t;
	struct timespec at;	/* when it was read (CLOCK_MONOTONIC) */
	int refs;		/* the cache's own, and each holder's */
};

/* The current table: cur and refs under lock; one reader at a time. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t reading = PTHREAD_MUTEX_INITIALIZER;
static struct nm_status_procs *cur;
static unsigned long reads;

static long age_ms(const struct timespec *at)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - at->tv_sec) * 1000 +
	       (now.tv_nsec - at->tv_nsec) / 1000000;
}

static bool usable(const struct nm_status_procs *s, const pid_t *pids, int n)
{
	if (!s || age_ms(&s->at) >= NM_STATUS_PROCS_MAX_AGE_MS)
		return false;
	for (int i = 0; i < n; i++)
		if (!nm_ptable_has(&s->t, pids[i]))
			return false;
	return true;
}

/* The current table, a reference taken, if it will do. */
static struct nm_status_procs *take_current(const pid_t *pids, int n)
{
	struct nm_status_procs *s = NULL;

	pthread_mutex_lock(&lock);
	if (usable(cur, pids, n)) {
		s = cur;
		s->refs++;
	}
	pthread_mutex_unlock(&lock);
	return s;
}

/* A table read now, made the current one; NULL with @err. */
static struct nm_status_procs *read_new(char *err)
{
	struct nm_status_procs *s = calloc(1, sizeof(*s)), *old;

	if (!s) {
		nm_seterr(err, "out of memory");
		return NULL;
	}
	if (nm_ptable_read(&s->t, err) < 0) {
		free(s);
		return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &s->at);
	s->refs = 2;
	pthread_mutex_lock(&lock);
	old = cur;
	cur = s;
	reads++;
	pthread_mutex_unlock(&lock);
	nm_status_procs_put(old);
	return s;
}

struct nm_status_procs *nm_status_procs_get(const pid_t *pids, int n,
					    char *err)
{
	struct nm_status_procs *s = take_current(pids, n);

	if (s)
		return s;
	/* Those who came while it was read take that one: one pass. */
	pthread_mutex_lock(&reading);
	s = take_current(pids, n);
	if (!s)
		s = read_new(err);
	pthread_mutex_unlock(&reading);
	return s;
}

const struct nm_ptable *nm_status_procs_table(const struct nm_status_procs *s)
{
	return &s->t;
}

void nm_status_procs_put(struct nm_status_procs *s)
{
	bool last;

	if (!s)
		return;
	pthread_mutex_lock(&lock);
	last = --s->refs == 0;
	pthread_mutex_unlock(&lock);
	if (last) {
		nm_ptable_free(&s->t);
		free(s);
	}
}

unsigned long nm_status_procs_reads(void)
{
	unsigned long n;

	pthread_mutex_lock(&lock);
	n = reads;
	pthread_mutex_unlock(&lock);
	return n;
}
