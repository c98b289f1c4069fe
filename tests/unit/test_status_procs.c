/* SPDX-License-Identifier: MIT */
/*
 * The process table status requests share (helper/daemon/status_procs.c):
 * while status is asked for, a thread of its own reads it and requests
 * read nothing; a process it does not hold makes a request read a new
 * one, callers arriving together reading /proc once; a table replaced
 * while held stays valid until given back (ASan checks); a job's ranks
 * are those nm_mpi_ranks_of() reads.
 */
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper/daemon/status_procs.h"

static struct nm_status_procs *get(pid_t pid)
{
	char err[NM_ERRLEN] = "";
	struct nm_status_procs *s = nm_status_procs_get(&pid, 1, err);

	if (!s)
		fail_msg("nm_status_procs_get: %s", err);
	return s;
}

static pid_t child_born(void)
{
	pid_t child = fork();

	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	return child;
}

static void child_gone(pid_t child)
{
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

static void test_thread_keeps_it_fresh(void **state)
{
	struct nm_status_procs *a, *c;
	unsigned long r0, q0;
	pid_t child;

	(void)state;
	nm_status_procs_put(get(getpid()));
	/* Asked for: the thread reads it, the requests do not. */
	r0 = nm_status_procs_reads();
	q0 = nm_status_procs_request_reads();
	for (int i = 0; i < 6; i++) {
		usleep(NM_STATUS_PROCS_PERIOD_MS * 1000 / 2);
		a = get(getpid());
		assert_true(nm_ptable_has(nm_status_procs_table(a), getpid()));
		nm_status_procs_put(a);
	}
	assert_true(nm_status_procs_reads() >= r0 + 2);
	assert_int_equal(nm_status_procs_request_reads(), q0);
	/* A process born since: the request reads it (or the thread did). */
	a = get(getpid());
	child = child_born();
	c = get(child);
	assert_true(nm_status_procs_request_reads() <= q0 + 1);
	assert_true(nm_ptable_has(nm_status_procs_table(c), child));
	/* The old one, replaced, is still whole while held. */
	assert_true(nm_ptable_has(nm_status_procs_table(a), getpid()));
	nm_status_procs_put(a);
	nm_status_procs_put(c);
	child_gone(child);
}

static void test_ranks(void **state)
{
	pid_t self = getpid();
	struct nm_status_procs *s = get(self);
	enum nm_task_role role[1], want_role[1];
	int rank[1], want_rank[1];

	(void)state;
	assert_int_equal(nm_mpi_ranks_of(&self, 1, want_rank, want_role), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(nm_status_procs_ranks(s, &self, 1, rank, role),
				 0);
		assert_int_equal(rank[0], want_rank[0]);
		assert_int_equal(role[0], want_role[0]);
	}
	nm_status_procs_put(s);
}

#define CALLERS 16
static pthread_barrier_t start;

static void *caller(void *arg)
{
	pthread_barrier_wait(&start);
	nm_status_procs_put(get(*(pid_t *)arg));
	return NULL;
}

static void test_callers_together(void **state)
{
	pthread_t th[CALLERS];
	unsigned long q0;
	pid_t child;

	(void)state;
	q0 = nm_status_procs_request_reads();
	/* A process no table holds yet: they all need a new one. */
	child = child_born();
	pthread_barrier_init(&start, NULL, CALLERS);
	for (int i = 0; i < CALLERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, caller, &child),
				 0);
	for (int i = 0; i < CALLERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	child_gone(child);
	/* One read for them all, or none when the thread read it first. */
	assert_in_range(nm_status_procs_request_reads() - q0, 0, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thread_keeps_it_fresh),
		cmocka_unit_test(test_ranks),
		cmocka_unit_test(test_callers_together),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
