/* SPDX-License-Identifier: MIT */
#ifndef NM_REBIND_H
#define NM_REBIND_H

#include <sys/types.h>

#include "lib/base/error.h"
#include "lib/core/topology.h"

/*
 * Re-pins every thread of @pid from its current CPUs to the CPUs
 * nm_map_cpus() gives under @map (node index -> node index), keeping each
 * thread's relative core position.  Returns the number of threads re-pinned
 * or -1.
 */
int nm_rebind_process(const struct nm_topology *t, const int *map, pid_t pid,
		      char *err);

#endif
