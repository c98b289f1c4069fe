/* SPDX-License-Identifier: MIT */
#ifndef NM_OPS_H
#define NM_OPS_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "helper/site/conf.h"
#include "lib/proto/protocol.h"
#include "helper/daemon/registry.h"

/* Who is asking: from SO_PEERCRED, or from a MUNGE credential over TCP. */
struct nm_caller {
	uid_t uid;		/* from SO_PEERCRED or the MUNGE credential */
	gid_t gid;		/* likewise */
	pid_t pid;		/* 0 over TCP */
	char peer[96];		/* "pid 123" or "tcp 10.0.0.1:4567" */
	bool privileged;	/* root or the Slurm user: may move any job */
};

struct nm_daemon {
	struct nm_config cfg;		/* numamigrate.conf and options */
	struct nm_registry *reg;	/* registered tasks and policies */
};

/* For progress frames while a move runs. */
typedef void (*nm_progress_fn)(void *arg, uint64_t done, uint64_t total,
			       const char *phase);

/*
 * The reply, sent before the request is done (a live restore: the epilog
 * returns while the job's pages flow back).  The client gets it as its
 * reply; what the request returns afterwards is logged, not sent.
 * @reply is the caller's still.
 */
typedef void (*nm_answer_fn)(void *arg, json_t *reply);

/*
 * Carries out one decoded request and returns the reply object (never
 * NULL: an internal error becomes an error reply).  Logs the outcome.
 * @progress and @answer get @arg.
 */
json_t *nm_handle_request(struct nm_daemon *d, const struct nm_caller *who,
			  const struct nm_request *req, nm_progress_fn progress,
			  nm_answer_fn answer, void *arg);

#endif
