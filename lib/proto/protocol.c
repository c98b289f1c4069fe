/* SPDX-License-Identifier: MIT */
/* The numamigrated wire protocol: framing and strict request decoding. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/base/clock.h"
#include "lib/base/limits.h"
#include "lib/proto/protocol.h"

static const char *const op_names[] = {
	[NM_OP_PING] = "ping",
	[NM_OP_STATUS] = "status",
	[NM_OP_REGISTER] = "register",
	[NM_OP_UNREGISTER] = "unregister",
	[NM_OP_MOVE] = "move",
	[NM_OP_POLICY] = "policy",
	[NM_OP_REPACK] = "repack",
	[NM_OP_RESTORE] = "restore",
};

static const char *const policy_names[] = {
	[NM_POLICY_AUTO] = "auto",
	[NM_POLICY_NEVER] = "never",
	[NM_POLICY_NODES] = "nodes",
};

static const char *const engine_names[] = {
	[NM_ENGINE_AUTO] = "auto",
	[NM_ENGINE_SYSCALL] = "syscall",
	[NM_ENGINE_KMOD] = "kmod",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

const char *nm_op_name(enum nm_op op)
{
	return (unsigned int)op < ARRAY_SIZE(op_names) ? op_names[op] : "?";
}

const char *nm_engine_name(enum nm_engine_kind e)
{
	return (unsigned int)e < ARRAY_SIZE(engine_names) ?
	       engine_names[e] : "?";
}

int nm_engine_parse(const char *s, enum nm_engine_kind *out, char *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(engine_names); i++)
		if (strcmp(s, engine_names[i]) == 0) {
			*out = (enum nm_engine_kind)i;
			return 0;
		}
	nm_seterr(err, "engine '%.40s': expected auto, kmod or syscall", s);
	return -1;
}

const char *nm_mode_name(enum nm_move_mode m)
{
	return m == NM_MODE_LIVE ? "live" : m == NM_MODE_FROZEN ? "frozen" :
	       "default";
}

int nm_mode_parse(const char *s, enum nm_move_mode *out, char *err)
{
	if (strcmp(s, "frozen") == 0)
		*out = NM_MODE_FROZEN;
	else if (strcmp(s, "live") == 0)
		*out = NM_MODE_LIVE;
	else {
		nm_seterr(err, "mode '%.40s': expected frozen or live", s);
		return -1;
	}
	return 0;
}

const char *nm_policy_name(enum nm_policy p)
{
	return (unsigned int)p < ARRAY_SIZE(policy_names) ?
	       policy_names[p] : "?";
}

int nm_policy_parse(const char *s, enum nm_policy *out, char *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(policy_names); i++)
		if (strcmp(s, policy_names[i]) == 0) {
			*out = (enum nm_policy)i;
			return 0;
		}
	nm_seterr(err, "policy '%.40s': expected never, auto or nodes", s);
	return -1;
}

void nm_frame_put_header(uint8_t hdr[4], uint32_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}

int nm_frame_get_header(const uint8_t hdr[4], uint32_t *len, char *err)
{
	uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
		     (uint32_t)hdr[2] << 8 | hdr[3];

	if (n == 0) {
		nm_seterr(err, "empty frame");
		return -1;
	}
	if (n > NM_PROTO_MAX_FRAME) {
		nm_seterr(err, "frame of %u bytes is over the %u-byte limit",
			  n, NM_PROTO_MAX_FRAME);
		return -1;
	}
	*len = n;
	return 0;
}

/* ---- decoding ------------------------------------------------------------ */

static int get_int(json_t *v, const char *what, json_int_t min, json_int_t max,
		   json_int_t *out, char *err)
{
	json_int_t i;

	if (!json_is_integer(v)) {
		nm_seterr(err, "%s: expected an integer", what);
		return -1;
	}
	i = json_integer_value(v);
	if (i < min || i > max) {
		nm_seterr(err, "%s: %lld is out of range %lld..%lld", what,
			  (long long)i, (long long)min, (long long)max);
		return -1;
	}
	*out = i;
	return 0;
}

static int get_string(json_t *v, const char *what, size_t max,
		      const char **out, char *err)
{
	if (!json_is_string(v)) {
		nm_seterr(err, "%s: expected a string", what);
		return -1;
	}
	if (json_string_length(v) == 0 || json_string_length(v) > max) {
		nm_seterr(err, "%s: expected 1 to %zu characters", what, max);
		return -1;
	}
	*out = json_string_value(v);
	/* NULs inside would make the C string lie about the JSON one. */
	if (strlen(*out) != json_string_length(v)) {
		nm_seterr(err, "%s: contains a NUL character", what);
		return -1;
	}
	return 0;
}

/*
 * A cgroup directory: absolute, under /sys/fs/cgroup, no "." or ".."
 * components and no empty ones, so it cannot name anything else.
 */
static int check_cgroup_path(const char *p, char *err)
{
	static const char prefix[] = "/sys/fs/cgroup/";
	const char *c;

	if (strncmp(p, prefix, sizeof(prefix) - 1) != 0) {
		nm_seterr(err, "cgroup: '%.80s' is not under /sys/fs/cgroup/",
			  p);
		return -1;
	}
	for (c = p + 1; *c; ) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);

		if (n == 0 && e) {
			nm_seterr(err, "cgroup: '%.80s' has an empty path "
				  "component", p);
			return -1;
		}
		if ((n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.')) {
			nm_seterr(err, "cgroup: '%.80s' has a '.' or '..' "
				  "component", p);
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)c[i] < 0x20 || c[i] == 0x7f) {
				nm_seterr(err, "cgroup: path has a control "
					  "character");
				return -1;
			}
		if (!e)
			break;
		c = e + 1;
	}
	return 0;
}

static int decode_id(json_t *v, const char *what, uint64_t *out, char *err)
{
	json_int_t i;

	*out = NM_NO_ID;
	if (!v)
		return 0;
	if (get_int(v, what, 0, UINT32_MAX, &i, err) < 0)
		return -1;
	*out = (uint64_t)i;
	return 0;
}

static int decode_pids(json_t *arr, struct nm_request *req, char *err)
{
	size_t i, n;

	if (!json_is_array(arr)) {
		nm_seterr(err, "pids: expected an array of process ids");
		return -1;
	}
	n = json_array_size(arr);
	if (n == 0 || n > NM_PROTO_MAX_PIDS) {
		nm_seterr(err, "pids: expected 1 to %d process ids",
			  NM_PROTO_MAX_PIDS);
		return -1;
	}
	req->pids = calloc(n, sizeof(*req->pids));
	if (!req->pids) {
		nm_seterr(err, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		char what[32];
		json_int_t v;

		snprintf(what, sizeof(what), "pids[%zu]", i);
		if (get_int(json_array_get(arr, i), what, 1, INT_MAX, &v,
			    err) < 0)
			return -1;
		req->pids[i] = (pid_t)v;
	}
	req->npids = (int)n;
	return 0;
}

/* tasks[@i]: {"pid", "rank"}, neither given by an earlier task. */
static int decode_task(json_t *t, size_t i, struct nm_request *req,
		       char *err)
{
	static const char *const keys[] = { "pid", "rank", NULL };
	char what[48];
	json_int_t v;

	snprintf(what, sizeof(what), "tasks[%zu]", i);
	if (!json_is_object(t)) {
		nm_seterr(err, "%s: expected an object", what);
		return -1;
	}
	if (nm_json_check_keys(t, keys, what, err) < 0)
		return -1;
	snprintf(what, sizeof(what), "tasks[%zu].pid", i);
	if (get_int(json_object_get(t, "pid"), what, 1, INT_MAX, &v, err) < 0)
		return -1;
	req->tasks[i].pid = (pid_t)v;
	snprintf(what, sizeof(what), "tasks[%zu].rank", i);
	if (get_int(json_object_get(t, "rank"), what, 0, NM_MAX_TASKS - 1,
		    &v, err) < 0)
		return -1;
	req->tasks[i].rank = (int)v;
	for (size_t j = 0; j < i; j++)
		if (req->tasks[j].pid == req->tasks[i].pid ||
		    req->tasks[j].rank == req->tasks[i].rank) {
			nm_seterr(err, "tasks[%zu]: pid %d or rank %d given "
				  "twice", i, (int)req->tasks[i].pid,
				  req->tasks[i].rank);
			return -1;
		}
	return 0;
}

static int decode_tasks(json_t *arr, struct nm_request *req, char *err)
{
	size_t i, n;

	if (!json_is_array(arr)) {
		nm_seterr(err, "tasks: expected an array");
		return -1;
	}
	n = json_array_size(arr);
	if (n == 0 || n > NM_PROTO_MAX_PIDS) {
		nm_seterr(err, "tasks: expected 1 to %d tasks",
			  NM_PROTO_MAX_PIDS);
		return -1;
	}
	req->tasks = calloc(n, sizeof(*req->tasks));
	if (!req->tasks) {
		nm_seterr(err, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++)
		if (decode_task(json_array_get(arr, i), i, req, err) < 0)
			return -1;
	req->ntasks = (int)n;
	return 0;
}

static int decode_cgroup(json_t *v, struct nm_request *req, char *err)
{
	const char *s;

	if (get_string(v, "cgroup", NM_PROTO_MAX_PATH, &s, err) < 0 ||
	    check_cgroup_path(s, err) < 0)
		return -1;
	req->cgroup = strdup(s);
	if (!req->cgroup) {
		nm_seterr(err, "out of memory");
		return -1;
	}
	return 0;
}

static int decode_register(json_t *o, struct nm_request *req, char *err)
{
	static const char *const keys[] = { "version", "op", "tasks",
					    "cgroup", "job", "step", NULL };
	json_t *tasks = json_object_get(o, "tasks");
	json_t *cg = json_object_get(o, "cgroup");

	if (nm_json_check_keys(o, keys, "register", err) < 0)
		return -1;
	if (!!tasks == !!cg) {
		nm_seterr(err, "register: give exactly one of tasks or cgroup");
		return -1;
	}
	if (tasks && decode_tasks(tasks, req, err) < 0)
		return -1;
	if (cg && decode_cgroup(cg, req, err) < 0)
		return -1;
	if (decode_id(json_object_get(o, "job"), "job", &req->job, err) < 0 ||
	    decode_id(json_object_get(o, "step"), "step", &req->step,
		      err) < 0)
		return -1;
	if (req->step != NM_NO_ID && req->job == NM_NO_ID) {
		nm_seterr(err, "register: a step needs a job");
		return -1;
	}
	return 0;
}

static int decode_unregister(json_t *o, struct nm_request *req, char *err)
{
	static const char *const keys[] = { "version", "op", "pids", "job",
					    NULL };
	json_t *pids = json_object_get(o, "pids");
	json_t *job = json_object_get(o, "job");

	if (nm_json_check_keys(o, keys, "unregister", err) < 0)
		return -1;
	if (!!pids == !!job) {
		nm_seterr(err, "unregister: give exactly one of pids or job");
		return -1;
	}
	if (pids)
		return decode_pids(pids, req, err);
	return decode_id(job, "job", &req->job, err);
}

/* "to": NODES, or else "map": OLD:NEW. */
static int decode_move_target(json_t *to, json_t *map, struct nm_request *req,
			      char *err)
{
	const char *s;

	if (to) {
		if (get_string(to, "to", 1024, &s, err) < 0 ||
		    nm_target_parse_nodes(s, &req->target, err) < 0)
			return -1;
	} else {
		if (get_string(map, "map", 2048, &s, err) < 0 ||
		    nm_target_parse_map(s, &req->target, err) < 0)
			return -1;
	}
	req->has_target = true;
	return 0;
}

/* The optional keys of a move: threads, engine, mode, progress, owner. */
static int decode_move_options(json_t *o, struct nm_request *req, char *err)
{
	const char *s;
	json_int_t i;
	json_t *v;

	if ((v = json_object_get(o, "threads"))) {
		if (get_int(v, "threads", 0, NM_MAX_THREADS, &i, err) < 0)
			return -1;
		req->threads = (int)i;
	}
	if ((v = json_object_get(o, "engine"))) {
		if (get_string(v, "engine", 16, &s, err) < 0 ||
		    nm_engine_parse(s, &req->engine, err) < 0)
			return -1;
	}
	if ((v = json_object_get(o, "mode")) &&
	    (get_string(v, "mode", 16, &s, err) < 0 ||
	     nm_mode_parse(s, &req->mode, err) < 0))
		return -1;
	if ((v = json_object_get(o, "progress"))) {
		if (!json_is_boolean(v)) {
			nm_seterr(err, "progress: expected true or false");
			return -1;
		}
		req->progress = json_is_true(v);
	}
	if ((v = json_object_get(o, "owner"))) {
		/* (uid_t)-1 means "no uid" to the kernel: never an owner. */
		if (get_int(v, "owner", 0, (json_int_t)UINT32_MAX - 1, &i,
			    err) < 0)
			return -1;
		req->has_owner = true;
		req->owner = (uid_t)i;
	}
	return 0;
}

static int decode_move(json_t *o, struct nm_request *req, char *err)
{
	static const char *const keys[] = { "version", "op", "pids", "cgroup",
					    "job", "to", "map", "threads",
					    "engine", "mode", "progress",
					    "owner", NULL };
	json_t *pids = json_object_get(o, "pids");
	json_t *cg = json_object_get(o, "cgroup");
	json_t *job = json_object_get(o, "job");
	json_t *to = json_object_get(o, "to");
	json_t *map = json_object_get(o, "map");

	if (nm_json_check_keys(o, keys, "move", err) < 0)
		return -1;
	if (!!pids + !!cg + !!job != 1) {
		nm_seterr(err, "move: give exactly one of pids, cgroup or job");
		return -1;
	}
	if (!!to == !!map) {
		nm_seterr(err, "move: give exactly one of to or map");
		return -1;
	}
	if (pids && decode_pids(pids, req, err) < 0)
		return -1;
	if (cg && decode_cgroup(cg, req, err) < 0)
		return -1;
	if (job && decode_id(job, "job", &req->job, err) < 0)
		return -1;
	if (decode_move_target(to, map, req, err) < 0)
		return -1;
	return decode_move_options(o, req, err);
}

/* A required job id. */
static int decode_job(json_t *o, const char *op, struct nm_request *req,
		      char *err)
{
	json_t *job = json_object_get(o, "job");

	if (!job) {
		nm_seterr(err, "%s: needs a job", op);
		return -1;
	}
	return decode_id(job, "job", &req->job, err);
}

static int decode_policy(json_t *o, struct nm_request *req, char *err)
{
	static const char *const keys[] = { "version", "op", "job", "policy",
					    "nodes", NULL };
	json_t *pol = json_object_get(o, "policy");
	json_t *nodes = json_object_get(o, "nodes");
	const char *s;

	if (nm_json_check_keys(o, keys, "policy", err) < 0 ||
	    decode_job(o, "policy", req, err) < 0)
		return -1;
	if (!pol) {
		nm_seterr(err, "policy: needs a policy (never, auto or nodes)");
		return -1;
	}
	if (get_string(pol, "policy", 16, &s, err) < 0 ||
	    nm_policy_parse(s, &req->policy, err) < 0)
		return -1;
	if ((req->policy == NM_POLICY_NODES) != !!nodes) {
		nm_seterr(err, "policy: nodes is given with, and only with, "
			  "policy \"nodes\"");
		return -1;
	}
	if (nodes && (get_string(nodes, "nodes", 1024, &s, err) < 0 ||
		      nm_list_parse(s, &req->policy_nodes, NM_MAX_NODES, 0,
				    "policy nodes", err) < 0))
		return -1;
	return 0;
}

static int decode_job_op(json_t *o, const char *op, struct nm_request *req,
			 char *err)
{
	static const char *const keys[] = { "version", "op", "job", NULL };

	if (nm_json_check_keys(o, keys, op, err) < 0)
		return -1;
	return decode_job(o, op, req, err);
}

static int decode_version(json_t *o, char *err)
{
	json_t *ver = json_object_get(o, "version");
	json_int_t v;

	if (!ver) {
		nm_seterr(err, "request has no \"version\"");
		return -1;
	}
	if (!json_is_integer(ver)) {
		nm_seterr(err, "version: expected an integer");
		return -1;
	}
	v = json_integer_value(ver);
	if (v != NM_PROTO_VERSION) {
		nm_seterr(err, "protocol version %lld is not supported (this "
			  "daemon speaks %d)", (long long)v, NM_PROTO_VERSION);
		return -1;
	}
	return 0;
}

/* TCP: {"version", "munge": CRED} and nothing else. */
static int decode_envelope(json_t *o, struct nm_request *req, char *err)
{
	static const char *const env[] = { "version", "munge", NULL };
	const char *cred;

	if (nm_json_check_keys(o, env, "request", err) < 0)
		return -1;
	if (!json_object_get(o, "munge")) {
		nm_seterr(err, "request has no MUNGE credential");
		return -1;
	}
	if (get_string(json_object_get(o, "munge"), "munge",
		       NM_PROTO_MAX_FRAME, &cred, err) < 0)
		return -1;
	req->munge = strdup(cred);
	if (!req->munge) {
		nm_seterr(err, "out of memory");
		return -1;
	}
	return 0;
}

/* "op": one of op_names; the op's name in *@name. */
static int decode_op(json_t *o, struct nm_request *req, const char **name,
		     char *err)
{
	size_t i;

	if (!json_object_get(o, "op")) {
		nm_seterr(err, "request has no \"op\"");
		return -1;
	}
	if (get_string(json_object_get(o, "op"), "op", 32, name, err) < 0)
		return -1;
	for (i = 0; i < ARRAY_SIZE(op_names); i++)
		if (strcmp(*name, op_names[i]) == 0) {
			req->op = (enum nm_op)i;
			return 0;
		}
	nm_seterr(err, "unknown op '%.32s'", *name);
	return -1;
}

/* "host", allowed in every request: taken out before the op's keys. */
static int decode_host(json_t *o, struct nm_request *req, char *err)
{
	json_t *v = json_object_get(o, "host");
	const char *s;

	if (!v)
		return 0;
	if (get_string(v, "host", sizeof(req->host) - 1, &s, err) < 0)
		return -1;
	if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789-.") != strlen(s)) {
		nm_seterr(err, "host: '%.80s' is not a host name", s);
		return -1;
	}
	snprintf(req->host, sizeof(req->host), "%s", s);
	json_object_del(o, "host");
	return 0;
}

static int decode_object(json_t *o, bool envelope, struct nm_request *req,
			 char *err)
{
	static const char *const plain[] = { "version", "op", NULL };
	const char *op;

	if (decode_version(o, err) < 0)
		return -1;
	if (envelope)
		return decode_envelope(o, req, err);
	if (decode_op(o, req, &op, err) < 0 || decode_host(o, req, err) < 0)
		return -1;
	switch (req->op) {
	case NM_OP_PING:
	case NM_OP_STATUS:
		return nm_json_check_keys(o, plain, op, err);
	case NM_OP_REGISTER:
		return decode_register(o, req, err);
	case NM_OP_UNREGISTER:
		return decode_unregister(o, req, err);
	case NM_OP_MOVE:
		return decode_move(o, req, err);
	case NM_OP_POLICY:
		return decode_policy(o, req, err);
	case NM_OP_REPACK:
	case NM_OP_RESTORE:
		return decode_job_op(o, op, req, err);
	}
	return -1;
}

int nm_request_decode(const char *buf, size_t len, bool envelope,
		      struct nm_request *req, char *err)
{
	json_error_t jerr;
	json_t *o;
	int rc;

	memset(req, 0, sizeof(*req));
	req->job = req->step = NM_NO_ID;
	if (len == 0 || len > NM_PROTO_MAX_FRAME) {
		nm_seterr(err, "request of %zu bytes: expected 1 to %u", len,
			  NM_PROTO_MAX_FRAME);
		return -1;
	}
	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		nm_seterr(err, "request is not valid JSON: %s (at byte %d)",
			  jerr.text, jerr.position);
		return -1;
	}
	if (!json_is_object(o)) {
		nm_seterr(err, "request is not a JSON object");
		json_decref(o);
		return -1;
	}
	rc = decode_object(o, envelope, req, err);
	json_decref(o);
	if (rc < 0) {
		nm_request_release(req);
		req->job = req->step = NM_NO_ID;
	}
	return rc;
}

int nm_frame_decode(const uint8_t *buf, size_t len, struct nm_request *req,
		    char *err)
{
	uint32_t n;

	memset(req, 0, sizeof(*req));
	if (len < 4) {
		nm_seterr(err, "truncated frame header (%zu bytes)", len);
		return -1;
	}
	if (nm_frame_get_header(buf, &n, err) < 0)
		return -1;
	if (len - 4 != n) {
		nm_seterr(err, "frame says %u bytes but %zu follow", n,
			  len - 4);
		return -1;
	}
	return nm_request_decode((const char *)buf + 4, n, false, req, err);
}

void nm_request_release(struct nm_request *req)
{
	free(req->tasks);
	free(req->pids);
	free(req->cgroup);
	free(req->munge);
	memset(req, 0, sizeof(*req));
}

/* ---- encoding ------------------------------------------------------------ */

static int set_new(json_t *o, const char *key, json_t *v)
{
	return v ? json_object_set_new(o, key, v) : -1;
}

/* tasks, pids, cgroup, job, step: whichever the request has. */
static int encode_common(json_t *o, const struct nm_request *req)
{
	int bad = 0;
	json_t *a;

	if (req->ntasks) {
		a = json_array();
		bad |= set_new(o, "tasks", a);
		for (int i = 0; a && i < req->ntasks; i++)
			bad |= json_array_append_new(a, json_pack(
				"{s:i, s:i}", "pid", (int)req->tasks[i].pid,
				"rank", req->tasks[i].rank));
	}
	if (req->npids) {
		a = json_array();
		bad |= set_new(o, "pids", a);
		for (int i = 0; a && i < req->npids; i++)
			bad |= json_array_append_new(a, json_integer(
				req->pids[i]));
	}
	if (req->cgroup)
		bad |= set_new(o, "cgroup", json_string(req->cgroup));
	if (req->job != NM_NO_ID)
		bad |= set_new(o, "job", json_integer((json_int_t)req->job));
	if (req->step != NM_NO_ID)
		bad |= set_new(o, "step", json_integer((json_int_t)req->step));
	return bad;
}

/* A move's target and options; 1 with @err on bad fields, -1: memory. */
static int encode_move(json_t *o, const struct nm_request *req, char *err)
{
	char b2[2048], map[4100];
	int bad = 0;

	if (!req->has_target) {
		nm_seterr(err, "move: no target");
		return 1;
	}
	/* A map as written: its i-th old node goes to its i-th new node. */
	if (nm_list_format(&req->target.new_nodes, b2, sizeof(b2)) >=
	    sizeof(b2) || (req->target.kind == NM_TARGET_MAP &&
			   nm_target_format_map(&req->target, map,
						sizeof(map)) >= sizeof(map))) {
		nm_seterr(err, "move: node list too long");
		return 1;
	}
	if (req->target.kind == NM_TARGET_NODES)
		bad |= set_new(o, "to", json_string(b2));
	else
		bad |= set_new(o, "map", json_string(map));
	if (req->threads)
		bad |= set_new(o, "threads", json_integer(req->threads));
	bad |= set_new(o, "engine", json_string(nm_engine_name(req->engine)));
	if (req->mode != NM_MODE_DEFAULT)
		bad |= set_new(o, "mode", json_string(nm_mode_name(req->mode)));
	if (req->progress)
		bad |= set_new(o, "progress", json_true());
	if (req->has_owner)
		bad |= set_new(o, "owner",
			       json_integer((json_int_t)req->owner));
	return bad ? -1 : 0;
}

/* A policy op's policy and nodes; as encode_move. */
static int encode_policy(json_t *o, const struct nm_request *req, char *err)
{
	char b[2048];
	int bad = 0;

	bad |= set_new(o, "policy", json_string(nm_policy_name(req->policy)));
	if (req->policy == NM_POLICY_NODES) {
		if (nm_list_format(&req->policy_nodes, b, sizeof(b)) >=
		    sizeof(b)) {
			nm_seterr(err, "policy: node list too long");
			return 1;
		}
		bad |= set_new(o, "nodes", json_string(b));
	}
	return bad ? -1 : 0;
}

json_t *nm_request_encode(const struct nm_request *req, char *err)
{
	json_t *o = json_object();
	int rc = 0;

	if (!o)
		goto nomem;
	if (set_new(o, "version", json_integer(NM_PROTO_VERSION)) ||
	    set_new(o, "op", json_string(nm_op_name(req->op))) ||
	    encode_common(o, req) ||
	    (req->host[0] && set_new(o, "host", json_string(req->host))))
		goto nomem;
	if (req->op == NM_OP_MOVE)
		rc = encode_move(o, req, err);
	else if (req->op == NM_OP_POLICY)
		rc = encode_policy(o, req, err);
	if (rc > 0) {
		json_decref(o);
		return NULL;
	}
	if (rc < 0)
		goto nomem;
	return o;
nomem:
	json_decref(o);
	nm_seterr(err, "out of memory");
	return NULL;
}

/* ---- replies ------------------------------------------------------------- */

json_t *nm_reply_ok(void)
{
	return json_pack("{s:i, s:b}", "version", NM_PROTO_VERSION, "ok", 1);
}

json_t *nm_reply_error(const char *code, const char *msg)
{
	return json_pack("{s:i, s:b, s:s, s:s}", "version", NM_PROTO_VERSION,
			 "ok", 0, "code", code, "error", msg);
}

json_t *nm_progress_frame(uint64_t bytes_done, uint64_t bytes_total,
			  const char *phase)
{
	return json_pack("{s:i, s:{s:I, s:I, s:s}}", "version",
			 NM_PROTO_VERSION, "progress", "bytes_done",
			 (json_int_t)bytes_done, "bytes_total",
			 (json_int_t)bytes_total, "phase", phase);
}

json_t *nm_reply_decode(const char *buf, size_t len, bool *is_progress,
			char *err)
{
	json_error_t jerr;
	json_t *o, *v;

	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		nm_seterr(err, "reply is not valid JSON: %s", jerr.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		nm_seterr(err, "reply is not a JSON object");
		goto fail;
	}
	v = json_object_get(o, "version");
	if (!json_is_integer(v) || json_integer_value(v) != NM_PROTO_VERSION) {
		nm_seterr(err, "reply has protocol version other than %d",
			  NM_PROTO_VERSION);
		goto fail;
	}
	v = json_object_get(o, "progress");
	*is_progress = v != NULL;
	if (v && !json_is_object(v)) {
		nm_seterr(err, "reply: progress is not an object");
		goto fail;
	}
	if (!v && !json_is_boolean(json_object_get(o, "ok"))) {
		nm_seterr(err, "reply has no \"ok\"");
		goto fail;
	}
	if (!v && !json_is_true(json_object_get(o, "ok")) &&
	    !json_is_string(json_object_get(o, "error"))) {
		nm_seterr(err, "error reply has no message");
		goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* ---- I/O ----------------------------------------------------------------- */

/* Waits until @fd has bytes to read, at most until @deadline (-1: none). */
static int wait_readable(int fd, long long deadline, char *err)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int wait = -1;

	if (deadline >= 0) {
		long long left = deadline - (long long)nm_now_ms();

		if (left <= 0) {
			nm_seterr(err, "timed out reading a frame");
			return -1;
		}
		wait = left > INT_MAX ? INT_MAX : (int)left;
	}
	if (poll(&p, 1, wait) < 0 && errno != EINTR) {
		nm_seterr(err, "poll: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Reads exactly @len bytes by @deadline (ms, -1: none).  What has arrived
 * is taken without a wait first: a request or reply is mostly in the
 * socket already, and a poll before each read would double the calls.
 */
static int read_full(int fd, uint8_t *buf, size_t len, long long deadline,
		     size_t *got, char *err)
{
	*got = 0;
	while (*got < len) {
		ssize_t n = recv(fd, buf + *got, len - *got, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_readable(fd, deadline, err) < 0)
				return -1;
			continue;
		}
		if (n < 0) {
			nm_seterr(err, "read: %s", strerror(errno));
			return -1;
		}
		if (n == 0) {
			nm_seterr(err, "connection closed after %zu of %zu "
				  "bytes", *got, len);
			return -1;
		}
		*got += (size_t)n;
	}
	return 0;
}

char *nm_frame_read(int fd, size_t *len, int timeout_ms, bool *eof, char *err)
{
	long long deadline = timeout_ms < 0 ? -1 : (long long)nm_now_ms() + timeout_ms;
	uint8_t hdr[4];
	uint32_t n;
	size_t got;
	char *body;

	*eof = false;
	if (read_full(fd, hdr, 4, deadline, &got, err) < 0) {
		if (got == 0 && strncmp(err, "connection closed", 17) == 0) {
			*eof = true;
			nm_seterr(err, "connection closed");
		} else if (got) {
			nm_seterr(err, "truncated frame header (%zu of 4 "
				  "bytes)", got);
		}
		return NULL;
	}
	if (nm_frame_get_header(hdr, &n, err) < 0)
		return NULL;
	body = malloc((size_t)n + 1);
	if (!body) {
		nm_seterr(err, "out of memory");
		return NULL;
	}
	if (read_full(fd, (uint8_t *)body, n, deadline, &got, err) < 0) {
		if (strncmp(err, "connection closed", 17) == 0)
			nm_seterr(err, "truncated frame: %zu of %u bytes",
				  got, n);
		free(body);
		return NULL;
	}
	body[n] = '\0';
	*len = n;
	return body;
}

/* Waits until @fd takes more bytes, at most until @deadline (-1: none). */
static int wait_writable(int fd, long long deadline, char *err)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int left = deadline < 0 ? -1 : (int)(deadline - (long long)nm_now_ms());

	if (deadline >= 0 && left <= 0) {
		nm_seterr(err, "write: the peer did not read the frame in time");
		return -1;
	}
	if (poll(&p, 1, left) < 0 && errno != EINTR) {
		nm_seterr(err, "poll: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Header and body in one sendmsg while both fit: the peer is woken once
 * for a small frame, not once for its header and again for its body.
 */
static ssize_t send_rest(int fd, const uint8_t hdr[4], const char *body,
			 size_t len, size_t off, int flags)
{
	struct iovec iov[2];
	struct msghdr m = { .msg_iov = iov };

	if (off < 4) {
		iov[m.msg_iovlen++] = (struct iovec){
			.iov_base = (void *)(hdr + off), .iov_len = 4 - off };
		off = 4;
	}
	iov[m.msg_iovlen++] = (struct iovec){
		.iov_base = (void *)(body + (off - 4)),
		.iov_len = 4 + len - off };
	return sendmsg(fd, &m, flags);
}

static int frame_write(int fd, const char *body, size_t len,
		       long long deadline, char *err)
{
	uint8_t hdr[4];
	size_t off = 0;

	if (len == 0 || len > NM_PROTO_MAX_FRAME) {
		nm_seterr(err, "frame of %zu bytes: expected 1 to %u", len,
			  NM_PROTO_MAX_FRAME);
		return -1;
	}
	nm_frame_put_header(hdr, (uint32_t)len);
	while (off < 4 + len) {
		ssize_t w = send_rest(fd, hdr, body, len, off, MSG_NOSIGNAL |
				      (deadline >= 0 ? MSG_DONTWAIT : 0));

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && deadline >= 0 &&
		    (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_writable(fd, deadline, err) < 0)
				return -1;
			continue;
		}
		if (w < 0) {
			nm_seterr(err, "write: %s", strerror(errno));
			return -1;
		}
		off += (size_t)w;
	}
	return 0;
}

int nm_frame_write(int fd, const char *body, size_t len, char *err)
{
	return frame_write(fd, body, len, -1, err);
}

int nm_frame_write_within(int fd, const char *body, size_t len,
			  int timeout_ms, char *err)
{
	return frame_write(fd, body, len, timeout_ms < 0 ? -1 :
			   (long long)nm_now_ms() + timeout_ms, err);
}

int nm_frame_write_json_within(int fd, const json_t *obj, int timeout_ms,
			       char *err)
{
	char *s = json_dumps(obj, JSON_COMPACT);
	int rc;

	if (!s) {
		nm_seterr(err, "cannot serialise JSON");
		return -1;
	}
	rc = nm_frame_write_within(fd, s, strlen(s), timeout_ms, err);
	free(s);
	return rc;
}

int nm_frame_write_json(int fd, const json_t *obj, char *err)
{
	return nm_frame_write_json_within(fd, obj, -1, err);
}

/* @flags: more socket(2) type flags (SOCK_NONBLOCK). */
static int connect_unix(const char *path, int flags, char *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		nm_seterr(err, "socket path too long: %.80s", path);
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
	if (fd < 0) {
		nm_seterr(err, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		nm_seterr(err, "cannot reach numamigrated at %.120s: %s%s",
			  path, strerror(errno),
			  errno == ENOENT || errno == ECONNREFUSED ?
			  " (is the daemon running?)" :
			  errno == EAGAIN ? " (its listen backlog is full)" : "");
		close(fd);
		return -1;
	}
	return fd;
}

int nm_connect_unix(const char *path, char *err)
{
	return connect_unix(path, 0, err);
}

int nm_connect_unix_nonblocking(const char *path, char *err)
{
	return connect_unix(path, SOCK_NONBLOCK, err);
}
