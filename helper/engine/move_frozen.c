/* SPDX-License-Identifier: MIT */
/*
 * A move while the job is frozen: widen the cpusets, scan, run the
 * engine, re-pin the threads, narrow the cpusets.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "helper/engine/move_internal.h"
#include "helper/engine/rebind.h"
#include "lib/base/clock.h"
#include "lib/linux/proc.h"

void nm_move_pause(struct nm_move *m, int ms)
{
	/* In slices: a cancel (a daemon stopping) ends it early. */
	for (; ms > 0 && !m->cancel; ms -= 50) {
		int step = ms < 50 ? ms : 50;
		struct timespec ts = { 0, (long)step * 1000000 };

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}

/*
 * [testing] delay_ms before any page moves; with delay_file, the delay
 * ends once that file is gone, so a test strikes when it is ready
 * instead of guessing how long a slow machine needs.
 */
void nm_move_delay(struct nm_move *m)
{
	const char *f = m->spec->delay_file;
	int ms = m->spec->delay_ms;

	if (!ms)
		return;
	nm_move_log(m, LOG_DEBUG, "[testing] delay of %d ms%s%s", ms,
		    f ? " or until the removal of " : "", f ? f : "");
	for (; ms > 0 && !m->cancel; ms -= 50) {
		if (f && access(f, F_OK) < 0)
			break;
		nm_move_pause(m, ms < 50 ? ms : 50);
	}
}

static void restore_failed(void *arg, const char *dir, const char *err)
{
	nm_move_log(arg, LOG_WARNING, "cannot restore %s/cpuset.mems: %s",
		    dir, err);
}

static void narrow_failed(void *arg, const char *dir, const char *err)
{
	nm_move_add_error(arg, NM_MOVE_ERR_CGROUP, 0, dir, err);
}

static void cpusets_settled(struct nm_move *m)
{
	if (m->hooks->cpusets_settled)
		m->hooks->cpusets_settled(m->hooks->arg);
}

/* Puts back the nodes the cpusets had: the move never started. */
void nm_move_restore_mems(struct nm_move *m)
{
	nm_cpusets_restore(&m->cpusets, restore_failed, m);
	cpusets_settled(m);
}

/*
 * The cpusets of the processes still the ones admitted, read from
 * /proc/PID/cgroup: read again when one of them went meanwhile, so a
 * stranger's cgroup is never among them.
 */
static int collect_cpusets(struct nm_move *m, char *err)
{
	struct nm_move_result *r = m->r;
	pid_t *live = calloc((size_t)r->npids, sizeof(*live));
	int nlive, tries = 0, rc;

	if (!live) {
		nm_seterr(err, "out of memory");
		return -1;
	}
	nm_move_check_procs(m);
	do {
		nlive = 0;
		for (int i = 0; i < r->npids; i++)
			if (!m->gone[i])
				live[nlive++] = r->pids[i];
		nm_cpusets_release(&m->cpusets);
		rc = nlive ? nm_cpusets_collect(&m->cpusets, live, nlive, err) :
			     0;
	} while (nm_move_check_procs(m) && ++tries < 16);
	if (rc == 0 && tries == 16) {
		nm_seterr(err, "processes of %s keep exiting", m->spec->what);
		rc = -1;
	}
	free(live);
	return rc;
}

/*
 * Shared cpusets stay as they are; the result says which and why (pages
 * go only where their nodes already allow, the rest is reported not
 * moved).
 */
static void keep_shared(struct nm_move *m)
{
	struct nm_cpusets *c = &m->cpusets;

	for (int k = 0; k < c->nleft; k++)
		nm_move_log(m, LOG_NOTICE, "cpuset %s left alone: %s",
			    c->left[k].dir, c->left[k].why);
	m->r->cpusets_left = c->left;
	m->r->ncpusets_left = c->nleft;
	c->left = NULL;
	c->nleft = 0;
}

static int record_cpusets(void *arg, const struct nm_cpusets *c, char *err)
{
	const struct nm_move_hooks *h = ((struct nm_move *)arg)->hooks;

	return h->cpusets ? h->cpusets(h->arg, c, err) : 0;
}

/* Old and new nodes, and the spare nodes the plan parks pages on. */
int nm_move_widen(struct nm_move *m, char *err)
{
	const struct nm_plan *plan = m->r->plan;
	struct nm_bitmap add = m->spec->target->new_nodes;

	nm_move_phase(m, "widening cpusets");
	if (collect_cpusets(m, err) < 0)
		return -1;
	keep_shared(m);
	for (int i = 0; i < plan->nsteps; i++)
		nm_bitmap_set(&add, (unsigned int)plan->steps[i].to);
	return nm_cpusets_widen(&m->cpusets, &add, record_cpusets, m, err);
}

/*
 * The nodes whose pages the plan's map moves somewhere else: a scan needs
 * runs for those only (the others' pages stay, counted).  NULL: all.
 */
static const bool *moved_nodes(const struct nm_move *m, bool *out)
{
	const struct nm_topology *t = m->r->t;
	const struct nm_plan *p = m->r->plan;

	if (!p || !t)
		return NULL;
	memset(out, 0, NM_MAX_NODES * sizeof(*out));
	for (int n = 0; n < t->nnodes; n++)
		if (p->map[n] >= 0 && p->map[n] != n &&
		    t->nodes[n].os >= 0 && t->nodes[n].os < NM_MAX_NODES)
			out[t->nodes[n].os] = true;
	return out;
}

/* Every process's pages; one that exited is left out, the rest move. */
int nm_move_scan_all(struct nm_move *m, char *err)
{
	struct nm_move_result *r = m->r;
	bool nodes[NM_MAX_NODES];
	const bool *run_nodes = moved_nodes(m, nodes);
	int live = 0;

	nm_move_phase(m, "scanning");
	for (int i = 0; i < r->npids; i++) {
		char msg[NM_ERRLEN];
		int rc;

		if (m->gone[i])
			continue;	/* a live move's earlier scan saw it go */
		nm_scan_release(&m->scans[i]);
		memset(&m->scans[i], 0, sizeof(m->scans[i]));
		m->scans[i].pid = r->pids[i];
		if (!nm_move_proc_gone(m, i)) {
			rc = nm_scan_process_on(r->pids[i], NM_SCAN_AUTO,
						m->spec->unprivileged ?
						m->spec->caller :
						NM_SCAN_ANY_UID, run_nodes,
						&m->scans[i], msg);
			/* After it: what it read was the admitted one's. */
			if (!nm_move_proc_gone(m, i)) {
				if (rc < 0) {
					nm_seterr(err, "scanning process %d: "
						  "%s", (int)r->pids[i], msg);
					return -1;
				}
				live++;
			}
		}
		/* Gone: nm_move_proc_gone() left its scan empty. */
	}
	if (!live) {
		nm_seterr(err, "every process of %s has exited", m->spec->what);
		return -1;
	}
	return nm_move_note_skipped(m, err);
}

/* The job's pages per node index: its memory, not files' page cache. */
void nm_move_pages_per_node(const struct nm_move *m, uint64_t *out)
{
	const struct nm_topology *t = m->r->t;

	memset(out, 0, (size_t)t->nnodes * sizeof(*out));
	for (int i = 0; i < m->r->npids; i++) {
		for (int n = 0; n < t->nnodes; n++)
			if (t->nodes[n].os >= 0 &&
			    t->nodes[n].os < NM_MAX_NODES)
				out[n] += m->scans[i].counted_per_node[
						t->nodes[n].os];
		for (size_t r = 0; r < m->scans[i].nruns; r++) {
			const struct nm_run *run = &m->scans[i].runs[r];
			int idx = nm_topology_find(t, run->node);

			if (idx >= 0 && !((run->flags & NM_RUN_FILE) &&
					  !(run->flags & NM_RUN_HUGETLB)))
				out[idx] += run->npages;
		}
	}
}

/* Takes one exited process's failed pages out of the engine's counts. */
static void uncount_exited(struct nm_move *m, int i)
{
	struct nm_engine_result *r = m->r->engine;
	uint64_t f = m->failed_per_pid[i];

	nm_move_log(m, LOG_NOTICE, "process %d exited during the move (%llu "
		    "of its pages not moved)", (int)m->r->pids[i],
		    (unsigned long long)f);
	m->scans[i].nruns = 0;
	memset(m->scans[i].pages_per_node, 0,
	       sizeof(m->scans[i].pages_per_node));
	memset(m->scans[i].counted_per_node, 0,
	       sizeof(m->scans[i].counted_per_node));
	m->r->pages_exited += f;
	r->pages_failed -= f < r->pages_failed ? f : r->pages_failed;
	/* Mostly gone (ESRCH, EFAULT); any rest from the others. */
	for (int j = -1; f && j < NM_FAIL_KINDS; j++) {
		int kind = j < 0 ? NM_FAIL_GONE : j;
		uint64_t d = f < r->failed_by_kind[kind] ? f :
			     r->failed_by_kind[kind];

		r->failed_by_kind[kind] -= d;
		f -= d;
	}
}

/*
 * Processes that exited during the engine run: their pages went with
 * them.  Those pages are not the move's failures; they are counted apart
 * (pages_exited) and the processes listed in exited.
 */
void nm_move_drop_exited(struct nm_move *m)
{
	struct nm_engine_result *r = m->r->engine;
	size_t k = 0;

	for (int i = 0; i < m->r->npids; i++) {
		if (m->gone[i] || !nm_move_proc_gone(m, i))
			continue;
		uncount_exited(m, i);
	}
	/* The page-exact list keeps the pages of live processes. */
	for (size_t i = 0; i < r->nfails; i++) {
		bool dead = false;

		for (int j = 0; j < m->r->npids; j++)
			dead |= m->gone[j] && m->r->pids[j] == r->fails[i].pid;
		if (!dead)
			r->fails[k++] = r->fails[i];
	}
	r->nfails = k;
}

/*
 * Where CPUs go, given where memory went: a node follows the plan when at
 * most half of what it held is still stuck there, else its CPUs stay with
 * its memory.  Pages stuck on node n are those there beyond what the plan
 * sends to n.
 */
void nm_move_effective_map(struct nm_move *m, const uint64_t *before,
			   const uint64_t *after)
{
	const struct nm_topology *t = m->r->t;
	const int *map = m->r->plan->map;
	int *eff = m->r->cpu_map;
	uint64_t *expect = calloc((size_t)t->nnodes, sizeof(*expect));

	for (int n = 0; n < t->nnodes; n++) {
		eff[n] = map[n];
		if (expect && map[n] >= 0)
			expect[map[n]] += before[n];
	}
	for (int n = 0; n < t->nnodes; n++) {
		uint64_t stuck;

		if (map[n] < 0 || map[n] == n)
			continue;
		if (!expect) {
			eff[n] = n;
			continue;
		}
		stuck = after[n] > expect[n] ? after[n] - expect[n] : 0;
		if (stuck * 2 > before[n])
			eff[n] = n;
	}
	free(expect);
}

static void engine_progress(void *arg, uint64_t done, uint64_t total)
{
	struct nm_move *m = arg;

	if (m->in_live && (m->cancel || (m->live_deadline > 0 &&
					 nm_now_seconds() >= m->live_deadline)))
		m->live_stop = 1;
	if (m->hooks->progress)
		m->hooks->progress(m->hooks->arg, done, total);
}

/* The engine over the scanned pages; -1 when it could not run at all. */
int nm_move_engine(struct nm_move *m, struct nm_engine_result *res,
		   char *err)
{
	const struct nm_move_spec *spec = m->spec;
	struct nm_move_result *r = m->r;
	struct nm_engine_opts eo = {
		.threads = spec->threads,
		.batch_pages = spec->batch_pages,
		.progress = engine_progress,
		.progress_arg = m,
		.cancel = m->in_live ? &m->live_stop : &m->cancel,
		.failed_per_pid = m->failed_per_pid,
		.kmod = r->kmod_loaded ? &m->kmod : NULL,
		/* move_pages(2) only while each pid is still the admitted */
		.procs = m->procs,
		.backend = r->kmod_loaded ? spec->backend : NM_BACKEND_SYSCALL,
		/* [testing]: a slow engine, so faults land mid-move anywhere */
		.batch_delay_ms = spec->batch_delay_ms,
	};

	nm_move_phase(m, m->in_live ? "moving live" : "moving");
	return nm_engine_run(r->t, r->plan, r->pids, m->scans, r->npids, &eo,
			     res, err);
}

/* Every live process's threads onto the CPUs their memory went with. */
void nm_move_rebind_all(struct nm_move *m, const int *map)
{
	struct nm_move_result *r = m->r;

	nm_move_phase(m, "rebinding");
	for (int i = 0; i < r->npids; i++) {
		char msg[NM_ERRLEN];

		if (nm_move_proc_gone(m, i))
			continue;
		if (nm_rebind_ref(r->t, map, &m->procs[i], msg) >= 0)
			continue;
		if (!nm_move_proc_gone(m, i))
			nm_move_add_error(m, NM_MOVE_ERR_REBIND, r->pids[i],
					  NULL, msg);
	}
}

/* The cpusets get the nodes under the CPU map and where memory is. */
void nm_move_narrow(struct nm_move *m, const uint64_t *after)
{
	const struct nm_topology *t = m->r->t;
	struct nm_bitmap holding;

	nm_bitmap_zero(&holding);
	for (int n = 0; n < t->nnodes; n++)
		if (after[n])
			nm_bitmap_set(&holding, (unsigned int)t->nodes[n].os);
	nm_move_phase(m, "narrowing cpusets");
	nm_cpusets_narrow(&m->cpusets, t, m->r->cpu_map, &holding,
			  narrow_failed, m);
	cpusets_settled(m);
}

/* Scanned: the engine, then the CPUs and cpusets where memory went. */
static enum nm_move_status move_pages_of(struct nm_move *m, uint64_t *before,
					 uint64_t *after, char *err)
{
	struct nm_move_result *r = m->r;

	nm_move_pages_per_node(m, before);
	if (nm_move_engine(m, r->engine, err) < 0) {
		/* It could not run at all: nothing moved, CPUs stay. */
		for (int n = 0; n < r->t->nnodes; n++)
			r->cpu_map[n] = n;
		nm_move_restore_mems(m);
		return NM_MOVE_FAILED;
	}
	nm_move_drop_exited(m);
	nm_move_pages_per_node(m, after);
	nm_move_effective_map(m, before, after);
	nm_move_rebind_all(m, r->cpu_map);
	nm_move_narrow(m, after);
	if (r->engine->pages_failed || r->nerrors) {
		nm_seterr(err, "%llu pages not moved, %d other errors",
			  (unsigned long long)r->engine->pages_failed,
			  r->nerrors);
		return NM_MOVE_FAILED;
	}
	return NM_MOVE_OK;
}

enum nm_move_status nm_move_frozen(struct nm_move *m, char *err)
{
	const struct nm_move_hooks *h = m->hooks;
	uint64_t *before = NULL, *after = NULL;
	enum nm_move_status st = NM_MOVE_FAILED;

	nm_move_delay(m);
	/* Cancelled (a deadline, a daemon stopping): touch nothing more. */
	if (m->cancel) {
		nm_seterr(err, "%s: cancelled before any page moved",
			  m->spec->what);
		return NM_MOVE_FAILED;
	}
	if (nm_move_widen(m, err) < 0 || nm_move_scan_all(m, err) < 0 ||
	    (h->scanned && h->scanned(h->arg, m->r->pids, m->scans,
				      m->r->npids, err) < 0)) {
		nm_move_restore_mems(m);
		return NM_MOVE_FAILED;	/* nothing moved yet */
	}
	before = calloc((size_t)m->r->t->nnodes, sizeof(*before));
	after = calloc((size_t)m->r->t->nnodes, sizeof(*after));
	if (!before || !after) {
		nm_seterr(err, "out of memory");
		nm_move_restore_mems(m);
	} else {
		st = move_pages_of(m, before, after, err);
	}
	free(before);
	free(after);
	return st;
}
