/* SPDX-License-Identifier: MIT */
#ifndef NM_AUTHZ_H
#define NM_AUTHZ_H

#include <stdbool.h>
#include <sys/types.h>

#include "helper/site/conf.h"
#include "lib/base/bitmap.h"
#include "lib/base/error.h"

/*
 * Who may do what.  Root and the configured Slurm user may move, register
 * and see any job; anyone else only processes whose every uid (real,
 * effective, saved, filesystem) is theirs, and moves them only onto nodes
 * each process may use (its cpuset's memory nodes).
 */
bool nm_authz_privileged(const struct nm_config *cfg, uid_t uid);

/* Every process of @pids is @uid's. */
int nm_authz_owns(uid_t uid, const pid_t *pids, int npids, char *err);

/* @nodes (OS numbers) are within every process's allowed memory nodes. */
int nm_authz_nodes(const pid_t *pids, int npids, const struct nm_bitmap *nodes,
		   char *err);

#endif
