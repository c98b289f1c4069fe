/* SPDX-License-Identifier: MIT */
#ifndef NM_ENGINE_H
#define NM_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/error.h"
#include "lib/planner.h"
#include "lib/scan.h"
#include "lib/topology.h"

/*
 * The userspace migration engine: carries out a plan's ordered steps on
 * live processes with a pool of worker threads, each pinned to CPUs of the
 * destination node, issuing batched move_pages(2) (MPOL_MF_MOVE_ALL) on
 * disjoint page ranges.
 */

/* Why a page did not move. */
enum nm_page_fail {
	NM_FAIL_BUSY,		/* -EBUSY/-EAGAIN after retries: pinned, locked */
	NM_FAIL_NOMEM,		/* -ENOMEM: destination full */
	NM_FAIL_GONE,		/* -EFAULT/-ENOENT: unmapped, process exited */
	NM_FAIL_ACCESS,		/* -EACCES: shared and not movable by us */
	NM_FAIL_OTHER,
	NM_FAIL_KINDS
};

struct nm_engine_opts {
	int threads;		/* workers per step; 0: the destination's CPUs */
	uint32_t batch_pages;	/* pages per move_pages call; 0: default */
	int retries;		/* per page on -EBUSY/-EAGAIN; 0: default */
	/* Called between batches from the coordinating thread; may be NULL. */
	void (*progress)(void *arg, uint64_t bytes_done, uint64_t bytes_total);
	void *progress_arg;
};

/* A failed page, for the page-exact report (the first NM_ENGINE_MAX_FAILS). */
struct nm_failed_page {
	pid_t pid;
	uintptr_t addr;
	int node;		/* where it still is */
	int err;		/* the kernel's errno for it */
};

#define NM_ENGINE_MAX_FAILS 1024

struct nm_engine_result {
	uint64_t pages_moved;
	uint64_t bytes_moved;
	uint64_t pages_failed;
	uint64_t failed_by_kind[NM_FAIL_KINDS];
	size_t nfails;				/* <= NM_ENGINE_MAX_FAILS */
	struct nm_failed_page fails[NM_ENGINE_MAX_FAILS];
	double seconds;
};

/*
 * Executes @plan's steps in order on the processes @pids[0..npids), whose
 * pages are described by @scans (one per pid, same order; updated in place
 * to where pages are afterwards).  Every scanned page is bound for
 * plan->map[the node it was on when scanned].  A step from -> to moves up
 * to step->bytes of the pages now on `from` bound for `to`; a parked step
 * moves pages now on `from` bound elsewhere, to wait on `to` for a later
 * step.  Returns 0 when it ran to the end (pages may still have failed:
 * see @res), -1 with @err when it could not run at all.  Never loses data:
 * the kernel moves a page or leaves it.
 */
int nm_engine_run(const struct nm_topology *t, const struct nm_plan *plan,
		  const pid_t *pids, struct nm_scan *scans, int npids,
		  const struct nm_engine_opts *opts,
		  struct nm_engine_result *res, char *err);

#endif
