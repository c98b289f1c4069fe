/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include "lib/base/bitmap.h"

static void parse_ok(const char *s, const char *expect)
{
	struct nm_bitmap b;
	char err[NM_ERRLEN] = "", out[256];

	assert_int_equal(nm_list_parse(s, &b, NM_BITMAP_BITS, 0, "list", err),
			 0);
	nm_list_format(&b, out, sizeof(out));
	assert_string_equal(out, expect);
}

static void parse_bad(const char *s, unsigned int limit, const char *needle)
{
	struct nm_bitmap b;
	char err[NM_ERRLEN] = "";

	nm_bitmap_zero(&b);
	nm_bitmap_set(&b, 7);
	assert_int_equal(nm_list_parse(s, &b, limit, 0, "node list", err), -1);
	assert_non_null(strstr(err, needle));
	assert_null(strchr(err, '\n'));
	/* a failed parse changes nothing */
	assert_int_equal(nm_bitmap_weight(&b), 1);
	assert_true(nm_bitmap_test(&b, 7));
}

static void test_parse_valid(void **state)
{
	(void)state;
	parse_ok("0", "0");
	parse_ok("0-3", "0-3");
	parse_ok("0-3,8,10-11", "0-3,8,10-11");
	parse_ok("3,2,1,0", "0-3");
	parse_ok("0-2,1-4", "0-4");
	parse_ok("5-5", "5");
	parse_ok("0-3\n", "0-3");
	parse_ok("007", "7");
	parse_ok("8191", "8191");
	parse_ok("0,2,4,6", "0,2,4,6");
}

static void test_parse_invalid(void **state)
{
	(void)state;
	parse_bad("", NM_BITMAP_BITS, "empty");
	parse_bad("\n", NM_BITMAP_BITS, "empty");
	parse_bad("0-", NM_BITMAP_BITS, "ends early");
	parse_bad("-1", NM_BITMAP_BITS, "unexpected '-'");
	parse_bad("1,", NM_BITMAP_BITS, "ends early");
	parse_bad(",1", NM_BITMAP_BITS, "unexpected ','");
	parse_bad("1,,2", NM_BITMAP_BITS, "unexpected ','");
	parse_bad("3-1", NM_BITMAP_BITS, "reversed");
	parse_bad("a", NM_BITMAP_BITS, "unexpected 'a'");
	parse_bad("1 2", NM_BITMAP_BITS, "unexpected ' '");
	parse_bad("0-3 ", NM_BITMAP_BITS, "unexpected ' '");
	parse_bad("1-2-3", NM_BITMAP_BITS, "unexpected '-'");
	parse_bad("+1", NM_BITMAP_BITS, "unexpected '+'");
	parse_bad("8192", NM_BITMAP_BITS, "out of range");
	parse_bad("99999999999999999999", NM_BITMAP_BITS, "out of range");
	parse_bad("0-4", 4, "out of range (max 3)");
	parse_bad("1\x01", NM_BITMAP_BITS, "0x01");
	parse_bad("0\n\n", NM_BITMAP_BITS, "0x0a");
}

static void test_parse_empty_allowed(void **state)
{
	struct nm_bitmap b;
	char err[NM_ERRLEN];

	(void)state;
	assert_int_equal(nm_list_parse("\n", &b, NM_BITMAP_BITS,
				       NM_LIST_ALLOW_EMPTY, "cpulist", err), 0);
	assert_true(nm_bitmap_empty(&b));
}

static void test_ord_nth(void **state)
{
	struct nm_bitmap b;
	char err[NM_ERRLEN];

	(void)state;
	assert_int_equal(nm_list_parse("2,5,64-65,130", &b, NM_BITMAP_BITS, 0,
				       "x", err), 0);
	assert_int_equal(nm_bitmap_weight(&b), 5);
	assert_int_equal(nm_bitmap_ord(&b, 2), 0);
	assert_int_equal(nm_bitmap_ord(&b, 65), 3);
	assert_int_equal(nm_bitmap_ord(&b, 130), 4);
	assert_int_equal(nm_bitmap_ord(&b, 3), -1);
	assert_int_equal(nm_bitmap_nth(&b, 0), 2);
	assert_int_equal(nm_bitmap_nth(&b, 2), 64);
	assert_int_equal(nm_bitmap_nth(&b, 4), 130);
	assert_int_equal(nm_bitmap_nth(&b, 5), -1);
	assert_int_equal(nm_bitmap_next(&b, 6), 64);
	assert_int_equal(nm_bitmap_next(&b, 131), -1);
}

static void test_format_truncates(void **state)
{
	struct nm_bitmap b;
	char buf[6];
	size_t need;

	(void)state;
	nm_bitmap_zero(&b);
	for (unsigned int i = 0; i < 20; i += 2)
		nm_bitmap_set(&b, i);
	need = nm_list_format(&b, buf, sizeof(buf));
	assert_int_equal(need, strlen("0,2,4,6,8,10,12,14,16,18"));
	assert_true(strlen(buf) < sizeof(buf));
}

/* Property: format(parse(x)) round-trips for random sets. */
static void test_roundtrip_random(void **state)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	(void)state;
	for (int iter = 0; iter < 2000; iter++) {
		struct nm_bitmap a, b;
		char buf[65536], err[NM_ERRLEN];
		unsigned int n = rng_below(&seed, 64);

		nm_bitmap_zero(&a);
		for (unsigned int i = 0; i < n; i++)
			nm_bitmap_set(&a, rng_below(&seed, NM_BITMAP_BITS));
		if (nm_bitmap_empty(&a))
			nm_bitmap_set(&a, 0);
		nm_list_format(&a, buf, sizeof(buf));
		assert_int_equal(nm_list_parse(buf, &b, NM_BITMAP_BITS, 0, "x",
					       err), 0);
		assert_true(nm_bitmap_equal(&a, &b));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_parse_empty_allowed),
		cmocka_unit_test(test_ord_nth),
		cmocka_unit_test(test_format_truncates),
		cmocka_unit_test(test_roundtrip_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
