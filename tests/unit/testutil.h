/* SPDX-License-Identifier: MIT */
#ifndef NM_TESTUTIL_H
#define NM_TESTUTIL_H

/* Helpers shared by the unit tests (cmocka). */

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/base/error.h"
#include "lib/core/job.h"
#include "lib/core/planner.h"
#include "lib/core/topology.h"

static inline struct nm_topology *load_topo(const char *name)
{
	char path[512], err[NM_ERRLEN] = "";
	struct nm_topology *t;

	snprintf(path, sizeof(path), "%s/%s", TESTDATA, name);
	t = nm_topology_load(path, err);
	if (!t)
		fail_msg("%s: %s", path, err);
	return t;
}

static inline struct nm_job *parse_job(const char *json,
				       const struct nm_topology *t)
{
	char err[NM_ERRLEN] = "";
	struct nm_job *job = nm_job_from_json(json, strlen(json), t, err);

	if (!job)
		fail_msg("job: %s", err);
	return job;
}

/* How many entries @dir has (a journal directory's files). */
static inline int count_files_in(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		fail_msg("%s: cannot open", dir);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Small deterministic PRNG for property tests (xorshift64*). */
static inline uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

static inline unsigned int rng_below(uint64_t *s, unsigned int n)
{
	return (unsigned int)(rng_next(s) % n);
}

#endif
