/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "helper/daemon/log.h"

static bool log_stderr;

void nm_log_open(bool foreground, int level)
{
	/* LOG_PERROR would add no timestamp: stderr is written here instead. */
	openlog("numamigrated", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	setlogmask(LOG_UPTO(level));
	log_stderr = foreground;
}

void nm_log(int priority, const char *fmt, ...)
{
	va_list ap;

	if (!(LOG_MASK(priority) & setlogmask(0)))
		return;
	va_start(ap, fmt);
	vsyslog(priority, fmt, ap);
	va_end(ap);
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
