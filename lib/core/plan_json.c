/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "lib/core/plan_json.h"

static json_t *map_to_json(const struct nm_topology *t, const int *map)
{
	json_t *o = json_object();

	for (int n = 0; o && n < t->nnodes; n++) {
		char key[16];

		if (map[n] < 0)
			continue;
		snprintf(key, sizeof(key), "%d", t->nodes[n].os);
		json_object_set_new(o, key,
				    json_integer(t->nodes[map[n]].os));
	}
	return o;
}

static json_t *list_json(const struct nm_bitmap *b)
{
	char buf[4096];

	nm_list_format(b, buf, sizeof(buf));
	return json_string(buf);
}

json_t *nm_plan_to_json(const struct nm_plan *plan,
			const struct nm_topology *t, const struct nm_job *job)
{
	json_t *o = json_object(), *steps = json_array(), *tasks = json_array();

	if (!o || !steps || !tasks) {
		json_decref(o);
		json_decref(steps);
		json_decref(tasks);
		return NULL;
	}
	json_object_set_new(o, "feasible", json_boolean(plan->feasible));
	if (!plan->feasible)
		json_object_set_new(o, "reason", json_string(plan->reason));
	json_object_set_new(o, "map", map_to_json(t, plan->map));
	json_object_set_new(o, "kernel_map", map_to_json(t, plan->kernel_map));
	json_object_set_new(o, "bytes_moved", json_integer(
		(json_int_t)plan->bytes_moved));
	json_object_set_new(o, "kernel_bytes_moved", json_integer(
		(json_int_t)plan->kernel_bytes_moved));
	json_object_set_new(o, "kernel_fits", json_boolean(plan->kernel_fits));
	json_object_set_new(o, "distortion", json_integer(
		(json_int_t)plan->distortion));
	json_object_set_new(o, "kernel_distortion", json_integer(
		(json_int_t)plan->kernel_distortion));
	for (int i = 0; i < plan->nsteps; i++) {
		const struct nm_step *s = &plan->steps[i];

		json_array_append_new(steps, json_pack(
			"{s:i, s:i, s:I, s:b}", "from", s->from, "to", s->to,
			"bytes", (json_int_t)s->bytes, "parked", s->parked));
	}
	json_object_set_new(o, "steps", steps);
	for (int i = 0; i < job->ntasks; i++) {
		const struct nm_task *task = &job->tasks[i];
		struct nm_bitmap newcpus;
		json_t *jt;

		nm_map_cpus(t, plan->map,
			    &task->cpus, &newcpus);
		jt = json_pack("{s:i, s:o, s:o, s:I}", "rank", task->rank,
			       "cpus", list_json(&task->cpus),
			       "new_cpus", list_json(&newcpus),
			       "bytes_moved",
			       (json_int_t)nm_plan_task_bytes(plan, task));
		if (jt && task->pid)
			json_object_set_new(jt, "pid", json_integer(task->pid));
		if (jt && task->role != NM_TASK_RANK)
			json_object_set_new(jt, "role", json_string(
				nm_task_role_name(task->role)));
		json_array_append_new(tasks, jt);
	}
	json_object_set_new(o, "tasks", tasks);
	json_object_set_new(o, "plan_seconds", json_real(plan->seconds));
	json_object_set_new(o, "search_complete",
			    json_boolean(plan->search_complete));
	json_object_set_new(o, "maps_examined", json_integer(
		(json_int_t)plan->search_nodes));
	return o;
}
