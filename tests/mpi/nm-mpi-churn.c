/* nm-mpi-churn: keeps a job's memory and network busy and checked while it
 * is suspended, resumed or migrated.
 *
 * Every rank maps a buffer (first half 4 KiB pages, second half THP) and, in
 * a loop, rewrites one 1 MiB chunk with a fresh generation of a pattern that
 * depends on (rank, generation, word), verifies another chunk against its
 * recorded generation, and exchanges a checksummed message with its ring
 * neighbours (MPI_Sendrecv: to rank+1, from rank-1).  The ranks agree to stop
 * (MPI_Allreduce) when the deadline passes, the stop file exists, a rank got
 * SIGTERM/SIGINT/SIGUSR2, or a rank saw an error.  Then the whole buffer is
 * verified once more.
 *
 * Output (stdout, one line per event, written with one write(2)):
 *   the placement line of nm-mpi-placement plus " phase=start|usr1|tick|end
 *   iter=K", at start, on SIGUSR1, every -P seconds, and at the end; then
 *   "rank=R pid=P result=ok|FAIL iterations=K messages=M errors=E seconds=S"
 * Errors go to stderr as "rank=R error=KIND ...".  Exit status: 0 when no
 * rank saw an error, 1 otherwise, 2 for bad options.
 *
 * Options:
 *   -s SIZE   buffer per rank (default 32M)
 *   -m SIZE   message size (default 64K)
 *   -t SEC    stop after SEC seconds of wall-clock time (default 10; 0: no
 *             deadline, stop on the stop file or a signal)
 *   -f FILE   stop when FILE exists
 *   -p DIR    write DIR/rank-R.pid (our pid) once the buffer is ready
 *   -P SEC    print the placement line every SEC seconds
 *   -q        no placement line at start and end
 *   -X mem:N|msg:N  self-test: rank 0 flips one bit of its buffer (mem) or
 *             of the message it sends (msg) at iteration N; the run must
 *             then report the error and exit 1
 */
#include "nm-mpi-common.h"

#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1UL << 20)
#define WORDS_PER_CHUNK (CHUNK / sizeof(uint64_t))
#define MSG_MAGIC 0x6e6d2d6d70692d63ULL /* "nm-mpi-c" */
#define MAX_ERR_PRINTS 10

struct msg_hdr {
	uint64_t magic;
	uint64_t src;
	uint64_t iter;
	uint64_t words;
	uint64_t sum;
};

static int g_rank;
static unsigned long g_errors;

static inline uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static inline uint64_t pat(uint64_t rank, uint64_t gen, uint64_t word)
{
	return mix64((rank << 48) ^ (gen << 32) ^ word) ^ word;
}

static void error_at(const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void error_at(const char *kind, const char *fmt, ...)
{
	char line[512];
	size_t n;
	va_list ap;

	g_errors++;
	if (g_errors > MAX_ERR_PRINTS)
		return;
	snprintf(line, sizeof(line), "rank=%d pid=%ld error=%s ", g_rank,
		 (long)getpid(), kind);
	n = strlen(line);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	if (write(STDERR_FILENO, line, strlen(line)) < 0)
		return;
}

static void fill_chunk(const struct nm_buf *b, size_t chunk, uint64_t gen)
{
	uint64_t *w = (uint64_t *)(b->base + chunk * CHUNK);
	size_t n = WORDS_PER_CHUNK, i, first = chunk * WORDS_PER_CHUNK;

	if ((chunk + 1) * CHUNK > b->size)
		n = (b->size - chunk * CHUNK) / sizeof(uint64_t);
	for (i = 0; i < n; i++)
		w[i] = pat((uint64_t)g_rank, gen, first + i);
}

static void check_chunk(const struct nm_buf *b, size_t chunk, uint64_t gen)
{
	const volatile uint64_t *w =
		(const uint64_t *)(b->base + chunk * CHUNK);
	size_t n = WORDS_PER_CHUNK, i, first = chunk * WORDS_PER_CHUNK;

	if ((chunk + 1) * CHUNK > b->size)
		n = (b->size - chunk * CHUNK) / sizeof(uint64_t);
	for (i = 0; i < n; i++) {
		uint64_t want = pat((uint64_t)g_rank, gen, first + i);

		if (w[i] != want)
			error_at("checksum",
				 "chunk=%lu word=%lu got=%#llx want=%#llx",
				 (unsigned long)chunk, (unsigned long)(first + i),
				 (unsigned long long)w[i],
				 (unsigned long long)want);
	}
}

static void make_msg(uint64_t *m, size_t words, int src, uint64_t iter)
{
	struct msg_hdr *h = (struct msg_hdr *)m;
	size_t hw = sizeof(*h) / sizeof(uint64_t), i;
	uint64_t sum = 0;

	for (i = hw; i < words; i++) {
		m[i] = pat((uint64_t)src | 0x8000, iter, i);
		sum = sum * 31 + m[i];
	}
	h->magic = MSG_MAGIC;
	h->src = (uint64_t)src;
	h->iter = iter;
	h->words = words;
	h->sum = sum;
}

static void check_msg(const uint64_t *m, size_t words, int src, uint64_t iter)
{
	const struct msg_hdr *h = (const struct msg_hdr *)m;
	size_t hw = sizeof(*h) / sizeof(uint64_t), i;
	uint64_t sum = 0;
	int bad_payload = 0;

	if (h->magic != MSG_MAGIC || h->src != (uint64_t)src ||
	    h->iter != iter || h->words != words) {
		error_at("message", "iter=%lu from=%lu got_iter=%llu got_src=%llu",
			 (unsigned long)iter, (unsigned long)src,
			 (unsigned long long)h->iter,
			 (unsigned long long)h->src);
		return;
	}
	for (i = hw; i < words; i++) {
		sum = sum * 31 + m[i];
		if (m[i] != pat((uint64_t)src | 0x8000, iter, i))
			bad_payload = 1;
	}
	if (sum != h->sum || bad_payload)
		error_at("message-checksum", "iter=%lu from=%lu sum=%#llx want=%#llx",
			 (unsigned long)iter, (unsigned long)src,
			 (unsigned long long)sum, (unsigned long long)h->sum);
}

static void placement(const struct nm_buf *b, const char *phase,
		      unsigned long iter)
{
	char line[NM_LINE_MAX];
	size_t n;

	nm_placement_line(line, sizeof(line) - 64, g_rank, b);
	n = strlen(line);
	snprintf(line + n, sizeof(line) - n, " phase=%s iter=%lu", phase, iter);
	nm_emit(line);
}

static void usage(void)
{
	fprintf(stderr, "usage: nm-mpi-churn [-s SIZE] [-m MSGSIZE] [-t SEC] "
			"[-f STOPFILE] [-p PIDDIR] [-P SEC] [-q] [-X mem:N|msg:N]\n");
}

int main(int argc, char **argv)
{
	struct nm_buf buf;
	size_t bytes = 32UL << 20, msg_bytes = 64UL << 10, nchunks, words, c;
	const char *stopfile = NULL, *piddir = NULL;
	double deadline_s = 10, tick_s = 0, t0, next_tick;
	unsigned long iter = 0, messages = 0, total_err = 0;
	uint64_t *gens, *sendm, *recvm;
	int size, opt, quiet = 0, left, right, bad_opt = 0;
	long inject_mem = -1, inject_msg = -1;
	char line[512];

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	while ((opt = getopt(argc, argv, "s:m:t:f:p:P:qX:h")) != -1) {
		switch (opt) {
		case 's': bytes = nm_parse_size(optarg); bad_opt |= !bytes; break;
		case 'm': msg_bytes = nm_parse_size(optarg); bad_opt |= !msg_bytes; break;
		case 't': deadline_s = atof(optarg); break;
		case 'f': stopfile = optarg; break;
		case 'p': piddir = optarg; break;
		case 'P': tick_s = atof(optarg); break;
		case 'q': quiet = 1; break;
		case 'X':
			if (!strncmp(optarg, "mem:", 4))
				inject_mem = atol(optarg + 4);
			else if (!strncmp(optarg, "msg:", 4))
				inject_msg = atol(optarg + 4);
			else
				bad_opt = 1;
			break;
		default: bad_opt = 1; break;
		}
	}
	if (bad_opt || optind != argc) {
		if (g_rank == 0)
			usage();
		MPI_Finalize();
		return 2;
	}
	nm_install_signals();
	nm_buf_alloc(&buf, bytes);
	nchunks = (buf.size + CHUNK - 1) / CHUNK;
	gens = calloc(nchunks, sizeof(*gens));
	words = msg_bytes / sizeof(uint64_t);
	if (words < sizeof(struct msg_hdr) / sizeof(uint64_t) + 1)
		words = sizeof(struct msg_hdr) / sizeof(uint64_t) + 1;
	sendm = malloc(words * sizeof(uint64_t));
	recvm = malloc(words * sizeof(uint64_t));
	if (!gens || !sendm || !recvm) {
		fprintf(stderr, "rank=%d error=nomem\n", g_rank);
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
	for (c = 0; c < nchunks; c++)
		fill_chunk(&buf, c, 0);
	if (piddir && nm_write_pidfile(piddir, g_rank) != 0) {
		fprintf(stderr, "rank=%d error=pidfile dir=%s\n", g_rank, piddir);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	left = (g_rank + size - 1) % size;
	right = (g_rank + 1) % size;
	if (!quiet)
		placement(&buf, "start", 0);
	MPI_Barrier(MPI_COMM_WORLD);
	t0 = nm_now();
	next_tick = t0 + tick_s;

	for (;;) {
		struct stat st;
		int mine, stop;
		size_t w = iter % nchunks, r = (iter + nchunks / 2) % nchunks;

		mine = nm_got_stop || g_errors ||
		       (deadline_s > 0 && nm_now() - t0 >= deadline_s) ||
		       (stopfile && stat(stopfile, &st) == 0);
		MPI_Allreduce(&mine, &stop, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
		if (stop)
			break;

		fill_chunk(&buf, w, ++gens[w]);
		if (g_rank == 0 && (long)iter == inject_mem)
			buf.base[r * CHUNK + 8] ^= 0x10;
		check_chunk(&buf, r, gens[r]);

		make_msg(sendm, words, g_rank, iter);
		if (g_rank == 0 && (long)iter == inject_msg)
			sendm[words - 1] ^= 0x10;
		memset(recvm, 0, words * sizeof(uint64_t));
		if (MPI_Sendrecv(sendm, (int)words, MPI_UINT64_T, right,
				 (int)(iter & 0x7fff), recvm, (int)words,
				 MPI_UINT64_T, left, (int)(iter & 0x7fff),
				 MPI_COMM_WORLD, MPI_STATUS_IGNORE) != MPI_SUCCESS)
			error_at("sendrecv", "iter=%lu peer=%d", iter, left);
		else
			check_msg(recvm, words, left, iter);
		messages++;

		if (nm_got_usr1) {
			nm_got_usr1 = 0;
			placement(&buf, "usr1", iter);
		}
		if (tick_s > 0 && nm_now() >= next_tick) {
			placement(&buf, "tick", iter);
			next_tick = nm_now() + tick_s;
		}
		iter++;
	}

	for (c = 0; c < nchunks; c++)
		check_chunk(&buf, c, gens[c]);
	if (!quiet)
		placement(&buf, "end", iter);
	MPI_Allreduce(&g_errors, &total_err, 1, MPI_UNSIGNED_LONG, MPI_SUM,
		      MPI_COMM_WORLD);
	snprintf(line, sizeof(line),
		 "rank=%d pid=%ld result=%s iterations=%lu messages=%lu "
		 "errors=%lu all_errors=%lu seconds=%.2f",
		 g_rank, (long)getpid(), total_err ? "FAIL" : "ok", iter,
		 messages, g_errors, total_err, nm_now() - t0);
	nm_emit(line);
	free(gens);
	free(sendm);
	free(recvm);
	MPI_Finalize();
	return total_err ? 1 : 0;
}
