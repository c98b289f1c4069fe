/* SPDX-License-Identifier: MIT */
/*
 * The daemon's Unix socket, through lib/proto's client call with a
 * deadline: a stuck daemon must never hang a prolog or a step launch.
 */
#include <string.h>

#include "lib/proto/client.h"
#include "spank/numamigrate.h"

json_t *nm_spank_call(const struct nm_request *req, int timeout_s, char *err)
{
	return nm_client_call(nm_spank_args.socket, req, timeout_s * 1000,
			      NULL, NULL, err);
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
