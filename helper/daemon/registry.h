/* SPDX-License-Identifier: MIT */
#ifndef NM_REGISTRY_H
#define NM_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/base/bitmap.h"
#include "lib/base/error.h"
#include "lib/proto/protocol.h"

/*
 * The tasks numamigrated knows: each a process registered with its rank
 * and optionally the Slurm job and step it belongs to.  A task is named by
 * pid and start time, so a recycled pid never inherits a registration.
 * Thread safe.  Threads and child processes of a task are not registered:
 * a move finds them from /proc when it starts.
 */
struct nm_reg_task {
	pid_t pid;		/* the task's process */
	unsigned long long starttime;	/* with pid: this process, not a
					   later one with a reused pid */
	int rank;		/* its MPI rank, the planner's task order */
	uint64_t job;		/* NM_NO_ID when none */
	uint64_t step;		/* NM_NO_ID when none */
	uid_t owner;		/* the process's uid when registered */
	uid_t by;		/* who registered it */
};

struct nm_registry;

struct nm_registry *nm_registry_new(void);
void nm_registry_free(struct nm_registry *r);

/*
 * Adds @n tasks, all or none.  A task already registered (same pid and
 * start time) is updated.  Fails when a pid is gone, or the job's rank is
 * already another live task's.
 */
int nm_registry_add(struct nm_registry *r, const struct nm_reg_task *tasks,
		    int n, char *err);
/* Removes the given pids / a job's tasks; returns how many went. */
int nm_registry_remove_pids(struct nm_registry *r, const pid_t *pids, int n);
int nm_registry_remove_job(struct nm_registry *r, uint64_t job);

/* Drops tasks whose process has exited; returns how many. */
int nm_registry_prune(struct nm_registry *r);

/*
 * A copy of the tasks matching @job (NM_NO_ID: all), ordered by job then
 * rank, filtered to @owner unless @owner is (uid_t)-1.  free() it.
 */
int nm_registry_list(struct nm_registry *r, uint64_t job, uid_t owner,
		     struct nm_reg_task **out, int *n, char *err);

/*
 * The same, with the tasks' processes checked at most @max_age_ms ago
 * rather than now: one read of /proc per task for all the status,
 * register and unregister requests of that period, not one each.  A task
 * whose process exited within it may still be listed (and unregistered);
 * nm_registry_add checks the tasks it adds, and any holding their ranks,
 * now.
 */
#define NM_REGISTRY_LIST_AGE_MS 500
int nm_registry_list_recent(struct nm_registry *r, uint64_t job, uid_t owner,
			    int max_age_ms, struct nm_reg_task **out, int *n,
			    char *err);

/*
 * Jobs' migration policies (the "policy" request).  A policy is kept
 * until its job's tasks are gone: once the job has had registered tasks
 * and has none left (they exited or were unregistered), or, when no task
 * of it was ever registered, a day after it was set.
 */
int nm_registry_set_policy(struct nm_registry *r, uint64_t job,
			   enum nm_policy policy, const struct nm_bitmap *nodes,
			   char *err);
/* 1 and the policy when @job has one; 0 when not (@policy untouched). */
int nm_registry_get_policy(struct nm_registry *r, uint64_t job,
			   enum nm_policy *policy, struct nm_bitmap *nodes);
/* The jobs (ids, ascending, each once) that have registered tasks. */
int nm_registry_jobs(struct nm_registry *r, uint64_t **jobs, int *n,
		     char *err);

/* One registered task as JSON (pid, rank, job, step, uid). */
json_t *nm_reg_task_json(const struct nm_reg_task *t);

#endif
