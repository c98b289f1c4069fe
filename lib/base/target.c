/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "lib/base/error.h"
#include "lib/base/target.h"
#include "lib/base/units.h"

int nm_target_parse_map(const char *s, struct nm_target *out, char *err)
{
	const char *colon = s ? strchr(s, ':') : NULL;
	char old[4096];
	struct nm_target t = { .kind = NM_TARGET_MAP };

	if (!colon || strchr(colon + 1, ':')) {
		nm_seterr(err, "map '%s': expected OLD:NEW node lists, e.g. "
			  "0-1:2-3", s ? s : "");
		return -1;
	}
	if ((size_t)(colon - s) >= sizeof(old)) {
		nm_seterr(err, "map: old node list is too long");
		return -1;
	}
	memcpy(old, s, (size_t)(colon - s));
	old[colon - s] = '\0';
	if (nm_list_parse(old, &t.old_nodes, NM_MAX_NODES, 0,
			  "map: old node list", err) < 0 ||
	    nm_list_parse(colon + 1, &t.new_nodes, NM_MAX_NODES, 0,
			  "map: new node list", err) < 0)
		return -1;
	*out = t;
	return 0;
}

int nm_target_parse_nodes(const char *s, struct nm_target *out, char *err)
{
	struct nm_target t = { .kind = NM_TARGET_NODES };

	if (nm_list_parse(s, &t.new_nodes, NM_MAX_NODES, 0, "target nodes",
			  err) < 0)
		return -1;
	*out = t;
	return 0;
}
