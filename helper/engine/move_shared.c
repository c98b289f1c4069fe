/* SPDX-License-Identifier: MIT */
/*
 * Shared memory of others, left out of an unprivileged caller's move
 * (lib/linux/scan.h, nm_scan_process_for()): gathered from the scans into
 * the result, so the caller sees which mappings stayed and how much.
 */
#include <stdlib.h>
#include <syslog.h>

#include "helper/engine/move_internal.h"

int nm_move_note_skipped(struct nm_move *m, char *err)
{
	struct nm_move_result *r = m->r;
	size_t n = 0;
	int k = 0;

	for (int i = 0; i < r->npids; i++)
		n += m->gone[i] ? 0 : m->scans[i].nskipped;
	free(r->skipped);
	r->skipped = NULL;
	r->nskipped = 0;
	r->pages_skipped_shared = 0;
	if (!n)
		return 0;
	r->skipped = calloc(n, sizeof(*r->skipped));
	if (!r->skipped) {
		nm_seterr(err, "out of memory");
		return -1;
	}
	for (int i = 0; i < r->npids; i++) {
		const struct nm_scan *s = &m->scans[i];

		for (size_t j = 0; !m->gone[i] && j < s->nskipped; j++) {
			r->skipped[k].pid = r->pids[i];
			r->skipped[k++].map = s->skipped[j];
			r->pages_skipped_shared += s->skipped[j].pages;
			nm_move_log(m, LOG_NOTICE, "process %d: %s (owner "
				    "uid %d, %llu pages) is another user's "
				    "shared memory: not moved",
				    (int)r->pids[i], s->skipped[j].path,
				    (int)s->skipped[j].owner,
				    (unsigned long long)s->skipped[j].pages);
		}
	}
	r->nskipped = k;
	return 0;
}
