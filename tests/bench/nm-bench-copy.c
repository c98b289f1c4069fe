/* SPDX-License-Identifier: MIT */
/*
 * nm-bench-copy: the machine's own node-to-node copy bandwidth, the limit
 * every move is measured against in scripts/bench.sh.  memcpy from a buffer
 * on SRC into one on DST by THREADS threads running on DST's CPUs (where
 * the migration engines run their copies), best of REPS.  Prints one JSON
 * object: {"src", "dst", "threads", "bytes", "seconds"}.
 */
#include <numa.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *from, *to;
static size_t bytes;
static int nthreads, dst;
static pthread_barrier_t start, stop;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *copier(void *arg)
{
	size_t t = (size_t)arg, lo, hi;

	numa_run_on_node(dst);
	lo = bytes * t / nthreads & ~4095ul;
	hi = t + 1 == (size_t)nthreads ? bytes : bytes * (t + 1) / nthreads & ~4095ul;
	pthread_barrier_wait(&start);
	memcpy(to + lo, from + lo, hi - lo);
	pthread_barrier_wait(&stop);
	return NULL;
}

/* One timed copy of the whole buffer by all threads. */
static double copy_once(void)
{
	pthread_t th[256];
	double t0, t1;
	long t;

	pthread_barrier_init(&start, NULL, nthreads + 1);
	pthread_barrier_init(&stop, NULL, nthreads + 1);
	for (t = 0; t < nthreads; t++)
		if (pthread_create(&th[t], NULL, copier, (void *)t)) {
			fprintf(stderr, "nm-bench-copy: pthread_create failed\n");
			exit(1);
		}
	pthread_barrier_wait(&start);
	t0 = now();
	pthread_barrier_wait(&stop);
	t1 = now();
	for (t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&start);
	pthread_barrier_destroy(&stop);
	return t1 - t0;
}

int main(int argc, char **argv)
{
	int src, reps, r;
	double best = 1e30, s;

	if (argc != 6) {
		fprintf(stderr, "usage: nm-bench-copy SRC DST MIB THREADS REPS\n");
		return 2;
	}
	src = atoi(argv[1]);
	dst = atoi(argv[2]);
	bytes = strtoul(argv[3], NULL, 10) << 20;
	nthreads = atoi(argv[4]);
	reps = atoi(argv[5]);
	if (numa_available() < 0 || src < 0 || dst < 0 ||
	    src > numa_max_node() || dst > numa_max_node() || !bytes ||
	    nthreads < 1 || nthreads > 256 || reps < 1) {
		fprintf(stderr, "nm-bench-copy: bad arguments (or no NUMA)\n");
		return 2;
	}
	from = numa_alloc_onnode(bytes, src);
	to = numa_alloc_onnode(bytes, dst);
	if (!from || !to) {
		fprintf(stderr, "nm-bench-copy: cannot allocate on nodes %d, %d\n",
			src, dst);
		return 1;
	}
	memset(from, 1, bytes);	/* fault both in before timing */
	memset(to, 2, bytes);
	for (r = 0; r < reps; r++) {
		s = copy_once();
		if (s < best)
			best = s;
	}
	printf("{\"src\": %d, \"dst\": %d, \"threads\": %d, \"bytes\": %zu, \"seconds\": %.6f}\n",
	       src, dst, nthreads, bytes, best);
	return 0;
}
