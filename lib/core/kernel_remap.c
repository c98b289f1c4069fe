/* SPDX-License-Identifier: MIT */
#include "lib/core/kernel_remap.h"

int nm_kernel_node_remap(int node, const struct nm_bitmap *from,
			 const struct nm_bitmap *to)
{
	unsigned int w = nm_bitmap_weight(to);
	int n = nm_bitmap_ord(from, node);

	if (n < 0 || w == 0)
		return node;
	return nm_bitmap_nth(to, (unsigned int)n % w);
}

uint64_t nm_kernel_migrate_bytes(uint64_t *bytes, int nbits,
				 const struct nm_bitmap *from,
				 const struct nm_bitmap *to, int *origin)
{
	bool same_weight = nm_bitmap_weight(from) == nm_bitmap_weight(to);
	struct nm_bitmap tmp = *from;
	uint64_t moved = 0;

	/* where[n]: the node now holding the pages that started on n */
	if (origin)
		for (int n = 0; n < nbits; n++)
			origin[n] = n;

	while (!nm_bitmap_empty(&tmp)) {
		int source = -1, dest = 0, s;

		nm_bitmap_foreach(s, &tmp) {
			int d;

			if (!same_weight && nm_bitmap_test(to, s))
				continue;
			d = nm_kernel_node_remap(s, from, to);
			if (s == d)
				continue;
			source = s;
			dest = d;
			if (!nm_bitmap_test(&tmp, dest))
				break;
		}
		if (source < 0)
			break;
		nm_bitmap_clear(&tmp, (unsigned int)source);
		if (source >= nbits || dest >= nbits)
			continue;
		moved += bytes[source];
		bytes[dest] += bytes[source];
		bytes[source] = 0;
		if (origin)
			for (int n = 0; n < nbits; n++)
				if (origin[n] == source)
					origin[n] = dest;
	}
	return moved;
}
