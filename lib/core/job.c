/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/error.h"
#include "lib/core/job.h"

struct nm_job *nm_job_alloc(int ntasks, const struct nm_topology *t,
			    char *err)
{
	struct nm_job *job;

	if (ntasks <= 0) {
		nm_seterr(err, "job has no tasks");
		return NULL;
	}
	if (ntasks > NM_MAX_TASKS) {
		nm_seterr(err, "job has %d tasks, more than the limit of %d",
			  ntasks, NM_MAX_TASKS);
		return NULL;
	}
	job = calloc(1, sizeof(*job));
	if (!job)
		goto nomem;
	job->nnodes = t->nnodes;
	job->ntasks = ntasks;
	job->tasks = calloc((size_t)ntasks, sizeof(*job->tasks));
	job->node_bytes = calloc((size_t)t->nnodes, sizeof(uint64_t));
	if (!job->tasks || !job->node_bytes)
		goto nomem;
	for (int i = 0; i < ntasks; i++) {
		job->tasks[i].rank = i;
		job->tasks[i].bytes = calloc((size_t)t->nnodes,
					     sizeof(uint64_t));
		if (!job->tasks[i].bytes)
			goto nomem;
	}
	return job;
nomem:
	nm_job_free(job);
	nm_seterr(err, "job: out of memory");
	return NULL;
}

void nm_job_free(struct nm_job *job)
{
	if (!job)
		return;
	if (job->tasks)
		for (int i = 0; i < job->ntasks; i++)
			free(job->tasks[i].bytes);
	free(job->tasks);
	free(job->node_bytes);
	free(job);
}

void nm_task_cpu_nodes(const struct nm_task *task, const struct nm_topology *t,
		       struct nm_bitmap *out)
{
	int cpu;

	nm_bitmap_zero(out);
	nm_bitmap_foreach(cpu, &task->cpus) {
		int idx = nm_topology_cpu_node(t, cpu);

		if (idx >= 0)
			nm_bitmap_set(out, (unsigned int)idx);
	}
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int nm_job_finish(struct nm_job *job, const struct nm_topology *t, char *err)
{
	int *ranks = malloc((size_t)job->ntasks * sizeof(int));

	if (!ranks) {
		nm_seterr(err, "job: out of memory");
		return -1;
	}
	nm_bitmap_zero(&job->nodes);
	nm_bitmap_zero(&job->cpu_nodes);
	memset(job->node_bytes, 0, (size_t)job->nnodes * sizeof(uint64_t));
	for (int i = 0; i < job->ntasks; i++) {
		struct nm_task *task = &job->tasks[i];
		struct nm_bitmap cn;

		ranks[i] = task->rank;
		nm_task_cpu_nodes(task, t, &cn);
		nm_bitmap_or(&job->cpu_nodes, &cn);
		for (int n = 0; n < job->nnodes; n++) {
			if (!task->bytes[n])
				continue;
			if (job->node_bytes[n] > UINT64_MAX - task->bytes[n]) {
				nm_seterr(err, "job: memory on node %d "
					  "overflows", t->nodes[n].os);
				free(ranks);
				return -1;
			}
			job->node_bytes[n] += task->bytes[n];
			nm_bitmap_set(&job->nodes, (unsigned int)n);
		}
	}
	nm_bitmap_or(&job->nodes, &job->cpu_nodes);
	qsort(ranks, (size_t)job->ntasks, sizeof(int), cmp_int);
	for (int i = 1; i < job->ntasks; i++)
		if (ranks[i] == ranks[i - 1]) {
			nm_seterr(err, "job: rank %d appears twice", ranks[i]);
			free(ranks);
			return -1;
		}
	free(ranks);
	if (nm_bitmap_empty(&job->nodes)) {
		nm_seterr(err, "job: no task has CPUs or memory on any node");
		return -1;
	}
	return 0;
}

int nm_parse_pid_list(const char *s, pid_t *out, int max, char *err)
{
	int n = 0;
	const char *p = s;

	if (!s || !*s) {
		nm_seterr(err, "pid list is empty");
		return -1;
	}
	for (;;) {
		char *end;
		long v;

		if (*p < '0' || *p > '9')
			goto bad;
		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || v <= 0 || v > 0x3fffffff) {
			nm_seterr(err, "pid list '%s': '%.*s' is not a valid "
				  "pid", s, (int)(end - p), p);
			return -1;
		}
		if (n == max) {
			nm_seterr(err, "pid list '%s': more than %d pids", s,
				  max);
			return -1;
		}
		for (int i = 0; i < n; i++)
			if (out[i] == (pid_t)v) {
				nm_seterr(err, "pid list '%s': pid %ld appears "
					  "twice", s, v);
				return -1;
			}
		out[n++] = (pid_t)v;
		p = end;
		if (!*p)
			return n;
		if (*p != ',')
			goto bad;
		p++;
	}
bad:
	nm_seterr(err, "pid list '%s': expected pids separated by commas", s);
	return -1;
}

const char *nm_task_role_name(enum nm_task_role role)
{
	return role == NM_TASK_LAUNCHER ? "launcher" :
	       role == NM_TASK_PROCESS ? "process" : "rank";
}
