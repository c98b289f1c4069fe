/* SPDX-License-Identifier: MIT */
#ifndef NM_STATUS_PROCS_H
#define NM_STATUS_PROCS_H

#include <sys/types.h>

#include "lib/linux/ptable.h"

/*
 * The process table status requests read their jobs' processes from.
 * One pass over /proc costs a few hundred file reads; a hundred callers
 * asking for status each second must not each pay it, nor queue behind
 * one another's: they share one table, read by one of them at a time,
 * while it is younger than NM_STATUS_PROCS_MAX_AGE_MS and holds every
 * process they ask about (a task registered since is never missed).
 * The list of a job's descendants in a status is at most that old.
 */
#define NM_STATUS_PROCS_MAX_AGE_MS 500

struct nm_status_procs;

/*
 * A table holding @pids[0..n) (or a fresh one when none holds them), for
 * nm_status_procs_table(); NULL with @err when /proc cannot be read.
 * Give it back with nm_status_procs_put().
 */
struct nm_status_procs *nm_status_procs_get(const pid_t *pids, int n,
					    char *err);
const struct nm_ptable *nm_status_procs_table(const struct nm_status_procs *s);
void nm_status_procs_put(struct nm_status_procs *s);

/* Tables read from /proc so far: how the tests see one shared. */
unsigned long nm_status_procs_reads(void);

#endif
