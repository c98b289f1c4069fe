/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include "lib/core/target_check.h"
#include "lib/base/target.h"

static void test_map(void **state)
{
	struct nm_target t;
	char err[NM_ERRLEN], buf[64];

	(void)state;
	assert_int_equal(nm_target_parse_map("0-1:2-3", &t, err), 0);
	assert_int_equal(t.kind, NM_TARGET_MAP);
	nm_list_format(&t.old_nodes, buf, sizeof(buf));
	assert_string_equal(buf, "0-1");
	nm_list_format(&t.new_nodes, buf, sizeof(buf));
	assert_string_equal(buf, "2-3");
}

/* The map keeps the order written: a swap is a swap. */
static void test_map_order(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "0,1:1,0", "0-1:1,0" },
		{ "0-1:2-3", "0-1:2-3" },
		{ "3,0-2:4-7", "3,0-2:4-7" },
		{ "5,4:1,0", "5,4:1,0" },
	};
	struct nm_target t;
	char err[NM_ERRLEN], buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(nm_target_parse_map(cases[i].in, &t, err), 0);
		nm_target_format_map(&t, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].out);
	}
	assert_int_equal(nm_target_parse_map("0,1:1,0", &t, err), 0);
	assert_int_equal(t.npairs, 2);
	assert_int_equal(t.old_order[0], 0);
	assert_int_equal(t.new_order[0], 1);
	assert_int_equal(t.old_order[1], 1);
	assert_int_equal(t.new_order[1], 0);
	/* a short buffer still says how much the whole needs */
	assert_int_equal(nm_target_format_map(&t, buf, 3), strlen("0-1:1,0"));
	assert_string_equal(buf, "0-");
}

/* Ambiguous maps are refused, and a refused parse changes nothing. */
static void test_map_ambiguous(void **state)
{
	static const char *const bad[] = {
		"0,1:1", "0:1,2", "0,0:1,2", "0-1:2,2", "0-2,1:3-6", NULL,
	};
	struct nm_target t = { .kind = NM_TARGET_NODES, .npairs = 7 };
	char err[NM_ERRLEN];

	(void)state;
	for (int i = 0; bad[i]; i++) {
		err[0] = '\0';
		assert_int_equal(nm_target_parse_map(bad[i], &t, err), -1);
		assert_non_null(strchr(err, ' '));
		assert_null(strchr(err, '\n'));
		assert_int_equal(t.kind, NM_TARGET_NODES);
		assert_int_equal(t.npairs, 7);
	}
}

static void test_map_bad(void **state)
{
	static const char *const bad[] = {
		"", "0-1", ":", "0:", ":1", "0:1:2", "a:b", "0-1:2-", "1024:0",
		"0,:1,2", ",0:1", "0,1,:1,2", NULL,
	};
	struct nm_target t;
	char err[NM_ERRLEN];

	(void)state;
	for (int i = 0; bad[i]; i++) {
		err[0] = '\0';
		assert_int_equal(nm_target_parse_map(bad[i], &t, err), -1);
		assert_true(err[0] != '\0');
	}
	assert_int_equal(nm_target_parse_nodes("4-", &t, err), -1);
	assert_int_equal(nm_target_parse_nodes("", &t, err), -1);
}

static void test_check_unknown_node(void **state)
{
	struct nm_topology *topo = load_topo("32em64t-2n8c2t-pci-noio.xml");
	struct nm_target t;
	char err[NM_ERRLEN] = "";

	(void)state;
	assert_int_equal(nm_target_parse_nodes("0-2", &t, err), 0);
	assert_int_equal(nm_target_check(&t, topo, err), -1);
	assert_non_null(strstr(err, "node 2 does not exist"));
	assert_non_null(strstr(err, "nodes 0-1"));
	nm_topology_free(topo);
}

static void test_free_overrides(void **state)
{
	struct nm_topology *topo = load_topo("16amd64-4distances.xml");
	uint64_t free_bytes[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, copy[8];
	char err[NM_ERRLEN] = "";

	(void)state;
	assert_int_equal(nm_parse_free_overrides("0=4096,2-3=1G", topo,
						 free_bytes, err), 0);
	assert_int_equal(free_bytes[0], 4096);
	assert_int_equal(free_bytes[1], 2);
	assert_int_equal(free_bytes[2], 1ull << 30);
	assert_int_equal(free_bytes[3], 1ull << 30);
	memcpy(copy, free_bytes, sizeof(copy));
	/* all-or-nothing: a bad item leaves every value as it was */
	static const char *const bad[] = { "0=1,9=1", "0=1,", "0", "=5",
					   "0=1,1=x", "0=-1", "", NULL };
	for (int i = 0; bad[i]; i++) {
		assert_int_equal(nm_parse_free_overrides(bad[i], topo,
							 free_bytes, err), -1);
		assert_memory_equal(copy, free_bytes, sizeof(copy));
	}
	nm_topology_free(topo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_map_bad),
		cmocka_unit_test(test_map_order),
		cmocka_unit_test(test_map_ambiguous),
		cmocka_unit_test(test_check_unknown_node),
		cmocka_unit_test(test_free_overrides),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
