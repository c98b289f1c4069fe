/* SPDX-License-Identifier: MIT */
#ifndef NM_AUTHZ_H
#define NM_AUTHZ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "helper/site/conf.h"
#include "lib/base/bitmap.h"
#include "lib/base/error.h"

/*
 * Who may do what.  Root and the configured Slurm user may move, register
 * and see any job; anyone else only processes whose every uid (real,
 * effective, saved, filesystem) is theirs, and moves them only onto nodes
 * each process may use (its cpuset's memory nodes).  A trusted caller may
 * act for a job's owner (the SPANK plugin, as root in slurmstepd, for the
 * user who launched the move step): the owner's rule applies.
 */
bool nm_authz_privileged(const struct nm_config *cfg, uid_t uid);

/* Every process of @pids is @uid's. */
int nm_authz_owns(uid_t uid, const pid_t *pids, int npids, char *err);

/*
 * An unprivileged @uid may file @pids under @job only when Slurm reports
 * @uid as the job's owner and every process runs inside the job's cgroup
 * (job_@job, which only Slurm creates).  A job Slurm cannot answer for is
 * refused: ownership is Slurm's word, never the caller's.
 */
int nm_authz_job_tasks(uid_t uid, uint64_t job, const pid_t *pids, int npids,
		       char *err);

/* @nodes (OS numbers) are within every process's allowed memory nodes. */
int nm_authz_nodes(const pid_t *pids, int npids, const struct nm_bitmap *nodes,
		   char *err);

/*
 * The memory nodes (OS numbers) every process of @pids may use: the
 * job's allocation, the only nodes its plan may park pages on.
 */
int nm_authz_usable_nodes(const pid_t *pids, int npids,
			  struct nm_bitmap *nodes, char *err);

/*
 * The owner's rule, applied for a trusted caller acting on @owner's
 * behalf: every process of @pids and their descendants is @owner's, and
 * @nodes are within the memory nodes all of them may use.  A refusal
 * names @what ("job 42") and the nodes it may use.  A privileged @owner
 * (root's jobs) is not limited.
 */
int nm_authz_on_behalf(const struct nm_config *cfg, uid_t owner,
		       const char *what, const pid_t *pids, int npids,
		       const struct nm_bitmap *nodes, char *err);

#endif
