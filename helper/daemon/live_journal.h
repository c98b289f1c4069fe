/* SPDX-License-Identifier: MIT */
#ifndef NM_LIVE_JOURNAL_H
#define NM_LIVE_JOURNAL_H

#include <sys/types.h>

#include "lib/base/error.h"
#include "lib/core/topology.h"

/*
 * The live journal.  A live move re-pins the job's threads to its new
 * nodes before their pages follow (helper/engine/move_live.c); from then
 * until it has put the threads where the memory went, the processes (pid,
 * start time) and the map they were re-pinned under are recorded in
 * JOURNAL_DIR/live-GENERATION-ID.json.  A daemon that starts and finds one
 * died in between: each process still alive gets its threads back on the
 * old node that holds more of its memory than the new one
 * (nm_repin_back()), and the file goes.  The cpusets were put back
 * before (helper/daemon/cpuset_journal.h): on cgroup v2 the memory is
 * then on the old nodes again, and the threads follow it there.
 */
struct nm_live_journal {
	char path[600];
};

/* @map: node index -> node index of @t (-1: stays); @n processes. */
int nm_live_journal_begin(struct nm_live_journal *j, const char *dir,
			  unsigned long id, const struct nm_topology *t,
			  const int *map, const pid_t *pids,
			  const unsigned long long *starts, int n, char *err);
int nm_live_journal_finish(struct nm_live_journal *j, char *err);

/*
 * Puts back the threads every live journal in @dir records, and removes
 * the files (one it cannot act on stays, logged).  Returns how many files
 * there were, or -1 when @dir cannot be read.
 */
int nm_live_journal_recover(const char *dir, char *err);

#endif
