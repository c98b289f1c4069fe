/* SPDX-License-Identifier: MIT */
#ifndef NM_SLURM_INFO_H
#define NM_SLURM_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/base/bitmap.h"
#include "lib/base/error.h"

/*
 * What numamigrate asks Slurm, through libslurm (the controller named by
 * SLURM_CONF or the default slurm.conf): a job's state, owner, nodes and
 * the CPU ids it was allocated on one node, the CPUs running jobs use on
 * a node, and where a node's slurmd is reachable.
 *
 * CPU ids are the ones `scontrol show job -d` prints (CPU_IDs): Slurm's
 * own numbering, which is the kernel's where the node's CPUs are numbered
 * core by core, socket by socket (and threads of a core consecutively) --
 * the usual case, and the one numamigrate supports.
 */

enum nm_slurm_state {
	NM_SLURM_PENDING, NM_SLURM_RUNNING, NM_SLURM_SUSPENDED,
	NM_SLURM_ENDED, NM_SLURM_OTHER,
};

struct nm_slurm_job {
	uint64_t id;			/* the job id asked about */
	enum nm_slurm_state state;	/* the states numamigrate tells apart */
	char state_name[24];		/* "RUNNING", "SUSPENDED", ... */
	uid_t uid;			/* its owner */
	char nodes[1024];		/* hostlist expression, "" when none */
};

#define NM_SLURM_DEFAULT_CONF "/etc/slurm/slurm.conf"

/*
 * Points libslurm at @conf (sets SLURM_CONF; "" or NULL: $SLURM_CONF or
 * NM_SLURM_DEFAULT_CONF).  Call before starting threads.  libslurm is
 * initialised on first use, and only when that file exists (libslurm
 * would exit the process otherwise); each query fails cleanly until then.
 */
void nm_slurm_setup(const char *conf);

/* @job's state, owner and nodes. */
int nm_slurm_job(uint64_t job, struct nm_slurm_job *out, char *err);

/* The CPU ids @job was allocated on @node; an error when none. */
int nm_slurm_job_cpus(uint64_t job, const char *node, struct nm_bitmap *cpus,
		      char *err);

/* Union of the CPUs that RUNNING jobs other than @except hold on @node. */
int nm_slurm_running_cpus(const char *node, uint64_t except,
			  struct nm_bitmap *cpus, char *err);

/*
 * This host's Slurm node: @configured when set, else the node whose name
 * or NodeHostname is this host's name (short or full).
 */
int nm_slurm_local_node(const char *configured, char *out, size_t len,
			char *err);

/* A job's nodes, each with its NodeAddr and NodeHostname. */
struct nm_slurm_host {
	char name[128];		/* Slurm's node name */
	char addr[128];		/* NodeAddr: where its daemon listens */
	char hostname[128];	/* NodeHostname */
};
int nm_slurm_job_hosts(const struct nm_slurm_job *job,
		       struct nm_slurm_host **hosts, int *n, char *err);

#endif
