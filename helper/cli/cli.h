/* SPDX-License-Identifier: MIT */
#ifndef NM_CLI_H
#define NM_CLI_H

#include <stdbool.h>
#include <stddef.h>

/* The numamigrate command's subcommands; each returns the exit status. */

#define NM_EXIT_OK 0
#define NM_EXIT_REFUSED 1	/* the request is valid but cannot be done */
#define NM_EXIT_USAGE 2		/* bad command line or bad input */

int nm_cmd_plan(int argc, char **argv);

/* "numamigrate: <msg>" on stderr, one line. */
void nm_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * One long option of a subcommand: an option with a value stores it in
 * *value, one without sets *flag.  A table ends with a NULL name; --help
 * is every command's and needs no entry.  The entries read like getopt's:
 *   { "socket", required_argument, &a->socket, NULL },
 *   { "json", no_argument, NULL, &a->json },
 */
struct nm_cli_opt {
	const char *name;
	int has_arg;
	const char **value;
	bool *flag;
};

/*
 * Parses the options of subcommand @cmd (argv[0]) by @opts; optind is
 * left at the first operand.  1 for --help, -1 after a one-line message.
 */
int nm_cli_options(int argc, char **argv, const char *cmd,
		   const struct nm_cli_opt *opts);

/*
 * The one-line error for getopt's answer @c ('?' or ':') about
 * argv[optind - 1] in subcommand @cmd; returns -1.
 */
int nm_cli_bad_option(int c, char **argv, const char *cmd);

/*
 * Reads a whole file ("-": stdin) of at most @max bytes, NUL-terminated.
 * NULL with @err (NM_ERRLEN) set on error.
 */
char *nm_cli_read_file(const char *path, size_t max, size_t *len, char *err);

#endif
