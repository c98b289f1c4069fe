/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of one move: one move at a time, the access check,
 * the journal, the frozen deadline, progress frames and the JSON report.
 * The move itself is helper/engine/move.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "helper/daemon/authz.h"
#include "helper/daemon/journal.h"
#include "helper/daemon/log.h"
#include "helper/daemon/migrate.h"
#include "helper/daemon/watchdog.h"
#include "lib/base/clock.h"
#include "lib/core/plan_json.h"

/* The move in progress, for status requests. */
static pthread_mutex_t move_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t active_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	bool on;
	unsigned long id;
	uid_t caller;
	char what[128];
	const char *phase;
	int npids;
	uint64_t done, total;
	struct timespec start;
} active;
static unsigned long next_id;

/* One request's move, as the daemon sees it. */
struct dmove {
	const struct nm_config *cfg;
	const struct nm_move_req *req;
	unsigned long id;		/* 0 until it holds move_lock */
	struct nm_move *mv;		/* for the watchdog, once frozen */
	struct nm_journal journal;
	bool journaled;
	struct nm_watchdog dog;
	bool dog_on;
	uint64_t total;			/* bytes the plan moves */
	struct timespec last_progress;
	double t_start;
};

static void set_phase(const char *phase)
{
	pthread_mutex_lock(&active_lock);
	active.phase = phase;
	pthread_mutex_unlock(&active_lock);
}

json_t *nm_migrate_active(uid_t uid)
{
	json_t *a = json_array();
	struct timespec now;

	pthread_mutex_lock(&active_lock);
	if (a && active.on && (uid == (uid_t)-1 || uid == active.caller)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		json_array_append_new(a, json_pack(
			"{s:I, s:I, s:s, s:s, s:i, s:I, s:I, s:f}",
			"id", (json_int_t)active.id,
			"uid", (json_int_t)active.caller,
			"what", active.what, "phase", active.phase,
			"processes", active.npids,
			"bytes_done", (json_int_t)active.done,
			"bytes_total", (json_int_t)active.total,
			"seconds", (double)(now.tv_sec - active.start.tv_sec) +
				(double)(now.tv_nsec - active.start.tv_nsec) *
				1e-9));
	}
	pthread_mutex_unlock(&active_lock);
	return a;
}

/* ---- hooks of the move --------------------------------------------------- */

/* One move at a time: a second one is refused while it runs. */
static enum nm_move_status on_begin(void *arg, char *err)
{
	struct dmove *d = arg;

	if (pthread_mutex_trylock(&move_lock) != 0) {
		pthread_mutex_lock(&active_lock);
		nm_seterr(err, "busy: move %lu (%s) is in progress", active.id,
			  active.what);
		pthread_mutex_unlock(&active_lock);
		return NM_MOVE_REFUSED;
	}
	d->id = ++next_id;
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
	nm_log(LOG_INFO, "move %lu: %s (%d processes) by uid %u: plan moves "
	       "%llu bytes in %d steps", d->id, d->req->what, r->npids,
	       (unsigned int)d->req->caller,
	       (unsigned long long)r->plan->bytes_moved, r->plan->nsteps);
	d->total = r->plan->bytes_moved;
	pthread_mutex_lock(&active_lock);
	memset(&active, 0, sizeof(active));
	active.on = true;
	active.id = d->id;
	active.caller = d->req->caller;
	snprintf(active.what, sizeof(active.what), "%s", d->req->what);
	active.phase = "freezing";
	active.npids = r->npids;
	active.total = r->plan->bytes_moved;
	clock_gettime(CLOCK_MONOTONIC, &active.start);
	pthread_mutex_unlock(&active_lock);
	return NM_MOVE_OK;
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

static void on_phase(void *arg, const char *phase)
{
	struct dmove *d = arg;

	set_phase(phase);
	if (!strcmp(phase, "freezing") && d->req->progress)
		d->req->progress(d->req->progress_arg, 0, d->total, phase);
	if (!strncmp(phase, "moving", 6))
		clock_gettime(CLOCK_MONOTONIC, &d->last_progress);
}

/* Status requests see every batch; the client a frame every 100 ms. */
static void on_progress(void *arg, uint64_t done, uint64_t total)
{
	struct dmove *d = arg;
	struct timespec now;

	pthread_mutex_lock(&active_lock);
	active.done = done;
	active.total = total;
	pthread_mutex_unlock(&active_lock);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (done < total &&
	    (now.tv_sec - d->last_progress.tv_sec) * 1000 +
	    (now.tv_nsec - d->last_progress.tv_nsec) / 1000000 < 100)
		return;
	d->last_progress = now;
	if (d->req->progress)
		d->req->progress(d->req->progress_arg, done, total,
				 active.phase);
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

static json_t *exited_json(const struct nm_move_result *r)
{
	json_t *a = json_array();

	for (int i = 0; i < r->nexited; i++)
		json_array_append_new(a, json_integer(r->exited[i]));
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
	json_object_set_new(o, "tasks_exited", exited_json(mr));
	json_object_set_new(o, "errors", errors_json(mr));
	json_object_set_new(o, "cpusets_left_alone", cpusets_left_json(mr));
	json_object_set_new(o, "was_stopped", json_boolean(mr->was_stopped));
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
}

enum nm_move_status nm_migrate(const struct nm_config *cfg,
			       const struct nm_move_req *req, json_t **result,
			       char *err)
{
	struct dmove d = { .cfg = cfg, .req = req,
			   .t_start = nm_now_seconds() };
	const struct nm_move_hooks hooks = {
		.arg = &d, .begin = on_begin, .admit = on_admit,
		.nodes = on_nodes,
		.planned = on_planned, .intents = on_intents,
		.frozen = on_frozen, .thawing = on_thawing,
		.phase = on_phase, .progress = on_progress, .log = on_log,
	};
	const struct nm_move_spec spec = {
		.pids = req->pids, .npids = req->npids,
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
		.batch_delay_ms = cfg->test_batch_delay_ms,
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
	if (d.id) {
		pthread_mutex_lock(&active_lock);
		active.on = false;
		pthread_mutex_unlock(&active_lock);
		pthread_mutex_unlock(&move_lock);
	}
	nm_move_result_free(&r);
	return st;
}
