/* SPDX-License-Identifier: MIT */
/*
 * numamigrate move JOBID: move a Slurm job on every host it runs on.  The
 * hosts come from Slurm; this host's numamigrated is reached on its Unix
 * socket, the others' over TCP with a MUNGE credential (each daemon
 * authorises the request itself).  One result per host.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper/cli/cli.h"
#include "helper/cli/cli_daemon.h"
#include "helper/cli/tcp_client.h"
#include "helper/site/conf.h"
#include "lib/base/units.h"
#include "helper/site/slurm_info.h"

/* One host's request and its answer, for one thread. */
struct host_call {
	const struct nm_request *req;		/* the move, the same for all */
	const struct nm_slurm_host *host;	/* Slurm's name and address */
	const char *socket;			/* this host: Unix; NULL: TCP */
	int port;				/* the daemons' TCP port */
	const char *munge_socket;		/* munged, for TCP credentials */
	json_t *reply;				/* NULL: unreachable (err) */
	char err[NM_ERRLEN];			/* why it was unreachable */
};

static void *call_host(void *arg)
{
	struct host_call *c = arg;

	if (c->socket)
		c->reply = nm_client_call(c->socket, c->req, -1, NULL, NULL,
					  c->err);
	else
		c->reply = nm_client_call_tcp(c->host->addr, c->port,
					      c->host->hostname,
					      c->munge_socket, c->req, NULL,
					      NULL, c->err);
	return NULL;
}

static bool is_this_host(const struct nm_slurm_host *h, const char *node)
{
	char host[256] = "", shorth[256];

	if (node[0])
		return !strcmp(h->name, node);
	if (gethostname(host, sizeof(host) - 1) < 0)
		return false;
	snprintf(shorth, sizeof(shorth), "%s", host);
	shorth[strcspn(shorth, ".")] = '\0';
	return !strcmp(h->name, host) || !strcmp(h->name, shorth) ||
	       !strcmp(h->hostname, host) || !strcmp(h->hostname, shorth);
}

/* The config's [tcp] and [slurm] settings; a missing default file is fine. */
static int load_config(const struct nm_move_job_opts *o, struct nm_config *cfg,
		       char *err)
{
	nm_config_defaults(cfg);
	if (o->config)
		return nm_config_load(cfg, o->config, true, err);
	if (access(NM_DEFAULT_CONFIG, R_OK) < 0)
		return 0;	/* absent, or root's only: the defaults */
	return nm_config_load(cfg, NM_DEFAULT_CONFIG, false, err);
}

static json_t *host_json(const struct host_call *c)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "host", c->host->name,
			      "address", c->host->addr, "via",
			      c->socket ? "unix" : "tcp");

	if (!o)
		return NULL;
	if (!c->reply) {
		json_object_set_new(o, "ok", json_false());
		json_object_set_new(o, "code", json_string("unreachable"));
		json_object_set_new(o, "error", json_string(c->err));
		return o;
	}
	json_object_set(o, "ok", json_object_get(c->reply, "ok"));
	if (json_object_get(c->reply, "code"))
		json_object_set(o, "code", json_object_get(c->reply, "code"));
	if (json_object_get(c->reply, "error"))
		json_object_set(o, "error", json_object_get(c->reply, "error"));
	if (json_object_get(c->reply, "result"))
		json_object_set(o, "result",
				json_object_get(c->reply, "result"));
	return o;
}

static void print_table(uint64_t job, const struct host_call *calls, int n,
			int nok)
{
	printf("job %llu: moved on %d of %d host%s\n", (unsigned long long)job,
	       nok, n, n == 1 ? "" : "s");
	printf("%-20s %-4s %-11s %10s %9s  %s\n", "HOST", "VIA", "STATUS",
	       "MOVED", "FROZEN", "MESSAGE");
	for (int i = 0; i < n; i++) {
		const struct host_call *c = &calls[i];
		json_t *res = c->reply ? json_object_get(c->reply, "result") :
					 NULL;
		const char *status = !c->reply ? "unreachable" :
			json_is_true(json_object_get(c->reply, "ok")) ? "ok" :
			json_string_value(json_object_get(c->reply, "code")) ?:
			"error";
		const char *msg = !c->reply ? c->err :
			json_string_value(json_object_get(c->reply, "error")) ?:
			"";
		char moved[32] = "-", frozen[32] = "-", note[96];

		if (res && !*msg) {
			/* What an ok move did not do, said in the message. */
			json_int_t sk = json_integer_value(json_object_get(
				json_object_get(res, "shared_skipped"),
				"pages"));

			snprintf(note, sizeof(note), "%s%s",
				 json_is_true(json_object_get(
					 res, "left_suspended")) ?
				 "left suspended (Slurm suspended it during "
				 "the move) " : "", sk ? "shared memory of "
				 "others not moved" : "");
			msg = note;
		}
		if (res) {
			nm_format_bytes((uint64_t)json_integer_value(
				json_object_get(res, "bytes_moved")), moved,
				sizeof(moved));
			snprintf(frozen, sizeof(frozen), "%.3f s",
				 json_number_value(json_object_get(
					 res, "frozen_seconds")));
		}
		printf("%-20s %-4s %-11s %10s %9s  %s\n", c->host->name,
		       c->socket ? "unix" : "tcp", status, moved, frozen, msg);
	}
}

/* The daemons' TCP port: --port over the config's; -1 with a message. */
static int daemon_port(const struct nm_move_job_opts *o,
		       const struct nm_config *cfg)
{
	unsigned long long p;

	if (!o->port)
		return cfg->tcp_port;
	if (nm_cli_parse_uint(o->port, 65535, &p, "move: --port") < 0)
		return -1;
	if (!p) {
		nm_cli_error("move: --port: expected 1 to 65535");
		return -1;
	}
	return (int)p;
}

/* The hosts of a running or suspended job, from Slurm. */
static int job_hosts(const struct nm_config *cfg, uint64_t job,
		     struct nm_slurm_job *sj, struct nm_slurm_host **hosts,
		     int *nhosts)
{
	char err[NM_ERRLEN];

	nm_slurm_setup(cfg->slurm_conf);
	if (nm_slurm_job(job, sj, err) < 0) {
		nm_cli_error("move: %s", err);
		return -1;
	}
	if (sj->state != NM_SLURM_RUNNING && sj->state != NM_SLURM_SUSPENDED) {
		nm_cli_error("move: Slurm job %llu is %s: only a running or "
			     "suspended job can be moved",
			     (unsigned long long)job, sj->state_name);
		return -1;
	}
	if (nm_slurm_job_hosts(sj, hosts, nhosts, err) < 0) {
		nm_cli_error("move: %s", err);
		return -1;
	}
	return 0;
}

/* Every host at once: a job's hosts move in parallel. */
static int call_all(struct host_call *calls, int n)
{
	pthread_t *th = calloc((size_t)n, sizeof(*th));

	if (!th)
		return -1;
	for (int i = 0; i < n; i++) {
		int e = pthread_create(&th[i], NULL, call_host, &calls[i]);

		if (e) {
			snprintf(calls[i].err, sizeof(calls[i].err),
				 "cannot start a thread: %s", strerror(e));
			th[i] = 0;
		}
	}
	for (int i = 0; i < n; i++)
		if (th[i])
			pthread_join(th[i], NULL);
	free(th);
	return 0;
}

static void print_json(uint64_t job, const struct nm_slurm_job *sj,
		       const struct host_call *calls, int n, int nok)
{
	json_t *out = json_pack("{s:I, s:s, s:b, s:[]}", "job",
				(json_int_t)job, "state", sj->state_name,
				"ok", nok == n, "hosts");

	for (int i = 0; out && i < n; i++)
		json_array_append_new(json_object_get(out, "hosts"),
				      host_json(&calls[i]));
	if (out) {
		json_dumpf(out, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	json_decref(out);
}

/* Prints the hosts' results; the exit status for all of them. */
static int report(uint64_t job, const struct nm_slurm_job *sj,
		  const struct host_call *calls, int n, bool json)
{
	bool worst_usage = false;
	int nok = 0;

	for (int i = 0; i < n; i++) {
		json_t *r = calls[i].reply;

		if (r && json_is_true(json_object_get(r, "ok")))
			nok++;
		else if (r && nm_cli_exit_for(r) == NM_EXIT_USAGE)
			worst_usage = true;
	}
	if (json)
		print_json(job, sj, calls, n, nok);
	else
		print_table(job, calls, n, nok);
	if (nok == n)
		return NM_EXIT_OK;
	nm_cli_error("move: job %llu: %d of %d host%s failed",
		     (unsigned long long)job, n - nok, n, n == 1 ? "" : "s");
	return worst_usage && !nok ? NM_EXIT_USAGE : NM_EXIT_REFUSED;
}

int nm_cmd_move_job(const struct nm_request *req,
		    const struct nm_move_job_opts *o)
{
	struct nm_slurm_host *hosts = NULL;
	struct host_call *calls = NULL;
	struct nm_slurm_job sj;
	struct nm_config cfg;
	char err[NM_ERRLEN];
	int nhosts = 0, rc = NM_EXIT_REFUSED, port;

	if (load_config(o, &cfg, err) < 0) {
		nm_cli_error("move: %s", err);
		return NM_EXIT_USAGE;
	}
	port = daemon_port(o, &cfg);
	if (port < 0)
		return NM_EXIT_USAGE;
	if (job_hosts(&cfg, req->job, &sj, &hosts, &nhosts) < 0)
		return NM_EXIT_REFUSED;
	calls = calloc((size_t)nhosts, sizeof(*calls));
	for (int i = 0; calls && i < nhosts; i++) {
		calls[i].req = req;
		calls[i].host = &hosts[i];
		calls[i].port = port;
		calls[i].munge_socket = o->munge_socket ? o->munge_socket :
					cfg.munge_socket;
		if (!o->tcp && is_this_host(&hosts[i], cfg.slurm_node))
			calls[i].socket = o->socket ? o->socket :
					  nm_client_default_socket();
	}
	if (!calls || call_all(calls, nhosts) < 0)
		nm_cli_error("move: out of memory");
	else
		rc = report(req->job, &sj, calls, nhosts, o->json);
	for (int i = 0; calls && i < nhosts; i++)
		json_decref(calls[i].reply);
	free(calls);
	free(hosts);
	return rc;
}
