/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the numamigrated request decoder on whole frames
 * (header and body), as the daemon reads them.  A decoded request must
 * encode again and decode to the same op; an error must be one line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/proto/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[NM_ERRLEN] = "";
	struct nm_request req, again;

	if (nm_frame_decode(data, size, &req, err) == 0) {
		json_t *o = nm_request_encode(&req, err);
		char *s;

		if (!o)
			abort();
		s = json_dumps(o, JSON_COMPACT);
		if (!s || nm_request_decode(s, strlen(s), false, &again,
					    err) < 0 || again.op != req.op ||
		    again.npids != req.npids || again.ntasks != req.ntasks)
			abort();
		nm_request_release(&again);
		free(s);
		json_decref(o);
		nm_request_release(&req);
	} else if (!err[0] || strchr(err, '\n')) {
		abort();
	}
	if (size > 4 && nm_request_decode((const char *)data + 4, size - 4,
					  true, &req, err) == 0)
		nm_request_release(&req);
	return 0;
}
