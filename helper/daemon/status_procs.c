/* SPDX-License-Identifier: MIT */
/* The process table status requests share (status_procs.h). */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/base/error.h"
#include "helper/daemon/log.h"
#include "helper/daemon/priority.h"
#include "helper/daemon/status_procs.h"

/* The ranks of one set of processes, as read for this table. */
struct ranks {
	struct ranks *next;
	bool asked;		/* a request took them from this table */
	int n;
	pid_t *pids;
	int *rank;
	enum nm_task_role *role;
};

struct nm_status_procs {
	struct nm_ptable t;
	struct timespec at;	/* when it was read (CLOCK_MONOTONIC) */
	int refs;		/* the cache's own, and each holder's */
	pthread_mutex_t ranks_lock;
	struct ranks *ranks;	/* read so far, under ranks_lock */
};

/*
 * The current table: cur, refs, asked and the thread's state under lock;
 * one reader of /proc at a time (reading).
 */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t reading = PTHREAD_MUTEX_INITIALIZER;
static struct nm_status_procs *cur;
static unsigned long reads, request_reads;
static struct timespec asked;	/* the last status's get */
static bool refreshing;		/* the thread runs */

static long ms_since(const struct timespec *at)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - at->tv_sec) * 1000 +
	       (now.tv_nsec - at->tv_nsec) / 1000000;
}

static bool usable(const struct nm_status_procs *s, const pid_t *pids, int n)
{
	if (!s || ms_since(&s->at) >= NM_STATUS_PROCS_MAX_AGE_MS)
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

static struct ranks *ranks_read(struct nm_status_procs *s, const pid_t *pids,
				int n);

/* The current table, a reference taken; NULL when none. */
static struct nm_status_procs *hold_current(void)
{
	struct nm_status_procs *s;

	pthread_mutex_lock(&lock);
	s = cur;
	if (s)
		s->refs++;
	pthread_mutex_unlock(&lock);
	return s;
}

/*
 * The ranks requests took from the current table, read again into @s
 * before it is shared: the requests after a new table find their jobs'
 * ranks there instead of waiting, one after another, for their read.
 * Sets nobody asked for (a job gone, or grown) are not carried on.
 */
static void warm(struct nm_status_procs *s)
{
	struct nm_status_procs *old = hold_current();
	struct ranks *keys = NULL;

	if (!old)
		return;
	/* The sets to read, copied: the old table's requests go on. */
	pthread_mutex_lock(&old->ranks_lock);
	for (struct ranks *r = old->ranks; r; r = r->next) {
		struct ranks *k;

		if (!r->asked)
			continue;
		k = calloc(1, sizeof(*k));

		if (!k || !(k->pids = malloc((size_t)(r->n ? r->n : 1) *
					     sizeof(*k->pids)))) {
			free(k);
			break;
		}
		memcpy(k->pids, r->pids, (size_t)r->n * sizeof(*k->pids));
		k->n = r->n;
		k->next = keys;
		keys = k;
	}
	pthread_mutex_unlock(&old->ranks_lock);
	nm_status_procs_put(old);
	while (keys) {
		struct ranks *k = keys;

		keys = k->next;
		ranks_read(s, k->pids, k->n);	/* s is not shared yet */
		free(k->pids);
		free(k);
	}
}

/* A table read now, made the current one (@refs held); NULL with @err. */
static struct nm_status_procs *read_new(int refs, char *err)
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
	pthread_mutex_init(&s->ranks_lock, NULL);
	warm(s);
	s->refs = refs;
	pthread_mutex_lock(&lock);
	old = cur;
	cur = s;
	reads++;
	pthread_mutex_unlock(&lock);
	nm_status_procs_put(old);
	return s;
}

/* The thread goes on while status was asked for lately; else it ends. */
static bool still_asked(void)
{
	bool go;

	pthread_mutex_lock(&lock);
	go = ms_since(&asked) < NM_STATUS_PROCS_IDLE_MS;
	if (!go)
		refreshing = false;
	pthread_mutex_unlock(&lock);
	return go;
}

static void *refresh(void *arg)
{
	const struct timespec period = {
		.tv_sec = NM_STATUS_PROCS_PERIOD_MS / 1000,
		.tv_nsec = NM_STATUS_PROCS_PERIOD_MS % 1000 * 1000000L,
	};
	char err[NM_ERRLEN];

	(void)arg;
	pthread_setname_np(pthread_self(), "nm-procs");
	/* It answers status requests: ahead of the moves, as they are. */
	nm_priority_serve();
	do {
		nanosleep(&period, NULL);
		pthread_mutex_lock(&reading);
		if (!read_new(1, err))
			nm_log(LOG_WARNING, "status: no process table: %s",
			       err);
		pthread_mutex_unlock(&reading);
	} while (still_asked());
	return NULL;
}

/* A status asks now: the thread keeps the table fresh, started if need be. */
static void note_asked(void)
{
	pthread_attr_t attr;
	pthread_t th;
	bool start;

	pthread_mutex_lock(&lock);
	clock_gettime(CLOCK_MONOTONIC, &asked);
	start = !refreshing;
	refreshing = true;
	pthread_mutex_unlock(&lock);
	if (!start)
		return;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, refresh, NULL) != 0) {
		/* Requests read the table themselves, as they can. */
		pthread_mutex_lock(&lock);
		refreshing = false;
		pthread_mutex_unlock(&lock);
	}
	pthread_attr_destroy(&attr);
}

struct nm_status_procs *nm_status_procs_get(const pid_t *pids, int n,
					    char *err)
{
	struct nm_status_procs *s;

	note_asked();
	s = take_current(pids, n);
	if (s)
		return s;
	/* Those who came while it was read take that one: one pass. */
	pthread_mutex_lock(&reading);
	s = take_current(pids, n);
	if (!s) {
		s = read_new(2, err);
		pthread_mutex_lock(&lock);
		request_reads += s != NULL;
		pthread_mutex_unlock(&lock);
	}
	pthread_mutex_unlock(&reading);
	return s;
}

const struct nm_ptable *nm_status_procs_table(const struct nm_status_procs *s)
{
	return &s->t;
}

static struct ranks *ranks_find(struct nm_status_procs *s, const pid_t *pids,
				int n)
{
	for (struct ranks *r = s->ranks; r; r = r->next)
		if (r->n == n && !memcmp(r->pids, pids, (size_t)n * sizeof(*pids)))
			return r;
	return NULL;
}

static void ranks_free(struct ranks *r)
{
	if (!r)
		return;
	free(r->pids);
	free(r->rank);
	free(r->role);
	free(r);
}

/* The ranks of @pids read now, kept in @s; NULL: out of memory. */
static struct ranks *ranks_read(struct nm_status_procs *s, const pid_t *pids,
				int n)
{
	size_t k = (size_t)(n ? n : 1);
	struct ranks *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->n = n;
	r->pids = malloc(k * sizeof(*r->pids));
	r->rank = malloc(k * sizeof(*r->rank));
	r->role = malloc(k * sizeof(*r->role));
	if (!r->pids || !r->rank || !r->role ||
	    nm_mpi_ranks_of(pids, n, r->rank, r->role) < 0) {
		ranks_free(r);
		return NULL;
	}
	memcpy(r->pids, pids, (size_t)n * sizeof(*pids));
	r->next = s->ranks;
	s->ranks = r;
	return r;
}

int nm_status_procs_ranks(struct nm_status_procs *s, const pid_t *pids,
			  int n, int *rank, enum nm_task_role *role)
{
	struct ranks *r;

	pthread_mutex_lock(&s->ranks_lock);
	r = ranks_find(s, pids, n);
	if (!r)
		r = ranks_read(s, pids, n);
	if (r) {
		r->asked = true;
		memcpy(rank, r->rank, (size_t)n * sizeof(*rank));
		memcpy(role, r->role, (size_t)n * sizeof(*role));
	}
	pthread_mutex_unlock(&s->ranks_lock);
	return r ? 0 : -1;
}

void nm_status_procs_put(struct nm_status_procs *s)
{
	bool last;

	if (!s)
		return;
	pthread_mutex_lock(&lock);
	last = --s->refs == 0;
	pthread_mutex_unlock(&lock);
	if (!last)
		return;
	while (s->ranks) {
		struct ranks *r = s->ranks;

		s->ranks = r->next;
		ranks_free(r);
	}
	pthread_mutex_destroy(&s->ranks_lock);
	nm_ptable_free(&s->t);
	free(s);
}

unsigned long nm_status_procs_reads(void)
{
	unsigned long n;

	pthread_mutex_lock(&lock);
	n = reads;
	pthread_mutex_unlock(&lock);
	return n;
}

unsigned long nm_status_procs_request_reads(void)
{
	unsigned long n;

	pthread_mutex_lock(&lock);
	n = request_reads;
	pthread_mutex_unlock(&lock);
	return n;
}
