/* SPDX-License-Identifier: MIT */
#ifndef NM_TOPOLOGY_H
#define NM_TOPOLOGY_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/base/bitmap.h"

#include "lib/base/limits.h"

struct nm_node {
	int os;			/* the kernel's node number */
	struct nm_bitmap cpus;	/* CPUs whose local memory this node is */
	bool memory_only;	/* no CPUs of its own: CXL, HBM, MCDRAM, NVM */
	uint64_t total_bytes;
	uint64_t free_bytes;	/* room for incoming pages (see job.h) */
	char kind[16];		/* hwloc subtype ("MCDRAM"...), or "" */
};

/*
 * The machine as the planner sees it: nodes in ascending OS number, the
 * distance matrix between them (10 = local, as ACPI SLIT), CPU ownership.
 * Internal code indexes nodes 0..nnodes-1; only the edges of the program
 * speak OS numbers.
 */
struct nm_topology {
	int nnodes;
	struct nm_node *nodes;
	uint32_t *dist;			/* nnodes * nnodes, row = from */
	bool distances_derived;		/* no matrix: derived from the tree */
	bool live;			/* free_bytes are the kernel's figures */
	int16_t os_to_idx[NM_MAX_NODES];
	int16_t cpu_to_idx[NM_BITMAP_BITS];
	char source[256];		/* "this machine" or the XML path */
};

/* Loads @xml_path, or this machine when NULL.  NULL on error. */
struct nm_topology *nm_topology_load(const char *xml_path, char *err);

/*
 * For tests and tools: an empty topology of @nnodes nodes to fill in,
 * then nm_topology_finish() to index it.
 */
struct nm_topology *nm_topology_alloc(int nnodes, char *err);
int nm_topology_finish(struct nm_topology *t, char *err);
void nm_topology_free(struct nm_topology *t);

static inline uint32_t nm_topology_dist(const struct nm_topology *t, int a,
					int b)
{
	return t->dist[(long)a * t->nnodes + b];
}

/* Index of OS node @os, or -1. */
static inline int nm_topology_find(const struct nm_topology *t, int os)
{
	if (os < 0 || os >= NM_MAX_NODES)
		return -1;
	return t->os_to_idx[os];
}

/* Index of the node owning CPU @cpu, or -1. */
static inline int nm_topology_cpu_node(const struct nm_topology *t, int cpu)
{
	if (cpu < 0 || cpu >= NM_BITMAP_BITS)
		return -1;
	return t->cpu_to_idx[cpu];
}

/* Index of OS node @os; -1 with "@what: node N does not exist ..." */
int nm_topology_index(const struct nm_topology *t, long os, const char *what,
		      char *err);

/* OS node numbers of all nodes. */
void nm_topology_nodeset(const struct nm_topology *t, struct nm_bitmap *out);

/*
 * Checks that every node of @nodes exists; on error names the first
 * unknown one and lists the machine's nodes.
 */
int nm_topology_check_nodes(const struct nm_topology *t,
			    const struct nm_bitmap *nodes, const char *what,
			    char *err);

#endif
