/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <munge.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "daemon_config.h"

const char *nm_client_default_socket(void)
{
	const char *s = getenv("NUMAMIGRATE_SOCKET");

	return s && *s ? s : NM_DEFAULT_SOCKET;
}

/* Sends @o as one frame on @fd and reads frames until the reply. */
static json_t *exchange(int fd, const char *body,
			void (*progress)(void *arg, json_t *frame), void *arg,
			char *err)
{
	json_t *r = NULL;

	if (nm_frame_write(fd, body, strlen(body), err) < 0)
		return NULL;
	for (;;) {
		bool eof, is_progress;
		size_t len;
		char *b = nm_frame_read(fd, &len, -1, &eof, err);

		if (!b) {
			if (eof)
				nm_seterr(err, "numamigrated closed the "
					  "connection without a reply (see "
					  "its log)");
			break;
		}
		r = nm_reply_decode(b, len, &is_progress, err);
		free(b);
		if (!r)
			break;
		if (!is_progress)
			break;
		if (progress)
			progress(arg, r);
		json_decref(r);
		r = NULL;
	}
	return r;
}

/* The request as compact JSON text (free()), or NULL with @err. */
static char *encode_body(const struct nm_request *req, char *err)
{
	json_t *o = nm_request_encode(req, err);
	char *body;

	if (!o)
		return NULL;
	body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!body)
		nm_seterr(err, "out of memory");
	return body;
}

json_t *nm_client_call(const char *socket, const struct nm_request *req,
		       void (*progress)(void *arg, json_t *frame), void *arg,
		       char *err)
{
	json_t *r = NULL;
	char *body = NULL;
	int fd;

	body = encode_body(req, err);
	if (!body)
		return NULL;
	fd = nm_connect_unix(socket, err);
	if (fd >= 0) {
		r = exchange(fd, body, progress, arg, err);
		close(fd);
	}
	free(body);
	return r;
}

/* A TCP connection to @host:@port within @timeout_ms. */
static int connect_tcp(const char *host, int port, int timeout_ms, char *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char svc[16];
	int fd = -1, rc;

	snprintf(svc, sizeof(svc), "%d", port);
	rc = getaddrinfo(host, svc, &hints, &res);
	if (rc) {
		nm_seterr(err, "%.100s: %s", host, gai_strerror(rc));
		return -1;
	}
	nm_seterr(err, "%.100s port %d: no address", host, port);
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd p;
		int flags, soerr = 0;
		socklen_t sl = sizeof(soerr);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		flags = fcntl(fd, F_GETFL);
		fcntl(fd, F_SETFL, flags | O_NONBLOCK);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
		    errno != EINPROGRESS) {
			soerr = errno;
		} else {
			p.fd = fd;
			p.events = POLLOUT;
			if (poll(&p, 1, timeout_ms) <= 0)
				soerr = ETIMEDOUT;
			else
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
					   &sl);
		}
		if (!soerr) {
			fcntl(fd, F_SETFL, flags);
			break;
		}
		nm_seterr(err, "cannot reach numamigrated at %.100s port %d: "
			  "%s", host, port, strerror(soerr));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

json_t *nm_client_call_tcp(const char *host, int port,
			   const char *munge_socket,
			   const struct nm_request *req,
			   void (*progress)(void *arg, json_t *frame),
			   void *arg, char *err)
{
	munge_ctx_t ctx = NULL;
	char *body = NULL, *cred = NULL, *env = NULL;
	json_t *o, *r = NULL;
	munge_err_t e;
	int fd = -1;

	body = encode_body(req, err);
	if (!body)
		return NULL;
	/* The credential carries the request: it vouches for exactly it. */
	ctx = munge_ctx_create();
	if (!ctx) {
		nm_seterr(err, "MUNGE: out of memory");
		goto out;
	}
	if (munge_socket && munge_socket[0] &&
	    munge_ctx_set(ctx, MUNGE_OPT_SOCKET, munge_socket) !=
	    EMUNGE_SUCCESS) {
		nm_seterr(err, "MUNGE: cannot use socket %.200s", munge_socket);
		goto out;
	}
	e = munge_encode(&cred, ctx, body, (int)strlen(body));
	if (e != EMUNGE_SUCCESS) {
		nm_seterr(err, "MUNGE: cannot make a credential: %s",
			  munge_ctx_strerror(ctx));
		goto out;
	}
	o = json_pack("{s:i, s:s}", "version", NM_PROTO_VERSION, "munge",
		      cred);
	env = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!env) {
		nm_seterr(err, "out of memory");
		goto out;
	}
	fd = connect_tcp(host, port, 10000, err);
	if (fd < 0)
		goto out;
	r = exchange(fd, env, progress, arg, err);
out:
	if (fd >= 0)
		close(fd);
	if (ctx)
		munge_ctx_destroy(ctx);
	free(cred);
	free(env);
	free(body);
	return r;
}
