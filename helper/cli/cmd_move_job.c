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

struct host_call {
	const struct nm_request *req;
	const struct nm_slurm_host *host;
	const char *socket;		/* NULL: over TCP */
	int port;
	const char *munge_socket;
	json_t *reply;
	char err[NM_ERRLEN];
};

static void *call_host(void *arg)
{
	struct host_call *c = arg;

	if (c->socket)
		c->reply = nm_client_call(c->socket, c->req, -1, NULL, NULL,
					  c->err);
	else
		c->reply = nm_client_call_tcp(c->host->addr, c->port,
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
		char moved[32] = "-", frozen[32] = "-";

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

int nm_cmd_move_job(const struct nm_request *req,
		    const struct nm_move_job_opts *o)
{
	struct nm_slurm_host *hosts = NULL;
	struct host_call *calls = NULL;
	struct nm_slurm_job sj;
	struct nm_config cfg;
	char err[NM_ERRLEN];
	pthread_t *th = NULL;
	int nhosts = 0, nok = 0, rc = NM_EXIT_REFUSED, port;
	bool worst_usage = false;

	if (load_config(o, &cfg, err) < 0) {
		nm_cli_error("move: %s", err);
		return NM_EXIT_USAGE;
	}
	port = cfg.tcp_port;
	if (o->port) {
		unsigned long long p;

		if (nm_cli_parse_uint(o->port, 65535, &p, "move: --port") < 0)
			return NM_EXIT_USAGE;
		if (!p) {
			nm_cli_error("move: --port: expected 1 to 65535");
			return NM_EXIT_USAGE;
		}
		port = (int)p;
	}
	nm_slurm_setup(cfg.slurm_conf);
	if (nm_slurm_job(req->job, &sj, err) < 0) {
		nm_cli_error("move: %s", err);
		return NM_EXIT_REFUSED;
	}
	if (sj.state != NM_SLURM_RUNNING && sj.state != NM_SLURM_SUSPENDED) {
		nm_cli_error("move: Slurm job %llu is %s: only a running or "
			     "suspended job can be moved",
			     (unsigned long long)req->job, sj.state_name);
		return NM_EXIT_REFUSED;
	}
	if (nm_slurm_job_hosts(&sj, &hosts, &nhosts, err) < 0) {
		nm_cli_error("move: %s", err);
		return NM_EXIT_REFUSED;
	}
	calls = calloc((size_t)nhosts, sizeof(*calls));
	th = calloc((size_t)nhosts, sizeof(*th));
	if (!calls || !th) {
		nm_cli_error("move: out of memory");
		goto out;
	}
	for (int i = 0; i < nhosts; i++) {
		calls[i].req = req;
		calls[i].host = &hosts[i];
		calls[i].port = port;
		calls[i].munge_socket = o->munge_socket ? o->munge_socket :
					cfg.munge_socket;
		if (!o->tcp && is_this_host(&hosts[i], cfg.slurm_node))
			calls[i].socket = o->socket ? o->socket :
					  nm_client_default_socket();
	}
	/* Every host at once: a job's hosts move in parallel. */
	for (int i = 0; i < nhosts; i++) {
		int e = pthread_create(&th[i], NULL, call_host, &calls[i]);

		if (e) {
			snprintf(calls[i].err, sizeof(calls[i].err),
				 "cannot start a thread: %s", strerror(e));
			th[i] = 0;
		}
	}
	for (int i = 0; i < nhosts; i++)
		if (th[i])
			pthread_join(th[i], NULL);
	for (int i = 0; i < nhosts; i++) {
		json_t *r = calls[i].reply;

		if (r && json_is_true(json_object_get(r, "ok")))
			nok++;
		else if (r && nm_cli_exit_for(r) == NM_EXIT_USAGE)
			worst_usage = true;
	}
	if (o->json) {
		json_t *out = json_pack("{s:I, s:s, s:b, s:[]}", "job",
					(json_int_t)req->job, "state",
					sj.state_name, "ok", nok == nhosts,
					"hosts");

		for (int i = 0; out && i < nhosts; i++)
			json_array_append_new(json_object_get(out, "hosts"),
					      host_json(&calls[i]));
		if (out) {
			json_dumpf(out, stdout, JSON_INDENT(2));
			putchar('\n');
		}
		json_decref(out);
	} else {
		print_table(req->job, calls, nhosts, nok);
	}
	if (nok == nhosts)
		rc = NM_EXIT_OK;
	else {
		nm_cli_error("move: job %llu: %d of %d host%s failed",
			     (unsigned long long)req->job, nhosts - nok,
			     nhosts, nhosts == 1 ? "" : "s");
		rc = worst_usage && !nok ? NM_EXIT_USAGE : NM_EXIT_REFUSED;
	}
out:
	for (int i = 0; calls && i < nhosts; i++)
		json_decref(calls[i].reply);
	free(calls);
	free(th);
	free(hosts);
	return rc;
}
