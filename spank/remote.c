/* SPDX-License-Identifier: MIT */
/*
 * Remote context (slurmstepd, root): move requests of a step launched into
 * a running job (OLD:NEW, move:NODES, or NODES when srun says so: local.c),
 * the job's policy when srun made the allocation, and the registration of
 * every task with numamigrated.
 *
 * Who may move what is the daemon's one rule (helper/daemon/authz.c): the
 * plugin asks as root on behalf of the job's owner (S_JOB_UID, from
 * Slurm, which lets only the owner create a step in the job), and the
 * daemon holds the request to the owner's processes and to the NUMA nodes
 * Slurm's cpusets give the job.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "numamigrate.h"

#define NO_TASKS_HINT " (a move request goes to a step of the running job: " \
	"srun --jobid=JOB --overlap --migrate-nodes=... true)"

/* This step, from init_post_opt to its tasks' hooks. */
static struct remote_state {
	bool move_step;		/* a move request: its tasks are not the
				 * job's work, and are not registered */
	bool move_failed;	/* fails the step in task_init */
	char outcome[2048];	/* for the user: the step's stderr */
} state;

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

static long long res_int(const json_t *res, const char *key)
{
	return (long long)json_integer_value(json_object_get(res, key));
}

/* The map of a move's plan as "0->2,1->3". */
static void describe_map(const json_t *res, char *maps, size_t len)
{
	json_t *map = json_object_get(json_object_get(res, "plan"), "map");
	const char *k;
	size_t off = 0;
	json_t *v;

	maps[0] = '\0';
	json_object_foreach(map, k, v) {
		int n = snprintf(maps + off, len - off, "%s%s->%lld",
				 off ? "," : "", k,
				 (long long)json_integer_value(v));

		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	if (!off)
		snprintf(maps, len, "(none)");
}

/* A live move's passes, after the rest of the description. */
static void describe_live(const json_t *res, char *buf, size_t len)
{
	const char *mode = json_string_value(json_object_get(res, "mode"));
	size_t off = strlen(buf);

	if (!mode || strcmp(mode, "live") || off >= len)
		return;
	snprintf(buf + off, len - off, ", live: %lld passes, %.1f MiB moved "
		 "in %.2f s while the job ran", res_int(res, "passes"),
		 (double)res_int(res, "bytes_moved_live") / 1048576.0,
		 json_number_value(json_object_get(res, "live_seconds")));
}

/* The first of a failed move's errors: which process, and why. */
static void describe_first_error(const json_t *res, char *buf, size_t len)
{
	json_t *e = json_array_get(json_object_get(res, "errors"), 0);
	const char *msg = json_string_value(json_object_get(e, "error"));
	size_t off = strlen(buf);

	if (!msg)
		msg = json_string_value(json_object_get(e, "thaw"));
	if (!msg || off >= len)
		return;
	snprintf(buf + off, len - off, "; first error: %s", msg);
}

static void describe_result(const json_t *res, char *buf, size_t len)
{
	char maps[256];

	describe_map(res, maps, sizeof(maps));
	snprintf(buf, len, "%lld processes, %lld pages (%.1f MiB) moved, "
		 "%lld pages failed, map %s, frozen %.2f s, %.2f s in all",
		 res_int(res, "processes"), res_int(res, "pages_moved"),
		 (double)res_int(res, "bytes_moved") / 1048576.0,
		 res_int(res, "pages_failed"), maps,
		 json_number_value(json_object_get(res, "frozen_seconds")),
		 json_number_value(json_object_get(res, "seconds")));
	describe_live(res, buf, len);
	describe_first_error(res, buf, len);
}

/*
 * The daemon's refusal as the user reads it: its code, unless the text
 * already says it ("permission denied: ..."), and a hint when the job has
 * nothing registered here (an srun that made its own allocation).
 */
static void reply_error(const json_t *r, char *err)
{
	const char *code = json_string_value(json_object_get(r, "code"));
	const char *e = nm_spank_reply_error(r);
	bool say = code && strncmp(e, "permission denied", 17) != 0;

	nm_seterr(err, "%s%s%s%s", say ? code : "", say ? ": " : "", e,
		  strstr(e, "no registered tasks") ? NO_TASKS_HINT : "");
}

/* The line for the user and slurmd's log; @err NULL: moved. */
static void set_outcome(uint32_t job, const char *err, const char *what)
{
	char host[64] = "?";

	gethostname(host, sizeof(host) - 1);
	if (!err)
		snprintf(state.outcome, sizeof(state.outcome), "numamigrate: "
			 "job %u on %s: moved (%.200s): %.1000s", job, host,
			 nm_spank_opt.value, what);
	else
		snprintf(state.outcome, sizeof(state.outcome), "numamigrate: "
			 "job %u on %s: move %.200s failed: %.255s%s%.1000s",
			 job, host, nm_spank_opt.value, err, what[0] ? "; " :
			 "", what);
	if (!err)
		slurm_info("%s", state.outcome);
	else
		slurm_error("%s", state.outcome);
}

/* Asks the local daemon to move the whole job for its owner @uid. */
static int request_move(uint32_t job, uid_t uid)
{
	struct nm_request req = {
		.op = NM_OP_MOVE,
		.job = job,
		.step = NM_NO_ID,
		.has_target = true,
		.target = nm_spank_opt.target,
		.engine = nm_spank_args.engine,
		.mode = nm_spank_move_mode(),
		.has_owner = true,
		.owner = uid,
	};
	char err[NM_ERRLEN] = "", what[1024] = "";
	json_t *r;
	int rc = -1;

	r = nm_spank_call(&req, nm_spank_args.timeout_s, err);
	if (!r)
		goto fail;
	if (!nm_spank_reply_ok(r)) {
		reply_error(r, err);
		goto fail;
	}
	rc = 0;
fail:
	/* A failed move may still have moved some: say what. */
	if (r && (rc == 0 || json_object_get(r, "result")))
		describe_result(json_object_get(r, "result"), what,
				sizeof(what));
	set_outcome(job, rc == 0 ? NULL : err, what);
	json_decref(r);
	state.move_failed = rc < 0;
	return rc;
}

/* Records the job's policy: the prolog cannot see an srun's option. */
static void record_policy(uint32_t job)
{
	char err[NM_ERRLEN] = "";
	struct nm_request req;
	json_t *r;

	nm_spank_policy_request(&nm_spank_opt, job, &req);
	r = nm_spank_call(&req, nm_spank_args.quick_timeout_s, err);
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
	state.move_step = true;
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

	if (!state.move_step)
		return 0;
	if (spank_get_item(sp, S_TASK_ID, &local) != ESPANK_SUCCESS ||
	    local == 0) {
		fprintf(stderr, "%s\n", state.outcome);
		fflush(stderr);
	}
	/* A failed move fails the step: srun exits non-zero. */
	return state.move_failed ? -1 : 0;
}

int nm_spank_remote_task_post_fork(spank_t sp)
{
	struct nm_req_task task = { .pid = 0 };
	struct nm_request req = {
		.op = NM_OP_REGISTER,
		.ntasks = 1,
		.tasks = &task,
	};
	char err[NM_ERRLEN] = "";
	uint32_t job, step, rank;
	json_t *r = NULL;
	spank_err_t e;
	int rc = -1;

	if (state.move_step || get_ids(sp, &job, &step, NULL) < 0)
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
	r = nm_spank_call(&req, nm_spank_args.quick_timeout_s, err);
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
	json_decref(r);
	return 0;
}

int nm_spank_remote_task_exit(spank_t sp)
{
	struct nm_request req = { .op = NM_OP_UNREGISTER, .npids = 1,
				  .job = NM_NO_ID, .step = NM_NO_ID };
	char err[NM_ERRLEN] = "";
	uint32_t job, step;
	json_t *r;
	pid_t pid;

	if (state.move_step || get_ids(sp, &job, &step, NULL) < 0 ||
	    spank_get_item(sp, S_TASK_PID, &pid) != ESPANK_SUCCESS)
		return 0;
	req.pids = &pid;
	r = nm_spank_call(&req, nm_spank_args.quick_timeout_s, err);
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
	json_decref(r);
	return 0;
}
