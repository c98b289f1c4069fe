/* SPDX-License-Identifier: MIT */
#ifndef NM_REPACK_H
#define NM_REPACK_H

#include <jansson.h>

#include "helper/daemon/ops.h"

/*
 * Preemption support (see helper/daemon/REPACK.md): a job's migration policy,
 * and moving suspended jobs' memory off the NUMA nodes of a job that
 * starts on this host ("repack", from its prolog) and back when it ends
 * ("restore", from its epilog).  Root and the Slurm user only.
 *
 * What each repack evacuated is kept per preemptor in memory and in
 * JOURNAL_DIR/repack-JOB.json, so a restarted daemon can still restore.
 */
json_t *nm_op_policy(struct nm_daemon *d, const struct nm_caller *who,
		     const struct nm_request *req);
json_t *nm_op_repack(struct nm_daemon *d, const struct nm_caller *who,
		     const struct nm_request *req);
/*
 * [slurm] restore_mode = live: each job goes back by a live move, and
 * @answer gets the reply once the last job's first live pass starts (its
 * threads re-pinned): the epilog returns and Slurm resumes the jobs
 * while their pages flow back.  The rest is logged.
 */
json_t *nm_op_restore(struct nm_daemon *d, const struct nm_caller *who,
		      const struct nm_request *req, nm_answer_fn answer,
		      void *arg);

/* Reads the records a previous daemon left; returns how many, or -1. */
int nm_repack_load(const char *journal_dir, char *err);

#endif
