/* SPDX-License-Identifier: MIT */
#ifndef NM_PROTOCOL_H
#define NM_PROTOCOL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/base/error.h"
#include "lib/base/limits.h"
#include "lib/base/json_keys.h"
#include "lib/base/target.h"

/*
 * The numamigrated wire protocol (version 1).
 *
 * A frame is a 4-byte big-endian length N (1 <= N <= NM_PROTO_MAX_FRAME)
 * followed by N bytes: one JSON object, nothing after it.  A client sends
 * one request frame; the daemon answers with zero or more progress frames
 * ({"version": 1, "progress": {...}}) and then exactly one reply frame
 * ({"version": 1, "ok": true|false, ...}), then closes.
 *
 * Requests: {"version": 1, "op": OP, ...}.  Decoding is strict: unknown
 * ops, unknown or missing keys, wrong types and out-of-range numbers are
 * errors, so a typo never silently means "absent".  Over TCP the request
 * travels inside a MUNGE credential: {"version": 1, "munge": "CRED"}, the
 * credential's payload being the request frame's JSON text.
 */
#define NM_PROTO_VERSION 1
#define NM_PROTO_MAX_FRAME (1u << 20)
#define NM_PROTO_MAX_PIDS 65536
#define NM_PROTO_MAX_PATH 4096
/* Where numamigrated listens unless configured otherwise. */
#define NM_DEFAULT_SOCKET "/run/numamigrate/numamigrated.sock"

enum nm_op {
	NM_OP_PING,
	NM_OP_STATUS,
	NM_OP_REGISTER,
	NM_OP_UNREGISTER,
	NM_OP_MOVE,
	NM_OP_POLICY,		/* a job's migration policy (root/SlurmUser) */
	NM_OP_REPACK,		/* a preemptor starts: evacuate suspended jobs */
	NM_OP_RESTORE,		/* the preemptor ended: move them back */
};

/*
 * A job's migration policy: "auto" (may be moved anywhere), "never", or
 * "nodes" (only within a node set).
 */
enum nm_policy { NM_POLICY_AUTO, NM_POLICY_NEVER, NM_POLICY_NODES };

enum nm_engine_kind { NM_ENGINE_AUTO, NM_ENGINE_SYSCALL, NM_ENGINE_KMOD };

/*
 * How a move runs: DEFAULT (absent on the wire) takes the daemon's
 * configured mode; FROZEN freezes the job for the whole move; LIVE moves
 * while it runs and freezes it only for a final pass.
 */
enum nm_move_mode { NM_MODE_DEFAULT, NM_MODE_FROZEN, NM_MODE_LIVE };

/* Slurm ids are 32-bit; absent ids are NM_NO_ID. */
#define NM_NO_ID UINT64_MAX

struct nm_req_task {
	pid_t pid;
	int rank;
};

struct nm_request {
	enum nm_op op;
	/* register: tasks with ranks; unregister/move: pids */
	int ntasks;
	struct nm_req_task *tasks;
	int npids;
	pid_t *pids;
	uint64_t job;		/* register, unregister, move; policy,
				   repack, restore (required there) */
	uint64_t step;		/* register */
	char *cgroup;		/* register, move: a cgroup directory */
	/* move */
	bool has_target;
	struct nm_target target;
	int threads;		/* 0: the daemon's default */
	enum nm_engine_kind engine;
	enum nm_move_mode mode;
	bool progress;		/* send progress frames */
	/*
	 * A trusted caller (root, the Slurm user: the SPANK plugin in
	 * slurmstepd) acting for the job's owner: the daemon applies the
	 * owner's rule, not the caller's.  Anyone else is refused.
	 */
	bool has_owner;
	uid_t owner;
	/* policy */
	enum nm_policy policy;
	struct nm_bitmap policy_nodes;	/* OS numbers; NM_POLICY_NODES only */
	/* MUNGE envelope (TCP) */
	char *munge;
	/*
	 * Any request: the host it is meant for (a host name: letters,
	 * digits, '-', '.'; "" when absent).  Over TCP the credential
	 * carries the request, so this binds the credential to one host:
	 * numamigrated refuses a request for another host.
	 */
	char host[256];
};

/* Header helpers: @len must be within 1..NM_PROTO_MAX_FRAME. */
void nm_frame_put_header(uint8_t hdr[4], uint32_t len);
int nm_frame_get_header(const uint8_t hdr[4], uint32_t *len, char *err);

/*
 * Decodes one request body (the JSON text after the header).  On error
 * @req is left empty (nothing to release) and @err says what was wrong.
 * @envelope: accept only {"version", "munge"} (TCP) instead of requests.
 */
int nm_request_decode(const char *buf, size_t len, bool envelope,
		      struct nm_request *req, char *err);
/* Header + body in one buffer, as the fuzzer and tests feed it. */
int nm_frame_decode(const uint8_t *buf, size_t len, struct nm_request *req,
		    char *err);
void nm_request_release(struct nm_request *req);

/* The request as JSON, for clients; NULL with @err on bad fields. */
json_t *nm_request_encode(const struct nm_request *req, char *err);

const char *nm_op_name(enum nm_op op);
const char *nm_engine_name(enum nm_engine_kind e);
const char *nm_policy_name(enum nm_policy p);
int nm_policy_parse(const char *s, enum nm_policy *out, char *err);
int nm_engine_parse(const char *s, enum nm_engine_kind *out, char *err);
/* "frozen" or "live" (never "default": that is the key's absence). */
const char *nm_mode_name(enum nm_move_mode m);
int nm_mode_parse(const char *s, enum nm_move_mode *out, char *err);

/*
 * Reply objects.  Error codes: "bad_request" (malformed or invalid),
 * "denied" (not authorised), "refused" (valid, but cannot be done: an
 * infeasible plan, a busy daemon), "failed" (started and failed; the reply
 * says what changed), "internal".
 */
json_t *nm_reply_ok(void);
json_t *nm_reply_error(const char *code, const char *msg);
json_t *nm_progress_frame(uint64_t bytes_done, uint64_t bytes_total,
			  const char *phase);

/*
 * Reads a reply or progress frame body: a JSON object with "version" 1
 * and either "ok" (bool) or "progress" (object).  Sets *@is_progress.
 */
json_t *nm_reply_decode(const char *buf, size_t len, bool *is_progress,
			char *err);

/*
 * Blocking frame I/O on a stream socket.  nm_frame_read waits at most
 * @timeout_ms for the whole frame (-1: forever); returns the body
 * NUL-terminated (free()), or NULL with @err ("connection closed" when the
 * peer closed before a header byte: *@eof set).
 */
char *nm_frame_read(int fd, size_t *len, int timeout_ms, bool *eof, char *err);
int nm_frame_write(int fd, const char *body, size_t len, char *err);
/*
 * The same, the whole frame within @timeout_ms (-1: no limit): a peer
 * that reads slowly cannot hold the writer longer than that.
 */
int nm_frame_write_within(int fd, const char *body, size_t len,
			  int timeout_ms, char *err);
/* Connects to numamigrated's Unix socket; the fd, or -1 with @err. */
int nm_connect_unix(const char *path, char *err);
/* The same, the socket non-blocking (a connect that finds the listen
 * backlog full fails with EAGAIN instead of waiting). */
int nm_connect_unix_nonblocking(const char *path, char *err);

/* Serialises @obj compactly and writes it as one frame. */
int nm_frame_write_json(int fd, const json_t *obj, char *err);
/* The same, the whole frame within @timeout_ms (nm_frame_write_within). */
int nm_frame_write_json_within(int fd, const json_t *obj, int timeout_ms,
			       char *err);

#endif
