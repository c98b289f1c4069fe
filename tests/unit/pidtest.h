/* SPDX-License-Identifier: MIT */
#ifndef NM_PIDTEST_H
#define NM_PIDTEST_H

/* Handles on processes for the tests of what acts through them. */

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/linux/pidref.h"

/*
 * A handle whose process is gone while its pid, @as, names a live one:
 * what a recycled pid looks like.  Close it with nm_pidref_close().
 */
static inline struct nm_pidref stale_ref(pid_t as)
{
	struct nm_pidref ref;
	char err[NM_ERRLEN];
	pid_t dead = fork();

	if (dead == 0)
		for (;;)
			pause();
	assert_int_equal(nm_pidref_open(&ref, dead, err), 0);
	kill(dead, SIGKILL);
	waitpid(dead, NULL, 0);
	ref.pid = as;
	return ref;
}

#endif
