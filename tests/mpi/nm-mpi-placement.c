/* nm-mpi-placement: every rank maps a buffer (first half 4 KiB pages, second
 * half THP), touches it, and reports where its CPUs and pages are.  Rank 0
 * prints one line per rank, in rank order:
 *
 *   rank=R pid=P host=H cpus=LIST nodes=N:pages,... pages=T
 *       small=N:pages,... thp=N:pages,... thp_kb=K
 *
 * (one line).  Page counts are in 4 KiB pages; "eE:n" counts pages whose
 * move_pages(2) status was -E after retries.  Options:
 *   -s SIZE   buffer per rank (default 16M)
 *   -p DIR    write DIR/rank-R.pid
 *   -w SEC    after the first report, wait up to SEC seconds (or until
 *             SIGUSR1 reaches every rank) and report again
 */
#include "nm-mpi-common.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: nm-mpi-placement [-s SIZE] [-p PIDDIR] [-w SEC]\n");
}

static void report(int rank, int size, const struct nm_buf *b)
{
	char line[NM_LINE_MAX], *all = NULL;
	int i;

	nm_placement_line(line, sizeof(line), rank, b);
	if (rank == 0)
		all = malloc((size_t)size * NM_LINE_MAX);
	MPI_Gather(line, NM_LINE_MAX, MPI_CHAR, all, NM_LINE_MAX, MPI_CHAR, 0,
		   MPI_COMM_WORLD);
	if (rank == 0) {
		for (i = 0; i < size; i++)
			nm_emit(all + (size_t)i * NM_LINE_MAX);
		free(all);
	}
}

int main(int argc, char **argv)
{
	struct nm_buf buf;
	size_t bytes = 16UL << 20;
	const char *piddir = NULL;
	double wait_s = 0;
	int rank, size, c;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	while ((c = getopt(argc, argv, "s:p:w:h")) != -1) {
		switch (c) {
		case 's':
			bytes = nm_parse_size(optarg);
			if (!bytes) {
				usage();
				MPI_Abort(MPI_COMM_WORLD, 2);
			}
			break;
		case 'p': piddir = optarg; break;
		case 'w': wait_s = atof(optarg); break;
		default:
			if (rank == 0)
				usage();
			MPI_Finalize();
			return 2;
		}
	}
	nm_install_signals();
	nm_buf_alloc(&buf, bytes);
	if (piddir && nm_write_pidfile(piddir, rank) != 0) {
		fprintf(stderr, "rank=%d error=pidfile dir=%s\n", rank, piddir);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	report(rank, size, &buf);
	if (wait_s > 0) {
		double end = nm_now() + wait_s;
		int mine, got = 0;

		/* Ranks agree to go on when each got SIGUSR1 or time is up. */
		while (!got) {
			mine = nm_got_usr1 || nm_got_stop || nm_now() >= end;
			MPI_Allreduce(&mine, &got, 1, MPI_INT, MPI_MIN,
				      MPI_COMM_WORLD);
			if (!got)
				usleep(20000);
		}
		report(rank, size, &buf);
	}
	MPI_Finalize();
	return 0;
}
