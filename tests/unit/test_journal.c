/* SPDX-License-Identifier: MIT */
/* The freeze journal's crash recovery, and the frozen-job watchdog. */
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "helper/daemon/journal.h"
#include "lib/linux/proc.h"
#include "helper/daemon/watchdog.h"

static pid_t spawn(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

/* Polls /proc until @pid's state is (or is not) stopped. */
static bool wait_stopped(pid_t pid, bool want)
{
	for (int i = 0; i < 200; i++) {
		struct nm_proc_info pi;
		char err[NM_ERRLEN];

		assert_int_equal(nm_proc_info(pid, &pi, err), 0);
		if ((pi.state == 'T' || pi.state == 't') == want)
			return true;
		usleep(10000);
	}
	return false;
}

static char dir[64];
static int nreports, nfailed;

static void report(void *arg, const char *file, int rc, const char *msg)
{
	(void)arg;
	(void)file;
	nreports++;
	if (rc < 0) {
		nfailed++;
		print_message("recovery: %s\n", msg);
	}
}

static void make_dir(void)
{
	char err[NM_ERRLEN];

	snprintf(dir, sizeof(dir), "/tmp/nm-journal-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(nm_journal_init(dir, err), 0);
}

/* A daemon that died between freezing and thawing: restart thaws. */
static void test_recover_intent(void **state)
{
	struct nm_freeze intent = { .method = NM_FREEZE_SIGSTOP, .npids = 1 };
	struct nm_proc_info pi;
	struct nm_journal j;
	char err[NM_ERRLEN] = "";
	unsigned long long start;
	pid_t pid = spawn();

	(void)state;
	make_dir();
	assert_int_equal(nm_proc_info(pid, &pi, err), 0);
	start = pi.starttime;
	intent.pids = &pid;
	intent.starts = &start;
	assert_int_equal(nm_journal_begin(&j, dir, 1, &intent, 1, err), 0);
	kill(pid, SIGSTOP);		/* the freeze, then the "crash" */
	assert_true(wait_stopped(pid, true));
	nreports = nfailed = 0;
	assert_int_equal(nm_journal_recover(dir, report, NULL, err), 1);
	assert_int_equal(nreports, 1);
	assert_int_equal(nfailed, 0);
	assert_true(wait_stopped(pid, false));
	assert_int_equal(count_files_in(dir), 0);
	/* Nothing left: a second start finds nothing. */
	assert_int_equal(nm_journal_recover(dir, report, NULL, err), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	rmdir(dir);
}

/* A "frozen" record wins: a job stopped before the move stays stopped. */
static void test_recover_was_frozen(void **state)
{
	struct nm_freeze intent = { .method = NM_FREEZE_SIGSTOP, .npids = 1 };
	struct nm_freeze fz = { .method = NM_FREEZE_SIGSTOP, .npids = 1,
				.was_frozen = true };
	struct nm_proc_info pi;
	struct nm_journal j;
	char err[NM_ERRLEN] = "";
	unsigned long long start;
	pid_t pid = spawn();

	(void)state;
	make_dir();
	kill(pid, SIGSTOP);		/* Slurm suspended it */
	assert_true(wait_stopped(pid, true));
	assert_int_equal(nm_proc_info(pid, &pi, err), 0);
	start = pi.starttime;
	intent.pids = fz.pids = &pid;
	intent.starts = fz.starts = &start;
	assert_int_equal(nm_journal_begin(&j, dir, 2, &intent, 1, err), 0);
	assert_int_equal(nm_journal_frozen(&j, &fz, err), 0);
	assert_int_equal(nm_journal_recover(dir, report, NULL, err), 1);
	usleep(100000);
	assert_true(wait_stopped(pid, true));
	assert_int_equal(count_files_in(dir), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	rmdir(dir);
}

/* Finished moves leave nothing; garbage is reported and kept. */
static void test_finish_and_garbage(void **state)
{
	struct nm_journal j;
	char err[NM_ERRLEN] = "", path[128];
	FILE *f;

	(void)state;
	make_dir();
	assert_int_equal(nm_journal_begin(&j, dir, 3, NULL, 0, err), 0);
	assert_int_equal(count_files_in(dir), 1);
	assert_int_equal(nm_journal_finish(&j, err), 0);
	assert_int_equal(count_files_in(dir), 0);
	snprintf(path, sizeof(path), "%s/move-9.journal", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("not a journal\n", f);
	fclose(f);
	nreports = nfailed = 0;
	assert_int_equal(nm_journal_recover(dir, report, NULL, err), 1);
	assert_int_equal(nfailed, 1);
	assert_int_equal(count_files_in(dir), 1);
	unlink(path);
	rmdir(dir);
}

/*
 * A side journal kept from a later generation (a clock set back): the
 * next daemon's names stay above it, so it is never overwritten.
 */
static void test_generation_above_side_journals(void **state)
{
	unsigned long long later = (unsigned long long)time(NULL) + 1000;
	char err[NM_ERRLEN], path[256];
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/nm-journal-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/cpusets-%llu-1.json", dir, later);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(nm_journal_init(dir, err), 0);
	assert_true(nm_journal_generation() > later);
	unlink(path);
	rmdir(dir);
}

static int fired;

static void fire(void *arg)
{
	(void)arg;
	fired++;
}

static void test_watchdog(void **state)
{
	struct nm_watchdog w;
	char err[NM_ERRLEN];

	(void)state;
	fired = 0;
	assert_int_equal(nm_watchdog_start(&w, 50, fire, NULL, err), 0);
	usleep(200000);
	assert_true(nm_watchdog_stop(&w));
	assert_int_equal(fired, 1);
	assert_int_equal(nm_watchdog_start(&w, 5000, fire, NULL, err), 0);
	assert_false(nm_watchdog_stop(&w));
	assert_int_equal(fired, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recover_intent),
		cmocka_unit_test(test_recover_was_frozen),
		cmocka_unit_test(test_finish_and_garbage),
		cmocka_unit_test(test_generation_above_side_journals),
		cmocka_unit_test(test_watchdog),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
