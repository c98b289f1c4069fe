/* SPDX-License-Identifier: MIT */
/*
 * The cpuset journal: what a move widened is put back by a restarted
 * daemon, job cpusets first, then ancestors; bad files are refused with
 * one line and kept.  Scratch directories stand in for cgroups (the
 * writer only needs a cpuset.mems file to write).
 */
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "helper/daemon/cpuset_journal.h"
#include "helper/daemon/journal.h"
#include "lib/base/file.h"

static char dir[64], cg[64];

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void mems_of(const char *cgdir, char *out, size_t len)
{
	char path[256];
	size_t n;
	char *s;

	snprintf(path, sizeof(path), "%s/cpuset.mems", cgdir);
	s = nm_read_file(path, 4096, &n);
	assert_non_null(s);
	snprintf(out, len, "%.*s", (int)strcspn(s, "\n"), s);
	free(s);
}

static int setup(void **state)
{
	char err[NM_ERRLEN], path[256];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/nm-cpj-XXXXXX");
	snprintf(cg, sizeof(cg), "/tmp/nm-cpj-cg-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_non_null(mkdtemp(cg));
	assert_int_equal(nm_journal_init(dir, err), 0);
	/* An ancestor and the job's cpuset below it, both widened to 0-3. */
	snprintf(path, sizeof(path), "%s/job", cg);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/cpuset.mems", cg);
	write_text(path, "0-3\n");
	snprintf(path, sizeof(path), "%s/job/cpuset.mems", cg);
	write_text(path, "0-3\n");
	return 0;
}

static int teardown(void **state)
{
	char cmd[200];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, cg);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* The job's cpuset had 0-1, its ancestor 0-1,3. */
static void two_cpusets(struct nm_cpusets *c, struct nm_cpuset *set)
{
	char err[NM_ERRLEN];

	memset(c, 0, sizeof(*c));
	memset(set, 0, 2 * sizeof(*set));
	snprintf(set[0].dir, sizeof(set[0].dir), "%s/job", cg);
	assert_int_equal(nm_list_parse("0-1", &set[0].orig, NM_BITMAP_BITS,
				       0, "mems", err), 0);
	snprintf(set[1].dir, sizeof(set[1].dir), "%s", cg);
	assert_int_equal(nm_list_parse("0-1,3", &set[1].orig,
				       NM_BITMAP_BITS, 0, "mems", err), 0);
	set[1].ancestor = true;
	c->set = set;
	c->n = 2;
	c->nleaves = 1;
}

/* A daemon that died with the cpusets widened: restart narrows them. */
static void test_recover_puts_back(void **state)
{
	struct nm_cpuset_journal j;
	struct nm_cpuset set[2];
	struct nm_cpusets c;
	char err[NM_ERRLEN], mems[64], path[256];

	(void)state;
	two_cpusets(&c, set);
	assert_int_equal(nm_cpuset_journal_begin(&j, dir, 7, &c, err), 0);
	assert_int_equal(count_files_in(dir), 1);
	assert_int_equal(nm_cpuset_journal_recover(dir, err), 1);
	mems_of(set[0].dir, mems, sizeof(mems));
	assert_string_equal(mems, "0-1");
	mems_of(cg, mems, sizeof(mems));
	assert_string_equal(mems, "0-1,3");
	assert_int_equal(count_files_in(dir), 0);

	/* Narrowed in time: the record goes, nothing to put back. */
	assert_int_equal(nm_cpuset_journal_begin(&j, dir, 8, &c, err), 0);
	assert_int_equal(nm_cpuset_journal_finish(&j, err), 0);
	assert_int_equal(nm_cpuset_journal_recover(dir, err), 0);

	/* A cpuset gone with its job: nothing to do, the record goes. */
	set[0].orig = set[1].orig;
	snprintf(set[0].dir, sizeof(set[0].dir), "%s/ended", cg);
	assert_int_equal(nm_cpuset_journal_begin(&j, dir, 9, &c, err), 0);
	assert_int_equal(nm_cpuset_journal_recover(dir, err), 1);
	assert_int_equal(count_files_in(dir), 0);

	/* One that cannot be written stays, for an administrator. */
	snprintf(set[0].dir, sizeof(set[0].dir), "%s/broken", cg);
	snprintf(path, sizeof(path), "%s/broken/cpuset.mems", cg);
	assert_int_equal(mkdir(set[0].dir, 0700), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(nm_cpuset_journal_begin(&j, dir, 10, &c, err), 0);
	assert_int_equal(nm_cpuset_journal_recover(dir, err), 1);
	assert_int_equal(count_files_in(dir), 1);
	unlink(j.path);
}

static void parse_fails(const char *text, const char *want)
{
	struct nm_cpusets c;
	char err[NM_ERRLEN] = "";

	assert_int_equal(nm_cpuset_journal_parse(text, strlen(text), &c,
						 err), -1);
	print_message("%s -> %s\n", text, err);
	assert_non_null(strstr(err, want));
	assert_null(strchr(err, '\n'));
	assert_null(c.set);
}

static void test_parse(void **state)
{
	const char *ok = "{\"version\":1,\"cpusets\":["
		"{\"dir\":\"/sys/fs/cgroup/a/b\",\"mems\":\"2-3\","
		"\"ancestor\":false},"
		"{\"dir\":\"/sys/fs/cgroup/a\",\"mems\":\"0-3\","
		"\"ancestor\":true}]}";
	struct nm_cpusets c;
	char err[NM_ERRLEN];

	(void)state;
	assert_int_equal(nm_cpuset_journal_parse(ok, strlen(ok), &c, err), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.nleaves, 1);
	assert_string_equal(c.set[1].dir, "/sys/fs/cgroup/a");
	assert_true(nm_bitmap_test(&c.set[0].orig, 2));
	assert_false(nm_bitmap_test(&c.set[0].orig, 1));
	nm_cpusets_release(&c);

	parse_fails("", "not a cpuset journal");
	parse_fails("{\"version\":2,\"cpusets\":[]}", "not a cpuset journal");
	parse_fails("{\"version\":1,\"cpusets\":[]}", "want 1 to");
	parse_fails("{\"version\":1,\"cpusets\":[{\"dir\":\"a\","
		    "\"mems\":\"0\",\"ancestor\":false}]}",
		    "not a cgroup directory");
	parse_fails("{\"version\":1,\"cpusets\":[{\"dir\":\"/a/../b\","
		    "\"mems\":\"0\",\"ancestor\":false}]}",
		    "not a cgroup directory");
	parse_fails("{\"version\":1,\"cpusets\":[{\"dir\":\"/a\","
		    "\"mems\":\"\",\"ancestor\":false}]}", "cpuset 0: ");
	parse_fails("{\"version\":1,\"cpusets\":[{\"dir\":\"/a\","
		    "\"mems\":\"0-1\"}]}", "want \"dir\"");
	parse_fails("{\"version\":1,\"cpusets\":["
		    "{\"dir\":\"/a\",\"mems\":\"0\",\"ancestor\":true},"
		    "{\"dir\":\"/a/b\",\"mems\":\"0\",\"ancestor\":false}]}",
		    "after an ancestor");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_recover_puts_back, setup,
						teardown),
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
