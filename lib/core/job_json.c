/* SPDX-License-Identifier: MIT */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/error.h"
#include "lib/core/job.h"
#include "lib/base/json_keys.h"

static int parse_node_key(const char *key, const struct nm_topology *t,
			  const char *where, char *err)
{
	long v = 0;

	if (!*key || strlen(key) > 4)
		goto bad;
	for (const char *p = key; *p; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		v = v * 10 + (*p - '0');
	}
	return nm_topology_index(t, v, where, err);
bad:
	nm_seterr(err, "%s: '%.40s' is not a node number", where, key);
	return -1;
}

static int parse_task(json_t *jt, struct nm_task *task,
		      const struct nm_topology *t, int i, char *err)
{
	static const char *const keys[] = { "rank", "cpus", "memory", "pid",
					    NULL };
	char where[64];
	json_t *rank, *cpus, *mem, *pid;
	const char *key;
	json_t *val;
	int cpu;

	snprintf(where, sizeof(where), "tasks[%d]", i);
	if (!json_is_object(jt)) {
		nm_seterr(err, "%s: expected an object", where);
		return -1;
	}
	if (nm_json_check_keys(jt, keys, where, err) < 0)
		return -1;
	rank = json_object_get(jt, "rank");
	cpus = json_object_get(jt, "cpus");
	mem = json_object_get(jt, "memory");
	pid = json_object_get(jt, "pid");
	if (!json_is_integer(rank) || json_integer_value(rank) < 0 ||
	    json_integer_value(rank) > 0x7fffffff) {
		nm_seterr(err, "%s.rank: expected a non-negative integer",
			  where);
		return -1;
	}
	task->rank = (int)json_integer_value(rank);
	if (pid) {
		if (!json_is_integer(pid) || json_integer_value(pid) <= 0 ||
		    json_integer_value(pid) > 0x3fffffff) {
			nm_seterr(err, "%s.pid: expected a positive integer",
				  where);
			return -1;
		}
		task->pid = (pid_t)json_integer_value(pid);
	}
	if (!json_is_string(cpus)) {
		nm_seterr(err, "%s.cpus: expected a CPU list string like "
			  "\"0-3\"", where);
		return -1;
	}
	snprintf(where, sizeof(where), "tasks[%d].cpus", i);
	if (nm_list_parse(json_string_value(cpus), &task->cpus,
			  NM_BITMAP_BITS, 0, where, err) < 0)
		return -1;
	nm_bitmap_foreach(cpu, &task->cpus) {
		if (nm_topology_cpu_node(t, cpu) < 0) {
			nm_seterr(err, "%s: CPU %d is not a CPU of any node "
				  "of the topology", where, cpu);
			return -1;
		}
	}
	snprintf(where, sizeof(where), "tasks[%d].memory", i);
	if (!mem)
		return 0;
	if (!json_is_object(mem)) {
		nm_seterr(err, "%s: expected an object {\"NODE\": BYTES}",
			  where);
		return -1;
	}
	json_object_foreach(mem, key, val) {
		int idx = parse_node_key(key, t, where, err);

		if (idx < 0)
			return -1;
		if (!json_is_integer(val) || json_integer_value(val) < 0) {
			nm_seterr(err, "%s.%s: expected a byte count (a "
				  "non-negative integer)", where, key);
			return -1;
		}
		task->bytes[idx] = (uint64_t)json_integer_value(val);
	}
	return 0;
}

struct nm_job *nm_job_from_json(const char *text, size_t len,
				const struct nm_topology *t, char *err)
{
	static const char *const keys[] = { "tasks", "jobid", "comment",
					    NULL };
	struct nm_job *job = NULL;
	json_error_t jerr;
	json_t *root, *tasks;
	size_t n;

	if (len > NM_MAX_JOB_JSON) {
		nm_seterr(err, "job description is larger than %u bytes",
			  NM_MAX_JOB_JSON);
		return NULL;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		nm_seterr(err, "not valid JSON: line %d column %d: %s",
			  jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		nm_seterr(err, "expected a JSON object {\"tasks\": [...]}");
		goto fail;
	}
	if (nm_json_check_keys(root, keys, "job", err) < 0)
		goto fail;
	tasks = json_object_get(root, "tasks");
	if (!json_is_array(tasks)) {
		nm_seterr(err, "job: \"tasks\" must be an array of tasks");
		goto fail;
	}
	n = json_array_size(tasks);
	if (n == 0) {
		nm_seterr(err, "job has no tasks");
		goto fail;
	}
	if (n > NM_MAX_TASKS) {
		nm_seterr(err, "job has %zu tasks, more than the limit of %d",
			  n, NM_MAX_TASKS);
		goto fail;
	}
	job = nm_job_alloc((int)n, t, err);
	if (!job)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (parse_task(json_array_get(tasks, i), &job->tasks[i], t,
			       (int)i, err) < 0)
			goto fail;
	if (nm_job_finish(job, t, err) < 0)
		goto fail;
	json_decref(root);
	return job;
fail:
	nm_job_free(job);
	json_decref(root);
	return NULL;
}
