/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper/daemon/authz.h"
#include "helper/site/slurm_info.h"
#include "lib/linux/cgroup.h"
#include "lib/linux/job_cgroup.h"
#include "lib/linux/proc.h"

bool nm_authz_privileged(const struct nm_config *cfg, uid_t uid)
{
	return uid == 0 || (cfg->slurm_uid != (uid_t)-1 &&
			    uid == cfg->slurm_uid);
}

int nm_authz_owns(uid_t uid, const pid_t *pids, int npids, char *err)
{
	for (int i = 0; i < npids; i++) {
		struct nm_proc_info pi;

		if (nm_proc_info(pids[i], &pi, err) < 0)
			return -1;
		for (int k = 0; k < 4; k++)
			if (pi.uid[k] != uid) {
				/* Say as little as possible about others. */
				nm_seterr(err, "permission denied: process %d "
					  "is not yours", (int)pids[i]);
				return -1;
			}
	}
	return 0;
}

int nm_authz_job_tasks(uid_t uid, uint64_t job, const pid_t *pids, int npids,
		       char *err)
{
	struct nm_slurm_job sj;
	char why[NM_ERRLEN];

	if (nm_slurm_job(job, &sj, why) < 0) {
		nm_seterr(err, "permission denied: job %llu: Slurm cannot "
			  "confirm its owner (%.120s)", (unsigned long long)job,
			  why);
		return -1;
	}
	if (sj.uid != uid) {
		nm_seterr(err, "permission denied: job %llu is not yours",
			  (unsigned long long)job);
		return -1;
	}
	for (int i = 0; i < npids; i++) {
		int in = nm_pid_in_job_cgroup(pids[i], job, err);

		if (in < 0)
			return -1;
		if (!in) {
			nm_seterr(err, "permission denied: process %d is not "
				  "in job %llu's cgroup", (int)pids[i],
				  (unsigned long long)job);
			return -1;
		}
	}
	return 0;
}

/*
 * The cpuset's memory nodes, when the process has a cpuset cgroup: those
 * of its Slurm job's directory (job_N) when it is in one, else its own.
 * *@job: they are a Slurm job's allocation on this host.
 */
static int cgroup_mems(pid_t pid, struct nm_bitmap *mems, bool *have,
		       bool *job, char *err)
{
	struct nm_cgroups cg;
	const char *dir, *file;
	char jdir[sizeof(cg.v2)];

	*have = *job = false;
	if (nm_cgroup_of(pid, &cg, err) < 0)
		return -1;
	if (cg.v1_cpuset[0]) {
		dir = cg.v1_cpuset;
		file = "cpuset.mems";
	} else if (cg.v2[0] && cg.v2_has_cpuset) {
		dir = cg.v2;
		file = "cpuset.mems.effective";
	} else {
		return 0;
	}
	if (nm_job_cgroup_dir(dir, jdir, sizeof(jdir))) {
		dir = jdir;
		*job = true;
	}
	if (nm_cgroup_get_list(dir, file, mems, err) < 0)
		return -1;
	*have = true;
	return 0;
}

/*
 * The memory nodes @pid may use: those of its Slurm job's cpuset (the
 * job's allocation, which root made); outside a job, its Mems_allowed
 * narrowed by its cpuset cgroup's nodes when it has one.  Not a Slurm
 * job's Mems_allowed: a move narrows the step's cpuset to the nodes it
 * moved to, and the job may move back within its allocation.
 */
static int process_nodes(pid_t pid, struct nm_bitmap *allowed, char *err)
{
	struct nm_proc_info pi;
	struct nm_bitmap cg;
	bool have, job;

	if (nm_proc_info(pid, &pi, err) < 0 ||
	    cgroup_mems(pid, &cg, &have, &job, err) < 0)
		return -1;
	*allowed = pi.mems_allowed;
	if (have && job)
		*allowed = cg;
	else if (have)
		nm_bitmap_and(allowed, &cg);
	return 0;
}

int nm_authz_nodes(const pid_t *pids, int npids, const struct nm_bitmap *nodes,
		   char *err)
{
	for (int i = 0; i < npids; i++) {
		struct nm_bitmap allowed;
		int n;

		if (process_nodes(pids[i], &allowed, err) < 0)
			return -1;
		nm_bitmap_foreach(n, nodes)
			if (!nm_bitmap_test(&allowed, n)) {
				char list[256];

				nm_list_format(&allowed, list, sizeof(list));
				nm_seterr(err, "permission denied: process %d "
					  "may not use node %d (its nodes: "
					  "%s)", (int)pids[i], n, list);
				return -1;
			}
	}
	return 0;
}

/* The memory nodes every process of @pids may use. */
static int common_nodes(const pid_t *pids, int npids,
			struct nm_bitmap *common, char *err)
{
	for (int i = 0; i < npids; i++) {
		struct nm_bitmap allowed;

		if (process_nodes(pids[i], &allowed, err) < 0)
			return -1;
		if (i == 0)
			*common = allowed;
		else
			nm_bitmap_and(common, &allowed);
	}
	return 0;
}

int nm_authz_usable_nodes(const pid_t *pids, int npids,
			  struct nm_bitmap *nodes, char *err)
{
	nm_bitmap_zero(nodes);
	return common_nodes(pids, npids, nodes, err);
}

int nm_authz_on_behalf(const struct nm_config *cfg, uid_t owner,
		       const char *what, const pid_t *pids, int npids,
		       const struct nm_bitmap *nodes, char *err)
{
	struct nm_bitmap common;
	pid_t *all = NULL;
	int nall = 0, rc = -1;

	if (nm_authz_privileged(cfg, owner))
		return 0;
	if (nm_proc_descendants(pids, npids, &all, &nall, err) < 0 ||
	    nm_authz_owns(owner, all, nall, err) < 0 ||
	    common_nodes(all, nall, &common, err) < 0)
		goto out;
	if (!nm_bitmap_subset(nodes, &common)) {
		char a[256], w[256];

		nm_list_format(&common, a, sizeof(a));
		nm_list_format(nodes, w, sizeof(w));
		nm_seterr(err, "permission denied: %.100s may use NUMA nodes "
			  "%s only, not %s", what, a, w);
		goto out;
	}
	rc = 0;
out:
	free(all);
	return rc;
}
