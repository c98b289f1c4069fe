/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include "lib/core/target_check.h"
#include "lib/core/plan_internal.h"
#include "lib/base/target.h"

static struct nm_plan *plan_for(const struct nm_topology *t,
				const struct nm_job *job, const char *spec,
				bool is_map, const char *free_spec)
{
	struct nm_target target;
	char err[NM_ERRLEN] = "";
	uint64_t *free_bytes = calloc((size_t)t->nnodes, sizeof(uint64_t));
	struct nm_plan *plan;

	assert_non_null(free_bytes);
	if ((is_map ? nm_target_parse_map(spec, &target, err) :
		      nm_target_parse_nodes(spec, &target, err)) < 0)
		fail_msg("%s", err);
	if (nm_plan_free_bytes(t, job, free_bytes, err) < 0)
		fail_msg("%s", err);
	if (free_spec && nm_parse_free_overrides(free_spec, t, free_bytes,
						 err) < 0)
		fail_msg("%s", err);
	plan = nm_plan_compute(t, job, free_bytes, &target, NULL, err);
	free(free_bytes);
	if (!plan)
		fail_msg("plan: %s", err);
	return plan;
}

/* Builds the JSON of a job with @per_node ranks on each node of @nodes. */
static char *spread_job(const struct nm_topology *t, const int *nodes,
			int nnodes, int per_node, uint64_t bytes)
{
	size_t cap = 1 << 20, len = 0;
	char *s = malloc(cap);
	int rank = 0;

	len += (size_t)snprintf(s + len, cap - len, "{\"tasks\": [");
	for (int i = 0; i < nnodes; i++) {
		const struct nm_node *n = &t->nodes[nm_topology_find(t,
								     nodes[i])];
		unsigned int w = nm_bitmap_weight(&n->cpus);

		for (int r = 0; r < per_node; r++, rank++) {
			int cpu = nm_bitmap_nth(&n->cpus,
						(unsigned int)r % w);

			len += (size_t)snprintf(s + len, cap - len,
				"%s{\"rank\": %d, \"cpus\": \"%d\", "
				"\"memory\": {\"%d\": %llu}}",
				rank ? "," : "", rank, cpu, nodes[i],
				(unsigned long long)bytes);
		}
	}
	snprintf(s + len, cap - len, "]}");
	return s;
}

/* Issue's headline case: 96 ranks on 0-7 of the 24-node machine -> 4-11. */
static void test_24node_headline(void **state)
{
	struct nm_topology *t = load_topo("192em64t-24n8c2t.xml");
	int nodes[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	char *json = spread_job(t, nodes, 8, 12, 1ull << 30);
	struct nm_job *job = parse_job(json, t);
	struct nm_plan *plan = plan_for(t, job, "4-11", false, NULL);

	(void)state;
	assert_true(plan->feasible);
	assert_true(plan->search_complete);
	assert_true(plan->bytes_moved < plan->kernel_bytes_moved);
	assert_int_equal(plan->kernel_bytes_moved, 96ull << 30);
	/* nodes 4-7 already in the target stay; only 0-3 move */
	for (int n = 4; n < 8; n++)
		assert_int_equal(plan->map[n], n);
	assert_int_equal(plan->bytes_moved, 48ull << 30);
	assert_true(plan->distortion <= plan->kernel_distortion);
	assert_true(plan->seconds < 1.0);
	nm_plan_free(plan);
	nm_job_free(job);
	free(json);
	nm_topology_free(t);
}

/* An isomorphic placement exists: it must be found (zero distortion). */
static void test_exact_when_isomorphic(void **state)
{
	struct nm_topology *t = load_topo("192em64t-24n8c2t.xml");
	int nodes[] = { 0, 1 }; /* a 50-apart pair */
	char *json = spread_job(t, nodes, 2, 4, 1 << 20);
	struct nm_job *job = parse_job(json, t);
	/* 10-11 are a pair too; 2 and 12 are 65/79 apart from each other */
	struct nm_plan *plan = plan_for(t, job, "2,10-12", false, NULL);

	(void)state;
	assert_true(plan->feasible);
	assert_int_equal(plan->distortion, 0);
	assert_true((plan->map[0] == 10 && plan->map[1] == 11) ||
		    (plan->map[0] == 11 && plan->map[1] == 10));
	nm_plan_free(plan);
	nm_job_free(job);
	free(json);
	nm_topology_free(t);
}

static void test_explicit_map(void **state)
{
	struct nm_topology *t = load_topo("192em64t-24n8c2t.xml");
	struct nm_job *job = parse_job("{\"tasks\": ["
		"{\"rank\": 0, \"cpus\": \"0\", \"memory\": {\"0\": 8192}},"
		"{\"rank\": 1, \"cpus\": \"1\", \"memory\": {\"0\": 4096}},"
		"{\"rank\": 2, \"cpus\": \"8\", \"memory\": {\"1\": 4096}}]}", t);
	struct nm_plan *plan = plan_for(t, job, "0-1:2-3", true, NULL);
	struct nm_bitmap newcpus;
	char buf[32];

	(void)state;
	assert_true(plan->feasible);
	assert_int_equal(plan->map[0], 2);
	assert_int_equal(plan->map[1], 3);
	assert_int_equal(plan->bytes_moved, 16384);
	assert_int_equal(plan->kernel_bytes_moved, 16384);
	assert_int_equal(nm_plan_task_bytes(plan, &job->tasks[0]), 8192);
	/* ranks 0 and 1 shared node 0: both land on node 2, order kept */
	nm_map_cpus(t, plan->map, &job->tasks[0].cpus, &newcpus);
	nm_list_format(&newcpus, buf, sizeof(buf));
	assert_string_equal(buf, "16");
	nm_map_cpus(t, plan->map, &job->tasks[1].cpus, &newcpus);
	nm_list_format(&newcpus, buf, sizeof(buf));
	assert_string_equal(buf, "17");
	nm_map_cpus(t, plan->map, &job->tasks[2].cpus, &newcpus);
	nm_list_format(&newcpus, buf, sizeof(buf));
	assert_string_equal(buf, "24");
	nm_plan_free(plan);
	nm_job_free(job);
	nm_topology_free(t);
}

static void test_refused_capacity(void **state)
{
	struct nm_topology *t = load_topo("16amd64-4distances.xml");
	struct nm_job *job = parse_job("{\"tasks\": ["
		"{\"rank\": 0, \"cpus\": \"0\", \"memory\": {\"0\": 1073741824}}]}",
		t);
	struct nm_plan *plan = plan_for(t, job, "0:1", true, "1=512M");

	(void)state;
	assert_false(plan->feasible);
	assert_non_null(strstr(plan->reason, "node 1 would receive 1.00 GiB"));
	assert_int_equal(plan->nsteps, 0);
	nm_plan_free(plan);
	plan = plan_for(t, job, "1-2", false, "1-2=256M");
	assert_false(plan->feasible);
	if (!strstr(plan->reason, "room for 512.00 MiB"))
		fail_msg("reason: %s", plan->reason);
	nm_plan_free(plan);
	nm_job_free(job);
	nm_topology_free(t);
}

static void test_memory_only_tiers(void **state)
{
	struct nm_topology *t = load_topo("64intel64-fakeKNL-SNC4-hybrid.xml");
	struct nm_job *job;
	struct nm_plan *plan;
	struct nm_target target;
	char err[NM_ERRLEN] = "", json[256];
	int ddr0 = nm_topology_cpu_node(t, 0);
	int ddr1 = -1, mc0 = -1, mc1 = -1;
	uint64_t free_bytes[8];

	(void)state;
	for (int n = 0; n < t->nnodes; n++) {
		if (!t->nodes[n].memory_only && n != ddr0 && ddr1 < 0)
			ddr1 = n;
		if (t->nodes[n].memory_only)
			mc0 < 0 ? (mc0 = n) : mc1 < 0 ? (mc1 = n) : 0;
	}
	snprintf(json, sizeof(json), "{\"tasks\": [{\"rank\": 0, \"cpus\": "
		 "\"0\", \"memory\": {\"%d\": 4096, \"%d\": 8192}}]}",
		 t->nodes[ddr0].os, t->nodes[mc0].os);
	job = parse_job(json, t);
	snprintf(json, sizeof(json), "%d,%d", t->nodes[ddr1].os,
		 t->nodes[mc1].os);
	plan = plan_for(t, job, json, false, NULL);
	assert_true(plan->feasible);
	assert_int_equal(plan->map[ddr0], ddr1);	/* CPUs need CPUs */
	assert_int_equal(plan->map[mc0], mc1);		/* MCDRAM stays MCDRAM */
	nm_plan_free(plan);

	/* an explicit map may not strand CPUs on a memory-only node */
	snprintf(json, sizeof(json), "%d:%d", t->nodes[ddr0].os,
		 t->nodes[mc1].os);
	assert_int_equal(nm_target_parse_map(json, &target, err), 0);
	assert_int_equal(nm_plan_free_bytes(t, job, free_bytes, err), 0);
	assert_null(nm_plan_compute(t, job, free_bytes, &target, NULL, err));
	assert_non_null(strstr(err, "memory-only"));
	nm_job_free(job);
	nm_topology_free(t);
}

/* Replays steps: never over capacity, and every node's pages end mapped. */
static void check_steps(const struct nm_topology *t, const struct nm_job *job,
			const uint64_t *free_bytes, const int *map,
			const struct nm_step *steps, int nsteps)
{
	uint64_t avail[NM_MAX_NODES], occ[NM_MAX_NODES], want[NM_MAX_NODES];
	uint64_t total = 0;

	for (int n = 0; n < t->nnodes; n++) {
		avail[n] = free_bytes[n];
		occ[n] = job->node_bytes[n];
		want[n] = 0;
	}
	for (int n = 0; n < t->nnodes; n++)
		want[map[n] >= 0 ? map[n] : n] += job->node_bytes[n];
	for (int i = 0; i < nsteps; i++) {
		int from = nm_topology_find(t, steps[i].from);
		int to = nm_topology_find(t, steps[i].to);

		assert_true(from >= 0 && to >= 0 && from != to);
		assert_true(steps[i].bytes > 0);
		if (steps[i].bytes > avail[to])
			fail_msg("step %d: %llu bytes into node %d with %llu "
				 "free", i, (unsigned long long)steps[i].bytes,
				 steps[i].to, (unsigned long long)avail[to]);
		assert_true(occ[from] >= steps[i].bytes);
		avail[to] -= steps[i].bytes;
		avail[from] += steps[i].bytes;
		occ[to] += steps[i].bytes;
		occ[from] -= steps[i].bytes;
		total += steps[i].bytes;
	}
	for (int n = 0; n < t->nnodes; n++)
		assert_int_equal(occ[n], want[n]);
	(void)total;
}

/* A swap of two full nodes: broken through a spare node. */
static void test_cycle_through_spare(void **state)
{
	struct nm_topology *t = load_topo("16amd64-4distances.xml");
	struct nm_job *job = parse_job("{\"tasks\": ["
		"{\"rank\": 0, \"cpus\": \"2\", \"memory\": {\"0\": 8192}},"
		"{\"rank\": 1, \"cpus\": \"0\", \"memory\": {\"1\": 8192}}]}", t);
	uint64_t free_bytes[8] = { 0, 0, 4096, 0, 0, 0, 0, 0 };
	int map[8] = { 1, 0, -1, -1, -1, -1, -1, -1 };
	struct nm_step *steps = NULL;
	int nsteps;
	uint64_t bytes;
	char reason[NM_ERRLEN] = "";

	(void)state;
	assert_int_equal(nm_sequence(t, job, free_bytes, map, NULL, &steps,
				     &nsteps, &bytes, reason), 0);
	check_steps(t, job, free_bytes, map, steps, nsteps);
	assert_true(bytes > 2 * 8192); /* some pages parked and moved on */
	assert_true(bytes <= 3 * 8192);
	free(steps);

	/* with slack in the cycle itself, it is interleaved, nothing parked */
	uint64_t slack[8] = { 0, 4096, 0, 0, 0, 0, 0, 0 };

	assert_int_equal(nm_sequence(t, job, slack, map, NULL, &steps,
				     &nsteps, &bytes, reason), 0);
	check_steps(t, job, slack, map, steps, nsteps);
	assert_int_equal(bytes, 2 * 8192);
	free(steps);

	/* no slack, no spare: refused with the reason */
	uint64_t none[8] = { 0 };

	assert_int_equal(nm_sequence(t, job, none, map, NULL, &steps,
				     &nsteps, &bytes, reason), 1);
	assert_non_null(strstr(reason, "no other node it may use has room"));
	nm_job_free(job);
	nm_topology_free(t);
}

/* Whether any step of @plan parks pages on OS node @os. */
static bool parks_on(const struct nm_plan *plan, int os)
{
	for (int i = 0; i < plan->nsteps; i++)
		if (plan->steps[i].parked && plan->steps[i].to == os)
			return true;
	return false;
}

/* The swap 0<->1 of two full nodes on the KNL (MCDRAM: 4-7), planned. */
static struct nm_plan *swap_plan(const struct nm_topology *t,
				 const struct nm_job *job,
				 const char *free_spec,
				 const struct nm_bitmap *park)
{
	struct nm_plan_options opts = { .park_nodes = park };
	uint64_t free_bytes[NM_MAX_NODES] = { 0 };
	char err[NM_ERRLEN] = "";
	struct nm_target target;
	struct nm_plan *plan;

	if (nm_target_parse_map("0,1:1,0", &target, err) < 0 ||
	    nm_parse_free_overrides(free_spec, t, free_bytes, err) < 0)
		fail_msg("%s", err);
	plan = nm_plan_compute(t, job, free_bytes, &target, &opts, err);
	if (!plan)
		fail_msg("plan: %s", err);
	return plan;
}

/*
 * Parking is authorised: never on a memory-only node nobody asked for
 * (another job's HBM), and only inside the caller's nodes when given.
 */
static void test_parking_authorised(void **state)
{
	struct nm_topology *t = load_topo("64intel64-fakeKNL-SNC4-hybrid.xml");
	struct nm_job *job = parse_job("{\"tasks\": ["
		"{\"rank\": 0, \"cpus\": \"0\", \"memory\": {\"0\": 8192}},"
		"{\"rank\": 1, \"cpus\": \"4\", \"memory\": {\"1\": 8192}}]}",
		t);
	struct nm_bitmap mine;
	struct nm_plan *plan;

	(void)state;
	/* MCDRAM node 4 has the most room: not a spare, node 2 is */
	plan = swap_plan(t, job, "0=0,1=0,2=4096,3=0,4=1G,5=0,6=0,7=0",
			 NULL);
	assert_true(plan->feasible);
	assert_true(parks_on(plan, 2));
	for (int os = 3; os < 8; os++)
		assert_false(parks_on(plan, os));
	nm_plan_free(plan);

	/* only MCDRAM has room: refused, nothing parked there */
	plan = swap_plan(t, job, "0=0,1=0,2=0,3=0,4=1G,5=1G,6=0,7=0", NULL);
	assert_false(plan->feasible);
	assert_non_null(strstr(plan->reason, "no other node it may use"));
	nm_plan_free(plan);

	/* the caller may use 0,1,3: node 3 although 2 has more room */
	nm_bitmap_zero(&mine);
	nm_bitmap_set(&mine, 0);
	nm_bitmap_set(&mine, 1);
	nm_bitmap_set(&mine, 3);
	plan = swap_plan(t, job, "0=0,1=0,2=1M,3=4096,4=1G,5=0,6=0,7=0",
			 &mine);
	assert_true(plan->feasible);
	assert_true(parks_on(plan, 3));
	assert_false(parks_on(plan, 2));
	assert_false(parks_on(plan, 4));
	nm_plan_free(plan);

	/* the caller's allocation is 0-1 only: no spare, refused */
	nm_bitmap_clear(&mine, 3);
	plan = swap_plan(t, job, "0=0,1=0,2=1M,3=1M,4=1G,5=1G,6=0,7=0",
			 &mine);
	assert_false(plan->feasible);
	assert_int_equal(plan->nsteps, 0);
	nm_plan_free(plan);
	nm_job_free(job);
	nm_topology_free(t);
}

/* A memory-only node the job is on, or a target, is its own to use. */
static void test_parking_own_memory_only(void **state)
{
	struct nm_topology *t = load_topo("64intel64-fakeKNL-SNC4-hybrid.xml");
	struct nm_job *job = parse_job("{\"tasks\": ["
		"{\"rank\": 0, \"cpus\": \"0\", \"memory\": {\"0\": 8192,"
		" \"5\": 4096}},"
		"{\"rank\": 1, \"cpus\": \"4\", \"memory\": {\"1\": 8192}}]}",
		t);
	struct nm_plan *plan;

	(void)state;
	plan = swap_plan(t, job, "0=0,1=0,2=0,3=0,4=1G,5=1G,6=0,7=0", NULL);
	assert_true(plan->feasible);
	assert_true(parks_on(plan, 5));
	assert_false(parks_on(plan, 4));
	nm_plan_free(plan);
	nm_job_free(job);
	nm_topology_free(t);
}

/*
 * Property test over random jobs on every real topology: a feasible plan
 * never overfills a node at any step, realises its map, keeps ranks that
 * shared a node together (and apart when there is room), stays inside the
 * target, and moves no more than the kernel's map when that map fits.
 */
static void random_plans(const char *file, int iterations, uint64_t seed)
{
	struct nm_topology *t = load_topo(file);
	/* small budget: truncated searches must keep every property too */
	struct nm_plan_options opts = { .search_budget = 20000 };
	int feasible = 0, compared = 0;

	for (int iter = 0; iter < iterations; iter++) {
		struct nm_job *job;
		struct nm_plan *plan;
		struct nm_target target;
		uint64_t free_bytes[NM_MAX_NODES];
		char err[NM_ERRLEN] = "";
		bool is_map = rng_below(&seed, 4) == 0;
		bool tight = rng_below(&seed, 3) == 0;
		int ntasks = 1 + (int)rng_below(&seed, 24);
		int cpu_nodes[NM_MAX_NODES], ncpu = 0;

		for (int n = 0; n < t->nnodes; n++)
			if (!t->nodes[n].memory_only)
				cpu_nodes[ncpu++] = n;
		job = nm_job_alloc(ntasks, t, err);
		assert_non_null(job);
		/* ranks clustered on a few nodes, memory near them */
		int span = 1 + (int)rng_below(&seed, (unsigned int)(
					ncpu < 8 ? ncpu : 8));
		int base = (int)rng_below(&seed, (unsigned int)ncpu);

		for (int i = 0; i < ntasks; i++) {
			int n = cpu_nodes[(base + (int)rng_below(&seed,
					  (unsigned int)span)) % ncpu];
			const struct nm_bitmap *c = &t->nodes[n].cpus;
			int cpu = nm_bitmap_nth(c, rng_below(&seed,
						nm_bitmap_weight(c)));

			job->tasks[i].rank = i;
			nm_bitmap_set(&job->tasks[i].cpus, (unsigned int)cpu);
			job->tasks[i].bytes[n] =
				(1 + rng_below(&seed, 4096)) * 4096ull;
			if (rng_below(&seed, 4) == 0) {
				int m = (int)rng_below(&seed,
						       (unsigned int)t->nnodes);

				job->tasks[i].bytes[m] +=
					rng_below(&seed, 1024) * 4096ull;
			}
		}
		assert_int_equal(nm_job_finish(job, t, err), 0);
		assert_int_equal(nm_plan_free_bytes(t, job, free_bytes, err), 0);
		if (tight)
			for (int n = 0; n < t->nnodes; n++)
				free_bytes[n] = rng_below(&seed, 3) ? 0 :
					rng_below(&seed, 8192) * 4096ull;

		/* target: a random node set, sometimes a map */
		nm_bitmap_zero(&target.new_nodes);
		nm_bitmap_zero(&target.old_nodes);
		int ntarget = 1 + (int)rng_below(&seed,
						 (unsigned int)t->nnodes);
		for (int i = 0; i < ntarget; i++)
			nm_bitmap_set(&target.new_nodes, (unsigned int)
				      t->nodes[rng_below(&seed, (unsigned int)
							 t->nnodes)].os);
		if (is_map) {
			target.kind = NM_TARGET_MAP;
			for (int i = 0; i < ntarget; i++)
				nm_bitmap_set(&target.old_nodes, (unsigned int)
					      t->nodes[rng_below(&seed,
						(unsigned int)t->nnodes)].os);
		} else {
			target.kind = NM_TARGET_NODES;
		}
		plan = nm_plan_compute(t, job, free_bytes, &target, &opts, err);
		if (!plan) {
			/* only an explicit map to a memory-only node is bad */
			assert_true(is_map);
			assert_non_null(strstr(err, "memory-only"));
			nm_job_free(job);
			continue;
		}
		if (!plan->feasible) {
			assert_true(plan->reason[0] != '\0');
			nm_plan_free(plan);
			nm_job_free(job);
			continue;
		}
		feasible++;
		check_steps(t, job, free_bytes, plan->map, plan->steps,
			    plan->nsteps);
		int n, m;
		unsigned int nj = nm_bitmap_weight(&job->nodes);
		unsigned int nt = nm_bitmap_weight(&target.new_nodes);

		nm_bitmap_foreach(n, &job->nodes) {
			assert_true(plan->map[n] >= 0);
			if (!is_map)
				assert_true(nm_bitmap_test(&target.new_nodes,
					t->nodes[plan->map[n]].os));
			if (nm_bitmap_test(&job->cpu_nodes, n))
				assert_false(t->nodes[plan->map[n]].memory_only);
			if (is_map || nt < nj)
				continue;
			/*
			 * With enough targets, nodes merge only to stay within
			 * the kernel's bytes (or when nothing else fits).
			 */
			nm_bitmap_foreach(m, &job->nodes)
				if (m != n && plan->map[n] == plan->map[m] &&
				    !tight)
					assert_true(plan->bytes_moved <=
						    plan->kernel_bytes_moved);
		}
		/* ranks sharing a node share the mapped node */
		for (int i = 0; i < ntasks; i++) {
			struct nm_bitmap nc;
			int cpu = nm_bitmap_next(&job->tasks[i].cpus, 0);

			nm_map_cpus(t, plan->map, &job->tasks[i].cpus, &nc);
			assert_int_equal(nm_topology_cpu_node(t,
					 nm_bitmap_next(&nc, 0)),
					 plan->map[nm_topology_cpu_node(t, cpu)]);
		}
		if (!is_map && plan->kernel_fits &&
		    nm_map_allowed(t, job, plan->kernel_map, false)) {
			compared++;
			if (plan->bytes_moved > plan->kernel_bytes_moved) {
				for (int q = 0; q < t->nnodes; q++)
					print_message("node %d bytes %llu free %llu map %d kmap %d\n", t->nodes[q].os, (unsigned long long)job->node_bytes[q], (unsigned long long)free_bytes[q], plan->map[q], plan->kernel_map[q]);
				for (int q = 0; q < plan->nsteps; q++)
					print_message("step %d->%d %llu %d\n", plan->steps[q].from, plan->steps[q].to, (unsigned long long)plan->steps[q].bytes, plan->steps[q].parked);
				fail_msg("%s iter %d: ours %llu > kernel %llu",
					 file, iter,
					 (unsigned long long)plan->bytes_moved,
					 (unsigned long long)
					 plan->kernel_bytes_moved);
			}
		}
		nm_plan_free(plan);
		nm_job_free(job);
	}
	print_message("%s: %d random jobs, %d feasible, %d compared with the "
		      "kernel\n", file, iterations, feasible, compared);
	assert_true(feasible > iterations / 10);
	assert_true(compared > 0);
	nm_topology_free(t);
}

static void test_random_24node(void **state)
{
	(void)state;
	random_plans("192em64t-24n8c2t.xml", 300, 1);
}

static void test_random_amd(void **state)
{
	(void)state;
	random_plans("16amd64-4distances.xml", 400, 2);
}

static void test_random_hetero(void **state)
{
	(void)state;
	random_plans("fakeheterodistances.xml", 400, 3);
}

static void test_random_knl(void **state)
{
	(void)state;
	random_plans("64intel64-fakeKNL-SNC4-hybrid.xml", 400, 4);
}

static void test_random_groups(void **state)
{
	(void)state;
	random_plans("16-2gr2gr2n2c+misc.xml", 400, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_24node_headline),
		cmocka_unit_test(test_exact_when_isomorphic),
		cmocka_unit_test(test_explicit_map),
		cmocka_unit_test(test_refused_capacity),
		cmocka_unit_test(test_memory_only_tiers),
		cmocka_unit_test(test_cycle_through_spare),
		cmocka_unit_test(test_parking_authorised),
		cmocka_unit_test(test_parking_own_memory_only),
		cmocka_unit_test(test_random_24node),
		cmocka_unit_test(test_random_amd),
		cmocka_unit_test(test_random_hetero),
		cmocka_unit_test(test_random_knl),
		cmocka_unit_test(test_random_groups),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
