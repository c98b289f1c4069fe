/* SPDX-License-Identifier: MIT */
#include "testutil.h"

static void test_24node(void **state)
{
	struct nm_topology *t = load_topo("192em64t-24n8c2t.xml");
	char buf[64];

	(void)state;
	assert_int_equal(t->nnodes, 24);
	assert_false(t->distances_derived);
	assert_false(t->live);
	for (int i = 0; i < t->nnodes; i++) {
		assert_int_equal(t->nodes[i].os, i);
		assert_false(t->nodes[i].memory_only);
		assert_int_equal(nm_bitmap_weight(&t->nodes[i].cpus), 16);
		assert_int_equal(nm_topology_dist(t, i, i), 10);
		assert_true(t->nodes[i].total_bytes > 0);
	}
	assert_int_equal(nm_topology_dist(t, 0, 1), 50);
	assert_int_equal(nm_topology_dist(t, 0, 2), 65);
	assert_int_equal(nm_topology_dist(t, 0, 10), 79);
	nm_list_format(&t->nodes[0].cpus, buf, sizeof(buf));
	assert_string_equal(buf, "0-7,192-199");
	assert_int_equal(nm_topology_cpu_node(t, 193), 0);
	assert_int_equal(nm_topology_cpu_node(t, 8), 1);
	assert_int_equal(nm_topology_cpu_node(t, 384), -1);
	assert_int_equal(nm_topology_find(t, 23), 23);
	assert_int_equal(nm_topology_find(t, 24), -1);
	nm_topology_free(t);
}

static void test_knl_memory_only(void **state)
{
	struct nm_topology *t = load_topo("64intel64-fakeKNL-SNC4-hybrid.xml");
	int memonly = 0;

	(void)state;
	assert_int_equal(t->nnodes, 8);
	for (int i = 0; i < t->nnodes; i++)
		if (t->nodes[i].memory_only) {
			memonly++;
			assert_string_equal(t->nodes[i].kind, "MCDRAM");
		}
	assert_int_equal(memonly, 4);
	/* every CPU has exactly one local node, a DDR one */
	for (int cpu = 0; cpu < 256; cpu++) {
		int n = nm_topology_cpu_node(t, cpu);

		if (n >= 0)
			assert_false(t->nodes[n].memory_only);
	}
	nm_topology_free(t);
}

static void test_derived_distances(void **state)
{
	struct nm_topology *t = load_topo("16-2gr2gr2n2c+misc.xml");

	(void)state;
	assert_true(t->distances_derived);
	/* nested groups: siblings nearer than cousins, symmetric */
	assert_true(nm_topology_dist(t, 0, 1) < nm_topology_dist(t, 0, 2));
	assert_true(nm_topology_dist(t, 0, 2) < nm_topology_dist(t, 0, 4));
	for (int a = 0; a < t->nnodes; a++)
		for (int b = 0; b < t->nnodes; b++)
			assert_int_equal(nm_topology_dist(t, a, b),
					 nm_topology_dist(t, b, a));
	nm_topology_free(t);
}

static void test_asymmetric(void **state)
{
	struct nm_topology *t = load_topo("fakeheterodistances.xml");
	bool asym = false;

	(void)state;
	for (int a = 0; a < t->nnodes; a++)
		for (int b = 0; b < t->nnodes; b++)
			if (nm_topology_dist(t, a, b) !=
			    nm_topology_dist(t, b, a))
				asym = true;
	assert_false(t->distances_derived);
	(void)asym; /* either way the planner must cope; recorded as is */
	nm_topology_free(t);
}

static void test_bad_file(void **state)
{
	char err[NM_ERRLEN] = "";

	(void)state;
	assert_null(nm_topology_load("/nonexistent/topo.xml", err));
	assert_non_null(strstr(err, "/nonexistent/topo.xml"));
	err[0] = '\0';
	assert_null(nm_topology_load(TESTDATA "/README.md", err));
	assert_true(err[0] != '\0');
}

static void test_live(void **state)
{
	char err[NM_ERRLEN] = "";
	struct nm_topology *t = nm_topology_load(NULL, err);

	(void)state;
	if (!t)
		fail_msg("live topology: %s", err);
	assert_true(t->live);
	assert_true(t->nnodes >= 1);
	assert_true(t->nodes[0].free_bytes > 0);
	assert_true(t->nodes[0].free_bytes <= t->nodes[0].total_bytes);
	nm_topology_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_24node),
		cmocka_unit_test(test_knl_memory_only),
		cmocka_unit_test(test_derived_distances),
		cmocka_unit_test(test_asymmetric),
		cmocka_unit_test(test_bad_file),
		cmocka_unit_test(test_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
