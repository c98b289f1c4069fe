/* SPDX-License-Identifier: MIT */
/*
 * What differs between the libslurm releases numamigrate supports.  Since
 * Slurm 24.05 libslurm no longer exports a job's per-node CPU ids
 * (slurm_job_cpus_allocated_str_on_node); only scontrol prints them,
 * through Slurm's private library, so they come from
 * `scontrol show job -d -o JOBID` there.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper/site/slurm_compat.h"

#ifdef NM_SLURM_JOB_CPUS_STR

int nm_slurm_cpus_on_node(slurm_job_info_t *j, const char *node, char *buf,
			  size_t len)
{
	return slurm_job_cpus_allocated_str_on_node(buf, len, j->job_resrcs,
						    node) ? -1 : 0;
}

#else

static bool in_hostlist(const char *list, const char *node)
{
	nm_hostlist_t hl = slurm_hostlist_create(list);
	bool found;

	if (!hl)
		return false;
	found = slurm_hostlist_find(hl, node) >= 0;
	slurm_hostlist_destroy(hl);
	return found;
}

/*
 * scontrol -d prints, per group of nodes, "Nodes=LIST CPU_IDs=CPUS":
 * the CPU_IDs= right after a Nodes= entry that names @node.
 */
static int cpus_in_line(char *line, const char *node, char *buf, size_t len)
{
	char *save = NULL, *tok, *nodes = NULL;

	for (tok = strtok_r(line, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		if (!strncmp(tok, "Nodes=", 6)) {
			nodes = tok + 6;
			continue;
		}
		if (nodes && !strncmp(tok, "CPU_IDs=", 8) && tok[8] &&
		    in_hostlist(nodes, node))
			return (size_t)snprintf(buf, len, "%s", tok + 8) < len ?
			       0 : -1;
		nodes = NULL;
	}
	return -1;
}

int nm_slurm_cpus_on_node(slurm_job_info_t *j, const char *node, char *buf,
			  size_t len)
{
	char cmd[64], *line = NULL;
	size_t cap = 0;
	int rc = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "scontrol show job -d -o %u 2>/dev/null",
		 j->job_id);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (rc < 0 && getline(&line, &cap, f) > 0)
		rc = cpus_in_line(line, node, buf, len);
	free(line);
	if (pclose(f) != 0)
		rc = -1;
	return rc;
}

#endif
