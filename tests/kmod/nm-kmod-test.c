/* SPDX-License-Identifier: MIT */
/*
 * nm-kmod-test: functional test and benchmark of kmod/numamigrate.ko, run
 * as root inside a multi-node guest (tests/vm/kmod.test) with the module
 * and, for the DMA cases, kmod/test/nm_dmatest_provider.ko loaded.
 *
 *   nm-kmod-test [--mb N] [--bench-mb N] [--src NODE] [--dst NODE]
 *                [--threads N] [--no-dma] [--no-bench] [--rounds N]
 *                [--fuzz-seed N] [--fuzz-iterations N] [--fuzz-only]
 *   nm-kmod-test --no-channel   (DMA requests with no provider loaded)
 *
 * After the fixed malformed requests, a randomized ioctl fuzz phase
 * (case_fuzz): --fuzz-iterations requests (default 4000, 0: none) from a
 * PRNG seeded with --fuzz-seed (default: time and pid; the seed is
 * printed, and seed + iterations reproduce a run).  --fuzz-only runs the
 * fuzz phase alone.
 *
 * Exit status: 0 all passed, 1 a check failed, 99 could not run.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <numa.h>
#include <numaif.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helper/engine/kmod_client.h"

#define PROVIDER "/sys/module/nm_dmatest_provider/parameters/"
#define MODPARAM "/sys/module/numamigrate/parameters/"

static long pagesz;
static int src_node = 0, dst_node = 2, max_threads = 2;
static size_t test_mb = 16, bench_mb = 64;
static int do_dma = 1, do_bench = 1, bench_rounds = 3, only_nochan;
static int failures;
static struct nm_kmod_client kc;

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		printf("FAIL %s:%d: ", __func__, __LINE__);		\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		failures++;						\
	}								\
} while (0)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t pat(size_t page, size_t word, uint64_t seed)
{
	return (seed * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)page << 24) ^ word;
}

static void fill(char *buf, size_t npages, uint64_t seed)
{
	size_t p, w, words = pagesz / 8;

	for (p = 0; p < npages; p++) {
		uint64_t *q = (uint64_t *)(buf + p * pagesz);

		for (w = 0; w < words; w++)
			q[w] = pat(p, w, seed);
	}
}

/* Returns the number of pages whose content is wrong. */
static size_t verify_data(const char *buf, size_t npages, uint64_t seed)
{
	size_t p, w, words = pagesz / 8, bad = 0;

	for (p = 0; p < npages; p++) {
		const uint64_t *q = (const uint64_t *)(buf + p * pagesz);

		for (w = 0; w < words; w++) {
			if (q[w] != pat(p, w, seed)) {
				bad++;
				break;
			}
		}
	}
	return bad;
}

/*
 * Counts the pages of [buf, buf + npages) of @pid on @node.  Retries pages
 * that answer -ENOENT (NUMA balancing may have them unmapped for a moment).
 */
static size_t pages_on_node(pid_t pid, char *buf, size_t npages, int node,
			    int *first_bad)
{
	void **pages = calloc(npages, sizeof(*pages));
	int *status = calloc(npages, sizeof(*status));
	size_t i, on = 0;
	int try;

	*first_bad = 0;
	for (i = 0; i < npages; i++)
		pages[i] = buf + i * pagesz;
	for (try = 0; try < 5; try++) {
		int enoent = 0;

		if (move_pages(pid, npages, pages, NULL, status, 0) < 0) {
			perror("move_pages query");
			break;
		}
		on = 0;
		for (i = 0; i < npages; i++) {
			if (status[i] == node)
				on++;
			else if (status[i] == -ENOENT)
				enoent++;
			else if (!*first_bad)
				*first_bad = status[i] == 0 ? 1000 : status[i];
		}
		if (!enoent)
			break;
		usleep(10000);
	}
	free(pages);
	free(status);
	return on;
}

static char *alloc_on(size_t bytes, int node, int thp)
{
	char *buf = numa_alloc_onnode(bytes, node);

	if (!buf)
		return NULL;
	madvise(buf, bytes, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	return buf;
}

static int write_param(const char *path, long v)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "%ld\n", v);
	return fclose(f);
}

static int write_str(const char *path, const char *v)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(v, f);
	return fclose(f);
}

static long read_param(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int kmove(pid_t pid, void *addr, size_t bytes, int node, uint32_t mode,
		 uint32_t threads, uint32_t batch, struct nm_kmod_totals *tot,
		 struct nm_kmod_page_fail *fails, uint32_t max_fails)
{
	struct nm_kmod_range r = { .start = (uintptr_t)addr, .length = bytes };
	struct nm_kmod_move_opts o = {
		.node = node, .copy_mode = mode, .threads = threads,
		.batch_pages = batch,
	};
	char err[NM_KMOD_ERRLEN];
	int ret;

	ret = nm_kmod_move(&kc, pid, &r, 1, &o, fails, max_fails, tot, err);
	if (ret)
		printf("  move: %s\n", err);
	return ret;
}

/* ---- functional cases on our own memory -------------------------------- */

static void case_self(const char *name, uint32_t mode, uint32_t threads,
		      uint32_t batch, int thp, long fail_next, long hang_next)
{
	size_t bytes = test_mb << 20, npages = bytes / pagesz, on, bad;
	struct nm_kmod_totals tot;
	char *buf = alloc_on(bytes, src_node, thp);
	int fb;

	if (!buf) {
		CHECK(0, "%s: allocation failed", name);
		return;
	}
	fill(buf, npages, 7);
	on = pages_on_node(0, buf, npages, src_node, &fb);
	CHECK(on == npages, "%s: only %zu/%zu pages start on node %d",
	      name, on, npages, src_node);
	if (fail_next)
		write_param(PROVIDER "fail_next", fail_next);
	if (hang_next)
		write_param(PROVIDER "hang_next", hang_next);

	if (!kmove(0, buf, bytes, dst_node, mode, threads, batch, &tot,
		   NULL, 0)) {
		on = pages_on_node(0, buf, npages, dst_node, &fb);
		bad = verify_data(buf, npages, 7);
		printf("  %-28s moved %llu failed %llu skipped %llu threads %u dma %llu fallback %llu: %zu/%zu on node %d, %zu bad\n",
		       name, (unsigned long long)tot.moved,
		       (unsigned long long)tot.failed,
		       (unsigned long long)tot.skipped, tot.threads_used,
		       (unsigned long long)tot.dma_batches,
		       (unsigned long long)tot.dma_fallbacks, on, npages,
		       dst_node, bad);
		CHECK(tot.moved == npages && !tot.failed,
		      "%s: moved %llu failed %llu of %zu", name,
		      (unsigned long long)tot.moved,
		      (unsigned long long)tot.failed, npages);
		CHECK(on == npages, "%s: %zu/%zu on node %d (status %d)",
		      name, on, npages, dst_node, fb);
		CHECK(!bad, "%s: %zu pages with wrong data", name, bad);
		if (mode == NM_KMOD_COPY_DMA &&
		    !(kc.ver.caps & NM_KMOD_CAP_DMA_CHAN))
			CHECK(!tot.dma_batches && tot.dma_fallbacks == npages / 256,
			      "%s: dma %llu fallback %llu", name,
			      (unsigned long long)tot.dma_batches,
			      (unsigned long long)tot.dma_fallbacks);
		else if (mode == NM_KMOD_COPY_DMA && !fail_next && !hang_next)
			CHECK(tot.dma_batches > 0 && !tot.dma_fallbacks,
			      "%s: dma %llu fallback %llu", name,
			      (unsigned long long)tot.dma_batches,
			      (unsigned long long)tot.dma_fallbacks);
		if (fail_next || hang_next)
			CHECK(tot.dma_fallbacks > 0,
			      "%s: no fallback recorded", name);
		if (mode == NM_KMOD_COPY_CPU && threads)
			CHECK(tot.threads_used == threads,
			      "%s: %u threads used", name, tot.threads_used);
	} else {
		CHECK(0, "%s: move failed", name);
	}
	write_param(PROVIDER "fail_next", 0);
	write_param(PROVIDER "hang_next", 0);
	numa_free(buf, bytes);
}

/* Several VMAs, a hole, a file mapping, a partial fail array. */
static void case_vmas(void)
{
	size_t npg = 64, bytes = 5 * npg * pagesz;
	struct nm_kmod_page_fail fails[8];
	struct nm_kmod_range r[2];
	struct nm_kmod_move_opts o = { .node = dst_node };
	struct nm_kmod_totals tot;
	char err[NM_KMOD_ERRLEN], tmpl[] = "/tmp/nmkmodXXXXXX";
	char *base, *file;
	int fd, ret;

	/* the file first: it must not land in the hole punched below */
	fd = mkstemp(tmpl);
	if (fd < 0 || ftruncate(fd, 16 * pagesz)) {
		CHECK(0, "temp file");
		return;
	}
	unlink(tmpl);
	file = mmap(NULL, 16 * pagesz, PROT_READ | PROT_WRITE, MAP_SHARED,
		    fd, 0);
	if (file == MAP_FAILED) {
		CHECK(0, "file mmap");
		close(fd);
		return;
	}
	memset(file, 4, 16 * pagesz);

	/* [anon 64][hole 64][anon RO 64][anon untouched 64][anon 64] */
	base = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		CHECK(0, "mmap");
		return;
	}
	madvise(base, bytes, MADV_NOHUGEPAGE);
	memset(base, 1, npg * pagesz);
	munmap(base + npg * pagesz, npg * pagesz);
	memset(base + 2 * npg * pagesz, 2, npg * pagesz);
	mprotect(base + 2 * npg * pagesz, npg * pagesz, PROT_READ);
	memset(base + 4 * npg * pagesz, 3, npg * pagesz);

	r[0] = (struct nm_kmod_range){ .start = (uintptr_t)base,
				       .length = bytes };
	r[1] = (struct nm_kmod_range){ .start = (uintptr_t)file,
				       .length = 16 * pagesz };
	ret = nm_kmod_move(&kc, 0, r, 2, &o, fails, 8, &tot, err);
	CHECK(!ret, "multi-vma move: %s", err);
	printf("  %-28s r0 moved %llu failed %llu skipped %llu; r1 moved %llu failed %llu skipped %llu; %u fails, first %s\n",
	       "vmas+hole+file", (unsigned long long)r[0].moved,
	       (unsigned long long)r[0].failed,
	       (unsigned long long)r[0].skipped, (unsigned long long)r[1].moved,
	       (unsigned long long)r[1].failed,
	       (unsigned long long)r[1].skipped, tot.nr_fails,
	       tot.nr_fails ? nm_kmod_fail_reason(fails[0].reason) : "-");
	CHECK(r[0].moved == 3 * npg && r[0].failed == 0 &&
	      r[0].skipped == 2 * npg, "anon ranges counts");
	CHECK(r[1].moved + r[1].failed + r[1].skipped == 16, "file counts sum");
	CHECK(r[1].moved == 0, "shared file pages must not move");
	CHECK(r[1].failed == 16 && tot.nr_fails == 8 &&
	      fails[0].reason == NM_KMOD_FAIL_NOT_ANON &&
	      fails[0].addr == (uintptr_t)file && fails[0].node >= 0,
	      "file pages: failed %llu nr_fails %u reason %u",
	      (unsigned long long)r[1].failed, tot.nr_fails, fails[0].reason);
	CHECK(base[0] == 1 && base[2 * npg * pagesz] == 2 &&
	      base[4 * npg * pagesz] == 3 && file[0] == 4, "data after move");
	munmap(base, bytes);
	munmap(file, 16 * pagesz);
	close(fd);
}

/* A hugetlb VMA: reported per page as NM_KMOD_FAIL_VMA. */
static void case_hugetlb(void)
{
	struct nm_kmod_page_fail fails[4];
	struct nm_kmod_totals tot;
	size_t hp = 2 << 20;
	char *h;

	if (write_param("/proc/sys/vm/nr_hugepages", 2)) {
		printf("  hugetlb: cannot reserve, case not run\n");
		return;
	}
	h = mmap(NULL, hp, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (h == MAP_FAILED) {
		CHECK(0, "MAP_HUGETLB failed after reserving pages");
		return;
	}
	memset(h, 5, hp);
	CHECK(!kmove(0, h, hp, dst_node, NM_KMOD_COPY_CPU, 1, 0, &tot, fails,
		     4), "hugetlb move call");
	printf("  %-28s moved %llu failed %llu, reason %s\n", "hugetlb vma",
	       (unsigned long long)tot.moved, (unsigned long long)tot.failed,
	       tot.nr_fails ? nm_kmod_fail_reason(fails[0].reason) : "-");
	CHECK(tot.moved == 0 && tot.failed == hp / pagesz &&
	      tot.nr_fails == 4 && fails[0].reason == NM_KMOD_FAIL_VMA,
	      "hugetlb: expected all failed with reason vma");
	CHECK(h[0] == 5 && h[hp - 1] == 5, "hugetlb data");
	munmap(h, hp);
	write_param("/proc/sys/vm/nr_hugepages", 0);
}

/* ---- a separate multi-threaded process --------------------------------- */

struct child_shared {
	char *buf;
	size_t npages;
	atomic_int stop;
	atomic_long rounds;
	atomic_int errors;
	uint64_t *counts;	/* the writer's own record, never moved */
};

static void *child_reader(void *arg)
{
	struct child_shared *s = arg;

	while (!atomic_load(&s->stop)) {
		size_t p, w, words = pagesz / 8;

		for (p = 0; p < s->npages; p++) {
			const uint64_t *q = (uint64_t *)(s->buf + p * pagesz);

			/* word 0 is the writer's; the rest is fixed */
			for (w = 1; w < words; w++) {
				if (q[w] != pat(p, w, 11)) {
					atomic_fetch_add(&s->errors, 1);
					break;
				}
			}
		}
		atomic_fetch_add(&s->rounds, 1);
	}
	return NULL;
}

static void *child_writer(void *arg)
{
	struct child_shared *s = arg;
	size_t p = 0;

	while (!atomic_load(&s->stop)) {
		uint64_t *q = (uint64_t *)(s->buf + p * pagesz);

		*q += 1;
		s->counts[p]++;
		p = (p + 1) % s->npages;
	}
	return NULL;
}

/* Runs in the child: fills, reports the buffer, checks until told to stop. */
static int child_main(int wfd, int rfd, size_t npages)
{
	struct child_shared s = { .npages = npages };
	pthread_t th[3];
	size_t p;
	char c;
	int i;

	s.buf = alloc_on(npages * pagesz, src_node, 0);
	s.counts = calloc(npages, sizeof(*s.counts));
	if (!s.buf || !s.counts)
		return 2;
	fill(s.buf, npages, 11);
	for (p = 0; p < npages; p++)
		*(uint64_t *)(s.buf + p * pagesz) = 0;
	pthread_create(&th[0], NULL, child_reader, &s);
	pthread_create(&th[1], NULL, child_reader, &s);
	pthread_create(&th[2], NULL, child_writer, &s);
	if (write(wfd, &s.buf, sizeof(s.buf)) != sizeof(s.buf))
		return 2;
	if (read(rfd, &c, 1) != 1)
		return 2;
	atomic_store(&s.stop, 1);
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	for (p = 0; p < npages; p++) {
		if (*(uint64_t *)(s.buf + p * pagesz) != s.counts[p]) {
			printf("  child: page %zu lost writes (%llu != %llu)\n",
			       p,
			       (unsigned long long)*(uint64_t *)(s.buf + p * pagesz),
			       (unsigned long long)s.counts[p]);
			return 1;
		}
	}
	printf("  child: %ld reader rounds, %d errors, writes intact\n",
	       atomic_load(&s.rounds), atomic_load(&s.errors));
	return atomic_load(&s.errors) ? 1 : 0;
}

static void case_child(void)
{
	size_t npages = (test_mb << 20) / pagesz, on;
	struct nm_kmod_totals tot;
	int to_parent[2], to_child[2], st, fb, mode;
	char *cbuf, c = 'x';
	pid_t pid;

	if (pipe(to_parent) || pipe(to_child)) {
		CHECK(0, "pipe");
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(to_parent[0]);
		close(to_child[1]);
		_exit(child_main(to_parent[1], to_child[0], npages));
	}
	close(to_parent[1]);
	close(to_child[0]);
	if (read(to_parent[0], &cbuf, sizeof(cbuf)) != sizeof(cbuf)) {
		CHECK(0, "child did not start");
		waitpid(pid, &st, 0);
		return;
	}
	usleep(200000);
	/* to dst with CPU threads, back to src by DMA (or CPU), to dst again */
	for (mode = 0; mode < 3; mode++) {
		int node = mode == 1 ? src_node : dst_node;
		uint32_t cm = mode == 1 && do_dma ? NM_KMOD_COPY_DMA :
			      NM_KMOD_COPY_CPU;
		size_t busy;

		CHECK(!kmove(pid, cbuf, npages * pagesz, node, cm,
			     max_threads, 64, &tot, NULL, 0),
		      "child move %d", mode);
		/* the writer may hold a page for a moment: retry those */
		busy = tot.failed;
		if (busy && !kmove(pid, cbuf, npages * pagesz, node, cm,
				   max_threads, 64, &tot, NULL, 0))
			busy = tot.failed;
		on = pages_on_node(pid, cbuf, npages, node, &fb);
		printf("  %-28s pass %d (%s): %zu/%zu on node %d, %zu still busy\n",
		       "child process (3 threads)", mode,
		       cm == NM_KMOD_COPY_DMA ? "dma" : "cpu", on, npages,
		       node, busy);
		CHECK(on + busy >= npages && on >= npages * 9 / 10,
		      "child pages on node %d: %zu/%zu", node, on, npages);
		usleep(100000);
	}
	if (write(to_child[1], &c, 1) != 1)
		CHECK(0, "signal child");
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "child reported data errors (status %#x)", st);
	close(to_parent[0]);
	close(to_child[1]);
}

/* ---- move_pages(2)'s checks: who may move, to which nodes ---------------- */

/* A quiet process as @uid with @npages on src_node; its buffer in @buf. */
static pid_t perm_child(uid_t uid, size_t npages, char **buf)
{
	int fd[2];
	pid_t pid;

	if (pipe(fd))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char *b;

		close(fd[0]);
		if (uid && (setresgid(uid, uid, uid) || setresuid(uid, uid, uid)))
			_exit(2);
		b = alloc_on(npages * pagesz, src_node, 0);
		if (!b)
			_exit(2);
		fill(b, npages, 21);
		if (write(fd[1], &b, sizeof(b)) != sizeof(b))
			_exit(2);
		for (;;)
			pause();
	}
	close(fd[1]);
	if (pid > 0 && read(fd[0], buf, sizeof(*buf)) != sizeof(*buf)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(fd[0]);
	return pid;
}

static void perm_child_end(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Drops CAP_SYS_PTRACE from this process, keeping the rest. */
static int drop_ptrace_cap(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[0].effective &= ~(1u << CAP_SYS_PTRACE);
	d[0].permitted &= ~(1u << CAP_SYS_PTRACE);
	return (int)syscall(SYS_capset, &h, d);
}

/*
 * In a forked mover without CAP_SYS_PTRACE: the move's errno (0: moved),
 * as the exit status; 255 if the mover could not be set up.
 */
static int move_without_ptrace(pid_t target, char *buf, size_t npages)
{
	struct nm_kmod_totals tot;
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (drop_ptrace_cap())
			_exit(255);
		_exit(-kmove(target, buf, npages * pagesz, dst_node,
			     NM_KMOD_COPY_CPU, 1, 0, &tot, NULL, 0));
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return 255;
	return WEXITSTATUS(st);
}

static void case_perm_owner(size_t npages)
{
	char *buf;
	pid_t other = perm_child(65534, npages, &buf), own;
	int fb, e;

	CHECK(other > 0, "child as uid 65534");
	if (other <= 0)
		return;
	e = move_without_ptrace(other, buf, npages);
	CHECK(e == EPERM, "another user's process without CAP_SYS_PTRACE: "
	      "errno %d, want EPERM", e);
	CHECK(pages_on_node(other, buf, npages, src_node, &fb) == npages,
	      "a refused move moved pages");
	perm_child_end(other);
	own = perm_child(0, npages, &buf);
	CHECK(own > 0, "child as uid 0");
	if (own <= 0)
		return;
	e = move_without_ptrace(own, buf, npages);
	CHECK(e == 0, "a process with the caller's own credentials: errno %d",
	      e);
	perm_child_end(own);
	printf("  %-28s EPERM for another uid without CAP_SYS_PTRACE, own uid "
	       "moves\n", "permission");
}

/* The target's cpuset (cgroup v2) must allow the destination node. */
static void case_perm_cpuset(size_t npages)
{
	static const char *cg = "/sys/fs/cgroup/nm-kmod-test";
	struct nm_kmod_totals tot;
	char path[256], nodes[32], *buf;
	pid_t pid;
	int fb;

	CHECK(!write_str("/sys/fs/cgroup/cgroup.subtree_control", "+cpuset"),
	      "enable the cpuset controller");
	CHECK(mkdir(cg, 0755) == 0 || errno == EEXIST, "mkdir %s", cg);
	pid = perm_child(0, npages, &buf);
	CHECK(pid > 0, "child for the cpuset case");
	if (pid <= 0)
		goto out;
	snprintf(path, sizeof(path), "%s/cpuset.mems", cg);
	snprintf(nodes, sizeof(nodes), "%d", src_node);
	CHECK(!write_str(path, nodes), "cpuset.mems = %s", nodes);
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(nodes, sizeof(nodes), "%d", (int)pid);
	CHECK(!write_str(path, nodes), "child into %s", cg);
	CHECK(kmove(pid, buf, npages * pagesz, dst_node, NM_KMOD_COPY_CPU, 1, 0,
		    &tot, NULL, 0) == -EACCES,
	      "a node outside the target's cpuset: want EACCES");
	CHECK(pages_on_node(pid, buf, npages, src_node, &fb) == npages,
	      "a refused move moved pages");
	snprintf(path, sizeof(path), "%s/cpuset.mems", cg);
	snprintf(nodes, sizeof(nodes), "%d,%d", src_node, dst_node);
	CHECK(!write_str(path, nodes), "cpuset.mems = %s", nodes);
	CHECK(!kmove(pid, buf, npages * pagesz, dst_node, NM_KMOD_COPY_CPU, 1,
		     0, &tot, NULL, 0), "move once the cpuset allows the node");
	CHECK(pages_on_node(pid, buf, npages, dst_node, &fb) == npages,
	      "pages on node %d once allowed", dst_node);
	perm_child_end(pid);
	printf("  %-28s EACCES outside the cpuset, moves once allowed\n",
	       "cpuset");
out:
	rmdir(cg);
}

static void case_permission(void)
{
	size_t npages = (1u << 20) / pagesz;

	case_perm_owner(npages);
	case_perm_cpuset(npages);
}

/* No DMA channel at all: every batch falls back; DMA_STRICT refuses. */
static void case_nochan(void)
{
	struct nm_kmod_range r;
	struct nm_kmod_move m;
	char *page = alloc_on(pagesz, src_node, 0);
	int e;

	CHECK(!(kc.ver.caps & NM_KMOD_CAP_DMA_CHAN),
	      "a DMA channel is still registered");
	case_self("dma copy, no channel", NM_KMOD_COPY_DMA, 0, 256, 0, 0, 0);
	page[0] = 1;
	memset(&m, 0, sizeof(m));
	memset(&r, 0, sizeof(r));
	m.abi_version = NM_KMOD_ABI_VERSION;
	m.size = sizeof(m);
	m.node = dst_node;
	m.copy_mode = NM_KMOD_COPY_DMA;
	m.flags = NM_KMOD_MOVE_DMA_STRICT;
	m.nr_ranges = 1;
	m.ranges = (uintptr_t)&r;
	r.start = (uintptr_t)page;
	r.length = pagesz;
	e = ioctl(kc.fd, NM_KMOD_IOC_MOVE, &m) < 0 ? errno : 0;
	CHECK(e == ENODEV, "DMA_STRICT without a channel: %s", strerror(e));
	printf("  %-28s %s\n", "dma strict, no channel", strerror(e));
	numa_free(page, pagesz);
}

/* ---- malformed requests -------------------------------------------------- */

static int raw_move(struct nm_kmod_move *m)
{
	return ioctl(kc.fd, NM_KMOD_IOC_MOVE, m) < 0 ? errno : 0;
}

static void base_move(struct nm_kmod_move *m, struct nm_kmod_range *r,
		      void *addr)
{
	memset(m, 0, sizeof(*m));
	m->abi_version = NM_KMOD_ABI_VERSION;
	m->size = sizeof(*m);
	m->node = dst_node;
	m->nr_ranges = 1;
	m->ranges = (uintptr_t)r;
	memset(r, 0, sizeof(*r));
	r->start = (uintptr_t)addr;
	r->length = pagesz;
}

/* Is our page still on the source node (nothing moved)? */
static int page_stayed(char *page)
{
	int fb;

	return pages_on_node(0, page, 1, src_node, &fb) == 1;
}

#define EXPECT(what, err, ...) do {					\
	int got_;							\
	base_move(&m, &r, page);					\
	__VA_ARGS__;							\
	got_ = raw_move(&m);						\
	CHECK(got_ == (err), "%s: got %s, expected %s", what,		\
	      strerror(got_), strerror(err));				\
	if (err)							\
		CHECK(page_stayed(page), "%s: the page moved", what);	\
	ran++;								\
} while (0)

static void case_malformed(void)
{
	struct nm_kmod_version v;
	struct nm_kmod_move m;
	struct nm_kmod_range r;
	char *page = alloc_on(pagesz, src_node, 0);
	/* [read-only][guard]: request and ranges that cannot be written back */
	char *ro = mmap(NULL, 2 * pagesz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct nm_kmod_page_fail *fails_end;
	int ran = 0, st, e;
	pid_t pid;

	if (ro == MAP_FAILED) {
		CHECK(0, "mmap");
		return;
	}
	mprotect(ro + pagesz, pagesz, PROT_NONE);
	fails_end = (struct nm_kmod_page_fail *)(ro + pagesz) - 2;

	page[0] = 1;
	EXPECT("bad pid", ESRCH, m.pid = 0x3ffffff0);
	EXPECT("negative pid", EINVAL, m.pid = -5);
	EXPECT("kernel thread pid", EINVAL, m.pid = 2);
	EXPECT("unaligned start", EINVAL, r.start += 8);
	EXPECT("unaligned length", EINVAL, r.length = 100);
	EXPECT("zero length", EINVAL, r.length = 0);
	EXPECT("wrapping range", EINVAL,
	       r.start = -(uint64_t)pagesz; r.length = 2 * pagesz);
	EXPECT("beyond user space", EINVAL,
	       r.start = 1ULL << 62; r.length = pagesz);
	EXPECT("node out of range", EINVAL, m.node = 4096);
	EXPECT("negative node", EINVAL, m.node = -1);
	/* past the last online node: -ENODEV if possible, else -EINVAL */
	base_move(&m, &r, page);
	m.node = numa_max_node() + 1;
	e = raw_move(&m);
	CHECK(e == EINVAL || e == ENODEV, "node not online: got %s",
	      strerror(e));
	ran++;
	EXPECT("zero ranges", EINVAL, m.nr_ranges = 0);
	EXPECT("huge nr_ranges", E2BIG, m.nr_ranges = 1U << 30);
	EXPECT("huge max_fails", E2BIG, m.max_fails = 1U << 30);
	EXPECT("huge threads", EINVAL, m.threads = 100000);
	EXPECT("huge batch", EINVAL, m.batch_pages = 1U << 24);
	EXPECT("unknown flags", EINVAL, m.flags = 0x80000000U);
	EXPECT("unknown copy mode", EINVAL, m.copy_mode = 7);
	EXPECT("abi version 0", EINVAL, m.abi_version = 0);
	EXPECT("abi version 2", EINVAL, m.abi_version = 2);
	EXPECT("wrong size", EINVAL, m.size = sizeof(m) - 8);
	EXPECT("reserved set", EINVAL, m.reserved[2] = 1);
	EXPECT("bad ranges pointer", EFAULT, m.ranges = 16);
	EXPECT("bad fails pointer", EFAULT,
	       m.max_fails = 4; m.fails = (uint64_t)-4096);
	/*
	 * Output that cannot be written back: refused before anything moves
	 * (found by the fuzz phase: the pages moved, then -EFAULT; or, with
	 * no failed page to report, a bad fail array was never noticed).
	 */
	EXPECT("NULL fails, nothing fails", EFAULT,
	       m.max_fails = 4; m.fails = 0);
	EXPECT("fails in a guard page", EFAULT,
	       m.max_fails = 1; m.fails = (uintptr_t)(ro + pagesz));
	EXPECT("fails run into a guard page", EFAULT,
	       m.max_fails = 3; m.fails = (uintptr_t)fails_end);
	EXPECT("fails read-only", EFAULT,
	       m.max_fails = 1; m.fails = (uintptr_t)ro;
	       mprotect(ro, pagesz, PROT_READ));
	mprotect(ro, pagesz, PROT_READ | PROT_WRITE);
	EXPECT("ranges read-only", EFAULT,
	       memcpy(ro, &r, sizeof(r)); m.ranges = (uintptr_t)ro;
	       mprotect(ro, pagesz, PROT_READ));
	mprotect(ro, pagesz, PROT_READ | PROT_WRITE);
	base_move(&m, &r, page);
	memcpy(ro, &m, sizeof(m));
	mprotect(ro, pagesz, PROT_READ);
	e = ioctl(kc.fd, NM_KMOD_IOC_MOVE, ro) < 0 ? errno : 0;
	CHECK(e == EFAULT, "request read-only: got %s", strerror(e));
	CHECK(page_stayed(page), "request read-only: the page moved");
	ran++;
	EXPECT("valid request", 0, (void)0);

	e = ioctl(kc.fd, _IOWR(NM_KMOD_IOC_MAGIC, 0x7f, int), &v) < 0 ?
	    errno : 0;
	CHECK(e == ENOTTY, "unknown ioctl: %s", strerror(e));
	e = ioctl(kc.fd, _IOWR(NM_KMOD_IOC_MAGIC, 0x01, int), &m) < 0 ?
	    errno : 0;
	CHECK(e == ENOTTY, "move ioctl with wrong size: %s", strerror(e));
	memset(&v, 0, sizeof(v));
	v.size = 8;
	e = ioctl(kc.fd, NM_KMOD_IOC_VERSION, &v) < 0 ? errno : 0;
	CHECK(e == EINVAL, "version with wrong size: %s", strerror(e));
	ran += 3;

	/* unprivileged: the fd opened as root is refused after setuid */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int bad = 0, fd;

		if (setgid(65534) || setuid(65534))
			_exit(3);
		base_move(&m, &r, page);
		if (raw_move(&m) != EPERM) {
			printf("  nobody: move on inherited fd not EPERM\n");
			bad = 1;
		}
		fd = open(NM_KMOD_DEVICE, O_RDWR);
		if (fd >= 0 || errno != EACCES) {
			printf("  nobody: open gave %d/%s\n", fd,
			       strerror(errno));
			bad = 1;
		}
		_exit(bad);
	}
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "unprivileged caller not refused (%#x)", st);
	ran += 2;
	CHECK(page[0] == 1, "page intact");
	printf("  %-28s %d malformed/unprivileged requests checked\n",
	       "malformed requests", ran);
	numa_free(page, pagesz);
	munmap(ro, 2 * pagesz);
}

/* ---- randomized ioctl fuzzing ------------------------------------------- */

/*
 * Requests built from random and boundary values for every field of both
 * ioctls (and unknown ioctl numbers), sent at a scratch child process and at
 * ourselves.  A model of the ABI says which errnos each request may get:
 * the call must fail with one of them, or succeed when there are none.  The
 * pages of the scratch windows are tracked with move_pages(2) queries: a
 * failed call must not move any, nor change the request or its ranges;
 * after a successful one every page that changed node is on the requested
 * node and, when the ranges lie inside the window, as many changed as the
 * call says moved, and the counts and fail entries written back add up.
 * Every 128 calls and at the end nothing outside a request may have moved;
 * at the end both windows' data must be intact and no memory may be
 * missing (a coarse leak check).
 */

#define MAX_NODES_FZ 1024

static uint64_t fuzz_seed;
static int fuzz_seed_set, fuzz_only;
static long fuzz_iters = 4000;
static uint64_t rng_state;

static uint64_t rnd(void)	/* splitmix64 */
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rndn(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static int chance(unsigned int pct)
{
	return rndn(100) < pct;
}

static uint64_t pick_u64(const uint64_t *v, size_t n)
{
	return v[rndn(n)];
}

#define PICK(...) pick_u64((const uint64_t[]){ __VA_ARGS__ },		\
			   sizeof((const uint64_t[]){ __VA_ARGS__ }) /	\
			   sizeof(uint64_t))
#define EBIT(e) (1ULL << (e))

/* Page layout of a scratch window (page offsets; the rest is PROT_NONE). */
enum {
	W_ANON = 2, W_ANON_N = 16,	/* anon RW, populated */
	W_SPARSE = 18, W_SPARSE_N = 8,	/* anon RW, even pages populated */
	W_HOLE = 26, W_HOLE_N = 4,	/* unmapped */
	W_RO = 30, W_RO_N = 8,		/* anon, read-only after filling */
	W_PFILE = 38, W_PFILE_N = 8,	/* MAP_PRIVATE file: 4 COW, 4 cache */
	W_SFILE = 46, W_SFILE_N = 4,	/* MAP_SHARED file */
	W_MLOCK = 50, W_MLOCK_N = 4,	/* anon, mlocked */
	W_SPLICE = 54, W_SPLICE_N = 4,	/* anon, held by a pipe (vmsplice) */
	W_ZERO = 58, W_ZERO_N = 2,	/* anon, only read: the zero page */
	W_PAGES = 64,			/* then, optionally, 2 MiB of THP */
};

enum { PK_NONE, PK_PAT, PK_ZERO };

struct window {
	char *base;
	size_t pages;		/* tracked pages from base */
	size_t thp_first;	/* first page of the THP region, 0: none */
	uint64_t seed;
	pid_t pid;		/* whose window (for move_pages) */
	int *status;		/* last move_pages status of each page */
	int splice[2];
};

static int window_kind(const struct window *w, size_t p)
{
	if (w->thp_first && p >= w->thp_first && p < w->thp_first + 512)
		return PK_PAT;
	if (p >= W_PAGES || p < W_ANON)
		return PK_NONE;
	if (p >= W_HOLE && p < W_HOLE + W_HOLE_N)
		return PK_NONE;
	if (p >= W_SPARSE && p < W_SPARSE + W_SPARSE_N)
		return (p - W_SPARSE) % 2 ? PK_ZERO : PK_PAT;
	if (p >= W_ZERO && p < W_ZERO + W_ZERO_N)
		return PK_ZERO;
	if (p >= W_ZERO + W_ZERO_N)
		return PK_NONE;
	return PK_PAT;
}

static void fill_page(char *dst, size_t p, uint64_t seed)
{
	uint64_t *q = (uint64_t *)dst;
	size_t i;

	for (i = 0; i < (size_t)pagesz / 8; i++)
		q[i] = pat(p, i, seed);
}

static char *window_map(char *addr, size_t npages, int prot, int flags,
			int fd)
{
	char *p = mmap(addr, npages * pagesz, prot, flags | MAP_FIXED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Builds the scratch window in the calling process; 0 or -1. */
static int window_make(struct window *w, int thp, uint64_t seed)
{
	size_t res = W_PAGES + (thp ? 3 * 512 : 0), p;
	char tmpl[] = "/tmp/nmfuzzXXXXXX", *b, *page;
	int fd, flags = MAP_PRIVATE | MAP_ANONYMOUS;
	const char *what = NULL;
	struct iovec iov;

	memset(w, 0, sizeof(*w));
	w->seed = seed;
	w->splice[0] = w->splice[1] = -1;
	b = mmap(NULL, res * pagesz, PROT_NONE, flags | MAP_NORESERVE, -1, 0);
	page = malloc(pagesz);
	if (b == MAP_FAILED || !page) {
		what = "reserve";
		goto fail;
	}
	w->base = b;
	w->pages = W_PAGES;
	if (!window_map(b + W_ANON * pagesz, W_ZERO + W_ZERO_N - W_ANON,
			PROT_READ | PROT_WRITE, flags, -1)) {
		what = "anon mmap";
		goto fail;
	}
	madvise(b, W_PAGES * pagesz, MADV_NOHUGEPAGE);
	munmap(b + W_HOLE * pagesz, W_HOLE_N * pagesz);

	/* the two files (tmpfs in the guest: shmem) */
	what = "private file";
	fd = mkstemp(tmpl);
	if (fd < 0)
		goto fail;
	unlink(tmpl);
	for (p = 0; p < W_PFILE_N; p++) {
		fill_page(page, W_PFILE + p, seed);
		if (pwrite(fd, page, pagesz, p * pagesz) != pagesz)
			goto fail;
	}
	if (!window_map(b + W_PFILE * pagesz, W_PFILE_N,
			PROT_READ | PROT_WRITE, MAP_PRIVATE, fd))
		goto fail;
	close(fd);
	what = "shared file";
	strcpy(tmpl, "/tmp/nmfuzzXXXXXX");
	fd = mkstemp(tmpl);
	if (fd < 0 || ftruncate(fd, W_SFILE_N * pagesz))
		goto fail;
	unlink(tmpl);
	if (!window_map(b + W_SFILE * pagesz, W_SFILE_N,
			PROT_READ | PROT_WRITE, MAP_SHARED, fd))
		goto fail;
	close(fd);

	for (p = 0; p < W_PAGES; p++) {
		volatile char *c = b + p * pagesz;

		if (p >= W_PFILE + W_PFILE_N / 2 && p < W_PFILE + W_PFILE_N)
			(void)*c;	/* page cache, not copied */
		else if (window_kind(w, p) == PK_PAT)
			fill_page(b + p * pagesz, p, seed);
		else if (window_kind(w, p) == PK_ZERO && p >= W_ZERO)
			(void)*c;
	}
	what = "mprotect/mlock";
	if (mprotect(b + W_RO * pagesz, W_RO_N * pagesz, PROT_READ) ||
	    mlock(b + W_MLOCK * pagesz, W_MLOCK_N * pagesz))
		goto fail;
	what = "vmsplice";
	iov.iov_base = b + W_SPLICE * pagesz;
	iov.iov_len = W_SPLICE_N * pagesz;
	if (pipe(w->splice) ||
	    vmsplice(w->splice[1], &iov, 1, 0) != (ssize_t)iov.iov_len)
		goto fail;

	if (thp) {
		uintptr_t t = ((uintptr_t)b + W_PAGES * pagesz + (2 << 20) - 1) &
			      ~(uintptr_t)((2 << 20) - 1);

		what = "THP mmap";
		if (!window_map((char *)t, 512, PROT_READ | PROT_WRITE, flags,
				-1))
			goto fail;
		madvise((char *)t, 2 << 20, MADV_HUGEPAGE);
		w->thp_first = (t - (uintptr_t)b) / pagesz;
		w->pages = w->thp_first + 512 + 2;
		for (p = w->thp_first; p < w->thp_first + 512; p++)
			fill_page(b + p * pagesz, p, seed);
		/* keeps the huge page, but khugepaged must not collapse
		 * (and so move) the pages the fuzzing splits off it
		 */
		madvise((char *)t, 2 << 20, MADV_NOHUGEPAGE);
	}
	free(page);
	return 0;
fail:
	printf("  fuzz: scratch window: %s: %s\n", what, strerror(errno));
	free(page);
	return -1;
}

/* Spreads the window's base pages over the nodes (move_pages(2)). */
static void window_spread(struct window *w, int nnodes)
{
	void *pages[W_PAGES];
	int nodes[W_PAGES], status[W_PAGES];
	size_t p, n = 0;

	for (p = 0; p < W_PAGES; p++) {
		if (window_kind(w, p) != PK_PAT)
			continue;
		pages[n] = w->base + p * pagesz;
		nodes[n++] = p % nnodes;
	}
	move_pages(0, n, pages, nodes, status, MPOL_MF_MOVE);
}

/* Pages with wrong contents. */
static size_t window_verify(const struct window *w)
{
	size_t p, i, bad = 0;

	for (p = 0; p < w->pages; p++) {
		const uint64_t *q = (const uint64_t *)(w->base + p * pagesz);
		int k = window_kind(w, p);

		if (k == PK_NONE)
			continue;
		for (i = 0; i < (size_t)pagesz / 8; i++) {
			if (q[i] != (k == PK_PAT ? pat(p, i, w->seed) : 0)) {
				if (bad < 4)
					printf("  fuzz: pid %d page %zu word %zu is %#llx\n",
					       (int)getpid(), p, i,
					       (unsigned long long)q[i]);
				bad++;
				break;
			}
		}
	}
	return bad;
}

/* move_pages(2) status of the window's pages @idx[0..n) into @st. */
static int window_query(const struct window *w, const size_t *idx, size_t n,
			int *st)
{
	void **pages = malloc(n * sizeof(*pages));
	size_t i;
	long ret;

	if (!pages)
		return -1;
	for (i = 0; i < n; i++)
		pages[i] = w->base + idx[i] * pagesz;
	ret = move_pages(w->pid, n, pages, NULL, st, 0);
	free(pages);
	return ret < 0 ? -1 : 0;
}

/* ---- the fuzzer's own memory: request, ranges and fail arrays ---- */

struct fz_region {
	uintptr_t start, end;
	int writable;
};

enum { FZ_REQ, FZ_REQ_RO, FZ_RG, FZ_RG_RO, FZ_FAILS, FZ_FAILS_RO, FZ_NREG };

static struct fz_region fz_reg[FZ_NREG];
static uintptr_t fz_guard;	/* a PROT_NONE page */
static char *fz_arena;
static size_t fz_arena_len;

/* Can the kernel read (or write) [addr, addr + len) of our memory? */
static int fz_access(uint64_t addr, uint64_t len, int write)
{
	int i;

	if (!len)
		return 1;
	if (addr + len < addr)
		return 0;
	for (i = 0; i < FZ_NREG; i++) {
		const struct fz_region *r = &fz_reg[i];

		if (addr >= r->start && addr + len <= r->end)
			return !write || r->writable;
	}
	return 0;
}

static int fz_arena_make(void)
{
	size_t rgp = ((NM_KMOD_MAX_RANGES + 2) * sizeof(struct nm_kmod_range) +
		      pagesz - 1) / pagesz;
	size_t fp = ((NM_KMOD_MAX_FAILS + 1) *
		     sizeof(struct nm_kmod_page_fail) + pagesz - 1) / pagesz;
	size_t sizes[FZ_NREG] = { 1, 1, rgp, rgp, fp, 1 };
	size_t off = 0;
	int i;

	fz_arena_len = (2 * rgp + fp + 3 + FZ_NREG + 1) * pagesz;
	fz_arena = mmap(NULL, fz_arena_len, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fz_arena == MAP_FAILED)
		return -1;
	for (i = 0; i < FZ_NREG; i++) {
		char *s = fz_arena + off * pagesz;

		/* every region is followed by a PROT_NONE guard page */
		if (mprotect(s, sizes[i] * pagesz, PROT_READ | PROT_WRITE))
			return -1;
		fz_reg[i].start = (uintptr_t)s;
		fz_reg[i].end = (uintptr_t)s + sizes[i] * pagesz;
		fz_reg[i].writable = !(i == FZ_REQ_RO || i == FZ_RG_RO ||
				       i == FZ_FAILS_RO);
		if (!fz_reg[i].writable)
			mprotect(s, sizes[i] * pagesz, PROT_READ);
		off += sizes[i] + 1;
	}
	fz_guard = fz_reg[FZ_REQ].end;
	return 0;
}

/* Copies @len bytes to @dst in a region we may have made read-only. */
static void fz_poke(uintptr_t dst, const void *src, size_t len)
{
	int i;

	for (i = 0; i < FZ_NREG; i++) {
		struct fz_region *r = &fz_reg[i];
		size_t n;

		if (dst < r->start || dst >= r->end)
			continue;
		n = len < r->end - dst ? len : r->end - dst;
		if (!r->writable)
			mprotect((void *)r->start, r->end - r->start,
				 PROT_READ | PROT_WRITE);
		memcpy((void *)dst, src, n);
		if (!r->writable)
			mprotect((void *)r->start, r->end - r->start,
				 PROT_READ);
		return;
	}
}

/* ---- generators ---- */

static uint64_t task_size_max;
static int fz_nr_node_ids;
static unsigned char fz_has_memory[MAX_NODES_FZ];
static pid_t fz_child, fz_zombie, fz_nopid;
static struct window fz_win[2];	/* [0] ours, [1] the child's */

static const char *fz_ptr_name[] = {
	"rw", "misaligned", "read-only", "straddles a guard page", "NULL",
	"unmapped", "PROT_NONE", "kernel", "inside the request",
	"on the ranges",
};

enum {
	P_RW, P_MISALIGNED, P_RO, P_STRADDLE, P_NULL, P_UNMAPPED, P_PROTNONE,
	P_KERNEL, P_IN_REQ, P_ON_RANGES,
};

/* P_RW, or with @pct % another kind of pointer */
static int fz_pick_cat(unsigned int pct)
{
	return chance(pct) ? 1 + rndn(P_ON_RANGES) : P_RW;
}

/*
 * An address of @cat for an object of @size bytes (@count elements of
 * @elem bytes for a straddling one) in region @rw (or its read-only twin
 * @ro).
 */
static uintptr_t fz_place(int cat, int rw, int ro, size_t elem, size_t count,
			  uintptr_t req, uintptr_t ranges)
{
	const struct fz_region *r = &fz_reg[rw];

	switch (cat) {
	case P_MISALIGNED:
		return r->start + 1 + rndn(elem - 1);
	case P_RO:
		return fz_reg[ro].start;
	case P_STRADDLE:
		return r->end - elem * rndn(count ? count : 1);
	case P_NULL:
		return 0;
	case P_UNMAPPED:
		return PICK(0x1000, 0x8000, 0xfff0);
	case P_PROTNONE:
		return fz_guard + rndn(64);
	case P_KERNEL:
		return PICK(0xffff888000000000ULL, 0xffffffff81000000ULL,
			    -(uint64_t)pagesz, 1ULL << 63, task_size_max);
	case P_IN_REQ:
		return req + rndn(sizeof(struct nm_kmod_move));
	case P_ON_RANGES:
		return ranges;
	default:
		return r->start;
	}
}

/* A range of @w, or with @pct % of boundary values. */
static void fz_range(const struct window *w, struct nm_kmod_range *r,
		     unsigned int pct)
{
	uint64_t wb = (uintptr_t)w->base, pg = pagesz, s, l;

	memset(r, 0, sizeof(*r));
	if (w == &fz_win[0] && chance(2)) {
		/* our own request, ranges or fail array: moved meanwhile */
		s = fz_reg[rndn(FZ_NREG)].start;
		l = (1 + rndn(4)) * pg;
	} else if (!chance(pct)) {
		uint64_t p = rndn(w->pages), left = w->pages - p;

		s = wb + p * pg;
		l = chance(93) ? 1 + rndn(8) : chance(70) ? 1 + rndn(128) :
		    1 + rndn(w->pages);
		if (l > left && chance(90))
			l = left;
		l *= pg;
	} else {
		s = PICK(0, pg, wb, wb - pg, wb + w->pages * pg,
			 wb + rndn(w->pages) * pg + 1 + rndn(pg - 1),
			 task_size_max - pg, task_size_max,
			 task_size_max + pg, 1ULL << 47, 0xffff888000000000ULL,
			 0xffffffff81000000ULL, -pg, rnd(),
			 rnd() & ~(pg - 1) & ((1ULL << 47) - 1));
		l = PICK(0, 1, pg - 1, pg, pg + 1, 2 * pg, w->pages * pg,
			 -s, -s - pg, task_size_max - s,
			 task_size_max - s + pg, 1ULL << 47, -pg, rnd(),
			 rnd() & ~(pg - 1));
	}
	r->start = s;
	r->length = l;
	if (chance(20)) {	/* out fields: ignored */
		r->moved = rnd();
		r->failed = rnd();
		r->skipped = rnd();
	}
}

static int fz_range_ok(const struct nm_kmod_range *r)
{
	uint64_t end = r->start + r->length;

	return r->length && !(r->start % pagesz) && !(r->length % pagesz) &&
	       end > r->start && end <= task_size_max;
}

/* ---- one request ---- */

struct fz_case {
	unsigned long cmd;
	uintptr_t arg, rg, fails;
	int arg_cat, rg_cat, fails_cat;
	struct nm_kmod_move m;		/* as sent */
	struct nm_kmod_version v;	/* as sent */
	struct window *w;		/* the target's window, if any */
	uint64_t expect;		/* EBIT() of the allowed errnos */
	uint32_t nr_model;		/* ranges the kernel reads */
};

static struct nm_kmod_range fz_rg[NM_KMOD_MAX_RANGES + 1];
static struct nm_kmod_range fz_model[NM_KMOD_MAX_RANGES];	/* as read */

static long fz_calls, fz_violations, fz_moved_pages;
static double fz_t_ok, fz_t_err, fz_t_big;	/* seconds in MOVE calls */
static long fz_errno_count[64];

#define FZ_FAIL(c, i, ...) do {						\
	fz_violations++;						\
	if (fz_violations <= 20) {					\
		printf("FAIL fuzz iteration %ld (seed %#llx): ", (i),	\
		       (unsigned long long)fuzz_seed);			\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		fz_describe(c);						\
	}								\
	failures++;							\
} while (0)

static void fz_describe(const struct fz_case *c)
{
	const struct nm_kmod_move *m = &c->m;
	uint64_t e;
	int i;

	printf("    cmd %#lx arg %#lx (%s)", c->cmd, (unsigned long)c->arg,
	       fz_ptr_name[c->arg_cat]);
	if (c->cmd == NM_KMOD_IOC_VERSION)
		printf(" size %u\n", c->v.size);
	if (c->cmd != NM_KMOD_IOC_MOVE) {
		printf("\n");
		return;
	}
	printf("\n    abi %u size %u pid %d node %d flags %#x copy %u threads %u batch %u nr_ranges %u max_fails %u reserved %s\n",
	       m->abi_version, m->size, m->pid, m->node, m->flags,
	       m->copy_mode, m->threads, m->batch_pages, m->nr_ranges,
	       m->max_fails,
	       m->reserved[0] | m->reserved[1] | m->reserved[2] |
	       m->reserved[3] ? "set" : "0");
	printf("    ranges %#lx (%s), fails %#lx (%s), window %s",
	       (unsigned long)c->rg, fz_ptr_name[c->rg_cat],
	       (unsigned long)c->fails, fz_ptr_name[c->fails_cat],
	       !c->w ? "-" : c->w == &fz_win[0] ? "self" : "child");
	if (c->w)
		printf(" at %p", (void *)c->w->base);
	for (i = 0; i < (int)c->nr_model && i < 3; i++)
		printf("\n    range %d: %#llx + %#llx", i,
		       (unsigned long long)fz_model[i].start,
		       (unsigned long long)fz_model[i].length);
	printf("\n    allowed:");
	for (e = 0; e < 64; e++)
		if (c->expect & EBIT(e))
			printf(" %s", strerror((int)e));
	printf("%s\n", c->expect ? "" : " success only");
}

static void fz_gen_move(struct fz_case *c)
{
	struct nm_kmod_move *m = &c->m;
	uint32_t nfill, i;
	unsigned int wild;
	int t;

	memset(m, 0, sizeof(*m));
	m->abi_version = chance(97) ? NM_KMOD_ABI_VERSION :
			 PICK(0, 2, UINT32_MAX, rnd());
	m->size = chance(97) ? sizeof(*m) :
		  PICK(0, sizeof(*m) - 8, sizeof(*m) - 1, sizeof(*m) + 1,
		       sizeof(*m) + 8, sizeof(struct nm_kmod_version),
		       UINT32_MAX, rnd());
	t = rndn(100);
	if (t < 55)
		m->pid = fz_child;
	else if (t < 80)
		m->pid = 0;
	else if (t < 90)
		m->pid = getpid();
	else
		m->pid = PICK(-1, (uint64_t)INT32_MIN, 2, fz_zombie, fz_nopid,
			      0x3ffffff0, INT32_MAX);
	m->node = chance(95) ? (int)rndn(fz_nr_node_ids) :
		  (int)PICK(-1, (uint64_t)INT32_MIN, fz_nr_node_ids,
			    fz_nr_node_ids + 1, 1023, 1024, 4096, INT32_MAX,
			    rnd());
	m->flags = chance(85) ? 0 : chance(75) ? NM_KMOD_MOVE_DMA_STRICT :
		   PICK(2, 3, 0x80000000U, rnd());
	m->copy_mode = chance(65) ? NM_KMOD_COPY_CPU :
		       chance(90) ? NM_KMOD_COPY_DMA : PICK(2, 7, rnd());
	m->threads = chance(60) ? rndn(3) : chance(92) ?
		     rndn(NM_KMOD_MAX_THREADS + 1) :
		     PICK(NM_KMOD_MAX_THREADS + 1, 100000, UINT32_MAX, rnd());
	m->batch_pages = chance(40) ? 0 : chance(75) ? 1 + rndn(16) :
			 chance(80) ? PICK(512, NM_KMOD_MAX_BATCH - 1,
					   NM_KMOD_MAX_BATCH) :
			 PICK(NM_KMOD_MAX_BATCH + 1, 1U << 24, UINT32_MAX,
			      rnd());
	t = rndn(100);
	m->nr_ranges = t < 66 ? 1 : t < 92 ? 2 + rndn(7) : t < 95 ? 0 :
		       t < 96 ? NM_KMOD_MAX_RANGES - rndn(2) :
		       PICK(NM_KMOD_MAX_RANGES + 1, 1U << 30, UINT32_MAX,
			    rnd());
	t = rndn(100);
	m->max_fails = t < 40 ? 0 : t < 88 ? 1 + rndn(16) :
		       t < 96 ? NM_KMOD_MAX_FAILS :
		       PICK(NM_KMOD_MAX_FAILS + 1, 1U << 30, UINT32_MAX, rnd());
	if (chance(2))
		m->reserved[rndn(4)] = rnd() | 1;
	if (chance(30)) {	/* out fields: ignored */
		m->nr_fails = rnd();
		m->threads_used = rnd();
		m->moved = rnd();
		m->failed = rnd();
		m->skipped = rnd();
		m->dma_batches = rnd();
		m->dma_fallbacks = rnd();
		m->copy_ns = rnd();
		m->total_ns = rnd();
	}

	/* the window the ranges are drawn from */
	if (m->pid == fz_child)
		c->w = &fz_win[1];
	else if (m->pid == 0 || m->pid == getpid())
		c->w = &fz_win[0];
	else
		c->w = NULL;

	nfill = m->nr_ranges <= NM_KMOD_MAX_RANGES ? m->nr_ranges : 4;
	wild = chance(50) ? 0 : m->nr_ranges > 8 ? 1 : 16;
	for (i = 0; i < nfill; i++)
		fz_range(c->w ? c->w : &fz_win[rndn(2)], &fz_rg[i], wild);

	/* where the request, the ranges and the fail array are */
	c->arg_cat = fz_pick_cat(10);
	if (c->arg_cat == P_IN_REQ || c->arg_cat == P_ON_RANGES)
		c->arg_cat = P_MISALIGNED;
	c->arg = fz_place(c->arg_cat, FZ_REQ, FZ_REQ_RO, sizeof(*m), 1, 0, 0);
	if (c->arg_cat == P_MISALIGNED)
		c->arg = fz_reg[FZ_REQ].start + 1 + rndn(63);
	else if (c->arg_cat == P_STRADDLE)
		c->arg = fz_reg[FZ_REQ].end - 1 - rndn(sizeof(*m) - 1);
	c->rg_cat = fz_pick_cat(14);
	if (c->rg_cat == P_ON_RANGES)
		c->rg_cat = P_MISALIGNED;
	c->rg = fz_place(c->rg_cat, FZ_RG, FZ_RG_RO,
			 sizeof(struct nm_kmod_range), nfill, c->arg, 0);
	c->fails_cat = fz_pick_cat(16);
	c->fails = fz_place(c->fails_cat, FZ_FAILS, FZ_FAILS_RO,
			    sizeof(struct nm_kmod_page_fail),
			    m->max_fails <= NM_KMOD_MAX_FAILS ? m->max_fails :
			    1, c->arg, c->rg);
	m->ranges = c->rg;
	m->fails = c->fails;
	if (chance(2))
		m->ranges = rnd();	/* anything, unless nr_ranges is bad */

	if (c->rg_cat != P_IN_REQ)
		fz_poke(c->rg, fz_rg, (size_t)nfill * sizeof(fz_rg[0]));
	if (chance(10)) {	/* random bytes after the request */
		unsigned char junk[256];

		for (i = 0; i < sizeof(junk); i++)
			junk[i] = rnd();
		fz_poke(fz_reg[FZ_REQ].start, junk, sizeof(junk));
	}
	fz_poke(c->arg, m, sizeof(*m));
	c->rg = m->ranges;
}

static int fz_pid_state(pid_t pid)	/* errno for a pid > 0, or 0 */
{
	if (pid == fz_child || pid == getpid())
		return 0;
	if (pid == 2 || pid == fz_zombie)
		return EINVAL;
	return ESRCH;
}

/* Which errnos may the MOVE request get?  0: it must succeed. */
static uint64_t fz_expect_move(struct fz_case *c)
{
	const struct nm_kmod_move *m = &c->m;
	const struct nm_kmod_range *rg = (const void *)(uintptr_t)m->ranges;
	uint64_t e = 0;
	uint32_t i;

	c->nr_model = 0;
	if (!fz_access(c->arg, sizeof(*m), 0))
		return EBIT(EFAULT);
	if (!fz_access(c->arg, sizeof(*m), 1))
		e |= EBIT(EFAULT);
	if (m->abi_version != NM_KMOD_ABI_VERSION || m->size != sizeof(*m) ||
	    m->reserved[0] || m->reserved[1] || m->reserved[2] ||
	    m->reserved[3] || (m->flags & ~NM_KMOD_MOVE_FLAGS) ||
	    m->copy_mode > NM_KMOD_COPY_DMA ||
	    m->threads > NM_KMOD_MAX_THREADS ||
	    m->batch_pages > NM_KMOD_MAX_BATCH || !m->nr_ranges ||
	    m->pid < 0 || m->node < 0 || m->node >= fz_nr_node_ids)
		e |= EBIT(EINVAL);
	if (m->nr_ranges > NM_KMOD_MAX_RANGES ||
	    m->max_fails > NM_KMOD_MAX_FAILS)
		e |= EBIT(E2BIG);
	if (m->node >= 0 && m->node < fz_nr_node_ids &&
	    !fz_has_memory[m->node])
		e |= EBIT(ENODEV);
	if (m->nr_ranges && m->nr_ranges <= NM_KMOD_MAX_RANGES) {
		uint64_t len = (uint64_t)m->nr_ranges * sizeof(*rg);

		if (!fz_access(m->ranges, len, 0)) {
			e |= EBIT(EFAULT);
		} else {
			c->nr_model = m->nr_ranges;
			memcpy(fz_model, rg, len);
			for (i = 0; i < m->nr_ranges; i++)
				if (!fz_range_ok(&fz_model[i]))
					e |= EBIT(EINVAL);
			if (!fz_access(m->ranges, len, 1))
				e |= EBIT(EFAULT);
		}
	}
	if (m->max_fails && m->max_fails <= NM_KMOD_MAX_FAILS &&
	    !fz_access(m->fails, (uint64_t)m->max_fails *
		       sizeof(struct nm_kmod_page_fail), 1))
		e |= EBIT(EFAULT);
	if (m->pid > 0 && fz_pid_state(m->pid))
		e |= EBIT(fz_pid_state(m->pid)) |
		     (m->pid == fz_zombie ? EBIT(ESRCH) : 0);
	if (m->copy_mode == NM_KMOD_COPY_DMA &&
	    (m->flags & NM_KMOD_MOVE_DMA_STRICT) &&
	    !(kc.ver.caps & NM_KMOD_CAP_DMA_CHAN))
		e |= EBIT(ENODEV);
	return e;
}

static int fz_overlap(uintptr_t a, size_t alen, uintptr_t b, size_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* Checks the counts a successful MOVE wrote back. */
static void fz_check_out(struct fz_case *c, long it, uint64_t changed,
			 int exact)
{
	const struct nm_kmod_move *in = &c->m;
	const struct nm_kmod_move *m = (const void *)c->arg;
	const struct nm_kmod_range *rg = (const void *)c->rg;
	const struct nm_kmod_page_fail *f = (const void *)c->fails;
	uint64_t moved = 0, failed = 0, skipped = 0;
	uint32_t i, j;

	/* the outputs overlap: what we read back is not what was written */
	if (fz_overlap(c->arg, sizeof(*m), c->rg,
		       in->nr_ranges * sizeof(*rg)) ||
	    (in->max_fails &&
	     (fz_overlap(c->fails, in->max_fails * sizeof(*f), c->arg,
			 sizeof(*m)) ||
	      fz_overlap(c->fails, in->max_fails * sizeof(*f), c->rg,
			 in->nr_ranges * sizeof(*rg)))))
		return;
	for (i = 0; i < in->nr_ranges; i++) {
		if (rg[i].start != fz_model[i].start ||
		    rg[i].length != fz_model[i].length)
			FZ_FAIL(c, it, "range %u: start/length changed", i);
		if (rg[i].moved + rg[i].failed + rg[i].skipped !=
		    fz_model[i].length / pagesz)
			FZ_FAIL(c, it, "range %u: moved %llu + failed %llu + skipped %llu != %llu pages",
				i, (unsigned long long)rg[i].moved,
				(unsigned long long)rg[i].failed,
				(unsigned long long)rg[i].skipped,
				(unsigned long long)(fz_model[i].length / pagesz));
		moved += rg[i].moved;
		failed += rg[i].failed;
		skipped += rg[i].skipped;
	}
	if (m->moved != moved || m->failed != failed || m->skipped != skipped)
		FZ_FAIL(c, it, "totals %llu/%llu/%llu, ranges sum to %llu/%llu/%llu",
			(unsigned long long)m->moved,
			(unsigned long long)m->failed,
			(unsigned long long)m->skipped,
			(unsigned long long)moved, (unsigned long long)failed,
			(unsigned long long)skipped);
	if (m->nr_fails > in->max_fails || m->nr_fails > m->failed)
		FZ_FAIL(c, it, "nr_fails %u (max %u, failed %llu)",
			m->nr_fails, in->max_fails,
			(unsigned long long)m->failed);
	for (j = 0; j < m->nr_fails && j < in->max_fails; j++) {
		int inside = 0;

		for (i = 0; i < in->nr_ranges && !inside; i++)
			inside = f[j].addr >= fz_model[i].start &&
				 f[j].addr - fz_model[i].start <
				 fz_model[i].length;
		if (!inside || f[j].addr % pagesz ||
		    f[j].reason < NM_KMOD_FAIL_BUSY ||
		    f[j].reason > NM_KMOD_FAIL_INTR || f[j].node < -1 ||
		    f[j].node >= fz_nr_node_ids) {
			FZ_FAIL(c, it, "fail entry %u: addr %#llx reason %u node %d",
				j, (unsigned long long)f[j].addr, f[j].reason,
				f[j].node);
			break;
		}
	}
	if (m->threads_used < 1 || m->threads_used > NM_KMOD_MAX_THREADS ||
	    (in->threads && m->threads_used > in->threads))
		FZ_FAIL(c, it, "threads_used %u for threads %u",
			m->threads_used, in->threads);
	if (in->copy_mode == NM_KMOD_COPY_CPU &&
	    (m->dma_batches || m->dma_fallbacks))
		FZ_FAIL(c, it, "CPU copy reports DMA batches");
	if (m->reserved[0] || m->reserved[1] || m->reserved[2] ||
	    m->reserved[3])
		FZ_FAIL(c, it, "reserved fields written");
	if (changed > m->moved || (exact && changed != m->moved))
		FZ_FAIL(c, it, "%llu pages changed node, %llu reported moved",
			(unsigned long long)changed,
			(unsigned long long)m->moved);
	fz_moved_pages += m->moved;
}

/*
 * The window pages the request's ranges cover: query them, compare with
 * what they were.  Returns the number that changed node; @bad_node gets
 * those not on @node.
 */
static size_t fz_track(struct fz_case *c, int node, size_t *bad_node,
		       int *exact)
{
	const struct nm_kmod_range *rg = fz_model;
	struct window *w = c->w;
	uint64_t wb, we;
	size_t *idx, n = 0, p, changed = 0;
	unsigned char *mark;
	int *st;
	uint32_t i;

	*bad_node = 0;
	*exact = c->nr_model > 0;
	if (!w || !c->nr_model)
		return 0;
	wb = (uintptr_t)w->base;
	we = wb + w->pages * pagesz;
	mark = calloc(w->pages, 1);
	idx = malloc(w->pages * sizeof(*idx));
	st = malloc(w->pages * sizeof(*st));
	if (!mark || !idx || !st) {
		CHECK(0, "fuzz: out of memory");
		goto out;
	}
	for (i = 0; i < c->nr_model; i++) {
		uint64_t s = rg[i].start, e = s + rg[i].length;

		if (!fz_range_ok(&rg[i])) {
			*exact = 0;
			continue;
		}
		if (s < wb || e > we)
			*exact = 0;
		if (e <= wb || s >= we)
			continue;
		s = s < wb ? wb : s;
		e = e > we ? we : e;
		for (p = (s - wb) / pagesz; p < (e - wb) / pagesz; p++)
			mark[p] = 1;
	}
	for (p = 0; p < w->pages; p++)
		if (mark[p])
			idx[n++] = p;
	if (n && window_query(w, idx, n, st)) {
		CHECK(0, "fuzz: move_pages query: %s", strerror(errno));
		goto out;
	}
	for (p = 0; p < n; p++) {
		if (st[p] == w->status[idx[p]])
			continue;
		changed++;
		if (st[p] != node)
			(*bad_node)++;
		w->status[idx[p]] = st[p];
	}
out:
	free(mark);
	free(idx);
	free(st);
	return changed;
}

/* Nothing of either window moved unless a request asked for it. */
static void fz_full_check(long from, long to, int record)
{
	int k;

	for (k = 0; k < 2; k++) {
		struct window *w = &fz_win[k];
		size_t *idx = malloc(w->pages * sizeof(*idx)), p, diff = 0;
		int *st = malloc(w->pages * sizeof(*st));

		if (!idx || !st) {
			CHECK(0, "fuzz: out of memory");
			free(idx);
			free(st);
			return;
		}
		for (p = 0; p < w->pages; p++)
			idx[p] = p;
		if (window_query(w, idx, w->pages, st)) {
			CHECK(0, "fuzz: move_pages query: %s",
			      strerror(errno));
		} else {
			for (p = 0; p < w->pages; p++) {
				if (st[p] != w->status[p]) {
					if (!diff && !record)
						printf("  fuzz: %s page %zu: %d -> %d\n",
						       k ? "child" : "self", p,
						       w->status[p], st[p]);
					diff++;
					w->status[p] = st[p];
				}
			}
			CHECK(record || !diff, "fuzz: %zu %s window pages moved outside any request in iterations %ld..%ld",
			      diff, k ? "child" : "self", from, to);
		}
		free(idx);
		free(st);
	}
}

static void fz_one_move(long it)
{
	struct fz_case c;
	size_t changed, bad_node, fails_len, rg_len;
	int got, exact;
	double t;

	memset(&c, 0, sizeof(c));
	c.cmd = NM_KMOD_IOC_MOVE;
	fz_gen_move(&c);
	c.expect = fz_expect_move(&c);
	t = now();
	got = ioctl(kc.fd, c.cmd, (void *)c.arg) < 0 ? errno : 0;
	t = now() - t;
	if (got)
		fz_t_err += t;
	else if (c.m.nr_ranges > 64)
		fz_t_big += t;
	else
		fz_t_ok += t;
	fz_calls++;
	fz_errno_count[got < 64 ? got : 63]++;
	if (!c.expect && got)
		FZ_FAIL(&c, it, "got %s, expected success", strerror(got));
	else if (c.expect && !(got && got < 64 && (c.expect & EBIT(got))))
		FZ_FAIL(&c, it, "got %s", got ? strerror(got) : "success");
	changed = fz_track(&c, c.m.node, &bad_node, &exact);
	if (got && changed)
		FZ_FAIL(&c, it, "%zu pages moved although the call failed (%s)",
			changed, strerror(got));
	/* a failed call leaves the request and the ranges as they were */
	fails_len = c.m.max_fails <= NM_KMOD_MAX_FAILS ?
		    (size_t)c.m.max_fails * sizeof(struct nm_kmod_page_fail) :
		    0;
	rg_len = (size_t)c.nr_model * sizeof(struct nm_kmod_range);
	if (got && fz_access(c.arg, sizeof(c.m), 1) &&
	    !fz_overlap(c.fails, fails_len, c.arg, sizeof(c.m)) &&
	    memcmp((void *)c.arg, &c.m, sizeof(c.m)))
		FZ_FAIL(&c, it, "the request changed although the call failed (%s)",
			strerror(got));
	if (got && rg_len && fz_access(c.rg, rg_len, 1) &&
	    !fz_overlap(c.fails, fails_len, c.rg, rg_len) &&
	    memcmp((void *)c.rg, fz_model, rg_len))
		FZ_FAIL(&c, it, "the ranges changed although the call failed (%s)",
			strerror(got));
	if (!got && bad_node)
		FZ_FAIL(&c, it, "%zu pages moved elsewhere than node %d",
			bad_node, c.m.node);
	if (!got)
		fz_check_out(&c, it, changed, exact && c.w);
}

static void fz_one_version(long it)
{
	struct nm_kmod_version v;
	struct fz_case c;
	const struct nm_kmod_version *o;
	int got;

	memset(&c, 0, sizeof(c));
	c.cmd = NM_KMOD_IOC_VERSION;
	memset(&v, 0, sizeof(v));
	v.size = chance(60) ? sizeof(v) :
		 PICK(0, 8, sizeof(v) - 1, sizeof(v) + 1,
		      sizeof(struct nm_kmod_move), UINT32_MAX, rnd());
	if (chance(50)) {
		v.abi_version = rnd();
		v.caps = rnd();
		v.max_ranges = rnd();
		v.reserved[rndn(4)] = rnd();
	}
	c.v = v;
	c.arg_cat = fz_pick_cat(30);
	if (c.arg_cat == P_IN_REQ || c.arg_cat == P_ON_RANGES)
		c.arg_cat = P_MISALIGNED;
	c.arg = fz_place(c.arg_cat, FZ_REQ, FZ_REQ_RO, sizeof(v), 1, 0, 0);
	if (c.arg_cat == P_STRADDLE)
		c.arg = fz_reg[FZ_REQ].end - 1 - rndn(sizeof(v) - 1);
	fz_poke(c.arg, &v, sizeof(v));
	if (!fz_access(c.arg, sizeof(v), 0))
		c.expect = EBIT(EFAULT);
	else
		c.expect = (v.size != sizeof(v) ? EBIT(EINVAL) : 0) |
			   (!fz_access(c.arg, sizeof(v), 1) ? EBIT(EFAULT) : 0);
	got = ioctl(kc.fd, c.cmd, (void *)c.arg) < 0 ? errno : 0;
	fz_calls++;
	fz_errno_count[got < 64 ? got : 63]++;
	if (!c.expect && got)
		FZ_FAIL(&c, it, "version: got %s, expected success",
			strerror(got));
	else if (c.expect && !(got && got < 64 && (c.expect & EBIT(got))))
		FZ_FAIL(&c, it, "version: got %s",
			got ? strerror(got) : "success");
	if (got && fz_access(c.arg, sizeof(v), 1) &&
	    memcmp((void *)c.arg, &v, sizeof(v)))
		FZ_FAIL(&c, it, "version: the struct changed although the call failed (%s)",
			strerror(got));
	if (got)
		return;
	o = (const void *)c.arg;
	if (o->abi_version != NM_KMOD_ABI_VERSION || o->size != sizeof(v) ||
	    o->max_ranges != NM_KMOD_MAX_RANGES ||
	    o->max_fails != NM_KMOD_MAX_FAILS ||
	    o->max_threads != NM_KMOD_MAX_THREADS ||
	    o->max_batch != NM_KMOD_MAX_BATCH || o->page_size != pagesz ||
	    (o->caps & ~(NM_KMOD_CAP_CPU_COPY | NM_KMOD_CAP_DMA_COPY |
			 NM_KMOD_CAP_DMA_CHAN | NM_KMOD_CAP_FAIL_ARRAY)) ||
	    o->reserved[0] || o->reserved[1] || o->reserved[2] ||
	    o->reserved[3])
		FZ_FAIL(&c, it, "version: wrong answer (abi %u caps %#x)",
			o->abi_version, o->caps);
}

static void fz_one_cmd(long it)
{
	struct fz_case c;
	int got;

	memset(&c, 0, sizeof(c));
	do {
		c.cmd = _IOC(rndn(4), NM_KMOD_IOC_MAGIC,
			     chance(30) ? rndn(2) : rndn(256), rndn(1 << 14));
	} while (c.cmd == NM_KMOD_IOC_VERSION || c.cmd == NM_KMOD_IOC_MOVE);
	c.arg_cat = fz_pick_cat(30);
	if (c.arg_cat == P_IN_REQ || c.arg_cat == P_ON_RANGES)
		c.arg_cat = P_MISALIGNED;
	c.arg = fz_place(c.arg_cat, FZ_REQ, FZ_REQ_RO, 8, 1, 0, 0);
	c.expect = EBIT(ENOTTY);
	got = ioctl(kc.fd, c.cmd, (void *)c.arg) < 0 ? errno : 0;
	fz_calls++;
	fz_errno_count[got < 64 ? got : 63]++;
	if (got != ENOTTY)
		FZ_FAIL(&c, it, "unknown ioctl: got %s",
			got ? strerror(got) : "success");
}

/* Sysfs node list ("0-3,5") into @mask; returns the highest node + 1. */
static int fz_read_nodes(const char *path, unsigned char *mask)
{
	char buf[256], *s = buf;
	FILE *f = fopen(path, "r");
	int top = 0;

	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	while (*s >= '0' && *s <= '9') {
		char *e;
		long a = strtol(s, &e, 10), b = a, n;

		if (*e == '-')
			b = strtol(e + 1, &e, 10);
		for (n = a; n <= b && n < MAX_NODES_FZ; n++)
			mask[n] = 1;
		if (b + 1 > top)
			top = b + 1;
		s = *e == ',' ? e + 1 : e;
	}
	return top;
}

/* MemFree in KiB, or -1. */
static long fz_memfree(void)
{
	char line[128];
	long kb = -1;
	FILE *f;

	f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemFree: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* The scratch child: builds its window, reports it, verifies at the end. */
static int fz_child_main(int wfd, int rfd, uint64_t seed)
{
	struct window w;
	size_t bad;
	char c;

	if (window_make(&w, 1, seed))
		return 2;
	window_spread(&w, numa_max_node() + 1);
	if (write(wfd, &w, sizeof(w)) != sizeof(w))
		return 2;
	if (read(rfd, &c, 1) != 1)
		return 2;
	bad = window_verify(&w);
	if (write(wfd, &bad, sizeof(bad)) != sizeof(bad))
		return 2;
	return bad ? 1 : 0;
}

static void case_fuzz(void)
{
	int to_parent[2], to_child[2], st, k;
	unsigned char possible[MAX_NODES_FZ] = { 0 };
	double t0 = now(), t;
	size_t bad = 0, cbad = (size_t)-1, p;
	long free0 = fz_memfree(), free1;
	long it, last_full = 0;
	char c = 'v';
	void *probe;

	if (!fuzz_seed_set)
		fuzz_seed = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^
			    (uint64_t)(now() * 1e9);
	rng_state = fuzz_seed;
	printf("fuzz: seed %#llx, %ld iterations (reproduce: --fuzz-seed %#llx --fuzz-iterations %ld)\n",
	       (unsigned long long)fuzz_seed, fuzz_iters,
	       (unsigned long long)fuzz_seed, fuzz_iters);

	/* 5-level paging moves the top of user space */
	probe = mmap((void *)(1ULL << 52), pagesz, PROT_READ,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	task_size_max = (probe == (void *)(1ULL << 52) ? 1ULL << 56 :
			 1ULL << 47) - pagesz;
	if (probe != MAP_FAILED)
		munmap(probe, pagesz);
	fz_nr_node_ids = fz_read_nodes("/sys/devices/system/node/possible",
				       possible);
	fz_read_nodes("/sys/devices/system/node/has_memory", fz_has_memory);
	if (fz_nr_node_ids < 1) {
		CHECK(0, "fuzz: cannot read the possible nodes");
		return;
	}

	/* targets: the scratch child, a zombie, a pid that does not exist */
	if (pipe(to_parent) || pipe(to_child)) {
		CHECK(0, "pipe");
		return;
	}
	fflush(stdout);
	fz_child = fork();
	if (fz_child == 0) {
		close(to_parent[0]);
		close(to_child[1]);
		_exit(fz_child_main(to_parent[1], to_child[0], fuzz_seed ^ 1));
	}
	close(to_parent[1]);
	close(to_child[0]);
	if (fz_child < 0 ||
	    read(to_parent[0], &fz_win[1], sizeof(fz_win[1])) !=
	    sizeof(fz_win[1])) {
		CHECK(0, "fuzz: scratch child did not start");
		goto out_child;
	}
	fz_win[1].pid = fz_child;
	fz_zombie = fork();
	if (fz_zombie == 0)
		_exit(0);
	if (fz_zombie > 0) {
		siginfo_t si;

		waitid(P_PID, fz_zombie, &si, WEXITED | WNOWAIT);
	}
	fz_nopid = read_param("/proc/sys/kernel/pid_max");
	for (fz_nopid = fz_nopid > 301 ? fz_nopid - 1 : 32767;
	     fz_nopid > 300; fz_nopid--)
		if (kill(fz_nopid, 0) && errno == ESRCH)
			break;

	if (window_make(&fz_win[0], 0, fuzz_seed ^ 2) || fz_arena_make()) {
		CHECK(0, "fuzz: scratch memory: %s", strerror(errno));
		goto out_child;
	}
	window_spread(&fz_win[0], numa_max_node() + 1);
	for (k = 0; k < 2; k++) {
		fz_win[k].status = calloc(fz_win[k].pages, sizeof(int));
		for (p = 0; p < fz_win[k].pages; p++)
			fz_win[k].status[p] = INT32_MIN;
	}
	fz_full_check(0, 0, 1);	/* where the pages start */
	printf("  fuzz: child %d window %p (%zu pages), own window %p, nodes %d, zombie %d, no such pid %d, top of user space %#llx\n",
	       (int)fz_child, (void *)fz_win[1].base, fz_win[1].pages,
	       (void *)fz_win[0].base, fz_nr_node_ids, (int)fz_zombie,
	       (int)fz_nopid, (unsigned long long)task_size_max);

	for (it = 0; it < fuzz_iters; it++) {
		int r = rndn(100);

		if (r < 88)
			fz_one_move(it);
		else if (r < 95)
			fz_one_version(it);
		else
			fz_one_cmd(it);
		if ((it + 1) % 128 == 0) {
			fz_full_check(last_full, it, 0);
			last_full = it + 1;
		}
	}
	fz_full_check(last_full, it, 0);
	t = now() - t0;

	bad = window_verify(&fz_win[0]);
	if (write(to_child[1], &c, 1) != 1 ||
	    read(to_parent[0], &cbad, sizeof(cbad)) != sizeof(cbad))
		CHECK(0, "fuzz: the scratch child did not answer");
	CHECK(!bad, "fuzz: %zu pages of our scratch window damaged", bad);
	CHECK(!cbad, "fuzz: %zu pages of the child's scratch window damaged",
	      cbad);
	printf("  %-28s %ld calls in %.1f s: ok %ld, EINVAL %ld, EFAULT %ld, E2BIG %ld, ENODEV %ld, ESRCH %ld, ENOTTY %ld, other %ld; %ld pages moved; %zu+%zu pages verified; %ld violations\n",
	       "ioctl fuzz", fz_calls, t, fz_errno_count[0],
	       fz_errno_count[EINVAL], fz_errno_count[EFAULT],
	       fz_errno_count[E2BIG], fz_errno_count[ENODEV],
	       fz_errno_count[ESRCH], fz_errno_count[ENOTTY],
	       fz_calls - fz_errno_count[0] - fz_errno_count[EINVAL] -
	       fz_errno_count[EFAULT] - fz_errno_count[E2BIG] -
	       fz_errno_count[ENODEV] - fz_errno_count[ESRCH] -
	       fz_errno_count[ENOTTY], fz_moved_pages, fz_win[0].pages,
	       fz_win[1].pages, fz_violations);
	printf("  %-28s %.1f s in moves (%.1f s in those of > 64 ranges), %.1f s in refused ones\n",
	       "", fz_t_ok + fz_t_big, fz_t_big, fz_t_err);
	printf("fuzz: seed %#llx, %ld iterations, %.1f s, %s\n",
	       (unsigned long long)fuzz_seed, fuzz_iters, t,
	       fz_violations || bad || cbad ? "FAILED" : "passed");

out_child:
	close(to_child[1]);
	if (fz_child > 0)
		waitpid(fz_child, &st, 0);
	if (fz_zombie > 0)
		waitpid(fz_zombie, &st, 0);
	close(to_parent[0]);
	for (k = 0; k < 2; k++) {
		free(fz_win[k].status);
		fz_win[k].status = NULL;
	}
	if (fz_win[0].splice[0] >= 0) {
		close(fz_win[0].splice[0]);
		close(fz_win[0].splice[1]);
	}
	if (fz_win[0].base)
		munmap(fz_win[0].base, W_PAGES * pagesz);
	if (fz_arena && fz_arena != MAP_FAILED)
		munmap(fz_arena, fz_arena_len);
	/*
	 * A coarse leak check: everything the phase allocated is gone again.
	 * What stays is the per-CPU free lists of the nodes the pages moved
	 * to (up to about 15 MiB in the 4-node guest); leaking one page per
	 * moved page would be several times more.
	 */
	free1 = fz_memfree();
	printf("  %-28s MemFree %ld -> %ld KiB (%+ld)\n", "fuzz: memory", free0,
	       free1, free1 - free0);
	CHECK(free0 < 0 || free1 < 0 || free0 - free1 < 32768,
	      "fuzz: %ld KiB less free memory after the phase", free0 - free1);
}

/* ---- benchmark ------------------------------------------------------------ */

struct bench_row {
	char name[40];
	double secs;
	size_t moved;
	double copy_share;	/* kmod: copy time / ioctl time; else -1 */
};

static struct bench_row rows[32];
static int nrows;

/* Keeps the fastest of the rounds for each method. */
static void add_row(const char *name, double secs, size_t moved,
		    double copy_share)
{
	int i;

	for (i = 0; i < nrows; i++) {
		if (!strcmp(rows[i].name, name)) {
			if (secs < rows[i].secs) {
				rows[i].secs = secs;
				rows[i].moved = moved;
				rows[i].copy_share = copy_share;
			}
			return;
		}
	}
	if (nrows >= (int)(sizeof(rows) / sizeof(rows[0])))
		return;
	snprintf(rows[nrows].name, sizeof(rows[nrows].name), "%s", name);
	rows[nrows].secs = secs;
	rows[nrows].moved = moved;
	rows[nrows].copy_share = copy_share;
	nrows++;
}

static void bench_kmod(const char *name, uint32_t mode, uint32_t threads)
{
	size_t bytes = bench_mb << 20, npages = bytes / pagesz, bad;
	struct nm_kmod_totals tot;
	char *buf = alloc_on(bytes, src_node, 0);
	double t;

	if (!buf)
		return;
	fill(buf, npages, 3);
	t = now();
	if (kmove(0, buf, bytes, dst_node, mode, threads, 0, &tot, NULL, 0)) {
		CHECK(0, "bench %s", name);
		numa_free(buf, bytes);
		return;
	}
	t = now() - t;
	bad = verify_data(buf, npages, 3);
	CHECK(!bad && tot.moved == npages, "bench %s: moved %llu, %zu bad",
	      name, (unsigned long long)tot.moved, bad);
	add_row(name, t, tot.moved,
		tot.total_ns ? (double)tot.copy_ns / tot.total_ns : -1);
	numa_free(buf, bytes);
}

static void bench_move_pages(void)
{
	size_t bytes = bench_mb << 20, npages = bytes / pagesz, i, moved = 0;
	char *buf = alloc_on(bytes, src_node, 0);
	void **pages = calloc(npages, sizeof(*pages));
	int *nodes = calloc(npages, sizeof(*nodes));
	int *status = calloc(npages, sizeof(*status));
	double t;

	if (!buf || !pages || !nodes || !status)
		return;
	fill(buf, npages, 5);
	for (i = 0; i < npages; i++) {
		pages[i] = buf + i * pagesz;
		nodes[i] = dst_node;
	}
	t = now();
	if (move_pages(0, npages, pages, nodes, status, MPOL_MF_MOVE) < 0)
		perror("move_pages");
	t = now() - t;
	for (i = 0; i < npages; i++)
		moved += status[i] == dst_node;
	CHECK(!verify_data(buf, npages, 5), "move_pages data");
	add_row("move_pages(2)", t, moved, -1);
	numa_free(buf, bytes);
	free(pages);
	free(nodes);
	free(status);
}

/* numactl's migratepages(8) on a child holding the buffer, exec included. */
static void bench_migratepages(void)
{
	size_t bytes = bench_mb << 20, npages = bytes / pagesz, on;
	int to_parent[2], to_child[2], st, fb;
	char cmd[128], *cbuf, c = 'x';
	double t;
	pid_t pid;

	if (system("command -v migratepages >/dev/null 2>&1")) {
		printf("  migratepages not installed: row left out\n");
		return;
	}
	if (pipe(to_parent) || pipe(to_child))
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char *buf = alloc_on(bytes, src_node, 0);

		if (!buf)
			_exit(2);
		fill(buf, npages, 9);
		if (write(to_parent[1], &buf, sizeof(buf)) != sizeof(buf) ||
		    read(to_child[0], &c, 1) != 1)
			_exit(2);
		_exit(verify_data(buf, npages, 9) ? 1 : 0);
	}
	if (read(to_parent[0], &cbuf, sizeof(cbuf)) != sizeof(cbuf)) {
		waitpid(pid, &st, 0);
		return;
	}
	snprintf(cmd, sizeof(cmd), "migratepages %d %d %d", (int)pid,
		 src_node, dst_node);
	t = now();
	st = system(cmd);
	t = now() - t;
	CHECK(st == 0, "%s: %#x", cmd, st);
	on = pages_on_node(pid, cbuf, npages, dst_node, &fb);
	if (write(to_child[1], &c, 1) != 1)
		CHECK(0, "signal child");
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "migratepages data");
	add_row("migratepages(8)", t, on, -1);
	close(to_parent[0]);
	close(to_parent[1]);
	close(to_child[0]);
	close(to_child[1]);
}

static void bench(void)
{
	double ref = 0;
	char name[40];
	int t, i, round;

	printf("\nbenchmark: %zu MiB of 4 KiB pages, node %d -> %d, best of %d rounds\n",
	       bench_mb, src_node, dst_node, bench_rounds);
	for (round = 0; round < bench_rounds; round++) {
		bench_move_pages();
		for (t = 1; t <= max_threads; t++) {
			snprintf(name, sizeof(name), "kmod cpu, %d thread%s",
				 t, t > 1 ? "s" : "");
			bench_kmod(name, NM_KMOD_COPY_CPU, t);
		}
		if (do_dma)
			bench_kmod("kmod dma (test provider)",
				   NM_KMOD_COPY_DMA, 0);
		bench_migratepages();
	}

	for (i = 0; i < nrows; i++)
		if (!strcmp(rows[i].name, "move_pages(2)"))
			ref = rows[i].secs;
	printf("%-28s %10s %10s %10s %14s %7s\n", "method", "pages",
	       "seconds", "MB/s", "vs move_pages", "copy%");
	for (i = 0; i < nrows; i++) {
		double mbs = rows[i].moved * (double)pagesz / 1e6 /
			     rows[i].secs;

		printf("%-28s %10zu %10.3f %10.1f %13.2fx", rows[i].name,
		       rows[i].moved, rows[i].secs, mbs,
		       ref > 0 ? ref / rows[i].secs : 0.0);
		if (rows[i].copy_share >= 0)
			printf(" %6.0f%%\n", 100 * rows[i].copy_share);
		else
			printf(" %7s\n", "-");
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mb", required_argument, NULL, 'm' },
		{ "bench-mb", required_argument, NULL, 'b' },
		{ "src", required_argument, NULL, 's' },
		{ "dst", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "no-dma", no_argument, NULL, 'D' },
		{ "no-bench", no_argument, NULL, 'B' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "no-channel", no_argument, NULL, 'N' },
		{ "fuzz-seed", required_argument, NULL, 'S' },
		{ "fuzz-iterations", required_argument, NULL, 'I' },
		{ "fuzz-only", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	char err[NM_KMOD_ERRLEN];
	long saved_timeout;
	int o, t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'm': test_mb = strtoul(optarg, NULL, 0); break;
		case 'b': bench_mb = strtoul(optarg, NULL, 0); break;
		case 's': src_node = atoi(optarg); break;
		case 'd': dst_node = atoi(optarg); break;
		case 't': max_threads = atoi(optarg); break;
		case 'D': do_dma = 0; break;
		case 'B': do_bench = 0; break;
		case 'r': bench_rounds = atoi(optarg); break;
		case 'N': only_nochan = 1; break;
		case 'S':
			fuzz_seed = strtoull(optarg, NULL, 0);
			fuzz_seed_set = 1;
			break;
		case 'I': fuzz_iters = strtol(optarg, NULL, 0); break;
		case 'F': fuzz_only = 1; break;
		default:
			fprintf(stderr, "usage: %s [--mb N] [--bench-mb N] [--src N] [--dst N] [--threads N] [--no-dma] [--no-bench] [--rounds N] [--fuzz-seed N] [--fuzz-iterations N] [--fuzz-only]\n",
				argv[0]);
			return 99;
		}
	}
	pagesz = sysconf(_SC_PAGESIZE);
	if (numa_available() < 0 || numa_max_node() < dst_node ||
	    numa_max_node() < src_node) {
		fprintf(stderr, "nm-kmod-test: needs NUMA nodes %d and %d\n",
			src_node, dst_node);
		return 99;
	}
	if (nm_kmod_open(&kc, NULL, err)) {
		fprintf(stderr, "nm-kmod-test: %s\n", err);
		return 99;
	}
	printf("module ABI %u, caps %#x, max ranges %u fails %u threads %u batch %u\n",
	       kc.ver.abi_version, kc.ver.caps, kc.ver.max_ranges,
	       kc.ver.max_fails, kc.ver.max_threads, kc.ver.max_batch);
	if (only_nochan) {
		case_nochan();
		/* DMA requests now fall back to the CPU, DMA_STRICT: -ENODEV */
		if (fuzz_iters > 0) {
			fuzz_iters = fuzz_iters < 500 ? fuzz_iters : 500;
			case_fuzz();
		}
		nm_kmod_close(&kc);
		printf("%s: %d failure%s\n", failures ? "FAIL" : "PASS",
		       failures, failures == 1 ? "" : "s");
		return failures ? 1 : 0;
	}
	if (do_dma && !(kc.ver.caps & NM_KMOD_CAP_DMA_CHAN)) {
		fprintf(stderr, "nm-kmod-test: no DMA_MEMCPY channel (load nm_dmatest_provider.ko, or --no-dma)\n");
		return 99;
	}

	if (fuzz_only) {
		if (fuzz_iters > 0)
			case_fuzz();
		nm_kmod_close(&kc);
		printf("\n%s: %d failure%s\n", failures ? "FAIL" : "PASS",
		       failures, failures == 1 ? "" : "s");
		return failures ? 1 : 0;
	}

	printf("functional, %zu MiB buffers, node %d -> %d\n", test_mb,
	       src_node, dst_node);
	for (t = 1; t <= max_threads; t++) {
		char name[40];

		snprintf(name, sizeof(name), "cpu copy, %d thread%s", t,
			 t > 1 ? "s" : "");
		case_self(name, NM_KMOD_COPY_CPU, t, 0, 0, 0, 0);
	}
	case_self("cpu copy, default threads", NM_KMOD_COPY_CPU, 0, 0, 0, 0, 0);
	case_self("cpu copy, THP, batch 16", NM_KMOD_COPY_CPU, 0, 16, 1, 0, 0);
	if (do_dma) {
		case_self("dma copy", NM_KMOD_COPY_DMA, 0, 0, 0, 0, 0);
		case_self("dma copy, batch 1", NM_KMOD_COPY_DMA, 0, 1, 0, 0, 0);
		case_self("dma, 3 injected errors", NM_KMOD_COPY_DMA, 0, 64, 0,
			  3, 0);
		saved_timeout = read_param(MODPARAM "dma_timeout_ms");
		write_param(MODPARAM "dma_timeout_ms", 300);
		case_self("dma, 1 injected hang", NM_KMOD_COPY_DMA, 0, 64, 0, 0,
			  1);
		if (saved_timeout > 0)
			write_param(MODPARAM "dma_timeout_ms", saved_timeout);
		printf("  provider: completed %ld failed %ld hung %ld terminated %ld\n",
		       read_param(PROVIDER "completed"),
		       read_param(PROVIDER "failed"),
		       read_param(PROVIDER "hung"),
		       read_param(PROVIDER "terminated"));
		CHECK(read_param(PROVIDER "failed") >= 3 &&
		      read_param(PROVIDER "hung") >= 1 &&
		      read_param(PROVIDER "terminated") >= 1,
		      "provider counters do not show the injected faults");
	}
	case_vmas();
	case_hugetlb();
	case_child();
	case_permission();
	case_malformed();
	if (fuzz_iters > 0)
		case_fuzz();
	if (do_bench)
		bench();
	nm_kmod_close(&kc);
	printf("\n%s: %d failure%s\n", failures ? "FAIL" : "PASS", failures,
	       failures == 1 ? "" : "s");
	return failures ? 1 : 0;
}
