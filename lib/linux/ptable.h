/* SPDX-License-Identifier: MIT */
#ifndef NM_PTABLE_H
#define NM_PTABLE_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * Every live process and its parent, from one pass over /proc, indexed
 * both ways: finding a process or a process's children is a binary
 * search, not another pass.  A status request reads one table and finds
 * the processes of every registered job in it (one pass over /proc per
 * job cost each status about a thousand file reads on a busy node).
 */
struct nm_ptable_entry {
	pid_t pid;
	pid_t ppid;
};

struct nm_ptable {
	struct nm_ptable_entry *by_pid;		/* sorted by pid */
	struct nm_ptable_entry *by_ppid;	/* by parent, then pid */
	int n;
};

/* The table of /proc now (zombies left out); -1 with @err. */
int nm_ptable_read(struct nm_ptable *t, char *err);

/*
 * The table of the @n processes @pid[i] (parent @ppid[i]): what
 * nm_ptable_read() builds from /proc.  -1 with @err: out of memory, or a
 * pid listed twice.
 */
int nm_ptable_build(struct nm_ptable *t, const pid_t *pid, const pid_t *ppid,
		    int n, char *err);

bool nm_ptable_has(const struct nm_ptable *t, pid_t pid);

/*
 * @pids and every descendant of them in @t, each once, the given ones
 * first in their order, then breadth first (children by pid).  Missing
 * given pids are an error.
 */
int nm_ptable_descendants(const struct nm_ptable *t, const pid_t *pids,
			  int npids, pid_t **out, int *nout, char *err);

void nm_ptable_free(struct nm_ptable *t);

#endif
