/* SPDX-License-Identifier: MIT */
/* Requests ahead of the moves' bulk work (priority.h). */
#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper/daemon/priority.h"

static int base;	/* the daemon's own nice level */

void nm_priority_init(void)
{
	errno = 0;
	base = getpriority(PRIO_PROCESS, 0);
	if (errno)
		base = 0;
}

/* Linux keeps a nice level per thread: PRIO_PROCESS with a thread id. */
static void set_nice(int level)
{
	if (level < -20)
		level = -20;
	/* Without CAP_SYS_NICE it stays as it is: only slower, not wrong. */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), level);
}

void nm_priority_serve(void)
{
	set_nice(base - NM_SERVE_BOOST);
}

void nm_priority_work(void)
{
	set_nice(base);
}
