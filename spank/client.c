/* SPDX-License-Identifier: MIT */
/*
 * The daemon's Unix socket.  A copy of helper/client.c's connect logic with
 * a deadline: the plugin must not link helper code, and it must never hang
 * a prolog or a step launch on a stuck daemon.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "numamigrate.h"

json_t *nm_spank_call(const json_t *req, int timeout_s, char *err)
{
	json_t *r = NULL;
	int rc = -1, fd;

	fd = nm_connect_unix(nm_spank_args.socket, err);
	if (fd < 0)
		goto fail;
	if (nm_frame_write_json(fd, req, err) < 0)
		goto fail;
	for (;;) {
		bool eof, is_progress;
		size_t len;
		char *body = nm_frame_read(fd, &len, timeout_s * 1000, &eof,
					   err);

		if (!body) {
			if (eof)
				nm_seterr(err, "numamigrated closed the "
					  "connection without a reply (see "
					  "its log)");
			goto fail;
		}
		r = nm_reply_decode(body, len, &is_progress, err);
		free(body);
		if (!r)
			goto fail;
		if (!is_progress)
			break;
		json_decref(r);
		r = NULL;
	}
	rc = 0;
fail:
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		json_decref(r);
		r = NULL;
	}
	return r;
}

bool nm_spank_reply_ok(const json_t *reply)
{
	return json_is_true(json_object_get(reply, "ok"));
}

const char *nm_spank_reply_error(const json_t *reply)
{
	const char *e = json_string_value(json_object_get(reply, "error"));

	return e ? e : "no reason given";
}

bool nm_spank_reply_unknown_op(const json_t *reply)
{
	return !nm_spank_reply_ok(reply) &&
	       strncmp(nm_spank_reply_error(reply), "unknown op", 10) == 0;
}
