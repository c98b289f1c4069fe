/* SPDX-License-Identifier: MIT */
#ifndef NM_PIDREF_H
#define NM_PIDREF_H

#include <stdbool.h>
#include <sys/types.h>

#include "lib/base/error.h"

/*
 * A verified process handle: the pid, a pidfd on the process that held it
 * when the handle was opened, and that process's start time (/proc/PID/stat
 * field 22).  A pid is a number the kernel hands out again once its
 * process is reaped; the pidfd is not: it keeps naming the one process, so
 * a signal sent through it never reaches a stranger, and a call that only
 * takes a pid (move_pages(2), sched_setaffinity(2), a cgroup file) is made
 * only after nm_pidref_check() says the pid still names that process.
 */
struct nm_pidref {
	pid_t pid;
	int fd;				/* pidfd; -1 when closed */
	unsigned long long start;	/* clock ticks after boot */
};

#define NM_PIDREF_NONE ((struct nm_pidref){ .pid = 0, .fd = -1, .start = 0 })

/*
 * Opens a handle on the process now at @pid.  -1 with @err when there is
 * none (or only a zombie).
 */
int nm_pidref_open(struct nm_pidref *ref, pid_t pid, char *err);

/*
 * The same, only when @pid still names the process that started at
 * @start (as a journal recorded it); with @err, NM_PIDREF_REPLACED when
 * the pid now names another process, -1 when there is none.
 */
int nm_pidref_open_as(struct nm_pidref *ref, pid_t pid,
		      unsigned long long start, char *err);

/*
 * 0 when @ref's process is alive (not a zombie) and its pid still names
 * it (same start time); otherwise, with @err, NM_PIDREF_EXITED or
 * NM_PIDREF_REPLACED (it exited and its pid now names another process).
 */
#define NM_PIDREF_EXITED (-1)
#define NM_PIDREF_REPLACED (-2)
int nm_pidref_check(const struct nm_pidref *ref, char *err);
static inline bool nm_pidref_alive(const struct nm_pidref *ref)
{
	char err[NM_ERRLEN];

	return nm_pidref_check(ref, err) == 0;
}

/*
 * @sig to @ref's process through its pidfd (pidfd_send_signal(2)): never
 * to whoever holds the pid now.  -1 with @err and errno (ESRCH: exited).
 */
int nm_pidref_signal(const struct nm_pidref *ref, int sig, char *err);

void nm_pidref_close(struct nm_pidref *ref);

/* Closes and frees @n handles (NULL: nothing). */
void nm_pidrefs_free(struct nm_pidref *refs, int n);

#endif
