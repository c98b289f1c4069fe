/* SPDX-License-Identifier: MIT */
/*
 * nm-bench-job: the synthetic job of scripts/bench.sh.  PROCS processes x
 * THREADS threads; each process holds SIZE bytes of anonymous memory (4 KiB
 * pages or THP) split into MAPS mappings (separate VMAs, so the daemon's scan
 * sees an address space as fragmented as asked), written once by its threads
 * and then left quiet so a move is measured without a competing writer.
 * SIGUSR1 to the supervisor runs one timed pass: every thread of every
 * process reads and writes each 8-byte word of its slice once; the
 * supervisor prints "pass SECONDS" (the slowest process).  That is the job's
 * cost of touching its memory right after a move.  SIGUSR2: where its
 * memory is, "where N0 N1 OTHER THP" (4 KiB pages on nodes 0, 1, elsewhere
 * or not present, and pages that are part of a THP), so a benchmark under
 * TCG needs no slow helper process to look.  SIGTERM ends it.
 * Memory and CPU placement come from outside (numactl, a cgroup).
 */
#include <errno.h>
#include <getopt.h>
#include <numaif.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096ul
#define HUGE (2ul << 20)
#define MAX_PROCS 256
#define MAX_THREADS 256

static const char usage[] =
"Usage: nm-bench-job --size BYTES [--procs N] [--threads M] [--kind 4k|thp]\n"
"                    [--maps K]\n"
"SIZE per process (K/M/G suffix), in K mappings (default 1); prints\n"
"'pids: P1,...' and 'ready' once all memory is written; SIGUSR1: one timed\n"
"read+write pass over all memory, prints 'pass SECONDS'; SIGUSR2: prints\n"
"'where N0 N1 OTHER THP' (pages on node 0, node 1, elsewhere, in THPs);\n"
"SIGTERM: exit.\n";

/* A worker's answer to one request. */
struct reply {
	double secs, n0, n1, other, thp;
};

struct chunk {
	uint64_t *p;
	size_t words;
};

static struct chunk *chunks;
static size_t nchunks;
static int nthreads = 1;

/* Thread coordination: the main thread bumps gen, workers do a pass. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static unsigned long gen, done;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * One pass over thread t's share of every chunk: read, add, write back.
 * The first pass only writes: a read first would map the (huge) zero page,
 * and the write after it would then get 4 KiB pages instead of THP.
 */
static void pass(int t, int first)
{
	size_t c, i, lo, hi;

	for (c = 0; c < nchunks; c++) {
		lo = chunks[c].words * t / nthreads;
		hi = chunks[c].words * (t + 1) / nthreads;
		if (first) {
			for (i = lo; i < hi; i++)
				chunks[c].p[i] = i;
			continue;
		}
		for (i = lo; i < hi; i++)
			chunks[c].p[i] += i | 1;
	}
}

static void *worker(void *arg)
{
	int t = (int)(intptr_t)arg;
	unsigned long seen = 0;

	for (;;) {
		pthread_mutex_lock(&mu);
		while (gen == seen)
			pthread_cond_wait(&cv, &mu);
		seen = gen;
		pthread_mutex_unlock(&mu);
		pass(t, seen == 1);
		pthread_mutex_lock(&mu);
		done++;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

/* Runs one pass on all threads; returns its seconds. */
static double run_pass(void)
{
	double t0 = now();

	pthread_mutex_lock(&mu);
	done = 0;
	gen++;
	pthread_cond_broadcast(&cv);
	while (done < (unsigned long)nthreads)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return now() - t0;
}

/*
 * The memory: one PROT_NONE reservation; K chunks made writable with a
 * PROT_NONE guard between them, so each is its own VMA.  THP chunks are
 * 2 MiB aligned and sized so they can be huge.
 */
static int map_memory(size_t size, size_t maps, int thp)
{
	size_t unit = thp ? HUGE : PAGE, per, guard = unit, total, c;
	char *base;

	per = size / maps / unit * unit;
	if (per == 0) {
		fprintf(stderr, "nm-bench-job: %zu mappings of %zu bytes is too small\n",
			maps, size);
		return -1;
	}
	total = maps * (per + guard) + HUGE;
	base = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		    MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED) {
		perror("nm-bench-job: mmap");
		return -1;
	}
	base = (char *)(((uintptr_t)base + HUGE - 1) & ~(HUGE - 1));
	chunks = calloc(maps, sizeof(*chunks));
	if (!chunks)
		return -1;
	for (c = 0; c < maps; c++) {
		char *p = base + c * (per + guard);

		if (mprotect(p, per, PROT_READ | PROT_WRITE) ||
		    madvise(p, per, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE)) {
			perror("nm-bench-job: mprotect/madvise");
			return -1;
		}
		chunks[c].p = (uint64_t *)p;
		chunks[c].words = per / sizeof(uint64_t);
	}
	nchunks = maps;
	return 0;
}

/* The job's THP, in 4 KiB pages (smaps_rollup's AnonHugePages). */
static double thp_pages(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	double kb = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %lf", &kb) == 1)
			break;
	fclose(f);
	return kb / 4;
}

/* Where every page of the chunks is: move_pages(2) queries in batches. */
static void where(struct reply *r)
{
	enum { BATCH = 1024 };
	void *pages[BATCH];
	int status[BATCH];
	size_t c, off, n, i, bytes;

	for (c = 0; c < nchunks; c++) {
		bytes = chunks[c].words * sizeof(uint64_t);
		for (off = 0; off < bytes; off += n * PAGE) {
			n = (bytes - off) / PAGE < BATCH ? (bytes - off) / PAGE : BATCH;
			for (i = 0; i < n; i++)
				pages[i] = (char *)chunks[c].p + off + i * PAGE;
			if (move_pages(0, n, pages, NULL, status, 0)) {
				r->other += n;
				continue;
			}
			for (i = 0; i < n; i++) {
				if (status[i] == 0)
					r->n0++;
				else if (status[i] == 1)
					r->n1++;
				else
					r->other++;
			}
		}
	}
	r->thp = thp_pages();
}

/* A worker process: map, start threads, write once, then serve requests. */
static void process_main(size_t size, size_t maps, int thp, int wfd)
{
	struct reply r = { 0 };
	pthread_t th;
	sigset_t set;
	int t, sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (map_memory(size, maps, thp))
		_exit(1);
	for (t = 0; t < nthreads; t++)
		if (pthread_create(&th, NULL, worker, (void *)(intptr_t)t)) {
			fprintf(stderr, "nm-bench-job: pthread_create failed\n");
			_exit(1);
		}
	run_pass();		/* first touch */
	if (write(wfd, &r, sizeof(r)) != sizeof(r))
		_exit(1);
	for (;;) {
		if (sigwait(&set, &sig) || sig == SIGTERM)
			_exit(0);
		memset(&r, 0, sizeof(r));
		if (sig == SIGUSR1)
			r.secs = run_pass();
		else
			where(&r);
		if (write(wfd, &r, sizeof(r)) != sizeof(r))
			_exit(1);
	}
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end || v == 0)
		return -1;
	*out = v;
	return 0;
}

/* One reply from each worker: the slowest pass, the sum of the counts. */
static int collect(int *fds, int n, struct reply *sum)
{
	struct reply r;
	int i;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < n; i++) {
		if (read(fds[i], &r, sizeof(r)) != sizeof(r))
			return -1;
		if (r.secs > sum->secs)
			sum->secs = r.secs;
		sum->n0 += r.n0;
		sum->n1 += r.n1;
		sum->other += r.other;
		sum->thp += r.thp;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "procs", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "kind", required_argument, NULL, 'k' },
		{ "maps", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	size_t size = 0, maps = 1;
	int procs = 1, thp = 0, o, i, sig, fds[MAX_PROCS];
	pid_t pids[MAX_PROCS];
	struct reply sum;
	sigset_t set;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			if (parse_size(optarg, &size))
				goto bad;
			break;
		case 'p':
			procs = atoi(optarg);
			if (procs < 1 || procs > MAX_PROCS)
				goto bad;
			break;
		case 't':
			nthreads = atoi(optarg);
			if (nthreads < 1 || nthreads > MAX_THREADS)
				goto bad;
			break;
		case 'k':
			if (!strcmp(optarg, "thp"))
				thp = 1;
			else if (strcmp(optarg, "4k"))
				goto bad;
			break;
		case 'm':
			maps = strtoul(optarg, NULL, 10);
			if (maps < 1 || maps > 60000)
				goto bad;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (!size || optind != argc)
		goto bad;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (i = 0; i < procs; i++) {
		int p[2];

		if (pipe(p))
			return 1;
		pids[i] = fork();
		if (pids[i] < 0)
			return 1;
		if (pids[i] == 0) {
			close(p[0]);
			process_main(size, maps, thp, p[1]);
		}
		close(p[1]);
		fds[i] = p[0];
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("pids: ");
	for (i = 0; i < procs; i++)
		printf("%s%d", i ? "," : "", (int)pids[i]);
	printf("\n");
	if (collect(fds, procs, &sum))
		goto dead;
	printf("ready\n");
	for (;;) {
		if (sigwait(&set, &sig) || sig == SIGTERM)
			break;
		for (i = 0; i < procs; i++)
			kill(pids[i], sig);
		if (collect(fds, procs, &sum))
			goto dead;
		if (sig == SIGUSR1)
			printf("pass %.6f\n", sum.secs);
		else
			printf("where %.0f %.0f %.0f %.0f\n", sum.n0, sum.n1,
			       sum.other, sum.thp);
	}
	for (i = 0; i < procs; i++) {
		kill(pids[i], SIGTERM);
		kill(pids[i], SIGCONT);
		waitpid(pids[i], NULL, 0);
	}
	return 0;
dead:
	fprintf(stderr, "nm-bench-job: a worker process died\n");
	for (i = 0; i < procs; i++)
		kill(pids[i], SIGKILL);
	return 1;
bad:
	fprintf(stderr, "nm-bench-job: bad usage\n%s", usage);
	return 2;
}
