/* SPDX-License-Identifier: MIT */
#ifndef NM_STOPPING_H
#define NM_STOPPING_H

#include <stdbool.h>

#include "helper/engine/move.h"

/*
 * A daemon told to stop (SIGTERM, SIGHUP, SIGINT) cancels its moves
 * rather than waiting for them: every move in flight is known here from
 * its start (the move's handle hook) to its end.
 */
struct nm_inflight {
	struct nm_move *mv;
	struct nm_inflight *next;
};

/*
 * Adds @f (for @mv) to the moves in flight; once the daemon is stopping,
 * @mv is cancelled at once instead (it never freezes).
 */
void nm_stopping_enter(struct nm_inflight *f, struct nm_move *mv);
void nm_stopping_leave(struct nm_inflight *f);
/* From now on every move is cancelled; returns how many were running. */
int nm_stopping_cancel_all(void);
bool nm_stopping(void);

/*
 * How long a stopping daemon waits for its connections once every move
 * is cancelled (a cancelled engine ends its batch, the move thaws and
 * answers).  The systemd unit's TimeoutStopSec is well above it.
 */
#define NM_STOP_WAIT_S 30

#endif
