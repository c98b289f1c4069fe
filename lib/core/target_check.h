/* SPDX-License-Identifier: MIT */
#ifndef NM_TARGET_CHECK_H
#define NM_TARGET_CHECK_H

#include <stdint.h>

#include "lib/base/target.h"
#include "lib/core/topology.h"

/* Every node named must exist in @t. */
int nm_target_check(const struct nm_target *target,
		    const struct nm_topology *t, char *err);

/*
 * "NODE=BYTES[,NODE=BYTES...]" overrides of free memory, applied to
 * @free_bytes (indexed by node index).  Nodes must exist in @t.
 */
int nm_parse_free_overrides(const char *s, const struct nm_topology *t,
			    uint64_t *free_bytes, char *err);

#endif
