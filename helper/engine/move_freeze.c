/* SPDX-License-Identifier: MIT */
/* A move's freeze: what undoes it, the freeze, and the one thaw. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper/engine/move_internal.h"
#include "lib/base/clock.h"
#include "lib/linux/cgroup.h"
#include "lib/linux/proc.h"

/* Asked for by someone else: not ours to thaw; unknown: the same. */
static bool cgroup_already_frozen(enum nm_freeze_method how, const char *dir)
{
	char err[NM_ERRLEN];

	return nm_cgroup_freeze_requested(dir, how == NM_FREEZE_V2, err) != 0;
}

/*
 * The freeze set: every process still the one admitted (not seen exiting
 * by a live pass's scan, its pid not taken over) and not a launcher.
 * Launchers keep running: mpirun relays the SIGCONT that ends a stop to
 * its ranks as a signal of its own.  Computed once: what is journaled and
 * what nm_freeze_refs() gets are this one list (handles borrowed from
 * m->procs), so no process is ever stopped without a record that undoes
 * it.
 */
static int freeze_set(struct nm_move *m, struct nm_pidref **set, int *n,
		      char *err)
{
	const struct nm_move_result *r = m->r;

	*n = 0;
	*set = calloc((size_t)(r->npids ? r->npids : 1), sizeof(**set));
	if (!*set) {
		nm_seterr(err, "out of memory");
		return -1;
	}
	nm_move_check_procs(m);
	for (int i = 0; i < r->npids; i++)
		if (!m->gone[i] &&
		    r->job->tasks[i].role != NM_TASK_LAUNCHER)
			(*set)[(*n)++] = m->procs[i];
	if (!*n) {
		nm_seterr(err, "cannot freeze %s: no process to freeze "
			  "(exited, or launchers, which are never stopped)",
			  m->spec->what);
		free(*set);
		*set = NULL;
		return -1;
	}
	return 0;
}

/*
 * Of the freeze set, those a SIGSTOP freeze would stop, with their start
 * times: those not already stopped.  @in gets nothing when there are none.
 */
static int sigstop_intent(const struct nm_pidref *set, int n,
			  struct nm_freeze *in, char *err)
{
	in->pids = calloc((size_t)n, sizeof(*in->pids));
	in->starts = calloc((size_t)n, sizeof(*in->starts));
	if (!in->pids || !in->starts) {
		nm_seterr(err, "out of memory");
		return -1;
	}
	in->method = NM_FREEZE_SIGSTOP;
	for (int i = 0; i < n; i++) {
		struct nm_proc_info pi;

		if (nm_proc_info(set[i].pid, &pi, err) < 0)
			return -1;
		if (pi.state != 'T' && pi.state != 't') {
			/* As admitted: a thaw never signals a stranger. */
			in->starts[in->npids] = set[i].start;
			in->pids[in->npids++] = set[i].pid;
		}
	}
	return 0;
}

/* Whether all of the freeze set sits in one v1 freezer / one v2 cgroup. */
static void common_cgroups(const struct nm_pidref *set, int n,
			   struct nm_cgroups *first, bool *same_v1,
			   bool *same_v2)
{
	char err[NM_ERRLEN];

	memset(first, 0, sizeof(*first));
	*same_v1 = *same_v2 = true;
	for (int i = 0; i < n; i++) {
		struct nm_cgroups cg;

		if (nm_cgroup_of(set[i].pid, &cg, err) < 0) {
			*same_v1 = *same_v2 = false;
			continue;
		}
		if (!i)
			*first = cg;
		*same_v1 &= cg.v1_freezer[0] &&
			    !strcmp(cg.v1_freezer, first->v1_freezer);
		*same_v2 &= cg.v2[0] && !strcmp(cg.v2, first->v2);
	}
}

/*
 * What undoes any partial freeze of the job, recorded before freezing: a
 * SIGCONT for every process not already stopped, and a thaw of the job's
 * cgroup freezer when all of it sits in one that is not already frozen.
 */
static int freeze_intents(const struct nm_pidref *set, int nset,
			  struct nm_freeze *in, int *n, char *err)
{
	struct nm_cgroups first;
	bool same_v1, same_v2;

	*n = 0;
	memset(in, 0, 3 * sizeof(*in));
	if (sigstop_intent(set, nset, &in[0], err) < 0)
		return -1;
	if (in[0].npids)
		(*n)++;
	else
		nm_freeze_release(&in[0]);
	common_cgroups(set, nset, &first, &same_v1, &same_v2);
	if (same_v2 && !cgroup_already_frozen(NM_FREEZE_V2, first.v2)) {
		in[*n].method = NM_FREEZE_V2;
		snprintf(in[(*n)++].cgroup, sizeof(in->cgroup), "%s",
			 first.v2);
	}
	if (same_v1 && !cgroup_already_frozen(NM_FREEZE_V1,
					      first.v1_freezer)) {
		in[*n].method = NM_FREEZE_V1;
		snprintf(in[(*n)++].cgroup, sizeof(in->cgroup), "%s",
			 first.v1_freezer);
	}
	return 0;
}

/* Intents for the caller to record, then the freeze of @set itself. */
static int freeze_set_of(struct nm_move *m, struct nm_freeze *in,
			 const struct nm_pidref *set, int nset, char *err)
{
	const struct nm_move_hooks *h = m->hooks;
	char msg[NM_ERRLEN];
	int n = 0;

	if (freeze_intents(set, nset, in, &n, err) < 0 ||
	    (h->intents && h->intents(h->arg, in, n, err) < 0))
		return -1;
	nm_move_phase(m, "freezing");
	m->t_freeze = nm_now_seconds();
	if (nm_freeze_refs(set, nset, m->spec->freeze_timeout_ms, &m->fz,
			   msg) < 0) {
		nm_seterr(err, "cannot freeze %s: %s", m->spec->what, msg);
		return -1;
	}
	m->r->frozen = true;
	m->r->was_stopped = m->fz.was_frozen;
	return 0;
}

/* The freeze set, recorded, then frozen: the same list for both. */
static int record_and_freeze(struct nm_move *m, struct nm_freeze *in,
			     char *err)
{
	struct nm_pidref *set;
	int nset, rc;

	if (freeze_set(m, &set, &nset, err) < 0)
		return -1;
	rc = freeze_set_of(m, in, set, nset, err);
	free(set);
	return rc;
}

enum nm_move_status nm_move_freeze(struct nm_move *m, char *err)
{
	const struct nm_move_hooks *h = m->hooks;
	struct nm_freeze in[3];
	int rc;

	/* Cancelled first (the caller stopping): nothing gets frozen. */
	if (m->cancel) {
		nm_seterr(err, "%s: cancelled before the freeze",
			  m->spec->what);
		return NM_MOVE_FAILED;
	}
	memset(in, 0, sizeof(in));
	rc = record_and_freeze(m, in, err);
	for (int i = 0; i < 3; i++)
		nm_freeze_release(&in[i]);
	if (rc == 0 && h->frozen && h->frozen(h->arg, m, &m->fz, err) < 0)
		rc = -1;
	return rc < 0 ? NM_MOVE_FAILED : NM_MOVE_OK;
}

/*
 * Thaws once, whoever comes first: the move or its deadline.  Only the
 * call that thawed can fail.
 */
static int thaw_once(struct nm_move *m, char *err)
{
	int rc = 0;

	pthread_mutex_lock(&m->thaw_lock);
	if (m->r->frozen && !m->thawed) {
		rc = nm_move_release(m, err);
		m->thawed = true;
		m->t_thaw = nm_now_seconds();
	}
	pthread_mutex_unlock(&m->thaw_lock);
	return rc;
}

int nm_move_expire(struct nm_move *mv, char *err)
{
	/* First stop the engine: no page of a running job moves after. */
	mv->cancel = 1;
	return thaw_once(mv, err);
}

enum nm_move_status nm_move_thaw(struct nm_move *m, enum nm_move_status st,
				 char *err)
{
	const struct nm_move_hooks *h = m->hooks;
	bool deadline = h->thawing ? h->thawing(h->arg) : false;
	char msg[NM_ERRLEN];

	if (thaw_once(m, msg) < 0) {
		m->r->thaw_failed = true;
		snprintf(m->r->thaw_err, sizeof(m->r->thaw_err), "%s", msg);
		nm_move_add_error(m, NM_MOVE_ERR_THAW, 0, NULL, msg);
		if (st == NM_MOVE_OK)
			nm_seterr(err, "cannot thaw: %s", msg);
		st = NM_MOVE_FAILED;
	}
	m->r->frozen_seconds = m->t_thaw - m->t_freeze;
	if (deadline) {
		m->r->deadline_exceeded = true;
		st = NM_MOVE_FAILED;
	}
	return st;
}
