/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the /proc parsers, over exact copies of the input (no
 * '\0' after it: ASan sees any read past the end).  The first byte picks
 * one: numa_maps (a whole buffer must add up as its lines one by one do),
 * the Cpus_allowed_list and the Uid/Mems_allowed_list of status, stat, and
 * the MPI rank in environ (the same with a final NUL as without).
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helper/mpi_ranks.h"
#include "helper/proc.h"
#include "lib/job.h"
#include "lib/topology.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct nm_topology *topo;

static void check_err(const char *err)
{
	if (!err[0] || !memchr(err, '\0', NM_ERRLEN) || strchr(err, '\n'))
		abort();
}

static void numa_maps(const char *buf, size_t len)
{
	uint64_t whole[NM_MAX_NODES] = { 0 }, lines[NM_MAX_NODES] = { 0 };
	const char *end = buf + len, *next;
	char err[NM_ERRLEN] = "";
	int rc, rc2 = 0;

	rc = nm_numa_maps_parse(buf, len, topo, whole, err);
	if (rc < 0)
		check_err(err);
	for (const char *p = buf; p < end && rc2 == 0; p = next) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		char *line = malloc(n ? n : 1);

		if (!line)
			return;
		next = p + n;
		memcpy(line, p, n);
		rc2 = nm_numa_maps_parse(line, n, topo, lines, err);
		free(line);
	}
	if (rc != rc2 || (rc == 0 && memcmp(whole, lines, sizeof(whole))))
		abort();
}

static void environ_rank(const char *buf, size_t len)
{
	char *z = malloc(len + 1);
	int var, var2, r, r2;

	if (!z)
		return;
	r = nm_environ_mpi_rank(buf, len, &var);
	if ((r < 0) != (var < 0) || r < -1 || r > INT_MAX - NM_MAX_TASKS ||
	    var > 3)
		abort();
	memcpy(z, buf, len);
	z[len] = '\0';
	r2 = nm_environ_mpi_rank(z, len + 1, &var2);
	if (r2 != r || var2 != var)
		abort();
	free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[NM_ERRLEN] = "", *buf;
	size_t len;

	if (size < 1)
		return 0;
	if (!topo) {
		topo = nm_topology_load(TESTDATA "/16amd64-4distances.xml", err);
		if (!topo)
			abort();
	}
	len = size - 1;
	buf = malloc(len ? len : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, len);
	switch (data[0] % 5) {
	case 0:
		numa_maps(buf, len);
		break;
	case 1: {
		struct nm_bitmap cpus;

		if (nm_status_cpus_parse(buf, len, &cpus, err) < 0)
			check_err(err);
		break;
	}
	case 2: {
		struct nm_proc_info pi;

		memset(&pi, 0, sizeof(pi));
		if (nm_proc_status_parse(buf, len, &pi, err) < 0)
			check_err(err);
		break;
	}
	case 3: {
		unsigned long long start;
		char state;
		pid_t ppid;

		if (nm_proc_stat_parse(buf, len, &state, &ppid, &start,
				       err) < 0)
			check_err(err);
		break;
	}
	default:
		environ_rank(buf, len);
		break;
	}
	free(buf);
	return 0;
}
