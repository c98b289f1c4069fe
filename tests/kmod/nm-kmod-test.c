/* SPDX-License-Identifier: MIT */
/*
 * nm-kmod-test: functional test and benchmark of kmod/numamigrate.ko, run
 * as root inside a multi-node guest (tests/vm/kmod.test) with the module
 * and, for the DMA cases, kmod/test/nm_dmatest_provider.ko loaded.
 *
 *   nm-kmod-test [--mb N] [--bench-mb N] [--src NODE] [--dst NODE]
 *                [--threads N] [--no-dma] [--no-bench] [--rounds N]
 *   nm-kmod-test --no-channel   (DMA requests with no provider loaded)
 *
 * Exit status: 0 all passed, 1 a check failed, 99 could not run.
 */
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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helper/kmod_client.h"

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

#define EXPECT(what, err, ...) do {					\
	int got_;							\
	base_move(&m, &r, page);					\
	__VA_ARGS__;							\
	got_ = raw_move(&m);						\
	CHECK(got_ == (err), "%s: got %s, expected %s", what,		\
	      strerror(got_), strerror(err));				\
	ran++;								\
} while (0)

static void case_malformed(void)
{
	struct nm_kmod_version v;
	struct nm_kmod_move m;
	struct nm_kmod_range r;
	char *page = alloc_on(pagesz, src_node, 0);
	int ran = 0, st, e;
	pid_t pid;

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
		default:
			fprintf(stderr, "usage: %s [--mb N] [--bench-mb N] [--src N] [--dst N] [--threads N] [--no-dma] [--no-bench] [--rounds N]\n",
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
		nm_kmod_close(&kc);
		printf("%s: %d failure%s\n", failures ? "FAIL" : "PASS",
		       failures, failures == 1 ? "" : "s");
		return failures ? 1 : 0;
	}
	if (do_dma && !(kc.ver.caps & NM_KMOD_CAP_DMA_CHAN)) {
		fprintf(stderr, "nm-kmod-test: no DMA_MEMCPY channel (load nm_dmatest_provider.ko, or --no-dma)\n");
		return 99;
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
	case_malformed();
	if (do_bench)
		bench();
	nm_kmod_close(&kc);
	printf("\n%s: %d failure%s\n", failures ? "FAIL" : "PASS", failures,
	       failures == 1 ? "" : "s");
	return failures ? 1 : 0;
}
