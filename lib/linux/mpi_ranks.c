/* SPDX-License-Identifier: MIT */
/* Which of a live job's processes are MPI ranks, and which rank each is. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/linux/mpi_ranks.h"

/* Environment variables naming a process's rank, the most specific first. */
static const char *const rank_vars[] = {
	"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID",
};
#define NVARS (sizeof(rank_vars) / sizeof(rank_vars[0]))

/*
 * Processes that start and relay a job's ranks.  They are not ranks, and
 * they are never stopped: mpirun relays the SIGCONT that ends a stop to
 * its ranks as a signal of its own.
 */
static const char *const launchers[] = {
	"mpirun", "mpiexec", "orterun", "orted", "prte", "prted", "prterun",
	"srun", "slurmstepd", "hydra_pmi_proxy", "mpiexec.hydra",
};

/* Reads /proc/PID/environ (at most 1 MiB); NULL when unreadable. */
static char *read_environ(pid_t pid, size_t *len)
{
	char path[64], *buf;
	size_t n = 0, cap = 1u << 20;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	buf = malloc(cap + 1);
	if (buf)
		n = fread(buf, 1, cap, f);
	fclose(f);
	if (!buf)
		return NULL;
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* A rank: decimal, and room left for numbering the other processes. */
static int parse_rank(const char *v, size_t n)
{
	long long r = 0;

	if (!n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		r = r * 10 + (v[i] - '0');
		if (r > INT_MAX - NM_MAX_TASKS)
			return -1;
	}
	return (int)r;
}

int nm_environ_mpi_rank(const char *env, size_t len, int *var)
{
	int found[NVARS];
	const char *end = env + len, *next;

	*var = -1;
	for (size_t v = 0; v < NVARS; v++)
		found[v] = -2;
	/* NAME=VALUE entries, each ended by a NUL (the last maybe not). */
	for (const char *e = env; e < end; e = next) {
		const char *nul = memchr(e, '\0', (size_t)(end - e));
		size_t n = nul ? (size_t)(nul - e) : (size_t)(end - e);

		next = nul ? nul + 1 : end;
		for (size_t v = 0; v < NVARS; v++) {
			size_t k = strlen(rank_vars[v]);

			/* The first one counts, as for getenv() */
			if (found[v] == -2 && n > k &&
			    !memcmp(e, rank_vars[v], k) && e[k] == '=')
				found[v] = parse_rank(e + k + 1, n - k - 1);
		}
	}
	for (int v = 0; v < (int)NVARS; v++)
		if (found[v] >= 0) {
			*var = v;
			return found[v];
		}
	return -1;
}

/* The rank in @pid's environment and, in @var, its index in rank_vars. */
static int rank_of(pid_t pid, int *var)
{
	size_t len = 0;
	char *env = read_environ(pid, &len);
	int r;

	*var = -1;
	if (!env)
		return -1;
	r = nm_environ_mpi_rank(env, len, var);
	free(env);
	return r;
}

int nm_proc_mpi_rank(pid_t pid, const char **from)
{
	int var, r = rank_of(pid, &var);

	if (from)
		*from = r >= 0 ? rank_vars[var] : NULL;
	return r;
}

bool nm_proc_is_launcher(pid_t pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	for (size_t i = 0; i < sizeof(launchers) / sizeof(launchers[0]); i++)
		if (!strcmp(comm, launchers[i]))
			return true;
	return false;
}

struct claim {
	int task;
	int rank;
	int var;	/* index in rank_vars: lower wins a contested rank */
	pid_t pid;
};

static int cmp_claim(const void *a, const void *b)
{
	const struct claim *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->var != y->var)
		return x->var < y->var ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int cmp_pid_idx(const void *a, const void *b, void *arg)
{
	const pid_t *pids = arg;
	pid_t x = pids[*(const int *)a], y = pids[*(const int *)b];

	return x < y ? -1 : x > y;
}

int nm_mpi_ranks_of(const pid_t *pids, int n, int *rank,
		    enum nm_task_role *role)
{
	struct claim *c = calloc((size_t)(n ? n : 1), sizeof(*c));
	int *rest = calloc((size_t)(n ? n : 1), sizeof(*rest));
	int nc = 0, nrest = 0, next = 0;

	if (!c || !rest) {
		free(c);
		free(rest);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		int r;

		role[i] = NM_TASK_RANK;
		if (nm_proc_is_launcher(pids[i])) {
			role[i] = NM_TASK_LAUNCHER;
			rest[nrest++] = i;
			continue;
		}
		r = rank_of(pids[i], &c[nc].var);
		if (r < 0) {
			rest[nrest++] = i;
			continue;
		}
		c[nc].task = i;
		c[nc].rank = r;
		c[nc++].pid = pids[i];
	}
	/*
	 * One process per rank: the most specific variable, then the oldest
	 * pid (a rank's children inherit its environment; a job script has
	 * SLURM_PROCID=0 beside mpirun's rank 0).
	 */
	qsort(c, (size_t)nc, sizeof(*c), cmp_claim);
	for (int i = 0; i < nc; i++) {
		if (i && c[i].rank == c[i - 1].rank) {
			rest[nrest++] = c[i].task;
			continue;
		}
		rank[c[i].task] = c[i].rank;
		if (c[i].rank >= next)
			next = c[i].rank + 1;
	}
	qsort_r(rest, (size_t)nrest, sizeof(*rest), cmp_pid_idx,
		(void *)pids);
	for (int i = 0; i < nrest; i++) {
		if (role[rest[i]] == NM_TASK_RANK)
			role[rest[i]] = NM_TASK_PROCESS;
		rank[rest[i]] = next++;
	}
	free(c);
	free(rest);
	return 0;
}

void nm_mpi_ranks_assign(struct nm_job *job)
{
	pid_t *pids = calloc((size_t)job->ntasks + 1, sizeof(*pids));
	int *rank = calloc((size_t)job->ntasks + 1, sizeof(*rank));
	enum nm_task_role *role = calloc((size_t)job->ntasks + 1,
					 sizeof(*role));

	for (int i = 0; pids && i < job->ntasks; i++)
		pids[i] = job->tasks[i].pid;
	/* out of memory: the pid-order numbering stays */
	if (pids && rank && role &&
	    nm_mpi_ranks_of(pids, job->ntasks, rank, role) == 0)
		for (int i = 0; i < job->ntasks; i++) {
			job->tasks[i].rank = rank[i];
			job->tasks[i].role = role[i];
		}
	free(pids);
	free(rank);
	free(role);
}
