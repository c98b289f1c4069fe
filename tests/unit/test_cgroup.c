/* SPDX-License-Identifier: MIT */
/* Finding a process's cgroups on v1, hybrid and v2 hosts; cpuset lists. */
#include "testutil.h"
#include "helper/engine/cpuset.h"

#include <pthread.h>

#include "cgtest.h"
#include "lib/linux/job_cgroup.h"
#include "lib/linux/proc.h"

#include <sys/prctl.h>

static char tmpdir[] = "/tmp/nm-cgroup-XXXXXX";

static const char *fixture(const char *name, const char *text)
{
	static char path[2][128];
	char *p = path[strcmp(name, "mi") == 0];
	FILE *f;

	snprintf(p, 128, "%s/%s", tmpdir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

static const char hybrid_mounts[] =
"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
"34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime shared:9 - cgroup cgroup rw,cpuset\n"
"37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
"35 31 0:35 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

static void test_hybrid(void **state)
{
	struct nm_cgroups cg;
	char err[NM_ERRLEN] = "";
	const char *mi = fixture("mi", hybrid_mounts);
	const char *cgf = fixture("cg",
		"9:name=systemd:/\n"
		"6:freezer:/slurm/uid_0/job_7/step_0\n"
		"3:cpuset:/slurm/uid_0/job_7/step_0\n"
		"2:cpu,cpuacct:/slurm\n"
		"0::/system.slice/slurmd.service\n");

	(void)state;
	if (nm_cgroup_of_files(mi, cgf, &cg, err) < 0)
		fail_msg("%s", err);
	assert_string_equal(cg.v1_cpuset,
			    "/sys/fs/cgroup/cpuset/slurm/uid_0/job_7/step_0");
	assert_string_equal(cg.v1_freezer,
			    "/sys/fs/cgroup/freezer/slurm/uid_0/job_7/step_0");
	assert_string_equal(cg.v2,
			    "/sys/fs/cgroup/unified/system.slice/slurmd.service");
	assert_false(cg.v2_has_cpuset);	/* no such directory here */
}

static void test_pure_v2_and_container(void **state)
{
	struct nm_cgroups cg;
	char err[NM_ERRLEN] = "";
	const char *mi = fixture("mi",
		"30 23 0:26 /kubepods/pod1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n");
	const char *cgf = fixture("cg", "0::/kubepods/pod1/job_3/step_0\n");

	(void)state;
	if (nm_cgroup_of_files(mi, cgf, &cg, err) < 0)
		fail_msg("%s", err);
	assert_string_equal(cg.v2, "/sys/fs/cgroup/job_3/step_0");
	assert_string_equal(cg.v1_cpuset, "");
	assert_string_equal(cg.v1_freezer, "");
	/* the hierarchy root is "" */
	cgf = fixture("cg", "0::/kubepods/pod1\n");
	assert_int_equal(nm_cgroup_of_files(mi, cgf, &cg, err), 0);
	assert_string_equal(cg.v2, "");
	/* outside the mounted subtree: an error, not a wrong path */
	cgf = fixture("cg", "0::/other/x\n");
	assert_int_equal(nm_cgroup_of_files(mi, cgf, &cg, err), -1);
	assert_non_null(strstr(err, "outside"));
	/* escaped mount point */
	mi = fixture("mi",
		"30 23 0:26 / /sys/fs/my\\040cg rw - cgroup2 cgroup2 rw\n");
	cgf = fixture("cg", "0::/a\n");
	assert_int_equal(nm_cgroup_of_files(mi, cgf, &cg, err), 0);
	assert_string_equal(cg.v2, "/sys/fs/my cg/a");
}

static void test_malformed(void **state)
{
	struct nm_cgroups cg;
	char err[NM_ERRLEN] = "";
	const char *mi = fixture("mi", hybrid_mounts);

	(void)state;
	assert_int_equal(nm_cgroup_of_files(mi, fixture("cg", "garbage\n"),
					    &cg, err), -1);
	assert_non_null(strstr(err, "malformed"));
	assert_int_equal(nm_cgroup_of_files(mi, fixture("cg", ""), &cg, err),
			 -1);
	assert_int_equal(nm_cgroup_of_files(mi, "/nonexistent/x", &cg, err),
			 -1);
	assert_int_equal(nm_cgroup_of(-5, &cg, err), -1);
}

static void test_bad_files(void **state)
{
	struct nm_bitmap b;
	char err[NM_ERRLEN] = "";

	(void)state;
	nm_bitmap_zero(&b);
	nm_bitmap_set(&b, 0);
	assert_int_equal(nm_cgroup_get_list("/sys/fs/cgroup", "../etc/passwd",
					    &b, err), -1);
	assert_non_null(strstr(err, "bad control file"));
	assert_int_equal(nm_cgroup_get_list("", "cpuset.cpus", &b, err), -1);
	assert_int_equal(nm_cgroup_set_list("/nonexistent/cg", "cpuset.cpus",
					    &b, err), -1);
	assert_non_null(strstr(err, "/nonexistent/cg/cpuset.cpus"));
}

static void test_live_self(void **state)
{
	struct nm_cgroups cg;
	char err[NM_ERRLEN] = "";

	(void)state;
	if (nm_cgroup_of(getpid(), &cg, err) < 0)
		fail_msg("%s", err);
}

/* A real v1 cpuset cgroup: find it, read and write its lists, list it. */
static void test_live_v1_cpuset(void **state)
{
	struct nm_cgroup_mounts m;
	struct nm_cgroups cg;
	struct nm_bitmap cpus, one, got;
	char err[NM_ERRLEN] = "", dir[600];
	pid_t child, *pids;
	int n;

	(void)state;
	assert_int_equal(nm_cgroup_mounts("/proc/self/mountinfo", &m, err), 0);
	if (!make_cgroup(m.v1_cpuset, "cs", dir, sizeof(dir), true))
		skip();	/* no v1 cpuset hierarchy or not root: SKIPPED */
	child = spawn_sleeper(1);
	enter(dir, child);
	if (nm_cgroup_of(child, &cg, err) < 0)
		fail_msg("%s", err);
	assert_string_equal(cg.v1_cpuset, dir);
	if (nm_cgroup_get_list(dir, "cpuset.cpus", &cpus, err) < 0)
		fail_msg("%s", err);
	assert_false(nm_bitmap_empty(&cpus));
	nm_bitmap_zero(&one);
	nm_bitmap_set(&one, (unsigned int)nm_bitmap_next(&cpus, 0));
	if (nm_cgroup_set_list(dir, "cpuset.cpus", &one, err) < 0)
		fail_msg("%s", err);
	assert_int_equal(nm_cgroup_get_list(dir, "cpuset.cpus", &got, err), 0);
	assert_true(nm_bitmap_equal(&got, &one));
	assert_int_equal(nm_cgroup_get_list(dir, "cpuset.mems", &got, err), 0);
	assert_false(nm_bitmap_empty(&got));
	/* a node the machine lacks: the kernel refuses, one line says so */
	nm_bitmap_zero(&got);
	nm_bitmap_set(&got, 1000);
	assert_int_equal(nm_cgroup_set_list(dir, "cpuset.mems", &got, err), -1);
	assert_non_null(strstr(err, "cpuset.mems"));
	assert_int_equal(nm_cgroup_pids(dir, &pids, &n, err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pids[0], child);
	free(pids);
	reap(child);
	drop_cgroup(m.v1_cpuset, dir);
}

/* A real v2 cgroup with a child cgroup: the subtree's pids. */
static void test_live_v2_tree(void **state)
{
	struct nm_cgroup_mounts m;
	struct nm_cgroups cg;
	char err[NM_ERRLEN] = "", dir[600], sub[700];
	pid_t a, b, *pids;
	int n;

	(void)state;
	assert_int_equal(nm_cgroup_mounts("/proc/self/mountinfo", &m, err), 0);
	if (!make_cgroup(m.v2, "v2", dir, sizeof(dir), false))
		skip();	/* no cgroup2 mount or not root: SKIPPED */
	snprintf(sub, sizeof(sub), "%s/leaf", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	a = spawn_sleeper(0);
	b = spawn_sleeper(0);
	enter(sub, a);
	enter(sub, b);
	if (nm_cgroup_of(a, &cg, err) < 0)
		fail_msg("%s", err);
	assert_string_equal(cg.v2, sub);
	assert_int_equal(nm_cgroup_pids(dir, &pids, &n, err), 0);
	assert_int_equal(n, 0);
	free(pids);
	assert_int_equal(nm_cgroup_tree_pids(dir, &pids, &n, err), 0);
	assert_int_equal(n, 2);
	assert_true((pids[0] == a && pids[1] == b) ||
		    (pids[0] == b && pids[1] == a));
	free(pids);
	reap(a);
	reap(b);
	drop_cgroup(m.v2, sub);
	drop_cgroup(m.v2, dir);
}

static void create(const char *dir, const char *file, const char *text)
{
	char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A fake cgroup directory @rel under tmpdir with @procs in it. */
static const char *fake_cgroup(const char *rel, const char *procs)
{
	static char dir[256];

	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, rel);
	assert_int_equal(mkdir(dir, 0755), 0);
	create(dir, "cgroup.procs", procs);
	return dir;
}

static bool keeper_77(pid_t pid)
{
	return pid == 77;
}

/*
 * A cgroup a move may change holds nothing but the move's processes, in
 * its whole subtree: a stranger in a child cgroup makes it shared.
 */
static void test_tree_within(void **state)
{
	const pid_t job[] = { 30, 10, 20 };
	char err[NM_ERRLEN] = "", top[256];
	pid_t foreign = -1;
	int inside = -1;

	(void)state;
	snprintf(top, sizeof(top), "%s", fake_cgroup("job", "10\n"));
	fake_cgroup("job/step_0", "20\n30\n");
	assert_int_equal(nm_cgroup_tree_within(top, job, 3, NULL, &inside,
					       &foreign, err), 1);
	assert_int_equal(inside, 3);
	assert_true(nm_cgroup_is_exactly(top, job, 3));
	/* a subset of the move in it: still the move's alone, not exact */
	assert_int_equal(nm_cgroup_tree_within(top, job, 2, NULL, &inside,
					       &foreign, err), 0);
	assert_int_equal(foreign, 20);
	assert_false(nm_cgroup_is_exactly(top, job, 2));
	/* one process of someone else, two levels down */
	fake_cgroup("job/step_0/other", "77\n");
	assert_int_equal(nm_cgroup_tree_within(top, job, 3, NULL, &inside,
					       &foreign, err), 0);
	assert_int_equal(foreign, 77);
	assert_int_equal(inside, 3);
	assert_false(nm_cgroup_is_exactly(top, job, 3));
	/* unless it is the cgroup's keeper (Slurm's step daemon) */
	assert_int_equal(nm_cgroup_tree_within(top, job, 3, keeper_77,
					       &inside, &foreign, err), 1);
	assert_false(nm_cgroup_is_exactly(top, job, 3));
	/* the move's part of a bigger job: the leaf alone is exclusive */
	snprintf(top, sizeof(top), "%s/job/step_0", tmpdir);
	create(top, "cgroup.procs", "20\n");
	snprintf(top, sizeof(top), "%s/job/step_0/other", tmpdir);
	create(top, "cgroup.procs", "");
	snprintf(top, sizeof(top), "%s/job/step_0", tmpdir);
	assert_int_equal(nm_cgroup_tree_within(top, job, 3, NULL, &inside,
					       &foreign, err), 1);
	assert_int_equal(inside, 1);
	/* unreadable: an error, never "exclusive" */
	assert_int_equal(nm_cgroup_tree_within("/nonexistent/cg", job, 3,
					       NULL, &inside, &foreign, err), -1);
	assert_false(nm_cgroup_is_exactly("/nonexistent/cg", job, 3));
}

/* Slurm's step daemon: named slurmstepd and root's in every uid. */
static void test_slurm_stepd(void **state)
{
	int p[2];
	pid_t child;
	char c;

	(void)state;
	assert_false(nm_slurm_stepd(getpid()));
	assert_int_equal(pipe(p), 0);
	child = fork();
	if (child == 0) {
		prctl(PR_SET_NAME, "slurmstepd");
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	assert_true(child > 0 && read(p[0], &c, 1) == 1);
	/* a user's process may take the name, never root's uids */
	assert_int_equal(nm_slurm_stepd(child), geteuid() == 0);
	reap(child);
	close(p[0]);
	close(p[1]);
}

/*
 * A real v1 cpuset shared with a process outside the move: collected as
 * left alone, with the stranger named, never as one to widen or narrow.
 */
static void test_cpusets_shared(void **state)
{
	struct nm_cgroup_mounts m;
	struct nm_cpusets c;
	char err[NM_ERRLEN] = "", dir[600], why[64];
	pid_t p[2];

	(void)state;
	assert_int_equal(nm_cgroup_mounts("/proc/self/mountinfo", &m, err), 0);
	if (!make_cgroup(m.v1_cpuset, "share", dir, sizeof(dir), true))
		skip();	/* no v1 cpuset hierarchy or not root: SKIPPED */
	p[0] = spawn_sleeper(0);
	p[1] = spawn_sleeper(0);
	enter(dir, p[0]);
	enter(dir, p[1]);
	if (nm_cpusets_collect(&c, p, 1, err) < 0)
		fail_msg("%s", err);
	assert_int_equal(c.n, 0);
	assert_int_equal(c.nleft, 1);
	assert_string_equal(c.left[0].dir, dir);
	snprintf(why, sizeof(why), "holds process %d,", (int)p[1]);
	assert_non_null(strstr(c.left[0].why, why));
	nm_cpusets_release(&c);
	/* the whole cpuset is the move's: it may change it */
	if (nm_cpusets_collect(&c, p, 2, err) < 0)
		fail_msg("%s", err);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.nleft, 0);
	assert_string_equal(c.set[0].dir, dir);
	nm_cpusets_release(&c);
	reap(p[0]);
	reap(p[1]);
	drop_cgroup(m.v1_cpuset, dir);
}

/* A fake freezer cgroup in tmpdir: the files the kernel would show. */
static const char *fake_freezer(const char *events, const char *freeze,
				const char *state)
{
	static char dir[128];
	char cmd[300];

	snprintf(dir, sizeof(dir), "%s/freezer", tmpdir);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(mkdir(dir, 0755), 0);
	if (events)
		create(dir, "cgroup.events", events);
	if (freeze)
		create(dir, "cgroup.freeze", freeze);
	if (state)
		create(dir, "freezer.state", state);
	return dir;
}

static void expect_state(const char *dir, bool v2, enum nm_freeze_state want)
{
	enum nm_freeze_state st = (enum nm_freeze_state)-1;
	char err[NM_ERRLEN] = "";

	if (nm_cgroup_freeze_state(dir, v2, &st, err) < 0)
		fail_msg("%s", err);
	assert_int_equal(st, want);
}

/*
 * The actual state, not the request: cgroup.freeze "1" with "frozen 0"
 * is FREEZING, "frozen 1" is FROZEN even when an ancestor asked.
 */
static void test_freeze_state_v2(void **state)
{
	char err[NM_ERRLEN] = "";
	enum nm_freeze_state st;

	(void)state;
	expect_state(fake_freezer("populated 1\nfrozen 0\n", "0\n", NULL),
		     true, NM_THAWED);
	expect_state(fake_freezer("populated 1\nfrozen 0\n", "1\n", NULL),
		     true, NM_FREEZING);
	expect_state(fake_freezer("populated 1\nfrozen 1\n", "1\n", NULL),
		     true, NM_FROZEN);
	expect_state(fake_freezer("populated 1\nfrozen 1\n", "0\n", NULL),
		     true, NM_FROZEN);
	/* a kernel without the v2 freezer has no "frozen" line */
	assert_int_equal(nm_cgroup_freeze_state(
		fake_freezer("populated 1\n", "0\n", NULL), true, &st, err),
		-1);
	assert_non_null(strstr(err, "no 'frozen'"));
	/* "frozen 10" is no "frozen 1" line */
	assert_int_equal(nm_cgroup_freeze_state(
		fake_freezer("frozen 10\n", "0\n", NULL), true, &st, err), -1);
	assert_int_equal(nm_cgroup_freeze_state(tmpdir, true, &st, err), -1);
	assert_non_null(strstr(err, "cgroup.events"));
}

/* Who asked: this cgroup's own request, not an ancestor's freeze. */
static void test_freeze_requested(void **state)
{
	char err[NM_ERRLEN] = "";

	(void)state;
	assert_int_equal(nm_cgroup_freeze_requested(
		fake_freezer("frozen 0\n", "1\n", NULL), true, err), 1);
	assert_int_equal(nm_cgroup_freeze_requested(
		fake_freezer("frozen 1\n", "1\n", NULL), true, err), 1);
	/* frozen by an ancestor only: no request here */
	assert_int_equal(nm_cgroup_freeze_requested(
		fake_freezer("frozen 1\n", "0\n", NULL), true, err), 0);
	assert_int_equal(nm_cgroup_freeze_requested(
		fake_freezer(NULL, NULL, "FREEZING\n"), false, err), 1);
	assert_int_equal(nm_cgroup_freeze_requested(
		fake_freezer(NULL, NULL, "FROZEN\n"), false, err), 1);
	assert_int_equal(nm_cgroup_freeze_requested(
		fake_freezer(NULL, NULL, "THAWED\n"), false, err), 0);
	assert_int_equal(nm_cgroup_freeze_requested(
		fake_freezer("frozen 0\n", NULL, NULL), true, err), -1);
	assert_non_null(strstr(err, "cgroup.freeze"));
}

static void test_freeze_state_v1(void **state)
{
	char err[NM_ERRLEN] = "";
	enum nm_freeze_state st;

	(void)state;
	expect_state(fake_freezer(NULL, NULL, "THAWED\n"), false, NM_THAWED);
	expect_state(fake_freezer(NULL, NULL, "FREEZING\n"), false,
		     NM_FREEZING);
	expect_state(fake_freezer(NULL, NULL, "FROZEN\n"), false, NM_FROZEN);
	assert_int_equal(nm_cgroup_freeze_state(
		fake_freezer(NULL, NULL, "FROZENX\n"), false, &st, err), -1);
	assert_non_null(strstr(err, "unknown state"));
	assert_int_equal(nm_cgroup_freeze_state("relative", false, &st, err),
			 -1);
	assert_string_equal(nm_freeze_state_name(NM_FREEZING), "FREEZING");
}

/* A process stopped by SIGSTOP is FROZEN; SIGCONT makes it THAWED. */
static void test_process_stopped_state(void **state)
{
	enum nm_freeze_state st;
	char err[NM_ERRLEN] = "";
	pid_t child = spawn_sleeper(2);

	(void)state;
	assert_int_equal(nm_process_freeze_state(child, &st, err), 0);
	assert_int_equal(st, NM_THAWED);
	kill(child, SIGSTOP);
	for (int i = 0; i < 200 && st != NM_FROZEN; i++) {
		usleep(10000);
		assert_int_equal(nm_process_freeze_state(child, &st, err), 0);
	}
	assert_int_equal(st, NM_FROZEN);
	kill(child, SIGCONT);
	for (int i = 0; i < 200 && st != NM_THAWED; i++) {
		usleep(10000);
		assert_int_equal(nm_process_freeze_state(child, &st, err), 0);
	}
	assert_int_equal(st, NM_THAWED);
	reap(child);
	assert_int_equal(nm_process_freeze_state(child, &st, err), -1);
	assert_non_null(strstr(err, "no such process"));
}

/* A real v1 freezer: FROZEN through the cgroup, though no thread is 'T'. */
static void test_process_v1_frozen(void **state)
{
	struct nm_cgroup_mounts m;
	enum nm_freeze_state st = NM_THAWED;
	char err[NM_ERRLEN] = "", dir[600];
	pid_t child;

	(void)state;
	assert_int_equal(nm_cgroup_mounts("/proc/self/mountinfo", &m, err), 0);
	if (!make_cgroup(m.v1_freezer, "fz", dir, sizeof(dir), false))
		skip();	/* no v1 freezer hierarchy or not root: SKIPPED */
	child = spawn_sleeper(1);
	enter(dir, child);
	assert_int_equal(nm_process_freeze_state(child, &st, err), 0);
	assert_int_equal(st, NM_THAWED);
	put(dir, "freezer.state", "FROZEN");
	for (int i = 0; i < 200 && st != NM_FROZEN; i++) {
		usleep(10000);
		assert_int_equal(nm_process_freeze_state(child, &st, err), 0);
	}
	assert_int_equal(st, NM_FROZEN);
	assert_int_equal(nm_process_stopped(child, NULL, err), 0);
	put(dir, "freezer.state", "THAWED");
	assert_int_equal(nm_process_freeze_state(child, &st, err), 0);
	assert_int_equal(st, NM_THAWED);
	reap(child);
	drop_cgroup(m.v1_freezer, dir);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hybrid),
		cmocka_unit_test(test_pure_v2_and_container),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_live_self),
		cmocka_unit_test(test_live_v1_cpuset),
		cmocka_unit_test(test_live_v2_tree),
		cmocka_unit_test(test_tree_within),
		cmocka_unit_test(test_cpusets_shared),
		cmocka_unit_test(test_slurm_stepd),
		cmocka_unit_test(test_freeze_state_v2),
		cmocka_unit_test(test_freeze_state_v1),
		cmocka_unit_test(test_freeze_requested),
		cmocka_unit_test(test_process_stopped_state),
		cmocka_unit_test(test_process_v1_frozen),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
