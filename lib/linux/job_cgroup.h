/* SPDX-License-Identifier: MIT */
#ifndef NM_JOB_CGROUP_H
#define NM_JOB_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/base/error.h"

/*
 * Whether a process runs inside the cgroup Slurm created for a job.
 * Slurm's cgroup plugins put every task of job J below a directory named
 * job_J (v1: /slurm[_NODE]/uid_U/job_J/step_S, v2:
 * .../slurmstepd.scope/job_J/step_S/...).  An unprivileged user cannot
 * move a process into that directory (it is root's), so "inside job_J" is
 * evidence from Slurm, not from the caller, that the process is J's.
 */

/*
 * The pure test, over a /proc/PID/cgroup file's @len bytes: 1 when a line's
 * path has a component exactly "job_@job", else 0.
 */
int nm_job_cgroup_match(const char *buf, size_t len, uint64_t job);

/*
 * The job's own directory in a cgroup directory path: @dir up to its first
 * component "job_DIGITS" (Slurm's per-job cgroup, whose cpuset is the job's
 * allocation on this host, made by root).  1 with @out set, 0 when @dir
 * has no such component (or @out is too small).
 */
int nm_job_cgroup_dir(const char *dir, char *out, size_t len);

/* The same for process @pid: 1 inside, 0 not, -1 with @err (no process). */
int nm_pid_in_job_cgroup(pid_t pid, uint64_t job, char *err);

/*
 * Whether @pid is Slurm's step daemon: comm "slurmstepd", every uid root.
 * Slurm's task/cgroup attaches it to the step's cpuset cgroup beside the
 * tasks; it is Slurm's process of that very step, not another job's, so
 * the step's cgroup is still the job's alone.  A user cannot make a
 * process whose uids are root's.
 */
bool nm_slurm_stepd(pid_t pid);

#endif
