/* SPDX-License-Identifier: MIT */
#ifndef NM_THAW_RETRY_H
#define NM_THAW_RETRY_H

#include <jansson.h>

#include "lib/base/error.h"

/*
 * Never left frozen: a journal that no move in progress owns records a
 * freeze nobody will undo (a thaw that failed, at the end of a move or at
 * the daemon's start).  A thread retries its thaw with backoff (1 s,
 * doubling, at most 60 s) until it succeeds and the file goes.
 */
int nm_thaw_retry_start(const char *journal_dir, char *err);

/*
 * What the daemon believes frozen, for status: one object per kept
 * journal: "journal" (its file name), "move" (its id), "pids" (the
 * processes it stopped or whose cgroup it froze: [] for a cgroup freeze
 * recorded without pids), "cgroups", "attempts", "error" (the last
 * failure), "retry_in_s".
 */
json_t *nm_thaw_retry_list(void);

#endif
