/* SPDX-License-Identifier: MIT */
/*
 * Finding the suspended jobs a repack may move, and waiting until Slurm
 * holds every process of one before it moves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helper/daemon/repack_internal.h"
#include "helper/site/slurm_info.h"
#include "lib/core/job.h"
#include "lib/linux/cgroup.h"
#include "lib/linux/job_cgroup.h"
#include "lib/linux/job_proc.h"
#include "lib/linux/proc.h"

int nm_victim_get(struct nm_daemon *d, uint64_t job, struct nm_victim *v,
		  char *err)
{
	struct nm_reg_task *tasks;
	int n;

	memset(v, 0, sizeof(*v));
	v->job = job;
	if (nm_registry_list(d->reg, job, (uid_t)-1, &tasks, &n, err) < 0)
		return -1;
	v->pids = calloc((size_t)n + 1, sizeof(*v->pids));
	v->starts = calloc((size_t)n + 1, sizeof(*v->starts));
	if (!v->pids || !v->starts) {
		free(tasks);
		nm_seterr(err, "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		v->pids[i] = tasks[i].pid;
		v->starts[i] = tasks[i].starttime;
	}
	v->npids = n;
	free(tasks);
	return 0;
}

void nm_victim_free(struct nm_victim *v)
{
	free(v->pids);
	free(v->starts);
}

/*
 * A victim is a job Slurm itself reports SUSPENDED, every registered
 * process of it inside the job's cgroup.  Processes that are merely
 * stopped prove nothing: any user may stop their own process, and root
 * would then move it and rewrite its cpuset (repack injection).
 */
bool nm_victim_suspended(const struct nm_victim *v, char *why, size_t len)
{
	struct nm_slurm_job sj;
	char err[NM_ERRLEN];

	if (nm_slurm_job(v->job, &sj, err) < 0) {
		snprintf(why, len, "not suspended: not a Slurm job Slurm "
			 "knows (%.100s)", err);
		return false;
	}
	if (sj.state != NM_SLURM_SUSPENDED) {
		snprintf(why, len, "not suspended: Slurm state %s",
			 sj.state_name);
		return false;
	}
	for (int i = 0; i < v->npids; i++) {
		int in = nm_pid_in_job_cgroup(v->pids[i], v->job, err);

		if (in != 1) {
			snprintf(why, len, "not moved: process %d is not in "
				 "job %llu's cgroup%s%.100s", (int)v->pids[i],
				 (unsigned long long)v->job, in < 0 ? ": " : "",
				 in < 0 ? err : "");
			return false;
		}
	}
	snprintf(why, len, "Slurm state SUSPENDED");
	return true;
}

/*
 * Held by Slurm: stopped by a signal, or in a FROZEN cgroup (its own or an
 * ancestor's).  FREEZING is not enough: a task may still run.
 */
static bool process_held(pid_t pid)
{
	enum nm_freeze_state st;
	char err[NM_ERRLEN];

	return nm_process_freeze_state(pid, &st, err) == 0 &&
	       st == NM_FROZEN;
}

/*
 * Slurm marks a job SUSPENDED and runs the preemptor's prolog first; it
 * stops or freezes the job's processes only after its suspend grace time
 * (SIGTSTP at once, SIGSTOP or the freezer ~2 s later).  A move started
 * in between would find the job running, freeze it itself, and thaw it at
 * the end, undoing Slurm's freeze where both use the same cgroup (v1).
 * So the move waits, a bounded time, until Slurm holds every process.
 */
bool nm_victim_wait_held(const struct nm_victim *v)
{
	struct timespec ts = { 0, 100 * 1000000L };

	for (int waited = 0;; waited += 100) {
		int i;

		for (i = 0; i < v->npids && process_held(v->pids[i]); i++)
			;
		if (i == v->npids)
			return true;
		if (waited >= NM_HOLD_WAIT_MS)
			return false;
		nanosleep(&ts, NULL);
	}
}

int nm_victim_nodes(const struct nm_topology *t, const struct nm_victim *v,
		    struct nm_bitmap *out, char *err)
{
	struct nm_job *job;
	pid_t *all = NULL;
	int nall = 0, n;

	nm_bitmap_zero(out);
	if (nm_proc_descendants(v->pids, v->npids, &all, &nall, err) < 0)
		return -1;
	job = nm_job_from_pids(all, nall, t, err);
	free(all);
	if (!job)
		return -1;
	nm_bitmap_foreach(n, &job->nodes)
		if (job->node_bytes[n])
			nm_bitmap_set(out, (unsigned int)t->nodes[n].os);
	nm_job_free(job);
	return 0;
}
