/* SPDX-License-Identifier: MIT */
/*
 * Preemption by suspension: a preemptor's prolog asks to move suspended
 * jobs' memory off its NUMA nodes (repack); its epilog moves them back
 * (restore.c).  The design and the files: helper/daemon/REPACK.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper/daemon/log.h"
#include "helper/daemon/migrate.h"
#include "helper/daemon/repack.h"
#include "helper/daemon/repack_internal.h"

/* One repack request while it runs. */
struct repack {
	struct nm_daemon *d;		/* the daemon: config, registry */
	const struct nm_topology *t;	/* this host, loaded for the request */
	uint64_t job;			/* the preemptor */
	char node[128];			/* this host's Slurm node name */
	struct nm_bitmap pre_nodes;	/* the preemptor's NUMA nodes here */
	struct nm_bitmap busy;		/* nodes of running jobs' CPUs */
	json_t *rec;			/* its record, growing per victim */
};

/* ---- replies, shared with policy.c and restore.c ------------------------ */

json_t *nm_repack_denied(const struct nm_caller *who,
			 const struct nm_request *req)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "permission denied: %s is for root and "
		 "the Slurm user only", nm_op_name(req->op));
	nm_log(LOG_NOTICE, "%s from uid %u (%s): denied: %s",
	       nm_op_name(req->op), (unsigned int)who->uid, who->peer, msg);
	return nm_reply_error("denied", msg);
}

bool nm_repack_begin(const struct nm_caller *who,
		     const struct nm_request *req, json_t **r,
		     json_t **results)
{
	if (!who->privileged) {
		*r = nm_repack_denied(who, req);
		return false;
	}
	*r = nm_reply_ok();
	if (!*r)
		return false;
	json_object_set_new(*r, "job", json_integer((json_int_t)req->job));
	*results = json_array();
	json_object_set_new(*r, "jobs", *results);
	nm_repack_lock();
	return true;
}

struct nm_topology *nm_repack_topology(const struct nm_daemon *d, char *err)
{
	return nm_topology_load(d->cfg.test_topology[0] ?
				d->cfg.test_topology : NULL, err);
}

json_t *nm_repack_fail(const struct nm_caller *who,
		       const struct nm_request *req, const char *code,
		       const char *msg)
{
	nm_log(LOG_WARNING, "%s from uid %u (%s): %s: %s", nm_op_name(req->op),
	       (unsigned int)who->uid, who->peer, code, msg);
	return nm_reply_error(code, msg);
}

const char *nm_repack_list(const struct nm_bitmap *b, char *buf, size_t len)
{
	if (nm_list_format(b, buf, len) >= len)
		snprintf(buf, len, "(long list)");
	return buf;
}

json_t *nm_repack_move_summary(json_t *res)
{
	static const char *const keep[] = {
		"bytes_moved", "pages_moved", "pages_failed", "frozen_seconds",
		"seconds", "was_stopped", "cpu_map", "tasks_exited",
		"tasks_replaced", "errors", "mode", "passes", "live_seconds",
		"left_suspended", NULL };
	json_t *o = json_object();

	if (!o || !res)
		return o;
	for (int i = 0; keep[i]; i++) {
		json_t *v = json_object_get(res, keep[i]);

		if (v)
			json_object_set(o, keep[i], v);
	}
	json_object_set(o, "map", json_object_get(json_object_get(res, "plan"),
						  "map"));
	return o;
}

/* ---- one victim ---------------------------------------------------------- */

/* Adds what was moved for @v to @rec's evacuated list. */
static void record_add(json_t *rec, const struct nm_victim *v, json_t *map)
{
	json_t *tasks = json_array();

	for (int i = 0; i < v->npids; i++)
		json_array_append_new(tasks, json_pack("[i, I]", (int)v->pids[i],
						       (json_int_t)v->starts[i]));
	json_array_append_new(json_object_get(rec, "evacuated"), json_pack(
		"{s:I, s:o, s:O}", "job", (json_int_t)v->job, "tasks", tasks,
		"map", map));
}

static bool map_moves(json_t *map)
{
	const char *k;
	json_t *v;

	json_object_foreach(map, k, v)
		if (atoll(k) != json_integer_value(v))
			return true;
	return false;
}

static json_t *not_moved(json_t *r, const char *why)
{
	json_object_set_new(r, "moved", json_false());
	json_object_set_new(r, "reason", json_string(why));
	return r;
}

/*
 * Where it may go: nodes with no running job's CPUs and not the
 * preemptor's, plus memory-only nodes; within its policy's nodes.
 * Its own nodes off the preemptor's count as free (it is suspended).
 */
static void free_nodes(const struct repack *rp, enum nm_policy pol,
		       const struct nm_bitmap *pol_nodes, struct nm_bitmap *to)
{
	const struct nm_topology *t = rp->t;

	nm_bitmap_zero(to);
	for (int n = 0; n < t->nnodes; n++) {
		unsigned int os = (unsigned int)t->nodes[n].os;

		if (nm_bitmap_test(&rp->pre_nodes, os))
			continue;
		if (!t->nodes[n].memory_only && nm_bitmap_test(&rp->busy, os))
			continue;
		if (pol == NM_POLICY_NODES && !nm_bitmap_test(pol_nodes, os))
			continue;
		nm_bitmap_set(to, os);
	}
}

/* Whether @v should go, and where (@to); the reply @r says from where. */
static int destination(const struct repack *rp, const struct nm_victim *v,
		       enum nm_policy pol, const struct nm_bitmap *pol_nodes,
		       json_t *r, struct nm_bitmap *to, char *err)
{
	struct nm_bitmap have, overlap;
	char b1[256], b2[256];

	if (pol == NM_POLICY_NEVER) {
		nm_seterr(err, "its policy is never");
		return -1;
	}
	if (nm_victim_nodes(rp->t, v, &have, err) < 0)
		return -1;
	json_object_set_new(r, "from", json_string(nm_repack_list(&have, b1,
								   sizeof(b1))));
	overlap = have;
	nm_bitmap_and(&overlap, &rp->pre_nodes);
	if (nm_bitmap_empty(&overlap)) {
		nm_seterr(err, "no memory on nodes %s",
			  nm_repack_list(&rp->pre_nodes, b2, sizeof(b2)));
		return -1;
	}
	free_nodes(rp, pol, pol_nodes, to);
	if (nm_bitmap_empty(to)) {
		nm_seterr(err, "nowhere to move: every node but the "
			  "preemptor's (%s) is in use by running jobs%s%s",
			  nm_repack_list(&rp->pre_nodes, b2, sizeof(b2)),
			  pol == NM_POLICY_NODES ? " or outside its policy's "
			  "nodes " : "", pol == NM_POLICY_NODES ?
			  nm_repack_list(pol_nodes, b1, sizeof(b1)) : "");
		return -1;
	}
	json_object_set_new(r, "to", json_string(nm_repack_list(to, b1,
								 sizeof(b1))));
	return 0;
}

/* Moves @v onto @to once Slurm holds it; records a move that started. */
static json_t *move_victim(struct repack *rp, const struct nm_victim *v,
			   const struct nm_bitmap *to, json_t *r, bool *moved)
{
	struct nm_move_req mr = {
		.caller = 0,
		.privileged = true,
		.engine = rp->d->cfg.engine,
		.memory_only_targets = true,
		.priority = true,
		.target = { .kind = NM_TARGET_NODES, .new_nodes = *to },
		.pids = v->pids,
		.npids = v->npids,
		.starts = v->starts,	/* as registered */
	};
	char err[NM_ERRLEN] = "", what[64];
	enum nm_move_status st;
	json_t *res = NULL;

	snprintf(what, sizeof(what), "suspended job %llu",
		 (unsigned long long)v->job);
	mr.what = what;
	/*
	 * Not held: moving it would freeze and then thaw a job Slurm means
	 * to stop, undoing the suspend; refuse and say why.
	 */
	if (!nm_victim_wait_held(v)) {
		nm_log(LOG_WARNING, "repack: %s: Slurm has not stopped or "
		       "frozen all its processes after %d s; not moved",
		       what, NM_HOLD_WAIT_MS / 1000);
		json_object_set_new(r, "moved", json_false());
		snprintf(err, sizeof(err), "Slurm has not stopped or frozen "
			 "all its processes after %d s", NM_HOLD_WAIT_MS / 1000);
		json_object_set_new(r, "reason", json_string(err));
		json_object_set_new(r, "code", json_string("refused"));
		return r;
	}
	st = nm_migrate(&rp->d->cfg, &mr, &res, err);
	if (res) {
		json_t *map = json_object_get(json_object_get(res, "plan"),
					      "map");

		json_object_set_new(r, "result", nm_repack_move_summary(res));
		/*
		 * A move that started is recorded, even a partial one:
		 * restore undoes whatever of it happened.
		 */
		if (map && map_moves(map) &&
		    (st == NM_MOVE_OK || st == NM_MOVE_FAILED)) {
			record_add(rp->rec, v, map);
			*moved = true;
		}
		json_decref(res);
	}
	json_object_set_new(r, "moved", json_boolean(*moved &&
						     st == NM_MOVE_OK));
	if (st != NM_MOVE_OK) {
		json_object_set_new(r, "reason", json_string(err));
		json_object_set_new(r, "code",
				    json_string(nm_move_status_code(st)));
	}
	return r;
}

/* One victim: decide, and move it when it should go.  Returns its result. */
static json_t *repack_one(struct repack *rp, const struct nm_victim *v,
			  bool *moved)
{
	enum nm_policy pol = rp->d->cfg.default_policy;
	struct nm_bitmap pol_nodes, to;
	char err[NM_ERRLEN] = "", why[160];
	json_t *r;

	*moved = false;
	nm_bitmap_zero(&pol_nodes);
	nm_registry_get_policy(rp->d->reg, v->job, &pol, &pol_nodes);
	r = json_pack("{s:I, s:s}", "job", (json_int_t)v->job, "policy",
		      nm_policy_name(pol));
	if (!r)
		return NULL;
	if (!nm_victim_suspended(v, why, sizeof(why))) {
		json_object_set_new(r, "suspended", json_false());
		return not_moved(r, why);
	}
	json_object_set_new(r, "suspended", json_true());
	json_object_set_new(r, "suspended_because", json_string(why));
	if (destination(rp, v, pol, &pol_nodes, r, &to, err) < 0)
		return not_moved(r, err);
	return move_victim(rp, v, &to, r, moved);
}

/* ---- the request --------------------------------------------------------- */

static json_t *repack_nothing(json_t *r, const char *reason,
			      const struct nm_request *req)
{
	nm_log(LOG_NOTICE, "repack for job %llu: nothing moved: %s",
	       (unsigned long long)req->job, reason);
	return not_moved(r, reason);
}

/* Where the preemptor runs and which nodes running jobs use, into @r. */
static int survey(struct repack *rp, json_t *r, char *err)
{
	struct nm_bitmap cpus;
	char b[256];

	if (nm_repack_job_cpus(rp->d, rp->job, rp->node, sizeof(rp->node),
			       &cpus, err) < 0)
		return -1;
	json_object_set_new(r, "node", json_string(rp->node));
	nm_repack_cpus_to_nodes(rp->t, &cpus, &rp->pre_nodes);
	json_object_set_new(r, "cpus", json_string(nm_repack_list(&cpus, b,
								   sizeof(b))));
	json_object_set_new(r, "nodes", json_string(
		nm_repack_list(&rp->pre_nodes, b, sizeof(b))));
	if (nm_bitmap_empty(&rp->pre_nodes)) {
		nm_seterr(err, "Slurm CPUs %.100s of job %llu are on no NUMA "
			  "node of this machine", nm_repack_list(&cpus, b,
			  sizeof(b)), (unsigned long long)rp->job);
		return -1;
	}
	if (nm_repack_busy_nodes(rp->t, rp->node, rp->job, &rp->busy,
				 err) < 0)
		return -1;
	json_object_set_new(r, "busy_nodes", json_string(
		nm_repack_list(&rp->busy, b, sizeof(b))));
	return 0;
}

static void log_victim(const struct repack *rp, uint64_t job, json_t *one)
{
	bool moved = json_is_true(json_object_get(one, "moved"));

	nm_log(moved ? LOG_INFO : LOG_NOTICE, "repack for job %llu: job %llu: "
	       "%s%s", (unsigned long long)rp->job, (unsigned long long)job,
	       moved ? "moved to nodes " : "not moved: ",
	       json_string_value(json_object_get(one, moved ? "to" :
						 "reason")) ?: "");
}

/* Every registered job but the preemptor; returns how many moved. */
static int evacuate(struct repack *rp, const uint64_t *jobs, int njobs,
		    json_t *results, int *nvictims)
{
	char err[NM_ERRLEN];
	int nmoved = 0;

	for (int i = 0; rp->rec && i < njobs; i++) {
		struct nm_victim v;
		bool moved;
		json_t *one;

		if (jobs[i] == rp->job)
			continue;
		if (nm_victim_get(rp->d, jobs[i], &v, err) < 0) {
			one = json_pack("{s:I, s:b, s:s}", "job",
					(json_int_t)jobs[i], "moved", 0,
					"reason", err);
		} else {
			one = repack_one(rp, &v, &moved);
			nmoved += moved;
		}
		nm_victim_free(&v);
		if (json_is_true(json_object_get(one, "suspended")))
			(*nvictims)++;
		log_victim(rp, jobs[i], one);
		json_array_append_new(results, one);
	}
	return nmoved;
}

/* Keeps the record when something moved; the reply's summary. */
static void conclude(struct repack *rp, json_t *r, int nmoved, int nvictims)
{
	char err[NM_ERRLEN], path[700], b[256];

	if (nmoved) {
		if (nm_repack_store_put(rp->d->cfg.journal_dir, rp->job,
					rp->rec, path, sizeof(path), err) < 0)
			nm_log(LOG_ERR, "repack for job %llu: cannot record "
			       "the evacuation (a restart loses it): %s",
			       (unsigned long long)rp->job, err);
		json_object_set_new(r, "record", json_string(path));
	}
	json_object_set_new(r, "moved", json_boolean(nmoved > 0));
	if (!nmoved)
		json_object_set_new(r, "reason", json_string(
			nvictims ? "no suspended job could be moved (see jobs)"
				 : "no suspended job with registered tasks "
				   "on this host"));
	nm_log(LOG_INFO, "repack for job %llu (nodes %s): %d suspended "
	       "job(s), %d moved", (unsigned long long)rp->job,
	       nm_repack_list(&rp->pre_nodes, b, sizeof(b)), nvictims, nmoved);
}

/* The preemptor's record so far (a copy), or a new empty one. */
static json_t *record_start(uint64_t job)
{
	json_t *old;

	if (!nm_repack_store_ready())
		return NULL;
	old = nm_repack_store_get(job);
	return old ? json_deep_copy(old) : json_pack("{s:i, s:I, s:[]}",
		"version", 1, "job", (json_int_t)job, "evacuated");
}

json_t *nm_op_repack(struct nm_daemon *d, const struct nm_caller *who,
		     const struct nm_request *req)
{
	struct repack rp = { .d = d, .job = req->job };
	struct nm_topology *t = NULL;
	char err[NM_ERRLEN];
	uint64_t *jobs = NULL;
	json_t *r, *results;
	int njobs = 0, nmoved, nvictims = 0;

	if (!nm_repack_begin(who, req, &r, &results))
		return r;
	rp.t = t = nm_repack_topology(d, err);
	if (!t || survey(&rp, r, err) < 0 ||
	    nm_registry_jobs(d->reg, &jobs, &njobs, err) < 0) {
		r = repack_nothing(r, err, req);
		goto out;
	}
	rp.rec = record_start(req->job);
	nmoved = evacuate(&rp, jobs, njobs, results, &nvictims);
	if (!rp.rec || !nm_repack_store_ready())
		r = repack_nothing(r, "out of memory", req);
	else
		conclude(&rp, r, nmoved, nvictims);
out:
	json_decref(rp.rec);
	free(jobs);
	nm_topology_free(t);
	nm_repack_unlock();
	return r;
}
