/* SPDX-License-Identifier: MIT */
/* The atomic writer: all of the new file or all of the old one. */
#include "testutil.h"

#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/file.h"
#include "lib/linux/atomic_file.h"

static char tmpdir[] = "/tmp/nm-atomic-XXXXXX";

static void expect_text(const char *path, const char *want)
{
	size_t len;
	char *got = nm_read_file(path, 1 << 20, &len);

	assert_non_null(got);
	assert_int_equal(len, strlen(want));
	assert_string_equal(got, want);
	free(got);
}

static void test_replace(void **state)
{
	char path[128], tmp[160], err[NM_ERRLEN] = "";
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/rec", tmpdir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (nm_atomic_write(path, "one\n", 4, 0600, err) < 0)
		fail_msg("%s", err);
	expect_text(path, "one\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	if (nm_atomic_write(path, "two, longer\n", 12, 0600, err) < 0)
		fail_msg("%s", err);
	expect_text(path, "two, longer\n");
	assert_int_equal(access(tmp, F_OK), -1);	/* no temporary left */
	if (nm_atomic_write(path, "", 0, 0600, err) < 0)
		fail_msg("%s", err);
	expect_text(path, "");
	assert_int_equal(nm_atomic_remove(path, err), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(nm_atomic_remove(path, err), 0);	/* gone: fine */
}

/* A failure leaves the old file as it was and says which file. */
static void test_failure_keeps_old(void **state)
{
	char path[128], sub[128], err[NM_ERRLEN] = "";

	(void)state;
	snprintf(path, sizeof(path), "%s/keep", tmpdir);
	assert_int_equal(nm_atomic_write(path, "old", 3, 0600, err), 0);
	/* a directory where the file should be: rename fails */
	snprintf(sub, sizeof(sub), "%s/dir", tmpdir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(nm_atomic_write(sub, "new", 3, 0600, err), -1);
	assert_non_null(strstr(err, sub));
	snprintf(sub, sizeof(sub), "%s/missing/file", tmpdir);
	assert_int_equal(nm_atomic_write(sub, "new", 3, 0600, err), -1);
	assert_non_null(strstr(err, "missing/file.tmp"));
	expect_text(path, "old");
	assert_int_equal(nm_atomic_write("", "x", 1, 0600, err), -1);
	assert_non_null(strstr(err, "bad path"));
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_failure_keeps_old),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
