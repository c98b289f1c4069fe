/* SPDX-License-Identifier: MIT */
/*
 * Preemption by suspension: a preemptor's prolog asks to move suspended
 * jobs' memory off its NUMA nodes (repack), its epilog to move them back
 * (restore).  The design is in helper/REPACK.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/linux/atomic_file.h"
#include "lib/linux/cgroup.h"
#include "helper/engine/freezer.h"
#include "lib/base/file.h"
#include "lib/core/job.h"
#include "lib/linux/job_proc.h"
#include "lib/core/topology.h"
#include "helper/daemon/log.h"
#include "helper/daemon/migrate.h"
#include "lib/linux/proc.h"
#include "helper/daemon/repack.h"
#include "helper/daemon/repack_record.h"
#include "helper/site/slurm_info.h"

#define REC_PREFIX "repack-"
#define REC_SUFFIX ".json"
/* A task is some 30 bytes: room for a million. */
#define REC_MAX ((size_t)64 << 20)

/* Repacks and restores run one at a time: prologs wait for each other. */
static pthread_mutex_t repack_lock = PTHREAD_MUTEX_INITIALIZER;
/* Preemptor id (decimal) -> its record (see record_path()). */
static json_t *records;

static json_t *denied(const struct nm_caller *who,
		      const struct nm_request *req)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "permission denied: %s is for root and "
		 "the Slurm user only", nm_op_name(req->op));
	nm_log(LOG_NOTICE, "%s from uid %u (%s): denied: %s",
	       nm_op_name(req->op), (unsigned int)who->uid, who->peer, msg);
	return nm_reply_error("denied", msg);
}

static json_t *fail_reply(const struct nm_caller *who,
			  const struct nm_request *req, const char *code,
			  const char *msg)
{
	nm_log(LOG_WARNING, "%s from uid %u (%s): %s: %s", nm_op_name(req->op),
	       (unsigned int)who->uid, who->peer, code, msg);
	return nm_reply_error(code, msg);
}

static const char *list_str(const struct nm_bitmap *b, char *buf, size_t len)
{
	if (nm_list_format(b, buf, len) >= len)
		snprintf(buf, len, "(long list)");
	return buf;
}

/* ---- policy ------------------------------------------------------------- */

json_t *nm_op_policy(struct nm_daemon *d, const struct nm_caller *who,
		     const struct nm_request *req)
{
	char err[NM_ERRLEN], nodes[256] = "";
	json_t *r;

	if (!who->privileged)
		return denied(who, req);
	if (nm_registry_set_policy(d->reg, req->job, req->policy,
				   &req->policy_nodes, err) < 0)
		return fail_reply(who, req, "refused", err);
	if (req->policy == NM_POLICY_NODES)
		list_str(&req->policy_nodes, nodes, sizeof(nodes));
	nm_log(LOG_INFO, "policy from uid %u (%s): job %llu: %s%s%s",
	       (unsigned int)who->uid, who->peer,
	       (unsigned long long)req->job, nm_policy_name(req->policy),
	       nodes[0] ? " " : "", nodes);
	r = nm_reply_ok();
	json_object_set_new(r, "job", json_integer((json_int_t)req->job));
	json_object_set_new(r, "policy",
			    json_string(nm_policy_name(req->policy)));
	if (nodes[0])
		json_object_set_new(r, "nodes", json_string(nodes));
	return r;
}

/* ---- records ------------------------------------------------------------ */

static void record_path(const char *dir, uint64_t job, char *buf, size_t len)
{
	snprintf(buf, len, "%s/" REC_PREFIX "%llu" REC_SUFFIX, dir,
		 (unsigned long long)job);
}

/* Writes @rec atomically; NULL @rec removes it (both survive a crash). */
static int record_save(const char *dir, uint64_t job, json_t *rec, char *err)
{
	char path[700];
	char *s;
	int rc;

	record_path(dir, job, path, sizeof(path));
	if (!rec)
		return nm_atomic_remove(path, err);
	s = json_dumps(rec, JSON_COMPACT);
	if (!s) {
		nm_seterr(err, "out of memory");
		return -1;
	}
	rc = nm_atomic_write(path, s, strlen(s), 0600, err);
	free(s);
	return rc;
}

int nm_repack_load(const char *dir, char *err)
{
	struct dirent *de;
	DIR *dp;
	int n = 0;

	pthread_mutex_lock(&repack_lock);
	if (!records)
		records = json_object();
	dp = opendir(dir);
	if (!dp || !records) {
		nm_seterr(err, "%s: %s", dir, dp ? "out of memory" :
			  strerror(errno));
		if (dp)
			closedir(dp);
		pthread_mutex_unlock(&repack_lock);
		return -1;
	}
	while ((de = readdir(dp))) {
		size_t len = strlen(de->d_name);
		char path[700], msg[NM_ERRLEN], key[32], *text;
		json_t *rec = NULL;
		size_t tlen;
		uint64_t job;

		if (strncmp(de->d_name, REC_PREFIX, strlen(REC_PREFIX)) ||
		    len <= strlen(REC_SUFFIX) ||
		    strcmp(de->d_name + len - strlen(REC_SUFFIX), REC_SUFFIX))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		text = nm_read_file(path, REC_MAX, &tlen);
		if (text) {
			rec = nm_repack_record_parse(text, tlen, &job, msg);
			free(text);
		} else {
			nm_seterr(msg, "%s", errno == EFBIG ? "larger than "
				  "64 MiB" : strerror(errno));
		}
		if (!rec) {
			nm_log(LOG_ERR, "repack record %s: %s (kept, not "
			       "used)", path, msg);
			continue;
		}
		snprintf(key, sizeof(key), "%llu", (unsigned long long)job);
		json_object_set_new(records, key, rec);
		nm_log(LOG_NOTICE, "repack record for job %llu: %zu job(s) "
		       "to move back when it ends", (unsigned long long)job,
		       json_array_size(json_object_get(rec, "evacuated")));
		n++;
	}
	closedir(dp);
	pthread_mutex_unlock(&repack_lock);
	return n;
}

/* ---- shared helpers ------------------------------------------------------ */

/* NUMA nodes (OS numbers) of @cpus. */
static void cpus_to_nodes(const struct nm_topology *t,
			  const struct nm_bitmap *cpus, struct nm_bitmap *nodes)
{
	int c;

	nm_bitmap_zero(nodes);
	nm_bitmap_foreach(c, cpus) {
		int n = nm_topology_cpu_node(t, c);

		if (n >= 0)
			nm_bitmap_set(nodes, (unsigned int)t->nodes[n].os);
	}
}

/* Nodes (OS numbers) the RUNNING Slurm jobs other than @except use here. */
static int running_nodes(const struct nm_topology *t, const char *node,
			 uint64_t except, struct nm_bitmap *out, char *err)
{
	struct nm_bitmap cpus;

	if (nm_slurm_running_cpus(node, except, &cpus, err) < 0)
		return -1;
	cpus_to_nodes(t, &cpus, out);
	return 0;
}

static json_t *move_summary(json_t *res)
{
	static const char *const keep[] = {
		"bytes_moved", "pages_moved", "pages_failed", "frozen_seconds",
		"seconds", "was_stopped", "cpu_map", "tasks_exited", "errors",
		NULL };
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

/* ---- repack -------------------------------------------------------------- */

struct victim {
	uint64_t job;
	pid_t *pids;
	unsigned long long *starts;
	int npids;
};

static int victim_tasks(struct nm_daemon *d, uint64_t job, struct victim *v,
			char *err)
{
	struct nm_reg_task *tasks;
	int n;

	memset(v, 0, sizeof(*v));
	v->job = job;
	if (nm_registry_list(d->reg, job, (uid_t)-1, &tasks, &n, err) < 0)
		return -1;
	v->pids = calloc((size_t)n + 1, sizeof(*v->pids));
	v->starts = calloc((size_t)n + 1, sizeof(*v->starts));
	if (!v->pids || !v->starts) {
		free(tasks);
		nm_seterr(err, "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		v->pids[i] = tasks[i].pid;
		v->starts[i] = tasks[i].starttime;
	}
	v->npids = n;
	free(tasks);
	return 0;
}

static void victim_free(struct victim *v)
{
	free(v->pids);
	free(v->starts);
}

/*
 * Suspended: Slurm says so, or every registered process is stopped (as
 * SIGSTOP/SIGTSTP leave it).  @why says which, or why not.
 */
static bool is_suspended(const struct victim *v, char *why, size_t len)
{
	struct nm_slurm_job sj;
	char err[NM_ERRLEN];
	bool slurm_known = nm_slurm_job(v->job, &sj, err) == 0;
	int stopped = 0;

	if (slurm_known && sj.state == NM_SLURM_SUSPENDED) {
		snprintf(why, len, "Slurm state SUSPENDED");
		return true;
	}
	for (int i = 0; i < v->npids; i++) {
		pid_t tid;

		if (nm_process_stopped(v->pids[i], &tid, err) == 1)
			stopped++;
	}
	if (v->npids && stopped == v->npids) {
		snprintf(why, len, "all %d processes stopped", v->npids);
		return true;
	}
	snprintf(why, len, "not suspended (%s%s; %d of %d processes "
		 "stopped)", slurm_known ? "Slurm state " : "not a Slurm job "
		 "Slurm knows", slurm_known ? sj.state_name : "", stopped,
		 v->npids);
	return false;
}

/*
 * Held by Slurm: stopped by a signal, or in a FROZEN cgroup (its own or an
 * ancestor's).  FREEZING is not enough: a task may still run.
 */
static bool process_held(pid_t pid)
{
	enum nm_freeze_state st;
	char err[NM_ERRLEN];

	return nm_process_freeze_state(pid, &st, err) == 0 &&
	       st == NM_FROZEN;
}

/*
 * Slurm marks a job SUSPENDED and runs the preemptor's prolog first; it
 * stops or freezes the job's processes only after its suspend grace time
 * (SIGTSTP at once, SIGSTOP or the freezer ~2 s later).  A move started
 * in between would find the job running, freeze it itself, and thaw it at
 * the end, undoing Slurm's freeze where both use the same cgroup (v1).
 * So the move waits, a bounded time, until Slurm holds every process.
 */
#define HOLD_WAIT_MS 20000

static bool wait_held(const struct victim *v)
{
	struct timespec ts = { 0, 100 * 1000000L };

	for (int waited = 0;; waited += 100) {
		int i;

		for (i = 0; i < v->npids && process_held(v->pids[i]); i++)
			;
		if (i == v->npids)
			return true;
		if (waited >= HOLD_WAIT_MS)
			return false;
		nanosleep(&ts, NULL);
	}
}

/* The victim's memory nodes (OS numbers) on @t, from its processes. */
static int victim_nodes(const struct nm_topology *t, const struct victim *v,
			struct nm_bitmap *out, char *err)
{
	struct nm_job *job;
	pid_t *all = NULL;
	int nall = 0, n;

	nm_bitmap_zero(out);
	if (nm_proc_descendants(v->pids, v->npids, &all, &nall, err) < 0)
		return -1;
	job = nm_job_from_pids(all, nall, t, err);
	free(all);
	if (!job)
		return -1;
	nm_bitmap_foreach(n, &job->nodes)
		if (job->node_bytes[n])
			nm_bitmap_set(out, (unsigned int)t->nodes[n].os);
	nm_job_free(job);
	return 0;
}

/* Adds what was moved for @v to @rec's evacuated list. */
static void record_add(json_t *rec, const struct victim *v, json_t *map)
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

/* One victim: decide, and move it when it should go.  Returns its result. */
static json_t *repack_one(struct nm_daemon *d, const struct nm_topology *t,
			  const struct victim *v,
			  const struct nm_bitmap *pre_nodes,
			  const struct nm_bitmap *busy, json_t *rec,
			  bool *moved)
{
	struct nm_move_req mr = {
		.caller = 0,
		.privileged = true,
		.engine = d->cfg.engine,
		.memory_only_targets = true,
	};
	enum nm_policy pol = d->cfg.default_policy;
	struct nm_bitmap pol_nodes, have, overlap, to;
	char err[NM_ERRLEN] = "", why[160], what[64], b1[256], b2[256];
	enum nm_move_status st;
	json_t *r, *res = NULL;
	int n;

	*moved = false;
	nm_bitmap_zero(&pol_nodes);
	nm_registry_get_policy(d->reg, v->job, &pol, &pol_nodes);
	r = json_pack("{s:I, s:s}", "job", (json_int_t)v->job, "policy",
		      nm_policy_name(pol));
	if (!r)
		return NULL;
	if (!is_suspended(v, why, sizeof(why))) {
		json_object_set_new(r, "suspended", json_false());
		json_object_set_new(r, "moved", json_false());
		json_object_set_new(r, "reason", json_string(why));
		return r;
	}
	json_object_set_new(r, "suspended", json_true());
	json_object_set_new(r, "suspended_because", json_string(why));
	if (pol == NM_POLICY_NEVER) {
		nm_seterr(err, "its policy is never");
		goto not_moved;
	}
	if (victim_nodes(t, v, &have, err) < 0)
		goto not_moved;
	json_object_set_new(r, "from", json_string(list_str(&have, b1,
							     sizeof(b1))));
	overlap = have;
	nm_bitmap_and(&overlap, pre_nodes);
	if (nm_bitmap_empty(&overlap)) {
		nm_seterr(err, "no memory on nodes %s", list_str(pre_nodes, b2,
								 sizeof(b2)));
		goto not_moved;
	}
	/*
	 * Where it may go: nodes with no running job's CPUs and not the
	 * preemptor's, plus memory-only nodes; within its policy's nodes.
	 * Its own nodes off the preemptor's count as free (it is suspended).
	 */
	nm_bitmap_zero(&to);
	for (n = 0; n < t->nnodes; n++) {
		unsigned int os = (unsigned int)t->nodes[n].os;

		if (nm_bitmap_test(pre_nodes, os))
			continue;
		if (!t->nodes[n].memory_only && nm_bitmap_test(busy, os))
			continue;
		if (pol == NM_POLICY_NODES && !nm_bitmap_test(&pol_nodes, os))
			continue;
		nm_bitmap_set(&to, os);
	}
	if (nm_bitmap_empty(&to)) {
		nm_seterr(err, "nowhere to move: every node but the "
			  "preemptor's (%s) is in use by running jobs%s%s",
			  list_str(pre_nodes, b2, sizeof(b2)),
			  pol == NM_POLICY_NODES ? " or outside its policy's "
			  "nodes " : "", pol == NM_POLICY_NODES ?
			  list_str(&pol_nodes, b1, sizeof(b1)) : "");
		goto not_moved;
	}
	json_object_set_new(r, "to", json_string(list_str(&to, b1,
							   sizeof(b1))));
	mr.target.kind = NM_TARGET_NODES;
	mr.target.new_nodes = to;
	mr.pids = v->pids;
	mr.npids = v->npids;
	snprintf(what, sizeof(what), "suspended job %llu",
		 (unsigned long long)v->job);
	mr.what = what;
	if (!wait_held(v))
		nm_log(LOG_WARNING, "repack: %s: Slurm has not stopped or "
		       "frozen all its processes after %d s; moving it anyway",
		       what, HOLD_WAIT_MS / 1000);
	st = nm_migrate(&d->cfg, &mr, &res, err);
	if (res) {
		json_t *map = json_object_get(json_object_get(res, "plan"),
					      "map");

		json_object_set_new(r, "result", move_summary(res));
		/*
		 * A move that started is recorded, even a partial one:
		 * restore undoes whatever of it happened.
		 */
		if (map && map_moves(map) &&
		    (st == NM_MOVE_OK || st == NM_MOVE_FAILED)) {
			record_add(rec, v, map);
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
not_moved:
	json_object_set_new(r, "moved", json_false());
	json_object_set_new(r, "reason", json_string(err));
	return r;
}

static json_t *repack_nothing(json_t *r, const char *reason,
			      const struct nm_request *req)
{
	nm_log(LOG_NOTICE, "repack for job %llu: nothing moved: %s",
	       (unsigned long long)req->job, reason);
	json_object_set_new(r, "moved", json_false());
	json_object_set_new(r, "reason", json_string(reason));
	return r;
}

json_t *nm_op_repack(struct nm_daemon *d, const struct nm_caller *who,
		     const struct nm_request *req)
{
	struct nm_topology *t = NULL;
	struct nm_bitmap cpus, pre_nodes, busy;
	char err[NM_ERRLEN], node[128], b[256], key[32];
	uint64_t *jobs = NULL;
	json_t *r, *results, *rec = NULL, *old;
	int njobs = 0, nmoved = 0, nvictims = 0;

	if (!who->privileged)
		return denied(who, req);
	r = nm_reply_ok();
	if (!r)
		return NULL;
	json_object_set_new(r, "job", json_integer((json_int_t)req->job));
	results = json_array();
	json_object_set_new(r, "jobs", results);
	pthread_mutex_lock(&repack_lock);
	t = nm_topology_load(d->cfg.test_topology[0] ? d->cfg.test_topology :
			     NULL, err);
	if (!t) {
		r = repack_nothing(r, err, req);
		goto out;
	}
	if (nm_slurm_local_node(d->cfg.slurm_node, node, sizeof(node),
				err) < 0 ||
	    nm_slurm_job_cpus(req->job, node, &cpus, err) < 0) {
		r = repack_nothing(r, err, req);
		goto out;
	}
	json_object_set_new(r, "node", json_string(node));
	cpus_to_nodes(t, &cpus, &pre_nodes);
	json_object_set_new(r, "cpus", json_string(list_str(&cpus, b,
							     sizeof(b))));
	json_object_set_new(r, "nodes", json_string(list_str(&pre_nodes, b,
							      sizeof(b))));
	if (nm_bitmap_empty(&pre_nodes)) {
		nm_seterr(err, "Slurm CPUs %.100s of job %llu are on no NUMA "
			  "node of this machine", list_str(&cpus, b,
			  sizeof(b)), (unsigned long long)req->job);
		r = repack_nothing(r, err, req);
		goto out;
	}
	if (running_nodes(t, node, req->job, &busy, err) < 0) {
		r = repack_nothing(r, err, req);
		goto out;
	}
	json_object_set_new(r, "busy_nodes", json_string(list_str(&busy, b,
								   sizeof(b))));
	if (nm_registry_jobs(d->reg, &jobs, &njobs, err) < 0) {
		r = repack_nothing(r, err, req);
		goto out;
	}
	snprintf(key, sizeof(key), "%llu", (unsigned long long)req->job);
	if (!records)
		records = json_object();
	old = records ? json_object_get(records, key) : NULL;
	rec = old ? json_deep_copy(old) : json_pack("{s:i, s:I, s:[]}",
		"version", 1, "job", (json_int_t)req->job, "evacuated");
	for (int i = 0; rec && i < njobs; i++) {
		struct victim v;
		bool moved;
		json_t *one;

		if (jobs[i] == req->job)
			continue;
		if (victim_tasks(d, jobs[i], &v, err) < 0) {
			one = json_pack("{s:I, s:b, s:s}", "job",
					(json_int_t)jobs[i], "moved", 0,
					"reason", err);
		} else {
			one = repack_one(d, t, &v, &pre_nodes, &busy, rec,
					 &moved);
			nmoved += moved;
		}
		victim_free(&v);
		if (json_is_true(json_object_get(one, "suspended")))
			nvictims++;
		nm_log(json_is_true(json_object_get(one, "moved")) ?
		       LOG_INFO : LOG_NOTICE, "repack for job %llu: job %llu: "
		       "%s%s%s", (unsigned long long)req->job,
		       (unsigned long long)jobs[i],
		       json_is_true(json_object_get(one, "moved")) ? "moved "
		       "to nodes " : "not moved: ",
		       json_is_true(json_object_get(one, "moved")) ?
		       json_string_value(json_object_get(one, "to")) :
		       json_string_value(json_object_get(one, "reason")) ?: "",
		       "");
		json_array_append_new(results, one);
	}
	if (!rec || !records) {
		r = repack_nothing(r, "out of memory", req);
		goto out;
	}
	if (nmoved) {
		char path[700];

		record_path(d->cfg.journal_dir, req->job, path, sizeof(path));
		if (record_save(d->cfg.journal_dir, req->job, rec, err) < 0)
			nm_log(LOG_ERR, "repack for job %llu: cannot record "
			       "the evacuation (a restart loses it): %s",
			       (unsigned long long)req->job, err);
		json_object_set(records, key, rec);
		json_object_set_new(r, "record", json_string(path));
	}
	json_object_set_new(r, "moved", json_boolean(nmoved > 0));
	if (!nmoved)
		json_object_set_new(r, "reason", json_string(
			nvictims ? "no suspended job could be moved (see jobs)"
				 : "no suspended job with registered tasks "
				   "on this host"));
	nm_log(LOG_INFO, "repack for job %llu (nodes %s): %d suspended "
	       "job(s), %d moved", (unsigned long long)req->job,
	       list_str(&pre_nodes, b, sizeof(b)), nvictims, nmoved);
out:
	json_decref(rec);
	free(jobs);
	nm_topology_free(t);
	pthread_mutex_unlock(&repack_lock);
	return r;
}

/* ---- restore ------------------------------------------------------------- */

/* Moves one evacuated job back.  *@done: drop it from the record. */
static json_t *restore_one(struct nm_daemon *d, const struct nm_topology *t,
			   json_t *e, const struct nm_bitmap *busy,
			   bool busy_known, bool *done)
{
	static int os_map[NM_MAX_NODES];
	struct nm_move_req mr = {
		.caller = 0,
		.privileged = true,
		.engine = d->cfg.engine,
		.memory_only_targets = true,
	};
	json_t *map = json_object_get(e, "map"), *tasks, *t1, *v, *res = NULL;
	uint64_t job = (uint64_t)json_integer_value(json_object_get(e, "job"));
	struct nm_bitmap from, to, clash;
	char err[NM_ERRLEN] = "", what[64], b[256];
	pid_t *pids;
	enum nm_move_status st;
	bool injective = true;
	const char *k;
	size_t i;
	int n = 0;
	json_t *r;

	*done = false;
	r = json_pack("{s:I}", "job", (json_int_t)job);
	tasks = json_object_get(e, "tasks");
	pids = calloc(json_array_size(tasks) + 1, sizeof(*pids));
	if (!r || !pids) {
		free(pids);
		json_decref(r);
		return NULL;
	}
	json_array_foreach(tasks, i, t1) {
		pid_t pid = (pid_t)json_integer_value(json_array_get(t1, 0));

		if (nm_proc_same(pid, (unsigned long long)json_integer_value(
					json_array_get(t1, 1))))
			pids[n++] = pid;
	}
	if (!n) {
		*done = true;
		json_object_set_new(r, "restored", json_false());
		json_object_set_new(r, "reason", json_string(
			"its processes have exited"));
		goto out;
	}
	/* The inverse: where each node's pages went, back to that node. */
	for (i = 0; i < NM_MAX_NODES; i++)
		os_map[i] = -1;
	nm_bitmap_zero(&from);
	nm_bitmap_zero(&to);
	json_object_foreach(map, k, v) {
		int a = atoi(k), z = (int)json_integer_value(v);

		if (a == z)
			continue;
		if (os_map[z] >= 0)
			injective = false;
		os_map[z] = a;
		nm_bitmap_set(&from, (unsigned int)z);
		nm_bitmap_set(&to, (unsigned int)a);
	}
	json_object_set_new(r, "from", json_string(list_str(&from, b,
							     sizeof(b))));
	json_object_set_new(r, "to", json_string(list_str(&to, b, sizeof(b))));
	if (nm_bitmap_empty(&from)) {
		*done = true;
		json_object_set_new(r, "restored", json_false());
		json_object_set_new(r, "reason", json_string("nothing moved"));
		goto out;
	}
	clash = to;
	nm_bitmap_and(&clash, busy);
	if (busy_known && !nm_bitmap_empty(&clash)) {
		nm_seterr(err, "nodes %s are in use by running jobs: left "
			  "where it is (restore again later)",
			  list_str(&clash, b, sizeof(b)));
		json_object_set_new(r, "restored", json_false());
		json_object_set_new(r, "reason", json_string(err));
		goto out;
	}
	if (injective) {
		mr.target.kind = NM_TARGET_MAP;
		mr.target.old_nodes = from;
		mr.target.new_nodes = to;
		mr.os_map = os_map;
	} else {
		/* Nodes were merged: the planner splits them back. */
		mr.target.kind = NM_TARGET_NODES;
		mr.target.new_nodes = to;
		json_object_set_new(r, "note", json_string(
			"nodes had been merged: the planner chose the way "
			"back"));
	}
	(void)t;
	mr.pids = pids;
	mr.npids = n;
	snprintf(what, sizeof(what), "restore of job %llu",
		 (unsigned long long)job);
	mr.what = what;
	st = nm_migrate(&d->cfg, &mr, &res, err);
	if (res) {
		json_object_set_new(r, "result", move_summary(res));
		json_decref(res);
	}
	*done = st == NM_MOVE_OK;
	json_object_set_new(r, "restored", json_boolean(*done));
	if (st != NM_MOVE_OK) {
		json_object_set_new(r, "reason", json_string(err));
		json_object_set_new(r, "code",
				    json_string(nm_move_status_code(st)));
	}
out:
	free(pids);
	return r;
}

json_t *nm_op_restore(struct nm_daemon *d, const struct nm_caller *who,
		      const struct nm_request *req)
{
	struct nm_topology *t = NULL;
	struct nm_bitmap busy;
	char err[NM_ERRLEN], key[32], node[128];
	json_t *r, *results, *rec, *ev, *left = NULL, *e;
	bool busy_known = false;
	int nrestored = 0;
	size_t i;

	if (!who->privileged)
		return denied(who, req);
	r = nm_reply_ok();
	if (!r)
		return NULL;
	json_object_set_new(r, "job", json_integer((json_int_t)req->job));
	results = json_array();
	json_object_set_new(r, "jobs", results);
	pthread_mutex_lock(&repack_lock);
	snprintf(key, sizeof(key), "%llu", (unsigned long long)req->job);
	rec = records ? json_object_get(records, key) : NULL;
	if (!rec) {
		json_object_set_new(r, "restored", json_false());
		json_object_set_new(r, "reason", json_string(
			"nothing was evacuated for this job here"));
		goto out;
	}
	t = nm_topology_load(d->cfg.test_topology[0] ? d->cfg.test_topology :
			     NULL, err);
	nm_bitmap_zero(&busy);
	if (t && nm_slurm_local_node(d->cfg.slurm_node, node, sizeof(node),
				     err) == 0 &&
	    running_nodes(t, node, req->job, &busy, err) == 0)
		busy_known = true;
	else
		nm_log(LOG_WARNING, "restore for job %llu: cannot tell which "
		       "nodes running jobs use (%s): restoring anyway",
		       (unsigned long long)req->job, err);
	ev = json_object_get(rec, "evacuated");
	left = json_array();
	json_array_foreach(ev, i, e) {
		bool done;
		json_t *one = restore_one(d, t, e, &busy, busy_known, &done);

		if (!one)
			one = json_pack("{s:b, s:s}", "restored", 0, "reason",
					"out of memory");
		if (!done)
			json_array_append(left, e);
		nrestored += json_is_true(json_object_get(one, "restored"));
		nm_log(json_is_true(json_object_get(one, "restored")) ?
		       LOG_INFO : LOG_NOTICE, "restore for job %llu: job %lld: "
		       "%s%s", (unsigned long long)req->job,
		       json_integer_value(json_object_get(e, "job")),
		       json_is_true(json_object_get(one, "restored")) ?
		       "moved back" : "not moved back: ",
		       json_string_value(json_object_get(one, "reason")) ?: "");
		json_array_append_new(results, one);
	}
	if (json_array_size(left)) {
		json_object_set(rec, "evacuated", left);
		if (record_save(d->cfg.journal_dir, req->job, rec, err) < 0)
			nm_log(LOG_ERR, "restore for job %llu: %s",
			       (unsigned long long)req->job, err);
		json_object_set_new(r, "left", json_integer(
			(json_int_t)json_array_size(left)));
	} else {
		if (record_save(d->cfg.journal_dir, req->job, NULL, err) < 0)
			nm_log(LOG_ERR, "restore for job %llu: %s",
			       (unsigned long long)req->job, err);
		json_object_del(records, key);
	}
	json_object_set_new(r, "restored", json_boolean(nrestored > 0));
out:
	json_decref(left);
	nm_topology_free(t);
	pthread_mutex_unlock(&repack_lock);
	return r;
}
