/* SPDX-License-Identifier: MIT */
#ifndef NM_SERVER_H
#define NM_SERVER_H

#include "lib/base/error.h"
#include "helper/daemon/ops.h"

/*
 * The listeners: the Unix stream socket (callers named by SO_PEERCRED) and,
 * when configured, a TCP port whose requests must carry a MUNGE
 * credential.  One thread per connection, at most max_clients at once;
 * each connection carries one request.
 */
int nm_server_listen_unix(const struct nm_config *cfg, char *err);
int nm_server_listen_tcp(const struct nm_config *cfg, char *err);

/*
 * Accepts until a signal arrives on @sigfd (a signalfd), then stops
 * accepting and waits for the connections in flight (a running move ends
 * before the daemon does).  Returns the signal number.
 */
int nm_server_run(struct nm_daemon *d, int unix_fd, int tcp_fd, int sigfd);

#endif
