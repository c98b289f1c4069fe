/* SPDX-License-Identifier: MIT */
#ifndef NM_CPUSET_JOURNAL_H
#define NM_CPUSET_JOURNAL_H

#include <stddef.h>

#include "helper/engine/cpuset.h"
#include "lib/base/error.h"

/*
 * The cpuset journal.  Before a move widens its cpusets' memory nodes
 * (helper/engine/cpuset.c), every cpuset it will write and the nodes it
 * had are recorded in JOURNAL_DIR/cpusets-GENERATION-ID.json; once they
 * are narrowed (or put back) the file goes.  A daemon that starts and
 * finds one died in between: each cpuset gets its recorded nodes back,
 * the job's own first, then the ancestors from the deepest up, so no
 * node added for the move (a target it never reached, a parking spare)
 * stays in the job's cpusets.  On cgroup v2 the kernel then moves the
 * job's memory back onto those nodes: a crashed move is undone.
 */
struct nm_cpuset_journal {
	char path[600];
};

int nm_cpuset_journal_begin(struct nm_cpuset_journal *j, const char *dir,
			    unsigned long id, const struct nm_cpusets *c,
			    char *err);
int nm_cpuset_journal_finish(struct nm_cpuset_journal *j, char *err);

/*
 * One file's text back into @c (c->set, c->n, c->nleaves; released with
 * nm_cpusets_release()).  -1 with a one-line @err when it is not one.
 */
int nm_cpuset_journal_parse(const char *buf, size_t len,
			    struct nm_cpusets *c, char *err);

/*
 * Puts back the cpusets every cpuset journal in @dir records and removes
 * the files; a cpuset gone meanwhile (its job ended) needs nothing.  A
 * file that could not be read or acted on stays, logged.  Returns how
 * many files there were, or -1 when @dir cannot be read.
 */
int nm_cpuset_journal_recover(const char *dir, char *err);

#endif
