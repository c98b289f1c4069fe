/* SPDX-License-Identifier: MIT */
/*
 * nm-workload: a stand-in HPC job for migration tests.  Processes x threads
 * keep rewriting their memory with a pattern of address and generation,
 * checking the previous generation as they go, so a page that is lost,
 * duplicated or corrupted by a move is noticed.  See --help.
 */
#include <errno.h>
#include <getopt.h>
#include <numaif.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
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
#define MAX_NODES 1024
#define MAX_CPUS 8192
#define STRIDE_WORDS 8192	/* check the stop flag every 64 KiB */

static const char usage[] =
"Usage: nm-workload [OPTION]...\n"
"A test job for numamigrate: PROCS processes (forked) x THREADS threads.\n"
"Each thread owns a slice of every memory kind and rewrites it in a loop,\n"
"each 8-byte word with a pattern of its address and a generation number,\n"
"checking the previous generation first; a lost or corrupted page fails.\n"
"\n"
"  --size BYTES      bytes of each kind per process (K/M/G suffix; default 64M)\n"
"  --kinds LIST      memory kinds, comma-separated (default 4k,thp,shared):\n"
"                      4k      private anonymous, MADV_NOHUGEPAGE\n"
"                      thp     private anonymous, 2 MiB aligned, MADV_HUGEPAGE\n"
"                      shared  MAP_SHARED|MAP_ANONYMOUS, one region for all\n"
"                              processes; each process writes its part and\n"
"                              maps (reads) all of it\n"
"  --procs N         worker processes (default 2)\n"
"  --threads M       threads per process (default 2)\n"
"  --node LIST       bind process i to node LIST[i mod count]: its memory\n"
"                    (set_mempolicy MPOL_BIND) and its threads (thread j on\n"
"                    the node's (j mod ncpus)-th CPU); e.g. 0-1\n"
"  --local           with --node: pin the threads only; memory keeps the\n"
"                    default policy (first touch: the node's own), so\n"
"                    automatic NUMA balancing may move it\n"
"  --pause MS        sleep MS milliseconds after each pass over the memory\n"
"                    (default 0: rewrite without pause); a job that\n"
"                    computes in bursts, leaving CPU time to others\n"
"  --seconds S       stop and verify after S seconds (default: run until\n"
"                    SIGUSR1)\n"
"  -h, --help        this help\n"
"\n"
"Prints 'pids: P1,P2,...' (the workers, i.e. the job), one line per worker\n"
"'worker PID: 4k ADDR thp ADDR shared ADDR size BYTES' (its regions; 0: kind\n"
"not chosen) and then 'ready' once every page is touched and the shared\n"
"region is mapped by every worker.\n"
"SIGUSR1 to this (supervisor) process or to a worker stops it: the worker\n"
"verifies all of its memory and reports.  Exits 0 only if every worker\n"
"passed every check; 1 on corruption or a dead worker; 2 on bad usage.\n";

struct slice {
	uint64_t *base;
	size_t words;
};

struct thr {
	pthread_t tid;
	int index, cpu;
	struct slice sl[3];
	int nsl;
	uint64_t gen;		/* generation of words before pos */
	size_t pos;		/* word index over the slices, this pass */
	uint64_t errors, passes;
	uintptr_t first_bad;
};

static atomic_int stop;
static uint64_t seed_xor;

static uint64_t pat(const uint64_t *a, uint64_t gen)
{
	uint64_t z = (uint64_t)(uintptr_t)a ^ (gen * 0x9E3779B97F4A7C15ull) ^
		     seed_xor;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint64_t total_words(const struct thr *t)
{
	uint64_t n = 0;

	for (int i = 0; i < t->nsl; i++)
		n += t->sl[i].words;
	return n;
}

static uint64_t *word_at(const struct thr *t, size_t k)
{
	for (int i = 0; i < t->nsl; i++) {
		if (k < t->sl[i].words)
			return t->sl[i].base + k;
		k -= t->sl[i].words;
	}
	return NULL;
}

static void bad(struct thr *t, uint64_t *w)
{
	if (!t->errors++)
		t->first_bad = (uintptr_t)w;
}

/* --pause: the threads' sleep after each pass. */
static int pause_ms;

/* @ms milliseconds asleep, cut short by the stop request's signal. */
static void nap(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = ms % 1000 * 1000000L };

	nanosleep(&ts, NULL);
}

/* One pass: check generation gen-1, write gen; stops early on request. */
static void *thread_main(void *arg)
{
	struct thr *t = arg;
	size_t n = total_words(t);

	if (t->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(t->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	while (!atomic_load(&stop)) {
		t->gen++;
		for (t->pos = 0; t->pos < n;) {
			size_t end = t->pos + STRIDE_WORDS;

			if (end > n)
				end = n;
			for (size_t k = t->pos; k < end; k++) {
				uint64_t *w = word_at(t, k);

				if (*w != pat(w, t->gen - 1))
					bad(t, w);
				*w = pat(w, t->gen);
			}
			t->pos = end;
			if (atomic_load(&stop))
				return NULL;
		}
		t->passes++;
		if (pause_ms)
			nap(pause_ms);
	}
	return NULL;
}

/* The first fill, by the thread itself so first touch places it. */
static void *fill_main(void *arg)
{
	struct thr *t = arg;
	size_t n = total_words(t);

	if (t->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(t->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	for (size_t k = 0; k < n; k++) {
		uint64_t *w = word_at(t, k);

		*w = pat(w, 0);
	}
	t->pos = n;
	return NULL;
}

static uint64_t verify(struct thr *t)
{
	size_t n = total_words(t);
	uint64_t errs = 0;

	for (size_t k = 0; k < n; k++) {
		uint64_t *w = word_at(t, k);
		uint64_t g = k < t->pos ? t->gen : t->gen - 1;

		if (*w != pat(w, g)) {
			if (!errs++ && !t->errors)
				t->first_bad = (uintptr_t)w;
		}
	}
	return errs;
}

static int parse_list(const char *s, int *out, int max)
{
	int n = 0;

	while (*s) {
		char *end;
		long a = strtol(s, &end, 10), b;

		if (end == s || a < 0)
			return -1;
		b = a;
		if (*end == '-') {
			s = end + 1;
			b = strtol(s, &end, 10);
			if (end == s || b < a)
				return -1;
		}
		for (long v = a; v <= b; v++) {
			if (n == max)
				return -1;
			out[n++] = (int)v;
		}
		if (*end == ',')
			end++;
		else if (*end && *end != '\n')
			return -1;
		s = end;
	}
	return n;
}

static int node_cpus(int node, int *cpus, int max)
{
	char path[96], buf[8192];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist",
		 node);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	n = buf[0] ? parse_list(buf, cpus, max) : 0;
	return n;
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (end == s || s[0] == '-')
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end || v < PAGE || v > (1ull << 40))
		return -1;
	*out = (size_t)(v & ~(HUGE - 1));
	if (!*out)
		*out = HUGE;
	return 0;
}

static void on_stop(int sig)
{
	(void)sig;
	atomic_store(&stop, 1);
}

struct cfg {
	size_t size;
	bool k4, thp, shared;
	int procs, threads, nnodes;
	int nodes[MAX_NODES];
	bool local;		/* --local: no MPOL_BIND */
	int seconds;
	int pause_ms;		/* --pause */
};

static void *map_anon(size_t size, int flags)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_ANONYMOUS | flags, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int worker(const struct cfg *c, int p, char *shm, int up, int down)
{
	static int cpus[MAX_CPUS];
	int ncpus = 0, node = -1;
	char *k4 = NULL, *thp = NULL, go;
	struct thr *th = calloc((size_t)c->threads, sizeof(*th));
	uint64_t errs = 0, passes = 0, bytes = 0;
	struct sigaction sa = { .sa_handler = on_stop };

	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!th)
		return 1;
	if (c->nnodes) {
		unsigned long mask[MAX_NODES / 64] = { 0 };

		node = c->nodes[p % c->nnodes];
		ncpus = node_cpus(node, cpus, MAX_CPUS);
		if (ncpus <= 0) {
			fprintf(stderr, "nm-workload: node %d has no CPUs\n",
				node);
			return 1;
		}
		{
			cpu_set_t set;

			CPU_ZERO(&set);
			for (int i = 0; i < ncpus; i++)
				CPU_SET(cpus[i], &set);
			if (sched_setaffinity(0, sizeof(set), &set) < 0) {
				fprintf(stderr, "nm-workload: pinning to node "
					"%d: %s\n", node, strerror(errno));
				return 1;
			}
		}
		mask[node / 64] |= 1ul << (node % 64);
		if (!c->local &&
		    set_mempolicy(MPOL_BIND, mask, MAX_NODES) < 0) {
			fprintf(stderr, "nm-workload: binding memory to node "
				"%d: %s\n", node, strerror(errno));
			return 1;
		}
	}
	if (c->k4) {
		k4 = map_anon(c->size, MAP_PRIVATE);
		if (!k4 || madvise(k4, c->size, MADV_NOHUGEPAGE) < 0)
			goto nomem;
	}
	if (c->thp) {
		char *raw = map_anon(c->size + HUGE, MAP_PRIVATE);

		if (!raw)
			goto nomem;
		thp = (char *)(((uintptr_t)raw + HUGE - 1) & ~(HUGE - 1));
		if (madvise(thp, c->size, MADV_HUGEPAGE) < 0)
			goto nomem;
	}
	for (int j = 0; j < c->threads; j++) {
		struct thr *t = &th[j];
		size_t per = c->size / (size_t)c->threads / PAGE * PAGE;
		size_t off = per * (size_t)j;
		size_t len = j == c->threads - 1 ? c->size - off : per;

		t->index = j;
		t->cpu = ncpus ? cpus[j % ncpus] : -1;
		if (k4)
			t->sl[t->nsl++] = (struct slice){
				(uint64_t *)(k4 + off), len / 8 };
		if (thp)
			t->sl[t->nsl++] = (struct slice){
				(uint64_t *)(thp + off), len / 8 };
		if (shm)
			t->sl[t->nsl++] = (struct slice){
				(uint64_t *)(shm + (size_t)p * c->size + off),
				len / 8 };
		bytes += (uint64_t)len * (uint64_t)t->nsl;
	}
	for (int j = 0; j < c->threads; j++)
		pthread_create(&th[j].tid, NULL, fill_main, &th[j]);
	for (int j = 0; j < c->threads; j++)
		pthread_join(th[j].tid, NULL);
	/* Filled: wait until every worker is, then map all of shm. */
	if (write(up, "f", 1) != 1 || read(down, &go, 1) != 1)
		return 1;
	if (shm) {
		volatile char sink = 0;

		for (size_t o = 0; o < c->size * (size_t)c->procs; o += PAGE)
			sink += shm[o];
		(void)sink;
	}
	printf("worker %d: 4k %#lx thp %#lx shared %#lx size %zu\n",
	       (int)getpid(), (unsigned long)k4, (unsigned long)thp,
	       shm ? (unsigned long)(shm + (size_t)p * c->size) : 0ul,
	       c->size);
	fflush(stdout);
	if (write(up, "r", 1) != 1)
		return 1;
	for (int j = 0; j < c->threads; j++)
		pthread_create(&th[j].tid, NULL, thread_main, &th[j]);
	for (int j = 0; j < c->threads; j++)
		pthread_join(th[j].tid, NULL);
	for (int j = 0; j < c->threads; j++) {
		uint64_t v = verify(&th[j]);

		errs += th[j].errors + v;
		passes += th[j].passes;
		if (th[j].errors + v)
			fprintf(stderr, "nm-workload: pid %d thread %d: %llu "
				"bad words, first at %#lx\n", (int)getpid(),
				j, (unsigned long long)(th[j].errors + v),
				(unsigned long)th[j].first_bad);
	}
	printf("worker %d: %s: %llu bytes verified, %llu passes\n",
	       (int)getpid(), errs ? "FAILED" : "OK",
	       (unsigned long long)bytes, (unsigned long long)passes);
	fflush(stdout);
	return errs ? 1 : 0;
nomem:
	fprintf(stderr, "nm-workload: allocating memory: %s\n",
		strerror(errno));
	return 1;
}

static int parse_args(int argc, char **argv, struct cfg *c)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "kinds", required_argument, NULL, 'k' },
		{ "procs", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "node", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "pause", required_argument, NULL, 'P' },
		{ "local", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int o;
	char *end;

	*c = (struct cfg){ .size = 64ul << 20, .k4 = true, .thp = true,
			   .shared = true, .procs = 2, .threads = 2 };
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			if (parse_size(optarg, &c->size) < 0) {
				fprintf(stderr, "nm-workload: bad --size '%s'\n",
					optarg);
				return -1;
			}
			break;
		case 'k': {
			char *dup = strdup(optarg), *save = NULL;

			c->k4 = c->thp = c->shared = false;
			for (char *k = strtok_r(dup, ",", &save); k;
			     k = strtok_r(NULL, ",", &save)) {
				if (!strcmp(k, "4k"))
					c->k4 = true;
				else if (!strcmp(k, "thp"))
					c->thp = true;
				else if (!strcmp(k, "shared"))
					c->shared = true;
				else {
					fprintf(stderr, "nm-workload: unknown "
						"kind '%s'\n", k);
					free(dup);
					return -1;
				}
			}
			free(dup);
			if (!c->k4 && !c->thp && !c->shared) {
				fprintf(stderr, "nm-workload: --kinds is "
					"empty\n");
				return -1;
			}
			break;
		}
		case 'P': {
			long v = strtol(optarg, &end, 10);

			if (*end || end == optarg || v < 0 || v > 10000) {
				fprintf(stderr, "nm-workload: bad --pause '%s' "
					"(0-10000 ms)\n", optarg);
				return -1;
			}
			c->pause_ms = (int)v;
			break;
		}
		case 'p':
		case 't':
		case 'S': {
			long v = strtol(optarg, &end, 10);

			if (*end || end == optarg || v < (o == 'S' ? 1 : 1) ||
			    v > (o == 'S' ? 86400 : 1024)) {
				fprintf(stderr, "nm-workload: bad value '%s'\n",
					optarg);
				return -1;
			}
			if (o == 'p')
				c->procs = (int)v;
			else if (o == 't')
				c->threads = (int)v;
			else
				c->seconds = (int)v;
			break;
		}
		case 'n':
			c->nnodes = parse_list(optarg, c->nodes, MAX_NODES);
			if (c->nnodes <= 0) {
				fprintf(stderr, "nm-workload: bad node list "
					"'%s'\n", optarg);
				return -1;
			}
			for (int i = 0; i < c->nnodes; i++)
				if (c->nodes[i] >= MAX_NODES) {
					fprintf(stderr, "nm-workload: node %d "
						"out of range\n", c->nodes[i]);
					return -1;
				}
			break;
		case 'l':
			c->local = true;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fprintf(stderr, "Try 'nm-workload --help'.\n");
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "nm-workload: unexpected argument '%s'\n",
			argv[optind]);
		return -1;
	}
	if (c->local && !c->nnodes) {
		fprintf(stderr, "nm-workload: --local needs --node\n");
		return -1;
	}
	if (c->size / (size_t)c->threads < PAGE) {
		fprintf(stderr, "nm-workload: --size too small for %d threads\n",
			c->threads);
		return -1;
	}
	return 0;
}

static volatile sig_atomic_t got_usr1, got_alrm;

static void on_usr1(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_alrm = 1;
}

static void on_chld(int sig)
{
	(void)sig;
}

int main(int argc, char **argv)
{
	struct cfg c;
	pid_t *pids;
	int up[2], down[2], failed = 0, left;
	char *shm = NULL, ch;
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct sigaction sc = { .sa_handler = on_chld };
	sigset_t block, old;

	if (parse_args(argc, argv, &c) < 0)
		return 2;
	pause_ms = c.pause_ms;
	for (int i = 0; i < c.nnodes; i++) {
		int cpus[8];

		if (node_cpus(c.nodes[i], cpus, 8) <= 0) {
			fprintf(stderr, "nm-workload: node %d does not exist "
				"or has no CPUs\n", c.nodes[i]);
			return 2;
		}
	}
	seed_xor = (uint64_t)getpid() << 32;
	pids = calloc((size_t)c.procs, sizeof(*pids));
	if (c.shared) {
		shm = map_anon(c.size * (size_t)c.procs, MAP_SHARED);
		if (!shm) {
			perror("nm-workload: shared memory");
			return 1;
		}
	}
	if (!pids || pipe(up) < 0 || pipe(down) < 0) {
		perror("nm-workload");
		return 1;
	}
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGALRM);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGCHLD, &sc, NULL);
	for (int p = 0; p < c.procs; p++) {
		pids[p] = fork();
		if (pids[p] < 0) {
			perror("nm-workload: fork");
			for (int q = 0; q < p; q++)
				kill(pids[q], SIGKILL);
			return 1;
		}
		if (pids[p] == 0) {
			sigprocmask(SIG_SETMASK, &old, NULL);
			close(up[0]);
			close(down[1]);
			_exit(worker(&c, p, shm, up[1], down[0]));
		}
	}
	close(up[1]);
	close(down[0]);
	/* The supervisor is no part of the job: it keeps no shared pages. */
	if (shm)
		munmap(shm, c.size * (size_t)c.procs);
	printf("pids: ");
	for (int p = 0; p < c.procs; p++)
		printf("%s%d", p ? "," : "", (int)pids[p]);
	printf("\n");
	fflush(stdout);
	for (int p = 0; p < c.procs; p++)
		if (read(up[0], &ch, 1) != 1 || ch != 'f')
			goto dead;
	for (int p = 0; p < c.procs; p++)
		if (write(down[1], "g", 1) != 1)
			goto dead;
	for (int p = 0; p < c.procs; p++)
		if (read(up[0], &ch, 1) != 1 || ch != 'r')
			goto dead;
	printf("ready\n");
	fflush(stdout);
	if (c.seconds)
		alarm((unsigned int)c.seconds);
	for (left = c.procs; left > 0;) {
		int st;
		pid_t w;

		while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
			left--;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				failed++;
				if (WIFSIGNALED(st))
					fprintf(stderr, "nm-workload: worker "
						"%d killed by signal %d\n",
						(int)w, WTERMSIG(st));
			}
		}
		if (!left)
			break;
		if (got_usr1 || got_alrm) {
			got_usr1 = got_alrm = 0;
			for (int p = 0; p < c.procs; p++)
				kill(pids[p], SIGUSR1);
		}
		sigsuspend(&old);
	}
	printf("nm-workload: %s\n", failed ? "FAILED" : "all workers verified OK");
	return failed ? 1 : 0;
dead:
	fprintf(stderr, "nm-workload: a worker died while starting\n");
	for (int p = 0; p < c.procs; p++)
		kill(pids[p], SIGKILL);
	while (wait(NULL) > 0)
		;
	return 1;
}
