/* nm-mpi-bandwidth: STREAM-like copy and triad bandwidth of each rank on its
 * own buffer, to be compared before and after the job's memory moves.
 *
 * The buffer (first half 4 KiB pages, second half THP) holds three arrays of
 * doubles a, b, c.  Each round runs every kernel -n times (all ranks at once,
 * a barrier before each run) and keeps the best time, as STREAM does:
 *   copy:  c[i] = a[i]                 (16 bytes per element)
 *   triad: a[i] = b[i] + q * c[i]      (24 bytes per element)
 * Rank 0 prints one line per rank and round, in rank order: the placement
 * line of nm-mpi-placement plus " round=K copy_MBps=X triad_MBps=Y".
 * The arrays are checked at the end; exit status 1 on a wrong value.
 *
 * Options:
 *   -s SIZE   buffer per rank (default 96M)
 *   -n N      runs of each kernel per round (default 5)
 *   -r N      rounds (default 1); between rounds wait as below
 *   -w SEC    wait at most SEC seconds between rounds (default 60), going
 *             on early when every rank got SIGUSR1 or the -g file exists
 *   -g FILE   go-file for the next round (removing it is up to the caller)
 *   -p DIR    write DIR/rank-R.pid
 */
#include "nm-mpi-common.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: nm-mpi-bandwidth [-s SIZE] [-n RUNS] [-r ROUNDS] "
			"[-w SEC] [-g GOFILE] [-p PIDDIR]\n");
}

static double best_of(double *t, int n)
{
	double b = t[0];
	int i;

	for (i = 1; i < n; i++)
		if (t[i] < b)
			b = t[i];
	return b;
}

int main(int argc, char **argv)
{
	struct nm_buf buf;
	size_t bytes = 96UL << 20, n, i;
	const char *piddir = NULL, *gofile = NULL;
	double *a, *b, *c, q = 3.0, wait_s = 60;
	double ea = 1.0, eb = 2.0, ec = 0.0;
	double *tcopy, *ttriad;
	int rank, size, opt, runs = 5, rounds = 1, round, k, bad = 0;
	unsigned long errors = 0, all_errors = 0;
	char line[NM_LINE_MAX], *all = NULL;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	while ((opt = getopt(argc, argv, "s:n:r:w:g:p:h")) != -1) {
		switch (opt) {
		case 's': bytes = nm_parse_size(optarg); bad |= !bytes; break;
		case 'n': runs = atoi(optarg); bad |= runs < 1; break;
		case 'r': rounds = atoi(optarg); bad |= rounds < 1; break;
		case 'w': wait_s = atof(optarg); break;
		case 'g': gofile = optarg; break;
		case 'p': piddir = optarg; break;
		default: bad = 1; break;
		}
	}
	if (bad || optind != argc) {
		if (rank == 0)
			usage();
		MPI_Finalize();
		return 2;
	}
	nm_install_signals();
	nm_buf_alloc(&buf, bytes);
	n = buf.size / 3 / sizeof(double);
	a = (double *)buf.base;
	b = a + n;
	c = b + n;
	for (i = 0; i < n; i++) {
		a[i] = ea;
		b[i] = eb;
		c[i] = ec;
	}
	tcopy = calloc((size_t)runs, sizeof(double));
	ttriad = calloc((size_t)runs, sizeof(double));
	if (rank == 0)
		all = malloc((size_t)size * NM_LINE_MAX);
	if (!tcopy || !ttriad || (rank == 0 && !all))
		MPI_Abort(MPI_COMM_WORLD, 2);
	if (piddir && nm_write_pidfile(piddir, rank) != 0) {
		fprintf(stderr, "rank=%d error=pidfile dir=%s\n", rank, piddir);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}

	for (round = 1; round <= rounds; round++) {
		double t, copy_mbps, triad_mbps;
		size_t len;

		for (k = 0; k < runs; k++) {
			MPI_Barrier(MPI_COMM_WORLD);
			t = nm_now();
			for (i = 0; i < n; i++)
				c[i] = a[i];
			tcopy[k] = nm_now() - t;
			ec = ea;
			MPI_Barrier(MPI_COMM_WORLD);
			t = nm_now();
			for (i = 0; i < n; i++)
				a[i] = b[i] + q * c[i];
			ttriad[k] = nm_now() - t;
			ea = eb + q * ec;
			/* Keep the values bounded (a grows 5, 17, 53, ...). */
			if (ea > 1e6) {
				for (i = 0; i < n; i++)
					a[i] = 1.0;
				ea = 1.0;
			}
		}
		copy_mbps = 2.0 * (double)(n * sizeof(double)) /
			    best_of(tcopy, runs) / 1e6;
		triad_mbps = 3.0 * (double)(n * sizeof(double)) /
			     best_of(ttriad, runs) / 1e6;
		nm_placement_line(line, sizeof(line) - 96, rank, &buf);
		len = strlen(line);
		snprintf(line + len, sizeof(line) - len,
			 " round=%d copy_MBps=%.0f triad_MBps=%.0f", round,
			 copy_mbps, triad_mbps);
		MPI_Gather(line, NM_LINE_MAX, MPI_CHAR, all, NM_LINE_MAX,
			   MPI_CHAR, 0, MPI_COMM_WORLD);
		if (rank == 0)
			for (k = 0; k < size; k++)
				nm_emit(all + (size_t)k * NM_LINE_MAX);
		if (round < rounds) {
			double end = nm_now() + wait_s;
			int mine, go = 0;
			struct stat st;

			nm_got_usr1 = 0;
			while (!go) {
				mine = nm_got_usr1 || nm_got_stop ||
				       nm_now() >= end ||
				       (gofile && stat(gofile, &st) == 0);
				MPI_Allreduce(&mine, &go, 1, MPI_INT, MPI_MIN,
					      MPI_COMM_WORLD);
				if (!go)
					usleep(20000);
			}
			if (nm_got_stop)
				break;
		}
	}

	for (i = 0; i < n; i++)
		if (a[i] != ea || b[i] != eb || c[i] != ec) {
			if (errors++ < 5)
				fprintf(stderr, "rank=%d error=value index=%zu "
					"a=%g b=%g c=%g want=%g,%g,%g\n", rank,
					i, a[i], b[i], c[i], ea, eb, ec);
		}
	MPI_Allreduce(&errors, &all_errors, 1, MPI_UNSIGNED_LONG, MPI_SUM,
		      MPI_COMM_WORLD);
	free(all);
	free(tcopy);
	free(ttriad);
	MPI_Finalize();
	return all_errors ? 1 : 0;
}
