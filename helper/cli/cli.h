/* SPDX-License-Identifier: MIT */
#ifndef NM_CLI_H
#define NM_CLI_H

#include <stddef.h>

/* The numamigrate command's subcommands; each returns the exit status. */

#define NM_EXIT_OK 0
#define NM_EXIT_REFUSED 1	/* the request is valid but cannot be done */
#define NM_EXIT_USAGE 2		/* bad command line or bad input */

int nm_cmd_plan(int argc, char **argv);

/* "numamigrate: <msg>" on stderr, one line. */
void nm_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

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
