/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/core/target_check.h"
#include "lib/base/clock.h"
#include "lib/core/kernel_remap.h"
#include "lib/core/plan_internal.h"
#include "lib/base/units.h"

#define DEFAULT_SEARCH_BUDGET 2000000

int nm_plan_free_bytes(const struct nm_topology *t, const struct nm_job *job,
		       uint64_t *free_bytes, char *err)
{
	for (int n = 0; n < t->nnodes; n++) {
		const struct nm_node *node = &t->nodes[n];

		if (t->live) {
			free_bytes[n] = node->free_bytes;
			continue;
		}
		if (job->node_bytes[n] > node->total_bytes) {
			char a[32], b[32];

			nm_seterr(err, "job has %s on node %d, which has only "
				  "%s", nm_format_bytes(job->node_bytes[n], a,
							sizeof(a)),
				  node->os,
				  nm_format_bytes(node->total_bytes, b,
						  sizeof(b)));
			return -1;
		}
		free_bytes[n] = node->total_bytes - job->node_bytes[n];
	}
	return 0;
}

bool nm_map_fits(const struct nm_topology *t, const struct nm_job *job,
		 const uint64_t *free_bytes, const int *map, char *reason)
{
	bool ok = true;
	uint64_t *in = calloc((size_t)t->nnodes, sizeof(*in));

	if (!in) {
		nm_seterr(reason, "out of memory");
		return false;
	}
	for (int n = 0; n < t->nnodes; n++)
		if (map[n] >= 0 && map[n] != n)
			in[map[n]] += job->node_bytes[n];
	for (int n = 0; ok && n < t->nnodes; n++) {
		uint64_t room = free_bytes[n];

		if (map[n] >= 0 && map[n] != n)
			room += job->node_bytes[n];
		if (in[n] > room) {
			char a[32], b[32];

			nm_seterr(reason, "node %d would receive %s but has "
				  "only %s free", t->nodes[n].os,
				  nm_format_bytes(in[n], a, sizeof(a)),
				  nm_format_bytes(room, b, sizeof(b)));
			ok = false;
		}
	}
	free(in);
	return ok;
}

void nm_map_cpus(const struct nm_topology *t, const int *map,
		 const struct nm_bitmap *cpus, struct nm_bitmap *out)
{
	int cpu;

	nm_bitmap_zero(out);
	nm_bitmap_foreach(cpu, cpus) {
		int n = nm_topology_cpu_node(t, cpu), d;
		unsigned int w;

		d = n >= 0 ? map[n] : -1;
		if (d < 0 || d == n || t->nodes[d].memory_only) {
			nm_bitmap_set(out, (unsigned int)cpu);
			continue;
		}
		w = nm_bitmap_weight(&t->nodes[d].cpus);
		nm_bitmap_set(out, (unsigned int)nm_bitmap_nth(
			&t->nodes[d].cpus,
			(unsigned int)nm_bitmap_ord(&t->nodes[n].cpus, cpu) % w));
	}
}

uint64_t nm_plan_task_bytes(const struct nm_plan *plan,
			    const struct nm_task *task)
{
	uint64_t b = 0;

	for (int n = 0; n < plan->nnodes; n++)
		if (plan->map[n] >= 0 && plan->map[n] != n)
			b += task->bytes[n];
	return b;
}

void nm_plan_free(struct nm_plan *plan)
{
	if (!plan)
		return;
	free(plan->map);
	free(plan->kernel_map);
	free(plan->kernel_final);
	free(plan->steps);
	free(plan);
}

/* The kernel's from/to masks for this target, in OS numbers. */
static void kernel_masks(const struct nm_topology *t, const struct nm_job *job,
			 const struct nm_target *target, struct nm_bitmap *from,
			 struct nm_bitmap *to)
{
	int n;

	*to = target->new_nodes;
	if (target->kind == NM_TARGET_MAP) {
		*from = target->old_nodes;
		return;
	}
	nm_bitmap_zero(from);
	nm_bitmap_foreach(n, &job->nodes)
		nm_bitmap_set(from, (unsigned int)t->nodes[n].os);
}

/*
 * What migrate_pages(pid, from, to) would do with this job: its node map
 * (node_remap, sources inside @to skipped when the masks differ in size)
 * and, replayed, the bytes it moves and where pages end up.
 */
static void kernel_baseline(const struct nm_topology *t,
			    const struct nm_job *job,
			    const struct nm_target *target,
			    struct nm_plan *plan)
{
	struct nm_bitmap from, to;
	bool same;
	int n;

	kernel_masks(t, job, target, &from, &to);
	same = nm_bitmap_weight(&from) == nm_bitmap_weight(&to);
	for (n = 0; n < t->nnodes; n++) {
		int os = t->nodes[n].os, d = os;

		plan->kernel_map[n] = -1;
		plan->kernel_final[n] = -1;
		if (!nm_bitmap_test(&job->nodes, n))
			continue;
		if (same || !nm_bitmap_test(&to, os))
			d = nm_kernel_node_remap(os, &from, &to);
		plan->kernel_map[n] = nm_topology_find(t, d);
	}
}

static int kernel_replay(const struct nm_topology *t, const struct nm_job *job,
			 const struct nm_target *target, struct nm_plan *plan)
{
	uint64_t *bytes = calloc(NM_MAX_NODES, sizeof(*bytes));
	int *origin = calloc(NM_MAX_NODES, sizeof(*origin));
	struct nm_bitmap from, to;
	int n;

	if (!bytes || !origin) {
		free(bytes);
		free(origin);
		return -1;
	}
	kernel_masks(t, job, target, &from, &to);
	for (n = 0; n < t->nnodes; n++)
		bytes[t->nodes[n].os] = job->node_bytes[n];
	plan->kernel_bytes_moved =
		nm_kernel_migrate_bytes(bytes, NM_MAX_NODES, &from, &to,
					origin);
	nm_bitmap_foreach(n, &job->nodes)
		plan->kernel_final[n] = nm_topology_find(t,
							 origin[t->nodes[n].os]);
	free(bytes);
	free(origin);
	return 0;
}

static struct nm_plan *plan_alloc(int nnodes)
{
	struct nm_plan *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->nnodes = nnodes;
	p->map = malloc((size_t)nnodes * sizeof(int));
	p->kernel_map = malloc((size_t)nnodes * sizeof(int));
	p->kernel_final = malloc((size_t)nnodes * sizeof(int));
	if (!p->map || !p->kernel_map || !p->kernel_final) {
		nm_plan_free(p);
		return NULL;
	}
	for (int n = 0; n < nnodes; n++)
		p->map[n] = p->kernel_map[n] = p->kernel_final[n] = -1;
	return p;
}

/* The explicit OLD:NEW map must not strand CPUs on memory-only nodes. */
/*
 * The map as written: the i-th old node to the i-th new node; a job node
 * the map does not name stays where it is, as with migrate_pages(2).
 */
static void written_map(const struct nm_topology *t, const struct nm_job *job,
			const struct nm_target *target, int *map)
{
	int n;

	for (n = 0; n < t->nnodes; n++)
		map[n] = nm_bitmap_test(&job->nodes, n) ? n : -1;
	for (int i = 0; i < target->npairs; i++) {
		n = nm_topology_find(t, target->old_order[i]);
		if (n >= 0 && nm_bitmap_test(&job->nodes, n))
			map[n] = nm_topology_find(t, target->new_order[i]);
	}
}

static int check_explicit_map(const struct nm_topology *t,
			      const struct nm_job *job, const int *map,
			      bool memory_only_targets, char *err)
{
	int n;

	if (memory_only_targets)
		return 0;
	nm_bitmap_foreach(n, &job->cpu_nodes) {
		if (map[n] >= 0 && t->nodes[map[n]].memory_only) {
			nm_seterr(err, "map sends node %d, where the job runs "
				  "on CPUs, to memory-only node %d",
				  t->nodes[n].os, t->nodes[map[n]].os);
			return -1;
		}
	}
	return 0;
}

static bool cpu_targets(const struct nm_topology *t,
			const struct nm_bitmap *targets)
{
	int n;

	nm_bitmap_foreach(n, targets)
		if (!t->nodes[n].memory_only)
			return true;
	return false;
}

/* Why no map was found: the one-line reason a refused plan carries. */
static void explain_no_map(const struct nm_search *s,
			   const struct nm_target *target,
			   const struct nm_plan_options *opts,
			   struct nm_plan *plan)
{
	const struct nm_job *job = s->job;
	uint64_t need = 0, room = 0;
	char a[32], b[32], list[128];
	int n;

	nm_bitmap_foreach(n, &job->nodes)
		need += job->node_bytes[n];
	nm_bitmap_foreach(n, &s->targets)
		room += s->free_bytes[n] + (nm_bitmap_test(&job->nodes, n) ?
					    job->node_bytes[n] : 0);
	nm_list_format(&target->new_nodes, list, sizeof(list));
	if (!s->complete)
		nm_seterr(plan->reason, "no workable map onto nodes "
			  "%s found within the search budget", list);
	else if (need > room)
		nm_seterr(plan->reason, "the job has %s, nodes %s "
			  "have room for %s",
			  nm_format_bytes(need, a, sizeof(a)), list,
			  nm_format_bytes(room, b, sizeof(b)));
	else if (!opts->memory_only_targets && !cpu_targets(s->t, &s->targets))
		nm_seterr(plan->reason, "nodes %s have no CPUs, and the "
			  "job's CPUs can only move to nodes with CPUs",
			  list);
	else
		nm_seterr(plan->reason, "no map of the job's nodes "
			  "onto nodes %s fits each node's free memory",
			  list);
}

/*
 * Ranks that did not share a node should not have to, and no plan should
 * move more than the kernel would: try maps that keep nodes apart within
 * the kernel's bytes, then merging ones within them, and only then
 * anything that fits.  Stops at the first pass that finds a map.
 */
static int search_passes(struct nm_search *s, struct nm_plan *plan)
{
	static const struct {
		bool injective;
		bool limited;
	} passes[] = {
		{ true, true }, { false, true }, { true, false }, { false, false },
	};
	bool enough = nm_bitmap_weight(&s->targets) >=
		      nm_bitmap_weight(&s->job->nodes);

	plan->search_nodes = 0;
	s->complete = true;
	for (size_t i = 0; i < sizeof(passes) / sizeof(passes[0]); i++) {
		bool complete = s->complete;

		if (passes[i].injective && !enough)
			continue;
		s->injective = passes[i].injective;
		s->bytes_limit = passes[i].limited ? plan->kernel_bytes_moved :
						     UINT64_MAX;
		if (nm_map_search(s, plan->kernel_map) < 0)
			return -1;
		plan->search_nodes += s->nodes;
		s->complete = s->complete && complete;
		if (s->found)
			break;
	}
	plan->search_complete = s->complete;
	return 0;
}

/* The caller's nodes as node indexes, for the sequencer; NULL: any. */
static const struct nm_bitmap *park_indexes(const struct nm_topology *t,
					    const struct nm_plan_options *o,
					    struct nm_bitmap *out)
{
	if (!o->park_nodes)
		return NULL;
	nm_bitmap_zero(out);
	for (int n = 0; n < t->nnodes; n++)
		if (nm_bitmap_test(o->park_nodes, (unsigned int)t->nodes[n].os))
			nm_bitmap_set(out, (unsigned int)n);
	return out;
}

static int plan_search(const struct nm_topology *t, const struct nm_job *job,
		       const uint64_t *free_bytes,
		       const struct nm_target *target,
		       const struct nm_plan_options *opts,
		       const struct nm_bitmap *park, struct nm_plan *plan)
{
	struct nm_search s = {
		.t = t,
		.job = job,
		.free_bytes = free_bytes,
		.budget = opts->search_budget ? opts->search_budget :
						DEFAULT_SEARCH_BUDGET,
		.memory_only_targets = opts->memory_only_targets,
		.park = park,
		.best_map = plan->map,
	};
	int os;

	nm_bitmap_zero(&s.targets);
	nm_bitmap_foreach(os, &target->new_nodes)
		nm_bitmap_set(&s.targets, (unsigned int)nm_topology_find(t, os));
	if (search_passes(&s, plan) < 0)
		return -1;
	if (!s.found) {
		explain_no_map(&s, target, opts, plan);
		return 1;
	}
	return 0;
}

struct nm_plan *nm_plan_compute(const struct nm_topology *t,
				const struct nm_job *job,
				const uint64_t *free_bytes,
				const struct nm_target *target,
				const struct nm_plan_options *opts, char *err)
{
	static const struct nm_plan_options defaults;
	double start = nm_now_seconds();
	const struct nm_bitmap *park;
	struct nm_bitmap park_idx;
	struct nm_plan *plan;
	int rc;

	if (!opts)
		opts = &defaults;
	park = park_indexes(t, opts, &park_idx);
	if (job->nnodes != t->nnodes) {
		nm_seterr(err, "job and topology disagree on the node count");
		return NULL;
	}
	if (nm_target_check(target, t, err) < 0)
		return NULL;
	plan = plan_alloc(t->nnodes);
	if (!plan) {
		nm_seterr(err, "out of memory");
		return NULL;
	}
	kernel_baseline(t, job, target, plan);
	if (kernel_replay(t, job, target, plan) < 0)
		goto nomem;
	plan->kernel_distortion = nm_map_distortion(t, job, plan->kernel_map);
	plan->kernel_fits = nm_map_fits(t, job, free_bytes, plan->kernel_map,
					NULL);

	if (target->kind == NM_TARGET_MAP) {
		if (opts->map)
			memcpy(plan->map, opts->map,
			       (size_t)t->nnodes * sizeof(int));
		else
			written_map(t, job, target, plan->map);
		for (int n = 0; opts->map && n < t->nnodes; n++)
			if (plan->map[n] < -1 || plan->map[n] >= t->nnodes) {
				nm_seterr(err, "explicit map: node index %d "
					  "out of range", plan->map[n]);
				nm_plan_free(plan);
				return NULL;
			}
		if (check_explicit_map(t, job, plan->map,
				       opts->memory_only_targets, err) < 0) {
			nm_plan_free(plan);
			return NULL;
		}
		plan->search_complete = true;
		rc = nm_map_fits(t, job, free_bytes, plan->map, plan->reason) ?
			0 : 1;
	} else {
		rc = plan_search(t, job, free_bytes, target, opts, park,
				 plan);
	}
	if (rc < 0)
		goto nomem;
	if (rc == 0) {
		rc = nm_sequence(t, job, free_bytes, plan->map, park,
				 &plan->steps, &plan->nsteps,
				 &plan->bytes_moved, plan->reason);
		if (rc < 0)
			goto nomem;
	}
	plan->feasible = rc == 0;
	plan->distortion = nm_map_distortion(t, job, plan->map);
	plan->seconds = nm_now_seconds() - start;
	return plan;
nomem:
	nm_plan_free(plan);
	nm_seterr(err, "out of memory");
	return NULL;
}
