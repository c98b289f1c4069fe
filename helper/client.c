/* SPDX-License-Identifier: MIT */
#include <errno.h>
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

static int connect_unix(const char *path, char *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		nm_seterr(err, "socket path too long: %.80s", path);
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		nm_seterr(err, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		nm_seterr(err, "cannot reach numamigrated at %.120s: %s%s",
			  path, strerror(errno),
			  errno == ENOENT || errno == ECONNREFUSED ?
			  " (is the daemon running?)" : "");
		close(fd);
		return -1;
	}
	return fd;
}

json_t *nm_client_call(const char *socket, const struct nm_request *req,
		       void (*progress)(void *arg, json_t *frame), void *arg,
		       char *err)
{
	json_t *o, *r = NULL;
	int fd;

	o = nm_request_encode(req, err);
	if (!o)
		return NULL;
	fd = connect_unix(socket, err);
	if (fd < 0)
		goto out;
	if (nm_frame_write_json(fd, o, err) < 0)
		goto out;
	for (;;) {
		bool eof, is_progress;
		size_t len;
		char *body = nm_frame_read(fd, &len, -1, &eof, err);

		if (!body) {
			if (eof)
				nm_seterr(err, "numamigrated closed the "
					  "connection without a reply (see "
					  "its log)");
			break;
		}
		r = nm_reply_decode(body, len, &is_progress, err);
		free(body);
		if (!r)
			break;
		if (!is_progress)
			break;
		if (progress)
			progress(arg, r);
		json_decref(r);
		r = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	json_decref(o);
	return r;
}
