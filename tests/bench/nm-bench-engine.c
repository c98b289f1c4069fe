/* SPDX-License-Identifier: MIT */
/*
 * nm-bench-engine: throughput of the migration engine beside numactl's
 * migratepages(8) (the kernel's migrate_pages(2)), moving a buffer held by
 * a child process from node A to node B.  Not a test: prints a table.
 * Needs a kernel with two or more nodes (the QEMU guest of tests/vm).
 *
 *   nm-bench-engine [--size MiB] [--from A] [--to B] [--reps N]
 *                   [--batch-sweep] [--kinds 4k,thp]
 */
#include <errno.h>
#include <numaif.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helper/engine/engine.h"
#include "lib/linux/scan.h"
#include "lib/core/topology.h"

#define HUGE (2ul << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pid_t holder(size_t bytes, bool thp, int node)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		unsigned long mask[16] = { 0 };
		char *raw = mmap(NULL, bytes + HUGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *m = (char *)(((unsigned long)raw + HUGE - 1) &
				   ~(HUGE - 1));

		mask[node / 64] |= 1ul << (node % 64);
		if (raw == MAP_FAILED ||
		    set_mempolicy(MPOL_BIND, mask, 1024) < 0)
			_exit(1);
		madvise(m, bytes, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
		for (size_t o = 0; o < bytes; o += 4096)
			m[o] = (char)o;
		set_mempolicy(MPOL_DEFAULT, NULL, 0);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	if (pid < 0 || read(p[0], &c, 1) != 1)
		return -1;
	close(p[0]);
	close(p[1]);
	return pid;
}

static uint64_t pages_on(pid_t pid, int node)
{
	struct nm_scan s;
	char err[NM_ERRLEN];
	uint64_t n;

	if (nm_scan_process(pid, NM_SCAN_AUTO, &s, err) < 0) {
		fprintf(stderr, "scan: %s\n", err);
		exit(1);
	}
	n = s.pages_per_node[node];
	nm_scan_release(&s);
	return n;
}

/* Engine move of everything @pid has on @a to @b; returns seconds. */
static double engine_move(const struct nm_topology *t, pid_t pid, int a,
			  int b, int threads, uint32_t batch, bool subpages,
			  uint64_t *bytes, double *scan_s)
{
	struct nm_scan s;
	struct nm_plan plan = { .feasible = true, .nnodes = t->nnodes };
	struct nm_step step = { a, b, 0, false };
	struct nm_engine_opts o = { .threads = threads, .batch_pages = batch,
				    .thp_subpages = subpages };
	struct nm_engine_result *res = calloc(1, sizeof(*res));
	char err[NM_ERRLEN];
	double t0 = now(), dt;

	plan.map = malloc((size_t)t->nnodes * sizeof(int));
	for (int n = 0; n < t->nnodes; n++)
		plan.map[n] = -1;
	plan.map[nm_topology_find(t, a)] = nm_topology_find(t, b);
	if (nm_scan_process(pid, NM_SCAN_AUTO, &s, err) < 0) {
		fprintf(stderr, "scan: %s\n", err);
		exit(1);
	}
	*scan_s = now() - t0;
	step.bytes = s.pages_per_node[a] * 4096;
	plan.steps = &step;
	plan.nsteps = 1;
	if (nm_engine_run(t, &plan, &pid, &s, 1, &o, res, err) < 0) {
		fprintf(stderr, "engine: %s\n", err);
		exit(1);
	}
	dt = res->seconds;
	*bytes = res->bytes_moved;
	if (res->pages_failed)
		fprintf(stderr, "  (%llu pages failed: %s)\n",
			(unsigned long long)res->pages_failed,
			res->first_error);
	nm_scan_release(&s);
	free(plan.map);
	free(res);
	return dt;
}

static double migratepages(pid_t pid, int a, int b)
{
	char ps[16], as[16], bs[16];
	double t0 = now();
	pid_t c;
	int st;

	snprintf(ps, sizeof(ps), "%d", (int)pid);
	snprintf(as, sizeof(as), "%d", a);
	snprintf(bs, sizeof(bs), "%d", b);
	c = fork();
	if (c == 0) {
		execlp("migratepages", "migratepages", ps, as, bs, (char *)NULL);
		_exit(127);
	}
	waitpid(c, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "migratepages failed (status %d)\n", st);
		return -1;
	}
	return now() - t0;
}

static void row(const char *what, uint64_t bytes, double s, double scan_s)
{
	printf("  %-28s %8.1f MB/s  %8.3f s  %7.1f MiB", what,
	       (double)bytes / s / 1e6, s, (double)bytes / 1048576.0);
	if (scan_s >= 0)
		printf("  (+%.3f s scan)", scan_s);
	printf("\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	size_t mib = 256;
	int a = 0, b = 1, reps = 1;
	bool sweep = false, k4 = true, thp = true;
	char err[NM_ERRLEN];
	struct nm_topology *t;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--size") && i + 1 < argc)
			mib = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--from") && i + 1 < argc)
			a = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--to") && i + 1 < argc)
			b = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--batch-sweep"))
			sweep = true;
		else if (!strcmp(argv[i], "--kinds") && i + 1 < argc) {
			const char *k = argv[++i];

			k4 = strstr(k, "4k") != NULL;
			thp = strstr(k, "thp") != NULL;
		} else {
			fprintf(stderr, "usage: nm-bench-engine [--size MiB] "
				"[--from A] [--to B] [--reps N] [--batch-sweep] "
				"[--kinds 4k,thp]\n");
			return 2;
		}
	}
	t = nm_topology_load(NULL, err);
	if (!t) {
		fprintf(stderr, "nm-bench-engine: %s\n", err);
		return 1;
	}
	if (a == b || nm_topology_find(t, a) < 0 ||
	    nm_topology_find(t, b) < 0 || !mib || reps < 1) {
		fprintf(stderr, "nm-bench-engine: needs two distinct nodes of "
			"this machine (it has %d)\n", t->nnodes);
		return 2;
	}
	for (int v = 0; v < 2; v++) {
		bool is_thp = v == 1;
		pid_t pid;
		uint64_t bytes;
		double s, sc;
		int all = (int)nm_bitmap_weight(&t->nodes[nm_topology_find(t,
						b)].cpus);
		int threads[3] = { 1, 2, all < 1 ? 1 : all };

		if ((is_thp && !thp) || (!is_thp && !k4))
			continue;
		pid = holder(mib << 20, is_thp, a);
		if (pid < 0) {
			fprintf(stderr, "cannot start the holder\n");
			return 1;
		}
		printf("%zu MiB of %s pages, node %d -> %d (%llu pages on %d)\n",
		       mib, is_thp ? "THP" : "4 KiB", a, b,
		       (unsigned long long)pages_on(pid, a), a);
		for (int r = 0; r < reps; r++) {
			for (int k = 0; k < 3; k++) {
				char what[64];

				if (k == 2 && threads[2] <= 2)
					continue;
				s = engine_move(t, pid, a, b, threads[k], 0,
						false, &bytes, &sc);
				snprintf(what, sizeof(what),
					 "engine, %d thread%s", threads[k],
					 threads[k] > 1 ? "s" : "");
				row(what, bytes, s, sc);
				engine_move(t, pid, b, a, 0, 0, false, &bytes,
					    &sc);
			}
			s = migratepages(pid, a, b);
			bytes = pages_on(pid, b) * 4096;
			if (s > 0)
				row("migratepages(8)", bytes, s, -1);
			engine_move(t, pid, b, a, 0, 0, false, &bytes, &sc);
			if (is_thp) {
				s = engine_move(t, pid, a, b, 1, 0, true,
						&bytes, &sc);
				row("engine, 1 thread, subpages", bytes, s, sc);
				engine_move(t, pid, b, a, 0, 0, false, &bytes,
					    &sc);
			}
			if (sweep && !is_thp) {
				for (uint32_t bp = 64; bp <= 4096; bp *= 2) {
					char what[64];

					s = engine_move(t, pid, a, b, 1, bp,
							false, &bytes, &sc);
					snprintf(what, sizeof(what),
						 "engine, 1 thread, batch %u",
						 bp);
					row(what, bytes, s, sc);
					engine_move(t, pid, b, a, 0, 0, false,
						    &bytes, &sc);
				}
			}
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	nm_topology_free(t);
	return 0;
}
