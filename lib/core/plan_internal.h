/* SPDX-License-Identifier: MIT */
#ifndef NM_PLAN_INTERNAL_H
#define NM_PLAN_INTERNAL_H

/* Shared between the planner's parts; not part of the library's API. */

#include "lib/base/units.h"
#include "lib/core/planner.h"

#define NM_MAX_STEPS 100000

/*
 * Whether the job fits once moved by @map: every node's incoming bytes
 * within its free memory plus what leaves it.  Sets @reason when not.
 */
bool nm_map_fits(const struct nm_topology *t, const struct nm_job *job,
		 const uint64_t *free_bytes, const int *map, char *reason);

/*
 * Orders the moves of @map so that no node is ever over its free memory:
 * chains are moved from their end, cycles are interleaved in chunks
 * through the slack they have, or broken by parking pages on a spare node.
 * A spare is a node of @park (node indexes; NULL: any) that has CPUs, or
 * is one of the job's nodes or targets: a memory-only node (HBM, CXL)
 * nobody asked for is no waiting room.  Returns 0 with the steps and
 * their byte total, 1 when no order exists (@reason says why), -1 when
 * out of memory.
 */
int nm_sequence(const struct nm_topology *t, const struct nm_job *job,
		const uint64_t *free_bytes, const int *map,
		const struct nm_bitmap *park, struct nm_step **steps,
		int *nsteps, uint64_t *bytes, char *reason);

struct nm_search {
	/* in */
	const struct nm_topology *t;
	const struct nm_job *job;
	const uint64_t *free_bytes;
	struct nm_bitmap targets;	/* node indexes */
	uint64_t bytes_limit;		/* UINT64_MAX: none */
	uint64_t budget;
	bool memory_only_targets;
	bool injective;			/* one job node per target */
	const struct nm_bitmap *park;	/* spares, node indexes; NULL: any */
	/* out */
	bool found;
	int *best_map;			/* nnodes entries, caller-allocated */
	uint64_t best_distortion;
	uint64_t best_bytes;		/* as sequenced */
	uint64_t nodes;
	bool complete;
};

/*
 * Branch and bound over maps from the job's nodes into the targets:
 * lexicographically least (distortion, bytes moved), at most one job node
 * per target when @injective.  Seeds from @seed when not NULL.
 */
int nm_map_search(struct nm_search *s, const int *seed);

/* Whether @map respects the hard rules (CPUs stay on nodes with CPUs). */
bool nm_map_allowed(const struct nm_topology *t, const struct nm_job *job,
		    const int *map, bool memory_only_targets);

#endif
