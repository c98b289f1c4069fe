/* SPDX-License-Identifier: MIT */
#ifndef NM_CPUSET_H
#define NM_CPUSET_H

#include <stdbool.h>
#include <sys/types.h>

#include "lib/base/bitmap.h"
#include "lib/base/error.h"
#include "lib/core/topology.h"

/*
 * The cpusets' memory nodes during a move.  The kernel refuses to move a
 * page to a node outside the process's cpuset.mems, so before the engine
 * runs each of the job's cpusets gets the new nodes as well as the old
 * ones, and afterwards only the nodes its memory is on.
 */

/*
 * Writes @val as a list ("0-3,8") to @dir/@file (cpuset.mems,
 * cpuset.cpus): the one writer of cgroup lists, root's (lib/linux/cgroup.h
 * reads them).
 */
int nm_cgroup_set_list(const char *dir, const char *file,
		       const struct nm_bitmap *val, char *err);

/* A cpuset the move may widen. */
struct nm_cpuset {
	char dir[512];
	struct nm_bitmap orig;	/* its nodes before (effective when
				   inherited) */
	bool ancestor;		/* widened first for a child (cgroup v1 wants
				   a child's nodes within its parent's) */
};

/*
 * A cpuset the move leaves as it is: its subtree holds a process that is
 * not moved (a shared cgroup), and changing its nodes would change them,
 * and on cgroup v2 move the memory, of everyone in it.
 */
struct nm_cpuset_left {
	char dir[512];
	char why[NM_ERRLEN];
};

struct nm_cpusets {
	struct nm_cpuset *set;
	int n;			/* entries in set */
	int nleaves;		/* the first nleaves are the job's own */
	struct nm_cpuset_left *left;	/* shared ones, never written */
	int nleft;
};

/* The most cpusets one move changes: the job's own and their ancestors. */
#define NM_CPUSETS_MAX 256

/* Called for each cpuset that could not be set, with why. */
typedef void nm_cpuset_fail_fn(void *arg, const char *dir, const char *err);

/*
 * Told every cpuset a widening is about to change (c->set, with the nodes
 * each had), before the first write: a record that lets a restarted
 * daemon put them back (helper/daemon/cpuset_journal.c).  -1 with @err:
 * nothing is written.
 */
typedef int nm_cpusets_record_fn(void *arg, const struct nm_cpusets *c,
				 char *err);

/*
 * The cpuset directories of @pids, once each (the root one needs none).
 * Only a cpuset whose subtree holds nothing but processes of @pids is
 * the move's to change; any other goes to c->left, with why.
 */
int nm_cpusets_collect(struct nm_cpusets *c, const pid_t *pids, int npids,
		       char *err);

/*
 * Adds @add to every cpuset's nodes (and to ancestors' that lack them):
 * first finds every cpuset to change, tells @record (may be NULL), then
 * writes.
 */
int nm_cpusets_widen(struct nm_cpusets *c, const struct nm_bitmap *add,
		     nm_cpusets_record_fn *record, void *arg, char *err);

/*
 * Puts back the nodes every cpuset had (a move that never started, or
 * one a crashed daemon left widened), the job's own first, then the
 * ancestors from the deepest up.
 */
void nm_cpusets_restore(const struct nm_cpusets *c, nm_cpuset_fail_fn *fail,
			void *arg);

/*
 * Each of the job's own cpusets gets its nodes under @map (node index ->
 * node index, -1: unchanged), plus @holding, where memory still is.
 * Each widened ancestor gets the nodes it had plus those its job cpusets
 * now have: the old ones stay (other jobs below it may use them, and
 * shrinking a v2 parent would migrate their memory), the nodes added
 * only for the move (spares pages were parked on) go.  -1 when any
 * failed (each told to @fail).
 */
int nm_cpusets_narrow(const struct nm_cpusets *c, const struct nm_topology *t,
		      const int *map, const struct nm_bitmap *holding,
		      nm_cpuset_fail_fn *fail, void *arg);

void nm_cpusets_release(struct nm_cpusets *c);

#endif
