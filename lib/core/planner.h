/* SPDX-License-Identifier: MIT */
#ifndef NM_PLANNER_H
#define NM_PLANNER_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/base/error.h"
#include "lib/core/job.h"
#include "lib/base/target.h"
#include "lib/core/topology.h"

/* One ordered move of the plan: @bytes of the job's memory, OS numbers. */
struct nm_step {
	int from;
	int to;
	uint64_t bytes;
	bool parked;	/* to a spare node, to break a cycle; moved on later */
};

struct nm_plan_options {
	/* Search nodes before settling for the best map found; 0: default. */
	uint64_t search_budget;
	/*
	 * Allow nodes holding the job's CPUs to map to memory-only nodes: for
	 * a suspended job whose memory only needs to be out of the way.
	 * Its CPUs then stay where they are.
	 */
	bool memory_only_targets;
	/*
	 * An explicit map for an NM_TARGET_MAP target, by node index (-1:
	 * the node stays), instead of the ordinal i-th old -> i-th new one:
	 * for maps a node list cannot spell, such as the exact inverse of
	 * an earlier plan.  NULL: the ordinal map.
	 */
	const int *map;
	/*
	 * The nodes (OS numbers) the caller may use, the only ones the plan
	 * may park pages on to break a cycle: an unprivileged caller's
	 * allocation (its cpuset's nodes).  NULL: any node.  Either way a
	 * spare has CPUs or is one of the job's nodes or targets.
	 */
	const struct nm_bitmap *park_nodes;
};

struct nm_plan {
	bool feasible;
	char reason[NM_ERRLEN];		/* why not, when !feasible */
	int nnodes;
	int *map;		/* node index -> node index; -1: not the job's */
	int *kernel_map;	/* migrate_pages(2)'s node_remap, same form */
	int *kernel_final;	/* where the kernel's replay leaves each node's
				   pages (differs from kernel_map on cycles) */
	uint64_t bytes_moved;		/* sum of steps */
	uint64_t kernel_bytes_moved;	/* do_migrate_pages() replayed */
	uint64_t distortion;		/* distance change between job nodes */
	uint64_t kernel_distortion;
	bool kernel_fits;	/* kernel's map fits in free memory at the end */
	int nsteps;
	struct nm_step *steps;
	uint64_t search_nodes;
	bool search_complete;	/* the map is optimal, not just the best seen */
	double seconds;
};

/*
 * Free memory for the job's incoming pages, per node index: the kernel's
 * figure on a live machine (the job's own pages are already not free), or
 * the node's size minus the job's pages for a described machine.  Fails
 * when a described node holds more of the job than it has.
 */
int nm_plan_free_bytes(const struct nm_topology *t, const struct nm_job *job,
		       uint64_t *free_bytes, char *err);

/*
 * Plans moving @job to @target.  Returns NULL with @err set for bad input
 * (unknown nodes, a map that sends CPUs to a memory-only node); returns a
 * plan with feasible == false and a reason when the job cannot be moved
 * within the free memory.
 */
struct nm_plan *nm_plan_compute(const struct nm_topology *t,
				const struct nm_job *job,
				const uint64_t *free_bytes,
				const struct nm_target *target,
				const struct nm_plan_options *opts, char *err);
void nm_plan_free(struct nm_plan *plan);

/* Sum of the distance changes between the job's nodes under @map. */
uint64_t nm_map_distortion(const struct nm_topology *t,
			   const struct nm_job *job, const int *map);

/*
 * Where @cpus go under @map: each CPU keeps its position among its node's
 * CPUs on the mapped node (wrapping when that node has fewer).  CPUs of
 * unmapped nodes, or mapped to a memory-only node, stay.
 */
void nm_map_cpus(const struct nm_topology *t, const int *map,
		 const struct nm_bitmap *cpus, struct nm_bitmap *out);

/* Bytes of @task the plan moves. */
uint64_t nm_plan_task_bytes(const struct nm_plan *plan,
			    const struct nm_task *task);

#endif
