/* SPDX-License-Identifier: MIT */
#ifndef NM_JOB_H
#define NM_JOB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/base/bitmap.h"
#include "lib/core/topology.h"

#include "lib/base/limits.h"
#define NM_MAX_JOB_JSON (16u << 20)

/* What a live job's process is: most are ranks. */
enum nm_task_role {
	NM_TASK_RANK = 0,
	NM_TASK_LAUNCHER,	/* mpirun, orted, srun: forwards, computes nothing */
	NM_TASK_PROCESS,	/* another process: a job script, a rank's child */
};

/* "rank", "launcher", "process". */
const char *nm_task_role_name(enum nm_task_role role);

/* One task (MPI rank) of a job and where it sits. */
struct nm_task {
	int rank;
	enum nm_task_role role;
	pid_t pid;		/* 0 when the job is a description, not live */
	struct nm_bitmap cpus;	/* the CPUs it may run on */
	uint64_t *bytes;	/* resident bytes per topology node index */
};

/*
 * A job's placement on one machine.  node_bytes and nodes are derived from
 * the tasks by nm_job_finish(): a node belongs to the job when a task has
 * memory there or may run on one of its CPUs.
 */
struct nm_job {
	int ntasks;
	struct nm_task *tasks;
	int nnodes;			/* the topology's */
	uint64_t *node_bytes;		/* per node index, all tasks */
	struct nm_bitmap nodes;		/* node indexes the job uses */
	struct nm_bitmap cpu_nodes;	/* node indexes its CPUs are on */
};

/*
 * Parses the JOB.json form:
 *   {"tasks": [{"rank": 0, "cpus": "0-3", "memory": {"0": 1073741824}}]}
 * Optional per task: "pid".  Strict: unknown keys, duplicate ranks, CPUs or
 * nodes the topology lacks are errors.
 */
struct nm_job *nm_job_from_json(const char *text, size_t len,
				const struct nm_topology *t, char *err);


/* An empty job of @ntasks tasks for @t, for callers that fill it in. */
struct nm_job *nm_job_alloc(int ntasks, const struct nm_topology *t,
			    char *err);
/* Derives the per-node totals and node sets; checks ranks are unique. */
int nm_job_finish(struct nm_job *job, const struct nm_topology *t, char *err);
void nm_job_free(struct nm_job *job);

/* Node indexes holding the CPUs of @task. */
void nm_task_cpu_nodes(const struct nm_task *task, const struct nm_topology *t,
		       struct nm_bitmap *out);

/* Parses "PID[,PID...]" (at most @max). Returns the count or -1. */
int nm_parse_pid_list(const char *s, pid_t *out, int max, char *err);

#endif
