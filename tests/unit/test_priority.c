/* SPDX-License-Identifier: MIT */
/*
 * Requests ahead of the moves' bulk work (helper/daemon/priority.c): an
 * answering thread runs NM_SERVE_BOOST nice levels above the daemon, a
 * thread that starts a move goes back to the daemon's level, and the
 * threads it starts (the engine's) inherit that level, not the boost;
 * other threads keep theirs (the level is per thread).
 */
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper/daemon/priority.h"

static int my_nice(void)
{
	errno = 0;
	return getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
}

static void *level_of_new_thread(void *arg)
{
	*(int *)arg = my_nice();
	return NULL;
}

struct levels {
	int serving, working, engine;
};

/* What a connection's thread goes through: serve, then a move. */
static void *connection(void *arg)
{
	struct levels *l = arg;
	pthread_t th;

	nm_priority_serve();
	l->serving = my_nice();
	nm_priority_work();
	l->working = my_nice();
	pthread_create(&th, NULL, level_of_new_thread, &l->engine);
	pthread_join(th, NULL);
	return NULL;
}

static void test_levels(void **state)
{
	struct levels l;
	pthread_t th;
	int base;

	(void)state;
	if (geteuid() != 0)
		fail_msg("needs root: raising a thread's priority takes "
			 "CAP_SYS_NICE");
	base = my_nice();
	nm_priority_init();
	assert_int_equal(pthread_create(&th, NULL, connection, &l), 0);
	pthread_join(th, NULL);
	assert_int_equal(l.serving, base - NM_SERVE_BOOST < -20 ? -20 :
			 base - NM_SERVE_BOOST);
	assert_int_equal(l.working, base);
	assert_int_equal(l.engine, base);
	/* This thread (the daemon's main one) was left alone. */
	assert_int_equal(my_nice(), base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
