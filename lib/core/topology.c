/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <hwloc.h>
#include <numa.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/error.h"
#include "lib/core/topology.h"

struct nm_topology *nm_topology_alloc(int nnodes, char *err)
{
	struct nm_topology *t;

	if (nnodes <= 0 || nnodes > NM_MAX_NODES) {
		nm_seterr(err, "topology: %d NUMA nodes is out of range (1-%d)",
			  nnodes, NM_MAX_NODES);
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		goto nomem;
	t->nnodes = nnodes;
	t->nodes = calloc((size_t)nnodes, sizeof(*t->nodes));
	t->dist = calloc((size_t)nnodes * (size_t)nnodes, sizeof(*t->dist));
	if (!t->nodes || !t->dist)
		goto nomem;
	return t;
nomem:
	nm_topology_free(t);
	nm_seterr(err, "topology: out of memory");
	return NULL;
}

void nm_topology_free(struct nm_topology *t)
{
	if (!t)
		return;
	free(t->nodes);
	free(t->dist);
	free(t);
}

int nm_topology_finish(struct nm_topology *t, char *err)
{
	for (int i = 0; i < NM_MAX_NODES; i++)
		t->os_to_idx[i] = -1;
	for (int i = 0; i < NM_BITMAP_BITS; i++)
		t->cpu_to_idx[i] = -1;
	for (int i = 0; i < t->nnodes; i++) {
		struct nm_node *n = &t->nodes[i];
		int cpu;

		if (n->os < 0 || n->os >= NM_MAX_NODES) {
			nm_seterr(err, "topology: node number %d is out of "
				  "range", n->os);
			return -1;
		}
		if (i > 0 && n->os <= t->nodes[i - 1].os) {
			nm_seterr(err, "topology: node numbers must be "
				  "unique and ascending (%d after %d)",
				  n->os, t->nodes[i - 1].os);
			return -1;
		}
		t->os_to_idx[n->os] = (int16_t)i;
		n->memory_only = nm_bitmap_empty(&n->cpus);
		nm_bitmap_foreach(cpu, &n->cpus) {
			if (t->cpu_to_idx[cpu] >= 0) {
				nm_seterr(err, "topology: CPU %d belongs to "
					  "nodes %d and %d", cpu,
					  t->nodes[t->cpu_to_idx[cpu]].os,
					  n->os);
				return -1;
			}
			t->cpu_to_idx[cpu] = (int16_t)i;
		}
	}
	return 0;
}

void nm_topology_nodeset(const struct nm_topology *t, struct nm_bitmap *out)
{
	nm_bitmap_zero(out);
	for (int i = 0; i < t->nnodes; i++)
		nm_bitmap_set(out, (unsigned int)t->nodes[i].os);
}

int nm_topology_index(const struct nm_topology *t, long os, const char *what,
		      char *err)
{
	struct nm_bitmap all;
	char list[128];
	int idx = os >= 0 && os < NM_MAX_NODES ?
		  nm_topology_find(t, (int)os) : -1;

	if (idx >= 0)
		return idx;
	nm_topology_nodeset(t, &all);
	nm_list_format(&all, list, sizeof(list));
	nm_seterr(err, "%s: node %ld does not exist (nodes %s do)", what, os,
		  list);
	return -1;
}

int nm_topology_check_nodes(const struct nm_topology *t,
			    const struct nm_bitmap *nodes, const char *what,
			    char *err)
{
	int os;

	nm_bitmap_foreach(os, nodes)
		if (nm_topology_index(t, os, what, err) < 0)
			return -1;
	return 0;
}

static void bitmap_from_hwloc(struct nm_bitmap *out, hwloc_const_bitmap_t in)
{
	int i;

	nm_bitmap_zero(out);
	if (!in)
		return;
	hwloc_bitmap_foreach_begin(i, in) {
		if (i < NM_BITMAP_BITS)
			nm_bitmap_set(out, (unsigned int)i);
	}
	hwloc_bitmap_foreach_end();
}

/*
 * hwloc gives every node the cpuset of the CPUs near it, so an HBM or CXL
 * node attached beside a DRAM node carries the same cpuset.  Linux gives
 * each CPU one local node: the DRAM one, which has the lowest number.
 */
static void assign_cpu_ownership(struct nm_topology *t)
{
	for (int i = 0; i < t->nnodes; i++)
		for (int j = 0; j < i; j++)
			if (nm_bitmap_intersects(&t->nodes[j].cpus,
						 &t->nodes[i].cpus)) {
				nm_bitmap_zero(&t->nodes[i].cpus);
				break;
			}
}

/* On a live machine the kernel says which CPUs are local to each node. */
static int live_cpus_and_free(struct nm_topology *t, char *err)
{
	struct bitmask *mask;

	if (numa_available() < 0) {
		nm_seterr(err, "topology: the kernel has no NUMA support "
			  "(libnuma: numa_available() failed)");
		return -1;
	}
	mask = numa_allocate_cpumask();
	if (!mask) {
		nm_seterr(err, "topology: out of memory");
		return -1;
	}
	for (int i = 0; i < t->nnodes; i++) {
		struct nm_node *n = &t->nodes[i];
		long long freeb = 0;

		if (numa_node_to_cpus(n->os, mask) == 0) {
			nm_bitmap_zero(&n->cpus);
			for (unsigned int c = 0;
			     c < mask->size && c < NM_BITMAP_BITS; c++)
				if (numa_bitmask_isbitset(mask, c))
					nm_bitmap_set(&n->cpus, c);
		}
		if (numa_node_size64(n->os, &freeb) >= 0 && freeb >= 0)
			n->free_bytes = (uint64_t)freeb;
	}
	numa_free_cpumask(mask);
	return 0;
}

/*
 * Without a distance matrix, derive one from the tree: nodes under the same
 * parent are nearest, and each level to the common ancestor costs more.
 */
static void derive_distances(struct nm_topology *t, hwloc_topology_t topo,
			     hwloc_obj_t *objs)
{
	for (int a = 0; a < t->nnodes; a++)
		for (int b = 0; b < t->nnodes; b++) {
			hwloc_obj_t pa = objs[a]->parent, pb = objs[b]->parent;
			hwloc_obj_t c;
			uint32_t levels;

			if (a == b) {
				t->dist[a * t->nnodes + b] = 10;
				continue;
			}
			c = hwloc_get_common_ancestor_obj(topo, pa, pb);
			levels = (uint32_t)(pa->depth - c->depth) +
				 (uint32_t)(pb->depth - c->depth);
			t->dist[a * t->nnodes + b] = 20 + 5 * levels;
		}
	t->distances_derived = true;
}

static bool load_distances(struct nm_topology *t, hwloc_topology_t topo,
			   hwloc_obj_t *objs)
{
	struct hwloc_distances_s *d[8];
	unsigned int nr = 8;
	bool found = false;

	if (hwloc_distances_get_by_type(topo, HWLOC_OBJ_NUMANODE, &nr, d,
					HWLOC_DISTANCES_KIND_MEANS_LATENCY,
					0) < 0)
		return false;
	for (unsigned int k = 0; k < nr && k < 8; k++) {
		if (!found && d[k]->nbobjs == (unsigned int)t->nnodes) {
			int idx[NM_MAX_NODES];
			bool complete = true;

			for (unsigned int i = 0; i < d[k]->nbobjs; i++) {
				idx[i] = -1;
				for (int j = 0; j < t->nnodes; j++)
					if (objs[j] == d[k]->objs[i])
						idx[i] = j;
				if (idx[i] < 0)
					complete = false;
			}
			for (unsigned int i = 0; complete && i < d[k]->nbobjs;
			     i++)
				for (unsigned int j = 0; j < d[k]->nbobjs; j++)
					t->dist[idx[i] * t->nnodes + idx[j]] =
						(uint32_t)d[k]->values
							[i * d[k]->nbobjs + j];
			found = complete;
		}
		hwloc_distances_release(topo, d[k]);
	}
	return found;
}

struct nm_topology *nm_topology_load(const char *xml_path, char *err)
{
	hwloc_topology_t topo = NULL;
	hwloc_obj_t *objs = NULL;
	struct nm_topology *t = NULL;
	int n;

	if (hwloc_topology_init(&topo) < 0) {
		nm_seterr(err, "topology: hwloc initialisation failed");
		return NULL;
	}
	/* The helper plans for the whole machine, not its own cgroup. */
	hwloc_topology_set_flags(topo,
				 HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
	if (xml_path && hwloc_topology_set_xml(topo, xml_path) < 0) {
		nm_seterr(err, "topology: cannot read hwloc XML '%s': %s",
			  xml_path, strerror(errno));
		goto fail;
	}
	if (hwloc_topology_load(topo) < 0) {
		nm_seterr(err, "topology: hwloc could not load %s%s",
			  xml_path ? "XML " : "this machine",
			  xml_path ? xml_path : "");
		goto fail;
	}
	n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
	t = nm_topology_alloc(n, err);
	if (!t)
		goto fail;
	objs = calloc((size_t)n, sizeof(*objs));
	if (!objs) {
		nm_seterr(err, "topology: out of memory");
		goto fail;
	}
	for (int i = 0; i < n; i++)
		objs[i] = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE,
						(unsigned int)i);
	/* Sort by OS number, keeping objs[] in step. */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && objs[j]->os_index <
					    objs[j - 1]->os_index; j--) {
			hwloc_obj_t tmp = objs[j];

			objs[j] = objs[j - 1];
			objs[j - 1] = tmp;
		}
	for (int i = 0; i < n; i++) {
		struct nm_node *node = &t->nodes[i];

		node->os = (int)objs[i]->os_index;
		node->total_bytes = objs[i]->attr->numanode.local_memory;
		node->free_bytes = node->total_bytes;
		bitmap_from_hwloc(&node->cpus, objs[i]->cpuset);
		if (objs[i]->subtype)
			snprintf(node->kind, sizeof(node->kind), "%s",
				 objs[i]->subtype);
	}
	assign_cpu_ownership(t);
	if (!xml_path) {
		if (live_cpus_and_free(t, err) < 0)
			goto fail;
		t->live = true;
	}
	if (!load_distances(t, topo, objs))
		derive_distances(t, topo, objs);
	snprintf(t->source, sizeof(t->source), "%s",
		 xml_path ? xml_path : "this machine");
	if (nm_topology_finish(t, err) < 0)
		goto fail;
	free(objs);
	hwloc_topology_destroy(topo);
	return t;
fail:
	free(objs);
	nm_topology_free(t);
	hwloc_topology_destroy(topo);
	return NULL;
}
