/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the small command-line parsers.  The first byte picks
 * one: OLD:NEW maps, target node sets, --free overrides, byte counts, pid
 * lists.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/target_check.h"
#include "lib/core/job.h"
#include "lib/base/target.h"
#include "lib/base/units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct nm_topology *topo;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, err[NM_ERRLEN];
	struct nm_target t;
	uint64_t free_bytes[8] = { 0 }, v;
	pid_t pids[64];

	if (size < 1)
		return 0;
	if (!topo) {
		topo = nm_topology_load(TESTDATA "/16amd64-4distances.xml", err);
		if (!topo)
			abort();
	}
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 5) {
	case 0:
		if (nm_target_parse_map(s, &t, err) == 0)
			(void)nm_target_check(&t, topo, err);
		break;
	case 1:
		if (nm_target_parse_nodes(s, &t, err) == 0)
			(void)nm_target_check(&t, topo, err);
		break;
	case 2:
		(void)nm_parse_free_overrides(s, topo, free_bytes, err);
		break;
	case 3:
		(void)nm_parse_bytes(s, &v, "bytes", err);
		break;
	default:
		(void)nm_parse_pid_list(s, pids, 64, err);
		break;
	}
	free(s);
	return 0;
}
