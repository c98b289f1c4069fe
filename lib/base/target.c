/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/error.h"
#include "lib/base/target.h"
#include "lib/base/units.h"

/*
 * One side of a map, in the order written: each comma-separated item is a
 * node or an ascending range, checked by the list parser; a node may not
 * come twice.
 */
static int parse_ordered(const char *s, int16_t *order, int *n,
			 struct nm_bitmap *set, const char *what, char *err)
{
	char item[64];
	const char *p = s;

	*n = 0;
	nm_bitmap_zero(set);
	for (;;) {
		size_t len = strcspn(p, ",");
		struct nm_bitmap one;
		int node;

		if (len >= sizeof(item)) {
			nm_seterr(err, "%s: item '%.20s...' is too long", what,
				  p);
			return -1;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		if (nm_list_parse(item, &one, NM_MAX_NODES, 0, what, err) < 0)
			return -1;
		nm_bitmap_foreach(node, &one) {
			if (nm_bitmap_test(set, (unsigned int)node)) {
				nm_seterr(err, "%s: node %d appears twice", what,
					  node);
				return -1;
			}
			nm_bitmap_set(set, (unsigned int)node);
			order[(*n)++] = (int16_t)node;
		}
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

int nm_target_parse_map(const char *s, struct nm_target *out, char *err)
{
	const char *colon = s ? strchr(s, ':') : NULL;
	char old[4096];
	struct nm_target tmp, *t = &tmp;
	int nnew;

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
	memset(t, 0, sizeof(*t));
	t->kind = NM_TARGET_MAP;
	if (parse_ordered(old, t->old_order, &t->npairs, &t->old_nodes,
			  "map: old node list", err) < 0 ||
	    parse_ordered(colon + 1, t->new_order, &nnew, &t->new_nodes,
			  "map: new node list", err) < 0)
		return -1;
	if (nnew != t->npairs) {
		nm_seterr(err, "map '%.100s': %d old nodes but %d new nodes "
			  "(the i-th old node goes to the i-th new node)", s,
			  t->npairs, nnew);
		return -1;
	}
	*out = tmp;
	return 0;
}

/* Appends one side, ascending runs as ranges; returns the length needed. */
static size_t format_ordered(const int16_t *order, int n, char *buf,
			     size_t len, size_t at)
{
	for (int i = 0; i < n;) {
		int j = i;

		while (j + 1 < n && order[j + 1] == order[j] + 1)
			j++;
		at += (size_t)snprintf(at < len ? buf + at : NULL,
				       at < len ? len - at : 0, "%s%d",
				       i ? "," : "", order[i]);
		if (j > i)
			at += (size_t)snprintf(at < len ? buf + at : NULL,
					       at < len ? len - at : 0, "-%d",
					       order[j]);
		i = j + 1;
	}
	return at;
}

size_t nm_target_format_map(const struct nm_target *t, char *buf, size_t len)
{
	size_t at;

	if (len)
		buf[0] = '\0';
	at = format_ordered(t->old_order, t->npairs, buf, len, 0);
	at += (size_t)snprintf(at < len ? buf + at : NULL,
			       at < len ? len - at : 0, ":");
	return format_ordered(t->new_order, t->npairs, buf, len, at);
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
