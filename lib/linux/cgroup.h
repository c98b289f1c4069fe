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
	char v1_cpuset[512];
	char v1_freezer[512];
	char v2[512];
	bool v2_has_cpuset;	/* cpuset controller enabled for v2 */
};

int nm_cgroup_of(pid_t pid, struct nm_cgroups *out, char *err);

/* cpuset.mems / cpuset.cpus (v1: cpuset.mems; v2: cpuset.mems) */
int nm_cgroup_get_list(const char *dir, const char *file,
		       struct nm_bitmap *out, char *err);
int nm_cgroup_set_list(const char *dir, const char *file,
		       const struct nm_bitmap *val, char *err);

/* Every pid in a cgroup directory (cgroup.procs), for --cgroup PATH. */
int nm_cgroup_pids(const char *dir, pid_t **pids, int *npids, char *err);

/*
 * Added.  Where the hierarchies are mounted, from a mountinfo file
 * (/proc/self/mountinfo): mount points, "" when not mounted.  The roots are
 * the mounts' ROOT fields ("/" unless a container mounted a subtree).
 */
struct nm_cgroup_mounts {
	char v1_cpuset[512], v1_cpuset_root[512];
	char v1_freezer[512], v1_freezer_root[512];
	char v2[512], v2_root[512];
};

int nm_cgroup_mounts(const char *mountinfo_path, struct nm_cgroup_mounts *m,
		     char *err);

/*
 * Added: nm_cgroup_of() on given files (mountinfo, a /proc/PID/cgroup),
 * so that tests can describe v1, hybrid and v2 hosts.
 */
int nm_cgroup_of_files(const char *mountinfo_path, const char *cgroup_path,
		       struct nm_cgroups *out, char *err);

/*
 * Added: pids in @dir and every cgroup below it (a v2 freeze or a v1
 * FROZEN state covers the whole subtree).  Same contract as
 * nm_cgroup_pids().
 */
int nm_cgroup_tree_pids(const char *dir, pid_t **pids, int *npids, char *err);

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
