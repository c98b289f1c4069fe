/* SPDX-License-Identifier: MIT */
/* The repack record: parsing and checking, kept apart to be fuzzed. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/topology.h"
#include "helper/daemon/repack_record.h"

/* The freezer's bound on a pid: pid_max is at most 2^22 on Linux. */
#define MAX_PID 0x3fffffff

/* A JSON integer in [@min, @max]; @max < 0: no upper bound. */
static bool int_in(json_t *v, json_int_t min, json_int_t max)
{
	return json_is_integer(v) && json_integer_value(v) >= min &&
	       (max < 0 || json_integer_value(v) <= max);
}

/*
 * A node number as the record was written ("%d") and restore reads it back
 * (atoi): plain decimal, so no two keys name one node.
 */
static bool node_key(const char *k)
{
	long n = 0;

	if (!*k || strlen(k) > 4 || (k[0] == '0' && k[1]))
		return false;
	for (const char *p = k; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		n = n * 10 + (*p - '0');
	}
	return n < NM_MAX_NODES;
}

int nm_repack_record_check(json_t *rec, uint64_t *job, char *err)
{
	json_t *ev = json_object_get(rec, "evacuated"), *e;
	size_t i;

	if (!json_is_object(rec) ||
	    !int_in(json_object_get(rec, "version"), 1, 1) ||
	    !int_in(json_object_get(rec, "job"), 0, -1) ||
	    !json_is_array(ev)) {
		nm_seterr(err, "not a repack record");
		return -1;
	}
	json_array_foreach(ev, i, e) {
		json_t *tasks = json_object_get(e, "tasks"), *t, *v;
		const char *k;
		size_t j;

		if (!int_in(json_object_get(e, "job"), 0, -1) ||
		    !json_is_array(tasks) || !json_array_size(tasks) ||
		    !json_is_object(json_object_get(e, "map"))) {
			nm_seterr(err, "evacuated[%zu]: bad entry", i);
			return -1;
		}
		json_array_foreach(tasks, j, t)
			if (!json_is_array(t) || json_array_size(t) != 2 ||
			    !int_in(json_array_get(t, 0), 1, MAX_PID) ||
			    !int_in(json_array_get(t, 1), 0, -1)) {
				nm_seterr(err, "evacuated[%zu]: bad task", i);
				return -1;
			}
		json_object_foreach(json_object_get(e, "map"), k, v)
			if (!node_key(k) || !int_in(v, 0, NM_MAX_NODES - 1)) {
				nm_seterr(err, "evacuated[%zu]: bad map", i);
				return -1;
			}
	}
	*job = (uint64_t)json_integer_value(json_object_get(rec, "job"));
	return 0;
}

json_t *nm_repack_record_parse(const char *buf, size_t len, uint64_t *job,
			       char *err)
{
	json_error_t jerr;
	json_t *rec;

	rec = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!rec) {
		nm_seterr(err, "%s", jerr.text);
		return NULL;
	}
	if (nm_repack_record_check(rec, job, err) < 0) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}
