/* SPDX-License-Identifier: MIT */
#ifndef NM_REPACK_RECORD_H
#define NM_REPACK_RECORD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/base/error.h"

/*
 * What a repack evacuated, as JOURNAL_DIR/repack-JOB.json keeps it for a
 * restarted daemon (see helper/daemon/repack_store.c):
 *   {"version": 1, "job": PREEMPTOR, "evacuated": [{"job": V,
 *    "tasks": [[PID, STARTTIME], ...], "map": {"OLD": NEW, ...}}, ...]}
 * Parses and checks the @len bytes of one: a record whose values restore
 * can use as they are (pids fit a pid_t, nodes are below NM_MAX_NODES and
 * keys plain decimal).  Returns it (a new reference) and its preemptor in
 * @job, or NULL with @err.
 */
json_t *nm_repack_record_parse(const char *buf, size_t len, uint64_t *job,
			       char *err);

/* The checks alone, on a record held in memory. */
int nm_repack_record_check(json_t *rec, uint64_t *job, char *err);

#endif
