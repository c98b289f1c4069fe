/* SPDX-License-Identifier: MIT */
/*
 * The "policy" request: what a repack may do to a job (never, auto, or
 * only onto given nodes), from the job's own prolog.  Kept in the registry.
 */
#include <stdio.h>

#include "helper/daemon/log.h"
#include "helper/daemon/repack.h"
#include "helper/daemon/repack_internal.h"

json_t *nm_op_policy(struct nm_daemon *d, const struct nm_caller *who,
		     const struct nm_request *req)
{
	char err[NM_ERRLEN], nodes[256] = "";
	json_t *r;

	if (!who->privileged)
		return nm_repack_denied(who, req);
	if (nm_registry_set_policy(d->reg, req->job, req->policy,
				   &req->policy_nodes, err) < 0)
		return nm_repack_fail(who, req, "refused", err);
	if (req->policy == NM_POLICY_NODES)
		nm_repack_list(&req->policy_nodes, nodes, sizeof(nodes));
	nm_log(LOG_INFO, "policy from uid %u (%s): job %llu: %s%s%s",
	       (unsigned int)who->uid, who->peer,
	       (unsigned long long)req->job, nm_policy_name(req->policy),
	       nodes[0] ? " " : "", nodes);
	r = nm_reply_ok();
	json_object_set_new(r, "job", json_integer((json_int_t)req->job));
	json_object_set_new(r, "policy",
			    json_string(nm_policy_name(req->policy)));
	if (nodes[0])
		json_object_set_new(r, "nodes", json_string(nodes));
	return r;
}
