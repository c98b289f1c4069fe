/* SPDX-License-Identifier: MIT */
/* numamigrated's operations: what each request does. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#include "helper/daemon/authz.h"
#include "lib/linux/cgroup.h"
#include "helper/site/conf.h"
#include "helper/daemon/log.h"
#include "helper/daemon/thaw_retry.h"
#include "helper/daemon/migrate.h"
#include "lib/linux/mpi_ranks.h"
#include "helper/daemon/ops.h"
#include "lib/linux/proc.h"
#include "lib/linux/ptable.h"
#include "helper/daemon/priority.h"
#include "helper/daemon/status_procs.h"
#include "helper/daemon/repack.h"

static json_t *error_reply(const struct nm_caller *who,
			   const struct nm_request *req, const char *code,
			   const char *msg)
{
	json_t *r = nm_reply_error(code, msg);

	nm_log(!strcmp(code, "failed") ? LOG_WARNING : LOG_NOTICE,
	       "%s from uid %u (%s): %s: %s", nm_op_name(req->op),
	       (unsigned int)who->uid, who->peer, code, msg);
	return r ? r : json_pack("{s:i, s:b}", "version", NM_PROTO_VERSION,
				 "ok", 0);
}

static json_t *ok_reply(void)
{
	return nm_reply_ok();
}

static json_t *op_ping(const struct nm_caller *who)
{
	json_t *r = ok_reply();

	json_object_set_new(r, "daemon", json_string("numamigrated "
						      PACKAGE_VERSION));
	json_object_set_new(r, "uid", json_integer(who->uid));
	json_object_set_new(r, "privileged", json_boolean(who->privileged));
	return r;
}

/*
 * The processes of the job whose registered tasks are @tasks[0..n): the
 * tasks and their descendants in @sp's table, each with its MPI rank and
 * role (mpirun's ranks are not registered themselves), all as @sp holds
 * them.  NULL when they cannot be read.
 */
static json_t *job_processes(struct nm_status_procs *sp,
			     const struct nm_reg_task *tasks, int n)
{
	pid_t *reg = calloc((size_t)n, sizeof(*reg)), *all = NULL;
	enum nm_task_role *role = NULL;
	char err[NM_ERRLEN];
	int *rank = NULL, nall = 0;
	json_t *a = NULL;

	if (!reg)
		return NULL;
	for (int i = 0; i < n; i++)
		reg[i] = tasks[i].pid;
	if (!sp || nm_ptable_descendants(nm_status_procs_table(sp), reg, n,
					 &all, &nall, err) < 0)
		goto out;
	rank = calloc((size_t)nall, sizeof(*rank));
	role = calloc((size_t)nall, sizeof(*role));
	if (!rank || !role ||
	    nm_status_procs_ranks(sp, all, nall, rank, role) < 0)
		goto out;
	a = json_array();
	for (int i = 0; a && i < nall; i++)
		json_array_append_new(a, json_pack("{s:i, s:i, s:s}", "pid",
			(int)all[i], "rank", rank[i], "role",
			nm_task_role_name(role[i])));
out:
	free(reg);
	free(all);
	free(rank);
	free(role);
	return a;
}

/* The shared process table holding every one of @tasks; NULL if none. */
static struct nm_status_procs *status_table(const struct nm_reg_task *tasks,
					    int n)
{
	pid_t *pids = calloc((size_t)n, sizeof(*pids));
	struct nm_status_procs *sp = NULL;
	char err[NM_ERRLEN];

	if (!pids)
		return NULL;
	for (int i = 0; i < n; i++)
		pids[i] = tasks[i].pid;
	sp = nm_status_procs_get(pids, n, err);
	if (!sp)
		nm_log(LOG_WARNING, "status: no process table: %s", err);
	free(pids);
	return sp;
}

static json_t *op_status(struct nm_daemon *d, const struct nm_caller *who,
			 const struct nm_request *req)
{
	uid_t filter = who->privileged ? (uid_t)-1 : who->uid;
	struct nm_status_procs *sp = NULL;
	struct nm_reg_task *tasks;
	json_t *r, *a, *jobs;
	char err[NM_ERRLEN];
	int n;

	if (nm_registry_list_recent(d->reg, NM_NO_ID, filter,
				    NM_REGISTRY_LIST_AGE_MS, &tasks, &n,
				    err) < 0)
		return error_reply(who, req, "internal", err);
	/* One table of /proc for all the jobs, shared: status stays cheap. */
	if (n > 0)
		sp = status_table(tasks, n);
	r = ok_reply();
	a = json_array();
	jobs = json_array();
	for (int i = 0; i < n; i++) {
		json_array_append_new(a, nm_reg_task_json(&tasks[i]));
		if (tasks[i].job != NM_NO_ID &&
		    (i == 0 || tasks[i - 1].job != tasks[i].job)) {
			int k = i;

			while (k < n && tasks[k].job == tasks[i].job)
				k++;
			json_t *j = json_pack("{s:I, s:i, s:I}", "job",
					      (json_int_t)tasks[i].job,
					      "tasks", k - i, "uid",
					      (json_int_t)tasks[i].owner);
			json_t *procs = job_processes(sp, &tasks[i], k - i);

			if (j && procs)
				json_object_set_new(j, "processes", procs);
			else
				json_decref(procs);
			json_array_append_new(jobs, j);
		}
	}
	free(tasks);
	nm_status_procs_put(sp);
	json_object_set_new(r, "tasks", a);
	json_object_set_new(r, "jobs", jobs);
	json_object_set_new(r, "moves", nm_migrate_active(filter));
	json_object_set_new(r, "queue", nm_migrate_waiting(filter));
	/* Journals name no owner: the frozen list is for root/SlurmUser. */
	json_object_set_new(r, "frozen", who->privileged ?
			    nm_thaw_retry_list() : json_array());
	return r;
}

/* The pids of a cgroup directory, resolved so symlinks cannot escape. */
static int cgroup_pids(const char *dir, pid_t **pids, int *n, char *err)
{
	char real[PATH_MAX];

	if (!realpath(dir, real)) {
		nm_seterr(err, "cgroup %.200s: %s", dir, strerror(errno));
		return -1;
	}
	if (strncmp(real, "/sys/fs/cgroup/", 15) != 0) {
		nm_seterr(err, "cgroup %.200s: not under /sys/fs/cgroup/", dir);
		return -1;
	}
	if (nm_cgroup_pids(real, pids, n, err) < 0)
		return -1;
	if (*n == 0) {
		nm_seterr(err, "cgroup %.200s has no processes", dir);
		return -1;
	}
	return 0;
}

static json_t *op_register(struct nm_daemon *d, const struct nm_caller *who,
			   const struct nm_request *req)
{
	struct nm_reg_task *tasks = NULL;
	pid_t *cgpids = NULL;
	char err[NM_ERRLEN];
	const char *code = "bad_request";
	json_t *r = NULL;
	int n = req->ntasks;

	if (req->cgroup && cgroup_pids(req->cgroup, &cgpids, &n, err) < 0)
		goto fail;
	tasks = calloc((size_t)n, sizeof(*tasks));
	if (!tasks) {
		nm_seterr(err, "out of memory");
		code = "internal";
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		struct nm_proc_info pi;
		pid_t pid = cgpids ? cgpids[i] : req->tasks[i].pid;

		if (nm_proc_info(pid, &pi, err) < 0)
			goto fail;
		if (!who->privileged &&
		    nm_authz_owns(who->uid, &pid, 1, err) < 0) {
			code = "denied";
			goto fail;
		}
		if (!who->privileged && req->job != NM_NO_ID &&
		    nm_authz_job_tasks(who->uid, req->job, &pid, 1, err) < 0) {
			code = "denied";
			goto fail;
		}
		tasks[i].pid = pid;
		tasks[i].starttime = pi.starttime;
		tasks[i].rank = cgpids ? i : req->tasks[i].rank;
		tasks[i].job = req->job;
		tasks[i].step = req->step;
		tasks[i].owner = pi.uid[0];
		tasks[i].by = who->uid;
	}
	if (nm_registry_add(d->reg, tasks, n, err) < 0) {
		code = "refused";
		goto fail;
	}
	nm_log(LOG_INFO, "register from uid %u (%s): %d tasks%s%llu",
	       (unsigned int)who->uid, who->peer, n,
	       req->job != NM_NO_ID ? " of job " : "",
	       req->job != NM_NO_ID ? (unsigned long long)req->job : 0ULL);
	r = ok_reply();
	json_object_set_new(r, "registered", json_integer(n));
	goto out;
fail:
	r = error_reply(who, req, code, err);
out:
	free(tasks);
	free(cgpids);
	return r;
}

static json_t *op_unregister(struct nm_daemon *d, const struct nm_caller *who,
			     const struct nm_request *req)
{
	struct nm_reg_task *tasks;
	char err[NM_ERRLEN];
	json_t *r;
	int n, gone;

	if (nm_registry_list_recent(d->reg, req->job, (uid_t)-1,
				    NM_REGISTRY_LIST_AGE_MS, &tasks, &n,
				    err) < 0)
		return error_reply(who, req, "internal", err);
	/* Check everything first: all or nothing. */
	for (int i = 0; i < n; i++) {
		bool named = req->job != NM_NO_ID;

		for (int k = 0; k < req->npids; k++)
			named |= req->pids[k] == tasks[i].pid;
		if (named && !who->privileged && tasks[i].owner != who->uid) {
			nm_seterr(err, "permission denied: process %d is not "
				  "yours", (int)tasks[i].pid);
			free(tasks);
			return error_reply(who, req, "denied", err);
		}
	}
	free(tasks);
	gone = req->job != NM_NO_ID ?
	       nm_registry_remove_job(d->reg, req->job) :
	       nm_registry_remove_pids(d->reg, req->pids, req->npids);
	if (!gone)
		return error_reply(who, req, "refused",
				   "no registered task matches");
	nm_log(LOG_INFO, "unregister from uid %u (%s): %d tasks",
	       (unsigned int)who->uid, who->peer, gone);
	r = ok_reply();
	json_object_set_new(r, "unregistered", json_integer(gone));
	return r;
}

/*
 * A registered job's tasks, with the start times they were registered
 * with (a pid since recycled is then not the job's).  NULL, or the
 * reply's error code with @err.
 */
static const char *job_pids(struct nm_daemon *d, const struct nm_request *req,
			    struct nm_move_req *mr, char *err)
{
	struct nm_reg_task *tasks = NULL;
	pid_t *pids;
	unsigned long long *starts;
	int n = 0;

	if (nm_registry_list(d->reg, req->job, (uid_t)-1, &tasks, &n,
			     err) < 0)
		return "internal";
	if (!n) {
		free(tasks);
		nm_seterr(err, "job %llu has no registered tasks",
			  (unsigned long long)req->job);
		return "refused";
	}
	pids = calloc((size_t)n, sizeof(*pids));
	starts = calloc((size_t)n, sizeof(*starts));
	for (int i = 0; pids && starts && i < n; i++) {
		pids[i] = tasks[i].pid;
		starts[i] = tasks[i].starttime;
	}
	free(tasks);
	if (!pids || !starts) {
		free(pids);
		free(starts);
		nm_seterr(err, "out of memory");
		return "internal";
	}
	mr->pids = pids;
	mr->starts = starts;
	mr->npids = n;
	mr->slurm_job = req->job;
	return NULL;
}

/*
 * The processes a move request names (a registered job's, a cgroup's, or
 * the pids given) into @mr, and @what the move calls them.  NULL, or the
 * reply's error code with @err.
 */
static const char *move_pids(struct nm_daemon *d, const struct nm_request *req,
			     struct nm_move_req *mr, char *what, size_t len,
			     char *err)
{
	pid_t *pids;
	int n;

	if (req->job != NM_NO_ID) {
		snprintf(what, len, "job %llu", (unsigned long long)req->job);
		return job_pids(d, req, mr, err);
	}
	if (req->cgroup) {
		if (cgroup_pids(req->cgroup, &pids, &n, err) < 0)
			return "bad_request";
		snprintf(what, len, "cgroup %.100s", req->cgroup);
	} else {
		n = req->npids;
		pids = calloc((size_t)n, sizeof(*pids));
		if (!pids) {
			nm_seterr(err, "out of memory");
			return "internal";
		}
		memcpy(pids, req->pids, (size_t)n * sizeof(*pids));
		snprintf(what, len, "pid%s %d%s", n > 1 ? "s" : "",
			 (int)req->pids[0], n > 1 ? ",..." : "");
	}
	mr->pids = pids;
	mr->npids = n;
	return NULL;
}

static json_t *op_move(struct nm_daemon *d, const struct nm_caller *who,
		       const struct nm_request *req, nm_progress_fn progress,
		       void *arg)
{
	struct nm_move_req mr = {
		.caller = who->uid,
		.privileged = who->privileged,
		.target = req->target,
		.threads = req->threads,
		.engine = req->engine == NM_ENGINE_AUTO ? d->cfg.engine :
							   req->engine,
		.mode = req->mode == NM_MODE_DEFAULT ? d->cfg.mode : req->mode,
		.progress = req->progress ? progress : NULL,
		.progress_arg = arg,
	};
	char err[NM_ERRLEN] = "", what[128];
	const char *code;
	enum nm_move_status st;
	json_t *res = NULL, *r;

	if (req->has_owner && !who->privileged)
		return error_reply(who, req, "denied", "permission denied: "
				   "only root and the Slurm user may act for "
				   "an owner (\"owner\")");
	code = move_pids(d, req, &mr, what, sizeof(what), err);
	if (code)
		return error_reply(who, req, code, err);
	mr.confined = !who->privileged || (req->has_owner &&
			!nm_authz_privileged(&d->cfg, req->owner));
	if (req->has_owner &&
	    nm_authz_on_behalf(&d->cfg, req->owner, what, mr.pids, mr.npids,
			       &req->target.new_nodes, err) < 0) {
		code = strstr(err, "permission denied") ? "denied" :
							  "bad_request";
		st = NM_MOVE_BAD;
		goto out;
	}
	mr.what = what;
	/* Shared memory of others stays, for the user the move is for. */
	mr.shared_uid = req->has_owner ? req->owner : who->uid;
	mr.shared_guard = !nm_authz_privileged(&d->cfg, mr.shared_uid);
	st = nm_migrate(&d->cfg, &mr, &res, err);
out:
	free((pid_t *)mr.pids);
	free((unsigned long long *)mr.starts);
	if (code)
		return error_reply(who, req, code, err);
	if (st == NM_MOVE_OK) {
		r = ok_reply();
	} else {
		r = nm_reply_error(nm_move_status_code(st), err);
		if (!r)
			r = error_reply(who, req, "internal", "out of memory");
	}
	if (res)
		json_object_set_new(r, "result", res);
	return r;
}

json_t *nm_handle_request(struct nm_daemon *d, const struct nm_caller *who,
			  const struct nm_request *req, nm_progress_fn progress,
			  nm_answer_fn answer, void *arg)
{
	json_t *r = NULL;

	/* Long work at the daemon's own level, not the answering boost. */
	if (req->op == NM_OP_MOVE || req->op == NM_OP_REPACK ||
	    req->op == NM_OP_RESTORE)
		nm_priority_work();
	switch (req->op) {
	case NM_OP_PING:
		r = op_ping(who);
		break;
	case NM_OP_STATUS:
		r = op_status(d, who, req);
		break;
	case NM_OP_REGISTER:
		r = op_register(d, who, req);
		break;
	case NM_OP_UNREGISTER:
		r = op_unregister(d, who, req);
		break;
	case NM_OP_MOVE:
		r = op_move(d, who, req, progress, arg);
		break;
	case NM_OP_POLICY:
		r = nm_op_policy(d, who, req);
		break;
	case NM_OP_REPACK:
		r = nm_op_repack(d, who, req);
		break;
	case NM_OP_RESTORE:
		r = nm_op_restore(d, who, req, answer, arg);
		break;
	}
	if (!r)
		r = nm_reply_error("internal", "out of memory");
	return r;
}
