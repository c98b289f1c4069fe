/* SPDX-License-Identifier: MIT */
#ifndef NM_CLIENT_H
#define NM_CLIENT_H

#include <jansson.h>

#include "lib/base/error.h"
#include "lib/proto/protocol.h"

/*
 * Talks to numamigrated over its Unix socket: sends one request, hands
 * each progress frame to @progress (may be NULL) and returns the final
 * reply (json_decref it), or NULL with @err when there is none.  Waits at
 * most @timeout_ms for each frame (-1: no limit).
 */
json_t *nm_client_call(const char *socket, const struct nm_request *req,
		       int timeout_ms,
		       void (*progress)(void *arg, json_t *frame), void *arg,
		       char *err);

/* The request as compact JSON text (free() it), or NULL with @err. */
char *nm_request_text(const struct nm_request *req, char *err);

/*
 * Sends @body as one frame on the connected @fd and reads frames until the
 * final reply, as nm_client_call() does.
 */
json_t *nm_client_exchange(int fd, const char *body, int timeout_ms,
			   void (*progress)(void *arg, json_t *frame),
			   void *arg, char *err);

/* The default socket, or $NUMAMIGRATE_SOCKET when set. */
const char *nm_client_default_socket(void);

#endif
