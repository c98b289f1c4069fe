/* SPDX-License-Identifier: MIT */
/*
 * numamigrated's log looks for a syslog daemon before handing it lines
 * (helper/daemon/log.c): nm_log_socket_listens says whether one takes
 * messages on a Unix socket, of either type glibc's syslog uses.
 */
#include "testutil.h"

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "helper/daemon/log.h"

static char dir[] = "/tmp/nm-test-log.XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[64];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A socket of @type bound at @name in the test's directory; its fd. */
static int bound(int type, const char *name, char *path, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type, 0);

	snprintf(path, size, "%s/%s", dir, name);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(fd, 1), 0);
	return fd;
}

static void test_datagram(void **state)
{
	char path[256];
	int fd = bound(SOCK_DGRAM, "dgram", path, sizeof(path));

	(void)state;
	assert_true(nm_log_socket_listens(path));
	close(fd);
	/* Its reader gone, the name left behind: nobody takes messages. */
	assert_false(nm_log_socket_listens(path));
}

static void test_stream(void **state)
{
	char path[256];
	int fd = bound(SOCK_STREAM, "stream", path, sizeof(path));

	(void)state;
	assert_true(nm_log_socket_listens(path));
	close(fd);
	assert_false(nm_log_socket_listens(path));
}

static void test_absent(void **state)
{
	char path[256], longer[200];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/none", dir);
	assert_false(nm_log_socket_listens(path));
	snprintf(path, sizeof(path), "%s/file", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_false(nm_log_socket_listens(path));
	/* Longer than a socket address holds. */
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_false(nm_log_socket_listens(longer));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_datagram),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_absent),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
