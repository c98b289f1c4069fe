/* SPDX-License-Identifier: MIT */
#ifndef NM_LOG_H
#define NM_LOG_H

#include <stdbool.h>
#include <syslog.h>

/*
 * numamigrated's log: syslog (facility daemon) when something listens on
 * /dev/log, and stderr as well when running in the foreground.  Messages
 * below @level are dropped.
 */
void nm_log_open(bool foreground, int level);
void nm_log(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Whether a syslog daemon takes messages on the Unix socket @path. */
bool nm_log_socket_listens(const char *path);

#endif
