/* SPDX-License-Identifier: MIT */
/*
 * numamigrate policy / repack / restore: the requests a job's prolog and
 * epilog send (the SPANK plugin sends them itself; these are for scripts,
 * admins and tests).  Root or the Slurm user only: the daemon checks.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper/cli/cli.h"
#include "helper/cli/cli_daemon.h"
#include "lib/proto/client.h"
#include "lib/base/units.h"

struct args {
	const char *socket, *nodes;
	bool json;
	const char *pos[2];
	int npos;
};

static void usage(FILE *out, const char *cmd)
{
	if (!strcmp(cmd, "policy"))
		fprintf(out, "Usage: numamigrate policy [--socket PATH] "
			"[--json] JOBID never|auto|nodes [--nodes LIST]\n\n"
			"Records a job's migration policy in numamigrated: "
			"never (suspended, it is\nnever moved), auto "
			"(anywhere), nodes (only within --nodes LIST).\n");
	else if (!strcmp(cmd, "repack"))
		fprintf(out, "Usage: numamigrate repack [--socket PATH] "
			"[--json] JOBID\n\n"
			"JOBID starts on this host (its prolog): moves the "
			"memory of suspended jobs\noff its NUMA nodes, to "
			"free or memory-only nodes, keeping their placement.\n"
			"Exit 0 also when nothing could be moved (the reply "
			"says why).\n");
	else
		fprintf(out, "Usage: numamigrate restore [--socket PATH] "
			"[--json] JOBID\n\n"
			"JOBID ended on this host (its epilog): moves the "
			"jobs repack evacuated for\nit back where they were.\n");
	fprintf(out, "\n  --socket PATH  the daemon's socket (default %s)\n"
		"  --json         the daemon's reply as JSON\n",
		nm_client_default_socket());
}

static int parse(int argc, char **argv, const char *cmd, struct args *a)
{
	const struct nm_cli_opt opts[] = {
		{ "socket", required_argument, &a->socket, NULL },
		{ "nodes", required_argument, &a->nodes, NULL },
		{ "json", no_argument, NULL, &a->json },
		{ NULL, 0, NULL, NULL },
	};
	int want = strcmp(cmd, "policy") ? 1 : 2,
	    rc = nm_cli_options(argc, argv, cmd, opts);

	if (rc > 0) {
		usage(stdout, cmd);
		exit(NM_EXIT_OK);
	}
	if (rc < 0)
		return -1;
	for (; optind < argc; optind++) {
		if (a->npos == want) {
			nm_cli_error("%s: unexpected argument '%s'", cmd,
				     argv[optind]);
			return -1;
		}
		a->pos[a->npos++] = argv[optind];
	}
	if (a->npos != want) {
		nm_cli_error("%s: expected %s", cmd, want == 2 ?
			     "JOBID and a policy" : "JOBID");
		return -1;
	}
	if (a->nodes && strcmp(cmd, "policy")) {
		nm_cli_error("%s: --nodes goes with policy", cmd);
		return -1;
	}
	return 0;
}

static void print_jobs(json_t *r, const char *what)
{
	json_t *jobs = json_object_get(r, "jobs"), *j;
	size_t i;

	json_array_foreach(jobs, i, j) {
		json_t *res = json_object_get(j, "result");
		bool done = json_is_true(json_object_get(j, what));
		char b[32] = "";

		if (res)
			nm_format_bytes((uint64_t)json_integer_value(
				json_object_get(res, "bytes_moved")), b,
				sizeof(b));
		printf("  job %lld: ", json_integer_value(json_object_get(j,
								       "job")));
		if (json_object_get(j, "restoring"))
			printf("moving back live %s -> %s (threads re-pinned; "
			       "the daemon logs the end)\n",
			       json_string_value(json_object_get(j, "from")) ?:
			       "?",
			       json_string_value(json_object_get(j, "to")) ?:
			       "?");
		else if (done)
			printf("%s %s -> %s, %s\n", !strcmp(what, "moved") ?
			       "moved" : "moved back",
			       json_string_value(json_object_get(j, "from")) ?:
			       "?",
			       json_string_value(json_object_get(j, "to")) ?:
			       "?", b);
		else
			printf("not %s: %s\n", !strcmp(what, "moved") ?
			       "moved" : "moved back",
			       json_string_value(json_object_get(j, "reason")) ?:
			       "?");
	}
}

/* policy's POLICY and --nodes into @req; -1 after a message. */
static int policy_args(const struct args *a, struct nm_request *req)
{
	char err[NM_ERRLEN];
	struct nm_target t;

	if (nm_policy_parse(a->pos[1], &req->policy, err) < 0) {
		nm_cli_error("policy: %s", err);
		return -1;
	}
	if ((req->policy == NM_POLICY_NODES) != !!a->nodes) {
		nm_cli_error("policy: --nodes is given with, and only with, "
			     "the policy nodes");
		return -1;
	}
	if (!a->nodes)
		return 0;
	if (nm_target_parse_nodes(a->nodes, &t, err) < 0) {
		nm_cli_error("policy: %s", err);
		return -1;
	}
	req->policy_nodes = t.new_nodes;
	return 0;
}

/* The human-readable answer to a request that succeeded. */
static void print_reply(json_t *r, const struct args *a,
			const struct nm_request *req)
{
	const char *what = req->op == NM_OP_REPACK ? "moved" : "restored";
	const char *reason = json_string_value(json_object_get(r, "reason"));
	const char *nodes = json_string_value(json_object_get(r, "nodes"));

	if (req->op == NM_OP_POLICY) {
		printf("job %llu: policy %s%s%s\n",
		       (unsigned long long)req->job,
		       nm_policy_name(req->policy), a->nodes ? " " : "",
		       a->nodes ? a->nodes : "");
		return;
	}
	printf("job %llu%s%s%s: %s\n", (unsigned long long)req->job,
	       json_object_get(r, "nodes") ? " (nodes " : "", nodes ?: "",
	       json_object_get(r, "nodes") ? ")" : "",
	       json_object_get(r, "restoring") ? "moving jobs back live" :
	       json_is_true(json_object_get(r, what)) ?
	       (req->op == NM_OP_REPACK ? "moved suspended jobs" :
		"moved jobs back") : "nothing moved");
	if (reason)
		printf("  %s\n", reason);
	print_jobs(r, what);
}

static int run(int argc, char **argv, enum nm_op op)
{
	const char *cmd = nm_op_name(op);
	struct args a = { 0 };
	struct nm_request req;
	unsigned long long job;
	char err[NM_ERRLEN];
	json_t *r;
	int rc = NM_EXIT_OK;

	memset(&req, 0, sizeof(req));
	req.op = op;
	req.job = req.step = NM_NO_ID;
	if (parse(argc, argv, cmd, &a) < 0)
		return NM_EXIT_USAGE;
	snprintf(err, sizeof(err), "%s: JOBID", cmd);
	if (nm_cli_parse_uint(a.pos[0], 0xffffffffULL, &job, err) < 0)
		return NM_EXIT_USAGE;
	req.job = job;
	if (op == NM_OP_POLICY && policy_args(&a, &req) < 0)
		return NM_EXIT_USAGE;
	r = nm_client_call(a.socket ? a.socket : nm_client_default_socket(),
			   &req, -1, NULL, NULL, err);
	if (!r) {
		nm_cli_error("%s: %s", cmd, err);
		return NM_EXIT_REFUSED;
	}
	if (a.json) {
		json_dumpf(r, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	if (!json_is_true(json_object_get(r, "ok"))) {
		nm_cli_error("%s: %s (%s)", cmd,
			     json_string_value(json_object_get(r, "error")),
			     json_string_value(json_object_get(r, "code")) ?:
			     "error");
		rc = nm_cli_exit_for(r);
	} else if (!a.json) {
		print_reply(r, &a, &req);
	}
	json_decref(r);
	return rc;
}

int nm_cmd_policy(int argc, char **argv)
{
	return run(argc, argv, NM_OP_POLICY);
}

int nm_cmd_repack(int argc, char **argv)
{
	return run(argc, argv, NM_OP_REPACK);
}

int nm_cmd_restore(int argc, char **argv)
{
	return run(argc, argv, NM_OP_RESTORE);
}
