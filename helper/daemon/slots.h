/* SPDX-License-Identifier: MIT */
#ifndef NM_SLOTS_H
#define NM_SLOTS_H

#include <stdbool.h>
#include <sys/types.h>

#include "helper/site/conf.h"

/*
 * Connection slots, so that no one user (nor anyone unauthenticated)
 * can take the daemon from the others.  Callers known by uid (Unix
 * peers, TCP peers once MUNGE has named them) share max_clients, each
 * uid at most max_clients_per_uid of them (root and the Slurm user: only
 * the shared limit).  TCP peers whose credential is not read yet have a
 * pool of their own, max_tcp_unauthenticated, apart from those slots.
 * A refusal says why in @why.
 */
bool nm_slots_take(const struct nm_config *cfg, uid_t uid, bool privileged,
		   char *why, size_t len);
void nm_slots_put(uid_t uid);
bool nm_slots_take_unauthenticated(const struct nm_config *cfg, char *why,
				   size_t len);
void nm_slots_put_unauthenticated(void);

#endif
