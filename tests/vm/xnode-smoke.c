/*
 * xnode-smoke: cross-node page migration smoke test (run it in a guest
 * with at least 3 NUMA nodes, see tests/vm/numa-vm).
 *
 * For base pages (MADV_NOHUGEPAGE) and, where the kernel gives them, for
 * transparent huge pages (MADV_HUGEPAGE, 2 MiB aligned):
 *   (a) fill a buffer bound to node FROM, move it to node TO with
 *       migrate_pages(2) on this process;
 *   (b) fill a fresh buffer on node FROM, move it to node TO with
 *       move_pages(2);
 * and after each move check every page's node (move_pages(2) query mode,
 * retried on -ENOENT, cross-checked with /proc/self/numa_maps) and every
 * byte of the data.
 *
 * Exit status: 0 all checks passed, 1 a check failed, 77 skipped (fewer
 * than 3 nodes, or FROM/TO lack memory), 99 hard error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <numa.h>
#include <numaif.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define EXIT_FAIL 1
#define EXIT_SKIP 77
#define EXIT_HARD 99

#define HUGE_SIZE (2UL << 20)

static const char *prog = "xnode-smoke";
static size_t page_size;
static int from_node;
static int to_node = 2;
static size_t buf_size = 64UL << 20;
static int query_tries = 10;
static bool verbose;
static bool thp_all_pages;

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("%s: ", prog);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	fflush(stdout);
}

static void hard_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void hard_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	fprintf(stderr, "%s: error: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(EXIT_HARD);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A buffer with PROT_NONE guard pages on both sides, so that its VMA never
 * merges with a neighbour and can be found in numa_maps and smaps. */
struct region {
	void *map;
	size_t map_size;
	char *p;
	size_t size;
	size_t npages;
	void **pages; /* one address per base page */
	int *status;
};

static void region_free(struct region *r)
{
	if (r->map)
		munmap(r->map, r->map_size);
	free(r->pages);
	free(r->status);
	memset(r, 0, sizeof(*r));
}

static uint64_t pattern(size_t page, size_t word)
{
	return ((uint64_t)page << 32) ^ ((uint64_t)word * UINT64_C(0x9e3779b97f4a7c15)) ^ UINT64_C(0x5eed);
}

static void region_alloc(struct region *r, bool thp)
{
	size_t align = thp ? HUGE_SIZE : page_size;
	uintptr_t start;
	struct bitmask *mask;

	memset(r, 0, sizeof(*r));
	r->size = buf_size;
	r->npages = buf_size / page_size;
	r->map_size = buf_size + align + 2 * page_size;
	r->map = mmap(NULL, r->map_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		hard_error("mmap %zu bytes: %s", r->map_size, strerror(errno));
	}
	start = ((uintptr_t)r->map + page_size + align - 1) & ~(uintptr_t)(align - 1);
	r->p = (char *)start;
	if (mprotect(r->p, r->size, PROT_READ | PROT_WRITE) != 0)
		hard_error("mprotect: %s", strerror(errno));
	if (madvise(r->p, r->size, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) != 0)
		hard_error("madvise(%s): %s", thp ? "MADV_HUGEPAGE" : "MADV_NOHUGEPAGE", strerror(errno));

	/* Bind to FROM while faulting the pages in, then drop the policy (the
	 * pages stay where they are) so that only the moves place them. */
	mask = numa_allocate_nodemask();
	numa_bitmask_setbit(mask, (unsigned)from_node);
	if (mbind(r->p, r->size, MPOL_BIND, mask->maskp, mask->size + 1, 0) != 0)
		hard_error("mbind(MPOL_BIND, node %d): %s", from_node, strerror(errno));
	numa_free_nodemask(mask);

	for (size_t pg = 0; pg < r->npages; pg++) {
		uint64_t *w = (uint64_t *)(r->p + pg * page_size);
		for (size_t i = 0; i < page_size / sizeof(*w); i++)
			w[i] = pattern(pg, i);
	}
	if (mbind(r->p, r->size, MPOL_DEFAULT, NULL, 0, 0) != 0)
		hard_error("mbind(MPOL_DEFAULT): %s", strerror(errno));

	r->pages = calloc(r->npages, sizeof(*r->pages));
	r->status = calloc(r->npages, sizeof(*r->status));
	if (!r->pages || !r->status)
		hard_error("out of memory");
	for (size_t pg = 0; pg < r->npages; pg++)
		r->pages[pg] = r->p + pg * page_size;
}

/* The data: every word of every page still holds its pattern. */
static bool check_data(const struct region *r, const char *what)
{
	size_t bad = 0, first = 0;

	for (size_t pg = 0; pg < r->npages; pg++) {
		const uint64_t *w = (const uint64_t *)(r->p + pg * page_size);
		for (size_t i = 0; i < page_size / sizeof(*w); i++) {
			if (w[i] != pattern(pg, i)) {
				if (bad++ == 0)
					first = pg;
				break;
			}
		}
	}
	if (bad) {
		msg("FAIL: %s: data of %zu of %zu pages corrupted (first: page %zu)", what, bad, r->npages, first);
		return false;
	}
	return true;
}

/* Find the numa_maps (or smaps) entry of the region; sum "N<node>=" counts
 * (numa_maps) or read AnonHugePages (smaps, in kB). */
static bool numa_maps_counts(const struct region *r, long *counts, int nnodes)
{
	FILE *f = fopen("/proc/self/numa_maps", "r");
	char line[4096];
	bool found = false;

	if (!f)
		return false;
	for (int n = 0; n < nnodes; n++)
		counts[n] = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long addr = strtoul(line, NULL, 16);
		if (addr != (uintptr_t)r->p)
			continue;
		found = true;
		for (char *tok = strtok(line, " \n"); tok; tok = strtok(NULL, " \n")) {
			int node;
			long cnt;
			if (sscanf(tok, "N%d=%ld", &node, &cnt) == 2 && node >= 0 && node < nnodes)
				counts[node] = cnt;
		}
		break;
	}
	fclose(f);
	return found;
}

static long anon_huge_kb(const struct region *r)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false;
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			if (in)
				break;
			in = lo == (uintptr_t)r->p;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/*
 * Every page of the region is on node `want`.  move_pages(2) in query mode
 * gives each page's node; right after a migration (and with automatic NUMA
 * balancing) it can report -ENOENT for present pages, so those are queried
 * again a few times, and the totals are cross-checked with numa_maps.
 */
static bool check_nodes(struct region *r, int want, const char *what)
{
	int nnodes = numa_max_node() + 1;
	long *counts = calloc((size_t)nnodes, sizeof(*counts));
	size_t *todo = malloc(r->npages * sizeof(*todo));
	void **addrs = malloc(r->npages * sizeof(*addrs));
	int *st = malloc(r->npages * sizeof(*st));
	size_t ntodo = r->npages;
	bool ok = true;

	if (!counts || !todo || !addrs || !st)
		hard_error("out of memory");
	for (size_t i = 0; i < r->npages; i++)
		todo[i] = i;
	for (int attempt = 0; attempt < query_tries && ntodo > 0 && ok; attempt++) {
		size_t left = 0, enoent = 0;

		if (attempt > 0)
			usleep(20000U * (unsigned)attempt);
		for (size_t i = 0; i < ntodo; i++)
			addrs[i] = r->pages[todo[i]];
		if (move_pages(0, ntodo, addrs, NULL, st, 0) != 0) {
			msg("FAIL: %s: move_pages query: %s", what, strerror(errno));
			ok = false;
			break;
		}
		for (size_t i = 0; i < ntodo; i++) {
			if (st[i] == want) {
				continue;
			} else if (st[i] == -ENOENT) {
				enoent++;
				todo[left++] = todo[i];
			} else if (st[i] >= 0) {
				msg("FAIL: %s: page %zu is on node %d, not %d", what, todo[i], st[i], want);
				ok = false;
				break;
			} else {
				msg("FAIL: %s: page %zu: move_pages query: %s", what, todo[i], strerror(-st[i]));
				ok = false;
				break;
			}
		}
		ntodo = left;
		if (verbose && enoent)
			msg("%s: query %d: %zu pages -ENOENT", what, attempt + 1, enoent);
	}

	if (ok && !numa_maps_counts(r, counts, nnodes)) {
		msg("FAIL: %s: region not found in /proc/self/numa_maps", what);
		ok = false;
	}
	if (ok) {
		for (int n = 0; n < nnodes; n++) {
			if (n != want && counts[n] != 0) {
				msg("FAIL: %s: numa_maps: %ld pages on node %d", what, counts[n], n);
				ok = false;
			}
		}
		if (counts[want] != (long)r->npages) {
			msg("FAIL: %s: numa_maps: %ld of %zu pages on node %d", what, counts[want], r->npages, want);
			ok = false;
		}
	}
	if (ok && ntodo > 0)
		msg("%s: %zu pages still -ENOENT after %d queries; numa_maps has all %zu on node %d", what, ntodo,
		    query_tries, r->npages, want);
	free(counts);
	free(todo);
	free(addrs);
	free(st);
	return ok;
}

static void report(const char *what, double secs, const struct region *r, long thp_before, long thp_after)
{
	double mb = (double)r->size / 1e6;
	char thp[96] = "", label[64];

	if (thp_before >= 0)
		snprintf(thp, sizeof(thp), ", huge pages: %ld MiB before, %ld MiB after", thp_before / 1024,
			 thp_after / 1024);
	snprintf(label, sizeof(label), "%s:", what);
	msg("%-19s %zu pages on node %d, data ok, %.3f s, %.1f MB/s%s", label, r->npages, to_node, secs,
	    secs > 0 ? mb / secs : 0.0, thp);
}

/* (a): migrate_pages(2) on this process, FROM -> TO. */
static int test_migrate_pages(bool thp)
{
	const char *what = thp ? "thp  migrate_pages" : "base migrate_pages";
	struct region r;
	struct bitmask *from, *to;
	long before, after = -1;
	double t;
	int rc;

	region_alloc(&r, thp);
	before = thp ? anon_huge_kb(&r) : -1;
	if (thp && before <= 0) {
		msg("%s: skipped: the kernel gave no transparent huge pages", what);
		region_free(&r);
		return 0;
	}
	from = numa_allocate_nodemask();
	to = numa_allocate_nodemask();
	numa_bitmask_setbit(from, (unsigned)from_node);
	numa_bitmask_setbit(to, (unsigned)to_node);
	t = now();
	rc = numa_migrate_pages(0, from, to);
	t = now() - t;
	numa_free_nodemask(from);
	numa_free_nodemask(to);
	if (rc < 0) {
		msg("FAIL: %s: %s", what, strerror(errno));
		region_free(&r);
		return 1;
	}
	if (rc > 0)
		msg("%s: %d pages of the process could not be moved", what, rc);
	if (thp)
		after = anon_huge_kb(&r);
	if (!check_nodes(&r, to_node, what) || !check_data(&r, what)) {
		region_free(&r);
		return 1;
	}
	report(what, t, &r, before, after);
	region_free(&r);
	return 0;
}

/* (b): move_pages(2), FROM -> TO; for THP one address per huge page
 * unless -a. */
static int test_move_pages(bool thp)
{
	const char *what = thp ? "thp  move_pages" : "base move_pages";
	struct region r;
	size_t stride = thp && !thp_all_pages ? HUGE_SIZE / page_size : 1, n = 0;
	void **addrs;
	int *nodes, *st;
	long before, after = -1, rc;
	double t;
	bool ok = true;

	region_alloc(&r, thp);
	before = thp ? anon_huge_kb(&r) : -1;
	if (thp && before <= 0) {
		msg("%s: skipped: the kernel gave no transparent huge pages", what);
		region_free(&r);
		return 0;
	}
	addrs = calloc(r.npages, sizeof(*addrs));
	nodes = calloc(r.npages, sizeof(*nodes));
	st = calloc(r.npages, sizeof(*st));
	if (!addrs || !nodes || !st)
		hard_error("out of memory");
	for (size_t pg = 0; pg < r.npages; pg += stride) {
		addrs[n] = r.pages[pg];
		nodes[n] = to_node;
		st[n] = INT32_MIN;
		n++;
	}
	t = now();
	rc = move_pages(0, n, addrs, nodes, st, MPOL_MF_MOVE);
	t = now() - t;
	if (rc < 0) {
		msg("FAIL: %s: %s", what, strerror(errno));
		ok = false;
	} else {
		if (rc > 0)
			msg("%s: %ld pages not migrated", what, rc);
		size_t busy_tails = 0;
		for (size_t i = 0; i < n && ok; i++) {
			/* Linux 6.1 reports -EBUSY for the tail pages of a THP
			 * queued through its head in the same call; the huge
			 * page moves as a whole, check_nodes() verifies. */
			if (thp && st[i] == -EBUSY && ((uintptr_t)addrs[i] & (HUGE_SIZE - 1)) != 0) {
				busy_tails++;
				continue;
			}
			if (st[i] != to_node) {
				msg("FAIL: %s: status of page %zu: %d (%s)", what, i * stride, st[i],
				    st[i] < 0 && st[i] != INT32_MIN ? strerror(-st[i]) : "wrong node");
				ok = false;
			}
		}
		if (busy_tails)
			msg("%s: %zu THP tail pages reported -EBUSY (moved with their head)", what,
			    busy_tails);
	}
	if (thp)
		after = anon_huge_kb(&r);
	ok = ok && check_nodes(&r, to_node, what) && check_data(&r, what);
	if (ok)
		report(what, t, &r, before, after);
	free(addrs);
	free(nodes);
	free(st);
	region_free(&r);
	return ok ? 0 : 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [-s MiB] [-f FROM] [-t TO] [-H] [-q TRIES] [-v]\n"
		"  -s MiB    buffer size (default 64)\n"
		"  -f FROM   source node (default 0)\n"
		"  -t TO     target node (default 2)\n"
		"  -H        skip the transparent huge page part\n"
		"  -a        THP move_pages: pass every base page, not one per huge page\n"
		"  -q TRIES  move_pages queries per page on -ENOENT (default 10)\n"
		"  -v        verbose\n"
		"Exit: 0 pass, 1 fail, 77 skip (too few nodes), 99 error.\n",
		prog);
}

static long parse_num(const char *s, const char *opt, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "%s: %s: bad value '%s' (%ld..%ld)\n", prog, opt, s, min, max);
		exit(EXIT_HARD);
	}
	return v;
}

int main(int argc, char **argv)
{
	bool thp = true;
	int opt, failed = 0, nnodes;
	long long from_free = 0, to_free = 0;

	while ((opt = getopt(argc, argv, "s:f:t:Haq:vh")) != -1) {
		switch (opt) {
		case 's':
			buf_size = (size_t)parse_num(optarg, "-s", 2, 1 << 20) << 20;
			break;
		case 'f':
			from_node = (int)parse_num(optarg, "-f", 0, 4095);
			break;
		case 't':
			to_node = (int)parse_num(optarg, "-t", 0, 4095);
			break;
		case 'H':
			thp = false;
			break;
		case 'a':
			thp_all_pages = true;
			break;
		case 'q':
			query_tries = (int)parse_num(optarg, "-q", 1, 1000);
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_HARD;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_HARD;
	}
	if (buf_size % HUGE_SIZE)
		thp = false;
	setvbuf(stdout, NULL, _IOLBF, 0);
	page_size = (size_t)sysconf(_SC_PAGESIZE);

	if (numa_available() < 0) {
		msg("SKIP: NUMA is not available");
		return EXIT_SKIP;
	}
	nnodes = numa_max_node() + 1;
	if (nnodes < 3) {
		msg("SKIP: needs at least 3 NUMA nodes, this system has %d", nnodes);
		return EXIT_SKIP;
	}
	if (from_node == to_node) {
		fprintf(stderr, "%s: -f and -t must name different nodes\n", prog);
		return EXIT_HARD;
	}
	if (from_node >= nnodes || to_node >= nnodes) {
		msg("SKIP: nodes %d and %d: this system has nodes 0-%d", from_node, to_node, nnodes - 1);
		return EXIT_SKIP;
	}
	if (numa_node_size64(from_node, &from_free) <= 0 || numa_node_size64(to_node, &to_free) <= 0 ||
	    from_free < (long long)buf_size * 2 || to_free < (long long)buf_size * 2) {
		msg("SKIP: nodes %d and %d need %zu MiB free each (have %lld and %lld MiB)", from_node, to_node,
		    2 * buf_size >> 20, from_free >> 20, to_free >> 20);
		return EXIT_SKIP;
	}
	msg("%d nodes; moving %zu MiB from node %d to node %d, page size %zu", nnodes, buf_size >> 20, from_node,
	    to_node, page_size);

	failed += test_migrate_pages(false);
	failed += test_move_pages(false);
	if (thp) {
		failed += test_migrate_pages(true);
		failed += test_move_pages(true);
	}
	if (failed) {
		msg("FAIL: %d of %d checks failed", failed, thp ? 4 : 2);
		return EXIT_FAIL;
	}
	msg("PASS");
	return 0;
}
