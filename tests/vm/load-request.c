/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/base/clock.h"
#include "lib/proto/client.h"
#include "lib/proto/protocol.h"
#include "tests/vm/load-request.h"

int load_frame_make(const struct nm_request *req, struct load_frame *f,
		    char *err)
{
	char *body = nm_request_text(req, err);
	size_t n;

	if (!body)
		return -1;
	n = strlen(body);
	f->bytes = malloc(4 + n);
	if (!f->bytes) {
		free(body);
		nm_seterr(err, "out of memory");
		return -1;
	}
	nm_frame_put_header(f->bytes, (uint32_t)n);
	memcpy(f->bytes + 4, body, n);
	f->len = 4 + n;
	free(body);
	return 0;
}

/* Watch for what the request needs next: room to send, or a reply. */
static int watch(struct load_request *r, int ep, int op, char *err)
{
	struct epoll_event ev = {
		.events = r->sent < r->out->len ? EPOLLOUT : EPOLLIN,
		.data.ptr = r->owner,
	};

	if (epoll_ctl(ep, op, r->fd, &ev) < 0) {
		nm_seterr(err, "epoll_ctl: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Sends what fits; 0 (sent or more to send), -1 with @err. */
static int send_some(struct load_request *r, char *err)
{
	while (r->sent < r->out->len) {
		ssize_t w = send(r->fd, r->out->bytes + r->sent,
				 r->out->len - r->sent, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return 0;
		if (w < 0) {
			nm_seterr(err, "send: %s", strerror(errno));
			return -1;
		}
		r->sent += (size_t)w;
	}
	return 0;
}

int load_request_start(struct load_request *r, int ep, void *owner,
		       const char *path, const struct load_frame *f,
		       double timeout, char *err)
{
	char *body = r->body;	/* its buffer outlives the request */
	size_t cap = r->cap;

	memset(r, 0, sizeof(*r));
	r->body = body;
	r->cap = cap;
	r->t0 = nm_now_seconds();
	r->deadline = r->t0 + timeout;
	r->out = f;
	r->owner = owner;
	r->fd = nm_connect_unix_nonblocking(path, err);
	if (r->fd < 0)
		return -1;
	/* A request fits the socket's buffer: sent before the first wait. */
	if (send_some(r, err) < 0 || watch(r, ep, EPOLL_CTL_ADD, err) < 0) {
		load_request_close(r);
		return -1;
	}
	return 0;
}

void load_request_close(struct load_request *r)
{
	if (r->fd >= 0)
		close(r->fd);	/* leaves the epoll set with it */
	r->fd = -1;
	json_decref(r->reply);
	r->reply = NULL;
}

void load_request_free(struct load_request *r)
{
	load_request_close(r);
	free(r->body);
	r->body = NULL;
	r->cap = 0;
}

/*
 * Reads into @buf up to @want bytes; 1: have them, 0: wait, -1: @err.
 */
static int read_some(int fd, void *buf, size_t want, size_t *got, char *err)
{
	while (*got < want) {
		ssize_t n = read(fd, (char *)buf + *got, want - *got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0) {
			nm_seterr(err, "read: %s", strerror(errno));
			return -1;
		}
		if (n == 0) {
			nm_seterr(err, "the daemon closed the connection");
			return -1;
		}
		*got += (size_t)n;
	}
	return 1;
}

/* Room for a body of @n bytes, kept from one request to the next. */
static int body_room(struct load_request *r, size_t n, char *err)
{
	char *b;

	if (n <= r->cap)
		return 0;
	b = realloc(r->body, n);
	if (!b) {
		nm_seterr(err, "out of memory");
		return -1;
	}
	r->body = b;
	r->cap = n;
	return 0;
}

/* One whole frame body read and decoded; 1, 0 (wait) or -1 with @err. */
static int read_frame(struct load_request *r, json_t **frame, bool *progress,
		      char *err)
{
	int rc;

	if (!r->blen) {
		rc = read_some(r->fd, r->hdr, 4, &r->hgot, err);
		if (rc <= 0)
			return rc;
		if (nm_frame_get_header(r->hdr, &r->blen, err) < 0 ||
		    body_room(r, r->blen, err) < 0)
			return -1;
		r->bgot = 0;
	}
	rc = read_some(r->fd, r->body, r->blen, &r->bgot, err);
	if (rc <= 0)
		return rc;
	*frame = nm_reply_decode(r->body, r->blen, progress, err);
	r->blen = 0;
	r->hgot = 0;
	return *frame ? 1 : -1;
}

/* Reads frames until the final reply; 1, 0 (wait) or -1 with @err. */
static int read_reply(struct load_request *r, char *err)
{
	for (;;) {
		bool progress;
		json_t *f;
		int rc = read_frame(r, &f, &progress, err);

		if (rc <= 0)
			return rc;
		if (!progress) {
			r->reply = f;
			return 1;
		}
		json_decref(f);
	}
}

int load_request_step(struct load_request *r, int ep, char *err)
{
	int rc;

	if (r->sent < r->out->len) {
		rc = send_some(r, err);
		/* All sent: from now on, wait for the reply. */
		if (rc == 0 && r->sent == r->out->len)
			rc = watch(r, ep, EPOLL_CTL_MOD, err);
	} else {
		rc = read_reply(r, err);
	}
	if (rc != 0) {
		json_t *reply = r->reply;

		r->reply = NULL;	/* the caller's */
		load_request_close(r);
		r->reply = reply;
	}
	return rc;
}
