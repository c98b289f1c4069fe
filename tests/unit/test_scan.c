/* SPDX-License-Identifier: MIT */
/* The placement scan on live processes of this machine. */
#include "testutil.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/linux/scan.h"

#define MIB (1ul << 20)
#define HUGE (2ul << 20)

static void test_maps_line(void **state)
{
	struct nm_vma v;
	char err[NM_ERRLEN] = "";

	(void)state;
	assert_int_equal(nm_scan_maps_line(
		"7f0000000000-7f0000200000 rw-p 00000000 00:00 0 \n", &v, err),
		1);
	assert_int_equal(v.start, 0x7f0000000000ul);
	assert_int_equal(v.end, 0x7f0000200000ul);
	assert_false(v.file);
	assert_int_equal(nm_scan_maps_line(
		"55d0c0000000-55d0c0001000 r--p 00000000 08:01 1234   "
		"/usr/bin/cat\n", &v, err), 1);
	assert_true(v.file);
	assert_false(v.shmem);
	assert_int_equal(nm_scan_maps_line(
		"7f0000000000-7f0000400000 rw-s 00000000 00:01 77  "
		"/dev/zero (deleted)\n", &v, err), 1);
	assert_false(v.file);
	assert_true(v.shmem);
	assert_int_equal(nm_scan_maps_line(
		"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  "
		"[vsyscall]\n", &v, err), 0);
	assert_int_equal(nm_scan_maps_line(
		"7ffd000000-7ffd004000 r--p 00000000 00:00 0  [vvar]\n", &v,
		err), 0);
	assert_int_equal(nm_scan_maps_line(
		"7ffd000000-7ffd002000 r-xp 00000000 00:00 0  [vdso]\n", &v,
		err), 0);
	assert_int_equal(nm_scan_maps_line(
		"7f0000000000-7f0010000000 rw-s 100000000 00:05 9  "
		"/dev/nvidia0\n", &v, err), 0);
	assert_int_equal(nm_scan_maps_line(
		"7f0000000000-7f0000001000 rw-s 00000000 00:19 9  "
		"/dev/shm/job\n", &v, err), 1);
	assert_false(v.file);
	assert_true(v.shmem);
	assert_int_equal(nm_scan_maps_line(
		"7f0000000000-7f0000001000 rw-s 00000000 00:01 1025  "
		"/memfd:buf (deleted)\n", &v, err), 1);
	assert_false(v.file);
	assert_true(v.shmem);
	assert_int_equal(nm_scan_maps_line(
		"7f0000000000-7f0000001000 rw-s 00000000 00:01 32768  "
		"/SYSV00000000 (deleted)\n", &v, err), 1);
	assert_false(v.file);
	assert_true(v.shmem);
	assert_true(v.shared);
	assert_int_equal(nm_scan_maps_line(
		"7f0000000000-7f0000001000 rw-p 00000000 00:19 9  "
		"/dev/shm/job\n", &v, err), 1);
	assert_false(v.shared);
	assert_int_equal(nm_scan_maps_line("garbage\n", &v, err), -1);
	assert_non_null(strstr(err, "malformed"));
	assert_int_equal(nm_scan_maps_line(
		"2000-1000 rw-p 00000000 00:00 0\n", &v, err), -1);
}

struct child {
	pid_t pid;
	int up[2], down[2];
	uintptr_t k4, thp, untouched, shm, zero;
};

/*
 * A child with 16 MiB 4K, 8 MiB THP, 4 MiB untouched, 4 MiB shared and
 * 4 MiB only read (the zero page).
 */
static void start_child(struct child *c)
{
	char *shm = mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	assert_true(shm != MAP_FAILED);
	memset(shm, 7, 4 * MIB);
	assert_int_equal(pipe(c->up), 0);
	assert_int_equal(pipe(c->down), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		uintptr_t a[5];
		char *k4 = mmap(NULL, 16 * MIB, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *raw = mmap(NULL, 8 * MIB + HUGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *thp = (char *)(((uintptr_t)raw + HUGE - 1) &
				     ~(HUGE - 1));
		char *un = mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *zero = mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		volatile char sink = 0;
		char cmd;

		madvise(k4, 16 * MIB, MADV_NOHUGEPAGE);
		madvise(thp, 8 * MIB, MADV_HUGEPAGE);
		memset(k4, 1, 16 * MIB);
		memset(thp, 2, 8 * MIB);
		madvise(zero, 4 * MIB, MADV_NOHUGEPAGE);
		for (size_t o = 0; o < 4 * MIB; o += 4096)
			sink += shm[o] + zero[o];
		(void)sink;
		a[0] = (uintptr_t)k4;
		a[1] = (uintptr_t)thp;
		a[2] = (uintptr_t)un;
		a[3] = (uintptr_t)shm;
		a[4] = (uintptr_t)zero;
		if (write(c->up[1], a, sizeof(a)) != sizeof(a))
			_exit(1);
		/* 'u': unmap the first MiB of the 4K region, then wait */
		while (read(c->down[0], &cmd, 1) == 1) {
			if (cmd == 'u')
				munmap(k4, MIB);
			if (write(c->up[1], "k", 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	{
		uintptr_t a[5];

		assert_int_equal(read(c->up[0], a, sizeof(a)), sizeof(a));
		c->k4 = a[0];
		c->thp = a[1];
		c->untouched = a[2];
		c->shm = a[3];
		c->zero = a[4];
	}
}

static void stop_child(struct child *c)
{
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	close(c->up[0]);
	close(c->up[1]);
	close(c->down[0]);
	close(c->down[1]);
}

/* Pages of @s in [a, a+len), and those with all of @flags. */
static uint64_t pages_in(const struct nm_scan *s, uintptr_t a, size_t len,
			 uint16_t flags, uint64_t *with)
{
	uint64_t n = 0;

	*with = 0;
	for (size_t i = 0; i < s->nruns; i++) {
		const struct nm_run *r = &s->runs[i];

		for (uint32_t j = 0; j < r->npages; j++) {
			uintptr_t p = r->start + (uintptr_t)j * 4096;

			if (p >= a && p < a + len) {
				n++;
				if ((r->flags & flags) == flags)
					(*with)++;
			}
		}
	}
	return n;
}

static void check_consistent(const struct nm_scan *s)
{
	uint64_t total = 0, per = 0;

	for (size_t i = 0; i < s->nruns; i++) {
		total += s->runs[i].npages;
		assert_true(s->runs[i].npages > 0);
		assert_true(s->runs[i].node >= 0);
		if (i)
			assert_true(s->runs[i].start >= s->runs[i - 1].start +
				    (uintptr_t)s->runs[i - 1].npages * 4096);
	}
	for (int n = 0; n < NM_MAX_NODES; n++)
		per += s->pages_per_node[n];
	assert_int_equal(total, per);
}

/*
 * The pages a read of 4 MiB of untouched anonymous memory gives: none when
 * the kernel maps its shared zero page (nobody's memory), 1024 when it
 * gives each read fault a page of its own (as some kernels do), which are
 * memory like any other.  Told by kpageflags, as root.
 */
static uint64_t pages_of_read_only(void)
{
	uint64_t e = 0, f = 0, pfn;
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	int kpf = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	volatile char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(pm >= 0 && kpf >= 0 && p != MAP_FAILED);
	madvise((void *)p, 4096, MADV_NOHUGEPAGE);
	(void)p[0];
	assert_int_equal(pread(pm, &e, 8, (off_t)((uintptr_t)p / 4096 * 8)), 8);
	pfn = e & ((UINT64_C(1) << 55) - 1);
	assert_true(e >> 63 && pfn);
	assert_int_equal(pread(kpf, &f, 8, (off_t)(pfn * 8)), 8);
	munmap((void *)p, 4096);
	close(pm);
	close(kpf);
	if (f & (UINT64_C(1) << 24))	/* KPF_ZERO_PAGE */
		return 0;
	print_message("  note: this kernel gives a read fault its own page, "
		      "not the zero page\n");
	return 1024;
}

static void need_root(void)
{
	if (geteuid() != 0)
		skip();	/* pagemap PFNs need CAP_SYS_ADMIN; shown as SKIPPED */
}

static void test_scan_regions(void **state)
{
	struct child c;
	struct nm_scan s[2];
	char err[NM_ERRLEN] = "";
	uint64_t n, w, read_only;

	(void)state;
	need_root();
	read_only = pages_of_read_only();
	start_child(&c);
	for (int m = 0; m < 2; m++) {
		enum nm_scan_method meth = m ? NM_SCAN_MOVE_PAGES :
					       NM_SCAN_PAGEMAP;

		if (nm_scan_process(c.pid, meth, &s[m], err) < 0)
			fail_msg("scan: %s", err);
		assert_int_equal(s[m].method, meth);
		check_consistent(&s[m]);
		n = pages_in(&s[m], c.k4, 16 * MIB, 0, &w);
		assert_int_equal(n, 4096);
		pages_in(&s[m], c.k4, 16 * MIB, NM_RUN_THP, &w);
		assert_int_equal(w, 0);
		n = pages_in(&s[m], c.thp, 8 * MIB, NM_RUN_THP, &w);
		assert_int_equal(n, 2048);
		assert_int_equal(w, 2048);
		n = pages_in(&s[m], c.untouched, 4 * MIB, 0, &w);
		assert_int_equal(n, 0);
		/* Read only: the zero page is nobody's memory. */
		n = pages_in(&s[m], c.zero, 4 * MIB, 0, &w);
		assert_int_equal(n, read_only);
		n = pages_in(&s[m], c.shm, 4 * MIB, NM_RUN_SHARED, &w);
		assert_int_equal(n, 1024);
		assert_int_equal(w, 1024);
		pages_in(&s[m], c.k4, 16 * MIB, NM_RUN_SHARED, &w);
		assert_int_equal(w, 0);
		/* Shared anonymous memory is shmem, never a file's cache. */
		pages_in(&s[m], c.shm, 4 * MIB, NM_RUN_SHMEM, &w);
		assert_int_equal(w, 1024);
		pages_in(&s[m], c.shm, 4 * MIB, NM_RUN_FILE, &w);
		assert_int_equal(w, 0);
		pages_in(&s[m], c.k4, 16 * MIB, NM_RUN_SHMEM, &w);
		assert_int_equal(w, 0);
	}
	/* THP runs are whole, aligned folios. */
	for (size_t i = 0; i < s[0].nruns; i++) {
		const struct nm_run *r = &s[0].runs[i];

		if (r->start >= c.thp && r->start < c.thp + 8 * MIB) {
			assert_true(r->flags & NM_RUN_THP);
			assert_int_equal(r->npages, 512);
			assert_int_equal(r->start % HUGE, 0);
		}
	}
	nm_scan_release(&s[0]);
	nm_scan_release(&s[1]);
	stop_child(&c);
}

static uint64_t sum(const uint64_t *per_node)
{
	uint64_t n = 0;

	for (int i = 0; i < NM_MAX_NODES; i++)
		n += per_node[i];
	return n;
}

/*
 * Runs only on the nodes asked for: an anonymous page elsewhere is only
 * counted (the zero page not at all), a file's page still gets its run,
 * and asking for every node is the plain scan.
 */
static void test_scan_run_nodes(void **state)
{
	struct child c;
	struct nm_scan all, none, every;
	bool no[NM_MAX_NODES] = { false }, yes[NM_MAX_NODES];
	char err[NM_ERRLEN] = "";
	uint64_t w;

	(void)state;
	need_root();
	for (int i = 0; i < NM_MAX_NODES; i++)
		yes[i] = true;
	start_child(&c);
	if (nm_scan_process(c.pid, NM_SCAN_PAGEMAP, &all, err) < 0 ||
	    nm_scan_process_on(c.pid, NM_SCAN_PAGEMAP, NM_SCAN_ANY_UID, no,
			       &none, err) < 0 ||
	    nm_scan_process_on(c.pid, NM_SCAN_PAGEMAP, NM_SCAN_ANY_UID, yes,
			       &every, err) < 0)
		fail_msg("scan: %s", err);
	check_consistent(&none);
	assert_int_equal(pages_in(&none, c.k4, 16 * MIB, 0, &w), 0);
	assert_int_equal(pages_in(&none, c.thp, 8 * MIB, 0, &w), 0);
	assert_int_equal(pages_in(&none, c.shm, 4 * MIB, 0, &w), 0);
	assert_true(sum(none.counted_per_node) >= 4096 + 2048 + 1024);
	/* Every page of the plain scan, counted or in a run: no zero page */
	assert_int_equal(sum(none.counted_per_node) + sum(none.pages_per_node),
			 sum(all.pages_per_node));
	assert_int_equal(sum(every.counted_per_node), 0);
	assert_int_equal(pages_in(&every, c.k4, 16 * MIB, 0, &w), 4096);
	assert_int_equal(pages_in(&every, c.thp, 8 * MIB, NM_RUN_THP, &w),
			 2048);
	assert_int_equal(w, 2048);
	assert_int_equal(pages_in(&every, c.zero, 4 * MIB, 0, &w),
			 pages_of_read_only());
	assert_int_equal(sum(every.pages_per_node), sum(all.pages_per_node));
	nm_scan_release(&all);
	nm_scan_release(&none);
	nm_scan_release(&every);
	stop_child(&c);
}

/* The rule: an unprivileged caller's scan leaves others' shared out. */
static void test_skip_rule(void **state)
{
	struct nm_vma shared = { .start = 0x1000, .end = 0x2000,
				 .shmem = true, .shared = true };
	struct nm_vma private = { .start = 0x1000, .end = 0x2000 };
	struct nm_vma file = { .start = 0x1000, .end = 0x2000, .file = true,
			       .shared = true };

	(void)state;
	/* Privileged (root's, the Slurm user's) scans: everything. */
	assert_false(nm_scan_skips(&shared, 0, NM_SCAN_ANY_UID));
	assert_false(nm_scan_skips(&shared, (uid_t)-1, NM_SCAN_ANY_UID));
	/* The caller's own shared memory moves; another's does not. */
	assert_false(nm_scan_skips(&shared, 1000, 1000));
	assert_true(nm_scan_skips(&shared, 0, 1000));
	assert_true(nm_scan_skips(&shared, 1001, 1000));
	/* An owner nobody can tell is not the caller. */
	assert_true(nm_scan_skips(&shared, (uid_t)-1, 1000));
	/* hugetlbfs and other files mapped shared: the same rule. */
	assert_true(nm_scan_skips(&file, 0, 1000));
	/* Private mappings (copy-on-write) are the caller's own pages. */
	assert_false(nm_scan_skips(&private, 0, 1000));
}

/*
 * A live scan for a caller who does not own a process's shared memory:
 * the anonymous shared region (root's, created before the fork) and a
 * /dev/shm file owned by uid 4242 are left out and listed with their
 * resident pages; the caller's own (4242) /dev/shm file is scanned.
 */
static void test_scan_skips_others(void **state)
{
	struct child c;
	struct nm_scan s;
	char err[NM_ERRLEN] = "", name[64];
	uint64_t n, w;
	char *f;
	int fd;

	(void)state;
	need_root();
	start_child(&c);
	snprintf(name, sizeof(name), "/dev/shm/nm-test-scan.%d", (int)getpid());
	fd = open(name, O_RDWR | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)MIB), 0);
	assert_int_equal(fchown(fd, 4242, 4242), 0);
	f = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(f != MAP_FAILED);
	memset(f, 5, MIB);
	/* Root's scan and the owner's: nothing left out. */
	if (nm_scan_process_for(c.pid, NM_SCAN_AUTO, NM_SCAN_ANY_UID, &s,
				err) < 0)
		fail_msg("scan: %s", err);
	assert_int_equal(s.nskipped, 0);
	assert_int_equal(pages_in(&s, c.shm, 4 * MIB, 0, &w), 1024);
	nm_scan_release(&s);
	if (nm_scan_process_for(c.pid, NM_SCAN_AUTO, 0, &s, err) < 0)
		fail_msg("scan: %s", err);
	assert_int_equal(s.nskipped, 0);
	nm_scan_release(&s);
	/* uid 4243: the shared anonymous region is root's, left out. */
	if (nm_scan_process_for(c.pid, NM_SCAN_AUTO, 4243, &s, err) < 0)
		fail_msg("scan: %s", err);
	assert_int_equal(pages_in(&s, c.shm, 4 * MIB, 0, &w), 0);
	n = pages_in(&s, c.k4, 16 * MIB, 0, &w);
	assert_int_equal(n, 4096);
	assert_int_equal(s.nskipped, 1);
	assert_int_equal(s.skipped[0].start, c.shm);
	assert_int_equal(s.skipped[0].owner, 0);
	assert_int_equal(s.skipped[0].pages, 1024);
	assert_int_equal(s.pages_skipped, 1024);
	assert_non_null(strstr(s.skipped[0].path, "/dev/zero"));
	nm_scan_release(&s);
	assert_null(s.skipped);
	/* This process's /dev/shm file: 4242's, moved for 4242 only. */
	if (nm_scan_process_for(getpid(), NM_SCAN_AUTO, 4242, &s, err) < 0)
		fail_msg("scan: %s", err);
	assert_int_equal(pages_in(&s, (uintptr_t)f, MIB, NM_RUN_SHMEM, &w),
			 256);
	for (size_t i = 0; i < s.nskipped; i++)
		assert_true(s.skipped[i].start != (uintptr_t)f);
	nm_scan_release(&s);
	if (nm_scan_process_for(getpid(), NM_SCAN_AUTO, 4243, &s, err) < 0)
		fail_msg("scan: %s", err);
	assert_int_equal(pages_in(&s, (uintptr_t)f, MIB, 0, &w), 0);
	n = 0;
	for (size_t i = 0; i < s.nskipped; i++)
		if (s.skipped[i].start == (uintptr_t)f) {
			n++;
			assert_int_equal(s.skipped[i].owner, 4242);
			assert_int_equal(s.skipped[i].pages, 256);
			assert_string_equal(s.skipped[i].path, name);
		}
	assert_int_equal(n, 1);
	nm_scan_release(&s);
	munmap(f, MIB);
	close(fd);
	unlink(name);
	stop_child(&c);
}

static void test_scan_errors(void **state)
{
	struct nm_scan s;
	char err[NM_ERRLEN] = "";
	pid_t dead = fork();

	(void)state;
	assert_true(dead >= 0);
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	assert_int_equal(nm_scan_process(dead, NM_SCAN_AUTO, &s, err), -1);
	assert_non_null(strstr(err, "no such process"));
	assert_null(s.runs);
	assert_int_equal(nm_scan_process(0, NM_SCAN_AUTO, &s, err), -1);
	assert_non_null(strstr(err, "invalid pid"));
	assert_int_equal(nm_scan_process(getpid(), (enum nm_scan_method)9, &s,
					 err), -1);
	assert_non_null(strstr(err, "unknown method"));
}

static void test_scan_self(void **state)
{
	struct nm_scan s;
	char err[NM_ERRLEN] = "";
	char *m = mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t n, w;

	(void)state;
	assert_true(m != MAP_FAILED);
	madvise(m, 4 * MIB, MADV_NOHUGEPAGE);
	memset(m, 3, 2 * MIB);	/* only half is resident */
	if (nm_scan_process(getpid(), NM_SCAN_AUTO, &s, err) < 0)
		fail_msg("scan: %s", err);
	check_consistent(&s);
	n = pages_in(&s, (uintptr_t)m, 4 * MIB, 0, &w);
	assert_int_equal(n, 512);
	nm_scan_release(&s);
	munmap(m, 4 * MIB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps_line),
		cmocka_unit_test(test_scan_regions),
		cmocka_unit_test(test_scan_run_nodes),
		cmocka_unit_test(test_skip_rule),
		cmocka_unit_test(test_scan_skips_others),
		cmocka_unit_test(test_scan_errors),
		cmocka_unit_test(test_scan_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
