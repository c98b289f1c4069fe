/* SPDX-License-Identifier: MIT */
#ifndef NM_KERNEL_REMAP_H
#define NM_KERNEL_REMAP_H

#include <stdint.h>

#include "lib/base/bitmap.h"

/*
 * The kernel's own behaviour, modelled exactly, so every plan can be
 * compared with what migrate_pages(2) would have done (mm/mempolicy.c,
 * do_migrate_pages(), and lib/bitmap.c bitmap_bitremap()).
 */

/*
 * node_remap(): the n-th node of @from goes to the (n mod |to|)-th node of
 * @to; nodes outside @from, or an empty @to, stay.  OS numbers.
 */
int nm_kernel_node_remap(int node, const struct nm_bitmap *from,
			 const struct nm_bitmap *to);

/*
 * Replays do_migrate_pages(from, to) on per-node byte counts (indexed by
 * OS number, @nbits entries): the order the kernel picks source/dest
 * pairs, and that each migrate_to_node() moves every page then on the
 * source, including pages an earlier pass just brought there.  Returns the
 * bytes moved; @bytes is updated to the final placement and, when @origin
 * is not NULL, origin[o] receives the node where pages first on node o
 * ended up.
 */
uint64_t nm_kernel_migrate_bytes(uint64_t *bytes, int nbits,
				 const struct nm_bitmap *from,
				 const struct nm_bitmap *to, int *origin);

#endif
