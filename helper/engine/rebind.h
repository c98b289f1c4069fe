/* SPDX-License-Identifier: MIT */
#ifndef NM_REBIND_H
#define NM_REBIND_H

#include <sys/types.h>

#include "lib/base/error.h"
#include "lib/core/topology.h"
#include "lib/linux/pidref.h"

/*
 * Re-pins every thread of @pid from its current CPUs to the CPUs
 * nm_map_cpus() gives under @map (node index -> node index), keeping each
 * thread's relative core position.  Returns the number of threads re-pinned
 * or -1.
 */
int nm_rebind_process(const struct nm_topology *t, const int *map, pid_t pid,
		      char *err);
/*
 * The same for a process verified earlier: each thread is re-pinned only
 * while @ref's pid still names that process (-1 with @err once not).
 */
int nm_rebind_ref(const struct nm_topology *t, const int *map,
		  const struct nm_pidref *ref, char *err);

#endif
