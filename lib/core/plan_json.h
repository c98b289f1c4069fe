/* SPDX-License-Identifier: MIT */
#ifndef NM_PLAN_JSON_H
#define NM_PLAN_JSON_H

#include <jansson.h>

#include "lib/core/planner.h"

/*
 * The plan as one JSON object (the `numamigrate plan --json` form, also
 * what the helper daemon reports): feasible, reason, map, kernel_map,
 * bytes_moved, kernel_bytes_moved, distortion, kernel_distortion, steps,
 * tasks, plan_seconds, search_complete.  Node numbers are OS numbers; map
 * keys are strings as JSON requires.
 */
json_t *nm_plan_to_json(const struct nm_plan *plan,
			const struct nm_topology *t, const struct nm_job *job);

#endif
