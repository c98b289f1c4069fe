/* SPDX-License-Identifier: MIT */
/* Process facts from /proc. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/file.h"
#include "lib/linux/proc.h"
#include "lib/linux/ptable.h"

/* A stat line is a few hundred bytes; anything near this is not one. */
#define NM_STAT_MAX 65536

int nm_proc_stat_parse(const char *buf, size_t len, char *state,
		       pid_t *ppid, unsigned long long *start, char *err)
{
	char line[1024], *p;
	unsigned long long v;
	int field;

	/* As much as the reader takes: starttime is well within it. */
	if (len >= sizeof(line))
		len = sizeof(line) - 1;
	memcpy(line, buf, len);
	line[len] = '\0';
	/* The command name may hold spaces and ')': skip to the last ')'. */
	p = strrchr(line, ')');
	if (!p || p[1] != ' ' || !p[2]) {
		nm_seterr(err, "unreadable stat");
		return -1;
	}
	*state = p[2];
	p += 3;
	/* state is field 3; ppid 4; starttime 22 */
	for (field = 4; field <= 22; field++) {
		char *end;

		while (*p == ' ')
			p++;
		errno = 0;
		v = strtoull(p, &end, 10);
		if (end == p && *p != '-') {
			nm_seterr(err, "unreadable stat");
			return -1;
		}
		if (field == 4 && ppid)
			*ppid = (pid_t)v;
		if (field == 22 && start)
			*start = v;
		p = strchr(p, ' ');
		if (!p && field < 22) {
			nm_seterr(err, "short stat");
			return -1;
		}
	}
	return 0;
}

int nm_proc_stat(pid_t pid, char *state, pid_t *ppid,
		 unsigned long long *start, char *err)
{
	char path[64], buf[1024], msg[NM_ERRLEN];
	ssize_t n;
	int fd, e;

	/*
	 * One read takes the whole line (the kernel makes it at once): no
	 * stdio, whose buffer and fstat and read to the end would be more
	 * calls than the read itself; a pass over /proc makes hundreds.
	 */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	e = errno;
	if (fd >= 0)
		close(fd);
	if (n < 0) {
		nm_seterr(err, "process %d: %s", (int)pid,
			  e == ENOENT || e == ESRCH ? "no such process" :
			  strerror(e));
		return -1;
	}
	if (nm_proc_stat_parse(buf, (size_t)n, state, ppid, start, msg) < 0) {
		nm_seterr(err, "process %d: %s", (int)pid, msg);
		return -1;
	}
	return 0;
}

int nm_proc_status_parse(const char *buf, size_t len,
			 struct nm_proc_info *out, char *err)
{
	bool have_uid = false, have_mems = false;
	const char *end = buf + len;

	for (const char *p = buf, *nl; p < end; p = nl ? nl + 1 : end) {
		size_t n;
		char *line;
		int rc = 0;

		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		/* Only the lines it wants are copied into C strings. */
		if (!(n >= 4 && !memcmp(p, "Uid:", 4)) &&
		    !(n >= 18 && !memcmp(p, "Mems_allowed_list:", 18)))
			continue;
		line = strndup(p, n);
		if (!line) {
			nm_seterr(err, "out of memory");
			return -1;
		}
		if (line[0] == 'U') {
			unsigned int u[4];

			if (sscanf(line, "Uid: %u %u %u %u", &u[0], &u[1],
				   &u[2], &u[3]) == 4) {
				for (int i = 0; i < 4; i++)
					out->uid[i] = (uid_t)u[i];
				have_uid = true;
			}
		} else {
			char *v = line + 18;

			while (*v == ' ' || *v == '\t')
				v++;
			rc = nm_list_parse(v, &out->mems_allowed,
					   NM_BITMAP_BITS, 0,
					   "Mems_allowed_list", err);
			have_mems = true;
		}
		free(line);
		if (rc < 0)
			return -1;
	}
	if (!have_uid || !have_mems) {
		nm_seterr(err, "no Uid or Mems_allowed_list in its status");
		return -1;
	}
	return 0;
}

int nm_proc_info(pid_t pid, struct nm_proc_info *out, char *err)
{
	char path[64], msg[NM_ERRLEN];
	size_t len;
	char *buf;
	int rc;

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	if (pid <= 0) {
		nm_seterr(err, "process %d: not a process id", (int)pid);
		return -1;
	}
	if (nm_proc_stat(pid, &out->state, &out->ppid, &out->starttime, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	buf = nm_read_file(path, NM_PROC_STATUS_MAX, &len);
	if (!buf) {
		nm_seterr(err, "process %d: %s", (int)pid,
			  errno == ENOENT ? "no such process" :
			  strerror(errno));
		return -1;
	}
	rc = nm_proc_status_parse(buf, len, out, msg);
	free(buf);
	if (rc < 0)
		nm_seterr(err, "process %d: %s", (int)pid, msg);
	return rc;
}

bool nm_proc_same(pid_t pid, unsigned long long starttime)
{
	unsigned long long s;
	char state, err[NM_ERRLEN];

	return nm_proc_stat(pid, &state, NULL, &s, err) == 0 && s == starttime &&
	       state != 'Z' && state != 'X';
}

bool nm_proc_is_id(const char *name)
{
	if (!*name)
		return false;
	for (; *name; name++)
		if (!isdigit((unsigned char)*name))
			return false;
	return true;
}

static int grow(pid_t **a, int *cap, int need, char *err)
{
	pid_t *n;

	if (need <= *cap)
		return 0;
	*cap = *cap ? *cap * 2 : 64;
	if (*cap < need)
		*cap = need;
	n = realloc(*a, (size_t)*cap * sizeof(**a));
	if (!n) {
		nm_seterr(err, "out of memory");
		return -1;
	}
	*a = n;
	return 0;
}

int nm_proc_descendants(const pid_t *pids, int npids, pid_t **out, int *nout,
			char *err)
{
	struct nm_ptable t;
	int rc;

	*out = NULL;
	*nout = 0;
	if (nm_ptable_read(&t, err) < 0)
		return -1;
	rc = nm_ptable_descendants(&t, pids, npids, out, nout, err);
	nm_ptable_free(&t);
	return rc;
}

int nm_proc_threads(pid_t pid, pid_t **tids, int *ntids, char *err)
{
	char path[64];
	struct dirent *de;
	int cap = 0;
	DIR *d;

	*tids = NULL;
	*ntids = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d) {
		nm_seterr(err, "process %d: %s", (int)pid, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		if (!nm_proc_is_id(de->d_name))
			continue;
		if (grow(tids, &cap, *ntids + 1, err) < 0) {
			closedir(d);
			free(*tids);
			*tids = NULL;
			return -1;
		}
		(*tids)[(*ntids)++] = (pid_t)atoi(de->d_name);
	}
	closedir(d);
	return 0;
}

int nm_proc_stat_file(const char *path, char *state,
		      unsigned long long *start)
{
	char err[NM_ERRLEN];
	size_t len;
	char *buf = nm_read_file(path, NM_STAT_MAX, &len);
	int rc;

	if (!buf)
		return -1;
	rc = nm_proc_stat_parse(buf, len, state, NULL, start, err);
	free(buf);
	return rc;
}

int nm_process_stopped(pid_t pid, pid_t *tid, char *err)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	int rc = 1, seen = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d) {
		nm_seterr(err, "pid %d: no such process", (int)pid);
		return -1;
	}
	while (rc == 1 && (e = readdir(d))) {
		char tpath[128], st;
		int t;

		if (sscanf(e->d_name, "%d", &t) != 1)
			continue;
		snprintf(tpath, sizeof(tpath), "%s/%d/stat", path, t);
		if (nm_proc_stat_file(tpath, &st, NULL) < 0)
			continue;	/* the thread just exited */
		seen++;
		if (st != 'T' && st != 't' && st != 'Z' && st != 'X') {
			if (tid)
				*tid = t;
			rc = 0;
		}
	}
	closedir(d);
	if (!seen) {
		nm_seterr(err, "pid %d: no such process", (int)pid);
		return -1;
	}
	return rc;
}
