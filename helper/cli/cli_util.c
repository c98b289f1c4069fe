/* SPDX-License-Identifier: MIT */
/* The helpers every numamigrate subcommand shares (cli.h, cli_daemon.h). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper/cli/cli.h"
#include "helper/cli/cli_daemon.h"
#include "lib/base/error.h"
#include "lib/base/file.h"

void nm_cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("numamigrate: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int nm_cli_bad_option(int c, char **argv, const char *cmd)
{
	if (c == ':')
		nm_cli_error("%s: option '%s' needs a value", cmd,
			     argv[optind - 1]);
	else
		nm_cli_error("%s: unknown option '%s' (try 'numamigrate %s "
			     "--help')", cmd, argv[optind - 1], cmd);
	return -1;
}

/* getopt's values for the table's entries: past any short option. */
#define OPT_BASE 256

int nm_cli_options(int argc, char **argv, const char *cmd,
		   const struct nm_cli_opt *opts)
{
	struct option lo[64];
	int n = 0, c;

	/* A subcommand has a dozen options at most: room to spare. */
	while (opts[n].name && n < 62) {
		lo[n] = (struct option){ opts[n].name, opts[n].has_arg, NULL,
					 OPT_BASE + n };
		n++;
	}
	lo[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[n] = (struct option){ NULL, 0, NULL, 0 };
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (c == 'h')
			return 1;
		if (c < OPT_BASE)
			return nm_cli_bad_option(c, argv, cmd);
		if (opts[c - OPT_BASE].value)
			*opts[c - OPT_BASE].value = optarg;
		else
			*opts[c - OPT_BASE].flag = true;
	}
	return 0;
}

/* The project's whole-file reader; "-" is standard input. */
char *nm_cli_read_file(const char *path, size_t max, size_t *len, char *err)
{
	char *buf = nm_read_file(strcmp(path, "-") == 0 ? "/dev/stdin" : path,
				 max, len);

	if (buf)
		return buf;
	if (errno == EFBIG)
		nm_seterr(err, "larger than %zu bytes", max);
	else if (errno == ENOMEM)
		nm_seterr(err, "out of memory");
	else
		nm_seterr(err, "%s", strerror(errno));
	return NULL;
}

/* A decimal number 0..@max. */
int nm_cli_parse_uint(const char *s, unsigned long long max,
		      unsigned long long *out, const char *what)
{
	char *end;

	if (!*s || *s < '0' || *s > '9')
		goto bad;
	*out = strtoull(s, &end, 10);
	if (*end || *out > max)
		goto bad;
	return 0;
bad:
	nm_cli_error("%s '%.40s': expected a number from 0 to %llu", what, s,
		     max);
	return -1;
}

/* Exit status for an error reply's code. */
int nm_cli_exit_for(json_t *reply)
{
	const char *code = json_string_value(json_object_get(reply, "code"));

	return code && !strcmp(code, "bad_request") ? NM_EXIT_USAGE :
						      NM_EXIT_REFUSED;
}
