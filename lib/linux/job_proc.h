/* SPDX-License-Identifier: MIT */
#ifndef NM_JOB_PROC_H
#define NM_JOB_PROC_H

#include <sys/types.h>

#include "lib/core/job.h"

/*
 * Reads live processes: CPUs from /proc/PID/status, resident bytes per
 * node from /proc/PID/numa_maps.  Rank i is pids[i].
 */
struct nm_job *nm_job_from_pids(const pid_t *pids, int npids,
				const struct nm_topology *t, char *err);

/*
 * The /proc parsers behind it, over a file's @len bytes (no '\0' needed),
 * for the fuzzers: the Cpus_allowed_list of /proc/PID/status, and the
 * job's memory per node index in /proc/PID/numa_maps lines, added to
 * @bytes (t->nnodes of them).
 */
int nm_status_cpus_parse(const char *buf, size_t len, struct nm_bitmap *cpus,
			 char *err);
int nm_numa_maps_parse(const char *buf, size_t len,
		       const struct nm_topology *t, uint64_t *bytes,
		       char *err);

#endif
