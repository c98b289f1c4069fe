/* SPDX-License-Identifier: MIT */
/*
 * A move's thaw, unless the job's scheduler suspended the job while the
 * move held it.
 *
 * Slurm suspends with SIGTSTP, then (after its suspend grace time)
 * SIGSTOP or a freeze of the step's cgroup; it resumes with SIGCONT to
 * every task, then a thaw of that cgroup.  The move's own thaw would
 * undo a suspend that arrived meanwhile: SIGCONT to processes Slurm
 * stopped, or THAWED / cgroup.freeze=0 on the very cgroup Slurm froze --
 * a cgroup freezer holds one state, not one per party.
 *
 * So, when the suspended hook says the job is suspended, the move hands
 * its hold over in the form Slurm's resume lifts: a SIGSTOP on every
 * process (already so with a SIGSTOP freeze), then its own cgroup freeze
 * undone (a freeze of a cgroup below Slurm's would outlast Slurm's
 * thaw).  The hook is asked again once the SIGSTOPs are sent: a resume
 * the controller decides after that answer sends its SIGCONT after them;
 * one decided before is seen, and the job is thawed as usual.
 *
 * What remains: a suspend the controller decides between the last
 * answer and the thaw.  Slurm's SIGSTOP or freeze follows its SIGTSTP by
 * the grace time (2 s), long after the thaw, so the suspend still holds;
 * the thaw's SIGCONT may only discard the pending SIGTSTP.  A scheduler
 * that cannot be asked counts as not suspended: the job is thawed, never
 * left held by nobody (a controller that does not answer delays the thaw
 * by libslurm's message timeout).  Not covered here: a thaw the daemon
 * makes later -- at restart from a kept journal, or a retried failed thaw
 * (helper/daemon/thaw_retry.c) -- does not ask; and a Slurm suspend and
 * resume both during the move lift the move's own freeze early (SIGCONT,
 * a thaw of the same cgroup): the move goes on with the job running, as
 * a live pass would.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "helper/engine/move_internal.h"
#include "lib/linux/pidref.h"

static bool suspended(struct nm_move *m)
{
	const struct nm_move_hooks *h = m->hooks;

	return h->suspended && h->suspended(h->arg);
}

static void left_held(struct nm_move *m)
{
	m->r->left_suspended = true;
	nm_move_log(m, LOG_NOTICE, "%s was suspended by its scheduler during "
		    "the move: left held for its resume", m->spec->what);
}

/*
 * SIGSTOP to every process of the move still the one admitted (through
 * its pidfd), recorded in @st with its start time for the SIGCONT.
 */
static int stop_all(struct nm_move *m, struct nm_freeze *st, char *err)
{
	const struct nm_move_result *r = m->r;

	memset(st, 0, sizeof(*st));
	st->method = NM_FREEZE_SIGSTOP;
	st->pids = calloc((size_t)r->npids, sizeof(*st->pids));
	st->starts = calloc((size_t)r->npids, sizeof(*st->starts));
	if (!st->pids || !st->starts) {
		nm_freeze_release(st);
		nm_seterr(err, "out of memory");
		return -1;
	}
	for (int i = 0; i < r->npids && i < m->nprocs; i++) {
		const struct nm_pidref *ref = &m->procs[i];
		char msg[NM_ERRLEN];

		if (m->gone[i] || !nm_pidref_alive(ref))
			continue;
		if (nm_pidref_signal(ref, SIGSTOP, msg) < 0) {
			if (errno == ESRCH)
				continue;
			nm_seterr(err, "%s", msg);
			nm_thaw(st, msg);
			nm_freeze_release(st);
			return -1;
		}
		st->starts[st->npids] = ref->start;
		st->pids[st->npids++] = ref->pid;
	}
	return 0;
}

/*
 * Suspended during a cgroup freeze: SIGSTOP everything, undo the cgroup
 * freeze, ask again.  Resumed meanwhile: SIGCONT (the job thaws).
 */
static int hand_over_cgroup(struct nm_move *m, char *err)
{
	struct nm_freeze st;
	int rc;

	if (stop_all(m, &st, err) < 0)
		return nm_thaw(&m->fz, err);
	if (nm_thaw(&m->fz, err) < 0) {
		char msg[NM_ERRLEN];

		nm_thaw(&st, msg);
		nm_freeze_release(&st);
		return -1;
	}
	if (suspended(m)) {
		left_held(m);
		nm_freeze_release(&st);
		return 0;
	}
	rc = nm_thaw(&st, err);
	nm_freeze_release(&st);
	return rc;
}

int nm_move_release(struct nm_move *m, char *err)
{
	struct nm_freeze *fz = &m->fz;

	if (fz->method == NM_FREEZE_NONE || fz->was_frozen || !suspended(m))
		return nm_thaw(fz, err);
	if (fz->method != NM_FREEZE_SIGSTOP)
		return hand_over_cgroup(m, err);
	/* Stopped by SIGSTOP already: the resume's SIGCONT lifts it. */
	left_held(m);
	fz->method = NM_FREEZE_NONE;
	return 0;
}
