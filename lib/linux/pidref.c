/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/linux/pidref.h"
#include "lib/linux/proc.h"

/* Through syscall(): glibc's wrappers are newer than some of our targets. */
static int sys_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int sys_pidfd_send_signal(int fd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
}

/* The pidfd polls readable once its process has exited (zombie too). */
static bool fd_exited(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) != 0;
}

/*
 * The start time and state of whoever holds @pid now.  Read after the
 * pidfd was opened and before it is polled: when the pidfd's process is
 * still alive after the read, the pid could not change hands in between,
 * so what was read is that process's.
 */
static int read_start(pid_t pid, unsigned long long *start, char *state)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	return nm_proc_stat_file(path, state, start);
}

int nm_pidref_open(struct nm_pidref *ref, pid_t pid, char *err)
{
	char state;

	*ref = NM_PIDREF_NONE;
	if (pid <= 0) {
		nm_seterr(err, "process %d: not a process id", (int)pid);
		return -1;
	}
	ref->fd = sys_pidfd_open(pid);
	if (ref->fd < 0) {
		nm_seterr(err, "process %d: %s", (int)pid, errno == ESRCH ?
			  "no such process" : strerror(errno));
		return -1;
	}
	ref->pid = pid;
	if (read_start(pid, &ref->start, &state) < 0 || state == 'Z' ||
	    state == 'X' || fd_exited(ref->fd)) {
		nm_seterr(err, "process %d: exited", (int)pid);
		nm_pidref_close(ref);
		return -1;
	}
	return 0;
}

int nm_pidref_open_as(struct nm_pidref *ref, pid_t pid,
		      unsigned long long start, char *err)
{
	if (nm_pidref_open(ref, pid, err) < 0)
		return -1;
	if (ref->start != start) {
		nm_seterr(err, "process %d: exited (the pid now names another "
			  "process)", (int)pid);
		nm_pidref_close(ref);
		return NM_PIDREF_REPLACED;
	}
	return 0;
}

int nm_pidref_check(const struct nm_pidref *ref, char *err)
{
	unsigned long long start;
	char state;

	int r;

	if (ref->fd < 0) {
		nm_seterr(err, "process %d: no such process", (int)ref->pid);
		return NM_PIDREF_EXITED;
	}
	r = read_start(ref->pid, &start, &state);
	if (!fd_exited(ref->fd)) {
		if (r == 0 && state != 'Z' && state != 'X' &&
		    start == ref->start)
			return 0;
	} else {
		/*
		 * Ours is gone: whoever holds the pid alive now is someone
		 * else, even one that started within the same clock tick.
		 */
		r = read_start(ref->pid, &start, &state);
		if (r == 0 && state != 'Z' && state != 'X')
			start = ~ref->start;
	}
	if (r == 0 && start != ref->start) {
		nm_seterr(err, "process %d: exited (the pid now names another "
			  "process)", (int)ref->pid);
		return NM_PIDREF_REPLACED;
	}
	nm_seterr(err, "process %d: exited", (int)ref->pid);
	return NM_PIDREF_EXITED;
}

int nm_pidref_signal(const struct nm_pidref *ref, int sig, char *err)
{
	if (ref->fd < 0) {
		errno = ESRCH;
		nm_seterr(err, "process %d: no such process", (int)ref->pid);
		return -1;
	}
	if (sys_pidfd_send_signal(ref->fd, sig) < 0) {
		int e = errno;

		nm_seterr(err, "signal %d to process %d: %s", sig,
			  (int)ref->pid, e == ESRCH ? "exited" : strerror(e));
		errno = e;
		return -1;
	}
	return 0;
}

void nm_pidref_close(struct nm_pidref *ref)
{
	if (ref->fd >= 0)
		close(ref->fd);
	ref->fd = -1;
}

void nm_pidrefs_free(struct nm_pidref *refs, int n)
{
	if (!refs)
		return;
	for (int i = 0; i < n; i++)
		nm_pidref_close(&refs[i]);
	free(refs);
}
