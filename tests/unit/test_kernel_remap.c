/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include "lib/core/kernel_remap.h"

static struct nm_bitmap set(const char *s)
{
	struct nm_bitmap b;
	char err[NM_ERRLEN];

	if (nm_list_parse(s, &b, NM_BITMAP_BITS, 0, "set", err) < 0)
		fail_msg("%s", err);
	return b;
}

static void test_node_remap(void **state)
{
	struct nm_bitmap from = set("0-3"), to = set("4-5");

	(void)state;
	assert_int_equal(nm_kernel_node_remap(0, &from, &to), 4);
	assert_int_equal(nm_kernel_node_remap(1, &from, &to), 5);
	assert_int_equal(nm_kernel_node_remap(2, &from, &to), 4);
	assert_int_equal(nm_kernel_node_remap(3, &from, &to), 5);
	assert_int_equal(nm_kernel_node_remap(7, &from, &to), 7);
	from = set("2,5,9");
	to = set("1,3,4");
	assert_int_equal(nm_kernel_node_remap(9, &from, &to), 4);
}

/* The examples in do_migrate_pages()'s own comment. */
static void test_kernel_comment_examples(void **state)
{
	uint64_t bytes[16] = { 0 };
	struct nm_bitmap from = set("2-4"), to = set("3-5");

	(void)state;
	bytes[2] = 100;
	bytes[3] = 10;
	bytes[4] = 1;
	/* [2,3,4] -> [3,4,5] moves everything, each page once */
	assert_int_equal(nm_kernel_migrate_bytes(bytes, 16, &from, &to, NULL),
			 111);
	assert_int_equal(bytes[3], 100);
	assert_int_equal(bytes[4], 10);
	assert_int_equal(bytes[5], 1);

	/* [0-7] -> [3,4,5] moves only 0,1,2,6,7 */
	memset(bytes, 0, sizeof(bytes));
	for (int i = 0; i < 8; i++)
		bytes[i] = 1u << i;
	from = set("0-7");
	to = set("3-5");
	assert_int_equal(nm_kernel_migrate_bytes(bytes, 16, &from, &to, NULL),
			 1 + 2 + 4 + 64 + 128);
	assert_int_equal(bytes[0] + bytes[1] + bytes[2] + bytes[6] + bytes[7],
			 0);
}

/*
 * node_remap() is monotone when the masks have equal weight and skips
 * sources inside 'to' otherwise, so the kernel never moves a page twice:
 * replayed bytes equal the bytes of the nodes that move.  Random masks.
 */
static void test_each_page_moves_once(void **state)
{
	uint64_t seed = 12345;

	(void)state;
	for (int iter = 0; iter < 5000; iter++) {
		uint64_t bytes[16], expect = 0;
		struct nm_bitmap from, to;
		int origin[16];

		nm_bitmap_zero(&from);
		nm_bitmap_zero(&to);
		for (int i = 0; i < 16; i++) {
			bytes[i] = rng_below(&seed, 1000);
			if (rng_below(&seed, 2))
				nm_bitmap_set(&from, (unsigned int)i);
			if (rng_below(&seed, 3) == 0)
				nm_bitmap_set(&to, (unsigned int)i);
		}
		bool same = nm_bitmap_weight(&from) == nm_bitmap_weight(&to);
		int s;

		nm_bitmap_foreach(s, &from) {
			if (!same && nm_bitmap_test(&to, s))
				continue;
			if (nm_kernel_node_remap(s, &from, &to) != s)
				expect += bytes[s];
		}
		uint64_t before[16];

		memcpy(before, bytes, sizeof(before));
		assert_int_equal(nm_kernel_migrate_bytes(bytes, 16, &from, &to,
							 origin), expect);
		/* and every page ends where node_remap sends it */
		for (int i = 0; i < 16; i++) {
			int d = i;

			if (nm_bitmap_test(&from, i) &&
			    (same || !nm_bitmap_test(&to, i)))
				d = nm_kernel_node_remap(i, &from, &to);
			if (before[i])
				assert_int_equal(origin[i], d);
		}
	}
}

/* Masks of unequal weight: sources inside 'to' stay. */
static void test_unequal_skip(void **state)
{
	uint64_t bytes[8] = { 10, 20, 40, 0, 0, 0, 0, 0 };
	struct nm_bitmap from = set("0-2"), to = set("2-3");

	(void)state;
	/* weights differ: 2 is in 'to' and is skipped; 0->2, 1->3 */
	assert_int_equal(nm_kernel_migrate_bytes(bytes, 8, &from, &to, NULL),
			 30);
	assert_int_equal(bytes[2], 50);
	assert_int_equal(bytes[3], 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_remap),
		cmocka_unit_test(test_kernel_comment_examples),
		cmocka_unit_test(test_each_page_moves_once),
		cmocka_unit_test(test_unequal_skip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
