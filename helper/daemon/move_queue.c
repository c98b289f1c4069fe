/* SPDX-License-Identifier: MIT */
/*
 * Reservations of node sets for moves (move_queue.h): a list in arrival
 * order under one mutex; a condition variable wakes the waiters whenever
 * a move lets nodes go.  Few moves run on a host at once, so each check
 * walks the list.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "helper/daemon/move_queue.h"

void nm_mq_init(struct nm_mq *q)
{
	pthread_condattr_t ca;

	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->lock, NULL);
	/* Deadlines on the monotonic clock: no clock step shortens them. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->changed, &ca);
	pthread_condattr_destroy(&ca);
}

void nm_mq_destroy(struct nm_mq *q)
{
	pthread_cond_destroy(&q->changed);
	pthread_mutex_destroy(&q->lock);
}

void nm_mq_enter(struct nm_mq *q, struct nm_mq_entry *e, int wait_ms)
{
	struct nm_mq_entry **p;

	nm_bitmap_zero(&e->nodes);
	e->state = NM_MQ_PLANNING;
	e->next = NULL;
	clock_gettime(CLOCK_MONOTONIC, &e->since);
	e->deadline = e->since;
	e->deadline.tv_sec += wait_ms / 1000;
	e->deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (e->deadline.tv_nsec >= 1000000000L) {
		e->deadline.tv_sec++;
		e->deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&q->lock);
	e->seq = ++q->next_seq;
	for (p = &q->head; *p; p = &(*p)->next)
		;
	*p = e;
	pthread_mutex_unlock(&q->lock);
}

/* Served before @b: a higher priority, or the same and earlier. */
static bool ahead(const struct nm_mq_entry *a, const struct nm_mq_entry *b)
{
	return a->prio != b->prio ? a->prio > b->prio : a->seq < b->seq;
}

/* The first move @e must wait for to hold @nodes; NULL: none. */
static const struct nm_mq_entry *blocker(const struct nm_mq *q,
					 const struct nm_mq_entry *e,
					 const struct nm_bitmap *nodes)
{
	const struct nm_mq_entry *o, *waiting = NULL;

	for (o = q->head; o; o = o->next) {
		if (o == e || !nm_bitmap_intersects(&o->nodes, nodes))
			continue;
		if (o->state == NM_MQ_RUNNING)
			return o;
		if (o->state == NM_MQ_WAITING && ahead(o, e) && !waiting)
			waiting = o;
	}
	return waiting;
}

/* Why @e waits for @b, in words: "node(s) 0-1 held by move 3 (job 7)". */
static void why(const struct nm_mq_entry *e, const struct nm_mq_entry *b,
		char *buf, size_t len)
{
	struct nm_bitmap both = e->nodes;
	char list[64];

	nm_bitmap_and(&both, &b->nodes);
	nm_list_format(&both, list, sizeof(list));
	snprintf(buf, len, "node%s %s %s by move %lu (%s)",
		 nm_bitmap_weight(&both) > 1 ? "s" : "", list,
		 b->state == NM_MQ_RUNNING ? "held" : "wanted first", b->id,
		 b->what);
}

static double seconds_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) +
	       (double)(now.tv_nsec - t->tv_nsec) * 1e-9;
}

int nm_mq_acquire(struct nm_mq *q, struct nm_mq_entry *e,
		  const struct nm_bitmap *nodes, bool *waited, char *err)
{
	const struct nm_mq_entry *b;
	char reason[NM_ERRLEN];

	*waited = false;
	pthread_mutex_lock(&q->lock);
	/* What it held is free while it waits: others may go first. */
	if (e->state == NM_MQ_RUNNING)
		pthread_cond_broadcast(&q->changed);
	e->nodes = *nodes;
	e->state = NM_MQ_WAITING;
	while (!q->closed && (b = blocker(q, e, &e->nodes))) {
		*waited = true;
		if (pthread_cond_timedwait(&q->changed, &q->lock,
					   &e->deadline) == ETIMEDOUT &&
		    (b = blocker(q, e, &e->nodes))) {
			why(e, b, reason, sizeof(reason));
			nm_seterr(err, "busy: waited %.0f s in the queue, the "
				  "longest allowed: %s", seconds_since(
				  &e->since), reason);
			e->state = NM_MQ_PLANNING;
			nm_bitmap_zero(&e->nodes);
			pthread_mutex_unlock(&q->lock);
			return -1;
		}
	}
	if (q->closed) {
		nm_seterr(err, "not started: %s", q->why);
		e->state = NM_MQ_PLANNING;
		nm_bitmap_zero(&e->nodes);
		pthread_mutex_unlock(&q->lock);
		return -1;
	}
	e->state = NM_MQ_RUNNING;
	pthread_mutex_unlock(&q->lock);
	return 0;
}

void nm_mq_close(struct nm_mq *q, const char *why)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	snprintf(q->why, sizeof(q->why), "%s", why);
	pthread_cond_broadcast(&q->changed);
	pthread_mutex_unlock(&q->lock);
}

int nm_mq_extend(struct nm_mq *q, struct nm_mq_entry *e,
		 const struct nm_bitmap *nodes, char *err)
{
	const struct nm_mq_entry *b;
	struct nm_bitmap extra = *nodes;
	char reason[NM_ERRLEN];
	int rc = 0;

	pthread_mutex_lock(&q->lock);
	b = blocker(q, e, &extra);
	if (q->closed) {
		nm_seterr(err, "not started: %s", q->why);
		rc = -1;
	} else if (b) {
		struct nm_mq_entry probe = *e;

		probe.nodes = extra;
		why(&probe, b, reason, sizeof(reason));
		nm_seterr(err, "busy: %s", reason);
		rc = -1;
	} else {
		nm_bitmap_or(&e->nodes, &extra);
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

void nm_mq_leave(struct nm_mq *q, struct nm_mq_entry *e)
{
	struct nm_mq_entry **p;

	pthread_mutex_lock(&q->lock);
	for (p = &q->head; *p; p = &(*p)->next)
		if (*p == e) {
			*p = e->next;
			break;
		}
	pthread_cond_broadcast(&q->changed);
	pthread_mutex_unlock(&q->lock);
}

/* 1 + the waiting moves served before @e. */
static int position(const struct nm_mq *q, const struct nm_mq_entry *e)
{
	int pos = 1;

	for (const struct nm_mq_entry *o = q->head; o; o = o->next)
		pos += o != e && o->state == NM_MQ_WAITING && ahead(o, e);
	return pos;
}

static json_t *entry_json(const struct nm_mq *q, const struct nm_mq_entry *e)
{
	const struct nm_mq_entry *b = blocker(q, e, &e->nodes);
	char list[64], reason[NM_ERRLEN] = "its turn (being granted)";

	nm_list_format(&e->nodes, list, sizeof(list));
	if (b)
		why(e, b, reason, sizeof(reason));
	return json_pack("{s:I, s:I, s:s, s:s, s:s, s:i, s:f, s:s}",
			 "id", (json_int_t)e->id, "uid", (json_int_t)e->uid,
			 "what", e->what, "priority",
			 e->prio == NM_MQ_PRIORITY ? "repack" : "user",
			 "nodes", list, "position", position(q, e),
			 "seconds", seconds_since(&e->since),
			 "reason", reason);
}

/* Sorted by position: insertion by position into @a. */
json_t *nm_mq_waiting(struct nm_mq *q, uid_t uid)
{
	json_t *a = json_array();

	if (!a)
		return NULL;
	pthread_mutex_lock(&q->lock);
	for (const struct nm_mq_entry *e = q->head; e; e = e->next) {
		json_t *o;
		size_t at;
		int pos;

		if (e->state != NM_MQ_WAITING ||
		    (uid != (uid_t)-1 && e->uid != uid))
			continue;
		o = entry_json(q, e);
		if (!o)
			continue;
		pos = position(q, e);
		for (at = 0; at < json_array_size(a); at++)
			if (json_integer_value(json_object_get(json_array_get(
				a, at), "position")) > pos)
				break;
		json_array_insert_new(a, at, o);
	}
	pthread_mutex_unlock(&q->lock);
	return a;
}

int nm_mq_running(struct nm_mq *q)
{
	int n = 0;

	pthread_mutex_lock(&q->lock);
	for (const struct nm_mq_entry *e = q->head; e; e = e->next)
		n += e->state == NM_MQ_RUNNING;
	pthread_mutex_unlock(&q->lock);
	return n;
}
