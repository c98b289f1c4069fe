/* SPDX-License-Identifier: MIT */
#ifndef NM_PRIORITY_H
#define NM_PRIORITY_H

/*
 * Requests are answered ahead of the moves' bulk work.  The accepting
 * thread and each connection's thread run NM_SERVE_BOOST nice levels
 * above the daemon's own, so a status, a register or a refusal never
 * waits behind a move's page copying for a busy CPU; a thread that
 * starts long work (a move, a
 * repack, a restore) first gives the boost up, and the engine threads it
 * starts inherit the daemon's own level.  Answering is cheap and each
 * user's connections are limited (slots.c): the boost cannot be turned
 * into CPU time taken from the jobs.
 */
#define NM_SERVE_BOOST 10

/* Notes the daemon's own nice level (call once, from main). */
void nm_priority_init(void);

/* This thread answers requests: the daemon's level, boosted. */
void nm_priority_serve(void);

/* This thread starts long work: the daemon's own level. */
void nm_priority_work(void);

#endif
