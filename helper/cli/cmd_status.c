/* SPDX-License-Identifier: MIT */
/* numamigrate status / register / unregister: the daemon's registry. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper/cli/cli.h"
#include "helper/cli/cli_daemon.h"
#include "lib/proto/client.h"
#include "lib/core/job.h"
#include "lib/base/units.h"

/* Sends @req; prints the reply's error, returning the exit status. */
static int call(const char *socket, const struct nm_request *req,
		const char *cmd, json_t **reply)
{
	char err[NM_ERRLEN] = "";
	json_t *r;

	*reply = NULL;
	r = nm_client_call(socket ? socket : nm_client_default_socket(), req, -1,
			   NULL, NULL, err);
	if (!r) {
		nm_cli_error("%s: %s", cmd, err);
		return NM_EXIT_REFUSED;
	}
	if (!json_is_true(json_object_get(r, "ok"))) {
		int rc = nm_cli_exit_for(r);

		nm_cli_error("%s: %s", cmd,
			     json_string_value(json_object_get(r, "error")));
		json_decref(r);
		return rc;
	}
	*reply = r;
	return NM_EXIT_OK;
}

/* ---- status -------------------------------------------------------------- */

static void status_usage(FILE *out)
{
	fprintf(out, "Usage: numamigrate status [--socket PATH] [--json]\n\n"
		"Registered jobs and tasks, and moves in progress (yours "
		"only, unless you are\nroot or the Slurm user).\n");
}

/* Jobs the daemon could not thaw yet (root's view); absent: none known. */
static void print_frozen(json_t *frozen)
{
	json_t *v, *p;
	size_t i, k;

	if (!json_array_size(frozen))
		return;
	printf("\n%zu frozen, thaw being retried\n", json_array_size(frozen));
	json_array_foreach(frozen, i, v) {
		printf("  move %lld (journal %s): pids",
		       json_integer_value(json_object_get(v, "move")),
		       json_string_value(json_object_get(v, "journal")));
		json_array_foreach(json_object_get(v, "pids"), k, p)
			printf("%s%lld", k ? "," : " ", json_integer_value(p));
		json_array_foreach(json_object_get(v, "cgroups"), k, p)
			printf(" cgroup %s", json_string_value(p));
		printf("; %lld failed attempt%s, next in %lld s: %s\n",
		       json_integer_value(json_object_get(v, "attempts")),
		       json_integer_value(json_object_get(v, "attempts")) == 1 ?
		       "" : "s",
		       json_integer_value(json_object_get(v, "retry_in_s")),
		       json_string_value(json_object_get(v, "error")));
	}
}

/* Moves waiting for their nodes, in the order they will run. */
static void print_queue(json_t *queue)
{
	size_t i;
	json_t *v;

	if (!json_array_size(queue))
		return;
	printf("\n%zu move%s waiting\n", json_array_size(queue),
	       json_array_size(queue) == 1 ? "" : "s");
	json_array_foreach(queue, i, v)
		printf("  %lld. move %lld: %s (%s), nodes %s, waiting %.1f s: "
		       "%s\n",
		       json_integer_value(json_object_get(v, "position")),
		       json_integer_value(json_object_get(v, "id")),
		       json_string_value(json_object_get(v, "what")),
		       json_string_value(json_object_get(v, "priority")),
		       json_string_value(json_object_get(v, "nodes")),
		       json_number_value(json_object_get(v, "seconds")),
		       json_string_value(json_object_get(v, "reason")));
}

static void print_status(json_t *r)
{
	json_t *tasks = json_object_get(r, "tasks");
	json_t *jobs = json_object_get(r, "jobs");
	json_t *moves = json_object_get(r, "moves");
	size_t i;
	json_t *v;

	printf("%zu registered task%s in %zu job%s\n", json_array_size(tasks),
	       json_array_size(tasks) == 1 ? "" : "s", json_array_size(jobs),
	       json_array_size(jobs) == 1 ? "" : "s");
	json_array_foreach(jobs, i, v) {
		json_t *procs = json_object_get(v, "processes"), *p;
		size_t k, nranks = 0;

		json_array_foreach(procs, k, p)
			nranks += !strcmp(json_string_value(json_object_get(
					p, "role")) ?: "", "rank");
		printf("  job %lld: %lld tasks, uid %lld",
		       json_integer_value(json_object_get(v, "job")),
		       json_integer_value(json_object_get(v, "tasks")),
		       json_integer_value(json_object_get(v, "uid")));
		if (procs)
			printf(", %zu MPI rank%s in %zu processes", nranks,
			       nranks == 1 ? "" : "s", json_array_size(procs));
		printf("\n");
	}
	if (json_array_size(tasks))
		printf("\n%8s %6s %10s %6s %8s\n", "pid", "rank", "job", "step",
		       "uid");
	json_array_foreach(tasks, i, v) {
		json_t *job = json_object_get(v, "job");
		json_t *step = json_object_get(v, "step");
		char j[24] = "-", s[24] = "-";

		if (job)
			snprintf(j, sizeof(j), "%lld", json_integer_value(job));
		if (step)
			snprintf(s, sizeof(s), "%lld",
				 json_integer_value(step));
		printf("%8lld %6lld %10s %6s %8lld\n",
		       json_integer_value(json_object_get(v, "pid")),
		       json_integer_value(json_object_get(v, "rank")), j, s,
		       json_integer_value(json_object_get(v, "uid")));
	}
	printf("\n%zu move%s in progress\n", json_array_size(moves),
	       json_array_size(moves) == 1 ? "" : "s");
	json_array_foreach(moves, i, v) {
		char d[32], t[32];

		printf("  move %lld: %s, nodes %s, %s, %s of %s, %.1f s\n",
		       json_integer_value(json_object_get(v, "id")),
		       json_string_value(json_object_get(v, "what")),
		       json_string_value(json_object_get(v, "nodes")) ?: "-",
		       json_string_value(json_object_get(v, "phase")),
		       nm_format_bytes((uint64_t)json_integer_value(
				json_object_get(v, "bytes_done")), d, sizeof(d)),
		       nm_format_bytes((uint64_t)json_integer_value(
				json_object_get(v, "bytes_total")), t,
				sizeof(t)),
		       json_number_value(json_object_get(v, "seconds")));
	}
	print_queue(json_object_get(r, "queue"));
	print_frozen(json_object_get(r, "frozen"));
}

int nm_cmd_status(int argc, char **argv)
{
	struct nm_request req = { .op = NM_OP_STATUS, .job = NM_NO_ID,
				  .step = NM_NO_ID };
	const char *socket = NULL;
	bool json = false;
	const struct nm_cli_opt opts[] = {
		{ "socket", required_argument, &socket, NULL },
		{ "json", no_argument, NULL, &json },
		{ NULL, 0, NULL, NULL },
	};
	json_t *r;
	int rc = nm_cli_options(argc, argv, "status", opts);

	if (rc > 0) {
		status_usage(stdout);
		exit(NM_EXIT_OK);
	}
	if (rc < 0)
		return NM_EXIT_USAGE;
	if (optind < argc) {
		nm_cli_error("status: unexpected argument '%s'", argv[optind]);
		return NM_EXIT_USAGE;
	}
	rc = call(socket, &req, "status", &r);
	if (rc)
		return rc;
	if (json) {
		json_object_del(r, "version");
		json_object_del(r, "ok");
		json_dumpf(r, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		print_status(r);
	}
	json_decref(r);
	return NM_EXIT_OK;
}

/* ---- register / unregister ----------------------------------------------- */

static void register_usage(FILE *out)
{
	fprintf(out,
		"Usage: numamigrate register [--socket PATH] (--pid PID[,PID...] "
		"[--rank R[,R...]] | --cgroup PATH)\n"
		"                            [--job JOBID [--step STEPID]]\n\n"
		"Registers a job's tasks with numamigrated: the i-th pid has "
		"the i-th rank\n(default: 0, 1, ...); with --cgroup, every "
		"process of the cgroup, ranked in\nits cgroup.procs order.\n");
}

static void unregister_usage(FILE *out)
{
	fprintf(out, "Usage: numamigrate unregister [--socket PATH] (--pid "
		"PID[,PID...] | --job JOBID)\n");
}

/* "R[,R...]" into @ranks; exactly @n of them. */
static int parse_ranks(const char *s, int *ranks, int n)
{
	const char *p = s;
	int i = 0;

	while (*p) {
		unsigned long long v;
		char buf[16];
		size_t len = strcspn(p, ",");

		if (len == 0 || len >= sizeof(buf) || i == n)
			goto bad;
		memcpy(buf, p, len);
		buf[len] = '\0';
		if (nm_cli_parse_uint(buf, NM_MAX_TASKS - 1, &v,
				      "register: rank") < 0)
			return -1;
		ranks[i++] = (int)v;
		p += len;
		if (*p == ',' && *++p == '\0')
			goto bad;
	}
	if (i == n)
		return 0;
bad:
	nm_cli_error("register: --rank '%.60s': expected %d comma-separated "
		     "ranks, one per pid", s, n);
	return -1;
}

/* register's and unregister's command line, as given. */
struct register_args {
	const char *socket;	/* --socket, NULL: the default */
	const char *pids;	/* --pid LIST */
	const char *ranks;	/* --rank LIST, one per pid */
	const char *cgroup;	/* --cgroup PATH, instead of --pid */
	const char *job;	/* --job ID */
	const char *step;	/* --step ID, with --job */
};

/*
 * The options register and unregister share; @names says which of them
 * the command takes.  -1 after a message.
 */
static int task_opts(int argc, char **argv, const char *cmd,
		     const char *const *names, void (*usage)(FILE *),
		     struct register_args *a)
{
	const struct nm_cli_opt all[] = {
		{ "socket", required_argument, &a->socket, NULL },
		{ "pid", required_argument, &a->pids, NULL },
		{ "rank", required_argument, &a->ranks, NULL },
		{ "cgroup", required_argument, &a->cgroup, NULL },
		{ "job", required_argument, &a->job, NULL },
		{ "step", required_argument, &a->step, NULL },
	};
	struct nm_cli_opt opts[sizeof(all) / sizeof(*all) + 1];
	int n = 0, rc;

	for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
		for (int k = 0; names[k]; k++)
			if (!strcmp(names[k], all[i].name))
				opts[n++] = all[i];
	opts[n] = (struct nm_cli_opt){ NULL, 0, NULL, NULL };
	rc = nm_cli_options(argc, argv, cmd, opts);
	if (rc > 0) {
		usage(stdout);
		exit(NM_EXIT_OK);
	}
	if (rc < 0)
		return -1;
	if (optind < argc) {
		nm_cli_error("%s: unexpected argument '%s'", cmd, argv[optind]);
		return -1;
	}
	return 0;
}

/* The options and their combinations; -1 after a message. */
static int register_parse(int argc, char **argv, struct register_args *a)
{
	static const char *const names[] = { "socket", "pid", "rank", "cgroup",
					     "job", "step", NULL };

	if (task_opts(argc, argv, "register", names, register_usage, a) < 0)
		return -1;
	if (!!a->pids == !!a->cgroup) {
		nm_cli_error("register: give exactly one of --pid or --cgroup");
		return -1;
	}
	if (a->ranks && !a->pids) {
		nm_cli_error("register: --rank goes with --pid");
		return -1;
	}
	if (a->step && !a->job) {
		nm_cli_error("register: --step needs --job");
		return -1;
	}
	return 0;
}

/* --job and --step as numbers. */
static int register_ids(const struct register_args *a, struct nm_request *req)
{
	unsigned long long v;

	if (a->job) {
		if (nm_cli_parse_uint(a->job, 0xffffffffULL, &v,
				      "register: --job") < 0)
			return -1;
		req->job = v;
	}
	if (a->step) {
		if (nm_cli_parse_uint(a->step, 0xffffffffULL, &v,
				      "register: --step") < 0)
			return -1;
		req->step = v;
	}
	return 0;
}

/* req->tasks from --pid and --rank (ranks 0, 1, ... by default). */
static int register_tasks(const struct register_args *a,
			  struct nm_request *req)
{
	pid_t *pids = calloc(NM_PROTO_MAX_PIDS, sizeof(*pids));
	int *ranks = calloc(NM_PROTO_MAX_PIDS, sizeof(*ranks));
	char err[NM_ERRLEN];
	int n, rc = -1;

	req->tasks = calloc(NM_PROTO_MAX_PIDS, sizeof(*req->tasks));
	if (!pids || !ranks || !req->tasks) {
		nm_cli_error("register: out of memory");
		goto out;
	}
	n = nm_parse_pid_list(a->pids, pids, NM_PROTO_MAX_PIDS, err);
	if (n < 0) {
		nm_cli_error("register: %s", err);
		goto out;
	}
	for (int i = 0; i < n; i++)
		ranks[i] = i;
	if (a->ranks && parse_ranks(a->ranks, ranks, n) < 0)
		goto out;
	for (int i = 0; i < n; i++) {
		req->tasks[i].pid = pids[i];
		req->tasks[i].rank = ranks[i];
	}
	req->ntasks = n;
	rc = 0;
out:
	free(pids);
	free(ranks);
	return rc;
}

int nm_cmd_register(int argc, char **argv)
{
	struct nm_request req = { .op = NM_OP_REGISTER, .job = NM_NO_ID,
				  .step = NM_NO_ID };
	struct register_args a = { 0 };
	int rc = NM_EXIT_USAGE;
	json_t *r;

	if (register_parse(argc, argv, &a) < 0 || register_ids(&a, &req) < 0)
		return NM_EXIT_USAGE;
	req.cgroup = (char *)a.cgroup;	/* only sent, never freed */
	if (a.pids && register_tasks(&a, &req) < 0)
		goto out;
	rc = call(a.socket, &req, "register", &r);
	if (rc == NM_EXIT_OK) {
		printf("registered %lld task(s)\n",
		       json_integer_value(json_object_get(r, "registered")));
		json_decref(r);
	}
out:
	free(req.tasks);
	return rc;
}

/* unregister's options: --pid LIST or --job ID; -1 after a message. */
static int unregister_parse(int argc, char **argv, struct register_args *a)
{
	static const char *const names[] = { "socket", "pid", "job", NULL };

	if (task_opts(argc, argv, "unregister", names, unregister_usage,
		      a) < 0)
		return -1;
	if (!!a->pids == !!a->job) {
		nm_cli_error("unregister: give exactly one of --pid or --job");
		return -1;
	}
	return 0;
}

int nm_cmd_unregister(int argc, char **argv)
{
	struct nm_request req = { .op = NM_OP_UNREGISTER, .job = NM_NO_ID,
				  .step = NM_NO_ID };
	struct register_args a = { 0 };
	unsigned long long v;
	pid_t *pids = NULL;
	char err[NM_ERRLEN];
	int rc = NM_EXIT_USAGE;
	json_t *r;

	if (unregister_parse(argc, argv, &a) < 0)
		return NM_EXIT_USAGE;
	if (a.job) {
		if (nm_cli_parse_uint(a.job, 0xffffffffULL, &v,
				      "unregister: --job") < 0)
			return NM_EXIT_USAGE;
		req.job = v;
	} else {
		pids = calloc(NM_PROTO_MAX_PIDS, sizeof(*pids));
		if (!pids) {
			nm_cli_error("unregister: out of memory");
			return NM_EXIT_USAGE;
		}
		req.npids = nm_parse_pid_list(a.pids, pids, NM_PROTO_MAX_PIDS,
					      err);
		if (req.npids < 0) {
			nm_cli_error("unregister: %s", err);
			goto out;
		}
		req.pids = pids;
	}
	rc = call(a.socket, &req, "unregister", &r);
	if (rc == NM_EXIT_OK) {
		printf("unregistered %lld task(s)\n",
		       json_integer_value(json_object_get(r, "unregistered")));
		json_decref(r);
	}
out:
	free(pids);
	return rc;
}
