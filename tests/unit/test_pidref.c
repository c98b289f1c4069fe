/* SPDX-License-Identifier: MIT */
/*
 * The verified process handle (lib/linux/pidref.c): a live process checks
 * out; one that exited does not, before and after its parent reaps it; a
 * signal through the handle never reaches the process that took its pid
 * over (recycled on purpose in a pid namespace of its own).
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/linux/pidref.h"
#include "lib/linux/proc.h"

static pid_t child_sleeping(void)
{
	pid_t pid = fork();

	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

static void test_live_then_exited(void **state)
{
	char err[NM_ERRLEN] = "";
	struct nm_pidref ref;
	struct nm_proc_info pi;
	pid_t pid = child_sleeping();

	(void)state;
	assert_int_equal(nm_pidref_open(&ref, pid, err), 0);
	assert_int_equal(ref.pid, pid);
	assert_true(ref.fd >= 0);
	assert_int_equal(nm_proc_info(pid, &pi, err), 0);
	assert_true(ref.start == pi.starttime);
	assert_int_equal(nm_pidref_check(&ref, err), 0);
	assert_true(nm_pidref_alive(&ref));
	assert_int_equal(nm_pidref_signal(&ref, 0, err), 0);

	/* A zombie its parent has not reaped: gone already. */
	assert_int_equal(nm_pidref_signal(&ref, SIGKILL, err), 0);
	for (int i = 0; i < 1000 && nm_pidref_alive(&ref); i++)
		usleep(1000);
	assert_int_equal(nm_pidref_check(&ref, err), NM_PIDREF_EXITED);
	assert_non_null(strstr(err, "exited"));
	/* Reaped: the handle still names it, and it says so. */
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_not_equal(nm_pidref_check(&ref, err), 0);
	assert_int_equal(nm_pidref_signal(&ref, SIGCONT, err), -1);
	assert_int_equal(errno, ESRCH);
	nm_pidref_close(&ref);
	assert_int_equal(ref.fd, -1);
	nm_pidref_close(&ref);	/* twice is harmless */
}

static void test_bad_input(void **state)
{
	char err[NM_ERRLEN] = "";
	struct nm_pidref ref, none = NM_PIDREF_NONE;
	pid_t pid = child_sleeping();

	(void)state;
	assert_int_equal(nm_pidref_open(&ref, 0, err), -1);
	assert_int_equal(ref.fd, -1);
	assert_non_null(strstr(err, "not a process id"));
	assert_int_equal(nm_pidref_open(&ref, -5, err), -1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_int_equal(nm_pidref_open(&ref, pid, err), -1);
	assert_non_null(strstr(err, "no such process"));
	assert_int_equal(ref.fd, -1);
	/* A closed handle is not a process: never signalled. */
	none.pid = getpid();
	assert_int_not_equal(nm_pidref_check(&none, err), 0);
	assert_int_equal(nm_pidref_signal(&none, 0, err), -1);
	nm_pidrefs_free(NULL, 3);
}

static void test_open_as(void **state)
{
	char err[NM_ERRLEN] = "";
	struct nm_pidref ref, as;
	pid_t pid = child_sleeping();

	(void)state;
	assert_int_equal(nm_pidref_open(&ref, pid, err), 0);
	assert_int_equal(nm_pidref_open_as(&as, pid, ref.start, err), 0);
	nm_pidref_close(&as);
	/* Another start time: the pid names someone else. */
	assert_int_equal(nm_pidref_open_as(&as, pid, ref.start + 1, err),
			 NM_PIDREF_REPLACED);
	assert_int_equal(as.fd, -1);
	assert_non_null(strstr(err, "another process"));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_int_equal(nm_pidref_open_as(&as, pid, ref.start, err), -1);
	nm_pidref_close(&ref);
}

/*
 * In the namespace's init: a process, its handle, then another process at
 * its pid; @gap_us between them (0: within the same clock tick, so the
 * start times may well be equal: the pidfd still tells them apart).
 * 0 when every check held, else the line that failed.
 */
static int recycle_once(useconds_t gap_us)
{
	char err[NM_ERRLEN];
	struct nm_pidref ref, as;
	pid_t a, b;
	int fd, status;

	a = child_sleeping();
	if (nm_pidref_open(&ref, a, err) < 0)
		return __LINE__;
	kill(a, SIGKILL);
	waitpid(a, NULL, 0);
	usleep(gap_us);
	/* The next pid handed out is a's again. */
	fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY);
	if (fd < 0 || dprintf(fd, "%d", (int)a - 1) < 0)
		return __LINE__;
	close(fd);
	b = child_sleeping();
	if (b != a)
		return __LINE__;
	if (nm_pidref_check(&ref, err) != NM_PIDREF_REPLACED ||
	    !strstr(err, "another process"))
		return __LINE__;
	/* Through the handle: the stranger is never stopped. */
	if (nm_pidref_signal(&ref, SIGSTOP, err) == 0 || errno != ESRCH)
		return __LINE__;
	usleep(50000);
	if (waitpid(b, &status, WNOHANG | WUNTRACED) != 0)
		return __LINE__;
	/* A journal's pid@start: a later start is not the process. */
	if (gap_us && nm_pidref_open_as(&as, a, ref.start, err) !=
	    NM_PIDREF_REPLACED)
		return __LINE__;
	nm_pidref_close(&ref);
	kill(b, SIGKILL);
	waitpid(b, NULL, 0);
	return 0;
}

static int recycle_inside(void)
{
	int line;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("proc", "/proc", "proc", 0, NULL) < 0)
		return __LINE__;
	line = recycle_once(0);
	return line ? line : recycle_once(30000);
}

static void test_recycled_pid(void **state)
{
	pid_t helper;
	int status;

	(void)state;
	if (geteuid() != 0)
		fail_msg("needs root: a pid namespace of its own to recycle "
			 "a pid in");
	helper = fork();
	assert_true(helper >= 0);
	if (helper == 0) {
		pid_t init;

		if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0)
			_exit(200);
		init = fork();
		if (init == 0)
			_exit(recycle_inside());
		if (init < 0 || waitpid(init, &status, 0) != init)
			_exit(201);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 202);
	}
	assert_int_equal(waitpid(helper, &status, 0), helper);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status))
		fail_msg("recycled pid: check at line %d failed (200+: no pid "
			 "namespace)", WEXITSTATUS(status));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_then_exited),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_open_as),
		cmocka_unit_test(test_recycled_pid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
