/* SPDX-License-Identifier: MIT */
/*
 * numamigrated: the privileged helper that moves jobs between NUMA nodes.
 * Everything privileged in numamigrate happens in this process.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "config.h"

#include "helper/site/conf.h"
#include "helper/daemon/journal.h"
#include "helper/daemon/log.h"
#include "helper/daemon/ops.h"
#include "helper/daemon/registry.h"
#include "helper/daemon/repack.h"
#include "helper/site/slurm_info.h"
#include "helper/daemon/server.h"
#include "helper/daemon/munge_auth.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: numamigrated --foreground [--config FILE] "
		"[--socket PATH]\n\n"
		"The numamigrate helper daemon (run as root, by systemd or in "
		"the foreground).\n\n"
		"  --foreground     stay attached; log to stderr as well as "
		"syslog\n"
		"  --config FILE    settings (default " NM_DEFAULT_CONFIG ")\n"
		"  --socket PATH    listen here instead of the configured "
		"socket\n"
		"  --version        print the version\n");
}

static void recovered(void *arg, const char *file, int rc, const char *msg)
{
	(void)arg;
	if (rc == 0)
		nm_log(LOG_WARNING, "recovery: thawed the job recorded in %s "
		       "(a move was interrupted)", file);
	else
		nm_log(LOG_ERR, "recovery: %s: %s (file kept)", file, msg);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *sock = NULL;
	struct nm_daemon d = { 0 };
	bool foreground = false;
	char err[NM_ERRLEN] = "";
	int c, unix_fd = -1, tcp_fd = -1, sigfd, sig;
	sigset_t mask;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': foreground = true; break;
		case 'c': config = optarg; break;
		case 's': sock = optarg; break;
		case 'V':
			printf("numamigrated %s\n", PACKAGE_VERSION);
			return 0;
		case 'h': usage(stdout); return 0;
		case ':':
			fprintf(stderr, "numamigrated: option '%s' needs a "
				"value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "numamigrated: unknown option '%s' "
				"(try --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "numamigrated: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	if (!foreground) {
		/* systemd (Type=simple) runs it in the foreground too. */
		fprintf(stderr, "numamigrated: give --foreground (it does not "
			"daemonize itself; systemd supervises it)\n");
		return 2;
	}
	nm_config_defaults(&d.cfg);
	if (nm_config_load(&d.cfg, config ? config : NM_DEFAULT_CONFIG,
			   config != NULL, err) < 0) {
		fprintf(stderr, "numamigrated: %s\n", err);
		return 2;
	}
	if (sock) {
		if (sock[0] != '/' || strlen(sock) >= sizeof(d.cfg.socket)) {
			fprintf(stderr, "numamigrated: --socket '%s': expected "
				"an absolute path under %zu characters\n", sock,
				sizeof(d.cfg.socket));
			return 2;
		}
		snprintf(d.cfg.socket, sizeof(d.cfg.socket), "%s", sock);
	}
	nm_log_open(foreground, d.cfg.log_level);
	if (geteuid() != 0) {
		nm_log(LOG_ERR, "must run as root (it freezes, moves and "
		       "re-pins other users' processes)");
		return 1;
	}
	/* Signals are read from a signalfd; no thread takes them. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sigfd < 0) {
		nm_log(LOG_ERR, "signalfd: %s", strerror(errno));
		return 1;
	}

	/* Crash recovery before anything else: no job stays frozen. */
	if (nm_journal_init(d.cfg.journal_dir, err) < 0 ||
	    nm_journal_recover(d.cfg.journal_dir, recovered, NULL, err) < 0) {
		nm_log(LOG_ERR, "%s", err);
		return 1;
	}
	/* What earlier repacks evacuated, still to be moved back. */
	if (nm_repack_load(d.cfg.journal_dir, err) < 0) {
		nm_log(LOG_ERR, "%s", err);
		return 1;
	}
	nm_slurm_setup(d.cfg.slurm_conf);
	nm_munge_setup(d.cfg.munge_socket);
	d.reg = nm_registry_new();
	if (!d.reg) {
		nm_log(LOG_ERR, "out of memory");
		return 1;
	}
	unix_fd = nm_server_listen_unix(&d.cfg, err);
	if (unix_fd < 0) {
		nm_log(LOG_ERR, "%s", err);
		return 1;
	}
	if (d.cfg.tcp) {
		tcp_fd = nm_server_listen_tcp(&d.cfg, err);
		if (tcp_fd < 0) {
			nm_log(LOG_ERR, "%s", err);
			unlink(d.cfg.socket);
			return 1;
		}
	}
	nm_log(LOG_NOTICE, "numamigrated %s listening on %s (journal %s)",
	       PACKAGE_VERSION, d.cfg.socket, d.cfg.journal_dir);
	if (d.cfg.tcp)
		nm_log(LOG_NOTICE, "TCP listener on %s port %d, MUNGE "
		       "credentials required", d.cfg.tcp_address,
		       d.cfg.tcp_port);
	sig = nm_server_run(&d, unix_fd, tcp_fd, sigfd);
	unlink(d.cfg.socket);
	nm_registry_free(d.reg);
	nm_log(LOG_NOTICE, "stopped (signal %d)", sig);
	return sig < 0 ? 1 : 0;
}
