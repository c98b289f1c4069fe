/* SPDX-License-Identifier: MIT */
#ifndef NM_LOAD_REQUEST_H
#define NM_LOAD_REQUEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/base/error.h"
#include "lib/proto/protocol.h"

/*
 * One request of tests/vm/nm-load-clients on a fresh non-blocking
 * connection to numamigrated, as numamigrate makes it (lib/proto): the
 * request frame out, then frames in until the final reply; progress
 * frames are read and dropped.  Driven by the caller's epoll loop: start,
 * then a step each time the socket is ready.
 */
struct load_frame {
	uint8_t *bytes;		/* header and body, as sent */
	size_t len;
};

struct load_request {
	int fd;			/* -1: none in flight */
	void *owner;		/* the epoll event's data */
	const struct load_frame *out;
	size_t sent;
	uint8_t hdr[4];		/* the frame being read: its header, */
	size_t hgot;
	uint32_t blen;		/* then its body (0: header not read) */
	size_t bgot;
	char *body;		/* the body's buffer: kept for the next */
	size_t cap;		/* request (a fresh one each time costs
				   more than the parse) */
	double t0, deadline;	/* monotonic seconds */
	json_t *reply;		/* the final reply, once done */
};

/* The request as a frame to send (free() .bytes), or -1 with @err. */
int load_frame_make(const struct nm_request *req, struct load_frame *f,
		    char *err);

/*
 * Connects to @path and starts sending @f, registering the socket with
 * the epoll set @ep (data: @owner).  A full listen backlog (EAGAIN) is a
 * failure, not a wait.  0, or -1 with @err and nothing left open.
 */
int load_request_start(struct load_request *r, int ep, void *owner,
		       const char *path, const struct load_frame *f,
		       double timeout, char *err);

/*
 * Sends or reads what the socket allows now.  1: done (the final reply in
 * r->reply; the caller takes it); 0: more to come; -1: failed, with @err.
 * The connection is closed once done or failed.
 */
int load_request_step(struct load_request *r, int ep, char *err);

/* Closes the connection and drops what was read (a timeout). */
void load_request_close(struct load_request *r);
/* That, and frees the body's buffer: @r is done with. */
void load_request_free(struct load_request *r);

#endif
