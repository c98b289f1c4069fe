/* SPDX-License-Identifier: MIT */
/*
 * Remote context (slurmstepd, root): move requests of a step launched into
 * a running job (OLD:NEW, move:NODES, or NODES when srun says so: local.c),
 * the job's policy when srun made the allocation, and the registration of
 * every task with numamigrated.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "numamigrate.h"

/* This step is a move request: its tasks are not the job's work. */
static bool move_step;
static bool move_failed;
static char outcome[2048];

static int get_ids(spank_t sp, uint32_t *job, uint32_t *step, uid_t *uid)
{
	spank_err_t e;

	if ((e = spank_get_item(sp, S_JOB_ID, job)) != ESPANK_SUCCESS ||
	    (e = spank_get_item(sp, S_JOB_STEPID, step)) != ESPANK_SUCCESS ||
	    (uid && (e = spank_get_item(sp, S_JOB_UID, uid)) !=
	     ESPANK_SUCCESS)) {
		slurm_error("numamigrate: cannot get the job's ids: %s",
			    spank_strerror(e));
		return -1;
	}
	return 0;
}

static int read_mems_allowed(pid_t pid, struct nm_bitmap *mems, char *err)
{
	char path[64], line[4096];
	int rc = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f) {
		nm_seterr(err, "process %d has exited", (int)pid);
		return -1;
	}
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Mems_allowed_list:", 18)) {
			char *v = line + 18;

			while (*v == ' ' || *v == '\t')
				v++;
			rc = nm_list_parse(v, mems, NM_BITMAP_BITS, 0,
					   "Mems_allowed_list", err);
			break;
		}
	fclose(f);
	if (rc < 0 && !err[0])
		nm_seterr(err, "process %d: no Mems_allowed_list", (int)pid);
	return rc;
}

/*
 * We ask as root, so the daemon trusts us; Slurm has already checked that
 * the step's user owns the job.  What an owner may not do is leave the
 * memory nodes Slurm gave the job: check the target against every
 * registered task's Mems_allowed (its cpuset), as the daemon does for an
 * unprivileged caller.  Root's jobs are not limited.
 */
static int check_allowed_nodes(uint32_t job, uid_t uid, char *err)
{
	json_t *req = NULL, *r = NULL, *t;
	struct nm_bitmap allowed, m;
	bool any = false;
	int rc = -1;
	size_t i;

	if (uid == 0)
		return 0;
	req = json_pack("{s:i, s:s}", "version", NM_PROTO_VERSION, "op",
			"status");
	if (!req) {
		nm_seterr(err, "out of memory");
		goto fail;
	}
	r = nm_spank_call(req, nm_spank_args.quick_timeout_s, err);
	if (!r)
		goto fail;
	if (!nm_spank_reply_ok(r)) {
		nm_seterr(err, "status: %s", nm_spank_reply_error(r));
		goto fail;
	}
	nm_bitmap_zero(&allowed);
	json_array_foreach(json_object_get(r, "tasks"), i, t) {
		json_int_t pid = json_integer_value(json_object_get(t, "pid"));

		if (json_integer_value(json_object_get(t, "job")) != job ||
		    !json_is_integer(json_object_get(t, "job")) || pid <= 0 ||
		    pid > INT_MAX)
			continue;
		if (read_mems_allowed((pid_t)pid, &m, err) < 0)
			continue;	/* exited meanwhile: the daemon prunes */
		if (!any)
			allowed = m;
		else
			nm_bitmap_and(&allowed, &m);
		any = true;
	}
	err[0] = '\0';
	if (any && !nm_bitmap_subset(&nm_spank_opt.target.new_nodes,
				     &allowed)) {
		char a[256], w[256];

		nm_list_format(&allowed, a, sizeof(a));
		nm_list_format(&nm_spank_opt.target.new_nodes, w, sizeof(w));
		nm_seterr(err, "permission denied: job %u may use NUMA nodes "
			  "%s only, not %s", job, a, w);
		goto fail;
	}
	rc = 0;
fail:
	json_decref(req);
	json_decref(r);
	return rc;
}

static void describe_result(const json_t *res, char *buf, size_t len)
{
	json_t *map = json_object_get(json_object_get(res, "plan"), "map");
	char maps[256] = "";
	const char *k;
	size_t off = 0;
	json_t *v;

	json_object_foreach((json_t *)map, k, v) {
		int n = snprintf(maps + off, sizeof(maps) - off, "%s%s->%lld",
				 off ? "," : "", k,
				 (long long)json_integer_value(v));

		if (n < 0 || (size_t)n >= sizeof(maps) - off)
			break;
		off += (size_t)n;
	}
	snprintf(buf, len, "%lld processes, %lld pages (%.1f MiB) moved, "
		 "%lld pages failed, map %s, frozen %.2f s, %.2f s in all",
		 (long long)json_integer_value(json_object_get(res,
							      "processes")),
		 (long long)json_integer_value(json_object_get(res,
							      "pages_moved")),
		 (double)json_integer_value(json_object_get(res,
							   "bytes_moved")) /
		 1048576.0,
		 (long long)json_integer_value(json_object_get(res,
							      "pages_failed")),
		 off ? maps : "(none)",
		 json_number_value(json_object_get(res, "frozen_seconds")),
		 json_number_value(json_object_get(res, "seconds")));
}

/* Asks the local daemon to move the whole job; sets outcome. */
static int request_move(uint32_t job, uid_t uid)
{
	struct nm_request req = {
		.op = NM_OP_MOVE,
		.job = job,
		.step = NM_NO_ID,
		.has_target = true,
		.target = nm_spank_opt.target,
		.engine = nm_spank_args.engine,
	};
	char err[NM_ERRLEN] = "", host[64] = "?", what[512];
	json_t *o = NULL, *r = NULL;
	int rc = -1;

	gethostname(host, sizeof(host) - 1);
	if (check_allowed_nodes(job, uid, err) < 0)
		goto fail;
	o = nm_request_encode(&req, err);
	if (!o)
		goto fail;
	r = nm_spank_call(o, nm_spank_args.timeout_s, err);
	if (!r)
		goto fail;
	if (!nm_spank_reply_ok(r)) {
		const char *code = json_string_value(json_object_get(r, "code"));
		const char *e = nm_spank_reply_error(r);

		nm_seterr(err, "%s%s%s%s", code ? code : "", code ? ": " : "",
			  e, strstr(e, "no registered tasks") ?
			  " (a move request goes to a step of the running "
			  "job: srun --jobid=JOB --overlap "
			  "--migrate-nodes=... true)" : "");
		if (json_object_get(r, "result")) {
			describe_result(json_object_get(r, "result"), what,
					sizeof(what));
			snprintf(outcome, sizeof(outcome),
				 "numamigrate: job %u on %s: move %.200s failed: "
				 "%.255s; %.600s", job, host, nm_spank_opt.value, err,
				 what);
			goto report;
		}
		goto fail;
	}
	describe_result(json_object_get(r, "result"), what, sizeof(what));
	snprintf(outcome, sizeof(outcome), "numamigrate: job %u on %s: "
		 "moved (%.200s): %.600s", job, host, nm_spank_opt.value, what);
	slurm_info("%s", outcome);
	rc = 0;
	goto out;
fail:
	snprintf(outcome, sizeof(outcome), "numamigrate: job %u on %s: move "
		 "%.200s failed: %.255s", job, host, nm_spank_opt.value, err);
report:
	slurm_error("%s", outcome);
out:
	json_decref(o);
	json_decref(r);
	move_failed = rc < 0;
	return rc;
}

/* Records the job's policy: the prolog cannot see an srun's option. */
static void record_policy(uint32_t job)
{
	char err[NM_ERRLEN];
	json_t *o, *r;

	o = json_pack("{s:i, s:s, s:I, s:s}", "version", NM_PROTO_VERSION,
		      "op", "policy", "job", (json_int_t)job, "policy",
		      nm_spank_policy_name(&nm_spank_opt));
	if (!o)
		return;
	if (nm_spank_opt.kind == NM_OPT_NODES)
		json_object_set_new(o, "nodes",
				    json_string(nm_spank_opt.nodes));
	r = nm_spank_call(o, nm_spank_args.quick_timeout_s, err);
	if (!r)
		slurm_error("numamigrate: job %u: cannot record policy %s: %s",
			    job, nm_spank_opt.value, err);
	else if (nm_spank_reply_unknown_op(r))
		slurm_debug("numamigrate: job %u: numamigrated does not know "
			    "op 'policy' yet; policy %s not recorded", job,
			    nm_spank_opt.value);
	else if (!nm_spank_reply_ok(r))
		slurm_error("numamigrate: job %u: policy %s: %s", job,
			    nm_spank_opt.value, nm_spank_reply_error(r));
	else
		slurm_debug("numamigrate: job %u: policy %s recorded", job,
			    nm_spank_opt.value);
	json_decref(o);
	json_decref(r);
}

/*
 * srun's verdict on a bare NODES (local.c): "1" when it was on the command
 * line of a step launched into a running job.  Removed from the step's
 * environment in any case, so that no task, and no srun nested in one,
 * sees it.
 */
static bool srun_asked_move(spank_t sp)
{
	char v[8] = "";
	spank_err_t e;

	e = spank_getenv(sp, NM_SPANK_MOVE_ENV, v, sizeof(v));
	spank_unsetenv(sp, NM_SPANK_MOVE_ENV);
	return e == ESPANK_SUCCESS && !strcmp(v, "1");
}

int nm_spank_remote_init_post_opt(spank_t sp)
{
	bool asked = srun_asked_move(sp);
	uint32_t job, step;
	uid_t uid;

	if (nm_spank_opt.kind == NM_OPT_UNSET)
		return 0;
	if (get_ids(sp, &job, &step, &uid) < 0)
		return 0;
	if (nm_spank_opt.kind == NM_OPT_NODES && asked) {
		slurm_debug("numamigrate: job %u step %u: --migrate-nodes=%s "
			    "from srun's command line: a request to move the "
			    "job into %s", job, step, nm_spank_opt.value,
			    nm_spank_opt.nodes);
		nm_spank_opt_make_move(&nm_spank_opt);
	}
	if (!nm_spank_opt_is_move(&nm_spank_opt)) {
		record_policy(job);
		return 0;
	}
	move_step = true;
	/* A nested srun in this step must not repeat the request. */
	spank_unsetenv(sp, "_SLURM_SPANK_OPTION_numamigrate_migrate_nodes");
	spank_unsetenv(sp, NM_SPANK_OPTION_ENV);
	slurm_info("numamigrate: job %u step %u: moving the job (%s) as "
		   "asked by uid %u", job, step, nm_spank_opt.value,
		   (unsigned int)uid);
	request_move(job, uid);
	/* The outcome goes to the user from task_init, the step's stderr. */
	return 0;
}

int nm_spank_remote_task_init(spank_t sp)
{
	int local = -1;

	if (!move_step)
		return 0;
	if (spank_get_item(sp, S_TASK_ID, &local) != ESPANK_SUCCESS ||
	    local == 0) {
		fprintf(stderr, "%s\n", outcome);
		fflush(stderr);
	}
	/* A failed move fails the step: srun exits non-zero. */
	return move_failed ? -1 : 0;
}

int nm_spank_remote_task_post_fork(spank_t sp)
{
	struct nm_req_task task;
	struct nm_request req = {
		.op = NM_OP_REGISTER,
		.ntasks = 1,
		.tasks = &task,
	};
	char err[NM_ERRLEN] = "";
	json_t *o = NULL, *r = NULL;
	uint32_t job, step, rank;
	spank_err_t e;
	int rc = -1;

	if (move_step)
		return 0;
	if (get_ids(sp, &job, &step, NULL) < 0)
		return 0;
	if ((e = spank_get_item(sp, S_TASK_PID, &task.pid)) != ESPANK_SUCCESS ||
	    (e = spank_get_item(sp, S_TASK_GLOBAL_ID, &rank)) !=
	    ESPANK_SUCCESS) {
		nm_seterr(err, "no task pid or rank: %s", spank_strerror(e));
		goto fail;
	}
	task.rank = (int)rank;
	req.job = job;
	req.step = step;
	o = nm_request_encode(&req, err);
	if (!o)
		goto fail;
	r = nm_spank_call(o, nm_spank_args.quick_timeout_s, err);
	if (!r)
		goto fail;
	if (!nm_spank_reply_ok(r)) {
		nm_seterr(err, "%s", nm_spank_reply_error(r));
		goto fail;
	}
	slurm_debug("numamigrate: job %u step %u: registered task %d rank %u",
		    job, step, (int)task.pid, rank);
	rc = 0;
fail:
	/* Never fail the task because it could not be registered. */
	if (rc < 0)
		slurm_error("numamigrate: job %u step %u: cannot register "
			    "task %d: %s", job, step, (int)task.pid, err);
	json_decref(o);
	json_decref(r);
	return 0;
}

int nm_spank_remote_task_exit(spank_t sp)
{
	struct nm_request req = { .op = NM_OP_UNREGISTER, .npids = 1,
				  .job = NM_NO_ID, .step = NM_NO_ID };
	char err[NM_ERRLEN] = "";
	json_t *o = NULL, *r = NULL;
	uint32_t job, step;
	pid_t pid;

	if (move_step)
		return 0;
	if (get_ids(sp, &job, &step, NULL) < 0 ||
	    spank_get_item(sp, S_TASK_PID, &pid) != ESPANK_SUCCESS)
		return 0;
	req.pids = &pid;
	o = nm_request_encode(&req, err);
	if (o)
		r = nm_spank_call(o, nm_spank_args.quick_timeout_s, err);
	if (!r)
		slurm_error("numamigrate: job %u step %u: cannot unregister "
			    "task %d: %s", job, step, (int)pid, err);
	else if (!nm_spank_reply_ok(r))
		/* The daemon drops exited tasks on its own: not an error. */
		slurm_debug("numamigrate: job %u step %u: unregister %d: %s",
			    job, step, (int)pid, nm_spank_reply_error(r));
	else
		slurm_debug("numamigrate: job %u step %u: unregistered task "
			    "%d", job, step, (int)pid);
	json_decref(o);
	json_decref(r);
	return 0;
}
