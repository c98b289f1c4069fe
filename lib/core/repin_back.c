/* SPDX-License-Identifier: MIT */
/* Where a process's threads go back to after a live move that stopped. */
#include "lib/core/repin_back.h"

int nm_repin_back(int nnodes, const int *map, const uint64_t *bytes,
		  int *back)
{
	int n, nback = 0;

	for (n = 0; n < nnodes; n++)
		back[n] = -1;
	for (n = 0; n < nnodes; n++) {
		int to = map[n];

		if (to < 0 || to >= nnodes || to == n || bytes[n] <= bytes[to])
			continue;
		if (back[to] < 0)
			nback++;
		else if (bytes[back[to]] >= bytes[n])
			continue;
		back[to] = n;
	}
	return nback;
}
