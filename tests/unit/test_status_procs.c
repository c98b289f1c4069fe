/* SPDX-License-Identifier: MIT */
/*
 * The process table status requests share (helper/daemon/status_procs.c):
 * a fresh table is shared, not read again; a process it does not hold, or
 * its age, makes a new one; callers arriving together read /proc once; a
 * table replaced while held stays valid until given back (ASan checks).
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

static void wait_out_age(void)
{
	usleep((NM_STATUS_PROCS_MAX_AGE_MS + 50) * 1000);
}

static void test_shared_while_fresh(void **state)
{
	struct nm_status_procs *a, *b, *c;
	unsigned long r0;
	pid_t child;

	(void)state;
	wait_out_age();
	r0 = nm_status_procs_reads();
	a = get(getpid());
	b = get(getpid());
	assert_ptr_equal(a, b);
	assert_int_equal(nm_status_procs_reads(), r0 + 1);
	/* A process born since: the table is read again. */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	c = get(child);
	assert_ptr_not_equal(c, a);
	assert_int_equal(nm_status_procs_reads(), r0 + 2);
	assert_true(nm_ptable_has(nm_status_procs_table(c), child));
	/* The old one, replaced, is still whole while held. */
	assert_true(nm_ptable_has(nm_status_procs_table(a), getpid()));
	nm_status_procs_put(a);
	nm_status_procs_put(b);
	nm_status_procs_put(c);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	/* Too old: read again. */
	wait_out_age();
	a = get(getpid());
	assert_int_equal(nm_status_procs_reads(), r0 + 3);
	nm_status_procs_put(a);
}

#define CALLERS 16
static pthread_barrier_t start;

static void *caller(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&start);
	nm_status_procs_put(get(getpid()));
	return NULL;
}

static void test_callers_together(void **state)
{
	pthread_t th[CALLERS];
	unsigned long r0;

	(void)state;
	wait_out_age();
	r0 = nm_status_procs_reads();
	pthread_barrier_init(&start, NULL, CALLERS);
	for (int i = 0; i < CALLERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, caller, NULL),
				 0);
	for (int i = 0; i < CALLERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	/* One read for them all (two if a busy machine stalled a caller
	 * past the table's age). */
	assert_in_range(nm_status_procs_reads() - r0, 1, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared_while_fresh),
		cmocka_unit_test(test_callers_together),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
