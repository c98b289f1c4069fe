/* SPDX-License-Identifier: MIT */
#ifndef NM_TCP_CLIENT_H
#define NM_TCP_CLIENT_H

#include "lib/proto/client.h"

/*
 * nm_client_call() over TCP to the numamigrated of @host (its [tcp] listener):
 * the request travels as the payload of a MUNGE credential made through
 * @munge_socket ("" or NULL: libmunge's default), so the daemon knows who
 * asks.  The request names @for_host (the node's NodeHostname), so the
 * credential is good on that host only.  Connecting gives up after 10 s.
 */
json_t *nm_client_call_tcp(const char *host, int port, const char *for_host,
			   const char *munge_socket,
			   const struct nm_request *req,
			   void (*progress)(void *arg, json_t *frame),
			   void *arg, char *err);

#endif
