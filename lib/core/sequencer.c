/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "lib/core/plan_internal.h"
#include "lib/base/units.h"

struct flow {
	int src, dst;		/* node indexes */
	uint64_t rem;
};

struct seq {
	const struct nm_topology *t;
	struct nm_bitmap spares;	/* node indexes pages may park on */
	uint64_t *avail;
	struct flow *flows;
	int nflows, cap_flows;
	struct nm_step *steps;
	int nsteps, cap_steps;
	uint64_t bytes;
};

static int emit(struct seq *q, int src, int dst, uint64_t bytes, bool parked)
{
	struct nm_step *last = q->nsteps ? &q->steps[q->nsteps - 1] : NULL;

	q->avail[dst] -= bytes;
	q->avail[src] += bytes;
	q->bytes += bytes;
	if (last && last->from == q->t->nodes[src].os &&
	    last->to == q->t->nodes[dst].os && last->parked == parked) {
		last->bytes += bytes;
		return 0;
	}
	if (q->nsteps == q->cap_steps) {
		int cap = q->cap_steps ? q->cap_steps * 2 : 16;
		struct nm_step *n = realloc(q->steps, (size_t)cap * sizeof(*n));

		if (!n)
			return -1;
		q->steps = n;
		q->cap_steps = cap;
	}
	q->steps[q->nsteps++] = (struct nm_step){
		.from = q->t->nodes[src].os,
		.to = q->t->nodes[dst].os,
		.bytes = bytes,
		.parked = parked,
	};
	return 0;
}

static int add_flow(struct seq *q, int src, int dst, uint64_t bytes)
{
	if (q->nflows == q->cap_flows) {
		int cap = q->cap_flows ? q->cap_flows * 2 : 16;
		struct flow *n = realloc(q->flows, (size_t)cap * sizeof(*n));

		if (!n)
			return -1;
		q->flows = n;
		q->cap_flows = cap;
	}
	q->flows[q->nflows++] = (struct flow){ src, dst, bytes };
	return 0;
}

static bool is_pending_src(const struct seq *q, int node)
{
	for (int i = 0; i < q->nflows; i++)
		if (q->flows[i].rem && q->flows[i].src == node)
			return true;
	return false;
}

static bool is_pending_dst(const struct seq *q, int node)
{
	for (int i = 0; i < q->nflows; i++)
		if (q->flows[i].rem && q->flows[i].dst == node)
			return true;
	return false;
}

static uint64_t page_floor(uint64_t v)
{
	return v & ~(uint64_t)(nm_page_size() - 1);
}

/* A whole flow that fits, preferring chain ends (dst has nothing to send). */
static int pick_full(const struct seq *q)
{
	int best = -1;

	for (int i = 0; i < q->nflows; i++) {
		const struct flow *f = &q->flows[i];

		if (!f->rem || f->rem > q->avail[f->dst])
			continue;
		if (!is_pending_src(q, f->dst))
			return i;
		if (best < 0)
			best = i;
	}
	return best;
}

/* The flow whose destination has the most room, if that room is >= @min. */
static int pick_partial(const struct seq *q, uint64_t min_fraction)
{
	int best = -1;
	uint64_t room = 0;

	for (int i = 0; i < q->nflows; i++) {
		const struct flow *f = &q->flows[i];
		uint64_t r = page_floor(q->avail[f->dst]);
		uint64_t need = f->rem / min_fraction;

		if (!f->rem || r < nm_page_size() || r < need)
			continue;
		if (r > room) {
			room = r;
			best = i;
		}
	}
	return best;
}

/* A node to park pages on: most room, not itself awaited, near @src. */
static int pick_spare(const struct seq *q, const struct flow *f)
{
	const struct nm_topology *t = q->t;
	int best = -1;

	for (int n = 0; n < t->nnodes; n++) {
		if (n == f->src || n == f->dst ||
		    !nm_bitmap_test(&q->spares, (unsigned int)n) ||
		    page_floor(q->avail[n]) < nm_page_size())
			continue;
		if (best < 0) {
			best = n;
			continue;
		}
		bool awaited = is_pending_dst(q, n);
		bool best_awaited = is_pending_dst(q, best);

		if (awaited != best_awaited) {
			if (!awaited)
				best = n;
			continue;
		}
		if (q->avail[n] > q->avail[best] ||
		    (q->avail[n] == q->avail[best] &&
		     nm_topology_dist(t, f->src, n) <
		     nm_topology_dist(t, f->src, best)))
			best = n;
	}
	return best;
}

static int smallest_flow(const struct seq *q)
{
	int best = -1;

	for (int i = 0; i < q->nflows; i++)
		if (q->flows[i].rem &&
		    (best < 0 || q->flows[i].rem < q->flows[best].rem))
			best = i;
	return best;
}

static bool pending(const struct seq *q)
{
	for (int i = 0; i < q->nflows; i++)
		if (q->flows[i].rem)
			return true;
	return false;
}

static int step_once(struct seq *q, char *reason)
{
	int i = pick_full(q);

	if (i >= 0) {
		struct flow *f = &q->flows[i];
		uint64_t b = f->rem;

		f->rem = 0;
		return emit(q, f->src, f->dst, b, false);
	}
	/* Interleave a cycle through its slack, if the chunks are not tiny. */
	i = pick_partial(q, 16);
	if (i < 0) {
		int k = smallest_flow(q);
		int x = pick_spare(q, &q->flows[k]);

		if (x >= 0) {
			struct flow *f = &q->flows[k];
			uint64_t b = page_floor(q->avail[x]);
			int src = f->src, dst = f->dst;

			if (b > f->rem)
				b = f->rem;
			f->rem -= b;
			if (emit(q, src, x, b, true) < 0 ||
			    add_flow(q, x, dst, b) < 0)
				return -1;
			return 0;
		}
		i = pick_partial(q, UINT64_MAX);
	}
	if (i >= 0) {
		struct flow *f = &q->flows[i];
		uint64_t b = page_floor(q->avail[f->dst]);

		if (b > f->rem)
			b = f->rem;
		f->rem -= b;
		return emit(q, f->src, f->dst, b, false);
	}
	{
		const struct flow *f = &q->flows[smallest_flow(q)];
		char need[32], have[32];

		nm_seterr(reason, "node %d cannot take %s from node %d (%s "
			  "free) and no other node it may use has room to "
			  "park pages on meanwhile",
			  q->t->nodes[f->dst].os,
			  nm_format_bytes(f->rem, need, sizeof(need)),
			  q->t->nodes[f->src].os,
			  nm_format_bytes(q->avail[f->dst], have,
					  sizeof(have)));
	}
	return 1;
}

/*
 * Where pages may park: nodes of @park with CPUs, or the job's own or
 * its targets; never a memory-only node (HBM, CXL) nobody asked for.
 */
static void spare_nodes(struct seq *q, const struct nm_job *job,
			const int *map, const struct nm_bitmap *park)
{
	const struct nm_topology *t = q->t;

	nm_bitmap_zero(&q->spares);
	for (int n = 0; n < t->nnodes; n++) {
		if (!t->nodes[n].memory_only ||
		    nm_bitmap_test(&job->nodes, (unsigned int)n))
			nm_bitmap_set(&q->spares, (unsigned int)n);
		if (map[n] >= 0)
			nm_bitmap_set(&q->spares, (unsigned int)map[n]);
	}
	if (park)
		nm_bitmap_and(&q->spares, park);
}

int nm_sequence(const struct nm_topology *t, const struct nm_job *job,
		const uint64_t *free_bytes, const int *map,
		const struct nm_bitmap *park, struct nm_step **steps,
		int *nsteps, uint64_t *bytes, char *reason)
{
	struct seq q = { .t = t };
	int rc = -1;

	spare_nodes(&q, job, map, park);

	q.avail = malloc((size_t)t->nnodes * sizeof(*q.avail));
	if (!q.avail)
		return -1;
	memcpy(q.avail, free_bytes, (size_t)t->nnodes * sizeof(*q.avail));
	for (int n = 0; n < t->nnodes; n++)
		if (map[n] >= 0 && map[n] != n && job->node_bytes[n] &&
		    add_flow(&q, n, map[n], job->node_bytes[n]) < 0)
			goto out;
	while (pending(&q)) {
		int r;

		if (q.nsteps >= NM_MAX_STEPS) {
			nm_seterr(reason, "free memory is so fragmented "
				  "that the move would take more than %d "
				  "steps", NM_MAX_STEPS);
			rc = 1;
			goto out;
		}
		r = step_once(&q, reason);
		if (r != 0) {
			rc = r;
			goto out;
		}
	}
	*steps = q.steps;
	*nsteps = q.nsteps;
	*bytes = q.bytes;
	q.steps = NULL;
	rc = 0;
out:
	free(q.steps);
	free(q.flows);
	free(q.avail);
	return rc;
}
