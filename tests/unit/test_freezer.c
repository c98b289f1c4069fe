/* SPDX-License-Identifier: MIT */
/* Freezing and thawing: SIGSTOP, v1 freezer, v2 cgroup.freeze; rollback. */
#include "testutil.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>

#include "cgtest.h"
#include "helper/engine/freezer.h"

static void test_journal_roundtrip(void **state)
{
	struct nm_freeze fz = { .method = NM_FREEZE_SIGSTOP, .npids = 2 };
	struct nm_freeze back;
	pid_t pids[2] = { 1234, 98765 };
	unsigned long long starts[2] = { 5, 123456789 };
	char line[512], err[NM_ERRLEN] = "";
	int n;

	(void)state;
	fz.pids = pids;
	fz.starts = starts;
	n = nm_freeze_format(&fz, line, sizeof(line));
	assert_true(n > 0);
	assert_string_equal(line, "nmfreeze method=sigstop was_frozen=0 "
			    "cgroup=- pids=1234@5,98765@123456789");
	assert_int_equal(nm_freeze_parse(line, &back, err), 0);
	assert_int_equal(back.method, NM_FREEZE_SIGSTOP);
	assert_int_equal(back.npids, 2);
	assert_int_equal(back.pids[1], 98765);
	assert_int_equal(back.starts[1], 123456789);
	nm_freeze_release(&back);
	/* too small a buffer */
	assert_int_equal(nm_freeze_format(&fz, line, 20), -1);

	memset(&fz, 0, sizeof(fz));
	fz.method = NM_FREEZE_V2;
	fz.was_frozen = true;
	snprintf(fz.cgroup, sizeof(fz.cgroup), "/sys/fs/cgroup/a b%%c");
	n = nm_freeze_format(&fz, line, sizeof(line));
	assert_string_equal(line, "nmfreeze method=v2 was_frozen=1 "
			    "cgroup=/sys/fs/cgroup/a%20b%25c pids=-");
	assert_int_equal(nm_freeze_parse(line, &back, err), 0);
	assert_string_equal(back.cgroup, "/sys/fs/cgroup/a b%c");
	assert_true(back.was_frozen);
	nm_freeze_release(&back);
}

static void test_journal_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"nmfreeze",
		"nmfreeze method=warp was_frozen=0 cgroup=- pids=-",
		"nmfreeze method=sigstop was_frozen=2 cgroup=- pids=-",
		"nmfreeze method=sigstop was_frozen=0 cgroup=- pids=12",
		"nmfreeze method=sigstop was_frozen=0 cgroup=- pids=12@x",
		"nmfreeze method=sigstop was_frozen=0 cgroup=- pids=-12@1",
		"nmfreeze method=sigstop was_frozen=0 cgroup=- pids=1@1,",
		"nmfreeze method=v1 was_frozen=0 cgroup=- pids=-",
		"nmfreeze method=v1 was_frozen=0 cgroup=/x pids=1@2",
		"nmfreeze method=v2 was_frozen=0 cgroup=/x%zz pids=-",
		"nmfreeze method=v2 was_frozen=0 cgroup=/x%00 pids=-",
		"nmfreeze method=sigstop was_frozen=0 cgroup=- pids=1@2 junk",
	};
	struct nm_freeze fz;
	char err[NM_ERRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (nm_freeze_parse(bad[i], &fz, err) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(strstr(err, "malformed"));
		assert_null(fz.pids);
	}
}

static void test_sigstop(void **state)
{
	pid_t a = spawn_sleeper(3), b = spawn_sleeper(1);
	pid_t pids[2] = { a, b };
	struct nm_freeze fz;
	char err[NM_ERRLEN] = "", line[256];

	(void)state;
	if (nm_freeze(pids, 2, 2000, &fz, err) < 0)
		fail_msg("%s", err);
	/* these children share our cgroups: a cgroup freeze would take us */
	assert_int_equal(fz.method, NM_FREEZE_SIGSTOP);
	assert_false(fz.was_frozen);
	assert_int_equal(fz.npids, 2);
	assert_int_equal(nm_process_stopped(a, NULL, err), 1);
	assert_int_equal(nm_process_stopped(b, NULL, err), 1);
	assert_true(nm_freeze_format(&fz, line, sizeof(line)) > 0);
	if (nm_thaw(&fz, err) < 0)
		fail_msg("%s", err);
	assert_true(settles(a, 0));
	assert_true(settles(b, 0));
	nm_freeze_release(&fz);
	/* the journal record thaws as well (a restarted daemon) */
	kill(a, SIGSTOP);
	assert_true(settles(a, 1));
	{
		struct nm_freeze j;
		char l2[256];

		snprintf(l2, sizeof(l2), "%s", line);
		assert_int_equal(nm_freeze_parse(l2, &j, err), 0);
		assert_int_equal(nm_thaw(&j, err), 0);
		assert_true(settles(a, 0));
		nm_freeze_release(&j);
	}
	reap(a);
	reap(b);
}

static void test_already_stopped(void **state)
{
	pid_t a = spawn_sleeper(2);
	struct nm_freeze fz;
	char err[NM_ERRLEN] = "";

	(void)state;
	kill(a, SIGSTOP);
	assert_true(settles(a, 1));
	if (nm_freeze(&a, 1, 1000, &fz, err) < 0)
		fail_msg("%s", err);
	assert_true(fz.was_frozen);
	assert_int_equal(fz.npids, 0);
	assert_int_equal(nm_thaw(&fz, err), 0);
	usleep(50000);
	assert_int_equal(nm_process_stopped(a, NULL, err), 1);
	nm_freeze_release(&fz);
	reap(a);
}

/* A vfork parent cannot stop until its child execs or exits. */
static pid_t spawn_unstoppable(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (vfork() == 0) {
			struct timespec ts = { 1, 500000000 };

			syscall(SYS_nanosleep, &ts, NULL);
			_exit(0);
		}
		for (;;)
			usleep(1000);
	}
	usleep(100000);
	return pid;
}

static void test_timeout_rolls_back(void **state)
{
	pid_t a = spawn_sleeper(1), u = spawn_unstoppable();
	pid_t pids[2] = { a, u };
	struct nm_freeze fz;
	char err[NM_ERRLEN] = "";

	(void)state;
	assert_int_equal(nm_freeze(pids, 2, 300, &fz, err), -1);
	assert_non_null(strstr(err, "did not stop within 300 ms"));
	assert_null(fz.pids);
	/* nothing stays stopped, not even after the vfork child is gone */
	assert_true(settles(a, 0));
	sleep(2);
	assert_int_equal(nm_process_stopped(a, NULL, err), 0);
	assert_int_equal(nm_process_stopped(u, NULL, err), 0);
	reap(a);
	reap(u);
}

static void test_bad_input(void **state)
{
	pid_t a = spawn_sleeper(0), dead = fork();
	pid_t pids[2] = { a, 0 }, dup[2] = { a, a };
	struct nm_freeze fz;
	char err[NM_ERRLEN] = "";

	(void)state;
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	pids[1] = dead;
	assert_int_equal(nm_freeze(pids, 2, 1000, &fz, err), -1);
	assert_non_null(strstr(err, "no such process"));
	assert_int_equal(nm_freeze(dup, 2, 1000, &fz, err), -1);
	assert_non_null(strstr(err, "duplicate"));
	assert_int_equal(nm_freeze(pids, 0, 1000, &fz, err), -1);
	assert_int_equal(nm_freeze(&a, 1, -1, &fz, err), -1);
	usleep(20000);
	assert_int_equal(nm_process_stopped(a, NULL, err), 0);
	reap(a);
}

/*
 * Processes verified earlier: one whose handle's process is gone is
 * refused, though its pid names a live process now (pointing the dead
 * handle at a live pid is what a recycled pid looks like); nothing is
 * stopped.  The thaw of a record whose start time is not the live
 * process's leaves that process alone.
 */
static void test_refs(void **state)
{
	pid_t a = spawn_sleeper(0), b = spawn_sleeper(0);
	struct nm_pidref refs[2];
	struct nm_freeze fz;
	char err[NM_ERRLEN] = "";

	(void)state;
	assert_int_equal(nm_pidref_open(&refs[0], a, err), 0);
	assert_int_equal(nm_pidref_open(&refs[1], b, err), 0);
	assert_int_equal(nm_freeze_refs(refs, 2, 2000, &fz, err), 0);
	assert_true(settles(a, 1) && settles(b, 1));
	assert_true(fz.starts[0] == refs[0].start);
	/* A journal's record of b with another start time: not b. */
	fz.starts[1] = refs[1].start + 1;
	assert_int_equal(nm_thaw(&fz, err), 0);
	assert_true(settles(a, 0));
	usleep(20000);
	assert_int_equal(nm_process_stopped(b, NULL, err), 1);
	kill(b, SIGCONT);
	nm_freeze_release(&fz);

	nm_pidref_close(&refs[0]);
	reap(a);
	/* b's handle, b gone, its pid "taken over" by a live process. */
	a = spawn_sleeper(0);
	reap(b);
	refs[1].pid = a;
	assert_int_equal(nm_freeze_refs(&refs[1], 1, 1000, &fz, err), -1);
	assert_non_null(strstr(err, "exited"));
	usleep(20000);
	assert_int_equal(nm_process_stopped(a, NULL, err), 0);
	nm_pidref_close(&refs[1]);
	reap(a);
}

static void test_v1_freezer(void **state)
{
	struct nm_cgroup_mounts m;
	struct nm_freeze fz;
	char err[NM_ERRLEN] = "", dir[600], st[64];
	pid_t a, b, stranger;
	pid_t pids[2];

	(void)state;
	assert_int_equal(nm_cgroup_mounts("/proc/self/mountinfo", &m, err), 0);
	if (!make_cgroup(m.v1_freezer, "fz", dir, sizeof(dir), false))
		skip();	/* no v1 freezer hierarchy or not root: SKIPPED */
	a = spawn_sleeper(2);
	b = spawn_sleeper(0);
	pids[0] = a;
	pids[1] = b;
	enter(dir, a);
	enter(dir, b);
	if (nm_freeze(pids, 2, 2000, &fz, err) < 0)
		fail_msg("%s", err);
	assert_int_equal(fz.method, NM_FREEZE_V1);
	assert_string_equal(fz.cgroup, dir);
	get(dir, "freezer.state", st, sizeof(st));
	assert_string_equal(st, "FROZEN\n");
	assert_int_equal(nm_thaw(&fz, err), 0);
	get(dir, "freezer.state", st, sizeof(st));
	assert_string_equal(st, "THAWED\n");
	nm_freeze_release(&fz);

	/* Slurm suspended it: stays frozen */
	put(dir, "freezer.state", "FROZEN");
	for (int i = 0; i < 100; i++) {
		get(dir, "freezer.state", st, sizeof(st));
		if (!strcmp(st, "FROZEN\n"))
			break;
		usleep(10000);
	}
	assert_int_equal(nm_freeze(pids, 2, 2000, &fz, err), 0);
	assert_true(fz.was_frozen);
	assert_int_equal(nm_thaw(&fz, err), 0);
	get(dir, "freezer.state", st, sizeof(st));
	assert_string_equal(st, "FROZEN\n");
	nm_freeze_release(&fz);
	put(dir, "freezer.state", "THAWED");

	/* a stranger in the cgroup: SIGSTOP the job only */
	stranger = spawn_sleeper(0);
	enter(dir, stranger);
	assert_int_equal(nm_freeze(pids, 2, 2000, &fz, err), 0);
	assert_int_equal(fz.method, NM_FREEZE_SIGSTOP);
	get(dir, "freezer.state", st, sizeof(st));
	assert_string_equal(st, "THAWED\n");
	assert_int_equal(nm_process_stopped(stranger, NULL, err), 0);
	assert_int_equal(nm_process_stopped(a, NULL, err), 1);
	assert_int_equal(nm_thaw(&fz, err), 0);
	assert_true(settles(a, 0));
	nm_freeze_release(&fz);
	reap(a);
	reap(b);
	reap(stranger);
	drop_cgroup(m.v1_freezer, dir);
}

static void test_v2_freeze(void **state)
{
	struct nm_cgroup_mounts m;
	struct nm_freeze fz;
	char err[NM_ERRLEN] = "", dir[600], ev[512];
	pid_t a;

	(void)state;
	assert_int_equal(nm_cgroup_mounts("/proc/self/mountinfo", &m, err), 0);
	if (!make_cgroup(m.v2, "fz", dir, sizeof(dir), false))
		skip();	/* no cgroup2 mount or not root: SKIPPED */
	a = spawn_sleeper(2);
	enter(dir, a);
	if (nm_freeze(&a, 1, 2000, &fz, err) < 0)
		fail_msg("%s", err);
	assert_int_equal(fz.method, NM_FREEZE_V2);
	get(dir, "cgroup.events", ev, sizeof(ev));
	assert_non_null(strstr(ev, "frozen 1"));
	assert_int_equal(nm_thaw(&fz, err), 0);
	for (int i = 0; i < 100; i++) {
		get(dir, "cgroup.events", ev, sizeof(ev));
		if (strstr(ev, "frozen 0"))
			break;
		usleep(10000);
	}
	assert_non_null(strstr(ev, "frozen 0"));
	nm_freeze_release(&fz);
	reap(a);
	drop_cgroup(m.v2, dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_journal_roundtrip),
		cmocka_unit_test(test_journal_malformed),
		cmocka_unit_test(test_sigstop),
		cmocka_unit_test(test_already_stopped),
		cmocka_unit_test(test_timeout_rolls_back),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_refs),
		cmocka_unit_test(test_v1_freezer),
		cmocka_unit_test(test_v2_freeze),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
