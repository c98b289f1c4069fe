/* SPDX-License-Identifier: MIT */
/*
 * The process table (lib/linux/ptable.c): descendants found through its
 * parent index match the breadth-first walk over a hand-made tree (given
 * pids first, each process once, even when a given pid descends from
 * another); a pid listed twice or a missing pid is an error; and the
 * table read from /proc holds a real child and grandchild, as
 * nm_proc_descendants() finds them.
 */
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/linux/proc.h"
#include "lib/linux/ptable.h"

/*
 *   1 ─┬─ 10 ─┬─ 12
 *      │      └─ 11 ── 30
 *      └─ 20 ── 21
 *   2 ── 40 (not under 1)
 */
static const pid_t tree_pid[] = { 40, 21, 30, 1, 12, 2, 20, 10, 11 };
static const pid_t tree_ppid[] = { 2, 20, 11, 0, 10, 0, 1, 1, 10 };
#define TREE_N ((int)(sizeof(tree_pid) / sizeof(tree_pid[0])))

static void expect(const struct nm_ptable *t, const pid_t *given, int ng,
		   const pid_t *want, int nw)
{
	char err[NM_ERRLEN] = "";
	pid_t *out;
	int n;

	if (nm_ptable_descendants(t, given, ng, &out, &n, err) < 0)
		fail_msg("descendants: %s", err);
	assert_int_equal(n, nw);
	for (int i = 0; i < nw; i++)
		assert_int_equal(out[i], want[i]);
	free(out);
}

static void test_tree(void **state)
{
	char err[NM_ERRLEN] = "";
	struct nm_ptable t;

	(void)state;
	if (nm_ptable_build(&t, tree_pid, tree_ppid, TREE_N, err) < 0)
		fail_msg("build: %s", err);
	assert_true(nm_ptable_has(&t, 30));
	assert_false(nm_ptable_has(&t, 31));
	expect(&t, (pid_t[]){ 1 }, 1,
	       (pid_t[]){ 1, 10, 20, 11, 12, 21, 30 }, 7);
	expect(&t, (pid_t[]){ 10 }, 1, (pid_t[]){ 10, 11, 12, 30 }, 4);
	expect(&t, (pid_t[]){ 30 }, 1, (pid_t[]){ 30 }, 1);
	/* A given pid under another given one, and one given twice. */
	expect(&t, (pid_t[]){ 11, 10, 11, 40 }, 4,
	       (pid_t[]){ 11, 10, 40, 30, 12 }, 5);
	expect(&t, NULL, 0, NULL, 0);
	nm_ptable_free(&t);
}

static void test_errors(void **state)
{
	char err[NM_ERRLEN] = "";
	struct nm_ptable t;
	pid_t *out = (pid_t *)&out;
	int n = -1;

	(void)state;
	assert_int_equal(nm_ptable_build(&t, (pid_t[]){ 5, 6, 5 },
					 (pid_t[]){ 1, 1, 2 }, 3, err), -1);
	assert_non_null(strstr(err, "process 5 listed twice"));
	assert_null(t.by_pid);
	if (nm_ptable_build(&t, tree_pid, tree_ppid, TREE_N, err) < 0)
		fail_msg("build: %s", err);
	assert_int_equal(nm_ptable_descendants(&t, (pid_t[]){ 10, 99 }, 2,
					       &out, &n, err), -1);
	assert_string_equal(err, "process 99: no such process");
	assert_null(out);
	assert_int_equal(n, 0);
	nm_ptable_free(&t);
	/* An empty table: nothing is in it. */
	assert_int_equal(nm_ptable_build(&t, NULL, NULL, 0, err), 0);
	assert_false(nm_ptable_has(&t, 1));
	assert_int_equal(nm_ptable_descendants(&t, (pid_t[]){ 1 }, 1, &out,
					       &n, err), -1);
	expect(&t, NULL, 0, NULL, 0);
	nm_ptable_free(&t);
}

/* A child that forks a grandchild, both waiting to be killed. */
static pid_t family(int *pipefd)
{
	pid_t child;

	if (pipe(pipefd) < 0)
		fail_msg("pipe: %s", strerror(errno));
	child = fork();
	if (child < 0)
		fail_msg("fork: %s", strerror(errno));
	if (child == 0) {
		pid_t g = fork();

		if (g == 0) {
			for (;;)
				pause();
		}
		if (write(pipefd[1], &g, sizeof(g)) != sizeof(g))
			_exit(1);
		for (;;)
			pause();
	}
	return child;
}

static void test_proc(void **state)
{
	char err[NM_ERRLEN] = "";
	struct nm_ptable t;
	pid_t child, grand, *out;
	int fd[2], n;

	(void)state;
	child = family(fd);
	assert_int_equal(read(fd[0], &grand, sizeof(grand)), sizeof(grand));
	if (nm_ptable_read(&t, err) < 0)
		fail_msg("read: %s", err);
	assert_true(nm_ptable_has(&t, getpid()));
	assert_true(nm_ptable_has(&t, grand));
	expect(&t, &child, 1, (pid_t[]){ child, grand }, 2);
	nm_ptable_free(&t);
	if (nm_proc_descendants(&child, 1, &out, &n, err) < 0)
		fail_msg("nm_proc_descendants: %s", err);
	assert_int_equal(n, 2);
	assert_int_equal(out[0], child);
	assert_int_equal(out[1], grand);
	free(out);
	kill(grand, SIGKILL);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	close(fd[0]);
	close(fd[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_proc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
