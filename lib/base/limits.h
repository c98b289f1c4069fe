/* SPDX-License-Identifier: MIT */
#ifndef NM_LIMITS_H
#define NM_LIMITS_H

/* The bounds every layer checks input against (lists, jobs, requests). */
#define NM_MAX_NODES 1024	/* NUMA node numbers are below this */
#define NM_MAX_TASKS 65536	/* tasks in one job */

#endif
