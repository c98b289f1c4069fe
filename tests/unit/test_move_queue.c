/* SPDX-License-Identifier: MIT */
/*
 * The move queue (helper/daemon/move_queue.c): disjoint node sets run
 * together, overlapping ones wait in order, priority moves go first,
 * waits end at their deadline, and two moves that grow their sets cannot
 * wait on each other.
 */
#include <pthread.h>
#include <unistd.h>

#include "testutil.h"
#include "helper/daemon/move_queue.h"

static struct nm_mq q;

/* A move: @id, @prio, @wait_ms; entered into q. */
static void enter(struct nm_mq_entry *e, unsigned long id, enum nm_mq_prio p,
		  int wait_ms)
{
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->uid = (uid_t)(1000 + id);
	e->prio = p;
	snprintf(e->what, sizeof(e->what), "job %lu", id);
	nm_mq_enter(&q, e, wait_ms);
}

static struct nm_bitmap nodes(const char *list)
{
	struct nm_bitmap b;
	char err[NM_ERRLEN];

	assert_int_equal(nm_list_parse(list, &b, NM_MAX_NODES, 0, "node list",
				       err), 0);
	return b;
}

/* Acquires without waiting, or fails the test. */
static void take_now(struct nm_mq_entry *e, const char *list)
{
	struct nm_bitmap b = nodes(list);
	char err[NM_ERRLEN] = "";
	bool waited;

	assert_int_equal(nm_mq_acquire(&q, e, &b, &waited, err), 0);
	assert_false(waited);
}

/* A move acquiring in its own thread. */
struct waiter {
	pthread_t th;
	struct nm_mq_entry *e;
	struct nm_bitmap want;
	int rc;
	bool waited;
	bool done;
	char err[NM_ERRLEN];
	pthread_mutex_t lock;
};

static void *waiter_run(void *arg)
{
	struct waiter *w = arg;
	int rc = nm_mq_acquire(&q, w->e, &w->want, &w->waited, w->err);

	pthread_mutex_lock(&w->lock);
	w->rc = rc;
	w->done = true;
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static bool waiter_done(struct waiter *w)
{
	bool d;

	pthread_mutex_lock(&w->lock);
	d = w->done;
	pthread_mutex_unlock(&w->lock);
	return d;
}

/* The waiting entry of move @id in status (NULL: not waiting). */
static json_t *queued(json_t *a, unsigned long id)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
		if ((unsigned long)json_integer_value(json_object_get(v, "id"))
		    == id)
			return v;
	return NULL;
}

/* Starts @w for @e and returns once the queue lists it as waiting. */
static void start_waiter(struct waiter *w, struct nm_mq_entry *e,
			 const char *list)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	w->e = e;
	w->want = nodes(list);
	assert_int_equal(pthread_create(&w->th, NULL, waiter_run, w), 0);
	for (int i = 0; i < 500; i++) {
		json_t *a = nm_mq_waiting(&q, (uid_t)-1);
		bool in = queued(a, e->id) != NULL;

		json_decref(a);
		if (in)
			return;
		assert_false(waiter_done(w));
		usleep(2000);
	}
	fail_msg("move %lu never showed as waiting", e->id);
}

/* Joins @w, which must have been granted (@granted) or refused. */
static void join_waiter(struct waiter *w, bool granted)
{
	assert_int_equal(pthread_join(w->th, NULL), 0);
	assert_int_equal(w->rc, granted ? 0 : -1);
	pthread_mutex_destroy(&w->lock);
}

/* @w is still waiting a moment later. */
static void still_waiting(struct waiter *w)
{
	usleep(20000);
	assert_false(waiter_done(w));
}

static int setup(void **state)
{
	(void)state;
	nm_mq_init(&q);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_null(q.head);	/* every test leaves the queue empty */
	nm_mq_destroy(&q);
	return 0;
}

static void test_disjoint_run_together(void **state)
{
	struct nm_mq_entry a, b, c;

	(void)state;
	enter(&a, 1, NM_MQ_USER, 1000);
	enter(&b, 2, NM_MQ_USER, 1000);
	enter(&c, 3, NM_MQ_PRIORITY, 1000);
	take_now(&a, "0-1");
	take_now(&b, "2,3");
	take_now(&c, "4-7");
	assert_int_equal(nm_mq_running(&q), 3);
	nm_mq_leave(&q, &a);
	nm_mq_leave(&q, &b);
	nm_mq_leave(&q, &c);
	assert_int_equal(nm_mq_running(&q), 0);
}

static void test_overlap_waits_then_runs(void **state)
{
	struct nm_mq_entry a, b;
	struct waiter w;
	json_t *st, *v;

	(void)state;
	enter(&a, 1, NM_MQ_USER, 5000);
	enter(&b, 2, NM_MQ_USER, 5000);
	take_now(&a, "0-1");
	start_waiter(&w, &b, "1-2");
	still_waiting(&w);
	st = nm_mq_waiting(&q, (uid_t)-1);
	v = queued(st, 2);
	assert_non_null(v);
	assert_int_equal(json_integer_value(json_object_get(v, "position")), 1);
	assert_string_equal(json_string_value(json_object_get(v, "nodes")),
			    "1-2");
	assert_string_equal(json_string_value(json_object_get(v, "reason")),
			    "node 1 held by move 1 (job 1)");
	assert_string_equal(json_string_value(json_object_get(v, "priority")),
			    "user");
	json_decref(st);
	/* Another uid's view: not listed. */
	st = nm_mq_waiting(&q, 5);
	assert_int_equal(json_array_size(st), 0);
	json_decref(st);
	nm_mq_leave(&q, &a);
	join_waiter(&w, true);
	assert_true(w.waited);
	assert_int_equal(nm_mq_running(&q), 1);
	nm_mq_leave(&q, &b);
}

/*
 * FIFO per overlap: a later move that overlaps a waiting one waits behind
 * it even when its own nodes are free; one that overlaps nothing runs.
 */
static void test_fifo_per_overlap(void **state)
{
	struct nm_mq_entry a, b, c, d;
	struct waiter wb, wc;
	json_t *st;

	(void)state;
	enter(&a, 1, NM_MQ_USER, 5000);
	enter(&b, 2, NM_MQ_USER, 5000);
	enter(&c, 3, NM_MQ_USER, 5000);
	enter(&d, 4, NM_MQ_USER, 5000);
	take_now(&a, "0");
	start_waiter(&wb, &b, "0-1");
	start_waiter(&wc, &c, "1");	/* node 1 is free, but b is first */
	take_now(&d, "5");		/* overlaps nobody */
	st = nm_mq_waiting(&q, (uid_t)-1);
	assert_int_equal(json_array_size(st), 2);
	assert_int_equal(json_integer_value(json_object_get(
		json_array_get(st, 0), "id")), 2);
	assert_int_equal(json_integer_value(json_object_get(
		queued(st, 3), "position")), 2);
	assert_string_equal(json_string_value(json_object_get(
		queued(st, 3), "reason")),
		"node 1 wanted first by move 2 (job 2)");
	json_decref(st);
	nm_mq_leave(&q, &a);
	join_waiter(&wb, true);
	still_waiting(&wc);
	nm_mq_leave(&q, &b);
	join_waiter(&wc, true);
	nm_mq_leave(&q, &c);
	nm_mq_leave(&q, &d);
}

/* Repack and restore pass waiting users' moves, not running ones. */
static void test_priority_goes_first(void **state)
{
	struct nm_mq_entry a, b, p;
	struct waiter wb, wp;
	json_t *st;

	(void)state;
	enter(&a, 1, NM_MQ_USER, 5000);
	enter(&b, 2, NM_MQ_USER, 5000);
	enter(&p, 3, NM_MQ_PRIORITY, 5000);
	take_now(&a, "0-1");
	start_waiter(&wb, &b, "1");
	start_waiter(&wp, &p, "0");
	st = nm_mq_waiting(&q, (uid_t)-1);
	assert_int_equal(json_integer_value(json_object_get(
		queued(st, 3), "position")), 1);
	assert_string_equal(json_string_value(json_object_get(
		queued(st, 3), "priority")), "repack");
	assert_int_equal(json_integer_value(json_object_get(
		queued(st, 2), "position")), 2);
	assert_int_equal(json_integer_value(json_object_get(
		json_array_get(st, 0), "id")), 3);
	json_decref(st);
	still_waiting(&wp);		/* a running move is never stopped */
	nm_mq_leave(&q, &a);
	join_waiter(&wp, true);
	/* b's node 1 is free, p holds only 0: b runs too. */
	join_waiter(&wb, true);
	nm_mq_leave(&q, &p);
	nm_mq_leave(&q, &b);
}

/* A priority move that overlaps a waiting user's move goes before it. */
static void test_priority_passes_waiting_user(void **state)
{
	struct nm_mq_entry a, b, p;
	struct waiter wb, wp;

	(void)state;
	enter(&a, 1, NM_MQ_USER, 5000);
	enter(&b, 2, NM_MQ_USER, 5000);
	enter(&p, 3, NM_MQ_PRIORITY, 5000);
	take_now(&a, "0");
	start_waiter(&wb, &b, "0");
	start_waiter(&wp, &p, "0");
	nm_mq_leave(&q, &a);
	join_waiter(&wp, true);
	still_waiting(&wb);
	nm_mq_leave(&q, &p);
	join_waiter(&wb, true);
	nm_mq_leave(&q, &b);
}

static void test_deadline(void **state)
{
	struct nm_mq_entry a, b;
	struct nm_bitmap want = nodes("0");
	char err[NM_ERRLEN] = "";
	struct timespec t0, t1;
	bool waited;
	double s;

	(void)state;
	enter(&a, 1, NM_MQ_USER, 5000);
	enter(&b, 2, NM_MQ_USER, 150);
	take_now(&a, "0");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(nm_mq_acquire(&q, &b, &want, &waited, err), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
	assert_true(s >= 0.14 && s < 2.0);
	assert_non_null(strstr(err, "busy: waited"));
	assert_non_null(strstr(err, "node 0 held by move 1 (job 1)"));
	/* Refused: it holds nothing, is listed nowhere, blocks nobody. */
	assert_int_equal(nm_mq_running(&q), 1);
	nm_mq_leave(&q, &b);
	nm_mq_leave(&q, &a);
}

static void test_extend(void **state)
{
	struct nm_mq_entry a, b;
	struct nm_bitmap x;
	char err[NM_ERRLEN] = "";

	(void)state;
	enter(&a, 1, NM_MQ_USER, 1000);
	enter(&b, 2, NM_MQ_USER, 1000);
	take_now(&a, "0");
	take_now(&b, "2");
	x = nodes("1-2");
	assert_int_equal(nm_mq_extend(&q, &a, &x, err), -1);
	assert_non_null(strstr(err, "node 2 held by move 2"));
	x = nodes("3");
	assert_int_equal(nm_mq_extend(&q, &a, &x, err), 0);
	x = nodes("0,3");
	assert_true(nm_bitmap_equal(&a.nodes, &x));
	nm_mq_leave(&q, &a);
	nm_mq_leave(&q, &b);
}

/*
 * Two running moves that each need the other's nodes: each lets its own
 * go while it waits, so the first in the queue runs, then the other.
 */
static void test_no_deadlock_when_growing(void **state)
{
	struct nm_mq_entry a, b;
	struct waiter wb;

	(void)state;
	enter(&a, 1, NM_MQ_USER, 5000);
	enter(&b, 2, NM_MQ_USER, 5000);
	take_now(&a, "0");
	take_now(&b, "1");
	start_waiter(&wb, &b, "0-1");	/* b lets 1 go, waits for 0 */
	take_now(&a, "0-1");		/* a is first: it gets both now */
	still_waiting(&wb);
	nm_mq_leave(&q, &a);
	join_waiter(&wb, true);
	nm_mq_leave(&q, &b);
}

/* Closed (the daemon stops): waits end at once, refused, nothing granted. */
static void test_close(void **state)
{
	struct nm_mq_entry a, b, c;
	struct nm_bitmap want = nodes("3");
	char err[NM_ERRLEN] = "";
	struct waiter wb;
	bool waited;

	(void)state;
	enter(&a, 1, NM_MQ_USER, 60000);
	enter(&b, 2, NM_MQ_PRIORITY, 60000);
	enter(&c, 3, NM_MQ_USER, 60000);
	take_now(&a, "0");
	start_waiter(&wb, &b, "0");
	nm_mq_close(&q, "the daemon is stopping");
	join_waiter(&wb, false);
	assert_string_equal(wb.err, "not started: the daemon is stopping");
	assert_int_equal(nm_mq_acquire(&q, &c, &want, &waited, err), -1);
	assert_int_equal(nm_mq_running(&q), 1);	/* a keeps its nodes */
	nm_mq_leave(&q, &c);
	nm_mq_leave(&q, &b);
	nm_mq_leave(&q, &a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_disjoint_run_together,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap_waits_then_runs,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_per_overlap, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_priority_goes_first,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_priority_passes_waiting_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadline, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_extend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_deadlock_when_growing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_close, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
