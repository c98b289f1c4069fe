/* SPDX-License-Identifier: MIT */
#ifndef NM_ENGINE_H
#define NM_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/base/error.h"
#include "lib/core/planner.h"
#include "lib/linux/scan.h"
#include "lib/core/topology.h"

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
	NM_FAIL_CANCELLED,	/* never tried: the run was cancelled */
	NM_FAIL_KINDS
};

/*
 * Which mechanism moves a piece of memory.  SYSCALL: move_pages(2) by the
 * engine's workers.  KMOD: the kernel module (/dev/numamigrate,
 * helper/engine/engine_kmod.c) for every page it can move at all (anonymous
 * private pages, THP included: its migrate_vma path splits them on 6.1);
 * shared memory and hugetlb still go to move_pages(2), and so do pages
 * the module could not move (a PTE-mapped THP, still busy after its
 * retries).  AUTO: the module
 * only for anonymous private base pages (it would split THPs), and
 * move_pages(2) for the rest; with no module, move_pages(2) for all.
 */
enum nm_engine_backend {
	NM_BACKEND_SYSCALL,
	NM_BACKEND_KMOD,
	NM_BACKEND_AUTO,
};

/* Indexes of nm_engine_result.pages_by_backend. */
enum { NM_BY_SYSCALL, NM_BY_KMOD, NM_BY_KINDS };

struct nm_kmod_client;
struct nm_pidref;

struct nm_engine_opts {
	int threads;		/* workers per step; 0: the destination's CPUs */
	uint32_t batch_pages;	/* pages per move_pages call; 0: default */
	int retries;		/* per page on -EBUSY/-EAGAIN; 0: default */
	/* Called between batches from the coordinating thread; may be NULL. */
	void (*progress)(void *arg, uint64_t bytes_done, uint64_t bytes_total);
	void *progress_arg;
	/*
	 * For measurement: hand every base page of a THP to the kernel
	 * instead of one address per folio (see engine.c for the figures).
	 */
	bool thp_subpages;
	/*
	 * cancel: when non-NULL and nonzero, the engine stops: no
	 * batch is started after it is seen (checked before every batch and
	 * every step); the pages not tried are reported NM_FAIL_CANCELLED.
	 * The daemon's watchdog sets it when a job outlives its frozen
	 * deadline, so nothing moves under a thawed job.
	 */
	volatile int *cancel;
	/*
	 * move_file_pages: also move NM_RUN_FILE pages (page cache of
	 * regular files, shared with every other process using the file).
	 * Off: they are left where they are and counted in
	 * pages_skipped_file; the job's memory is anonymous memory, shmem
	 * and hugetlb, as the planner counts it (lib/linux/job_proc.c).
	 */
	bool move_file_pages;
	/* backend, and the open module for KMOD / AUTO (NULL: none). */
	enum nm_engine_backend backend;
	struct nm_kmod_client *kmod;
	/*
	 * When non-NULL (npids entries, lib/linux/pidref.h): each process as
	 * the caller verified it; a batch is handed to the kernel only while
	 * its pid still names that process, else its pages fail as gone.
	 */
	const struct nm_pidref *procs;
	/* When non-NULL (npids entries): pages_failed of each process. */
	uint64_t *failed_per_pid;
	/* Testing only: each worker sleeps this long after every batch. */
	int batch_delay_ms;
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
	uint64_t pages_attempted;	/* base pages handed to the kernel */
	int steps_unpinned;	/* steps whose workers could not be pinned
				   (the destination's CPUs are outside ours) */
	char first_error[NM_ERRLEN];	/* first whole-call move_pages error,
					   "" when none (e.g. EACCES: the
					   node is outside the job's
					   cpuset.mems) */
	bool cancelled;			/* opts->cancel stopped the run */
	uint64_t pages_skipped_file;	/* page cache left alone */
	/* Page moves confirmed, by mechanism (NM_BY_*). */
	uint64_t pages_by_backend[NM_BY_KINDS];
	/* Base pages handed to each mechanism (NM_BY_*). */
	uint64_t pages_sent[NM_BY_KINDS];
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
 *
 * The last non-parked step of each from -> to pair takes
 * every page still bound that way, whatever its byte figure: the plan's
 * bytes are a snapshot, and pages left behind would be stranded.  A step
 * with from == to hands its pages to the kernel, which leaves them where
 * they are: a no-op through the whole path, for single-node tests.
 * pages_moved counts page moves the kernel confirmed (a parked page moves
 * twice, as in plan->bytes_moved); pages_failed counts scanned pages not
 * on their destination at the end, unmapped ones (NM_FAIL_GONE) included;
 * those are dropped from the scans.  A THP run goes to the kernel as one
 * address, so the kernel moves the folio whole (or splits it when the
 * destination has no free huge page).
 *
 * With a kernel-module backend, a batch of module pages is one ioctl of
 * address ranges (helper/engine/engine_kmod.c); the module's per-page
 * outcome is folded in exactly as move_pages(2) statuses are: a page it did
 * not report moved or failed is looked up (move_pages(2) query), so every
 * page ends up accounted for.  An ioctl that fails as a whole (module
 * unloaded meanwhile) fails that batch's pages with its errno.
 */
int nm_engine_run(const struct nm_topology *t, const struct nm_plan *plan,
		  const pid_t *pids, struct nm_scan *scans, int npids,
		  const struct nm_engine_opts *opts,
		  struct nm_engine_result *res, char *err);

/*
 * The checks nm_engine_run() makes of @opts alone (threads 0 to
 * NM_MAX_THREADS, batch size, retries, backend), for a caller to make
 * before it freezes anything.  -1 with @err when one is out of range.
 */
int nm_engine_check_opts(const struct nm_engine_opts *opts, char *err);

#endif
