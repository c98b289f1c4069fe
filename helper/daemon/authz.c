/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "helper/daemon/authz.h"
#include "lib/linux/cgroup.h"
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

/* The cpuset's memory nodes, when the process has a cpuset cgroup. */
static int cgroup_mems(pid_t pid, struct nm_bitmap *mems, bool *have,
		       char *err)
{
	struct nm_cgroups cg;

	*have = false;
	if (nm_cgroup_of(pid, &cg, err) < 0)
		return -1;
	if (cg.v1_cpuset[0]) {
		if (nm_cgroup_get_list(cg.v1_cpuset, "cpuset.mems", mems,
				       err) < 0)
			return -1;
		*have = true;
	} else if (cg.v2[0] && cg.v2_has_cpuset) {
		if (nm_cgroup_get_list(cg.v2, "cpuset.mems.effective", mems,
				       err) < 0)
			return -1;
		*have = true;
	}
	return 0;
}

int nm_authz_nodes(const pid_t *pids, int npids, const struct nm_bitmap *nodes,
		   char *err)
{
	for (int i = 0; i < npids; i++) {
		struct nm_proc_info pi;
		struct nm_bitmap cg, allowed;
		bool have;
		int n;

		if (nm_proc_info(pids[i], &pi, err) < 0 ||
		    cgroup_mems(pids[i], &cg, &have, err) < 0)
			return -1;
		allowed = pi.mems_allowed;
		if (have)
			nm_bitmap_and(&allowed, &cg);
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
