/* SPDX-License-Identifier: MIT */
/*
 * Re-pinning threads.  This machine has one NUMA node; a described
 * topology that calls each CPU a node lets a real 0<->1 swap run here.
 */
#include "testutil.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper/engine/rebind.h"
#include "pidtest.h"

static int pipe_up[2];

static void pin(int a, int b)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(a, &s);
	if (b >= 0)
		CPU_SET(b, &s);
	sched_setaffinity(0, sizeof(s), &s);
}

static void *thr(void *arg)
{
	int which = (int)(intptr_t)arg;
	pid_t msg[2] = { which, (pid_t)syscall(SYS_gettid) };

	pin(which == 2 ? 0 : which, which == 2 ? 1 : -1);
	if (write(pipe_up[1], msg, sizeof(msg)) != sizeof(msg))
		_exit(1);
	for (;;)
		pause();
	return NULL;
}

/* A child with threads on CPU 0, CPU 1 and CPUs 0-1. */
static pid_t spawn(pid_t tids[3])
{
	pid_t pid;

	assert_int_equal(pipe(pipe_up), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pthread_t t[3];

		for (intptr_t i = 0; i < 3; i++)
			pthread_create(&t[i], NULL, thr, (void *)i);
		for (;;)
			pause();
	}
	/* the threads report in any order: which, tid */
	for (int i = 0; i < 3; i++) {
		pid_t msg[2];

		assert_int_equal(read(pipe_up[0], msg, sizeof(msg)),
				 sizeof(msg));
		assert_true(msg[0] >= 0 && msg[0] < 3);
		tids[msg[0]] = msg[1];
	}
	close(pipe_up[0]);
	close(pipe_up[1]);
	return pid;
}

static int mask_of(pid_t tid)
{
	cpu_set_t s;
	int m = 0;

	assert_int_equal(sched_getaffinity(tid, sizeof(s), &s), 0);
	for (int c = 0; c < 2; c++)
		if (CPU_ISSET(c, &s))
			m |= 1 << c;
	return m;
}

/* Two "nodes", one CPU each. */
static struct nm_topology *two_cpu_nodes(void)
{
	char err[NM_ERRLEN] = "";
	struct nm_topology *t = nm_topology_alloc(2, err);

	assert_non_null(t);
	for (int n = 0; n < 2; n++) {
		t->nodes[n].os = n;
		nm_bitmap_set(&t->nodes[n].cpus, (unsigned int)n);
		t->nodes[n].total_bytes = 1ull << 30;
		for (int m = 0; m < 2; m++)
			t->dist[n * 2 + m] = n == m ? 10 : 20;
	}
	if (nm_topology_finish(t, err) < 0)
		fail_msg("%s", err);
	return t;
}

static void test_swap(void **state)
{
	struct nm_topology *t;
	int swap[2] = { 1, 0 }, ident[2] = { 0, 1 };
	char err[NM_ERRLEN] = "";
	pid_t tids[3], pid;
	int n;

	(void)state;
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		skip();	/* needs two CPUs; shown as SKIPPED */
	t = two_cpu_nodes();
	pid = spawn(tids);
	assert_int_equal(mask_of(tids[0]), 1);
	assert_int_equal(mask_of(tids[1]), 2);
	assert_int_equal(mask_of(tids[2]), 3);
	n = nm_rebind_process(t, swap, pid, err);
	if (n < 0)
		fail_msg("%s", err);
	assert_int_equal(n, 4);	/* main thread + 3 */
	assert_int_equal(mask_of(tids[0]), 2);
	assert_int_equal(mask_of(tids[1]), 1);
	assert_int_equal(mask_of(tids[2]), 3);
	/* once per thread: a second run swaps back, not further */
	assert_int_equal(nm_rebind_process(t, swap, pid, err), 4);
	assert_int_equal(mask_of(tids[0]), 1);
	assert_int_equal(mask_of(tids[1]), 2);
	assert_int_equal(nm_rebind_process(t, ident, pid, err), 4);
	assert_int_equal(mask_of(tids[0]), 1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	nm_topology_free(t);
}

static void test_errors(void **state)
{
	struct nm_topology *t = two_cpu_nodes();
	int swap[2] = { 1, 0 };
	char err[NM_ERRLEN] = "";
	pid_t dead = fork();

	(void)state;
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	assert_int_equal(nm_rebind_process(t, swap, dead, err), -1);
	assert_non_null(strstr(err, "no such process"));
	assert_int_equal(nm_rebind_process(t, NULL, getpid(), err), -1);
	assert_int_equal(nm_rebind_process(t, swap, 0, err), -1);
	nm_topology_free(t);
}

/*
 * Through a handle: its process is re-pinned; a handle whose process is
 * gone re-pins nothing at that pid, though another process answers there
 * (the pid taken over, made here by pointing the dead handle at a live
 * process's pid).
 */
static void test_handle(void **state)
{
	struct nm_topology *t;
	struct nm_pidref ref, stale;
	int swap[2] = { 1, 0 };
	char err[NM_ERRLEN] = "";
	pid_t tids[3], pid;

	(void)state;
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		skip();	/* needs two CPUs; shown as SKIPPED */
	t = two_cpu_nodes();
	pid = spawn(tids);
	assert_int_equal(nm_pidref_open(&ref, pid, err), 0);
	assert_int_equal(nm_rebind_ref(t, swap, &ref, err), 4);
	assert_int_equal(mask_of(tids[0]), 2);
	stale = stale_ref(pid);
	assert_int_equal(nm_rebind_ref(t, swap, &stale, err), -1);
	assert_non_null(strstr(err, "exited"));
	assert_int_equal(mask_of(tids[0]), 2);
	assert_int_equal(mask_of(tids[1]), 1);
	nm_pidref_close(&stale);
	nm_pidref_close(&ref);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	nm_topology_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_swap),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_handle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
