/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of one move: its place in the queue (move_queue.c:
 * moves on disjoint nodes run together), the access check, the journal,
 * the frozen deadline, progress frames and the JSON report.
 * The move itself is helper/engine/move.c.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "helper/daemon/authz.h"
#include "helper/daemon/cpuset_journal.h"
#include "helper/daemon/journal.h"
#include "helper/daemon/live_journal.h"
#include "helper/daemon/log.h"
#include "helper/daemon/migrate.h"
#include "helper/daemon/move_queue.h"
#include "helper/daemon/stopping.h"
#include "helper/daemon/watchdog.h"
#include "helper/site/slurm_info.h"
#include "lib/base/clock.h"
#include "lib/base/units.h"
#include "lib/core/plan_json.h"

/* One request's move, as the daemon sees it. */
struct dmove {
	const struct nm_config *cfg;
	const struct nm_move_req *req;
	unsigned long id;		/* 0 until it joined the queue */
	struct nm_mq_entry slot;	/* its place in the queue */
	struct nm_move *mv;		/* for the watchdog, once frozen */
	struct nm_journal journal;
	bool journaled;
	struct nm_live_journal live;	/* threads ahead of their pages */
	bool live_journaled;
	struct nm_cpuset_journal cpusets;	/* cpusets while widened */
	bool cpusets_journaled;
	struct nm_watchdog dog;
	bool dog_on;
	struct nm_inflight inflight;	/* cancelled if the daemon stops */
	uint64_t total;			/* bytes the plan moves */
	struct timespec last_progress;
	double t_start;
	double queued;			/* seconds waited in the queue */
	/* For status requests, under active_lock, once it holds nodes. */
	bool on;
	struct nm_bitmap held;		/* a copy of slot.nodes */
	const char *phase;
	bool live_said;			/* req->live_started was called */
	int npids;
	uint64_t done;
	struct timespec start;
	struct dmove *next;		/* the moves in progress */
};

/* The moves in progress, for status requests, and the queue. */
static pthread_mutex_t active_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dmove *active;
static unsigned long next_id;
static struct nm_mq queue;
static pthread_once_t queue_once = PTHREAD_ONCE_INIT;

static void queue_init(void)
{
	nm_mq_init(&queue);
}

/* What it holds now, for status requests. */
static void set_held(struct dmove *d)
{
	pthread_mutex_lock(&active_lock);
	d->held = d->slot.nodes;
	pthread_mutex_unlock(&active_lock);
}

static void set_phase(struct dmove *d, const char *phase)
{
	pthread_mutex_lock(&active_lock);
	d->phase = phase;
	pthread_mutex_unlock(&active_lock);
}

static json_t *active_json(const struct dmove *d)
{
	struct timespec now;
	char nodes[64];

	clock_gettime(CLOCK_MONOTONIC, &now);
	nm_list_format(&d->held, nodes, sizeof(nodes));
	return json_pack("{s:I, s:I, s:s, s:s, s:s, s:i, s:I, s:I, s:f}",
			 "id", (json_int_t)d->id,
			 "uid", (json_int_t)d->req->caller,
			 "what", d->req->what, "phase", d->phase,
			 "nodes", nodes, "processes", d->npids,
			 "bytes_done", (json_int_t)d->done,
			 "bytes_total", (json_int_t)d->total,
			 "seconds", (double)(now.tv_sec - d->start.tv_sec) +
				 (double)(now.tv_nsec - d->start.tv_nsec) *
				 1e-9);
}

json_t *nm_migrate_active(uid_t uid)
{
	json_t *a = json_array();

	pthread_mutex_lock(&active_lock);
	for (const struct dmove *d = active; a && d; d = d->next)
		if (uid == (uid_t)-1 || uid == d->req->caller)
			json_array_append_new(a, active_json(d));
	pthread_mutex_unlock(&active_lock);
	return a;
}

json_t *nm_migrate_waiting(uid_t uid)
{
	pthread_once(&queue_once, queue_init);
	return nm_mq_waiting(&queue, uid);
}

void nm_migrate_close_queue(const char *why)
{
	pthread_once(&queue_once, queue_init);
	nm_mq_close(&queue, why);
}

static void active_add(struct dmove *d)
{
	pthread_mutex_lock(&active_lock);
	d->on = true;
	d->next = active;
	active = d;
	pthread_mutex_unlock(&active_lock);
}

static void active_remove(struct dmove *d)
{
	pthread_mutex_lock(&active_lock);
	for (struct dmove **p = &active; *p; p = &(*p)->next)
		if (*p == d) {
			*p = d->next;
			break;
		}
	d->on = false;
	pthread_mutex_unlock(&active_lock);
}

/* ---- hooks of the move --------------------------------------------------- */

/* In flight from start to end: a daemon told to stop cancels it. */
static void on_handle(void *arg, struct nm_move *mv)
{
	struct dmove *d = arg;

	if (mv)
		nm_stopping_enter(&d->inflight, mv);
	else
		nm_stopping_leave(&d->inflight);
}

/* Every move gets an id and a place in the queue, in arrival order. */
static enum nm_move_status on_begin(void *arg, char *err)
{
	struct dmove *d = arg;
	bool prio = d->req->priority;

	(void)err;
	pthread_once(&queue_once, queue_init);
	pthread_mutex_lock(&active_lock);
	d->id = ++next_id;
	pthread_mutex_unlock(&active_lock);
	d->slot.id = d->id;
	d->slot.uid = d->req->caller;
	d->slot.prio = prio ? NM_MQ_PRIORITY : NM_MQ_USER;
	snprintf(d->slot.what, sizeof(d->slot.what), "%s", d->req->what);
	nm_mq_enter(&queue, &d->slot, prio ? d->cfg->queue_wait_priority_ms :
					     d->cfg->queue_wait_ms);
	return NM_MOVE_OK;
}

static enum nm_move_status on_admit(void *arg, const pid_t *pids, int npids,
				    char *err)
{
	const struct nm_move_req *req = ((struct dmove *)arg)->req;

	if (req->privileged)
		return NM_MOVE_OK;
	if (nm_authz_owns(req->caller, pids, npids, err) < 0 ||
	    nm_authz_nodes(pids, npids, &req->target.new_nodes, err) < 0)
		return strstr(err, "permission denied") ? NM_MOVE_DENIED :
							  NM_MOVE_BAD;
	return NM_MOVE_OK;
}

/* The OS node of node index @n of @t into @out. */
static void add_node(struct nm_bitmap *out, const struct nm_topology *t, int n)
{
	if (n >= 0 && n < t->nnodes)
		nm_bitmap_set(out, (unsigned int)t->nodes[n].os);
}

/*
 * The nodes a move reserves before it plans: where the job runs (its
 * CPUs' nodes, which it leaves and which serialize two moves of one job)
 * and every node the request sends pages to (the targets).  Nodes that
 * only hold some of its pages are not reserved: a move only frees memory
 * there, which no other move's plan can be hurt by, and a job's stray
 * pages (page cache, what it touched before it was bound) would
 * otherwise make every two moves overlap.  Parking spares are known only
 * once planned (reserve_plan()).
 */
static void wanted_nodes(const struct dmove *d, const struct nm_move_result *r,
			 struct nm_bitmap *out)
{
	const struct nm_move_req *req = d->req;
	int n;

	nm_bitmap_zero(out);
	nm_bitmap_foreach(n, &r->job->cpu_nodes)
		add_node(out, r->t, n);
	nm_bitmap_or(out, &req->target.new_nodes);
	for (n = 0; req->os_map && n < NM_MAX_NODES; n++)
		if (req->os_map[n] >= 0)
			nm_bitmap_set(out, (unsigned int)req->os_map[n]);
}

/* Granted its nodes: a move in progress from now on, for status. */
static void holding(struct dmove *d)
{
	int ms = d->cfg->test_hold_ms;

	set_held(d);
	if (!d->on) {
		d->phase = "planning";
		clock_gettime(CLOCK_MONOTONIC, &d->start);
		active_add(d);
	}
	/* [testing] hold_ms: others queue behind it, even in a dry run. */
	if (ms)
		nanosleep(&(struct timespec){ ms / 1000,
					      (long)(ms % 1000) * 1000000L },
			  NULL);
}

/*
 * Waits in the queue for the nodes of the job as modelled.  After a wait
 * the job may have moved (another move of it went first): modelled again,
 * and what it needs now is reserved on top of what it holds, or waited
 * for again, in the same place in the queue.
 */
static enum nm_move_status on_modelled(void *arg,
				       const struct nm_move_result *r,
				       bool *again, char *err)
{
	struct dmove *d = arg;
	struct nm_bitmap want;
	char list[64];
	double t;
	int rc;

	wanted_nodes(d, r, &want);
	if (d->slot.state == NM_MQ_RUNNING &&
	    (nm_bitmap_subset(&want, &d->slot.nodes) ||
	     nm_mq_extend(&queue, &d->slot, &want, err) == 0)) {
		*again = false;
		set_held(d);
		return NM_MOVE_OK;
	}
	if (d->slot.state == NM_MQ_RUNNING)
		nm_bitmap_or(&want, &d->slot.nodes);
	t = nm_now_seconds();
	rc = nm_mq_acquire(&queue, &d->slot, &want, again, err);
	d->queued += nm_now_seconds() - t;
	if (rc < 0)
		return NM_MOVE_REFUSED;
	nm_list_format(&want, list, sizeof(list));
	nm_log(*again ? LOG_INFO : LOG_DEBUG, "move %lu: %s holds node%s %s%s",
	       d->id, d->req->what, nm_bitmap_weight(&want) > 1 ? "s" : "",
	       list, *again ? " after waiting in the queue" : "");
	holding(d);
	return NM_MOVE_OK;
}

/* Every node the plan sends pages to, parking spares too, is reserved. */
static enum nm_move_status reserve_plan(struct dmove *d,
					const struct nm_move_result *r,
					char *err)
{
	const struct nm_plan *p = r->plan;
	struct nm_bitmap all;
	char msg[NM_ERRLEN];
	int n;

	nm_bitmap_zero(&all);
	for (int i = 0; i < p->nsteps; i++)
		add_node(&all, r->t, p->steps[i].to);
	nm_bitmap_foreach(n, &r->job->nodes)
		if (p->map && p->map[n] >= 0)
			add_node(&all, r->t, p->map[n]);
	if (nm_bitmap_subset(&all, &d->slot.nodes) ||
	    nm_mq_extend(&queue, &d->slot, &all, msg) == 0) {
		set_held(d);
		return NM_MOVE_OK;
	}
	nm_seterr(err, "the plan parks pages on a node another move uses "
		  "(%s); try again when it is done", msg);
	return NM_MOVE_REFUSED;
}

/* A confined move parks pages only inside the job's allocation. */
static int on_nodes(void *arg, const pid_t *pids, int npids,
		    struct nm_bitmap *nodes, char *err)
{
	const struct nm_move_req *req = ((struct dmove *)arg)->req;

	if (!req->confined)
		return 0;
	return nm_authz_usable_nodes(pids, npids, nodes, err) < 0 ? -1 : 1;
}

static enum nm_move_status on_planned(void *arg, struct nm_move_result *r,
				      char *err)
{
	struct dmove *d = arg;

	if (d->cfg->test_topology[0]) {
		nm_seterr(err, "[testing] topology is set: moves are planned, "
			  "never carried out");
		return NM_MOVE_REFUSED;
	}
	if (reserve_plan(d, r, err) != NM_MOVE_OK)
		return NM_MOVE_REFUSED;
	nm_log(LOG_INFO, "move %lu: %s (%d processes) by uid %u: plan moves "
	       "%llu bytes in %d steps", d->id, d->req->what, r->npids,
	       (unsigned int)d->req->caller,
	       (unsigned long long)r->plan->bytes_moved, r->plan->nsteps);
	pthread_mutex_lock(&active_lock);
	d->total = r->plan->bytes_moved;
	d->phase = "freezing";
	d->npids = r->npids;
	pthread_mutex_unlock(&active_lock);
	return NM_MOVE_OK;
}

/* A live move's threads go ahead of their pages: recorded first. */
static int on_repinning(void *arg, const struct nm_move_result *r,
			const unsigned long long *starts, char *err)
{
	struct dmove *d = arg;

	if (nm_live_journal_begin(&d->live, d->cfg->journal_dir, d->id, r->t,
				  r->plan->map, r->pids, starts, r->npids,
				  err) < 0)
		return -1;
	d->live_journaled = true;
	return 0;
}

static void on_live_ended(void *arg)
{
	struct dmove *d = arg;
	char err[NM_ERRLEN];

	if (!d->live_journaled)
		return;
	d->live_journaled = false;
	if (nm_live_journal_finish(&d->live, err) < 0)
		nm_log(LOG_ERR, "move %lu: %s", d->id, err);
}

/* The cpusets' nodes before they are widened: a restart puts them back. */
static int on_cpusets(void *arg, const struct nm_cpusets *c, char *err)
{
	struct dmove *d = arg;

	if (nm_cpuset_journal_begin(&d->cpusets, d->cfg->journal_dir, d->id,
				    c, err) < 0)
		return -1;
	d->cpusets_journaled = true;
	return 0;
}

static void on_cpusets_settled(void *arg)
{
	struct dmove *d = arg;
	char err[NM_ERRLEN];

	if (!d->cpusets_journaled)
		return;
	d->cpusets_journaled = false;
	if (nm_cpuset_journal_finish(&d->cpusets, err) < 0)
		nm_log(LOG_ERR, "move %lu: %s", d->id, err);
}

/* Journal first: a crash from here on is undone at restart. */
static int on_intents(void *arg, const struct nm_freeze *in, int n, char *err)
{
	struct dmove *d = arg;

	if (nm_journal_begin(&d->journal, d->cfg->journal_dir, d->id, in, n,
			     err) < 0)
		return -1;
	d->journaled = true;
	return 0;
}

static void watchdog_fire(void *arg)
{
	struct dmove *d = arg;
	char err[NM_ERRLEN];

	nm_log(LOG_ERR, "move %lu: %s frozen longer than %d s: stopping the "
	       "engine and thawing it", d->id, d->req->what,
	       d->cfg->frozen_deadline_ms / 1000);
	if (nm_move_expire(d->mv, err) < 0)
		nm_log(LOG_ERR, "move %lu: watchdog thaw failed: %s", d->id,
		       err);
}

static int on_frozen(void *arg, struct nm_move *mv, const struct nm_freeze *fz,
		     char *err)
{
	struct dmove *d = arg;

	if (d->cfg->test_crash_frozen) {
		nm_log(LOG_WARNING, "move %lu: [testing] crash_frozen: killed "
		       "before the journal records the freeze", d->id);
		raise(SIGKILL);
	}
	d->mv = mv;
	if (nm_journal_frozen(&d->journal, fz, err) < 0 ||
	    nm_watchdog_start(&d->dog, d->cfg->frozen_deadline_ms,
			      watchdog_fire, d, err) < 0)
		return -1;
	d->dog_on = true;
	return 0;
}

static bool on_thawing(void *arg)
{
	struct dmove *d = arg;

	return d->dog_on && nm_watchdog_stop(&d->dog);
}

/* Slurm suspended the job during the move: its resume thaws it. */
static bool on_suspended(void *arg)
{
	struct dmove *d = arg;
	struct nm_slurm_job sj;
	char err[NM_ERRLEN];

	if (!d->req->slurm_job)
		return false;
	if (nm_slurm_job(d->req->slurm_job, &sj, err) < 0) {
		nm_log(LOG_WARNING, "move %lu: cannot ask Slurm for the state "
		       "of job %llu (%s): thawing it", d->id,
		       (unsigned long long)d->req->slurm_job, err);
		return false;
	}
	return sj.state == NM_SLURM_SUSPENDED;
}

static void on_phase(void *arg, const char *phase)
{
	struct dmove *d = arg;

	set_phase(d, phase);
	if (!strcmp(phase, "freezing") && d->req->progress)
		d->req->progress(d->req->progress_arg, 0, d->total, phase);
	if (!strncmp(phase, "moving", 6))
		clock_gettime(CLOCK_MONOTONIC, &d->last_progress);
	if (!strcmp(phase, "moving live") && !d->live_said &&
	    d->req->live_started) {
		d->live_said = true;
		d->req->live_started(d->req->live_arg);
	}
}

/* Status requests see every batch; the client a frame every 100 ms. */
static void on_progress(void *arg, uint64_t done, uint64_t total)
{
	struct dmove *d = arg;
	struct timespec now;

	pthread_mutex_lock(&active_lock);
	d->done = done;
	d->total = total;
	pthread_mutex_unlock(&active_lock);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (done < total &&
	    (now.tv_sec - d->last_progress.tv_sec) * 1000 +
	    (now.tv_nsec - d->last_progress.tv_nsec) / 1000000 < 100)
		return;
	d->last_progress = now;
	if (d->req->progress)
		d->req->progress(d->req->progress_arg, done, total,
				 d->phase);
}

static void on_log(void *arg, int level, const char *msg)
{
	nm_log(level, "move %lu: %s", ((struct dmove *)arg)->id, msg);
}

/* ---- the report ---------------------------------------------------------- */

static json_t *map_json(const struct nm_topology *t, const struct nm_job *job,
			const int *map)
{
	json_t *o = json_object();
	int n;

	nm_bitmap_foreach(n, &job->nodes) {
		char key[16];

		snprintf(key, sizeof(key), "%d", t->nodes[n].os);
		json_object_set_new(o, key, json_integer(
			map[n] >= 0 ? t->nodes[map[n]].os : t->nodes[n].os));
	}
	return o;
}

/* The pages not moved, page-exactly (the first NM_ENGINE_MAX_FAILS). */
static json_t *failed_pages_json(const struct nm_engine_result *r)
{
	json_t *pages = json_array();

	for (size_t i = 0; i < r->nfails; i++) {
		char addr[32];

		snprintf(addr, sizeof(addr), "0x%lx",
			 (unsigned long)r->fails[i].addr);
		json_array_append_new(pages, json_pack(
			"{s:i, s:s, s:i, s:i, s:s}", "pid",
			(int)r->fails[i].pid, "addr", addr, "node",
			r->fails[i].node, "errno", r->fails[i].err,
			"error", strerror(r->fails[i].err)));
	}
	return pages;
}

/* Each error of a move, so the log says which process or cgroup. */
static void log_errors(unsigned long id, const struct nm_move_result *r)
{
	for (int i = 0; i < r->nerrors; i++) {
		const struct nm_move_error *e = &r->errors[i];

		if (e->kind == NM_MOVE_ERR_REBIND)
			nm_log(LOG_WARNING, "move %lu: pid %d: %s", id,
			       (int)e->pid, e->msg);
		else if (e->kind == NM_MOVE_ERR_CGROUP)
			nm_log(LOG_WARNING, "move %lu: cgroup %s: %s", id,
			       e->cgroup, e->msg);
		else
			nm_log(LOG_WARNING, "move %lu: thaw: %s", id, e->msg);
	}
}

static json_t *errors_json(const struct nm_move_result *r)
{
	json_t *a = json_array();

	for (int i = 0; i < r->nerrors; i++) {
		const struct nm_move_error *e = &r->errors[i];

		if (e->kind == NM_MOVE_ERR_REBIND)
			json_array_append_new(a, json_pack("{s:i, s:s}",
				"pid", (int)e->pid, "error", e->msg));
		else if (e->kind == NM_MOVE_ERR_CGROUP)
			json_array_append_new(a, json_pack("{s:s, s:s}",
				"cgroup", e->cgroup, "error", e->msg));
		else
			json_array_append_new(a, json_pack("{s:s}", "thaw",
							   e->msg));
	}
	return a;
}

/* Shared cpusets the move did not change, and why. */
static json_t *cpusets_left_json(const struct nm_move_result *r)
{
	json_t *a = json_array();

	for (int i = 0; i < r->ncpusets_left; i++)
		json_array_append_new(a, json_pack("{s:s, s:s}",
			"cgroup", r->cpusets_left[i].dir,
			"reason", r->cpusets_left[i].why));
	return a;
}

/* Shared memory of others an unprivileged move left where it was. */
static json_t *shared_skipped_json(const struct nm_move_result *r)
{
	json_t *maps = json_array();

	for (int i = 0; i < r->nskipped; i++) {
		const struct nm_skipped *k = &r->skipped[i].map;
		char start[32], end[32];

		snprintf(start, sizeof(start), "0x%lx", (unsigned long)k->start);
		snprintf(end, sizeof(end), "0x%lx", (unsigned long)k->end);
		json_array_append_new(maps, json_pack(
			"{s:i, s:s, s:s, s:s, s:I, s:I}",
			"pid", (int)r->skipped[i].pid, "start", start,
			"end", end, "path", k->path,
			"owner", k->owner == (uid_t)-1 ? (json_int_t)-1 :
				 (json_int_t)k->owner,
			"pages", (json_int_t)k->pages));
	}
	return json_pack("{s:I, s:I, s:o}",
			 "pages", (json_int_t)r->pages_skipped_shared,
			 "bytes", (json_int_t)(r->pages_skipped_shared *
					       (uint64_t)nm_page_size()),
			 "mappings", maps);
}

static json_t *pids_json(const pid_t *pids, int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_integer(pids[i]));
	return a;
}

/* What the engine did: pages, bytes, seconds, by reason and mechanism. */
static json_t *engine_json(const struct dmove *d,
			   const struct nm_move_result *mr)
{
	static const char *const kinds[NM_FAIL_KINDS] = {
		"busy", "nomem", "gone", "access", "other", "cancelled" };
	const struct nm_engine_result *r = mr->engine;
	json_t *o, *byk;

	o = json_pack("{s:I, s:i, s:I, s:I, s:I, s:f, s:f, s:f, s:s, s:i}",
		      "move_id", (json_int_t)d->id,
		      "processes", mr->npids,
		      "pages_moved", (json_int_t)r->pages_moved,
		      "pages_failed", (json_int_t)r->pages_failed,
		      "bytes_moved", (json_int_t)r->bytes_moved,
		      "frozen_seconds", mr->frozen_seconds,
		      "seconds", nm_now_seconds() - d->t_start,
		      "engine_seconds", r->seconds,
		      "engine", nm_engine_name(d->req->engine),
		      "threads", d->req->threads ? d->req->threads :
						   d->cfg->threads);
	if (!o)
		return NULL;
	/* How it ran: a live move's passes while the job ran, then frozen. */
	json_object_set_new(o, "mode", json_string(mr->live ? "live" :
								"frozen"));
	json_object_set_new(o, "passes", json_integer(mr->passes));
	json_object_set_new(o, "bytes_moved_live",
			    json_integer((json_int_t)mr->bytes_moved_live));
	json_object_set_new(o, "bytes_moved_frozen",
			    json_integer((json_int_t)mr->bytes_moved_frozen));
	json_object_set_new(o, "live_seconds", json_real(mr->live_seconds));
	json_object_set_new(o, "queue_seconds", json_real(d->queued));
	json_object_set_new(o, "throughput_bytes_per_second", json_real(
		r->seconds > 0 ? (double)r->bytes_moved / r->seconds : 0));
	byk = json_object();
	for (int k = 0; k < NM_FAIL_KINDS; k++)
		json_object_set_new(byk, kinds[k],
				    json_integer((json_int_t)
						 r->failed_by_kind[k]));
	json_object_set_new(o, "failed_by_reason", byk);
	/* Which mechanism moved what (engine auto splits by memory kind). */
	json_object_set_new(o, "pages_by_engine", json_pack("{s:I, s:I}",
		"syscall", (json_int_t)r->pages_by_backend[NM_BY_SYSCALL],
		"kmod", (json_int_t)r->pages_by_backend[NM_BY_KMOD]));
	json_object_set_new(o, "pages_sent_by_engine", json_pack("{s:I, s:I}",
		"syscall", (json_int_t)r->pages_sent[NM_BY_SYSCALL],
		"kmod", (json_int_t)r->pages_sent[NM_BY_KMOD]));
	return o;
}

static json_t *report(const struct dmove *d, const struct nm_move_result *mr)
{
	const struct nm_engine_result *r = mr->engine;
	json_t *o = engine_json(d, mr);

	if (!o)
		return NULL;
	json_object_set_new(o, "kmod_loaded", json_boolean(mr->kmod_loaded));
	if (mr->kmod_unused[0])
		json_object_set_new(o, "kmod_unused",
				    json_string(mr->kmod_unused));
	if (mr->kmod_threads_capped[0])
		json_object_set_new(o, "kmod_threads_capped",
				    json_string(mr->kmod_threads_capped));
	json_object_set_new(o, "engine_cancelled", json_boolean(r->cancelled));
	json_object_set_new(o, "pages_attempted",
			    json_integer((json_int_t)r->pages_attempted));
	json_object_set_new(o, "pages_skipped_file",
			    json_integer((json_int_t)r->pages_skipped_file));
	json_object_set_new(o, "pages_of_exited_tasks",
			    json_integer((json_int_t)mr->pages_exited));
	json_object_set_new(o, "failed_pages", failed_pages_json(r));
	json_object_set_new(o, "failed_pages_listed_all",
			    json_boolean(r->nfails == r->pages_failed));
	json_object_set_new(o, "tasks_exited", pids_json(mr->exited,
							 mr->nexited));
	/* Of those, the pids another process holds now: left alone. */
	json_object_set_new(o, "tasks_replaced", pids_json(mr->replaced,
							   mr->nreplaced));
	json_object_set_new(o, "shared_skipped", shared_skipped_json(mr));
	json_object_set_new(o, "errors", errors_json(mr));
	json_object_set_new(o, "cpusets_left_alone", cpusets_left_json(mr));
	json_object_set_new(o, "was_stopped", json_boolean(mr->was_stopped));
	json_object_set_new(o, "left_suspended",
			    json_boolean(mr->left_suspended));
	json_object_set_new(o, "deadline_exceeded",
			    json_boolean(mr->deadline_exceeded));
	json_object_set_new(o, "plan", nm_plan_to_json(mr->plan, mr->t,
						       mr->job));
	json_object_set_new(o, "cpu_map", map_json(mr->t, mr->job,
						   mr->cpu_map));
	return o;
}

/* ---- the move ------------------------------------------------------------ */

static enum nm_engine_backend backend_of(enum nm_engine_kind e)
{
	return e == NM_ENGINE_SYSCALL ? NM_BACKEND_SYSCALL :
	       e == NM_ENGINE_KMOD ? NM_BACKEND_KMOD : NM_BACKEND_AUTO;
}

/* A started move the daemon's stop cancelled: one line for its client. */
static void stopped_err(const struct nm_move_result *r, char *err)
{
	unsigned long long moved = r->engine->pages_moved;

	if (r->thaw_failed)
		nm_seterr(err, "numamigrated is stopping: move cancelled, "
			  "%llu pages moved; cannot thaw: %s (the next start "
			  "retries)", moved, r->thaw_err);
	else if (r->frozen)
		nm_seterr(err, "numamigrated is stopping: move cancelled and "
			  "thawed, %llu pages moved, %llu not", moved,
			  (unsigned long long)r->engine->pages_failed);
	else
		nm_seterr(err, "numamigrated is stopping: move cancelled "
			  "before the freeze, %llu pages moved", moved);
}

/* A started move's end: the thaw and the deadline said, journal, log. */
static void conclude(struct dmove *d, const struct nm_move_result *r,
		     enum nm_move_status st, char *err)
{
	char msg[NM_ERRLEN];

	if (r->thaw_failed)
		nm_log(LOG_ERR, "move %lu: cannot thaw %s: %s (journal %s "
		       "kept)", d->id, d->req->what, r->thaw_err,
		       d->journal.path);
	if (r->deadline_exceeded) {
		/* The deadline is the cause: say it first. */
		if (r->engine->cancelled)
			nm_seterr(err, "frozen longer than the %d s deadline: "
				  "thawed early, engine stopped with %llu "
				  "pages not moved",
				  d->cfg->frozen_deadline_ms / 1000,
				  (unsigned long long)
				  r->engine->failed_by_kind[NM_FAIL_CANCELLED]);
		else
			nm_seterr(err, "frozen longer than the %d s deadline: "
				  "thawed early", d->cfg->frozen_deadline_ms /
				  1000);
	}
	if (st != NM_MOVE_OK && nm_stopping())
		stopped_err(r, err);
	/* A journal of a job left frozen stays: a restart retries. */
	if (d->journaled && !r->thaw_failed &&
	    nm_journal_finish(&d->journal, msg) < 0)
		nm_log(LOG_ERR, "move %lu: %s", d->id, msg);
	nm_log(st == NM_MOVE_OK ? LOG_INFO : LOG_WARNING,
	       "move %lu: %s: %s: %llu pages moved, %llu not moved, %s, "
	       "%d live passes %.3f s (%llu bytes), frozen %.3f s (%llu "
	       "bytes), %.3f s in all%s%s",
	       d->id, d->req->what, nm_move_status_code(st),
	       (unsigned long long)r->engine->pages_moved,
	       (unsigned long long)r->engine->pages_failed,
	       r->live ? "live" : "frozen",
	       r->passes, r->live_seconds,
	       (unsigned long long)r->bytes_moved_live,
	       r->frozen ? r->frozen_seconds : 0.0,
	       (unsigned long long)r->bytes_moved_frozen,
	       nm_now_seconds() - d->t_start, st == NM_MOVE_OK ? "" : ": ",
	       st == NM_MOVE_OK ? "" : err);
	log_errors(d->id, r);
}

enum nm_move_status nm_migrate(const struct nm_config *cfg,
			       const struct nm_move_req *req, json_t **result,
			       char *err)
{
	struct dmove d = { .cfg = cfg, .req = req,
			   .t_start = nm_now_seconds() };
	const struct nm_move_hooks hooks = {
		.arg = &d, .handle = on_handle, .begin = on_begin,
		.admit = on_admit, .modelled = on_modelled,
		.nodes = on_nodes,
		.planned = on_planned, .repinning = on_repinning,
		.live_ended = on_live_ended, .cpusets = on_cpusets,
		.cpusets_settled = on_cpusets_settled, .intents = on_intents,
		.frozen = on_frozen, .thawing = on_thawing,
		.suspended = on_suspended,
		.phase = on_phase, .progress = on_progress, .log = on_log,
	};
	const struct nm_move_spec spec = {
		.pids = req->pids, .npids = req->npids, .starts = req->starts,
		.target = &req->target, .what = req->what,
		.memory_only_targets = req->memory_only_targets,
		.os_map = req->os_map,
		.backend = backend_of(req->engine),
		.threads = req->threads ? req->threads : cfg->threads,
		.freeze_timeout_ms = cfg->freeze_timeout_ms,
		.live = req->mode == NM_MODE_LIVE,
		.live_threshold_bytes = cfg->live_threshold,
		.live_share_pct = cfg->live_share_pct,
		.live_max_passes = cfg->live_passes,
		.live_max_ms = cfg->live_timeout_ms,
		.topology_file = cfg->test_topology[0] ? cfg->test_topology :
							 NULL,
		.free_overrides = cfg->test_free[0] ? cfg->test_free : NULL,
		.delay_ms = cfg->test_delay_ms,
		.delay_file = cfg->test_delay_file[0] ? cfg->test_delay_file :
							 NULL,
		.batch_delay_ms = cfg->test_batch_delay_ms,
		.admit_delay_ms = cfg->test_admit_delay_ms,
		.unprivileged = req->shared_guard,
		.caller = req->shared_uid,
	};
	struct nm_move_result r;
	enum nm_move_status st;

	*result = NULL;
	st = nm_move_run(&spec, &hooks, &r, err);
	if (d.id && !r.engine && st != NM_MOVE_OK)
		nm_log(LOG_NOTICE, "move %lu: %s by uid %u: %s: %s", d.id,
		       req->what, (unsigned int)req->caller,
		       nm_move_status_code(st), err);
	if (r.engine) {
		conclude(&d, &r, st, err);
		*result = report(&d, &r);
	}
	if (d.on)
		active_remove(&d);
	if (d.id)
		nm_mq_leave(&queue, &d.slot);
	nm_move_result_free(&r);
	return st;
}
