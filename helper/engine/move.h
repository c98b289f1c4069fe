/* SPDX-License-Identifier: MIT */
#ifndef NM_MOVE_H
#define NM_MOVE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "helper/engine/cpuset.h"
#include "helper/engine/engine.h"
#include "helper/engine/freezer.h"
#include "helper/engine/kmod_client.h"
#include "lib/base/error.h"
#include "lib/base/target.h"
#include "lib/core/job.h"
#include "lib/core/planner.h"
#include "lib/core/topology.h"
#include "lib/linux/scan.h"

/*
 * One move of a live job, the only implementation of the sequence: open
 * the engine, resolve the processes (and their descendants), plan on the
 * live topology (refusing an infeasible plan before touching anything),
 * record what undoes a freeze, freeze, widen the cpusets' memory nodes to
 * old and new, scan, run the engine, re-pin the threads, narrow the
 * memory nodes, thaw.  The caller (numamigrated, the test driver) adds
 * what is its own through hooks: access check, journal, deadline,
 * progress, log.  The library knows nothing of them.
 */
enum nm_move_status {
	NM_MOVE_OK,
	NM_MOVE_BAD,		/* bad request: nothing changed */
	NM_MOVE_DENIED,		/* not authorised: nothing changed */
	NM_MOVE_REFUSED,	/* infeasible, busy: nothing changed */
	NM_MOVE_FAILED,		/* started and failed: the result says what
				   moved, page-exactly */
};

/* "ok", "bad_request", "denied", "refused", "failed": the wire codes. */
const char *nm_move_status_code(enum nm_move_status s);

struct nm_move_spec {
	const pid_t *pids;		/* the job's tasks */
	int npids;
	/*
	 * NULL, or npids start times (/proc/PID/stat field 22; 0: unknown)
	 * the caller recorded the pids with (the registry): a pid that names
	 * another process by the time the move takes its handle is dropped
	 * and reported, not moved.
	 */
	const unsigned long long *starts;
	const struct nm_target *target;
	const char *what;		/* "job 42", "pids 1,2": messages */
	/*
	 * memory_only_targets: the planner may send nodes holding CPUs to
	 * memory-only nodes (a suspended job).  os_map (NM_MAX_NODES
	 * entries, by OS node: its new OS node, -1 to stay; NULL: none): an
	 * explicit map with an NM_TARGET_MAP target, in place of the ordinal
	 * one.
	 */
	bool memory_only_targets;
	const int *os_map;
	/* SYSCALL: move_pages(2) only; KMOD: the module, refused when it is
	   not loaded; AUTO: the module when loaded. */
	enum nm_engine_backend backend;
	int threads;			/* engine workers; 0: its default */
	uint32_t batch_pages;		/* 0: the engine's default */
	int freeze_timeout_ms;
	/*
	 * live: move while the job runs (helper/engine/move_live.c), in
	 * passes, until what is left on the old nodes is at most
	 * live_threshold_bytes or live_share_pct percent of the job, or a
	 * pass moves less than a tenth of what was left, or after
	 * live_max_passes (0: 8) or live_max_ms (0: no bound) of passes;
	 * then a frozen final pass.  Refused when the map's old and new
	 * nodes overlap (a page on a node that is both could not tell
	 * whether it already moved).
	 */
	bool live;
	uint64_t live_threshold_bytes;
	int live_share_pct;
	int live_max_passes;
	int live_max_ms;
	/* Testing only: a topology/free-memory description (plans, never
	   moves: see the planned hook), a pause before widening, a pause
	   after every engine batch, a pause right after admission. */
	const char *topology_file;	/* NULL: the live machine */
	const char *free_overrides;	/* NULL: measured free memory */
	int delay_ms;
	const char *delay_file;		/* NULL, or delay_ms ends once it is gone */
	int batch_delay_ms;
	int admit_delay_ms;
	/*
	 * unprivileged: the move is @caller's, who is not root; shared
	 * mappings of objects another uid owns stay where they are and are
	 * reported (r->skipped; lib/linux/scan.h, nm_scan_process_for()).
	 */
	bool unprivileged;
	uid_t caller;
};

/* A shared mapping a move left out: another uid's memory. */
struct nm_move_skipped {
	pid_t pid;
	struct nm_skipped map;
};

/* One error of a started move that did not stop it. */
enum nm_move_error_kind {
	NM_MOVE_ERR_REBIND,		/* a process's threads */
	NM_MOVE_ERR_CGROUP,		/* a cpuset's memory nodes */
	NM_MOVE_ERR_THAW,
};

struct nm_move_error {
	enum nm_move_error_kind kind;
	pid_t pid;			/* REBIND */
	char cgroup[512];		/* CGROUP */
	char msg[NM_ERRLEN];
};

struct nm_move_result {
	/* What the move worked on, as resolved and planned. */
	pid_t *pids;			/* the tasks and their descendants */
	int npids;
	struct nm_topology *t;
	struct nm_job *job;
	struct nm_plan *plan;
	/* What it did; engine is NULL when the move never started. */
	struct nm_engine_result *engine;
	int *cpu_map;			/* node index -> node index its CPUs
					   went to (memory stuck: stays) */
	/*
	 * Processes that exited meanwhile, and those of them whose pid
	 * already names another process (left alone: never signalled,
	 * moved or re-pinned).  Each process is verified once, at
	 * admission; from then on it is acted on through a pidfd and its
	 * pid is re-checked (lib/linux/pidref.h) around every call that
	 * takes only a pid.
	 */
	pid_t *exited;
	int nexited;
	pid_t *replaced;
	int nreplaced;
	uint64_t pages_exited;		/* not moved: their process exited */
	struct nm_move_error *errors;
	int nerrors;
	/* Cpusets not changed: shared with processes not moved (why). */
	struct nm_cpuset_left *cpusets_left;
	int ncpusets_left;
	bool kmod_loaded;
	char kmod_unused[NM_KMOD_ERRLEN];	/* why AUTO ran without it */
	/* Shared memory of others left out (unprivileged), last scan. */
	struct nm_move_skipped *skipped;
	int nskipped;
	uint64_t pages_skipped_shared;
	/* When more threads were asked than the module copies with: what
	   its batches got instead ("" otherwise). */
	char kmod_threads_capped[NM_KMOD_ERRLEN];
	/* A live move's figures (frozen: passes 0, all bytes frozen). */
	bool live;
	int passes;			/* live passes run */
	uint64_t bytes_moved_live, bytes_moved_frozen;
	double live_seconds;		/* widening to the freeze */
	bool frozen;			/* it got as far as freezing */
	bool was_stopped;		/* already frozen before (suspended) */
	bool left_suspended;		/* suspended during the move: left
					   held for the scheduler's resume */
	double frozen_seconds;
	bool deadline_exceeded;		/* the deadline hook said so */
	bool thaw_failed;		/* see errors: a restart must retry */
	char thaw_err[NM_ERRLEN];
};

struct nm_move;

/*
 * Every hook may be NULL.  Those returning an int fail the move with -1
 * and @err; a status hook refuses it with anything but NM_MOVE_OK.
 */
struct nm_move_hooks {
	void *arg;
	/*
	 * The move's handle as it starts, and NULL just before it ends:
	 * in between, nm_move_expire(@mv) may cancel it from any thread (a
	 * daemon told to stop).  A move cancelled before its freeze never
	 * freezes.
	 */
	void (*handle)(void *arg, struct nm_move *mv);
	/* The engine is open: the caller may refuse (busy). */
	enum nm_move_status (*begin)(void *arg, char *err);
	/* The processes are known: the caller's access check. */
	enum nm_move_status (*admit)(void *arg, const pid_t *pids, int npids,
				     char *err);
	/*
	 * The job on the machine is known (r->t, r->job), before planning:
	 * the caller may wait here for the nodes it touches.  *@again: the
	 * machine may have changed while it waited: the job is modelled
	 * again and the hook called again.
	 */
	enum nm_move_status (*modelled)(void *arg,
					const struct nm_move_result *r,
					bool *again, char *err);
	/*
	 * The nodes (OS numbers) the caller may use, after admit: the only
	 * ones the plan parks pages on.  1: @nodes set; 0: no limit (root's
	 * own move); -1: @err, the move is refused.
	 */
	int (*nodes)(void *arg, const pid_t *pids, int npids,
		     struct nm_bitmap *nodes, char *err);
	/* The plan is feasible; nothing touched yet.  May adjust it. */
	enum nm_move_status (*planned)(void *arg, struct nm_move_result *r,
				       char *err);
	/*
	 * A live move, just before it re-pins every thread under the plan's
	 * map: what a restart needs to put threads back with their memory
	 * should the move die in its live phase (a journal).  @starts: the
	 * start times of r->pids.  live_ended: the move has put the threads
	 * where the memory went (or is failing anyway): the record may go.
	 */
	int (*repinning)(void *arg, const struct nm_move_result *r,
			 const unsigned long long *starts, char *err);
	void (*live_ended)(void *arg);
	/*
	 * The cpusets a move is about to widen, with the nodes each had
	 * (before the first write): what a restart needs to put them back
	 * should the move die before it narrows them (a journal).
	 * cpusets_settled: narrowed or put back; the record may go.
	 */
	int (*cpusets)(void *arg, const struct nm_cpusets *c, char *err);
	void (*cpusets_settled)(void *arg);
	/* Before freezing: what undoes a partial freeze (a journal). */
	int (*intents)(void *arg, const struct nm_freeze *in, int n,
		       char *err);
	/* Frozen as @fz says: record it, arm a deadline (nm_move_expire). */
	int (*frozen)(void *arg, struct nm_move *mv,
		      const struct nm_freeze *fz, char *err);
	/* Scanned, before the engine runs (a test keeps its own copy). */
	int (*scanned)(void *arg, const pid_t *pids,
		       const struct nm_scan *scans, int npids, char *err);
	/* About to thaw: disarm the deadline; true when it had expired. */
	bool (*thawing)(void *arg);
	/*
	 * About to thaw a job this move froze: true when the job's scheduler
	 * (Slurm) suspended it meanwhile.  The move then leaves it held for
	 * the scheduler's resume (helper/engine/move_handover.c).
	 */
	bool (*suspended)(void *arg);
	/* Each phase as it starts: "freezing", "widening cpusets",
	   "scanning", "moving" ("moving live" in a live pass),
	   "rebinding", "narrowing cpusets". */
	void (*phase)(void *arg, const char *phase);
	/* The engine's progress, between its batches. */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	/* What is worth a log line (syslog @level), without a prefix. */
	void (*log)(void *arg, int level, const char *msg);
};

/*
 * Runs the move.  @r (zeroed here; nm_move_result_free() releases it)
 * tells what happened, page-exactly when r->engine is set.  @err says why
 * when the status is not NM_MOVE_OK.
 */
enum nm_move_status nm_move_run(const struct nm_move_spec *spec,
				const struct nm_move_hooks *hooks,
				struct nm_move_result *r, char *err);
void nm_move_result_free(struct nm_move_result *r);

/*
 * For a deadline armed in the frozen hook, or a cancel (the handle
 * hook), from any thread: stops the engine before its next batch (no
 * page of a running job moves after), ends live passes and [testing]
 * pauses, keeps a move not yet frozen from freezing, and thaws the job
 * now.  -1 with @err when the thaw failed.
 */
int nm_move_expire(struct nm_move *mv, char *err);

#endif
