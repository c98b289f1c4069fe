/* SPDX-License-Identifier: MIT */
#ifndef NM_MIGRATE_H
#define NM_MIGRATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "helper/site/conf.h"
#include "lib/base/error.h"
#include "lib/proto/protocol.h"
#include "lib/base/target.h"
#include "helper/engine/move.h"

/*
 * One move of a job, as a request to the daemon: queued until it holds
 * every node it touches (helper/daemon/move_queue.h), checked against the
 * caller's rights, journaled, under the frozen deadline.  The
 * sequence itself is nm_move_run() (helper/engine/move.h), whose status
 * codes (enum nm_move_status, nm_move_status_code()) it returns.
 */
struct nm_move_req {
	uid_t caller;
	bool privileged;
	/*
	 * Pages park only on nodes the job's processes may use: an
	 * unprivileged caller, or a trusted one acting for an unprivileged
	 * owner.  Root's own moves may park on any node with CPUs.
	 */
	bool confined;
	const pid_t *pids;		/* the job's tasks */
	int npids;
	/* NULL, or the pids' recorded start times (nm_move_spec.starts) */
	const unsigned long long *starts;
	struct nm_target target;
	int threads;			/* 0: the configured default */
	enum nm_engine_kind engine;
	enum nm_move_mode mode;		/* LIVE, else frozen */
	const char *what;		/* "job 42", "pids 1,2" for the log */
	/* The Slurm job moved (0: none): a suspend of it that arrives
	   during the move stays in force (left_suspended). */
	uint64_t slurm_job;
	/* An unprivileged user's move (the caller's, or root's for an
	   owner): shared memory other uids own stays (helper/engine/move.h). */
	bool shared_guard;
	uid_t shared_uid;
	/*
	 * For repack/restore.  memory_only_targets: the planner may
	 * send nodes holding CPUs to memory-only nodes (a suspended job).
	 * os_map (NM_MAX_NODES entries, by OS node: its new OS node, -1 to
	 * stay; NULL: none): an explicit map with an NM_TARGET_MAP target,
	 * in place of the ordinal one.
	 */
	bool memory_only_targets;
	const int *os_map;
	/* Repack, restore: served before users' moves waiting in the queue,
	   and wait longer ([move] queue_wait_priority). */
	bool priority;
	/* From the coordinating thread, at most every 100 ms; may be NULL. */
	void (*progress)(void *arg, uint64_t done, uint64_t total,
			 const char *phase);
	void *progress_arg;
	/*
	 * A live move: called once, from the coordinating thread, when its
	 * first live pass starts (the cpusets widened, every thread
	 * re-pinned to its mapped CPUs); may be NULL.
	 */
	void (*live_started)(void *arg);
	void *live_arg;
};

/*
 * Runs the move.  Returns the status; *@result (may be NULL on early
 * refusals) is the report: pages and bytes moved, failed pages by reason,
 * frozen and wall seconds, the plan.  @err says why when not NM_MOVE_OK.
 */
enum nm_move_status nm_migrate(const struct nm_config *cfg,
			       const struct nm_move_req *req, json_t **result,
			       char *err);

/* Moves in progress, those of @uid only unless (uid_t)-1. */
json_t *nm_migrate_active(uid_t uid);
/* Moves waiting in the queue, by position (nm_mq_waiting()). */
json_t *nm_migrate_waiting(uid_t uid);
/*
 * On the way out: moves waiting in the queue are refused now with @why
 * (they froze nothing), and so is every move after; moves in progress go
 * on (cancelling them is the caller's).
 */
void nm_migrate_close_queue(const char *why);

#endif
