/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include "lib/base/units.h"

static void test_parse(void **state)
{
	uint64_t v;
	char err[NM_ERRLEN];

	(void)state;
	assert_int_equal(nm_parse_bytes("4096", &v, "x", err), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(nm_parse_bytes("2K", &v, "x", err), 0);
	assert_int_equal(v, 2048);
	assert_int_equal(nm_parse_bytes("512m", &v, "x", err), 0);
	assert_int_equal(v, 512ull << 20);
	assert_int_equal(nm_parse_bytes("1GiB", &v, "x", err), 0);
	assert_int_equal(v, 1ull << 30);
	assert_int_equal(nm_parse_bytes("3TB", &v, "x", err), 0);
	assert_int_equal(v, 3ull << 40);
	assert_int_equal(nm_parse_bytes("0", &v, "x", err), 0);
	assert_int_equal(v, 0);
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"", "G", "-1", "1.5G", "1X", "1GG", "1 G",
		"99999999999999999999", "16384P", "1Gib ", NULL,
	};
	uint64_t v = 77;
	char err[NM_ERRLEN];

	(void)state;
	for (int i = 0; bad[i]; i++) {
		err[0] = '\0';
		assert_int_equal(nm_parse_bytes(bad[i], &v, "size", err), -1);
		assert_true(err[0] != '\0');
		assert_int_equal(v, 77);
	}
}

static void test_format(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(nm_format_bytes(512, buf, sizeof(buf)), "512 B");
	assert_string_equal(nm_format_bytes(4096, buf, sizeof(buf)),
			    "4.00 KiB");
	assert_string_equal(nm_format_bytes(3ull << 29, buf, sizeof(buf)),
			    "1.50 GiB");
	assert_string_equal(nm_format_bytes(UINT64_MAX, buf, sizeof(buf)),
			    "16.00 EiB");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
