/* SPDX-License-Identifier: MIT */
/*
 * numamigrated's configuration file: values over the defaults, the first
 * error with its line, lines inih would cut, and a bad file changing
 * nothing.
 */
#include "testutil.h"

#include <fcntl.h>
#include <syslog.h>
#include <unistd.h>

#include "helper/site/conf.h"

static int load(struct nm_config *c, const char *text, char *err)
{
	return nm_config_load_string(c, "t.conf", text, strlen(text), err);
}

/* @text fails with @needle in its message, and @c does not change. */
static void expect_error(const char *text, const char *needle)
{
	struct nm_config c, before;
	char err[NM_ERRLEN] = "";

	nm_config_defaults(&c);
	assert_int_equal(load(&c, "[move]\nthreads = 8\n", err), 0);
	memcpy(&before, &c, sizeof(c));
	if (load(&c, text, err) == 0)
		fail_msg("'%s' loaded", text);
	if (!strstr(err, needle))
		fail_msg("'%s': '%s' lacks '%s'", text, err, needle);
	assert_null(strchr(err, '\n'));
	assert_memory_equal(&c, &before, sizeof(c));
}

static void test_values(void **state)
{
	struct nm_config c;
	char err[NM_ERRLEN] = "";

	(void)state;
	nm_config_defaults(&c);
	assert_int_equal(load(&c, "; a comment\n[daemon]\r\n"
			      "socket = /tmp/x.sock\nsocket_mode = 0600\n"
			      "log_level = debug\n[move]\nthreads = 4\n"
			      "engine = syscall\nfreeze_timeout = 2\n"
			      "[tcp]\nport = 7000\n", err), 0);
	assert_string_equal(c.socket, "/tmp/x.sock");
	assert_int_equal(c.socket_mode, 0600);
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_int_equal(c.threads, 4);
	assert_int_equal(c.engine, NM_ENGINE_SYSCALL);
	assert_int_equal(c.freeze_timeout_ms, 2000);
	assert_int_equal(c.tcp_port, 7000);
	/* a live move's mode and bounds */
	assert_int_equal(c.mode, NM_MODE_FROZEN);
	assert_int_equal(load(&c, "[move]\nmode = live\nlive_threshold = 8M\n"
			      "live_share = 5\nlive_passes = 3\n"
			      "live_timeout = 20\n", err), 0);
	assert_int_equal(c.mode, NM_MODE_LIVE);
	assert_true(c.live_threshold == 8ULL << 20);
	assert_int_equal(c.live_share_pct, 5);
	assert_int_equal(c.live_passes, 3);
	assert_int_equal(c.live_timeout_ms, 20000);
	/* how a preemptor's epilog restores: frozen unless set */
	assert_int_equal(c.restore_mode, NM_MODE_FROZEN);
	assert_int_equal(load(&c, "[slurm]\nrestore_mode = live\n", err), 0);
	assert_int_equal(c.restore_mode, NM_MODE_LIVE);
	/* a test's delay that ends once a file is gone: an absolute path */
	assert_int_equal(load(&c, "[testing]\ndelay_ms = 9000\n"
			      "delay_file = /run/hold\n", err), 0);
	assert_string_equal(c.test_delay_file, "/run/hold");
	assert_int_equal(load(&c, "[testing]\ndelay_file = run/hold\n", err),
			 -1);
	assert_string_equal(c.test_delay_file, "/run/hold");
	/* untouched keys keep their defaults */
	assert_string_equal(c.journal_dir, NM_DEFAULT_JOURNAL);
	assert_int_equal(c.max_clients, 64);
	/* a later load goes over the earlier one */
	assert_int_equal(load(&c, "[move]\nthreads = 2\n", err), 0);
	assert_int_equal(c.threads, 2);
	assert_int_equal(c.tcp_port, 7000);
}

/* A bad file leaves the settings as they were, even its good lines. */
static void test_bad_changes_nothing(void **state)
{
	char line[400];

	(void)state;
	expect_error("[move]\nthreads = 3\nfreeze_timeout = 0\n",
		     "t.conf: line 3: freeze_timeout = '0'");
	expect_error("[move]\nthreads = 3\n[nowhere]\nx = 1\n",
		     "line 4: unknown section");
	expect_error("[daemon]\nsocket = /a\nsocket = relative\n",
		     "line 3: socket = 'relative': expected an absolute path");
	expect_error("[daemon]\nmax_clients = 9\nslurm_user = nm-no-such\n",
		     "slurm_user 'nm-no-such' does not exist");
	expect_error("[move]\nmode = lively\n", "expected frozen or live");
	expect_error("[slurm]\nrestore_mode = default\n",
		     "expected frozen or live");
	expect_error("[move]\nlive_share = 101\n", "live_share");
	expect_error("[move]\nlive_passes = 0\n", "live_passes");
	expect_error("[move]\nlive_threshold = 1.5G\n", "live_threshold");
	expect_error("[move]\nthreads = 3\nthreads\n",
		     "line 3: not 'key = value'");
	/* the first error wins, a syntax error or a bad value */
	expect_error("[move]\njunk\nthreads = -1\n", "line 2: not 'key");
	expect_error("[move]\nthreads = -1\njunk\n", "line 2: threads");
	/* a long line is refused, never cut into a shorter value */
	snprintf(line, sizeof(line), "[daemon]\nsocket = /%0300d\n", 0);
	expect_error(line, "line 2: longer than");
	snprintf(line, sizeof(line), "[daemon]\nsocket = /x%0250d\n; y\n", 0);
	expect_error(line, "line 2: longer than");
}

static void test_nul(void **state)
{
	static const char text[] = "[daemon]\nsocket = /a\0b\n";
	struct nm_config c, before;
	char err[NM_ERRLEN] = "";

	(void)state;
	nm_config_defaults(&c);
	memcpy(&before, &c, sizeof(c));
	assert_int_equal(nm_config_load_string(&c, "t.conf", text,
					       sizeof(text) - 1, err), -1);
	assert_non_null(strstr(err, "line 2: holds a NUL byte"));
	assert_memory_equal(&c, &before, sizeof(c));
}

/* The file reader is the same code on a file's bytes. */
static void test_file(void **state)
{
	char path[] = "/tmp/nm-config-XXXXXX", err[NM_ERRLEN] = "";
	struct nm_config c, before;
	int fd;

	(void)state;
	nm_config_defaults(&c);
	memcpy(&before, &c, sizeof(c));
	assert_int_equal(nm_config_load(&c, "/nonexistent/nm.conf", false,
					err), 0);
	assert_memory_equal(&c, &before, sizeof(c));
	assert_int_equal(nm_config_load(&c, "/nonexistent/nm.conf", true,
					err), -1);
	assert_memory_equal(&c, &before, sizeof(c));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[move]\nthreads = 5\nbad = 1\n", 27), 27);
	close(fd);
	assert_int_equal(nm_config_load(&c, path, true, err), -1);
	assert_non_null(strstr(err, ": line 3: [move]: unknown key 'bad'"));
	assert_memory_equal(&c, &before, sizeof(c));
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[move]\nthreads = 5\n", 19), 19);
	close(fd);
	assert_int_equal(nm_config_load(&c, path, true, err), 0);
	assert_int_equal(c.threads, 5);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_bad_changes_nothing),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
