/* SPDX-License-Identifier: MIT */
/*
 * Job prolog / epilog (root, in their own process): record the job's
 * policy and make room for it (repack), give the room back (restore).
 * Slurm's preemption suspends the victims before the preemptor's prolog
 * runs and resumes them after its epilog; the suspended jobs get no hook
 * of their own, so these are the moments the daemon can act for them.
 *
 * Nothing here ever fails: a failed prolog drains the node, and a job
 * must not lose its node because numamigrate could not act.  Every
 * problem is logged (slurmd's log) instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numamigrate.h"

/* Logs @v as one line of compact JSON, bounded like every log line. */
static void log_json(uint32_t job, const char *what, const char *tag,
		     json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	slurm_info("numamigrate: job %u: %s: %s %.1000s", job, what, tag,
		   s ? s : "");
	free(s);
}

/* Sends @req; logs the outcome under @what. */
static void send_logged(uint32_t job, const char *what,
			const struct nm_request *req)
{
	char err[NM_ERRLEN] = "";
	json_t *r;

	r = nm_spank_call(req, nm_spank_args.timeout_s, err);
	if (!r) {
		slurm_error("numamigrate: job %u: %s: %s (job continues)", job,
			    what, err);
	} else if (nm_spank_reply_unknown_op(r)) {
		slurm_info("numamigrate: job %u: %s: numamigrated does not "
			   "support this yet (%s); job continues", job, what,
			   nm_spank_reply_error(r));
	} else if (!nm_spank_reply_ok(r)) {
		slurm_error("numamigrate: job %u: %s: %s (job continues)", job,
			    what, nm_spank_reply_error(r));
	} else {
		json_t *jobs = json_incref(json_object_get(r, "jobs"));

		json_object_del(r, "version");
		json_object_del(r, "ok");
		json_object_del(r, "jobs");
		/* One line per job acted on, so no job is cut off; "ok" last. */
		for (size_t i = 0; i < json_array_size(jobs); i++)
			log_json(job, what, "job", json_array_get(jobs, i));
		log_json(job, what, "ok", r);
		json_decref(jobs);
	}
	json_decref(r);
}

/* A request that names only the job: repack, restore. */
static void send_job_op(uint32_t job, enum nm_op op)
{
	struct nm_request req = { .op = op, .job = job, .step = NM_NO_ID };

	send_logged(job, nm_op_name(op), &req);
}

static int job_ids(spank_t sp, uint32_t *job, uid_t *uid)
{
	spank_err_t e;

	if ((e = spank_get_item(sp, S_JOB_ID, job)) != ESPANK_SUCCESS ||
	    (e = spank_get_item(sp, S_JOB_UID, uid)) != ESPANK_SUCCESS) {
		slurm_error("numamigrate: prolog/epilog: cannot get the job "
			    "id: %s", spank_strerror(e));
		return -1;
	}
	return 0;
}

int nm_spank_job_prolog(spank_t sp)
{
	struct nm_spank_opt opt;
	struct nm_request req;
	uint32_t job;
	uid_t uid;

	if (nm_spank_disabled || job_ids(sp, &job, &uid) < 0)
		return 0;
	slurm_debug("numamigrate: job %u: prolog, socket %s", job,
		    nm_spank_args.socket);
	nm_spank_option_from_job(sp, &opt);
	if (nm_spank_opt_is_move(&opt))
		opt.kind = NM_OPT_UNSET;	/* sbatch refuses these */
	nm_spank_policy_request(&opt, job, &req);
	slurm_debug("numamigrate: job %u (uid %u): prolog, policy %s%s%s", job,
		    (unsigned int)uid, nm_policy_name(req.policy),
		    opt.kind == NM_OPT_NODES ? " " : "",
		    opt.kind == NM_OPT_NODES ? opt.nodes : "");
	send_logged(job, "policy", &req);
	/* This job may be a preemptor: move suspended jobs out of its way. */
	send_job_op(job, NM_OP_REPACK);
	return 0;
}

int nm_spank_job_epilog(spank_t sp)
{
	uint32_t job;
	uid_t uid;

	if (nm_spank_disabled || job_ids(sp, &job, &uid) < 0)
		return 0;
	send_job_op(job, NM_OP_RESTORE);
	return 0;
}
