/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the SPANK plugin's arguments (its line in
 * plugstack.conf), the input split on spaces and NULs into argv.  Good
 * arguments give valid settings; a bad one is reported through
 * slurm_error() and changes nothing.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spank/numamigrate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64

static int nerrors;

/* Slurm's, in the plugin's host process; formatted to check the args. */
void slurm_error(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	nerrors++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nm_spank_args defaults;
	static bool saved;
	struct nm_spank_args before;
	char *s = malloc(size + 1), *av[MAX_ARGS];
	int ac = 0, rc;

	if (!s)
		return 0;
	/* Every run starts from the plugin's defaults. */
	if (!saved) {
		defaults = nm_spank_args;
		saved = true;
	}
	nm_spank_args = defaults;
	memcpy(s, data, size);
	s[size] = '\0';
	for (size_t i = 0; i < size; i++)
		if (s[i] == ' ')
			s[i] = '\0';
	for (size_t i = 0; i < size && ac < MAX_ARGS; i++)
		if (s[i] && (i == 0 || !s[i - 1]))
			av[ac++] = s + i;
	memcpy(&before, &nm_spank_args, sizeof(before));
	nerrors = 0;
	rc = nm_spank_args_parse(ac, av);
	if (rc < 0) {
		if (!nerrors ||
		    memcmp(&before, &nm_spank_args, sizeof(before)) != 0)
			abort();
	} else if (rc != 0 || nerrors ||
		   nm_spank_args.socket[0] != '/' ||
		   !memchr(nm_spank_args.socket, '\0',
			   sizeof(nm_spank_args.socket)) ||
		   (nm_spank_args.repack != NM_REPACK_AUTO &&
		    nm_spank_args.repack != NM_REPACK_NEVER) ||
		   (unsigned int)nm_spank_args.engine > NM_ENGINE_KMOD ||
		   nm_spank_args.timeout_s < 1 ||
		   nm_spank_args.timeout_s > 86400) {
		abort();
	}
	free(s);
	return 0;
}
