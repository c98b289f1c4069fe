/* SPDX-License-Identifier: MIT */
/*
 * nm-bench-scan: the cost of the two placement scan methods on a child
 * holding SIZE bytes of 4 KiB pages or of THP.  Not a test: prints figures.
 *   nm-bench-scan [--size BYTES_MIB] [--thp] [--reps N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/linux/scan.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	size_t mib = 1024;
	int reps = 5, thp = 0, p[2];
	pid_t child;
	char c = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--size") && i + 1 < argc)
			mib = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--thp"))
			thp = 1;
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: nm-bench-scan [--size MiB] "
				"[--thp] [--reps N]\n");
			return 2;
		}
	}
	if (!mib || reps < 1 || pipe(p) < 0)
		return 2;
	child = fork();
	if (child == 0) {
		size_t len = mib << 20, h = 2u << 20;
		char *raw = mmap(NULL, len + h, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *m = (char *)(((unsigned long)raw + h - 1) & ~(h - 1));

		if (raw == MAP_FAILED)
			_exit(1);
		madvise(m, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
		for (size_t o = 0; o < len; o += 4096)
			m[o] = 1;
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	if (child < 0 || read(p[0], &c, 1) != 1)
		return 1;
	printf("%zu MiB of %s pages in pid %d\n", mib, thp ? "THP" : "4 KiB",
	       (int)child);
	/*
	 * The rows: each method, and pagemap with runs for no node (pages
	 * only counted), as a move's rescan reads pages already in place.
	 */
	for (int row = 0; row < 3; row++) {
		static const bool no_node[NM_MAX_NODES];
		enum nm_scan_method m = row == 2 ? NM_SCAN_MOVE_PAGES :
						   NM_SCAN_PAGEMAP;
		const bool *run_nodes = row == 1 ? no_node : NULL;
		static const char *const name[] = {
			"pagemap", "counted", "move_pages"
		};
		double best = 1e9;
		size_t runs = 0;
		uint64_t pages = 0;

		for (int r = 0; r < reps; r++) {
			struct nm_scan s;
			char err[NM_ERRLEN];
			double t0 = now(), dt;

			if (nm_scan_process_on(child, m, NM_SCAN_ANY_UID,
					       run_nodes, &s, err) < 0) {
				fprintf(stderr, "scan: %s\n", err);
				kill(child, SIGKILL);
				return 1;
			}
			dt = now() - t0;
			if (dt < best)
				best = dt;
			runs = s.nruns;
			pages = 0;
			for (int n = 0; n < NM_MAX_NODES; n++)
				pages += s.pages_per_node[n] +
					 s.counted_per_node[n];
			nm_scan_release(&s);
		}
		printf("%-10s %8.1f ms  %9llu pages  %7zu runs  %6.0f ns/page\n",
		       name[row], best * 1e3, (unsigned long long)pages, runs,
		       best * 1e9 / (double)pages);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return 0;
}
