/* SPDX-License-Identifier: MIT */
/*
 * The daemon's Unix socket, through the core's client call with a deadline:
 * a stuck daemon must never hang a prolog or a step launch.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/proto/client.h"
#include "spank/numamigrate.h"

json_t *nm_spank_call(const json_t *req, int timeout_s, char *err)
{
	char *body = json_dumps(req, JSON_COMPACT);
	json_t *r = NULL;
	int fd;

	if (!body) {
		nm_seterr(err, "out of memory");
		return NULL;
	}
	fd = nm_connect_unix(nm_spank_args.socket, err);
	if (fd >= 0) {
		r = nm_client_exchange(fd, body, timeout_s * 1000, NULL, NULL,
				       err);
		close(fd);
	}
	free(body);
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
