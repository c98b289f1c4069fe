/* SPDX-License-Identifier: MIT */
#ifndef NM_STATUS_PROCS_H
#define NM_STATUS_PROCS_H

#include <sys/types.h>

#include "lib/linux/mpi_ranks.h"
#include "lib/linux/ptable.h"

/*
 * The process table status requests read their jobs' processes from.
 * One pass over /proc costs a few hundred file reads, and a job's MPI
 * ranks one read of each process's environment: a hundred callers asking
 * for status each second must not each pay them, nor queue behind one
 * another's.  While status is asked for, a thread of its own reads the
 * table every NM_STATUS_PROCS_PERIOD_MS, and requests take the last one
 * it read: no request reads /proc, nor waits for a read, while that
 * table holds every process it asks about and is younger than
 * NM_STATUS_PROCS_MAX_AGE_MS (a bound for a thread starved of CPU time,
 * whose read of a busy node's /proc takes long).  Only then (the first
 * status after a quiet spell, a task registered since) does a request
 * read it, one at a time, the others sharing that read.  The thread
 * stops after NM_STATUS_PROCS_IDLE_MS without a status: a quiet daemon
 * reads nothing.  The list of a job's descendants in a status is as old
 * as the last period, at most NM_STATUS_PROCS_MAX_AGE_MS.
 */
#define NM_STATUS_PROCS_PERIOD_MS 500
#define NM_STATUS_PROCS_MAX_AGE_MS 3000
#define NM_STATUS_PROCS_IDLE_MS 10000

struct nm_status_procs;

/*
 * A table holding @pids[0..n) (or a fresh one when none holds them), for
 * nm_status_procs_table(); NULL with @err when /proc cannot be read.
 * Give it back with nm_status_procs_put().
 */
struct nm_status_procs *nm_status_procs_get(const pid_t *pids, int n,
					    char *err);
const struct nm_ptable *nm_status_procs_table(const struct nm_status_procs *s);

/*
 * The MPI rank and role of each of @pids[0..n) (nm_mpi_ranks_of), read
 * once per table for a given set of processes: the callers asking about
 * the same job share one read of its environments.  -1: out of memory.
 */
int nm_status_procs_ranks(struct nm_status_procs *s, const pid_t *pids,
			  int n, int *rank, enum nm_task_role *role);

void nm_status_procs_put(struct nm_status_procs *s);

/* Tables read from /proc so far: how the tests see one shared. */
unsigned long nm_status_procs_reads(void);
/* Of them, those read inside a request (not by the thread). */
unsigned long nm_status_procs_request_reads(void);

#endif
