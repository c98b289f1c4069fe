/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include "lib/core/repin_back.h"

/* 0-1 -> 2-3; the memory mostly stayed: the threads go back. */
static void test_memory_stayed(void **state)
{
	const int map[4] = { 2, 3, -1, -1 };
	const uint64_t bytes[4] = { 90, 0, 10, 0 };
	int back[4];

	(void)state;
	assert_int_equal(nm_repin_back(4, map, bytes, back), 1);
	assert_int_equal(back[2], 0);
	assert_int_equal(back[3], -1);	/* nothing of it on 1 */
	assert_int_equal(back[0], -1);
	assert_int_equal(back[1], -1);
}

/* Most of it moved already, or a tie: the threads stay where they are. */
static void test_memory_moved(void **state)
{
	const int map[4] = { 2, 3, -1, -1 };
	const uint64_t moved[4] = { 10, 0, 90, 0 };
	const uint64_t tie[4] = { 50, 0, 50, 0 };
	int back[4];

	(void)state;
	assert_int_equal(nm_repin_back(4, map, moved, back), 0);
	assert_int_equal(nm_repin_back(4, map, tie, back), 0);
	for (int n = 0; n < 4; n++)
		assert_int_equal(back[n], -1);
}

/* Two old nodes merged onto one: back to the one holding most. */
static void test_merged(void **state)
{
	const int map[4] = { 3, 3, 3, -1 };
	const uint64_t bytes[4] = { 30, 50, 40, 5 };
	int back[4];

	(void)state;
	assert_int_equal(nm_repin_back(4, map, bytes, back), 1);
	assert_int_equal(back[3], 1);
}

/* Nodes that stay, or maps out of range, never map back. */
static void test_unmapped(void **state)
{
	const int map[3] = { 0, -1, 7 };
	const uint64_t bytes[3] = { 100, 100, 100 };
	int back[3];

	(void)state;
	assert_int_equal(nm_repin_back(3, map, bytes, back), 0);
	for (int n = 0; n < 3; n++)
		assert_int_equal(back[n], -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory_stayed),
		cmocka_unit_test(test_memory_moved),
		cmocka_unit_test(test_merged),
		cmocka_unit_test(test_unmapped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
