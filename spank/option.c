/* SPDX-License-Identifier: MIT */
/* --migrate-nodes: a job's migration policy, or a move request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numamigrate.h"

struct nm_spank_opt nm_spank_opt;

static int option_cb(int val, const char *optarg, int remote);

static struct spank_option migrate_nodes = {
	.name = "migrate-nodes",
	.arginfo = "POLICY|OLD:NEW|move:NODES",
	.usage = "numamigrate: on sbatch/salloc, and on an srun that makes "
		 "its own allocation, the job's migration policy: 'never', "
		 "'auto' (site default) or NODES (may be moved within these "
		 "NUMA nodes). On 'srun --jobid=J --overlap ... true' (or an "
		 "srun inside the job), a request to move job J now: NODES "
		 "(into these nodes), OLD:NEW (node i of OLD to node i of "
		 "NEW) or move:NODES.",
	.has_arg = 1,
	.val = 0,
	.cb = option_cb,
};

bool nm_spank_opt_is_move(const struct nm_spank_opt *o)
{
	return o->kind == NM_OPT_MOVE_MAP || o->kind == NM_OPT_MOVE_TO;
}

/* NODES and move:NODES parse to the same nodes and target. */
void nm_spank_opt_make_move(struct nm_spank_opt *o)
{
	if (o->kind == NM_OPT_NODES)
		o->kind = NM_OPT_MOVE_TO;
}

void nm_spank_policy_request(const struct nm_spank_opt *o, uint32_t job,
			     struct nm_request *req)
{
	memset(req, 0, sizeof(*req));
	req->op = NM_OP_POLICY;
	req->job = job;
	req->step = NM_NO_ID;
	switch (o->kind) {
	case NM_OPT_NEVER:
		req->policy = NM_POLICY_NEVER;
		break;
	case NM_OPT_NODES:
		req->policy = NM_POLICY_NODES;
		req->policy_nodes = o->target.new_nodes;
		break;
	default:
		req->policy = nm_spank_args.repack == NM_REPACK_NEVER ?
			      NM_POLICY_NEVER : NM_POLICY_AUTO;
		break;
	}
}

/*
 * The value's syntax: a ':' makes a move request (OLD:NEW, move:NODES),
 * anything else a policy.  A bare NODES is turned into a request later,
 * and only when it is on the command line of an srun launching a step into
 * a running job (local.c): a NODES inherited through the environment by
 * the sruns of a batch job stays a policy and never moves anything.
 */
int nm_spank_option_parse(const char *s, struct nm_spank_opt *o, char *err)
{
	struct nm_spank_opt v = { .kind = NM_OPT_UNSET };

	if (!s || !*s) {
		nm_seterr(err, "--migrate-nodes needs a value: never, auto, "
			  "NODES, OLD:NEW or move:NODES");
		return -1;
	}
	if (strlen(s) >= sizeof(v.value)) {
		nm_seterr(err, "--migrate-nodes: value longer than %zu "
			  "characters", sizeof(v.value) - 1);
		return -1;
	}
	snprintf(v.value, sizeof(v.value), "%s", s);
	if (!strcmp(s, "never")) {
		v.kind = NM_OPT_NEVER;
	} else if (!strcmp(s, "auto")) {
		v.kind = NM_OPT_AUTO;
	} else if (!strncmp(s, "move:", 5)) {
		v.kind = NM_OPT_MOVE_TO;
		snprintf(v.nodes, sizeof(v.nodes), "%s", s + 5);
		if (nm_target_parse_nodes(s + 5, &v.target, err) < 0)
			goto bad;
	} else if (strchr(s, ':')) {
		v.kind = NM_OPT_MOVE_MAP;
		if (nm_target_parse_map(s, &v.target, err) < 0)
			goto bad;
	} else {
		v.kind = NM_OPT_NODES;
		snprintf(v.nodes, sizeof(v.nodes), "%s", s);
		if (nm_target_parse_nodes(s, &v.target, err) < 0)
			goto bad;
	}
	*o = v;
	return 0;
bad:
	{
		char why[NM_ERRLEN];

		snprintf(why, sizeof(why), "%s", err);
		nm_seterr(err, "--migrate-nodes=%.100s: %s (expected never, "
			  "auto, NODES, OLD:NEW or move:NODES, e.g. 0-1:2-3)",
			  s, why);
	}
	return -1;
}

static int option_cb(int val, const char *optarg, int remote)
{
	char err[NM_ERRLEN];
	struct nm_spank_opt o;
	spank_context_t ctx = spank_context();

	(void)val;
	if (nm_spank_option_parse(optarg, &o, err) < 0) {
		slurm_error("numamigrate: %s", err);
		return -1;
	}
	if (ctx == S_CTX_ALLOCATOR && nm_spank_opt_is_move(&o)) {
		slurm_error("numamigrate: --migrate-nodes=%s is a move request: "
			    "give it to a step of the running job, 'srun "
			    "--jobid=JOB --overlap --migrate-nodes=%s true'; "
			    "sbatch and salloc take a policy (never, auto or "
			    "NODES)", o.value, o.value);
		return -1;
	}
	nm_spank_opt = o;
	slurm_debug("numamigrate: --migrate-nodes=%s (%s)", o.value,
		    remote ? "remote" : "local");
	return 0;
}

int nm_spank_option_register(spank_t sp)
{
	spank_err_t e = spank_option_register(sp, &migrate_nodes);

	if (e != ESPANK_SUCCESS) {
		slurm_error("numamigrate: cannot register --migrate-nodes: %s",
			    spank_strerror(e));
		return -1;
	}
	return 0;
}

int nm_spank_option_from_job(spank_t sp, struct nm_spank_opt *o)
{
	char err[NM_ERRLEN];
	char *val = NULL;
	spank_err_t e;

	memset(o, 0, sizeof(*o));
	o->kind = NM_OPT_UNSET;
	e = spank_option_getopt(sp, &migrate_nodes, &val);
	if (e != ESPANK_SUCCESS || !val || !*val) {
		/* Not given, or given to an srun that made the allocation. */
		slurm_debug("numamigrate: no --migrate-nodes from the job "
			    "(%s)", e != ESPANK_SUCCESS ? spank_strerror(e) :
			    "not set");
		return 0;
	}
	if (nm_spank_option_parse(val, o, err) < 0) {
		slurm_error("numamigrate: %s", err);
		o->kind = NM_OPT_UNSET;
		return -1;
	}
	return 0;
}
