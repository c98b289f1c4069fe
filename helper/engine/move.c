/* SPDX-License-Identifier: MIT */
/* One move of a job: the sequence, and the phases up to the plan. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "helper/engine/move_internal.h"
#include "lib/core/target_check.h"
#include "lib/linux/job_proc.h"
#include "lib/linux/mpi_ranks.h"
#include "lib/linux/proc.h"

const char *nm_move_status_code(enum nm_move_status s)
{
	switch (s) {
	case NM_MOVE_OK: return "ok";
	case NM_MOVE_BAD: return "bad_request";
	case NM_MOVE_DENIED: return "denied";
	case NM_MOVE_REFUSED: return "refused";
	case NM_MOVE_FAILED: return "failed";
	}
	return "internal";
}

void nm_move_log(struct nm_move *m, int level, const char *fmt, ...)
{
	char msg[2 * NM_ERRLEN];
	va_list ap;

	if (!m->hooks->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	m->hooks->log(m->hooks->arg, level, msg);
}

void nm_move_phase(struct nm_move *m, const char *phase)
{
	if (m->hooks->phase)
		m->hooks->phase(m->hooks->arg, phase);
}

void nm_move_add_error(struct nm_move *m, enum nm_move_error_kind kind,
		       pid_t pid, const char *cgroup, const char *msg)
{
	struct nm_move_result *r = m->r;
	struct nm_move_error *e;

	e = realloc(r->errors, (size_t)(r->nerrors + 1) * sizeof(*e));
	if (!e)
		return;		/* the status still says it failed */
	r->errors = e;
	e = &e[r->nerrors++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->pid = pid;
	snprintf(e->cgroup, sizeof(e->cgroup), "%s", cgroup ? cgroup : "");
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
}

void nm_move_add_exited(struct nm_move *m, pid_t pid)
{
	/* Each process is listed once at most: r->exited has npids slots. */
	m->r->exited[m->r->nexited++] = pid;
}

/* Reports a process that is not the one admitted any more. */
static void report_gone(struct nm_move *m, pid_t pid, int why,
			const char *msg)
{
	nm_move_add_exited(m, pid);
	if (why == NM_PIDREF_REPLACED)
		m->r->replaced[m->r->nreplaced++] = pid;
	nm_move_log(m, LOG_NOTICE, "%s: dropped from the move", msg);
}

bool nm_move_proc_gone(struct nm_move *m, int i)
{
	char msg[NM_ERRLEN];
	int why;

	if (m->gone[i])
		return true;
	why = nm_pidref_check(&m->procs[i], msg);
	if (why == 0)
		return false;
	m->gone[i] = true;
	report_gone(m, m->r->pids[i], why, msg);
	/* Its pages are nobody's to move now (a live pass scanned them). */
	if (m->scans) {
		nm_scan_release(&m->scans[i]);
		memset(&m->scans[i], 0, sizeof(m->scans[i]));
		m->scans[i].pid = m->r->pids[i];
	}
	return true;
}

int nm_move_check_procs(struct nm_move *m)
{
	int n = 0;

	for (int i = 0; i < m->r->npids; i++)
		if (!m->gone[i] && nm_move_proc_gone(m, i))
			n++;
	return n;
}

/* The kernel module, for a KMOD or AUTO backend. */
static enum nm_move_status open_engine(struct nm_move *m, char *err)
{
	char kerr[NM_KMOD_ERRLEN] = "";
	int krc;

	if (m->spec->backend == NM_BACKEND_SYSCALL)
		return NM_MOVE_OK;
	krc = nm_kmod_open(&m->kmod, NULL, kerr);
	m->r->kmod_loaded = krc == 0;
	if (krc < 0 && m->spec->backend == NM_BACKEND_KMOD) {
		if (krc == -ENOENT)
			nm_seterr(err, "engine kmod: kernel module not loaded "
				  "(no %s)", NM_KMOD_DEVICE);
		else
			nm_seterr(err, "engine kmod: %s", kerr);
		return NM_MOVE_REFUSED;
	}
	if (krc < 0)
		snprintf(m->r->kmod_unused, sizeof(m->r->kmod_unused), "%s",
			 kerr);
	return NM_MOVE_OK;
}

/*
 * Keeps in r->pids (and m->procs) only the processes still the ones their
 * handles were opened on; the others are reported gone.  Before the plan:
 * the job is modelled from the processes that remain.
 */
static enum nm_move_status keep_verified(struct nm_move *m, char *err)
{
	struct nm_move_result *r = m->r;
	int k = 0, n = r->npids;

	for (int i = 0; i < n; i++) {
		char msg[NM_ERRLEN];
		int why = nm_pidref_check(&m->procs[i], msg);

		if (why == 0) {
			r->pids[k] = r->pids[i];
			m->procs[k++] = m->procs[i];
			continue;
		}
		report_gone(m, r->pids[i], why, msg);
		nm_pidref_close(&m->procs[i]);
	}
	for (int i = k; i < n; i++)
		m->procs[i] = NM_PIDREF_NONE;	/* moved down, or closed */
	r->npids = k;
	if (!k) {
		nm_seterr(err, "every process of %s has exited", m->spec->what);
		return NM_MOVE_BAD;
	}
	return NM_MOVE_OK;
}

/*
 * The start time @pid was recorded with by the caller (spec->starts: the
 * registry's), 0 when none; the given pids come first in r->pids.
 */
static unsigned long long given_start(const struct nm_move_spec *spec,
				      int i, pid_t pid)
{
	if (!spec->starts)
		return 0;
	if (i < spec->npids && spec->pids[i] == pid)
		return spec->starts[i];
	for (int j = 0; j < spec->npids; j++)
		if (spec->pids[j] == pid)
			return spec->starts[j];
	return 0;
}

/*
 * A handle on each process, kept in r->pids (and m->procs) when there
 * is one: a process that went already, or whose pid no longer names the
 * process the caller recorded, is reported gone.
 */
static enum nm_move_status open_handles(struct nm_move *m, char *err)
{
	struct nm_move_result *r = m->r;
	int k = 0;

	for (int i = 0; i < r->npids; i++) {
		unsigned long long st = given_start(m->spec, i, r->pids[i]);
		char msg[NM_ERRLEN];
		int why = st ? nm_pidref_open_as(&m->procs[k], r->pids[i], st,
						 msg) :
			       nm_pidref_open(&m->procs[k], r->pids[i], msg);

		if (why < 0)
			report_gone(m, r->pids[i], why, msg);
		else
			r->pids[k++] = r->pids[i];
	}
	r->npids = k;
	if (!k) {
		nm_seterr(err, "every process of %s has exited", m->spec->what);
		return NM_MOVE_BAD;
	}
	return NM_MOVE_OK;
}

/*
 * The engine's options, checked before anything changes (a bad one would
 * otherwise stop the engine with the job frozen), and what the module
 * makes of the threads asked: its batches copy with at most its maximum.
 */
static enum nm_move_status check_options(struct nm_move *m, char *err)
{
	const struct nm_move_spec *spec = m->spec;
	struct nm_engine_opts eo = {
		.threads = spec->threads,
		.batch_pages = spec->batch_pages,
		.backend = spec->backend,
	};
	uint32_t k;

	if (nm_engine_check_opts(&eo, err) < 0)
		return NM_MOVE_BAD;
	k = nm_kmod_threads(&m->kmod, spec->threads);
	if (m->r->kmod_loaded && spec->threads > 0 &&
	    (uint32_t)spec->threads > k)
		snprintf(m->r->kmod_threads_capped,
			 sizeof(m->r->kmod_threads_capped), "%d threads "
			 "asked; the kernel module copies each batch with at "
			 "most %u", spec->threads, k);
	return NM_MOVE_OK;
}

/*
 * The job's processes and their descendants, as the caller admits them:
 * each gets a handle (pidfd and start time) before the access check, and
 * is checked again after it, so what was admitted is what the handles
 * name; every later action goes through them.  And the nodes it may use.
 */
static enum nm_move_status resolve(struct nm_move *m, char *err)
{
	const struct nm_move_hooks *h = m->hooks;
	struct nm_move_result *r = m->r;
	enum nm_move_status st = NM_MOVE_OK;
	size_t np;
	int rc;

	if (nm_proc_descendants(m->spec->pids, m->spec->npids, &r->pids,
				&r->npids, err) < 0)
		return NM_MOVE_BAD;
	np = (size_t)r->npids;
	m->procs = calloc(np, sizeof(*m->procs));
	r->exited = calloc(np, sizeof(*r->exited));
	r->replaced = calloc(np, sizeof(*r->replaced));
	if (!m->procs || !r->exited || !r->replaced) {
		nm_seterr(err, "out of memory");
		return NM_MOVE_FAILED;
	}
	m->nprocs = r->npids;
	for (int i = 0; i < m->nprocs; i++)
		m->procs[i] = NM_PIDREF_NONE;
	st = open_handles(m, err);
	if (st == NM_MOVE_OK && h->admit)
		st = h->admit(h->arg, r->pids, r->npids, err);
	if (st == NM_MOVE_OK && m->spec->admit_delay_ms) {
		nm_move_log(m, LOG_DEBUG, "[testing] delay of %d ms after "
			    "admission", m->spec->admit_delay_ms);
		nm_move_pause(m, m->spec->admit_delay_ms);
	}
	if (st == NM_MOVE_OK)
		st = keep_verified(m, err);
	if (st != NM_MOVE_OK || !h->nodes)
		return st;
	rc = h->nodes(h->arg, r->pids, r->npids, &m->usable, err);
	if (rc < 0)
		return NM_MOVE_BAD;
	m->usable_set = rc == 1;
	return NM_MOVE_OK;
}

/* The job on the machine, where its pages and CPUs are now. */
static enum nm_move_status model_job(struct nm_move *m, char *err)
{
	struct nm_move_result *r = m->r;

	nm_job_free(r->job);
	r->job = nm_job_from_pids(r->pids, r->npids, r->t, err);
	if (!r->job)
		return NM_MOVE_BAD;
	nm_mpi_ranks_assign(r->job);
	return NM_MOVE_OK;
}

/* The machine and the job on it. */
static enum nm_move_status model(struct nm_move *m, char *err)
{
	struct nm_move_result *r = m->r;

	r->t = nm_topology_load(m->spec->topology_file, err);
	if (!r->t)
		return NM_MOVE_FAILED;
	if (nm_target_check(m->spec->target, r->t, err) < 0)
		return NM_MOVE_BAD;
	return model_job(m, err);
}

/*
 * The model, and the caller's word on it: the job modelled again while
 * the caller says it may have changed meanwhile (each time it waited: its
 * waits are bounded; 16 rounds at most all the same).  The machine stays.
 */
static enum nm_move_status model_settled(struct nm_move *m, char *err)
{
	struct nm_move_result *r = m->r;
	enum nm_move_status st = model(m, err);
	bool again = true;

	for (int i = 0; again && st == NM_MOVE_OK; i++) {
		again = false;
		if (i > 0)
			st = model_job(m, err);
		if (st == NM_MOVE_OK && m->hooks->modelled)
			st = m->hooks->modelled(m->hooks->arg, r, &again, err);
		if (i == 15)
			again = false;
	}
	return st;
}

/* An OS-numbered explicit map as the planner's node-index map. */
static int *explicit_map(const struct nm_topology *t, const struct nm_job *job,
			 const int *os_map, char *err)
{
	int *map = malloc((size_t)t->nnodes * sizeof(*map));
	int n;

	if (!map) {
		nm_seterr(err, "out of memory");
		return NULL;
	}
	for (n = 0; n < t->nnodes; n++)
		map[n] = -1;
	nm_bitmap_foreach(n, &job->nodes) {
		int to = os_map[t->nodes[n].os];

		map[n] = to < 0 ? n : nm_topology_find(t, to);
		if (map[n] < 0) {
			nm_seterr(err, "map: node %d does not exist", to);
			free(map);
			return NULL;
		}
	}
	return map;
}

/* The plan, from free memory as measured (or as testing overrides it). */
static int compute_plan(struct nm_move *m, uint64_t *free_bytes, char *err)
{
	const struct nm_move_spec *spec = m->spec;
	struct nm_move_result *r = m->r;
	struct nm_plan_options po = {
		.memory_only_targets = spec->memory_only_targets,
		.park_nodes = m->usable_set ? &m->usable : NULL,
	};
	int *imap = NULL;

	if (nm_plan_free_bytes(r->t, r->job, free_bytes, err) < 0 ||
	    (spec->free_overrides &&
	     nm_parse_free_overrides(spec->free_overrides, r->t, free_bytes,
				     err) < 0))
		return -1;
	if (spec->os_map) {
		imap = explicit_map(r->t, r->job, spec->os_map, err);
		if (!imap)
			return -1;
		po.map = imap;
	}
	r->plan = nm_plan_compute(r->t, r->job, free_bytes, spec->target, &po,
				  err);
	free(imap);
	return r->plan ? 0 : -1;
}

/* Everything up to a feasible plan: no side effects. */
static enum nm_move_status plan(struct nm_move *m, char *err)
{
	struct nm_move_result *r = m->r;
	uint64_t *free_bytes = calloc((size_t)r->t->nnodes,
				      sizeof(*free_bytes));
	int rc;

	if (!free_bytes) {
		nm_seterr(err, "out of memory");
		return NM_MOVE_FAILED;
	}
	rc = compute_plan(m, free_bytes, err);
	free(free_bytes);
	if (rc < 0)
		return NM_MOVE_BAD;
	if (!r->plan->feasible) {
		nm_seterr(err, "cannot move %s: %s", m->spec->what,
			  r->plan->reason);
		return NM_MOVE_REFUSED;
	}
	if (m->hooks->planned)
		return m->hooks->planned(m->hooks->arg, r, err);
	return NM_MOVE_OK;
}

/* What a started move reports into; CPUs stay until the engine ran. */
static enum nm_move_status start(struct nm_move *m, char *err)
{
	struct nm_move_result *r = m->r;
	size_t np = (size_t)r->npids;

	m->scans = calloc(np, sizeof(*m->scans));
	m->gone = calloc(np, sizeof(*m->gone));
	m->failed_per_pid = calloc(np, sizeof(*m->failed_per_pid));
	r->cpu_map = calloc((size_t)r->t->nnodes, sizeof(*r->cpu_map));
	r->engine = calloc(1, sizeof(*r->engine));
	if (!m->scans || !m->gone || !m->failed_per_pid || !r->cpu_map ||
	    !r->engine) {
		nm_seterr(err, "out of memory");
		free(r->engine);
		r->engine = NULL;	/* not started: nothing to report */
		return NM_MOVE_FAILED;
	}
	for (int n = 0; n < r->t->nnodes; n++)
		r->cpu_map[n] = n;
	return NM_MOVE_OK;
}

static void move_release(struct nm_move *m)
{
	if (m->scans)
		for (int i = 0; i < m->r->npids; i++)
			nm_scan_release(&m->scans[i]);
	free(m->scans);
	free(m->gone);
	free(m->failed_per_pid);
	nm_pidrefs_free(m->procs, m->nprocs);
	nm_cpusets_release(&m->cpusets);
	nm_freeze_release(&m->fz);
	if (m->r->kmod_loaded)
		nm_kmod_close(&m->kmod);
	pthread_mutex_destroy(&m->thaw_lock);
}

enum nm_move_status nm_move_run(const struct nm_move_spec *spec,
				const struct nm_move_hooks *hooks,
				struct nm_move_result *r, char *err)
{
	static const struct nm_move_hooks none;
	struct nm_move m = { .spec = spec, .hooks = hooks ? hooks : &none,
			     .r = r };
	enum nm_move_status st;

	memset(r, 0, sizeof(*r));
	m.kmod.fd = -1;
	pthread_mutex_init(&m.thaw_lock, NULL);
	if (m.hooks->handle)
		m.hooks->handle(m.hooks->arg, &m);
	st = open_engine(&m, err);
	if (st == NM_MOVE_OK)
		st = check_options(&m, err);
	if (st == NM_MOVE_OK && m.hooks->begin)
		st = m.hooks->begin(m.hooks->arg, err);
	if (st == NM_MOVE_OK)
		st = resolve(&m, err);
	if (st == NM_MOVE_OK)
		st = model_settled(&m, err);
	if (st == NM_MOVE_OK)
		st = plan(&m, err);
	if (st == NM_MOVE_OK)
		st = start(&m, err);
	if (st == NM_MOVE_OK && spec->live) {
		/* Freezes for its last pass, and thaws. */
		st = nm_move_live(&m, err);
	} else if (st == NM_MOVE_OK) {
		st = nm_move_freeze(&m, err);
		if (st == NM_MOVE_OK)
			st = nm_move_frozen(&m, err);
		if (r->engine)
			r->bytes_moved_frozen = r->engine->bytes_moved;
		if (r->frozen)
			st = nm_move_thaw(&m, st, err);
	}
	if (m.hooks->handle)
		m.hooks->handle(m.hooks->arg, NULL);
	move_release(&m);
	return st;
}

void nm_move_result_free(struct nm_move_result *r)
{
	free(r->pids);
	nm_plan_free(r->plan);
	nm_job_free(r->job);
	nm_topology_free(r->t);
	free(r->engine);
	free(r->cpu_map);
	free(r->exited);
	free(r->replaced);
	free(r->errors);
	free(r->skipped);
	free(r->cpusets_left);
	memset(r, 0, sizeof(*r));
}
