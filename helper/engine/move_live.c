/* SPDX-License-Identifier: MIT */
/*
 * A live move: the job keeps running while its pages move.  Widen the
 * cpusets, re-pin every thread to its mapped CPUs first (from then on the
 * job's new pages land on the new nodes), then passes of the engine, each
 * over a fresh scan, while the job runs: move_pages(2) and the module's
 * migrate_vma_* are safe on a running process (a page in flight sits
 * behind a migration entry; a write waits for it).  When what is left on
 * the old nodes is small, or a pass stops gaining on it, the job is frozen
 * exactly as a frozen move freezes it (journal, deadline) for a final pass
 * over the remainder; then CPUs follow where memory went, the job thaws,
 * and the cpusets narrow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "helper/engine/move_internal.h"
#include "lib/base/clock.h"
#include "lib/base/units.h"

#define LIVE_MAX_PASSES 8

/*
 * A rescan binds every page by the node it is on now, so no node may be
 * both an old node that moves and a new one (a page there could have
 * moved already), and no page may wait on a spare node (a parked step).
 */
static int live_possible(const struct nm_move *m, char *err)
{
	const struct nm_plan *p = m->r->plan;
	const struct nm_topology *t = m->r->t;
	struct nm_bitmap from, to;

	nm_bitmap_zero(&from);
	nm_bitmap_zero(&to);
	for (int n = 0; n < t->nnodes; n++)
		if (p->map[n] >= 0 && p->map[n] != n) {
			nm_bitmap_set(&from, (unsigned int)n);
			nm_bitmap_set(&to, (unsigned int)p->map[n]);
		}
	for (int n = 0; n < t->nnodes; n++)
		if (nm_bitmap_test(&from, (unsigned int)n) &&
		    nm_bitmap_test(&to, (unsigned int)n)) {
			nm_seterr(err, "cannot move %s live: node %d is both an "
				  "old and a new node of the map; use --mode "
				  "frozen", m->spec->what, t->nodes[n].os);
			return -1;
		}
	for (int i = 0; i < p->nsteps; i++)
		if (p->steps[i].parked) {
			nm_seterr(err, "cannot move %s live: the plan parks "
				  "pages on a spare node; use --mode frozen",
				  m->spec->what);
			return -1;
		}
	return 0;
}

/* Bytes of the job still on a node the plan moves away from. */
static uint64_t left_on_old(const struct nm_move *m, const uint64_t *pages)
{
	const int *map = m->r->plan->map;
	uint64_t n_pages = 0;

	for (int n = 0; n < m->r->t->nnodes; n++)
		if (map[n] >= 0 && map[n] != n)
			n_pages += pages[n];
	return n_pages * nm_page_size();
}

static uint64_t job_bytes(const struct nm_move *m, const uint64_t *pages)
{
	uint64_t n_pages = 0;

	for (int n = 0; n < m->r->t->nnodes; n++)
		n_pages += pages[n];
	return n_pages * nm_page_size();
}

/* Whether the passes end, with @why for the log. */
static bool passes_done(const struct nm_move *m, uint64_t left, uint64_t prev,
			uint64_t total, double t0, const char **why)
{
	const struct nm_move_spec *s = m->spec;
	int max = s->live_max_passes > 0 ? s->live_max_passes :
		  LIVE_MAX_PASSES;

	*why = NULL;
	if (left <= s->live_threshold_bytes ||
	    left * 100 <= (uint64_t)s->live_share_pct * total)
		*why = "what is left is small";
	else if (m->live_stop || (s->live_max_ms > 0 &&
		 (nm_now_seconds() - t0) * 1000 >= s->live_max_ms))
		*why = m->cancel ? "cancelled" : "the live phase's time is up";
	else if (prev != UINT64_MAX && left * 10 > prev * 9)
		*why = "a pass moved less than a tenth of what was left";
	else if (m->r->passes >= max)
		*why = "the last pass allowed ran";
	return *why != NULL;
}

static void add_pass(struct nm_engine_result *sum,
		     const struct nm_engine_result *p)
{
	sum->pages_moved += p->pages_moved;
	sum->bytes_moved += p->bytes_moved;
	sum->pages_attempted += p->pages_attempted;
	sum->pages_skipped_file += p->pages_skipped_file;
	sum->seconds += p->seconds;
	for (int k = 0; k < NM_BY_KINDS; k++) {
		sum->pages_by_backend[k] += p->pages_by_backend[k];
		sum->pages_sent[k] += p->pages_sent[k];
	}
}

/*
 * Passes while the job runs.  @before gets the first scan's pages per
 * node; @sum what the passes moved.  Pages a pass could not move (busy,
 * freed meanwhile) are not failures: the next pass or the frozen one
 * tries them again.
 */
static int live_passes(struct nm_move *m, uint64_t *before, uint64_t *now,
		       struct nm_engine_result *pass,
		       struct nm_engine_result *sum, char *err)
{
	struct nm_move_result *r = m->r;
	uint64_t total, left, prev = UINT64_MAX;
	double t0 = nm_now_seconds();
	const char *why;

	if (m->spec->live_max_ms > 0)
		m->live_deadline = t0 + m->spec->live_max_ms / 1000.0;
	if (nm_move_scan_all(m, err) < 0)
		return -1;
	nm_move_pages_per_node(m, before);
	total = job_bytes(m, before);
	for (;;) {
		nm_move_pages_per_node(m, now);
		left = left_on_old(m, now);
		if (passes_done(m, left, prev, total, t0, &why))
			break;
		memset(m->failed_per_pid, 0,
		       (size_t)r->npids * sizeof(*m->failed_per_pid));
		memset(pass, 0, sizeof(*pass));
		if (nm_move_engine(m, pass, err) < 0)
			return -1;
		r->passes++;
		r->bytes_moved_live += pass->bytes_moved;
		add_pass(sum, pass);
		nm_move_log(m, LOG_INFO, "live pass %d: %llu of %llu bytes "
			    "left on the old nodes, %llu moved", r->passes,
			    (unsigned long long)left,
			    (unsigned long long)total,
			    (unsigned long long)pass->bytes_moved);
		prev = left;
		if (nm_move_scan_all(m, err) < 0)
			return -1;
	}
	nm_move_log(m, LOG_INFO, "live phase ends after %d passes (%s): %llu "
		    "bytes left for the frozen pass", r->passes, why,
		    (unsigned long long)left);
	return 0;
}

/*
 * Threads were pinned under the plan's map before the passes; a node
 * whose memory mostly stayed (the effective map) gets its threads back.
 * Two old nodes mapped onto one new node share it: the later one names
 * where that node's threads go back to.
 */
static void revert_cpus(struct nm_move *m)
{
	const struct nm_topology *t = m->r->t;
	const int *map = m->r->plan->map, *eff = m->r->cpu_map;
	int *back = malloc((size_t)t->nnodes * sizeof(*back));
	bool any = false;

	if (!back) {
		nm_move_add_error(m, NM_MOVE_ERR_REBIND, 0, NULL,
				  "out of memory re-pinning threads back");
		return;
	}
	for (int n = 0; n < t->nnodes; n++)
		back[n] = -1;
	for (int n = 0; n < t->nnodes; n++)
		if (map[n] >= 0 && map[n] != n && eff[n] == n) {
			back[map[n]] = n;
			any = true;
		}
	if (any) {
		nm_move_log(m, LOG_WARNING, "memory of some nodes stayed: "
			    "their threads go back to them");
		nm_move_rebind_all(m, back);
	}
	free(back);
}

/*
 * Frozen: the final pass over what the job left on the old nodes.  @t
 * gets the times its scan and its engine ended.
 */
static int final_pass(struct nm_move *m, double t[2], char *err)
{
	const struct nm_move_hooks *h = m->hooks;
	struct nm_move_result *r = m->r;

	if (nm_move_scan_all(m, err) < 0 ||
	    (h->scanned && h->scanned(h->arg, r->pids, m->scans, r->npids,
				      err) < 0))
		return -1;
	t[0] = nm_now_seconds();
	memset(m->failed_per_pid, 0,
	       (size_t)r->npids * sizeof(*m->failed_per_pid));
	if (nm_move_engine(m, r->engine, err) < 0)
		return -1;
	t[1] = nm_now_seconds();
	r->bytes_moved_frozen = r->engine->bytes_moved;
	nm_move_drop_exited(m);
	return 0;
}

/*
 * CPUs where memory went, the thaw, then the cpusets narrowed: narrowing
 * may walk every page of the job (cgroup v2 migrates to the new mems), and
 * with the job's memory and threads already in place it needs no freeze.
 * The figures summed.
 */
static enum nm_move_status settle(struct nm_move *m, const uint64_t *before,
				  uint64_t *after,
				  const struct nm_engine_result *sum,
				  enum nm_move_status st, char *err)
{
	struct nm_move_result *r = m->r;

	nm_move_pages_per_node(m, after);
	nm_move_effective_map(m, before, after);
	revert_cpus(m);
	if (r->frozen)
		st = nm_move_thaw(m, st, err);
	nm_move_narrow(m, after);
	add_pass(r->engine, sum);
	if (st == NM_MOVE_OK && (r->engine->pages_failed || r->nerrors)) {
		nm_seterr(err, "%llu pages not moved, %d other errors",
			  (unsigned long long)r->engine->pages_failed,
			  r->nerrors);
		st = NM_MOVE_FAILED;
	}
	return st;
}

/* The repinning hook: the processes and their start times recorded. */
static int record_repin(struct nm_move *m, char *err)
{
	const struct nm_move_hooks *h = m->hooks;
	struct nm_move_result *r = m->r;
	unsigned long long *starts;
	int rc;

	if (!h->repinning)
		return 0;
	starts = calloc((size_t)(r->npids ? r->npids : 1), sizeof(*starts));
	if (!starts) {
		nm_seterr(err, "out of memory");
		return -1;
	}
	for (int i = 0; i < r->npids && i < m->nprocs; i++)
		starts[i] = m->procs[i].start;
	rc = h->repinning(h->arg, r, starts, err);
	free(starts);
	return rc;
}

static void live_ended(struct nm_move *m)
{
	if (m->hooks->live_ended)
		m->hooks->live_ended(m->hooks->arg);
}

/*
 * Where the frozen time went (@t: frozen, scanned, pages moved), for an
 * administrator who finds it longer than the remainder explains.
 */
static void log_frozen_times(struct nm_move *m, const double t[3])
{
	nm_move_log(m, LOG_DEBUG, "frozen %.3f s: freeze %.3f s, scan %.3f s, "
		    "final pass %.3f s, thaw %.3f s", m->r->frozen_seconds,
		    t[0] - m->t_freeze, t[1] - t[0], t[2] - t[1],
		    m->t_thaw - t[2]);
}

static enum nm_move_status live_run(struct nm_move *m, uint64_t *before,
				    uint64_t *after,
				    struct nm_engine_result *pass,
				    struct nm_engine_result *sum, char *err)
{
	struct nm_move_result *r = m->r;
	double t0 = nm_now_seconds(), t[3];
	enum nm_move_status st;
	int rc;

	if (live_possible(m, err) < 0)
		return NM_MOVE_REFUSED;		/* nothing changed */
	if (nm_move_widen(m, err) < 0 || record_repin(m, err) < 0) {
		nm_move_restore_mems(m);
		return NM_MOVE_FAILED;
	}
	/* Before any page moves: new allocations land on the new nodes. */
	nm_move_rebind_all(m, r->plan->map);
	m->in_live = true;
	rc = live_passes(m, before, after, pass, sum, err);
	m->in_live = false;
	if (rc < 0) {
		/* The job runs on; CPUs follow where its memory is. */
		settle(m, before, after, sum, NM_MOVE_FAILED, err);
		live_ended(m);
		return NM_MOVE_FAILED;
	}
	r->live_seconds = nm_now_seconds() - t0;
	st = nm_move_freeze(m, err);
	t[0] = nm_now_seconds();
	t[1] = t[2] = 0;
	if (st == NM_MOVE_OK && final_pass(m, &t[1], err) < 0)
		st = NM_MOVE_FAILED;
	st = settle(m, before, after, sum, st, err);
	if (r->frozen && t[2] > 0)
		log_frozen_times(m, t);
	live_ended(m);
	return st;
}

enum nm_move_status nm_move_live(struct nm_move *m, char *err)
{
	size_t nn = (size_t)m->r->t->nnodes;
	uint64_t *before = calloc(nn, sizeof(*before));
	uint64_t *after = calloc(nn, sizeof(*after));
	struct nm_engine_result *pass = calloc(1, sizeof(*pass));
	struct nm_engine_result *sum = calloc(1, sizeof(*sum));
	enum nm_move_status st = NM_MOVE_FAILED;

	m->r->live = true;
	nm_move_delay(m);
	if (m->cancel)
		nm_seterr(err, "%s: cancelled before any page moved",
			  m->spec->what);
	else if (!before || !after || !pass || !sum)
		nm_seterr(err, "out of memory");
	else
		st = live_run(m, before, after, pass, sum, err);
	free(before);
	free(after);
	free(pass);
	free(sum);
	return st;
}
