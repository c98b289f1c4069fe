/* SPDX-License-Identifier: MIT */
#ifndef NM_MPI_RANKS_H
#define NM_MPI_RANKS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/core/job.h"

/*
 * A live job's processes are its registered tasks and their descendants:
 * srun's tasks, but also ranks that mpirun forked inside one step, the job
 * script and the launchers themselves.  Each process's MPI rank is in its
 * environment (OMPI_COMM_WORLD_RANK, PMIX_RANK, PMI_RANK; SLURM_PROCID for
 * a non-MPI srun task).  nm_mpi_ranks_assign() gives every task of @job
 * (built by nm_job_from_pids) its real rank; the processes that are not a
 * rank (a job script, mpirun, orted, a rank's child) get numbers after the
 * last rank, in pid order, and a role.
 */

/* The MPI rank in @pid's environment, or -1.  @from: the variable. */
int nm_proc_mpi_rank(pid_t pid, const char **from);

/*
 * The parser behind it, for the fuzzers: the rank in the @len bytes of a
 * /proc/PID/environ, or -1.  @var: which variable gave it (0 the most
 * specific, OMPI_COMM_WORLD_RANK), -1 for none.
 */
int nm_environ_mpi_rank(const char *env, size_t len, int *var);

/* True for a launcher's command name (mpirun, orted, srun, ...). */
bool nm_proc_is_launcher(pid_t pid);

/* The same for @n processes: their rank and role.  -1: out of memory. */
int nm_mpi_ranks_of(const pid_t *pids, int n, int *rank,
		    enum nm_task_role *role);

void nm_mpi_ranks_assign(struct nm_job *job);

#endif
