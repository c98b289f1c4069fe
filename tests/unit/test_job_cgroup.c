/* SPDX-License-Identifier: MIT */
/*
 * "Is this process inside job J's cgroup?": the /proc/PID/cgroup lines
 * Slurm's cgroup/v1 and cgroup/v2 plugins produce, and near misses a
 * user could arrange (a job id that is a prefix, a name that only
 * contains it, the id in the controller field).
 */
#include "testutil.h"

#include <string.h>
#include <unistd.h>

#include "lib/linux/job_cgroup.h"

static int match(const char *s, uint64_t job)
{
	return nm_job_cgroup_match(s, strlen(s), job);
}

static void test_slurm_layouts(void **state)
{
	(void)state;
	assert_int_equal(match("4:cpuset:/slurm_n1/uid_1000/job_42/step_0\n"
			       "0::/\n", 42), 1);
	assert_int_equal(match("0::/system.slice/slurmstepd.scope/job_7/"
			       "step_batch/user/task_0\n", 7), 1);
	assert_int_equal(match("3:freezer:/slurm/uid_0/job_9", 9), 1);
	assert_int_equal(match("0::/a/job_12\n", 12), 1);
}

static void test_near_misses(void **state)
{
	(void)state;
	assert_int_equal(match("0::/slurm/uid_0/job_420/step_0\n", 42), 0);
	assert_int_equal(match("0::/slurm/uid_0/xjob_42/step_0\n", 42), 0);
	assert_int_equal(match("0::/user.slice/job_42x\n", 42), 0);
	assert_int_equal(match("4:job_42:/\n", 42), 0);
	assert_int_equal(match("0::/\n", 42), 0);
	assert_int_equal(match("", 42), 0);
	assert_int_equal(match("garbage without colons /job_42/\n", 42), 0);
}

static void test_job_dir(void **state)
{
	char out[128];

	(void)state;
	assert_int_equal(nm_job_cgroup_dir("/sys/fs/cgroup/system.slice/"
					   "n1_slurmstepd.scope/job_7/step_0/"
					   "user/task_0", out, sizeof(out)), 1);
	assert_string_equal(out, "/sys/fs/cgroup/system.slice/"
			    "n1_slurmstepd.scope/job_7");
	assert_int_equal(nm_job_cgroup_dir("/sys/fs/cgroup/cpuset/slurm/"
					   "uid_0/job_42", out, sizeof(out)), 1);
	assert_string_equal(out, "/sys/fs/cgroup/cpuset/slurm/uid_0/job_42");
	/* The topmost one: a job_N a job made below Slurm's is not it. */
	assert_int_equal(nm_job_cgroup_dir("/c/job_1/step_0/job_2", out,
					   sizeof(out)), 1);
	assert_string_equal(out, "/c/job_1");
	/* Near misses: no digits, other characters, a prefix, none. */
	assert_int_equal(nm_job_cgroup_dir("/c/job_/x", out, sizeof(out)), 0);
	assert_int_equal(nm_job_cgroup_dir("/c/job_4x/x", out, sizeof(out)),
			 0);
	assert_int_equal(nm_job_cgroup_dir("/c/xjob_4/x", out, sizeof(out)),
			 0);
	assert_int_equal(nm_job_cgroup_dir("/sys/fs/cgroup/user.slice", out,
					   sizeof(out)), 0);
	assert_int_equal(nm_job_cgroup_dir("", out, sizeof(out)), 0);
	/* Too long for @out: not found rather than cut. */
	assert_int_equal(nm_job_cgroup_dir("/c/job_12345", out, 8), 0);
}

static void test_live(void **state)
{
	char err[NM_ERRLEN];

	(void)state;
	/* This test process is in no Slurm job 987654321's cgroup. */
	assert_int_equal(nm_pid_in_job_cgroup(getpid(), 987654321, err), 0);
	assert_int_equal(nm_pid_in_job_cgroup(-1, 1, err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slurm_layouts),
		cmocka_unit_test(test_near_misses),
		cmocka_unit_test(test_job_dir),
		cmocka_unit_test(test_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
