/* Helpers shared by the tests/mpi programs; see nm-mpi-common.h. */
#include "nm-mpi-common.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE_4K 4096UL
#define HUGE_2M (2UL << 20)
#define MAX_NODES 1024
#define QUERY_BATCH 4096
#define ENOENT_ROUNDS 8

volatile sig_atomic_t nm_got_usr1;
volatile sig_atomic_t nm_got_stop;

size_t nm_parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return 0;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'B')
		end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
	if (*end != '\0')
		return 0;
	return (size_t)v;
}

double nm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void on_usr1(int sig)
{
	(void)sig;
	nm_got_usr1 = 1;
}

static void on_stop(int sig)
{
	(void)sig;
	nm_got_stop = 1;
}

void nm_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
}

void nm_buf_alloc(struct nm_buf *b, size_t size)
{
	size_t map, small;
	unsigned char *raw, *base;

	if (size < 2 * PAGE_4K)
		size = 2 * PAGE_4K;
	size = (size + PAGE_4K - 1) & ~(PAGE_4K - 1);
	/* The THP half starts on a 2 MiB boundary. */
	small = (size / 2 + PAGE_4K - 1) & ~(PAGE_4K - 1);
	map = size + 2 * HUGE_2M;
	raw = mmap(NULL, map, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED) {
		fprintf(stderr, "nm-mpi: mmap %zu bytes: %s\n", map,
			strerror(errno));
		exit(2);
	}
	/* base + small is 2 MiB aligned. */
	base = (unsigned char *)((((uintptr_t)raw + small + HUGE_2M - 1) &
				  ~(HUGE_2M - 1)) - small);
	b->base = base;
	b->size = size;
	b->map_size = size;
	b->small_size = small;
	madvise(base, small, MADV_NOHUGEPAGE);
	if (size > small)
		madvise(base + small, size - small, MADV_HUGEPAGE);
	memset(base, 0x5a, size);
}

void nm_emit(const char *line)
{
	char buf[NM_LINE_MAX + 2];
	size_t n = strlen(line), off = 0;

	if (n > NM_LINE_MAX)
		n = NM_LINE_MAX;
	memcpy(buf, line, n);
	buf[n++] = '\n';
	while (off < n) {
		ssize_t w = write(STDOUT_FILENO, buf + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		off += (size_t)w;
	}
}

int nm_write_pidfile(const char *dir, int rank)
{
	char path[4096], tmp[4200], txt[32];
	int fd, n;

	snprintf(path, sizeof(path), "%s/rank-%d.pid", dir, rank);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	n = snprintf(txt, sizeof(txt), "%ld\n", (long)getpid());
	if (write(fd, txt, (size_t)n) != n) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	return rename(tmp, path);
}

/* Appends ",a-b" or ",a" for the run [a, b]. */
static void append_run(char *out, size_t len, size_t *pos, int a, int b)
{
	int n;

	if (*pos >= len)
		return;
	if (a == b)
		n = snprintf(out + *pos, len - *pos, "%s%d", *pos ? "," : "", a);
	else
		n = snprintf(out + *pos, len - *pos, "%s%d-%d",
			     *pos ? "," : "", a, b);
	if (n > 0)
		*pos += (size_t)n;
}

void nm_cpu_list(char *out, size_t len)
{
	cpu_set_t *set;
	size_t setsize, pos = 0;
	int ncpu = 8192, i, start = -1;

	out[0] = '\0';
	set = CPU_ALLOC(ncpu);
	setsize = CPU_ALLOC_SIZE(ncpu);
	CPU_ZERO_S(setsize, set);
	if (sched_getaffinity(0, setsize, set) != 0) {
		snprintf(out, len, "?");
		CPU_FREE(set);
		return;
	}
	for (i = 0; i <= ncpu; i++) {
		int on = i < ncpu && CPU_ISSET_S(i, setsize, set);

		if (on && start < 0)
			start = i;
		else if (!on && start >= 0) {
			append_run(out, len, &pos, start, i - 1);
			start = -1;
		}
	}
	CPU_FREE(set);
}

/* Counts per node (index = node) and per negative errno (index = errno). */
struct node_count {
	unsigned long node[MAX_NODES];
	unsigned long err[256];
};

static void count_range(unsigned char *start, size_t bytes,
			struct node_count *c)
{
	void *pages[QUERY_BATCH];
	int status[QUERY_BATCH];
	size_t npages = bytes / PAGE_4K, done = 0;

	while (done < npages) {
		size_t n = npages - done, i;
		int round;

		if (n > QUERY_BATCH)
			n = QUERY_BATCH;
		for (i = 0; i < n; i++) {
			pages[i] = start + (done + i) * PAGE_4K;
			status[i] = -ENOENT;
		}
		for (round = 0; round < ENOENT_ROUNDS; round++) {
			size_t retry = 0;
			long rc = syscall(SYS_move_pages, 0, (unsigned long)n,
					  pages, NULL, status, 0);

			if (rc < 0) {
				for (i = 0; i < n; i++)
					status[i] = -errno;
				break;
			}
			for (i = 0; i < n; i++)
				if (status[i] == -ENOENT) {
					/* Not present (or under NUMA hinting):
					 * touch it and ask again. */
					(void)*(volatile unsigned char *)pages[i];
					retry++;
				}
			if (!retry)
				break;
			if (round > 0) {
				struct timespec ts = { 0, 1000000L };
				nanosleep(&ts, NULL);
			}
		}
		for (i = 0; i < n; i++) {
			int s = status[i];

			if (s >= 0 && s < MAX_NODES)
				c->node[s]++;
			else if (s < 0 && -s < 256)
				c->err[-s]++;
			else
				c->err[255]++;
		}
		done += n;
	}
}

static void format_counts(char *out, size_t len, const struct node_count *c)
{
	size_t pos = 0;
	int i, n;

	out[0] = '\0';
	for (i = 0; i < MAX_NODES && pos < len; i++)
		if (c->node[i]) {
			n = snprintf(out + pos, len - pos, "%s%d:%lu",
				     pos ? "," : "", i, c->node[i]);
			if (n > 0)
				pos += (size_t)n;
		}
	for (i = 0; i < 256 && pos < len; i++)
		if (c->err[i]) {
			n = snprintf(out + pos, len - pos, "%se%d:%lu",
				     pos ? "," : "", i, c->err[i]);
			if (n > 0)
				pos += (size_t)n;
		}
	if (!out[0])
		snprintf(out, len, "-");
}

/* AnonHugePages (kB) of the mappings overlapping the buffer. */
static unsigned long thp_kb(const struct nm_buf *b)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	uintptr_t lo = (uintptr_t)b->base, hi = lo + b->map_size;
	int inside = 0;
	unsigned long total = 0, kb;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;

		if (sscanf(line, "%lx-%lx ", &s, &e) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			inside = s < hi && e > lo;
			continue;
		}
		if (inside && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
			total += kb;
	}
	fclose(f);
	return total;
}

void nm_placement_line(char *line, size_t len, int rank,
		       const struct nm_buf *b)
{
	static struct node_count all, small, huge;
	char cpus[1024], host[256], s_all[1024], s_small[1024], s_huge[1024];
	size_t i;

	memset(&small, 0, sizeof(small));
	memset(&huge, 0, sizeof(huge));
	count_range(b->base, b->small_size, &small);
	count_range(b->base + b->small_size, b->size - b->small_size, &huge);
	for (i = 0; i < MAX_NODES; i++)
		all.node[i] = small.node[i] + huge.node[i];
	for (i = 0; i < 256; i++)
		all.err[i] = small.err[i] + huge.err[i];
	format_counts(s_all, sizeof(s_all), &all);
	format_counts(s_small, sizeof(s_small), &small);
	format_counts(s_huge, sizeof(s_huge), &huge);
	nm_cpu_list(cpus, sizeof(cpus));
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "?");
	host[sizeof(host) - 1] = '\0';
	snprintf(line, len,
		 "rank=%d pid=%ld host=%s cpus=%s nodes=%s pages=%zu "
		 "small=%s thp=%s thp_kb=%lu",
		 rank, (long)getpid(), host, cpus, s_all, b->size / PAGE_4K,
		 s_small, s_huge, thp_kb(b));
}
