/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "lib/base/error.h"
#include "lib/base/units.h"
#include "lib/core/target_check.h"

int nm_target_check(const struct nm_target *target,
		    const struct nm_topology *t, char *err)
{
	if (target->kind == NM_TARGET_MAP &&
	    nm_topology_check_nodes(t, &target->old_nodes, "map: old nodes",
				    err) < 0)
		return -1;
	return nm_topology_check_nodes(t, &target->new_nodes,
				       target->kind == NM_TARGET_MAP ?
				       "map: new nodes" : "target nodes", err);
}

int nm_parse_free_overrides(const char *s, const struct nm_topology *t,
			    uint64_t *free_bytes, char *err)
{
	char *copy;
	uint64_t *tmp;
	int rc = -1;

	if (!s || !*s) {
		nm_seterr(err, "--free: empty; expected NODE=BYTES[,...]");
		return -1;
	}
	copy = strdup(s);
	tmp = malloc((size_t)t->nnodes * sizeof(*tmp));
	if (!copy || !tmp) {
		nm_seterr(err, "--free: out of memory");
		goto out;
	}
	memcpy(tmp, free_bytes, (size_t)t->nnodes * sizeof(*tmp));
	/* strtok_r would skip empty items; walk by hand to reject them. */
	for (char *item = copy, *next; item; item = next) {
		char *eq = strchr(item, '=');
		struct nm_bitmap node;
		uint64_t bytes;
		int os;

		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		if (!eq) {
			nm_seterr(err, "--free '%s': item '%s' is not "
				  "NODE=BYTES", s, item);
			goto out;
		}
		*eq = '\0';
		if (nm_list_parse(item, &node, NM_MAX_NODES, 0, "--free node",
				  err) < 0 ||
		    nm_parse_bytes(eq + 1, &bytes, "--free bytes", err) < 0)
			goto out;
		if (nm_topology_check_nodes(t, &node, "--free", err) < 0)
			goto out;
		nm_bitmap_foreach(os, &node)
			tmp[nm_topology_find(t, os)] = bytes;
	}
	memcpy(free_bytes, tmp, (size_t)t->nnodes * sizeof(*tmp));
	rc = 0;
out:
	free(copy);
	free(tmp);
	return rc;
}
