/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <paths.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "helper/daemon/log.h"

/* How long an absent syslog is left alone before it is looked for again. */
#define SYSLOG_PROBE_S 30

static bool log_stderr;
static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static bool syslog_up;		/* once true, glibc's syslog keeps it */
static time_t probe_next;	/* CLOCK_MONOTONIC seconds */

bool nm_log_socket_listens(const char *path)
{
	static const int types[] = { SOCK_DGRAM, SOCK_STREAM };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	/* As glibc's syslog does: a datagram socket, else a stream one. */
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0), e;
		bool ok;

		if (fd < 0)
			return false;
		ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		e = errno;
		close(fd);
		if (ok || e != EPROTOTYPE)
			return ok;
	}
	return false;
}

/*
 * Whether a line goes to syslog.  While nothing listens on /dev/log (a
 * container, the test guest) glibc's syslog formats every line and tries
 * to connect for it, three system calls a line for nothing: a daemon
 * answering a hundred requests a second at debug level pays them on
 * every request.  So /dev/log is looked for once, and while it is absent
 * again every SYSLOG_PROBE_S: a syslog started later is still used.
 */
static bool syslog_wanted(void)
{
	struct timespec now;
	bool up;

	if (__atomic_load_n(&syslog_up, __ATOMIC_ACQUIRE))
		return true;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	pthread_mutex_lock(&probe_lock);
	if (!syslog_up && now.tv_sec >= probe_next) {
		probe_next = now.tv_sec + SYSLOG_PROBE_S;
		__atomic_store_n(&syslog_up, nm_log_socket_listens(_PATH_LOG),
				 __ATOMIC_RELEASE);
	}
	up = syslog_up;
	pthread_mutex_unlock(&probe_lock);
	return up;
}

void nm_log_open(bool foreground, int level)
{
	/* LOG_PERROR would add no timestamp: stderr is written here instead. */
	openlog("numamigrated", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	setlogmask(LOG_UPTO(level));
	log_stderr = foreground;
	pthread_mutex_lock(&probe_lock);
	probe_next = 0;		/* looked for at the next line */
	pthread_mutex_unlock(&probe_lock);
}

void nm_log(int priority, const char *fmt, ...)
{
	va_list ap;

	if (!(LOG_MASK(priority) & setlogmask(0)))
		return;
	if (syslog_wanted()) {
		va_start(ap, fmt);
		vsyslog(priority, fmt, ap);
		va_end(ap);
	}
	if (log_stderr) {
		static const char *const names[] = {
			"emerg", "alert", "crit", "error", "warning",
			"notice", "info", "debug" };
		struct timespec ts;
		struct tm tm;
		char stamp[32], line[4096];
		int n;

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
		/* One write a line: every request logs one, at debug. */
		n = snprintf(line, sizeof(line), "%s.%03ld numamigrated %s: ",
			     stamp, ts.tv_nsec / 1000000, names[priority & 7]);
		va_start(ap, fmt);
		vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
		va_end(ap);
		strcat(line, "\n");
		fputs(line, stderr);
	}
}
