/* SPDX-License-Identifier: MIT */
#ifndef NM_TARGET_H
#define NM_TARGET_H

#include <stdint.h>

#include "lib/base/bitmap.h"
#include "lib/base/error.h"
#include "lib/base/limits.h"

/*
 * Where a job should go.  NM_TARGET_MAP is manual page migration's form:
 * the i-th old node goes to the i-th new node, in the order written, so
 * "0,1:1,0" is a swap.  (migrate_pages(2) takes two node masks and pairs
 * them by ascending position, which cannot express a swap.)
 * NM_TARGET_NODES names only the node set; the planner chooses the map.
 */
enum nm_target_kind { NM_TARGET_MAP, NM_TARGET_NODES };

struct nm_target {
	enum nm_target_kind kind;
	int npairs;			/* MAP: old_order[i] -> new_order[i] */
	int16_t old_order[NM_MAX_NODES];	/* OS numbers, as written */
	int16_t new_order[NM_MAX_NODES];
	struct nm_bitmap old_nodes;	/* the same nodes as sets; MAP only */
	struct nm_bitmap new_nodes;	/* OS numbers */
};

/*
 * "OLD:NEW", e.g. "0-1:2-3" or "0,1:1,0": lists of equal length, no node
 * twice on one side.
 */
int nm_target_parse_map(const char *s, struct nm_target *out, char *err);
/* A MAP target as "OLD:NEW" in its order, ranges where ascending. */
size_t nm_target_format_map(const struct nm_target *t, char *buf, size_t len);
/* "NODES", e.g. "4-11". */
int nm_target_parse_nodes(const char *s, struct nm_target *out, char *err);
#endif
