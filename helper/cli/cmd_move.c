/* SPDX-License-Identifier: MIT */
/* numamigrate move: ask numamigrated to move a job, and wait for it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helper/cli/cli.h"
#include "helper/cli/cli_daemon.h"
#include "lib/base/clock.h"
#include "lib/base/limits.h"
#include "lib/proto/client.h"
#include "helper/site/conf.h"
#include "lib/core/job.h"
#include "lib/base/units.h"

struct move_args {
	const char *socket;
	const char *pids, *cgroup, *job, *to, *map, *threads, *engine,
		   *mode;
	bool json;
	/* the job form: numamigrate move JOBID ... */
	const char *jobid, *port, *munge_socket, *config;
	bool tcp;
};

static void move_usage(FILE *out)
{
	fprintf(out,
		"Usage: numamigrate move [--socket PATH] (--pid PID[,PID...] "
		"| --cgroup PATH | --job JOBID)\n"
		"                        (--to NODES | --map OLD:NEW) "
		"[--threads N] [--engine auto|kmod|syscall]\n"
		"                        [--mode frozen|live] [--json]\n"
		"       numamigrate move JOBID (--to NODES | --map OLD:NEW) "
		"[--port N] [--munge-socket PATH]\n"
		"                        [--config FILE] [--tcp] [--socket PATH] "
		"[--threads N] [--engine E] [--mode M] [--json]\n\n"
		"Moves a running or suspended job's memory and CPU binding to "
		"other NUMA nodes\nthrough numamigrated, and waits until it is "
		"done.\n\n"
		"  JOBID             a Slurm job, on every host it runs on: the "
		"hosts come from\n"
		"                    Slurm; this host's daemon is reached on its "
		"socket, the\n"
		"                    others' over TCP with a MUNGE credential; "
		"one line (or,\n"
		"                    with --json, one object) per host\n"
		"  --pid PID,...     these processes (and their threads and "
		"children)\n"
		"  --cgroup PATH     every process of this cgroup directory\n"
		"  --job JOBID       the registered tasks of this Slurm job, on "
		"this host only\n"
		"  --to NODES        target node set; the planner picks the "
		"map\n"
		"  --map OLD:NEW     i-th old node -> i-th new node\n"
		"  --threads N       migration threads (default: the "
		"daemon's)\n"
		"  --engine E        auto (default: the daemon's engine =), "
		"syscall (move_pages),\n"
		"                    or kmod (the kernel module; fails if "
		"not loaded)\n"
		"  --mode M          frozen: the job is frozen for the whole "
		"move; live: it runs\n"
		"                    while its pages move, frozen only for a "
		"final pass\n"
		"                    (default: the daemon's [move] mode)\n"
		"  --socket PATH     the daemon's socket (default %s)\n"
		"  --json            one JSON object instead of the summary\n"
		"  --port N          the daemons' TCP port (default: [tcp] port "
		"of the config,\n"
		"                    else %d)\n"
		"  --munge-socket P  munged's socket (default: [tcp] "
		"munge_socket, else libmunge's)\n"
		"  --config FILE     read [tcp] and [slurm] from FILE (default "
		"%s)\n"
		"  --tcp             reach this host's daemon over TCP too\n",
		nm_client_default_socket(), NM_DEFAULT_TCP_PORT,
		NM_DEFAULT_CONFIG);
}

static int parse_args(int argc, char **argv, struct move_args *a)
{
	const struct nm_cli_opt opts[] = {
		{ "socket", required_argument, &a->socket, NULL },
		{ "pid", required_argument, &a->pids, NULL },
		{ "cgroup", required_argument, &a->cgroup, NULL },
		{ "job", required_argument, &a->job, NULL },
		{ "to", required_argument, &a->to, NULL },
		{ "map", required_argument, &a->map, NULL },
		{ "threads", required_argument, &a->threads, NULL },
		{ "engine", required_argument, &a->engine, NULL },
		{ "mode", required_argument, &a->mode, NULL },
		{ "json", no_argument, NULL, &a->json },
		{ "port", required_argument, &a->port, NULL },
		{ "munge-socket", required_argument, &a->munge_socket, NULL },
		{ "config", required_argument, &a->config, NULL },
		{ "tcp", no_argument, NULL, &a->tcp },
		{ NULL, 0, NULL, NULL },
	};
	int rc = nm_cli_options(argc, argv, "move", opts);

	if (rc > 0) {
		move_usage(stdout);
		exit(NM_EXIT_OK);
	}
	if (rc < 0)
		return -1;
	if (optind < argc)
		a->jobid = argv[optind++];
	if (optind < argc) {
		nm_cli_error("move: unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (!!a->pids + !!a->cgroup + !!a->job + !!a->jobid != 1) {
		nm_cli_error("move: give exactly one of JOBID, --pid, --cgroup "
			     "or --job");
		return -1;
	}
	if (!a->jobid && (a->port || a->munge_socket || a->config || a->tcp)) {
		nm_cli_error("move: --port, --munge-socket, --config and --tcp "
			     "go with the JOBID form");
		return -1;
	}
	if (!!a->to == !!a->map) {
		nm_cli_error("move: give exactly one of --to or --map");
		return -1;
	}
	return 0;
}

/* The progress bar on stderr, shown once a move has run for a second. */
struct bar {
	double start;	/* nm_now_seconds() when the request went out */
	bool shown;	/* drawn at least once: end the line when done */
};

static void on_progress(void *arg, json_t *frame)
{
	struct bar *b = arg;
	json_t *p = json_object_get(frame, "progress");
	uint64_t done = (uint64_t)json_integer_value(json_object_get(p,
							"bytes_done"));
	uint64_t total = (uint64_t)json_integer_value(json_object_get(p,
							"bytes_total"));
	const char *phase = json_string_value(json_object_get(p, "phase"));
	char d[32], t[32], line[48];
	int fill, pct;

	/* Only on a terminal, and only for moves that take a while. */
	if (nm_now_seconds() - b->start < 1.0)
		return;
	pct = total ? (int)(done * 100 / total) : 0;
	if (pct > 100)
		pct = 100;
	fill = pct * 30 / 100;
	memset(line, '#', (size_t)fill);
	memset(line + fill, '.', (size_t)(30 - fill));
	line[30] = '\0';
	fprintf(stderr, "\r[%s] %3d%% %s / %s %-10s", line, pct,
		nm_format_bytes(done, d, sizeof(d)),
		nm_format_bytes(total, t, sizeof(t)), phase ? phase : "");
	fflush(stderr);
	b->shown = true;
}

/* A live move: what moved while the job ran, and what frozen. */
static void print_mode(json_t *res)
{
	const char *mode = json_string_value(json_object_get(res, "mode"));
	char bl[32], bf[32];

	printf("mode:        %s\n", mode ? mode : "frozen");
	if (!mode || strcmp(mode, "live"))
		return;
	nm_format_bytes((uint64_t)json_integer_value(json_object_get(res,
			"bytes_moved_live")), bl, sizeof(bl));
	nm_format_bytes((uint64_t)json_integer_value(json_object_get(res,
			"bytes_moved_frozen")), bf, sizeof(bf));
	printf("live:        %lld passes, %s moved in %.3f s while the job "
	       "ran\n", json_integer_value(json_object_get(res, "passes")), bl,
	       json_number_value(json_object_get(res, "live_seconds")));
	printf("final pass:  %s moved while frozen\n", bf);
}

/* Shared memory of others that an unprivileged move left in place. */
static void print_shared_skipped(json_t *sk)
{
	json_t *maps = json_object_get(sk, "mappings"), *v;
	char b[32];
	size_t i;

	if (!json_integer_value(json_object_get(sk, "pages")))
		return;
	printf("skipped:     %lld pages (%s) of shared memory others own, "
	       "not moved\n",
	       json_integer_value(json_object_get(sk, "pages")),
	       nm_format_bytes((uint64_t)json_integer_value(
			       json_object_get(sk, "bytes")), b, sizeof(b)));
	json_array_foreach(maps, i, v) {
		if (i == 10) {
			printf("             ... (--json lists them all)\n");
			break;
		}
		printf("             pid %lld %s-%s %s (uid %lld): %lld pages\n",
		       json_integer_value(json_object_get(v, "pid")),
		       json_string_value(json_object_get(v, "start")),
		       json_string_value(json_object_get(v, "end")),
		       json_string_value(json_object_get(v, "path")),
		       json_integer_value(json_object_get(v, "owner")),
		       json_integer_value(json_object_get(v, "pages")));
	}
}

/* The pages not moved, by reason, and the first of them one a line. */
static void print_not_moved(json_t *res)
{
	static const char *const kinds[] = { "busy", "nomem", "gone", "access",
					     "other", "cancelled" };
	json_t *byk = json_object_get(res, "failed_by_reason");
	json_int_t failed = json_integer_value(json_object_get(res,
							       "pages_failed"));
	const char *sep = " (";
	size_t i;
	json_t *v;

	printf("not moved:   %lld pages", failed);
	for (i = 0; failed && i < sizeof(kinds) / sizeof(*kinds); i++) {
		json_int_t n = json_integer_value(json_object_get(byk,
								  kinds[i]));

		if (n) {
			printf("%s%s: %lld", sep, kinds[i], n);
			sep = ", ";
		}
	}
	printf("%s\n", failed ? ")" : "");
	json_array_foreach(json_object_get(res, "failed_pages"), i, v) {
		if (i == 20) {
			printf("             ... (--json lists up to 1024)\n");
			break;
		}
		printf("             pid %lld page %s on node %lld: %s\n",
		       json_integer_value(json_object_get(v, "pid")),
		       json_string_value(json_object_get(v, "addr")),
		       json_integer_value(json_object_get(v, "node")),
		       json_string_value(json_object_get(v, "error")));
	}
}

/* "LABEL 12,34 (WHY)" when the array @pids is not empty. */
static void print_pids(const char *label, json_t *pids, const char *why)
{
	size_t i;
	json_t *v;

	if (!json_array_size(pids))
		return;
	printf("%-13s", label);
	json_array_foreach(pids, i, v)
		printf("%s%lld", i ? "," : "", json_integer_value(v));
	printf(" (%s)\n", why);
}

static void print_summary(json_t *res)
{
	uint64_t bytes = (uint64_t)json_integer_value(
		json_object_get(res, "bytes_moved"));
	double thr = json_number_value(json_object_get(res,
				"throughput_bytes_per_second"));
	char b[32], tb[32];
	size_t i;
	json_t *v;

	printf("moved:       %s in %lld pages\n",
	       nm_format_bytes(bytes, b, sizeof(b)),
	       json_integer_value(json_object_get(res, "pages_moved")));
	print_not_moved(res);
	print_shared_skipped(json_object_get(res, "shared_skipped"));
	print_pids("exited:", json_object_get(res, "tasks_exited"),
		   "exited during the move");
	print_pids("pid reused:", json_object_get(res, "tasks_replaced"),
		   "now another process's: left alone");
	json_array_foreach(json_object_get(res, "cpusets_left_alone"), i, v)
		printf("cpuset:      %s left alone: %s\n",
		       json_string_value(json_object_get(v, "cgroup")),
		       json_string_value(json_object_get(v, "reason")));
	json_array_foreach(json_object_get(res, "errors"), i, v) {
		char *s = json_dumps(v, JSON_COMPACT);

		printf("error:       %s\n", s ? s : "?");
		free(s);
	}
	v = json_object_get(res, "kmod_threads_capped");
	if (json_is_string(v))
		printf("note:        %s\n", json_string_value(v));
	nm_format_bytes((uint64_t)thr, tb, sizeof(tb));
	print_mode(res);
	printf("job frozen:  %.3f s%s\n",
	       json_number_value(json_object_get(res, "frozen_seconds")),
	       json_is_true(json_object_get(res, "was_stopped")) ?
	       " (it was stopped before, and stays stopped)" :
	       json_is_true(json_object_get(res, "left_suspended")) ?
	       " (Slurm suspended it meanwhile: it stays suspended)" : "");
	printf("wall time:   %.3f s; throughput %s/s\n",
	       json_number_value(json_object_get(res, "seconds")), tb);
}

/* --job and --threads: numbers, in range (a message when not). */
static int parse_numbers(const struct move_args *a, struct nm_request *req)
{
	unsigned long long v;

	if (a->job) {
		if (nm_cli_parse_uint(a->job, 0xffffffffULL, &v,
				      "move: --job") < 0)
			return -1;
		req->job = v;
	}
	if (a->threads) {
		if (nm_cli_parse_uint(a->threads, NM_MAX_THREADS, &v,
				      "move: --threads") < 0)
			return -1;
		if (!v) {
			nm_cli_error("move: --threads: expected at least 1");
			return -1;
		}
		req->threads = (int)v;
	}
	return 0;
}

/* The request the options describe; -1 after a message.  Frees: *@pids. */
static int build_request(const struct move_args *a, struct nm_request *req,
			 pid_t **pids)
{
	char err[NM_ERRLEN] = "";

	memset(req, 0, sizeof(*req));
	req->op = NM_OP_MOVE;
	req->job = req->step = NM_NO_ID;
	if ((a->map ? nm_target_parse_map(a->map, &req->target, err) :
		      nm_target_parse_nodes(a->to, &req->target, err)) < 0)
		goto fail;
	req->has_target = true;
	if (a->pids) {
		*pids = calloc(NM_PROTO_MAX_PIDS, sizeof(**pids));
		if (!*pids) {
			snprintf(err, sizeof(err), "out of memory");
			goto fail;
		}
		req->npids = nm_parse_pid_list(a->pids, *pids,
					       NM_PROTO_MAX_PIDS, err);
		if (req->npids < 0)
			goto fail;
		req->pids = *pids;
	}
	if (a->cgroup)
		req->cgroup = (char *)a->cgroup;
	if (parse_numbers(a, req) < 0)
		return -1;
	if (a->engine && nm_engine_parse(a->engine, &req->engine, err) < 0)
		goto fail;
	if (a->mode && nm_mode_parse(a->mode, &req->mode, err) < 0)
		goto fail;
	return 0;
fail:
	nm_cli_error("move: %s", err);
	return -1;
}

/* move JOBID: every host of the Slurm job (cmd_move_job.c). */
static int move_slurm_job(const struct move_args *a, struct nm_request *req)
{
	struct nm_move_job_opts o = {
		.socket = a->socket, .port = a->port,
		.munge_socket = a->munge_socket, .config = a->config,
		.tcp = a->tcp, .json = a->json,
	};
	unsigned long long j;

	if (nm_cli_parse_uint(a->jobid, 0xffffffffULL, &j, "move: JOBID") < 0)
		return NM_EXIT_USAGE;
	req->job = j;
	return nm_cmd_move_job(req, &o);
}

/* The result as JSON (with the reply's ok and error) or as a summary. */
static void print_result(json_t *r, bool json)
{
	json_t *res = json_object_get(r, "result");

	if (json && res) {
		json_object_set(res, "ok", json_object_get(r, "ok"));
		if (json_object_get(r, "error"))
			json_object_set(res, "error",
					json_object_get(r, "error"));
		json_dumpf(res, stdout, JSON_INDENT(2));
		putchar('\n');
	} else if (res) {
		print_summary(res);
	}
}

/* The local daemon, with a progress bar on a terminal. */
static int move_here(const struct move_args *a, struct nm_request *req)
{
	struct bar bar = { 0 };
	char err[NM_ERRLEN] = "";
	json_t *r;
	int rc;

	req->progress = isatty(STDERR_FILENO) && !a->json;
	bar.start = nm_now_seconds();
	r = nm_client_call(a->socket ? a->socket : nm_client_default_socket(),
			   req, -1, req->progress ? on_progress : NULL, &bar,
			   err);
	if (bar.shown)
		fprintf(stderr, "\r%-78s\r", "");
	if (!r) {
		nm_cli_error("move: %s", err);
		return NM_EXIT_REFUSED;
	}
	print_result(r, a->json);
	if (json_is_true(json_object_get(r, "ok"))) {
		rc = NM_EXIT_OK;
	} else {
		nm_cli_error("move: %s (%s)",
			     json_string_value(json_object_get(r, "error")),
			     json_string_value(json_object_get(r, "code")) ?:
			     "error");
		rc = nm_cli_exit_for(r);
	}
	json_decref(r);
	return rc;
}

int nm_cmd_move(int argc, char **argv)
{
	struct move_args a = { 0 };
	struct nm_request req;
	pid_t *pids = NULL;
	int rc = NM_EXIT_USAGE;

	if (parse_args(argc, argv, &a) < 0)
		return NM_EXIT_USAGE;
	if (build_request(&a, &req, &pids) == 0)
		rc = a.jobid ? move_slurm_job(&a, &req) : move_here(&a, &req);
	free(pids);
	return rc;
}
