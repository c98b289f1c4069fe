/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "lib/core/plan_internal.h"

/* Moving HBM/CXL-resident memory to plain DRAM (or back) changes its tier. */
#define TIER_PENALTY 100

static uint64_t absdiff(uint32_t a, uint32_t b)
{
	return a > b ? a - b : b - a;
}

bool nm_map_allowed(const struct nm_topology *t, const struct nm_job *job,
		    const int *map, bool memory_only_targets)
{
	int n;

	if (memory_only_targets)
		return true;
	nm_bitmap_foreach(n, &job->cpu_nodes)
		if (map[n] >= 0 && t->nodes[map[n]].memory_only)
			return false;
	return true;
}

/* Cost of s -> d on its own: local distance change and tier change. */
static uint64_t self_cost(const struct nm_topology *t, int s, int d)
{
	uint64_t c = absdiff(nm_topology_dist(t, d, d),
			     nm_topology_dist(t, s, s));

	if (t->nodes[s].memory_only != t->nodes[d].memory_only)
		c += TIER_PENALTY;
	return c;
}

static uint64_t pair_cost(const struct nm_topology *t, int a, int fa, int b,
			  int fb)
{
	return absdiff(nm_topology_dist(t, fa, fb), nm_topology_dist(t, a, b)) +
	       absdiff(nm_topology_dist(t, fb, fa), nm_topology_dist(t, b, a));
}

uint64_t nm_map_distortion(const struct nm_topology *t,
			   const struct nm_job *job, const int *map)
{
	uint64_t d = 0;
	int a, b;

	nm_bitmap_foreach(a, &job->nodes) {
		if (map[a] < 0)
			continue;
		d += self_cost(t, a, map[a]);
		nm_bitmap_foreach(b, &job->nodes) {
			if (b >= a)
				break;
			if (map[b] >= 0)
				d += pair_cost(t, a, map[a], b, map[b]);
		}
	}
	return d;
}

struct cand {
	int node;
	uint64_t dcost, bcost;
};

struct bb {
	struct nm_search *s;
	int nj, nt;
	int *jn;		/* job nodes in search order */
	int *tn;		/* target nodes */
	uint64_t *lb_rest;	/* bytes that must move from depth k on */
	uint64_t *cap;		/* optimistic room per node index */
	uint64_t *load;		/* incoming bytes per node index */
	int *used;		/* job nodes mapped onto each node index */
	int *map;
	struct cand *cands;	/* nj * nt */
	bool injective;
	bool stop;
};

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->dcost != y->dcost)
		return x->dcost < y->dcost ? -1 : 1;
	if (x->bcost != y->bcost)
		return x->bcost < y->bcost ? -1 : 1;
	return (x->node > y->node) - (x->node < y->node);
}

/* (d1, b1) < (d2, b2) lexicographically */
static bool better(uint64_t d1, uint64_t b1, uint64_t d2, uint64_t b2)
{
	return d1 < d2 || (d1 == d2 && b1 < b2);
}

static int evaluate_leaf(struct bb *bb, uint64_t dist, uint64_t bytes)
{
	struct nm_search *s = bb->s;
	struct nm_step *steps = NULL;
	uint64_t seq_bytes;
	int nsteps, rc;

	if (s->found && !better(dist, bytes, s->best_distortion,
				s->best_bytes))
		return 0;
	if (!nm_map_fits(s->t, s->job, s->free_bytes, bb->map, NULL))
		return 0;
	rc = nm_sequence(s->t, s->job, s->free_bytes, bb->map, s->park, &steps,
			 &nsteps, &seq_bytes, NULL);
	free(steps);
	if (rc < 0)
		return -1;
	if (rc > 0 || seq_bytes > s->bytes_limit)
		return 0;
	if (s->found && !better(dist, seq_bytes, s->best_distortion,
				s->best_bytes))
		return 0;
	s->found = true;
	s->best_distortion = dist;
	s->best_bytes = seq_bytes;
	memcpy(s->best_map, bb->map, (size_t)s->t->nnodes * sizeof(int));
	return 0;
}

static int dfs(struct bb *bb, int k, uint64_t dist, uint64_t bytes)
{
	struct nm_search *s = bb->s;
	struct cand *c = &bb->cands[(size_t)k * (size_t)bb->nt];
	int nc = 0;

	if (bb->stop)
		return 0;
	if (++s->nodes > s->budget) {
		bb->stop = true;
		s->complete = false;
		return 0;
	}
	if (k == bb->nj)
		return evaluate_leaf(bb, dist, bytes);

	int src = bb->jn[k];
	uint64_t b = s->job->node_bytes[src];
	bool cpus = nm_bitmap_test(&s->job->cpu_nodes, src);

	for (int i = 0; i < bb->nt; i++) {
		int d = bb->tn[i];
		uint64_t dc;

		if (bb->injective && bb->used[d])
			continue;
		if (cpus && !s->memory_only_targets && s->t->nodes[d].memory_only)
			continue;
		if (d != src && bb->load[d] + b > bb->cap[d])
			continue;
		dc = self_cost(s->t, src, d);
		for (int j = 0; j < k; j++)
			dc += pair_cost(s->t, src, d, bb->jn[j],
					bb->map[bb->jn[j]]);
		c[nc++] = (struct cand){ d, dc, d == src ? 0 : b };
	}
	qsort(c, (size_t)nc, sizeof(*c), cmp_cand);
	for (int i = 0; i < nc && !bb->stop; i++) {
		uint64_t nd = dist + c[i].dcost, nb = bytes + c[i].bcost;
		uint64_t lb = nb + bb->lb_rest[k + 1];
		int d = c[i].node;

		if (lb > s->bytes_limit)
			continue;
		if (s->found && !better(nd, lb, s->best_distortion,
					s->best_bytes))
			continue;
		bb->map[src] = d;
		bb->used[d]++;
		if (d != src)
			bb->load[d] += b;
		if (dfs(bb, k + 1, nd, nb) < 0)
			return -1;
		if (d != src)
			bb->load[d] -= b;
		bb->used[d]--;
		bb->map[src] = -1;
	}
	return 0;
}

/* Heaviest first: their bytes decide most, and bound the search early. */
static int cmp_job_node(const void *a, const void *b, void *arg)
{
	const uint64_t *sort_bytes = arg;
	int x = *(const int *)a, y = *(const int *)b;

	if (sort_bytes[x] != sort_bytes[y])
		return sort_bytes[x] > sort_bytes[y] ? -1 : 1;
	return (x > y) - (x < y);
}

/* The search's arrays, sized for the job and the topology; 0 or -1. */
static int bb_alloc(struct bb *bb, const struct nm_topology *t)
{
	bb->jn = calloc((size_t)bb->nj, sizeof(int));
	bb->tn = calloc((size_t)bb->nt, sizeof(int));
	bb->lb_rest = calloc((size_t)bb->nj + 1, sizeof(uint64_t));
	bb->cap = calloc((size_t)t->nnodes, sizeof(uint64_t));
	bb->load = calloc((size_t)t->nnodes, sizeof(uint64_t));
	bb->used = calloc((size_t)t->nnodes, sizeof(int));
	bb->map = malloc((size_t)t->nnodes * sizeof(int));
	bb->cands = calloc((size_t)bb->nj * (size_t)bb->nt + 1,
			   sizeof(struct cand));
	return bb->jn && bb->tn && bb->lb_rest && bb->cap && bb->load &&
	       bb->used && bb->map && bb->cands ? 0 : -1;
}

static void bb_free(struct bb *bb)
{
	free(bb->jn);
	free(bb->tn);
	free(bb->lb_rest);
	free(bb->cap);
	free(bb->load);
	free(bb->used);
	free(bb->map);
	free(bb->cands);
}

/*
 * Job nodes biggest first (they prune the most), the targets, the lower
 * bound of bytes still to move, and each node's optimistic capacity.
 */
static void bb_init(struct bb *bb, const struct nm_search *s)
{
	const struct nm_topology *t = s->t;
	const struct nm_job *job = s->job;
	int i = 0, n;

	nm_bitmap_foreach(n, &job->nodes)
		bb->jn[i++] = n;
	qsort_r(bb->jn, (size_t)bb->nj, sizeof(int), cmp_job_node,
		job->node_bytes);
	i = 0;
	nm_bitmap_foreach(n, &s->targets)
		bb->tn[i++] = n;
	for (int k = bb->nj - 1; k >= 0; k--)
		bb->lb_rest[k] = bb->lb_rest[k + 1] +
			(nm_bitmap_test(&s->targets, bb->jn[k]) ?
			 0 : job->node_bytes[bb->jn[k]]);
	for (n = 0; n < t->nnodes; n++) {
		bb->map[n] = -1;
		bb->cap[n] = s->free_bytes[n];
		/* optimistic: the node's own job pages may leave */
		if (nm_bitmap_test(&job->nodes, n))
			bb->cap[n] += job->node_bytes[n];
	}
}

/*
 * The seed (the kernel's map) as the first incumbent when it is a valid
 * map into the targets: the search then only looks for better ones.
 */
static int try_seed(struct bb *bb, const int *seed)
{
	const struct nm_search *s = bb->s;
	const struct nm_topology *t = s->t;
	const struct nm_job *job = s->job;
	bool inside = nm_map_allowed(t, job, seed, s->memory_only_targets);
	int n, rc = 0;

	nm_bitmap_foreach(n, &job->nodes) {
		if (seed[n] < 0 || !nm_bitmap_test(&s->targets, seed[n]))
			inside = false;
		else
			bb->used[seed[n]]++;
	}
	for (n = 0; n < t->nnodes; n++) {
		if (bb->injective && bb->used[n] > 1)
			inside = false;
		bb->used[n] = 0;
	}
	if (!inside)
		return 0;
	memcpy(bb->map, seed, (size_t)t->nnodes * sizeof(int));
	rc = evaluate_leaf(bb, nm_map_distortion(t, job, seed), 0);
	for (n = 0; n < t->nnodes; n++)
		bb->map[n] = -1;
	return rc;
}

int nm_map_search(struct nm_search *s, const int *seed)
{
	struct bb bb = { .s = s };
	int rc = -1;

	s->found = false;
	s->nodes = 0;
	s->complete = true;
	bb.nj = (int)nm_bitmap_weight(&s->job->nodes);
	bb.nt = (int)nm_bitmap_weight(&s->targets);
	bb.injective = s->injective;
	if (bb_alloc(&bb, s->t) < 0)
		goto out;
	bb_init(&bb, s);
	if (seed && try_seed(&bb, seed) < 0)
		goto out;
	rc = dfs(&bb, 0, 0, 0);
out:
	bb_free(&bb);
	return rc;
}
