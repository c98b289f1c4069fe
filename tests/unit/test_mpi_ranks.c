/* SPDX-License-Identifier: MIT */
/*
 * MPI ranks of a live job's processes, from their environment: real
 * processes started with the variables an MPI launcher sets, a launcher
 * by name, a job script and a rank's child.
 */
#include "testutil.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/linux/mpi_ranks.h"

/* A process running sleep(1) with @env; @name: a new command name. */
static pid_t start(const char *name, char *const env[])
{
	pid_t pid = fork();

	if (pid == 0) {
		if (name) {
			prctl(PR_SET_NAME, name);
			pause();
			_exit(0);
		}
		execle("/bin/sleep", "sleep", "60", (char *)NULL, env);
		_exit(127);
	}
	assert_true(pid > 0);
	return pid;
}

/* Waits until @pid has exec'd (its environ is the new one) or renamed. */
static void settle(pid_t pid, const char *comm)
{
	char path[64], buf[32] = "";

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	for (int i = 0; i < 400; i++) {
		FILE *f = fopen(path, "re");

		if (f) {
			if (!fgets(buf, sizeof(buf), f))
				buf[0] = '\0';
			fclose(f);
			buf[strcspn(buf, "\n")] = '\0';
			if (!strcmp(buf, comm))
				return;
		}
		usleep(5000);
	}
	fail_msg("process %d never became '%s' (is '%s')", (int)pid, comm,
		 buf);
}

static void stop_all(const pid_t *pids, int n)
{
	for (int i = 0; i < n; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
}

static void test_rank_from_environment(void **state)
{
	char *ompi[] = { "SLURM_PROCID=0", "PMIX_RANK=7",
			 "OMPI_COMM_WORLD_RANK=3", NULL };
	char *pmi[] = { "PMI_RANK=12", NULL };
	char *none[] = { "HOME=/", NULL };
	char *bad[] = { "PMIX_RANK=-1", "OMPI_COMM_WORLD_RANK=x", NULL };
	const char *from;
	pid_t p[4];

	(void)state;
	p[0] = start(NULL, ompi);
	p[1] = start(NULL, pmi);
	p[2] = start(NULL, none);
	p[3] = start(NULL, bad);
	for (int i = 0; i < 4; i++)
		settle(p[i], "sleep");
	assert_int_equal(nm_proc_mpi_rank(p[0], &from), 3);
	assert_string_equal(from, "OMPI_COMM_WORLD_RANK");
	assert_int_equal(nm_proc_mpi_rank(p[1], &from), 12);
	assert_string_equal(from, "PMI_RANK");
	assert_int_equal(nm_proc_mpi_rank(p[2], &from), -1);
	assert_null(from);
	assert_int_equal(nm_proc_mpi_rank(p[3], NULL), -1);
	stop_all(p, 4);
	/* gone */
	assert_int_equal(nm_proc_mpi_rank(p[0], NULL), -1);
}

/*
 * mpirun inside a batch script: the script (SLURM_PROCID=0), mpirun and
 * orted (launchers), ranks 1 and 0 (forked in that order), and a child
 * of rank 0 that inherited its environment.
 */
static void test_assign(void **state)
{
	struct nm_topology *t = load_topo("16amd64-8n2c-cpusets.xml");
	char *script[] = { "SLURM_PROCID=0", NULL };
	char *r0[] = { "SLURM_PROCID=0", "OMPI_COMM_WORLD_RANK=0",
		       "PMIX_RANK=0", NULL };
	char *r1[] = { "SLURM_PROCID=0", "OMPI_COMM_WORLD_RANK=1",
		       "PMIX_RANK=1", NULL };
	char err[NM_ERRLEN] = "";
	struct nm_job *job;
	pid_t p[6];

	(void)state;
	p[0] = start(NULL, script);
	p[1] = start("mpirun", NULL);
	p[2] = start("orted", NULL);
	p[3] = start(NULL, r1);
	p[4] = start(NULL, r0);
	p[5] = start(NULL, r0);		/* rank 0's child: a younger pid */
	for (int i = 0; i < 6; i++)
		settle(p[i], i == 1 ? "mpirun" : i == 2 ? "orted" : "sleep");
	job = nm_job_alloc(6, t, err);
	assert_non_null(job);
	for (int i = 0; i < 6; i++) {
		job->tasks[i].pid = p[i];
		job->tasks[i].rank = i;
	}
	nm_mpi_ranks_assign(job);
	assert_int_equal(job->tasks[4].rank, 0);
	assert_int_equal(job->tasks[4].role, NM_TASK_RANK);
	assert_int_equal(job->tasks[3].rank, 1);
	assert_int_equal(job->tasks[3].role, NM_TASK_RANK);
	/* the rest after the last rank, in pid order */
	assert_int_equal(job->tasks[0].rank, 2);
	assert_int_equal(job->tasks[0].role, NM_TASK_PROCESS);
	assert_int_equal(job->tasks[1].rank, 3);
	assert_int_equal(job->tasks[1].role, NM_TASK_LAUNCHER);
	assert_int_equal(job->tasks[2].rank, 4);
	assert_int_equal(job->tasks[2].role, NM_TASK_LAUNCHER);
	assert_int_equal(job->tasks[5].rank, 5);
	assert_int_equal(job->tasks[5].role, NM_TASK_PROCESS);
	nm_job_free(job);
	stop_all(p, 6);
	nm_topology_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rank_from_environment),
		cmocka_unit_test(test_assign),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
