/* SPDX-License-Identifier: MIT */
#ifndef NM_PROC_H
#define NM_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/base/bitmap.h"
#include "lib/base/error.h"

/* What the daemon needs to know about a process, from /proc. */
struct nm_proc_info {
	pid_t pid;			/* the process asked about */
	pid_t ppid;			/* its parent */
	uid_t uid[4];			/* real, effective, saved, fs */
	char state;			/* 'R', 'S', 'T' (stopped), ... */
	unsigned long long starttime;	/* clock ticks after boot: with the
					   pid, names one process for good */
	struct nm_bitmap mems_allowed;	/* Mems_allowed_list: its cpuset */
};

int nm_proc_info(pid_t pid, struct nm_proc_info *out, char *err);

/*
 * The parsers behind it, over a file's @len bytes (no '\0' needed), for
 * the fuzzers: /proc/PID/stat's state, ppid and starttime (@ppid and
 * @start may be NULL), and /proc/PID/status's Uid and Mems_allowed_list.
 */
#define NM_PROC_STATUS_MAX (1u << 20)
int nm_proc_stat_parse(const char *buf, size_t len, char *state,
		       pid_t *ppid, unsigned long long *start, char *err);
int nm_proc_status_parse(const char *buf, size_t len,
			 struct nm_proc_info *out, char *err);

/*
 * State letter and start time (@start may be NULL) from the stat file at
 * @path (/proc/PID/stat or /proc/PID/task/TID/stat); -1 when the task is
 * gone or the file is not one.
 */
int nm_proc_stat_file(const char *path, char *state,
		      unsigned long long *start);

/*
 * State letter, parent and start time of @pid from /proc/PID/stat
 * (@ppid and @start may be NULL); -1 with @err when it is gone.
 */
int nm_proc_stat(pid_t pid, char *state, pid_t *ppid,
		 unsigned long long *start, char *err);

/* True when @pid still names the process that started at @starttime. */
bool nm_proc_same(pid_t pid, unsigned long long starttime);

/*
 * @pids and every descendant process of them (a /proc scan: the
 * task/TID/children files need CONFIG_PROC_CHILDREN), each once, the
 * given ones first in their order.  Missing given pids are an error.
 * One pass over /proc; for several sets of pids, read one nm_ptable
 * (ptable.h) and ask it for each.
 */
int nm_proc_descendants(const pid_t *pids, int npids, pid_t **out, int *nout,
			char *err);

/* Every thread id of @pid; -1 when it is gone. */
int nm_proc_threads(pid_t pid, pid_t **tids, int *ntids, char *err);

/*
 * Whether every thread of @pid is stopped by a signal ('T', 't') or dead.
 * 1 yes, 0 no (@tid gets the first running thread), -1 with @err when the
 * process is gone.  nm_process_freeze_state() (cgroup.h) adds the cgroup
 * freezers to it.
 */
int nm_process_stopped(pid_t pid, pid_t *tid, char *err);

/* A /proc or /proc/PID/task entry's name that is a process or thread id. */
bool nm_proc_is_id(const char *name);

#endif
