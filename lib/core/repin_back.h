/* SPDX-License-Identifier: MIT */
#ifndef NM_REPIN_BACK_H
#define NM_REPIN_BACK_H

#include <stdint.h>

/*
 * A live move re-pins a job's threads under its map before the pages
 * follow.  Stopped in between (its daemon killed), a process may run on
 * new nodes while its memory is mostly on old ones.  For one process with
 * @bytes per node index (@nnodes of them), threads pinned under @map
 * (node index -> node index; -1 or itself: stays), @back (@nnodes
 * entries) gets, for each new node, the old node its threads go back to:
 * the one mapped onto it that holds more of the process's memory than it
 * does (of several, the one holding most); -1 elsewhere.  Returns how
 * many nodes map back.
 */
int nm_repin_back(int nnodes, const int *map, const uint64_t *bytes,
		  int *back);

#endif
