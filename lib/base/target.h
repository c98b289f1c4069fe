/* SPDX-License-Identifier: MIT */
#ifndef NM_TARGET_H
#define NM_TARGET_H

#include <stdint.h>

#include "lib/base/bitmap.h"
#include "lib/base/error.h"
#include "lib/base/limits.h"

/*
 * Where a job should go.  NM_TARGET_MAP is migrate_pages(2)'s form: the
 * i-th node of old_nodes goes to the i-th node of new_nodes.  NM_TARGET_NODES
 * names only the node set; the planner chooses the map.
 */
enum nm_target_kind { NM_TARGET_MAP, NM_TARGET_NODES };

struct nm_target {
	enum nm_target_kind kind;
	struct nm_bitmap old_nodes;	/* OS numbers; MAP only */
	struct nm_bitmap new_nodes;	/* OS numbers */
};

/* "OLD:NEW", e.g. "0-1:2-3". */
int nm_target_parse_map(const char *s, struct nm_target *out, char *err);
/* "NODES", e.g. "4-11". */
int nm_target_parse_nodes(const char *s, struct nm_target *out, char *err);
#endif
