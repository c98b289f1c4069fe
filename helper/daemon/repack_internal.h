/* SPDX-License-Identifier: MIT */
#ifndef NM_REPACK_INTERNAL_H
#define NM_REPACK_INTERNAL_H

/*
 * What the repack files share (helper/daemon/REPACK.md, "The code"):
 * policy.c, repack_store.c, repack_victims.c, repack_slurm.c, repack.c
 * and restore.c.  Not for the rest of the daemon: that uses repack.h.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "helper/daemon/ops.h"
#include "lib/base/bitmap.h"
#include "lib/core/topology.h"

/* ---- replies (repack.c) ------------------------------------------------ */

/* The "denied" reply to an unprivileged caller, logged. */
json_t *nm_repack_denied(const struct nm_caller *who,
			 const struct nm_request *req);
/*
 * Starts a repack or restore of @req's job: true with the records' lock
 * held (nm_repack_lock()) and *@r an ok reply to fill, its "jobs" list
 * *@results empty; false with *@r the answer (an unprivileged caller's
 * "denied"; NULL when out of memory).
 */
bool nm_repack_begin(const struct nm_caller *who,
		     const struct nm_request *req, json_t **r,
		     json_t **results);
/* The machine's topology, or the file [testing] topology names. */
struct nm_topology *nm_repack_topology(const struct nm_daemon *d, char *err);
/* A failed request's reply, logged. */
json_t *nm_repack_fail(const struct nm_caller *who,
		       const struct nm_request *req, const char *code,
		       const char *msg);
/* @b as a node list in @buf ("(long list)" when it does not fit). */
const char *nm_repack_list(const struct nm_bitmap *b, char *buf, size_t len);
/* The parts of a move's result a repack or restore reply carries. */
json_t *nm_repack_move_summary(json_t *res);

/* ---- the records, in memory and on disk (repack_store.c) ---------------- */

/*
 * Repacks and restores run one at a time (prologs wait for each other)
 * and own the records while they hold this lock.
 */
void nm_repack_lock(void);
void nm_repack_unlock(void);

/* The in-memory record of preemptor @job (borrowed), NULL if none. */
json_t *nm_repack_store_get(uint64_t job);
/* False when the in-memory table cannot be made (out of memory). */
bool nm_repack_store_ready(void);
/*
 * Keeps @rec (a new reference is taken) as @job's record, in memory even
 * when writing JOURNAL_DIR/repack-JOB.json fails (-1 with @err): the
 * daemon can still restore until it restarts.  @path gets the file name.
 */
int nm_repack_store_put(const char *dir, uint64_t job, json_t *rec,
			char *path, size_t len, char *err);
/* Forgets @job's record, in memory and on disk (-1 with @err: disk). */
int nm_repack_store_drop(const char *dir, uint64_t job, char *err);

/* ---- suspended jobs (repack_victims.c) ---------------------------------- */

/* A job with registered tasks here that a repack may move. */
struct nm_victim {
	uint64_t job;			/* its Slurm job id */
	pid_t *pids;			/* its registered processes */
	unsigned long long *starts;	/* their start times (pid reuse) */
	int npids;			/* entries in pids and starts */
};

int nm_victim_get(struct nm_daemon *d, uint64_t job, struct nm_victim *v,
		  char *err);
void nm_victim_free(struct nm_victim *v);
/*
 * Suspended: Slurm says so, or every registered process is stopped (as
 * SIGSTOP/SIGTSTP leave it).  @why says which, or why not.
 */
bool nm_victim_suspended(const struct nm_victim *v, char *why, size_t len);
/* The victim's memory nodes (OS numbers) on @t, from its processes. */
int nm_victim_nodes(const struct nm_topology *t, const struct nm_victim *v,
		    struct nm_bitmap *out, char *err);
/*
 * Waits, at most NM_HOLD_WAIT_MS, until Slurm stops or freezes every
 * process of @v; false when it did not in time.
 */
#define NM_HOLD_WAIT_MS 20000
bool nm_victim_wait_held(const struct nm_victim *v);

/* ---- what Slurm says (repack_slurm.c) ------------------------------------ */

/* NUMA nodes (OS numbers) of @cpus. */
void nm_repack_cpus_to_nodes(const struct nm_topology *t,
			     const struct nm_bitmap *cpus,
			     struct nm_bitmap *nodes);
/* This host's Slurm node name (@node) and job @job's CPUs on it. */
int nm_repack_job_cpus(const struct nm_daemon *d, uint64_t job, char *node,
		       size_t len, struct nm_bitmap *cpus, char *err);
/* Nodes (OS numbers) the RUNNING Slurm jobs other than @except use here. */
int nm_repack_busy_nodes(const struct nm_topology *t, const char *node,
			 uint64_t except, struct nm_bitmap *out, char *err);

#endif
