/* SPDX-License-Identifier: MIT */
#ifndef NM_MOVE_QUEUE_H
#define NM_MOVE_QUEUE_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "lib/base/bitmap.h"
#include "lib/base/error.h"

/*
 * Reservations of NUMA node sets for moves.  A move runs once it holds
 * every node it touches; moves whose node sets are disjoint run at the
 * same time, overlapping ones wait in order: a move waits for every
 * running move it overlaps and for every waiting move ahead of it that it
 * overlaps.  "Ahead" is a higher priority (repack, restore) or the same
 * priority and an earlier arrival, so a priority move passes waiting
 * users' moves but never stops a running one.  Each wait is bounded by a
 * deadline; a move that reaches it is refused with the reason.
 */
enum nm_mq_prio { NM_MQ_USER = 0, NM_MQ_PRIORITY = 1 };

struct nm_mq_entry {
	/* Set by the caller before nm_mq_enter(). */
	unsigned long id;		/* the move's, for status and logs */
	uid_t uid;
	enum nm_mq_prio prio;
	char what[128];
	/* Owned by the queue. */
	struct nm_bitmap nodes;		/* OS node numbers asked for */
	unsigned long seq;		/* arrival order */
	enum { NM_MQ_PLANNING, NM_MQ_WAITING, NM_MQ_RUNNING } state;
	struct timespec since;		/* CLOCK_MONOTONIC: its arrival */
	struct timespec deadline;	/* the end of its waits */
	struct nm_mq_entry *next;
};

struct nm_mq {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct nm_mq_entry *head;	/* in arrival order */
	unsigned long next_seq;
	bool closed;			/* nm_mq_close(): no more grants */
	char why[128];
};

void nm_mq_init(struct nm_mq *q);
void nm_mq_destroy(struct nm_mq *q);

/* Joins the queue, holding nothing yet; its waits end @wait_ms from now. */
void nm_mq_enter(struct nm_mq *q, struct nm_mq_entry *e, int wait_ms);

/*
 * Waits until @e may hold @nodes (in place of what it held, which it lets
 * go meanwhile: no move holds nodes while it waits, so two cannot wait on
 * each other), keeping its place in the queue.  0: granted, *@waited
 * true when it had to wait; -1: the deadline passed, @err says for what.
 */
int nm_mq_acquire(struct nm_mq *q, struct nm_mq_entry *e,
		  const struct nm_bitmap *nodes, bool *waited, char *err);

/*
 * Adds @nodes to what a running @e holds, without waiting: 0 when no
 * running move holds any of them, else -1 and @err names it.
 */
int nm_mq_extend(struct nm_mq *q, struct nm_mq_entry *e,
		 const struct nm_bitmap *nodes, char *err);

/*
 * No move is granted nodes any more: every wait ends now, refused with
 * @why ("the daemon is stopping"), and so does every later acquire.
 * Moves that hold nodes keep them until they leave.
 */
void nm_mq_close(struct nm_mq *q, const char *why);

/* Leaves the queue (running or not) and wakes who waited for it. */
void nm_mq_leave(struct nm_mq *q, struct nm_mq_entry *e);

/*
 * The waiting moves, in the order they will be served (position 1
 * first): id, uid, what, priority, nodes, position, seconds, reason;
 * those of @uid only unless (uid_t)-1 (positions count every move).
 */
json_t *nm_mq_waiting(struct nm_mq *q, uid_t uid);

/* How many moves run now (for tests and status). */
int nm_mq_running(struct nm_mq *q);

#endif
