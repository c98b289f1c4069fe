/* SPDX-License-Identifier: MIT */
#ifndef NM_SCAN_H
#define NM_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/base/error.h"
#include "lib/core/topology.h"

/*
 * Placement scan: for each resident page of a process, which node holds
 * it.  Pages are reported as runs of virtually contiguous pages on one
 * node with the same attributes.
 *
 * A run flagged NM_RUN_THP or NM_RUN_HUGETLB holds the pages of exactly
 * one folio (huge page) as mapped here, so its first address names the
 * whole folio to move_pages(2).  Those flags need the folio boundaries
 * from /proc/kpageflags (root); without them large folios are reported as
 * base pages.  Zero pages and pages outside the nodes' memory (PFNMAP
 * device memory) are not reported: they cannot move.
 *
 * AUTO prefers pagemap whenever PFNs are visible: the move_pages method
 * reads pagemap too (present bits, to skip holes) and then asks the
 * kernel per page, about twice the cost (measured: tests/bench/README.md,
 * "Placement scan cost").
 */

#define NM_RUN_THP	0x1u	/* part of a transparent huge page */
#define NM_RUN_SHARED	0x2u	/* mapped by more than one process */
#define NM_RUN_FILE	0x4u	/* page cache of a regular file (libraries,
				   executables, input files): not the job's
				   memory; the engine leaves it alone */
#define NM_RUN_HUGETLB	0x8u	/* hugetlbfs */
#define NM_RUN_SHMEM	0x10u	/* shared memory: MAP_SHARED|MAP_ANONYMOUS,
				   SysV, /dev/shm, memfd (the job's memory,
				   but not anonymous to the kernel module) */

struct nm_run {
	uintptr_t start;	/* page-aligned virtual address */
	uint32_t npages;	/* base (4 KiB) pages */
	int16_t node;		/* OS node number */
	uint16_t flags;		/* NM_RUN_* */
};

/* A shared mapping a scan left out: its object belongs to another uid. */
struct nm_skipped {
	uintptr_t start, end;
	uid_t owner;		/* the object's owner; (uid_t)-1: unknown */
	uint64_t pages;		/* resident base pages */
	char path[128];		/* as /proc/PID/map_files names it */
};

struct nm_scan {
	pid_t pid;
	int method;		/* the nm_scan_method used (never AUTO) */
	size_t nruns, cap;
	struct nm_run *runs;
	uint64_t pages_per_node[NM_MAX_NODES];	/* base pages */
	/* Anonymous pages on nodes a scan made no runs for (run_nodes) */
	uint64_t counted_per_node[NM_MAX_NODES];
	struct nm_skipped *skipped;		/* nm_scan_process_for() */
	size_t nskipped;
	uint64_t pages_skipped;			/* their resident pages */
};

enum nm_scan_method {
	NM_SCAN_AUTO,		/* pagemap when readable, else move_pages */
	NM_SCAN_PAGEMAP,	/* /proc/PID/pagemap PFNs -> nodes (root) */
	NM_SCAN_MOVE_PAGES,	/* move_pages(2) with nodes == NULL */
};

/*
 * Scans every VMA of @pid that can hold migratable pages (skips [vsyscall],
 * [vvar], VM_IO/PFNMAP mappings).  Fills @out (zeroed first).  Errors:
 * process gone, permission.  nm_scan_release() frees the runs.
 */
int nm_scan_process(pid_t pid, enum nm_scan_method method,
		    struct nm_scan *out, char *err);
void nm_scan_release(struct nm_scan *scan);

/* One mapping of /proc/PID/maps as the scan sees it. */
struct nm_vma {
	uintptr_t start, end;
	bool file;	/* maps a regular file: its page cache is not the
			   job's (lib/job_proc.c counts the same way) */
	bool shmem;	/* shared memory: deleted /dev/zero, SysV segment,
			   /dev/shm file, memfd */
	bool shared;	/* MAP_SHARED ('s'): an object others may map */
};

/*
 * Shared memory of others.  The engine moves with MPOL_MF_MOVE_ALL: a
 * page another process maps moves too.  A scan for an unprivileged
 * @caller (NM_SCAN_ANY_UID: none) leaves out every shared mapping whose
 * object (a /dev/shm or hugetlbfs file, a SysV segment, a memfd, any
 * file) another uid owns -- or whose owner it cannot tell -- and lists it
 * in out->skipped with its resident pages: the caller's move never moves
 * memory of others onto the caller's nodes.  The owner is the object's
 * inode owner, through /proc/PID/map_files (root); a SysV segment's is
 * its creator's (IPC_SET does not change it).  A regular file mapped
 * shared (not on hugetlbfs) is not listed: the engine never moves page
 * cache anyway.
 */
#define NM_SCAN_ANY_UID ((uid_t)-1)
int nm_scan_process_for(pid_t pid, enum nm_scan_method method, uid_t caller,
			struct nm_scan *out, char *err);

/*
 * As nm_scan_process_for(), with runs only for pages on the nodes whose
 * @run_nodes[OS node] is true (NULL: every node): with PFNs visible, an
 * anonymous mapping's pages on any other node are only counted, into
 * out->counted_per_node, without their page flags.  A move's rescan
 * needs runs only for what it may move, and reading each page's flags is
 * most of a scan's time, frozen time in a live move's final pass.
 */
int nm_scan_process_on(pid_t pid, enum nm_scan_method method, uid_t caller,
		       const bool *run_nodes, struct nm_scan *out, char *err);
/* The rule: whether a scan for @caller leaves @vma out (@owner: -1 when
   unknown). */
bool nm_scan_skips(const struct nm_vma *vma, uid_t owner, uid_t caller);

/*
 * Parses one /proc/PID/maps line of @len bytes (no '\0' needed, a final
 * '\n' allowed).  Returns 1 for a mapping that may hold migratable pages,
 * 0 for one to skip ([vsyscall], [vvar], [vdso], device files under /dev),
 * -1 with @err when malformed (the kernel's format exactly; start < end,
 * both page-aligned).  nm_scan_maps_line() takes a C string.
 */
int nm_scan_maps_entry(const char *line, size_t len, struct nm_vma *vma,
		       char *err);
int nm_scan_maps_line(const char *line, struct nm_vma *vma, char *err);

/*
 * A whole maps file of @len bytes: the mappings to scan in their order
 * (malloc'd into @vmas, NULL when none), what its lines give one by one.
 * -1 with @err at the first malformed line (an empty one too).
 */
int nm_scan_maps_parse(const char *buf, size_t len, struct nm_vma **vmas,
		       size_t *nvmas, char *err);

#endif
