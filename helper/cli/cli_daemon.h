/* SPDX-License-Identifier: MIT */
#ifndef NM_CLI_DAEMON_H
#define NM_CLI_DAEMON_H

#include <jansson.h>
#include <stdbool.h>

/* The numamigrate subcommands that talk to numamigrated. */
int nm_cmd_move(int argc, char **argv);
int nm_cmd_status(int argc, char **argv);
int nm_cmd_register(int argc, char **argv);
int nm_cmd_unregister(int argc, char **argv);

/* The policy, repack and restore requests (root / the Slurm user). */
int nm_cmd_policy(int argc, char **argv);
int nm_cmd_repack(int argc, char **argv);
int nm_cmd_restore(int argc, char **argv);

/* `numamigrate move JOBID ...`: @req (op move, job, target) on every host
 * of the Slurm job; see cmd_move_job.c. */
struct nm_move_job_opts {
	const char *socket;		/* --socket: this host's daemon */
	const char *port;		/* --port: the daemons' TCP port */
	const char *munge_socket;	/* --munge-socket */
	const char *config;		/* --config: numamigrate.conf */
	bool tcp;			/* --tcp: this host over TCP too */
	bool json;			/* --json: machine-readable output */
};
#include "lib/proto/protocol.h"
int nm_cmd_move_job(const struct nm_request *req,
		    const struct nm_move_job_opts *o);

/* A decimal number 0..@max, else a one-line error naming @what. */
int nm_cli_parse_uint(const char *s, unsigned long long max,
		      unsigned long long *out, const char *what);
/* The exit status for an error reply: 2 for a bad request, else 1. */
int nm_cli_exit_for(json_t *reply);

#endif
