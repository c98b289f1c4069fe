/* SPDX-License-Identifier: MIT */
/* What a repack or restore asks Slurm: whose CPUs are where on this host. */
#include "helper/daemon/repack_internal.h"
#include "helper/site/slurm_info.h"

void nm_repack_cpus_to_nodes(const struct nm_topology *t,
			     const struct nm_bitmap *cpus,
			     struct nm_bitmap *nodes)
{
	int c;

	nm_bitmap_zero(nodes);
	nm_bitmap_foreach(c, cpus) {
		int n = nm_topology_cpu_node(t, c);

		if (n >= 0)
			nm_bitmap_set(nodes, (unsigned int)t->nodes[n].os);
	}
}

int nm_repack_job_cpus(const struct nm_daemon *d, uint64_t job, char *node,
		       size_t len, struct nm_bitmap *cpus, char *err)
{
	if (nm_slurm_local_node(d->cfg.slurm_node, node, len, err) < 0)
		return -1;
	return nm_slurm_job_cpus(job, node, cpus, err);
}

int nm_repack_busy_nodes(const struct nm_topology *t, const char *node,
			 uint64_t except, struct nm_bitmap *out, char *err)
{
	struct nm_bitmap cpus;

	if (nm_slurm_running_cpus(node, except, &cpus, err) < 0)
		return -1;
	nm_repack_cpus_to_nodes(t, &cpus, out);
	return 0;
}
