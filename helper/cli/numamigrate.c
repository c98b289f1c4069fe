/* SPDX-License-Identifier: MIT */
/* numamigrate: the command-line front end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "helper/cli/cli.h"
#include "helper/cli/cli_daemon.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "plan", nm_cmd_plan, "show how a job would move (dry run)" },
	{ "move", nm_cmd_move, "move a job through numamigrated" },
	{ "status", nm_cmd_status, "registered jobs and moves in progress" },
	{ "register", nm_cmd_register, "register a job's tasks and ranks" },
	{ "unregister", nm_cmd_unregister, "forget registered tasks" },
	{ "policy", nm_cmd_policy, "set a job's migration policy (root)" },
	{ "repack", nm_cmd_repack,
	  "move suspended jobs off a starting job's nodes (root)" },
	{ "restore", nm_cmd_restore,
	  "move them back when that job ends (root)" },
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: numamigrate COMMAND [OPTIONS]\n\n"
		"Move a job's memory and CPUs between NUMA nodes, keeping "
		"each rank's placement.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(out, "\nRun 'numamigrate COMMAND --help' for a command's "
		"options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return NM_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return NM_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("numamigrate %s\n", PACKAGE_VERSION);
		return NM_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	nm_cli_error("unknown command '%s' (try 'numamigrate --help')",
		     argv[1]);
	return NM_EXIT_USAGE;
}
