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
#include "helper/daemon/cpuset_journal.h"
#include "helper/daemon/journal.h"
#include "helper/daemon/live_journal.h"
#include "helper/daemon/thaw_retry.h"
#include "helper/daemon/log.h"
#include "helper/daemon/ops.h"
#include "helper/daemon/priority.h"
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

/* The command line. */
struct args {
	const char *config;	/* --config FILE, NULL: the default */
	const char *sock;	/* --socket PATH, NULL: the configured one */
	bool foreground;	/* --foreground: required (systemd runs it so) */
};

/* -1: go on; else the exit status (after --help, --version, bad usage). */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': a->foreground = true; break;
		case 'c': a->config = optarg; break;
		case 's': a->sock = optarg; break;
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
	if (!a->foreground) {
		/* systemd (Type=simple) runs it in the foreground too. */
		fprintf(stderr, "numamigrated: give --foreground (it does not "
			"daemonize itself; systemd supervises it)\n");
		return 2;
	}
	return -1;
}

/* The configuration file, then --socket over it. */
static int configure(struct nm_config *cfg, const struct args *a)
{
	char err[NM_ERRLEN] = "";

	nm_config_defaults(cfg);
	if (nm_config_load(cfg, a->config ? a->config : NM_DEFAULT_CONFIG,
			   a->config != NULL, err) < 0) {
		fprintf(stderr, "numamigrated: %s\n", err);
		return -1;
	}
	if (!a->sock)
		return 0;
	if (a->sock[0] != '/' || strlen(a->sock) >= sizeof(cfg->socket)) {
		fprintf(stderr, "numamigrated: --socket '%s': expected an "
			"absolute path under %zu characters\n", a->sock,
			sizeof(cfg->socket));
		return -1;
	}
	snprintf(cfg->socket, sizeof(cfg->socket), "%s", a->sock);
	return 0;
}

/* Signals are read from a signalfd; no thread takes them. */
static int signal_fd(void)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (fd < 0)
		nm_log(LOG_ERR, "signalfd: %s", strerror(errno));
	return fd;
}

/* What a previous daemon left: frozen jobs first, then repack records. */
static int recover(const struct nm_config *cfg)
{
	char err[NM_ERRLEN] = "";

	/* Crash recovery before anything else: no job stays frozen. */
	nm_journal_test_failures(cfg->test_fail_thaws);
	if (nm_journal_init(cfg->journal_dir, err) < 0 ||
	    nm_journal_recover(cfg->journal_dir, recovered, NULL, err) < 0) {
		nm_log(LOG_ERR, "%s", err);
		return -1;
	}
	/* Cpusets a move widened get back the nodes they had. */
	if (nm_cpuset_journal_recover(cfg->journal_dir, err) < 0) {
		nm_log(LOG_ERR, "%s", err);
		return -1;
	}
	/* Threads a live move re-pinned ahead of their pages go back. */
	if (nm_live_journal_recover(cfg->journal_dir, err) < 0) {
		nm_log(LOG_ERR, "%s", err);
		return -1;
	}
	/* What could not be thawed now is retried until it is. */
	if (nm_thaw_retry_start(cfg->journal_dir, err) < 0) {
		nm_log(LOG_ERR, "%s", err);
		return -1;
	}
	/* What earlier repacks evacuated, still to be moved back. */
	if (nm_repack_load(cfg->journal_dir, err) < 0) {
		nm_log(LOG_ERR, "%s", err);
		return -1;
	}
	return 0;
}

/* The Unix socket, and the TCP one when configured. */
static int listen_all(const struct nm_config *cfg, int *unix_fd, int *tcp_fd)
{
	char err[NM_ERRLEN] = "";

	*unix_fd = nm_server_listen_unix(cfg, err);
	if (*unix_fd < 0) {
		nm_log(LOG_ERR, "%s", err);
		return -1;
	}
	if (cfg->tcp) {
		*tcp_fd = nm_server_listen_tcp(cfg, err);
		if (*tcp_fd < 0) {
			nm_log(LOG_ERR, "%s", err);
			unlink(cfg->socket);
			return -1;
		}
	}
	nm_log(LOG_NOTICE, "numamigrated %s listening on %s (journal %s)",
	       PACKAGE_VERSION, cfg->socket, cfg->journal_dir);
	if (cfg->tcp)
		nm_log(LOG_NOTICE, "TCP listener on %s port %d, MUNGE "
		       "credentials required", cfg->tcp_address,
		       cfg->tcp_port);
	return 0;
}

int main(int argc, char **argv)
{
	struct args a = { 0 };
	struct nm_daemon d = { 0 };
	int rc, unix_fd = -1, tcp_fd = -1, sigfd, sig;

	rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		return rc;
	if (configure(&d.cfg, &a) < 0)
		return 2;
	nm_log_open(a.foreground, d.cfg.log_level);
	if (geteuid() != 0) {
		nm_log(LOG_ERR, "must run as root (it freezes, moves and "
		       "re-pins other users' processes)");
		return 1;
	}
	sigfd = signal_fd();
	if (sigfd < 0 || recover(&d.cfg) < 0)
		return 1;
	nm_slurm_setup(d.cfg.slurm_conf);
	nm_munge_setup(d.cfg.munge_socket);
	d.reg = nm_registry_new();
	if (!d.reg) {
		nm_log(LOG_ERR, "out of memory");
		return 1;
	}
	if (listen_all(&d.cfg, &unix_fd, &tcp_fd) < 0)
		return 1;
	nm_priority_init();
	sig = nm_server_run(&d, unix_fd, tcp_fd, sigfd);
	unlink(d.cfg.socket);
	nm_registry_free(d.reg);
	nm_log(LOG_NOTICE, "stopped (signal %d)", sig);
	return sig < 0 ? 1 : 0;
}
