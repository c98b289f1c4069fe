/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/proto/client.h"

const char *nm_client_default_socket(void)
{
	const char *s = getenv("NUMAMIGRATE_SOCKET");

	return s && *s ? s : NM_DEFAULT_SOCKET;
}

json_t *nm_client_exchange(int fd, const char *body, int timeout_ms,
			   void (*progress)(void *arg, json_t *frame),
			   void *arg, char *err)
{
	json_t *r = NULL;

	if (nm_frame_write(fd, body, strlen(body), err) < 0)
		return NULL;
	for (;;) {
		bool eof, is_progress;
		size_t len;
		char *b = nm_frame_read(fd, &len, timeout_ms, &eof, err);

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

char *nm_request_text(const struct nm_request *req, char *err)
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
		       int timeout_ms,
		       void (*progress)(void *arg, json_t *frame), void *arg,
		       char *err)
{
	json_t *r = NULL;
	char *body = NULL;
	int fd;

	body = nm_request_text(req, err);
	if (!body)
		return NULL;
	fd = nm_connect_unix(socket, err);
	if (fd >= 0) {
		r = nm_client_exchange(fd, body, timeout_ms, progress, arg,
				       err);
		close(fd);
	}
	free(body);
	return r;
}
