/* SPDX-License-Identifier: MIT */
#include <sys/mman.h>
#include <unistd.h>

#include "testutil.h"
#include "lib/linux/job_proc.h"

static struct nm_topology *topo;

static int setup(void **state)
{
	(void)state;
	topo = load_topo("16amd64-4distances.xml");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nm_topology_free(topo);
	return 0;
}

static void test_parse(void **state)
{
	struct nm_job *job;
	char buf[64];

	(void)state;
	job = parse_job("{\"tasks\": ["
			"{\"rank\": 0, \"cpus\": \"0-1\", \"memory\": "
			"{\"0\": 1000, \"1\": 24}},"
			"{\"rank\": 1, \"cpus\": \"2-3\", \"pid\": 42, "
			"\"memory\": {\"1\": 4096}}]}", topo);
	assert_int_equal(job->ntasks, 2);
	assert_int_equal(job->tasks[1].pid, 42);
	assert_int_equal(job->node_bytes[0], 1000);
	assert_int_equal(job->node_bytes[1], 4120);
	nm_list_format(&job->nodes, buf, sizeof(buf));
	assert_string_equal(buf, "0-1");
	nm_list_format(&job->cpu_nodes, buf, sizeof(buf));
	assert_string_equal(buf, "0-1");
	nm_job_free(job);
}

static void expect_error(const char *json, const char *needle)
{
	char err[NM_ERRLEN] = "";
	struct nm_job *job = nm_job_from_json(json, strlen(json), topo, err);

	assert_null(job);
	if (!strstr(err, needle))
		fail_msg("error '%s' lacks '%s'", err, needle);
	assert_null(strchr(err, '\n'));
}

static void test_bad(void **state)
{
	(void)state;
	expect_error("", "not valid JSON");
	expect_error("{", "not valid JSON");
	expect_error("[]", "expected a JSON object");
	expect_error("{}", "\"tasks\" must be an array");
	expect_error("{\"tasks\": []}", "no tasks");
	expect_error("{\"tasks\": [1]}", "tasks[0]: expected an object");
	expect_error("{\"tasks\": [{\"cpus\": \"0\"}]}", "tasks[0].rank");
	expect_error("{\"tasks\": [{\"rank\": -1, \"cpus\": \"0\"}]}",
		     "tasks[0].rank");
	expect_error("{\"tasks\": [{\"rank\": 1.5, \"cpus\": \"0\"}]}",
		     "tasks[0].rank");
	expect_error("{\"tasks\": [{\"rank\": 0}]}", "tasks[0].cpus");
	expect_error("{\"tasks\": [{\"rank\": 0, \"cpus\": \"0-\"}]}",
		     "tasks[0].cpus '0-'");
	expect_error("{\"tasks\": [{\"rank\": 0, \"cpus\": \"999\"}]}",
		     "CPU 999 is not a CPU");
	expect_error("{\"tasks\": [{\"rank\": 0, \"cpus\": \"0\", "
		     "\"memory\": {\"9\": 1}}]}", "node 9 does not exist");
	expect_error("{\"tasks\": [{\"rank\": 0, \"cpus\": \"0\", "
		     "\"memory\": {\"x\": 1}}]}", "'x' is not a node number");
	expect_error("{\"tasks\": [{\"rank\": 0, \"cpus\": \"0\", "
		     "\"memory\": {\"0\": -5}}]}", "expected a byte count");
	expect_error("{\"tasks\": [{\"rank\": 0, \"cpus\": \"0\", "
		     "\"memory\": {\"0\": \"1G\"}}]}", "expected a byte count");
	expect_error("{\"tasks\": [{\"rank\": 0, \"cpus\": \"0\", "
		     "\"memory\": [1]}]}", "expected an object");
	expect_error("{\"tasks\": [{\"rank\": 0, \"cpus\": \"0\", "
		     "\"mem\": {}}]}", "unknown key 'mem'");
	expect_error("{\"tasks\": [{\"rank\": 0, \"cpus\": \"0\"}], "
		     "\"task\": 1}", "unknown key 'task'");
	expect_error("{\"tasks\": [{\"rank\": 0, \"cpus\": \"0\"},"
		     "{\"rank\": 0, \"cpus\": \"1\"}]}", "rank 0 appears twice");
	expect_error("{\"tasks\": [{\"rank\": 0, \"rank\": 1, \"cpus\": "
		     "\"0\"}]}", "duplicate");
	expect_error("{\"tasks\": [{\"rank\": 0, \"cpus\": \"0\", "
		     "\"pid\": 0}]}", "tasks[0].pid");
}

static void test_live_self(void **state)
{
	char err[NM_ERRLEN] = "";
	struct nm_topology *live = nm_topology_load(NULL, err);
	pid_t self = getpid();
	struct nm_job *job;
	size_t len = 8 << 20;
	char *p;
	uint64_t total = 0;

	(void)state;
	assert_non_null(live);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	memset(p, 1, len);
	job = nm_job_from_pids(&self, 1, live, err);
	if (!job)
		fail_msg("%s", err);
	for (int n = 0; n < live->nnodes; n++)
		total += job->node_bytes[n];
	/* at least the 8 MiB just touched is resident somewhere */
	assert_true(total >= len);
	assert_false(nm_bitmap_empty(&job->tasks[0].cpus));
	nm_job_free(job);
	munmap(p, len);
	nm_topology_free(live);
}

static void test_pids(void **state)
{
	pid_t pids[8];
	char err[NM_ERRLEN] = "";
	struct nm_topology *live = nm_topology_load(NULL, err);
	pid_t gone = 0x3ffffff0;

	(void)state;
	assert_int_equal(nm_parse_pid_list("1,22,333", pids, 8, err), 3);
	assert_int_equal(pids[2], 333);
	assert_int_equal(nm_parse_pid_list("", pids, 8, err), -1);
	assert_int_equal(nm_parse_pid_list("1,", pids, 8, err), -1);
	assert_int_equal(nm_parse_pid_list("0", pids, 8, err), -1);
	assert_int_equal(nm_parse_pid_list("-3", pids, 8, err), -1);
	assert_int_equal(nm_parse_pid_list("1,1", pids, 8, err), -1);
	assert_non_null(strstr(err, "twice"));
	assert_int_equal(nm_parse_pid_list("1,2,3", pids, 2, err), -1);
	assert_int_equal(nm_parse_pid_list("99999999999", pids, 8, err), -1);
	assert_null(nm_job_from_pids(&gone, 1, live, err));
	assert_non_null(strstr(err, "no such process"));
	nm_topology_free(live);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_live_self),
		cmocka_unit_test(test_pids),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
