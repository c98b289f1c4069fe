/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the JOB.json parser on a real 8-node topology, and
 * when a job parses, a plan for it (the planner must accept anything the
 * parser accepts).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/job.h"
#include "lib/core/planner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct nm_topology *topo;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[NM_ERRLEN];
	struct nm_job *job;

	if (!topo) {
		topo = nm_topology_load(TESTDATA "/16amd64-4distances.xml", err);
		if (!topo)
			abort();
	}
	job = nm_job_from_json((const char *)data, size, topo, err);
	if (job) {
		struct nm_target target = { .kind = NM_TARGET_NODES };
		struct nm_plan_options opts = { .search_budget = 2000 };
		uint64_t free_bytes[8];
		struct nm_plan *plan;

		nm_bitmap_set(&target.new_nodes, 4);
		nm_bitmap_set(&target.new_nodes, 5);
		if (nm_plan_free_bytes(topo, job, free_bytes, err) == 0) {
			plan = nm_plan_compute(topo, job, free_bytes, &target,
					       &opts, err);
			nm_plan_free(plan);
		}
		nm_job_free(job);
	} else if (strchr(err, '\n')) {
		abort();
	}
	return 0;
}
