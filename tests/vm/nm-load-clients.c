/* SPDX-License-Identifier: MIT */
/*
 * nm-load-clients: 100 concurrent clients against one numamigrated
 * (tests/vm/load.test, run by tests/vm/load-guest.sh).
 *
 * One process, one epoll loop, each client a state machine with its own
 * think time: in the emulated guest the clients share the CPU with the
 * daemon they measure, and every cycle they spend is taken from it (the
 * Python driver this replaces, 100 clients in 4 asyncio processes, spent
 * about as much CPU as the daemon itself).  See usage[] for what runs.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "lib/base/clock.h"
#include "lib/base/target.h"
#include "lib/proto/client.h"
#include "tests/vm/load-report.h"
#include "tests/vm/load-request.h"

#define CLIENTS 100
#define REGISTRARS 10
#define MOVES_PER_JOB 2
#define MOVE_TIMEOUT 600.0	/* seconds, for a move's final reply */
#define OTHER_TIMEOUT 30.0	/* for any other request */
#define MOVERS_AFTER 1.0	/* status traffic first, then the moves */
#define REGISTRAR_JOB0 9000	/* registrar k registers job 9000 + k */

static const char usage[] =
"Usage: nm-load-clients SOCKET JOBS.json\n"
"100 concurrent clients against numamigrated at SOCKET, each on a fresh\n"
"connection per request:\n"
"  - one mover per job of JOBS.json, moving it to AWAY and back HOME (one\n"
"    move after the other, starting 1 s after the others);\n"
"  - 10 registrars: register a sleeper under a job of their own (9000+k)\n"
"    and unregister it, then 0.2-0.6 s of think time;\n"
"  - the rest watchers: status, then 1-2 s of think time;\n"
"until the movers are done.  Before them, what one status costs alone.\n"
"JOBS.json: {\"jobs\": [{\"job\": J, \"pids\": [P], \"nodes\": [HOME, AWAY]},\n"
"...], \"sleepers\": [P, ...]}.\n"
"Prints the 'load:' figures; exits 1 when a status took 1 s or more, a\n"
"request failed, a move was refused without a reason or got no reply,\n"
"none was done or one moved nothing, never two ran at once or none\n"
"waited in the queue; 2 on bad usage or input.\n";

struct job_spec {
	long long job;
	int home, away;
};

struct spec {
	struct job_spec *jobs;
	size_t njobs;
	long long *sleepers;
	size_t nsleepers;
};

enum role { MOVER, REGISTRAR, WATCHER };

struct client {
	enum role role;
	int step;		/* mover: moves asked; registrar: 1 while
				   its unregister is next */
	bool busy, done;
	double wake;		/* when idle: its next request's time */
	long long job;		/* mover, registrar: the job it names */
	int to[2];		/* mover: AWAY, HOME, by turns */
	struct load_frame frame[2];	/* mover: to them; registrar:
					   register, unregister */
	struct load_request req;
};

struct run {
	const char *path;
	int ep;
	struct client c[CLIENTS];
	int nclients, ndone;
	int moving;		/* movers not done: the others stop at 0 */
	struct load_frame status;
	struct load_stats st;
};

static void die(const char *what, const char *err)
{
	fprintf(stderr, "nm-load-clients: %s: %s\n", what, err);
	exit(2);
}

static double uniform(double a, double b)
{
	return a + (b - a) * drand48();
}

/* ---- the spec: JOBS.json ------------------------------------------------- */

static int read_job(json_t *o, size_t i, struct job_spec *j, char *err)
{
	json_t *id = json_object_get(o, "job");
	json_t *nodes = json_object_get(o, "nodes");
	json_t *home = json_array_get(nodes, 0), *away = json_array_get(nodes, 1);

	if (!json_is_integer(id) || json_integer_value(id) < 0 ||
	    json_array_size(nodes) != 2 || !json_is_integer(home) ||
	    !json_is_integer(away) || json_integer_value(home) < 0 ||
	    json_integer_value(home) >= NM_MAX_NODES ||
	    json_integer_value(away) < 0 ||
	    json_integer_value(away) >= NM_MAX_NODES) {
		nm_seterr(err, "\"jobs\": entry %zu needs \"job\" (an id) "
			  "and \"nodes\" ([HOME, AWAY], node numbers)", i);
		return -1;
	}
	j->job = json_integer_value(id);
	j->home = (int)json_integer_value(home);
	j->away = (int)json_integer_value(away);
	return 0;
}

static int read_sleepers(json_t *a, struct spec *s, char *err)
{
	size_t i;
	json_t *v;

	if (!json_is_array(a) || !json_array_size(a)) {
		nm_seterr(err, "\"sleepers\": expected a list of pids, not empty");
		return -1;
	}
	s->nsleepers = json_array_size(a);
	s->sleepers = calloc(s->nsleepers, sizeof(*s->sleepers));
	if (!s->sleepers) {
		nm_seterr(err, "out of memory");
		return -1;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0) {
			nm_seterr(err, "\"sleepers\": entry %zu is not a pid", i);
			return -1;
		}
		s->sleepers[i] = json_integer_value(v);
	}
	return 0;
}

static int read_spec(const char *file, struct spec *s, char *err)
{
	json_error_t jerr;
	json_t *o = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
	json_t *jobs = json_object_get(o, "jobs"), *v;
	int rc = -1;
	size_t i;

	if (!o) {
		nm_seterr(err, "%s: %s", file, jerr.text);
		return -1;
	}
	if (!json_is_array(jobs) ||
	    json_array_size(jobs) > CLIENTS - REGISTRARS) {
		nm_seterr(err, "%s: \"jobs\": expected a list of at most %d",
			  file, CLIENTS - REGISTRARS);
		goto out;
	}
	s->njobs = json_array_size(jobs);
	s->jobs = calloc(s->njobs + 1, sizeof(*s->jobs));
	if (!s->jobs) {
		nm_seterr(err, "out of memory");
		goto out;
	}
	json_array_foreach(jobs, i, v)
		if (read_job(v, i, &s->jobs[i], err) < 0)
			goto out;
	rc = read_sleepers(json_object_get(o, "sleepers"), s, err);
out:
	json_decref(o);
	return rc;
}

/* ---- the clients and their requests -------------------------------------- */

static void move_frame(long long job, int to, struct load_frame *f)
{
	struct nm_request req = { .op = NM_OP_MOVE, .job = (uint64_t)job,
				  .step = NM_NO_ID, .has_target = true };
	char err[NM_ERRLEN], nodes[16];

	snprintf(nodes, sizeof(nodes), "%d", to);
	if (nm_target_parse_nodes(nodes, &req.target, err) < 0 ||
	    load_frame_make(&req, f, err) < 0)
		die("move request", err);
}

static void register_frames(long long job, long long pid,
			    struct load_frame f[2])
{
	struct nm_req_task task = { .pid = (pid_t)pid, .rank = 0 };
	struct nm_request reg = { .op = NM_OP_REGISTER, .job = (uint64_t)job,
				  .step = NM_NO_ID, .ntasks = 1,
				  .tasks = &task };
	struct nm_request unreg = { .op = NM_OP_UNREGISTER,
				    .job = (uint64_t)job, .step = NM_NO_ID };
	char err[NM_ERRLEN];

	if (load_frame_make(&reg, &f[0], err) < 0 ||
	    load_frame_make(&unreg, &f[1], err) < 0)
		die("register request", err);
}

/* Movers first, then the registrars, the watchers for the rest. */
static void make_clients(struct run *r, const struct spec *s, double t0)
{
	struct nm_request status = { .op = NM_OP_STATUS, .job = NM_NO_ID,
				     .step = NM_NO_ID };
	char err[NM_ERRLEN];
	int n = 0;

	if (load_frame_make(&status, &r->status, err) < 0)
		die("status request", err);
	for (size_t i = 0; i < s->njobs; i++, n++) {
		struct client *c = &r->c[n];

		*c = (struct client){ .role = MOVER, .wake = t0 + MOVERS_AFTER,
				      .job = s->jobs[i].job,
				      .to = { s->jobs[i].away,
					      s->jobs[i].home } };
		move_frame(c->job, c->to[0], &c->frame[0]);
		move_frame(c->job, c->to[1], &c->frame[1]);
	}
	for (int k = 0; k < REGISTRARS; k++, n++) {
		struct client *c = &r->c[n];

		*c = (struct client){ .role = REGISTRAR, .wake = t0,
				      .job = REGISTRAR_JOB0 + k };
		register_frames(c->job, s->sleepers[(size_t)k % s->nsleepers],
				c->frame);
	}
	for (; n < CLIENTS; n++)
		r->c[n] = (struct client){ .role = WATCHER, .wake = t0 };
	for (n = 0; n < CLIENTS; n++)
		r->c[n].req.fd = -1;
	r->nclients = CLIENTS;
	r->moving = (int)s->njobs;
}

static enum load_kind kind_of(const struct client *c)
{
	if (c->role == MOVER)
		return LOAD_MOVE;
	if (c->role == REGISTRAR)
		return c->step ? LOAD_UNREGISTER : LOAD_REGISTER;
	return LOAD_STATUS;
}

static const struct load_frame *frame_of(struct run *r, struct client *c)
{
	if (c->role == MOVER)
		return &c->frame[c->step % 2];
	if (c->role == REGISTRAR)
		return &c->frame[c->step];
	return &r->status;
}

static void record_failure(struct run *r, struct client *c, const char *err)
{
	if (c->role == WATCHER)
		load_error(&r->st, "status: %s", err);
	else
		load_error(&r->st, "%s job %lld: %s",
			   load_kind_name(kind_of(c)), c->job, err);
}

static bool reply_ok(json_t *reply)
{
	return json_is_true(json_object_get(reply, "ok"));
}

static const char *reply_error(json_t *reply)
{
	const char *e = json_string_value(json_object_get(reply, "error"));

	return e ? e : "";
}

/* A move's outcome, as its reply says. */
static void seen_move(struct run *r, struct client *c, json_t *reply)
{
	json_t *res = json_object_get(reply, "result");
	json_t *q = json_object_get(res, "queue_seconds");
	struct load_move m = {
		.job = c->job, .to = c->to[c->step % 2],
		.ok = reply_ok(reply),
		.waited_known = json_is_number(q),
		.queue_seconds = json_number_value(q),
		.bytes_moved = json_integer_value(json_object_get(res,
								  "bytes_moved")),
	};

	snprintf(m.reason, sizeof(m.reason), "%s", reply_error(reply));
	if (load_add_move(&r->st, &m) < 0)
		die("moves", "out of memory");
}

/* The most moves running, waiting, and the furthest queue position. */
static bool seen_status(struct run *r, json_t *reply)
{
	json_t *moves = json_object_get(reply, "moves");
	json_t *queue = json_object_get(reply, "queue"), *q;
	struct load_stats *st = &r->st;
	size_t i;

	if (!json_is_array(moves) || !json_is_array(queue))
		return false;
	if ((int)json_array_size(moves) > st->max_running)
		st->max_running = (int)json_array_size(moves);
	if ((int)json_array_size(queue) > st->max_waiting)
		st->max_waiting = (int)json_array_size(queue);
	json_array_foreach(queue, i, q) {
		int pos = (int)json_integer_value(json_object_get(q,
								  "position"));

		if (pos > st->max_position)
			st->max_position = pos;
	}
	return true;
}

/* What a reply means to its client; false: the request failed. */
static bool seen_reply(struct run *r, struct client *c, json_t *reply)
{
	if (c->role == MOVER) {
		seen_move(r, c, reply);
		return true;
	}
	if (!reply_ok(reply)) {
		record_failure(r, c, reply_error(reply));
		return false;
	}
	if (c->role == WATCHER && !seen_status(r, reply)) {
		record_failure(r, c, "the reply has no moves or queue list");
		return false;
	}
	return true;
}

/* The client's next step after a request, @ok or not. */
static void advance(struct run *r, struct client *c, bool ok, double now)
{
	c->wake = now;
	switch (c->role) {
	case MOVER:
		if (++c->step < MOVES_PER_JOB)
			return;
		c->done = true;
		r->ndone++;
		r->moving--;
		return;
	case REGISTRAR:
		c->step = !c->step;
		if (!c->step)
			c->wake = now + uniform(0.2, 0.6);
		return;
	case WATCHER:
		if (ok)
			c->wake = now + uniform(1.0, 2.0);
		return;
	}
}

/* A request ended: @rc 1 with a reply in c->req, -1 failed with @err. */
static void finished(struct run *r, struct client *c, int rc,
		     const char *err)
{
	double now = nm_now_seconds();
	bool ok = false;

	c->busy = false;
	if (rc > 0) {
		if (load_add(&r->st, kind_of(c), now - c->req.t0) < 0)
			die("latencies", "out of memory");
		ok = seen_reply(r, c, c->req.reply);
		json_decref(c->req.reply);
		c->req.reply = NULL;
	} else {
		record_failure(r, c, err);
	}
	advance(r, c, ok, now);
}

static void start(struct run *r, struct client *c)
{
	char err[NM_ERRLEN];
	/* The others stop once the moves are done; an unregister is sent. */
	bool stop = c->role == WATCHER ||
		    (c->role == REGISTRAR && c->step == 0);

	if (stop && !r->moving) {
		c->done = true;
		r->ndone++;
		return;
	}
	c->busy = true;
	if (load_request_start(&c->req, r->ep, c, r->path, frame_of(r, c),
			       c->role == MOVER ? MOVE_TIMEOUT : OTHER_TIMEOUT,
			       err) < 0)
		finished(r, c, -1, err);
}

/*
 * Starts the requests whose time has come, ends those past their
 * deadline; the milliseconds until the next of either.
 */
static int due(struct run *r)
{
	double now = nm_now_seconds(), next = now + 60;

	for (int i = 0; i < r->nclients; i++) {
		struct client *c = &r->c[i];

		if (!c->busy && !c->done && c->wake <= now)
			start(r, c);
		if (c->busy && c->req.deadline <= now) {
			load_request_close(&c->req);
			finished(r, c, -1, "no reply in time");
		}
		if (c->done)
			continue;
		if (c->busy && c->req.deadline < next)
			next = c->req.deadline;
		if (!c->busy && c->wake < next)
			next = c->wake;
	}
	return next <= now ? 0 : (int)((next - now) * 1e3) + 1;
}

static void run_clients(struct run *r)
{
	struct epoll_event ev[CLIENTS];
	char err[NM_ERRLEN];

	for (;;) {
		int ms = due(r), n;

		if (r->ndone == r->nclients)
			return;
		n = epoll_wait(r->ep, ev, CLIENTS, ms);
		if (n < 0 && errno != EINTR)
			die("epoll_wait", strerror(errno));
		for (int i = 0; i < n; i++) {
			struct client *c = ev[i].data.ptr;
			int rc = load_request_step(&c->req, r->ep, err);

			if (rc)
				finished(r, c, rc, err);
		}
	}
}

/* ---- what one status costs alone, then the load ------------------------- */

static double timed_call(const char *path, enum nm_op op)
{
	struct nm_request req = { .op = op, .job = NM_NO_ID,
				  .step = NM_NO_ID };
	char err[NM_ERRLEN];
	double t0 = nm_now_seconds();
	json_t *reply = nm_client_call(path, &req, (int)(OTHER_TIMEOUT * 1e3),
				       NULL, NULL, err);

	if (!reply) {
		printf("FAIL: alone: %s: %s\n", nm_op_name(op), err);
		exit(1);
	}
	json_decref(reply);
	return nm_now_seconds() - t0;
}

static void alone(const char *path)
{
	static const struct timespec apart = { 0, 600 * 1000 * 1000 };
	double fresh[5], shared[5], ping[5];
	struct load_samples f = { fresh, 0, 5 }, s = { shared, 0, 5 },
			    p = { ping, 0, 5 };

	for (int i = 0; i < 5; i++) {
		nanosleep(&apart, NULL);	/* the daemon's table read since */
		fresh[f.n++] = timed_call(path, NM_OP_STATUS);
	}
	for (int i = 0; i < 5; i++) {
		shared[s.n++] = timed_call(path, NM_OP_STATUS);
		ping[p.n++] = timed_call(path, NM_OP_PING);
	}
	printf("load: alone: status %.3f s (0.6 s apart), %.3f s (back to "
	       "back), ping %.3f s (medians of 5)\n", load_pct(&f, 50),
	       load_pct(&s, 50), load_pct(&p, 50));
	fflush(stdout);
}

static double cpu_seconds(void)
{
	struct rusage u;

	getrusage(RUSAGE_SELF, &u);
	return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
	       (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

static void release(struct run *r, struct spec *s)
{
	for (int i = 0; i < r->nclients; i++) {
		free(r->c[i].frame[0].bytes);
		free(r->c[i].frame[1].bytes);
		load_request_free(&r->c[i].req);
	}
	free(r->status.bytes);
	load_stats_free(&r->st);
	close(r->ep);
	free(s->jobs);
	free(s->sleepers);
}

int main(int argc, char **argv)
{
	static struct run r;
	struct spec s = { 0 };
	char err[NM_ERRLEN];
	double t0, cpu0;
	int bad;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr, "nm-load-clients: expected SOCKET JOBS.json "
			"(--help: more)\n");
		return 2;
	}
	if (read_spec(argv[2], &s, err) < 0)
		die("bad input", err);
	srand48((long)time(NULL) ^ (long)getpid());
	r.path = argv[1];
	r.ep = epoll_create1(EPOLL_CLOEXEC);
	if (r.ep < 0)
		die("epoll_create1", strerror(errno));
	alone(r.path);
	t0 = nm_now_seconds();
	cpu0 = cpu_seconds();
	make_clients(&r, &s, t0);
	run_clients(&r);
	bad = load_report(&r.st, CLIENTS, MOVES_PER_JOB, nm_now_seconds() - t0,
			  cpu_seconds() - cpu0);
	fflush(stdout);
	release(&r, &s);
	return bad ? 1 : 0;
}
