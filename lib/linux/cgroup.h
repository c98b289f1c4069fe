/* SPDX-License-Identifier: MIT */
#ifndef NM_CGROUP_H
#define NM_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/base/bitmap.h"
#include "lib/base/error.h"

/*
 * A process's cgroups, v1 (per-controller hierarchies: cpuset, freezer, as
 * Slurm's cgroup/v1 uses them) and v2 (unified).  Paths are absolute
 * directories under /sys/fs/cgroup, "" when the process is in that
 * hierarchy's root or the hierarchy is not mounted.
 */
struct nm_cgroups {
	char v1_cpuset[512];	/* v1 cpuset hierarchy: cpuset.mems/cpus */
	char v1_freezer[512];	/* v1 freezer hierarchy: freezer.state */
	char v2[512];		/* unified hierarchy */
	bool v2_has_cpuset;	/* cpuset controller enabled for v2 */
};

int nm_cgroup_of(pid_t pid, struct nm_cgroups *out, char *err);

/* cpuset.mems / cpuset.cpus (v1: cpuset.mems; v2: cpuset.mems) */
int nm_cgroup_get_list(const char *dir, const char *file,
		       struct nm_bitmap *out, char *err);
/* @dir/@file, once both are checked: the writer (helper/engine) uses it too. */
int nm_cgroup_path(const char *dir, const char *file, char *out, size_t len,
		   char *err);

/* Every pid in a cgroup directory (cgroup.procs), for --cgroup PATH. */
int nm_cgroup_pids(const char *dir, pid_t **pids, int *npids, char *err);

/*
 * Where the hierarchies are mounted, from a mountinfo file
 * (/proc/self/mountinfo): mount points, "" when not mounted.  The roots are
 * the mounts' ROOT fields ("/" unless a container mounted a subtree).
 */
struct nm_cgroup_mounts {
	char v1_cpuset[512], v1_cpuset_root[512];	/* v1 cpuset mount */
	char v1_freezer[512], v1_freezer_root[512];	/* v1 freezer mount */
	char v2[512], v2_root[512];			/* cgroup2 mount */
};

int nm_cgroup_mounts(const char *mountinfo_path, struct nm_cgroup_mounts *m,
		     char *err);

/*
 * nm_cgroup_of() on given files (mountinfo, a /proc/PID/cgroup),
 * so that tests can describe v1, hybrid and v2 hosts.
 */
int nm_cgroup_of_files(const char *mountinfo_path, const char *cgroup_path,
		       struct nm_cgroups *out, char *err);

/*
 * Pids in @dir and every cgroup below it (a v2 freeze or a v1
 * FROZEN state covers the whole subtree).  Same contract as
 * nm_cgroup_pids().
 */
int nm_cgroup_tree_pids(const char *dir, pid_t **pids, int *npids, char *err);

/*
 * Whether the subtree at @dir holds only processes of @pids (any order)
 * and those @ignore (may be NULL) says are the cgroup's own keepers: a
 * cgroup whose settings a move may change without touching anyone else.
 * 1: yes, with @inside how many of @pids it holds; 0: no, @foreign is
 * one process there that is neither; -1: @err (unreadable).
 */
int nm_cgroup_tree_within(const char *dir, const pid_t *pids, int npids,
			  bool (*ignore)(pid_t pid), int *inside,
			  pid_t *foreign, char *err);

/*
 * Whether the subtree at @dir holds exactly @pids (distinct, any order):
 * what a cgroup freeze of the subtree would stop.  false when unreadable.
 */
bool nm_cgroup_is_exactly(const char *dir, const pid_t *pids, int npids);

/*
 * "Is it frozen?" has two questions, each answered here once.
 *
 * nm_cgroup_freeze_state(): the ACTUAL state the kernel reports.
 *   v2: cgroup.events "frozen 1" -> FROZEN (also when an ancestor froze
 *       it); else cgroup.freeze "1" -> FREEZING (asked for, some task not
 *       stopped yet); else THAWED.
 *   v1: freezer.state as the kernel reports it (an ancestor's state
 *       included): FROZEN, FREEZING or THAWED.
 *   It answers "may we rely on the tasks standing still?": only FROZEN
 *   does (the freezer's SIGSTOP fallback skips such a process, repack
 *   waits for it); a FREEZING task may still run.
 *
 * nm_cgroup_freeze_requested(): whether somebody asked THIS cgroup to
 * freeze (v2: cgroup.freeze "1"; v1: freezer.state not THAWED, FREEZING
 * included, since v1 shows the request only through the state).  It
 * answers "is a freeze there someone else's, not ours to undo?" (the
 * freezer's was_frozen, the daemon's thaw intents).  On v2 a freeze of an
 * ancestor only is no request here: the freezer still freezes this cgroup
 * itself and thaws it after, so Slurm's resume of the ancestor cannot let
 * the job run in the middle of a move.
 */
enum nm_freeze_state {
	NM_THAWED,
	NM_FREEZING,
	NM_FROZEN,
};

/* "THAWED", "FREEZING" or "FROZEN", as v1's freezer.state spells them. */
const char *nm_freeze_state_name(enum nm_freeze_state st);

/* The state of the v2 (@v2 true) or v1 freezer cgroup at @dir. */
int nm_cgroup_freeze_state(const char *dir, bool v2,
			   enum nm_freeze_state *st, char *err);

/* Whether a freeze of @dir itself was asked for: 1 yes, 0 no, -1 @err. */
int nm_cgroup_freeze_requested(const char *dir, bool v2, char *err);

/*
 * The actual state of process @pid: FROZEN when every thread is stopped
 * by a signal (/proc state T) or its v2 or v1 freezer cgroup is FROZEN,
 * FREEZING when one of those is FREEZING, else THAWED.  A cgroup that
 * cannot be read counts as THAWED; -1 with @err only when @pid is gone.
 */
int nm_process_freeze_state(pid_t pid, enum nm_freeze_state *st, char *err);

/*
 * The parsers behind the readers above, over a file's @len bytes (no '\0'
 * needed), for the fuzzers.  Each takes the file line by line, so a whole
 * file gives what its lines give one after another.
 *
 * mountinfo: fills the slots of @m still empty (zero it first: the first
 * mount of a hierarchy wins).  Lines that are no cgroup mount, or one
 * whose root or mount point is not absolute, are skipped; -1 when a mount
 * point or root does not fit its slot.
 *
 * /proc/PID/cgroup, against the mounts @m: sets the directories its lines
 * name (zero @out first; v2_has_cpuset is left alone).  Returns the number
 * of lines, -1 with @err for a malformed one or a cgroup outside its mount
 * (under another root, or "/.." from outside our cgroup namespace).
 *
 * cgroup.procs: appends its pids to @pids (realloc'd; may start NULL) and
 * counts them in @npids; empty lines are skipped, -1 for anything but a
 * pid on a line (@npids then as it was).
 */
int nm_cgroup_mounts_parse(const char *buf, size_t len,
			   struct nm_cgroup_mounts *m, char *err);
int nm_cgroup_file_parse(const char *buf, size_t len,
			 const struct nm_cgroup_mounts *m,
			 struct nm_cgroups *out, char *err);
int nm_cgroup_procs_parse(const char *buf, size_t len, pid_t **pids,
			  int *npids, char *err);

#endif
