/* SPDX-License-Identifier: MIT */
#ifndef NM_FREEZER_H
#define NM_FREEZER_H

#include <stdbool.h>
#include <sys/types.h>

#include "lib/base/error.h"
#include "lib/linux/pidref.h"
#include "lib/linux/proc.h"	/* nm_process_stopped */

/*
 * Freezing a job for a move, and restoring exactly the state it was in.
 * Prefers the job's own cgroup freezer (v2 cgroup.freeze, v1 freezer.state)
 * when every process of the job is in that cgroup, else SIGSTOP to every
 * process, verified until every thread of each is stopped.
 */
enum nm_freeze_method { NM_FREEZE_NONE, NM_FREEZE_V2, NM_FREEZE_V1,
			NM_FREEZE_SIGSTOP };

struct nm_freeze {
	enum nm_freeze_method method;
	char cgroup[512];	/* for V1/V2 */
	int npids;
	pid_t *pids;		/* processes stopped (SIGSTOP) */
	unsigned long long *starts;	/* their start times (clock
				   ticks, /proc/PID/stat field 22), so a
				   thaw after a restart never signals a
				   recycled pid; 0: unknown */
	bool was_frozen;	/* already frozen/stopped (e.g. Slurm suspend):
				   leave it so on thaw */
};

/*
 * Freezes the processes @pids (and every thread of each) within
 * @timeout_ms.  On failure nothing stays frozen that was not before.
 */
int nm_freeze(const pid_t *pids, int npids, int timeout_ms,
	      struct nm_freeze *fz, char *err);
/*
 * The same for processes verified earlier (a move's admission): each is
 * checked to be still the one @procs names, and signalled through its
 * pidfd.  nm_freeze() opens the handles itself.  The thaw signals only
 * the process that started at the recorded start time, through a pidfd.
 */
int nm_freeze_refs(const struct nm_pidref *procs, int npids, int timeout_ms,
		   struct nm_freeze *fz, char *err);
/* Restores the prior state: thaws unless it was already frozen. */
int nm_thaw(struct nm_freeze *fz, char *err);
void nm_freeze_release(struct nm_freeze *fz);

/*
 * Serialises @fz to one line / parses it back, for the journal in /run:
 *   nmfreeze method=sigstop was_frozen=0 cgroup=- pids=1234@98765,1240@98770
 * (cgroup %XX-escaped, a leading '-' too, "-" when none; pids as
 * pid@starttime).  format returns the line's length without newline, or -1
 * when @len is too small; parse allocates @fz->pids (nm_freeze_release()
 * frees them).
 */
int nm_freeze_format(const struct nm_freeze *fz, char *buf, size_t len);
int nm_freeze_parse(const char *line, struct nm_freeze *fz, char *err);

#endif
