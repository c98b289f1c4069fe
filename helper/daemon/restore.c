/* SPDX-License-Identifier: MIT */
/*
 * Restore, from a preemptor's epilog: every job its repack evacuated goes
 * back to the nodes it came from (helper/daemon/REPACK.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper/daemon/log.h"
#include "helper/daemon/migrate.h"
#include "helper/daemon/repack.h"
#include "helper/daemon/repack_internal.h"
#include "helper/site/slurm_info.h"
#include "lib/base/clock.h"
#include "lib/linux/proc.h"

/* Which nodes running jobs use now, so that nothing moves onto them. */
struct busy {
	struct nm_bitmap nodes;	/* OS numbers */
	bool known;		/* false: Slurm or the topology failed */
};

/*
 * One restore request.  Live ([slurm] restore_mode): each job goes back
 * by a live move, and the reply goes to the epilog once the last job's
 * first live pass starts: every job before it is home, its threads are
 * re-pinned to its home nodes (so is every page it allocates from then
 * on), its pages flow back.  Slurm resumes the jobs then; the live move
 * runs on under the rules of any move (journal, freeze deadline, Slurm's
 * suspend kept, cpusets narrowed at its end) and holds the records' lock
 * until it ends, so a later prolog's repack waits for it.
 */
struct restoring {
	uint64_t job;			/* the preemptor */
	bool live;
	nm_answer_fn answer;
	void *arg;
	json_t *reply;			/* the reply; its "jobs" as they end */
	json_t *current;		/* the entry of the job moving back */
	bool last;			/* it is the record's last job */
	bool answered;
	double t0;
	double t_answer;
};

/*
 * The first live pass of the last job: the reply so far, that job's
 * entry with "restoring": "live", to the epilog now.
 */
static void live_started(void *arg)
{
	struct restoring *rs = arg;
	json_t *early, *one;

	if (!rs->last || rs->answered || !rs->answer)
		return;
	early = json_deep_copy(rs->reply);
	one = json_deep_copy(rs->current);
	if (!early || !one) {
		json_decref(early);
		json_decref(one);
		return;		/* the whole reply comes at the end */
	}
	json_object_set_new(one, "restoring", json_string("live"));
	json_array_append_new(json_object_get(early, "jobs"), one);
	json_object_set_new(early, "restoring", json_string("live"));
	rs->t_answer = nm_now_seconds() - rs->t0;
	json_object_set_new(early, "answered_seconds",
			    json_real(rs->t_answer));
	rs->answered = true;
	rs->answer(rs->arg, early);
	json_decref(early);
	nm_log(LOG_INFO, "restore for job %llu: answered after %.3f s: job "
	       "%lld re-pinned, its pages flow back while it runs",
	       (unsigned long long)rs->job, rs->t_answer,
	       json_integer_value(json_object_get(rs->current, "job")));
}

/* The recorded processes still alive (same pid and start time). */
static pid_t *live_pids(json_t *tasks, int *n)
{
	pid_t *pids = calloc(json_array_size(tasks) + 1, sizeof(*pids));
	json_t *t1;
	size_t i;

	*n = 0;
	if (!pids)
		return NULL;
	json_array_foreach(tasks, i, t1) {
		pid_t pid = (pid_t)json_integer_value(json_array_get(t1, 0));

		if (nm_proc_same(pid, (unsigned long long)json_integer_value(
					json_array_get(t1, 1))))
			pids[(*n)++] = pid;
	}
	return pids;
}

/* The way back along a recorded map. */
struct way_back {
	struct nm_bitmap from;		/* where the pages went (OS nodes) */
	struct nm_bitmap to;		/* where they came from */
	int os_map[NM_MAX_NODES];	/* from -> to; -1 elsewhere */
	bool injective;			/* false: the repack merged nodes */
};

/*
 * The inverse of the recorded @map: where each node's pages went, back to
 * that node.  Not injective when the repack merged nodes, so that there
 * is no exact inverse.
 */
static void inverse_map(json_t *map, struct way_back *w)
{
	const char *k;
	json_t *v;

	for (int i = 0; i < NM_MAX_NODES; i++)
		w->os_map[i] = -1;
	nm_bitmap_zero(&w->from);
	nm_bitmap_zero(&w->to);
	w->injective = true;
	json_object_foreach(map, k, v) {
		int a = atoi(k), z = (int)json_integer_value(v);

		if (a == z)
			continue;
		if (w->os_map[z] >= 0)
			w->injective = false;
		w->os_map[z] = a;
		nm_bitmap_set(&w->from, (unsigned int)z);
		nm_bitmap_set(&w->to, (unsigned int)a);
	}
}

static void not_restored(json_t *r, const char *why)
{
	json_object_set_new(r, "restored", json_false());
	json_object_set_new(r, "reason", json_string(why));
}

/*
 * A live restore refused (nothing changed: the plan parks pages, a node
 * is both old and new) goes back frozen.
 */
static enum nm_move_status migrate_back(struct nm_daemon *d,
					struct nm_move_req *mr, json_t **res,
					json_t *r, char *err)
{
	enum nm_move_status st = nm_migrate(&d->cfg, mr, res, err);
	char why[NM_ERRLEN];

	if (st != NM_MOVE_REFUSED || mr->mode != NM_MODE_LIVE)
		return st;
	snprintf(why, sizeof(why), "live refused (%s): moved back frozen", err);
	nm_log(LOG_NOTICE, "%s: %s", mr->what, why);
	json_object_set_new(r, "note", json_string(why));
	json_decref(*res);
	*res = NULL;
	mr->mode = NM_MODE_FROZEN;
	mr->slurm_job = 0;
	mr->live_started = NULL;
	err[0] = '\0';
	return nm_migrate(&d->cfg, mr, res, err);
}

/* Moves job @job's @pids back along @w; *@done when it did. */
static void move_back(struct restoring *rs, struct nm_daemon *d,
		      uint64_t job, pid_t *pids, int n, struct way_back *w,
		      json_t *r, bool *done)
{
	struct nm_move_req mr = {
		.caller = 0,
		.privileged = true,
		.engine = d->cfg.engine,
		.memory_only_targets = true,
		.priority = true,
		.target = { .kind = NM_TARGET_MAP, .old_nodes = w->from,
			    .new_nodes = w->to },
		.os_map = w->os_map,
		.pids = pids,
		.npids = n,
		.mode = rs->live ? NM_MODE_LIVE : NM_MODE_FROZEN,
		/* Live: the job runs again meanwhile; a suspend of it by a
		   later preemption outlasts the final pass's thaw. */
		.slurm_job = rs->live ? job : 0,
		.live_started = rs->live ? live_started : NULL,
		.live_arg = rs,
	};
	char err[NM_ERRLEN] = "", what[64];
	enum nm_move_status st;
	json_t *res = NULL;

	if (!w->injective) {
		/* Nodes were merged: the planner splits them back. */
		mr.target.kind = NM_TARGET_NODES;
		nm_bitmap_zero(&mr.target.old_nodes);
		mr.os_map = NULL;
		json_object_set_new(r, "note", json_string(
			"nodes had been merged: the planner chose the way "
			"back"));
	}
	snprintf(what, sizeof(what), "restore of job %llu",
		 (unsigned long long)job);
	mr.what = what;
	rs->current = r;
	st = migrate_back(d, &mr, &res, r, err);
	rs->current = NULL;
	if (res) {
		json_object_set_new(r, "result", nm_repack_move_summary(res));
		json_decref(res);
	}
	*done = st == NM_MOVE_OK;
	json_object_set_new(r, "restored", json_boolean(*done));
	if (st != NM_MOVE_OK) {
		json_object_set_new(r, "reason", json_string(err));
		json_object_set_new(r, "code",
				    json_string(nm_move_status_code(st)));
	}
}

/* Moves one evacuated job @e back.  *@done: drop it from the record. */
static json_t *restore_one(struct restoring *rs, struct nm_daemon *d,
			   json_t *e, const struct busy *busy, bool *done)
{
	static struct way_back w;	/* under nm_repack_lock() */
	uint64_t job = (uint64_t)json_integer_value(json_object_get(e, "job"));
	struct nm_bitmap clash;
	char err[NM_ERRLEN] = "", b[256];
	int n;
	json_t *r = json_pack("{s:I}", "job", (json_int_t)job);
	pid_t *pids = live_pids(json_object_get(e, "tasks"), &n);

	*done = false;
	if (!r || !pids) {
		free(pids);
		json_decref(r);
		return NULL;
	}
	if (!n) {
		*done = true;
		not_restored(r, "its processes have exited");
		goto out;
	}
	inverse_map(json_object_get(e, "map"), &w);
	json_object_set_new(r, "from", json_string(nm_repack_list(&w.from, b,
								   sizeof(b))));
	json_object_set_new(r, "to", json_string(nm_repack_list(&w.to, b,
								 sizeof(b))));
	if (nm_bitmap_empty(&w.from)) {
		*done = true;
		not_restored(r, "nothing moved");
		goto out;
	}
	clash = w.to;
	nm_bitmap_and(&clash, &busy->nodes);
	if (busy->known && !nm_bitmap_empty(&clash)) {
		nm_seterr(err, "nodes %s are in use by running jobs: left "
			  "where it is (restore again later)",
			  nm_repack_list(&clash, b, sizeof(b)));
		not_restored(r, err);
		goto out;
	}
	move_back(rs, d, job, pids, n, &w, r, done);
out:
	free(pids);
	return r;
}

/*
 * Nodes running jobs use; unknown (logged) when Slurm or the topology
 * (@t NULL, @err says why) cannot say: then it restores anyway.
 */
static void find_busy(struct nm_daemon *d, uint64_t job,
		      const struct nm_topology *t, struct busy *busy,
		      char *err)
{
	char node[128];

	nm_bitmap_zero(&busy->nodes);
	busy->known = t && nm_slurm_local_node(d->cfg.slurm_node, node,
					       sizeof(node), err) == 0 &&
		      nm_repack_busy_nodes(t, node, job, &busy->nodes,
					   err) == 0;
	if (!busy->known)
		nm_log(LOG_WARNING, "restore for job %llu: cannot tell which "
		       "nodes running jobs use (%s): restoring anyway",
		       (unsigned long long)job, err);
}

/* Every job in @rec back; those not done go to @left.  Returns how many. */
static int restore_all(struct restoring *rs, struct nm_daemon *d,
		       uint64_t job, json_t *rec, const struct busy *busy,
		       json_t *results, json_t *left)
{
	json_t *ev = json_object_get(rec, "evacuated"), *e;
	int nrestored = 0;
	size_t i;

	json_array_foreach(ev, i, e) {
		bool done, ok;
		json_t *one;

		rs->last = i + 1 == json_array_size(ev);
		one = restore_one(rs, d, e, busy, &done);

		if (!one)
			one = json_pack("{s:b, s:s}", "restored", 0, "reason",
					"out of memory");
		if (!done)
			json_array_append(left, e);
		ok = json_is_true(json_object_get(one, "restored"));
		nrestored += ok;
		nm_log(ok ? LOG_INFO : LOG_NOTICE, "restore for job %llu: job "
		       "%lld: %s%s", (unsigned long long)job,
		       json_integer_value(json_object_get(e, "job")),
		       ok ? "moved back" : "not moved back: ",
		       json_string_value(json_object_get(one, "reason")) ?: "");
		json_array_append_new(results, one);
	}
	return nrestored;
}

/* Keeps what is @left in the record, or drops the record. */
static void keep_left(struct nm_daemon *d, uint64_t job, json_t *rec,
		      json_t *left, json_t *r)
{
	char err[NM_ERRLEN], path[700];
	const char *dir = d->cfg.journal_dir;

	if (!json_array_size(left)) {
		if (nm_repack_store_drop(dir, job, err) < 0)
			nm_log(LOG_ERR, "restore for job %llu: %s",
			       (unsigned long long)job, err);
		return;
	}
	json_object_set(rec, "evacuated", left);
	if (nm_repack_store_put(dir, job, rec, path, sizeof(path), err) < 0)
		nm_log(LOG_ERR, "restore for job %llu: %s",
		       (unsigned long long)job, err);
	json_object_set_new(r, "left", json_integer(
		(json_int_t)json_array_size(left)));
}

/* The end of a restore that answered early, logged. */
static void log_live_end(const struct restoring *rs, int nrestored)
{
	if (!rs->answered)
		return;
	nm_log(LOG_INFO, "restore for job %llu: live restore ended after "
	       "%.3f s (answered after %.3f s), %d job(s) moved back",
	       (unsigned long long)rs->job, nm_now_seconds() - rs->t0,
	       rs->t_answer, nrestored);
}

json_t *nm_op_restore(struct nm_daemon *d, const struct nm_caller *who,
		      const struct nm_request *req, nm_answer_fn answer,
		      void *arg)
{
	struct restoring rs = {
		.job = req->job, .live = d->cfg.restore_mode == NM_MODE_LIVE,
		.answer = answer, .arg = arg, .t0 = nm_now_seconds(),
	};
	struct nm_topology *t;
	struct busy busy;
	char err[NM_ERRLEN] = "";
	json_t *r, *results, *rec, *left;
	int nrestored;

	if (!nm_repack_begin(who, req, &r, &results))
		return r;
	rs.reply = r;
	rec = nm_repack_store_get(req->job);
	if (!rec) {
		not_restored(r, "nothing was evacuated for this job here");
		nm_repack_unlock();
		return r;
	}
	t = nm_repack_topology(d, err);
	find_busy(d, req->job, t, &busy, err);
	left = json_array();
	nrestored = restore_all(&rs, d, req->job, rec, &busy, results, left);
	keep_left(d, req->job, rec, left, r);
	json_object_set_new(r, "restored", json_boolean(nrestored > 0));
	log_live_end(&rs, nrestored);
	json_decref(left);
	nm_topology_free(t);
	nm_repack_unlock();
	return r;
}
