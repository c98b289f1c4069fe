/* SPDX-License-Identifier: MIT */
#ifndef NM_CLIENT_H
#define NM_CLIENT_H

#include <jansson.h>

#include "lib/error.h"
#include "lib/protocol.h"

/*
 * Talks to numamigrated over its Unix socket: sends one request, hands
 * each progress frame to @progress (may be NULL) and returns the final
 * reply (json_decref it), or NULL with @err when there is none.
 */
json_t *nm_client_call(const char *socket, const struct nm_request *req,
		       void (*progress)(void *arg, json_t *frame), void *arg,
		       char *err);

/*
 * The same over TCP to the numamigrated of @host (its [tcp] listener):
 * the request travels as the payload of a MUNGE credential made through
 * @munge_socket ("" or NULL: libmunge's default), so the daemon knows who
 * asks.  Connecting gives up after 10 s.
 */
json_t *nm_client_call_tcp(const char *host, int port,
			   const char *munge_socket,
			   const struct nm_request *req,
			   void (*progress)(void *arg, json_t *frame),
			   void *arg, char *err);

/* The default socket, or $NUMAMIGRATE_SOCKET when set. */
const char *nm_client_default_socket(void);

#endif
