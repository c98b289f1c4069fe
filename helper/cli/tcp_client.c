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
#include <unistd.h>

#include "helper/cli/tcp_client.h"

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

json_t *nm_client_call_tcp(const char *host, int port, const char *for_host,
			   const char *munge_socket,
			   const struct nm_request *req0,
			   void (*progress)(void *arg, json_t *frame),
			   void *arg, char *err)
{
	munge_ctx_t ctx = NULL;
	char *body = NULL, *cred = NULL, *env = NULL;
	json_t *o, *r = NULL;
	munge_err_t e;
	int fd = -1;
	struct nm_request bound = *req0;
	const struct nm_request *req = &bound;

	/* The credential names the daemon it is for: no other takes it. */
	snprintf(bound.host, sizeof(bound.host), "%s", for_host);
	body = nm_request_text(req, err);
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
	r = nm_client_exchange(fd, env, -1, progress, arg, err);
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
