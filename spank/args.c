/* SPDX-License-Identifier: MIT */
/* Plugin arguments, from the plugin's line in plugstack.conf. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numamigrate.h"

struct nm_spank_args nm_spank_args = {
	.socket = NM_SPANK_SOCKET_DEFAULT,
	.repack = NM_REPACK_AUTO,
	.engine = NM_ENGINE_AUTO,
	.timeout_s = 600,
	.quick_timeout_s = 10,
};

static int parse_seconds(const char *key, const char *v, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < 1 || n > 86400) {
		slurm_error("numamigrate: plugin argument %s=%s: expected "
			    "seconds from 1 to 86400", key, v);
		return -1;
	}
	*out = (int)n;
	return 0;
}

static int parse_one(struct nm_spank_args *a, const char *arg)
{
	char err[NM_ERRLEN];
	const char *v = strchr(arg, '=');
	size_t klen;

	if (!v) {
		slurm_error("numamigrate: plugin argument '%s': expected "
			    "key=value (socket, repack, engine, mode, timeout)", arg);
		return -1;
	}
	klen = (size_t)(v - arg);
	v++;
	if (klen == 6 && !strncmp(arg, "socket", 6)) {
		if (v[0] != '/' || strlen(v) >= sizeof(a->socket)) {
			slurm_error("numamigrate: plugin argument socket=%s: "
				    "expected an absolute path shorter than "
				    "%zu characters", v,
				    sizeof(a->socket));
			return -1;
		}
		snprintf(a->socket, sizeof(a->socket), "%s", v);
		return 0;
	}
	if (klen == 6 && !strncmp(arg, "repack", 6)) {
		if (!strcmp(v, "auto")) {
			a->repack = NM_REPACK_AUTO;
		} else if (!strcmp(v, "never")) {
			a->repack = NM_REPACK_NEVER;
		} else {
			slurm_error("numamigrate: plugin argument repack=%s: "
				    "expected auto or never", v);
			return -1;
		}
		return 0;
	}
	if (klen == 6 && !strncmp(arg, "engine", 6)) {
		if (nm_engine_parse(v, &a->engine, err) < 0) {
			slurm_error("numamigrate: plugin argument: %s", err);
			return -1;
		}
		return 0;
	}
	if (klen == 4 && !strncmp(arg, "mode", 4)) {
		if (nm_mode_parse(v, &a->mode, err) < 0) {
			slurm_error("numamigrate: plugin argument: %s", err);
			return -1;
		}
		return 0;
	}
	if (klen == 7 && !strncmp(arg, "timeout", 7))
		return parse_seconds("timeout", v, &a->timeout_s);
	slurm_error("numamigrate: unknown plugin argument '%.*s' (known: "
		    "socket, repack, engine, mode, timeout)", (int)klen, arg);
	return -1;
}

/*
 * socket=PATH repack=auto|never engine=auto|syscall|kmod mode=frozen|live
 * timeout=SECONDS.
 * A bad argument is an error in every context: a typo in plugstack.conf
 * must not silently mean the default.  nm_spank_args changes only when
 * every argument is good.
 */
int nm_spank_args_parse(int ac, char **av)
{
	struct nm_spank_args a = nm_spank_args;

	for (int i = 0; i < ac; i++)
		if (parse_one(&a, av[i]) < 0)
			return -1;
	nm_spank_args = a;
	return 0;
}
