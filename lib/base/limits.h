/* SPDX-License-Identifier: MIT */
#ifndef NM_LIMITS_H
#define NM_LIMITS_H

/* The bounds every layer checks input against (lists, jobs, requests). */
#define NM_MAX_NODES 1024	/* NUMA node numbers are below this */
#define NM_MAX_TASKS 65536	/* tasks in one job */
/*
 * Migration worker threads of one move: numamigrate move --threads,
 * [move] threads, the request's "threads", the engine's workers.  The
 * kernel module copies each batch with at most its own maximum
 * (NM_KMOD_MAX_THREADS, as it reports it): a move asking more keeps its
 * workers and sends the module its maximum, and its result says so.
 */
#define NM_MAX_THREADS 256

#endif
