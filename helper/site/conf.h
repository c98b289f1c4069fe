/* SPDX-License-Identifier: MIT */
#ifndef NM_SITE_CONF_H
#define NM_SITE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/base/error.h"
#include "lib/proto/protocol.h"

#define NM_DEFAULT_CONFIG SYSCONFDIR "/numamigrate.conf"
#define NM_DEFAULT_JOURNAL "/run/numamigrate"
#define NM_DEFAULT_TCP_PORT 6827

/* numamigrated's settings; etc/numamigrate.conf documents every key. */
struct nm_config {
	/* [daemon] */
	char socket[108];		/* sun_path's size */
	unsigned int socket_mode;	/* the socket's permission bits */
	char socket_group[64];		/* "" : root's */
	char slurm_user[64];		/* "" : none */
	uid_t slurm_uid;		/* resolved; (uid_t)-1 when none */
	char journal_dir[512];		/* freeze journal, repack records */
	int log_level;			/* syslog priority: LOG_ERR..LOG_DEBUG */
	int max_clients;		/* connections served at once */
	int max_clients_per_uid;	/* of those, one uid's (root's, the
					   Slurm user's: unlimited) */
	int max_tcp_unauthenticated;	/* TCP peers before MUNGE: a pool
					   of their own */
	/* [move] */
	int threads;			/* engine workers; 0: the engine's choice */
	enum nm_engine_kind engine;	/* move_pages workers or the kmod */
	int freeze_timeout_ms;		/* to get the job frozen */
	int frozen_deadline_ms;		/* longest a job may stay frozen */
	enum nm_move_mode mode;		/* FROZEN or LIVE, never DEFAULT */
	uint64_t live_threshold;	/* bytes left that end live passes */
	int live_share_pct;		/* or this percent of the job */
	int live_passes;
	int live_timeout_ms;		/* 0: no bound */
	int queue_wait_ms;		/* longest a user's move waits for
					   its nodes */
	int queue_wait_priority_ms;	/* a repack's or restore's */
	/* [tcp] */
	bool tcp;			/* listen on TCP (MUNGE) too */
	char tcp_address[64];		/* the address to listen on */
	int tcp_port;			/* its port; also the CLI's target */
	char tcp_host_name[256];	/* the name a request over TCP must be
					   meant for; "": this host's short
					   name (Slurm's NodeHostname) */
	char munge_socket[512];		/* "" : libmunge's default */
	/* [slurm] */
	char slurm_conf[512];		/* SLURM_CONF for libslurm; "" : its
					   default */
	char slurm_node[128];		/* this host's Slurm node name; "" :
					   found by host name */
	enum nm_policy default_policy;	/* jobs without a policy request */
	/* How a preemptor's epilog restores a job (helper/daemon/REPACK.md):
	   LIVE answers once its threads are re-pinned and pages flow */
	enum nm_move_mode restore_mode;	/* FROZEN or LIVE */
	/* [testing]: knobs for the test suite only */
	int test_delay_ms;		/* sleep before any page moves */
	char test_delay_file[512];	/* "" : none; delay ends once gone */
	int test_batch_delay_ms;	/* sleep after each engine batch */
	int test_admit_delay_ms;	/* sleep after admitting the pids */
	int test_hold_ms;		/* sleep once a move holds its nodes,
					   before it plans */
	char test_topology[512];	/* plan on this hwloc XML */
	char test_free[256];		/* NODE=BYTES overrides of free memory */
	int test_fail_thaws;		/* journal recovery thaws to fail */
	bool test_crash_frozen;		/* SIGKILL itself once a job is
					   frozen, before journaling it */
};

void nm_config_defaults(struct nm_config *cfg);
/*
 * Reads @path over @cfg (the defaults, or what it holds).  Unknown sections
 * or keys, bad values, a line longer than inih's limit or with a NUL, a
 * Slurm user or group that does not exist: an error naming the line, and
 * @cfg is left as it was.  @must_exist false: a missing file is not an
 * error (the default path).
 */
int nm_config_load(struct nm_config *cfg, const char *path, bool must_exist,
		   char *err);
/* The same over the @len bytes of a file's contents; @name for errors. */
int nm_config_load_string(struct nm_config *cfg, const char *name,
			  const char *text, size_t len, char *err);

#endif
