/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/linux/cgroup.h"
#include "helper/engine/freezer.h"
#include "lib/linux/pidref.h"
#include "lib/linux/proc.h"
#include "lib/base/clock.h"

#define NM_FREEZE_MAX_PIDS 65536

static void nap(int *us)
{
	struct timespec ts = { 0, (long)*us * 1000 };

	nanosleep(&ts, NULL);
	if (*us < 5000)
		*us *= 2;
}

/*
 * @sig to the process that started at @start (0: unknown, whoever holds
 * @pid), through a pidfd: a recycled pid is a stranger, left alone.
 * 0 when sent or when the process is gone; -1 with @err otherwise.
 */
static int signal_as(pid_t pid, unsigned long long start, int sig, char *err)
{
	struct nm_pidref ref;
	char msg[NM_ERRLEN];
	int rc = 0;

	if ((start ? nm_pidref_open_as(&ref, pid, start, msg) :
	     nm_pidref_open(&ref, pid, msg)) < 0)
		return 0;
	if (nm_pidref_signal(&ref, sig, msg) < 0 && errno != ESRCH) {
		nm_seterr(err, "%s", msg);
		rc = -1;
	}
	nm_pidref_close(&ref);
	return rc;
}

static int write_file(const char *dir, const char *file, const char *val,
		      char *err)
{
	char path[700];
	int fd;
	ssize_t n, len = (ssize_t)strlen(val);

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		nm_seterr(err, "freeze: cannot open %s: %s", path,
			  strerror(errno));
		return -1;
	}
	n = write(fd, val, (size_t)len);
	if (n != len) {
		nm_seterr(err, "freeze: writing %s: %s", path,
			  n < 0 ? strerror(errno) : "short write");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* The cgroup freezer usable for exactly these processes, if any. */
static enum nm_freeze_method pick_method(const pid_t *pids,
					 const pid_t *sorted, int n,
					 char *dir, size_t len)
{
	struct nm_cgroups cg0, cg;
	char err[NM_ERRLEN];
	bool v2 = true, v1 = true;

	if (nm_cgroup_of(pids[0], &cg0, err) < 0)
		return NM_FREEZE_SIGSTOP;
	for (int i = 1; i < n && (v1 || v2); i++) {
		if (nm_cgroup_of(pids[i], &cg, err) < 0)
			return NM_FREEZE_SIGSTOP;
		v2 = v2 && strcmp(cg.v2, cg0.v2) == 0;
		v1 = v1 && strcmp(cg.v1_freezer, cg0.v1_freezer) == 0;
	}
	if (v2 && cg0.v2[0]) {
		char path[700];

		snprintf(path, sizeof(path), "%s/cgroup.freeze", cg0.v2);
		if (access(path, W_OK) == 0 &&
		    nm_cgroup_is_exactly(cg0.v2, sorted, n)) {
			snprintf(dir, len, "%s", cg0.v2);
			return NM_FREEZE_V2;
		}
	}
	if (v1 && cg0.v1_freezer[0] &&
	    nm_cgroup_is_exactly(cg0.v1_freezer, sorted, n)) {
		snprintf(dir, len, "%s", cg0.v1_freezer);
		return NM_FREEZE_V1;
	}
	return NM_FREEZE_SIGSTOP;
}

static int freeze_v2(struct nm_freeze *fz, int timeout_ms, char *err)
{
	double deadline = nm_now_ms() + timeout_ms;
	enum nm_freeze_state st;
	int us = 100, r;

	r = nm_cgroup_freeze_requested(fz->cgroup, true, err);
	if (r < 0)
		return -1;
	/* Someone (Slurm suspend) asked for it already: not ours to undo. */
	fz->was_frozen = r == 1;
	if (!fz->was_frozen &&
	    write_file(fz->cgroup, "cgroup.freeze", "1", err) < 0)
		return -1;
	while ((r = nm_cgroup_freeze_state(fz->cgroup, true, &st, err)) == 0 &&
	       st != NM_FROZEN && nm_now_ms() < deadline)
		nap(&us);
	if (r == 0 && st == NM_FROZEN)
		return 0;
	if (r == 0)
		nm_seterr(err, "freeze: %s did not freeze within %d ms",
			  fz->cgroup, timeout_ms);
	if (!fz->was_frozen) {
		char e2[NM_ERRLEN];

		write_file(fz->cgroup, "cgroup.freeze", "0", e2);
	}
	return -1;
}

static int freeze_v1(struct nm_freeze *fz, int timeout_ms, char *err)
{
	enum nm_freeze_state st;
	double deadline = nm_now_ms() + timeout_ms;
	int us = 100;

	if (nm_cgroup_freeze_state(fz->cgroup, false, &st, err) < 0)
		return -1;
	/* FREEZING too: somebody else asked for it, not ours to undo
	 * (nm_cgroup_freeze_requested() for v1). */
	fz->was_frozen = st != NM_THAWED;
	for (;;) {
		if (st == NM_FROZEN)
			return 0;
		if (nm_now_ms() >= deadline)
			break;
		/* Writing FROZEN again retries tasks that were busy. */
		if (!fz->was_frozen &&
		    write_file(fz->cgroup, "freezer.state", "FROZEN", err) < 0)
			goto undo;
		nap(&us);
		if (nm_cgroup_freeze_state(fz->cgroup, false, &st, err) < 0)
			goto undo;
	}
	nm_seterr(err, "freeze: %s did not freeze within %d ms (state %s)",
		  fz->cgroup, timeout_ms, nm_freeze_state_name(st));
undo:
	if (!fz->was_frozen) {
		char e2[NM_ERRLEN];

		write_file(fz->cgroup, "freezer.state", "THAWED", e2);
	}
	return -1;
}

static void cont_all(const struct nm_freeze *fz)
{
	char err[NM_ERRLEN];

	for (int i = 0; i < fz->npids; i++)
		signal_as(fz->pids[i], fz->starts[i], SIGCONT, err);
}

static int freeze_sigstop(const struct nm_pidref *procs, int npids,
			  int timeout_ms, struct nm_freeze *fz, char *err)
{
	double deadline = nm_now_ms() + timeout_ms;
	int us = 100;
	pid_t tid = 0;

	for (int i = 0; i < npids; i++) {
		enum nm_freeze_state st;
		char msg[NM_ERRLEN];

		if (nm_process_freeze_state(procs[i].pid, &st, err) < 0)
			goto fail;
		/* Held by someone else (SIGSTOP, a cgroup freezer): stays so.
		 * A FREEZING one may still run: stop it ourselves. */
		if (st == NM_FROZEN)
			continue;
		/* Through the pidfd: never a process that took the pid over. */
		if (nm_pidref_signal(&procs[i], SIGSTOP, msg) < 0) {
			nm_seterr(err, "freeze: %s", msg);
			goto fail;
		}
		fz->pids[fz->npids] = procs[i].pid;
		fz->starts[fz->npids++] = procs[i].start;
	}
	fz->was_frozen = fz->npids == 0;
	for (int i = 0; i < fz->npids;) {
		int r = nm_process_stopped(fz->pids[i], &tid, err);

		if (r < 0)
			goto fail;
		if (r == 1) {
			i++;
			continue;
		}
		if (nm_now_ms() >= deadline) {
			nm_seterr(err, "freeze: pid %d (thread %d) did not "
				  "stop within %d ms", (int)fz->pids[i],
				  (int)tid, timeout_ms);
			goto fail;
		}
		nap(&us);
	}
	return 0;
fail:
	/* SIGCONT also discards a stop still pending. */
	cont_all(fz);
	fz->npids = 0;
	return -1;
}

int nm_freeze_refs(const struct nm_pidref *procs, int npids, int timeout_ms,
		   struct nm_freeze *fz, char *err)
{
	pid_t *sorted, *pids = NULL;
	int rc;

	memset(fz, 0, sizeof(*fz));
	if (!procs || npids <= 0 || npids > NM_FREEZE_MAX_PIDS) {
		nm_seterr(err, "freeze: %d processes is out of range (1-%d)",
			  npids, NM_FREEZE_MAX_PIDS);
		return -1;
	}
	if (timeout_ms < 0) {
		nm_seterr(err, "freeze: negative timeout %d ms", timeout_ms);
		return -1;
	}
	sorted = malloc((size_t)npids * sizeof(*sorted));
	pids = malloc((size_t)npids * sizeof(*pids));
	fz->pids = calloc((size_t)npids, sizeof(*fz->pids));
	fz->starts = calloc((size_t)npids, sizeof(*fz->starts));
	if (!sorted || !pids || !fz->pids || !fz->starts) {
		free(sorted);
		free(pids);
		nm_freeze_release(fz);
		nm_seterr(err, "freeze: out of memory");
		return -1;
	}
	for (int i = 0; i < npids; i++)
		pids[i] = sorted[i] = procs[i].pid;
	qsort(sorted, (size_t)npids, sizeof(*sorted), cmp_pid);
	for (int i = 0; i < npids; i++) {
		if (sorted[i] <= 0 || (i && sorted[i] == sorted[i - 1])) {
			nm_seterr(err, "freeze: %s pid %d", sorted[i] <= 0 ?
				  "invalid" : "duplicate", (int)sorted[i]);
			goto fail;
		}
	}
	for (int i = 0; i < npids; i++) {
		char msg[NM_ERRLEN];

		if (nm_pidref_check(&procs[i], msg) < 0) {
			nm_seterr(err, "freeze: %s", msg);
			goto fail;
		}
	}
	fz->method = pick_method(pids, sorted, npids, fz->cgroup,
				 sizeof(fz->cgroup));
	switch (fz->method) {
	case NM_FREEZE_V2:
		rc = freeze_v2(fz, timeout_ms, err);
		break;
	case NM_FREEZE_V1:
		rc = freeze_v1(fz, timeout_ms, err);
		break;
	default:
		rc = freeze_sigstop(procs, npids, timeout_ms, fz, err);
		break;
	}
	free(sorted);
	free(pids);
	if (rc < 0) {
		nm_freeze_release(fz);
		return -1;
	}
	return 0;
fail:
	free(sorted);
	free(pids);
	nm_freeze_release(fz);
	return -1;
}

int nm_freeze(const pid_t *pids, int npids, int timeout_ms,
	      struct nm_freeze *fz, char *err)
{
	struct nm_pidref *procs;
	int rc;

	if (!pids || npids <= 0 || npids > NM_FREEZE_MAX_PIDS)
		return nm_freeze_refs(NULL, npids, timeout_ms, fz, err);
	procs = calloc((size_t)npids, sizeof(*procs));
	if (!procs) {
		memset(fz, 0, sizeof(*fz));
		nm_seterr(err, "freeze: out of memory");
		return -1;
	}
	/* One that cannot be opened stays without a handle: refused there. */
	for (int i = 0; i < npids; i++) {
		char msg[NM_ERRLEN];

		if (nm_pidref_open(&procs[i], pids[i], msg) < 0)
			procs[i].pid = pids[i];
	}
	rc = nm_freeze_refs(procs, npids, timeout_ms, fz, err);
	nm_pidrefs_free(procs, npids);
	return rc;
}

int nm_thaw(struct nm_freeze *fz, char *err)
{
	int rc = 0;

	if (fz->method == NM_FREEZE_NONE || fz->was_frozen)
		return 0;
	switch (fz->method) {
	case NM_FREEZE_V2:
		rc = write_file(fz->cgroup, "cgroup.freeze", "0", err);
		break;
	case NM_FREEZE_V1:
		rc = write_file(fz->cgroup, "freezer.state", "THAWED", err);
		break;
	case NM_FREEZE_SIGSTOP:
		for (int i = 0; i < fz->npids; i++) {
			char msg[NM_ERRLEN];

			/* A recycled pid is a stranger: left alone. */
			if (signal_as(fz->pids[i], fz->starts ?
				      fz->starts[i] : 0, SIGCONT, msg) < 0 &&
			    rc == 0) {
				nm_seterr(err, "thaw: %s", msg);
				rc = -1;
			}
		}
		break;
	default:
		break;
	}
	if (rc == 0)
		fz->method = NM_FREEZE_NONE;
	return rc;
}

void nm_freeze_release(struct nm_freeze *fz)
{
	free(fz->pids);
	free(fz->starts);
	memset(fz, 0, sizeof(*fz));
}

static const char *const method_names[] = {
	[NM_FREEZE_NONE] = "none", [NM_FREEZE_V2] = "v2",
	[NM_FREEZE_V1] = "v1", [NM_FREEZE_SIGSTOP] = "sigstop",
};

int nm_freeze_format(const struct nm_freeze *fz, char *buf, size_t len)
{
	size_t n = 0;
	int k;

#define PUT(...) do { \
	k = snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__); \
	if (k < 0 || (n += (size_t)k) >= len) \
		goto small; \
} while (0)

	if (!buf || !len || (unsigned int)fz->method > NM_FREEZE_SIGSTOP)
		return -1;
	buf[0] = 0;
	PUT("nmfreeze method=%s was_frozen=%d cgroup=",
	    method_names[fz->method], fz->was_frozen ? 1 : 0);
	if (!fz->cgroup[0])
		PUT("-");
	for (const char *p = fz->cgroup; *p; p++) {
		unsigned char c = (unsigned char)*p;

		/* a leading '-' too: "-" alone means no cgroup */
		if (c <= 0x20 || c >= 0x7f || c == '%' ||
		    (c == '-' && p == fz->cgroup))
			PUT("%%%02X", c);
		else
			PUT("%c", c);
	}
	PUT(" pids=");
	if (!fz->npids)
		PUT("-");
	for (int i = 0; i < fz->npids; i++)
		PUT("%s%d@%llu", i ? "," : "", (int)fz->pids[i],
		    fz->starts ? fz->starts[i] : 0ull);
	return (int)n;
small:
	buf[0] = 0;
	return -1;
#undef PUT
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * The journal's cgroup field at @p ("-" or %XX-escaped) into fz->cgroup.
 * Returns what follows it, NULL when malformed.
 */
static const char *parse_cgroup(const char *p, struct nm_freeze *fz)
{
	size_t w = 0;

	if (p[0] == '-' && p[1] == ' ')
		return p + 1;
	for (; *p && *p != ' '; p++) {
		int c = (unsigned char)*p;

		if (c == '%') {
			int h = hexval(p[1]), l = h < 0 ? -1 : hexval(p[2]);

			if (l < 0 || (c = h * 16 + l) == 0)
				return NULL;
			p += 2;
		}
		if (w + 1 >= sizeof(fz->cgroup))
			return NULL;
		fz->cgroup[w++] = (char)c;
	}
	fz->cgroup[w] = 0;
	return p;
}

/*
 * The pids field at @p ("-" or pid@start,...) into fz->pids and starts
 * (@cap entries) and fz->npids.  Returns what follows, NULL when malformed.
 */
static const char *parse_pids(const char *p, struct nm_freeze *fz, int cap)
{
	int n = 0;

	if (strcmp(p, "-") == 0 || strcmp(p, "-\n") == 0)
		return p + 1;
	for (;;) {
		long pid;
		unsigned long long st;
		char *end;

		if (*p < '0' || *p > '9')
			return NULL;
		errno = 0;
		pid = strtol(p, &end, 10);
		if (errno || pid <= 0 || pid > 0x3fffffff ||
		    *end != '@' || end[1] < '0' || end[1] > '9')
			return NULL;
		st = strtoull(end + 1, &end, 10);
		if (errno || n >= cap)
			return NULL;
		fz->pids[n] = (pid_t)pid;
		fz->starts[n++] = st;
		fz->npids = n;
		p = end;
		if (*p != ',')
			return p;
		p++;
	}
}

/* The record's method and was_frozen; @p gets what follows "cgroup=". */
static int parse_head(const char *line, struct nm_freeze *fz, const char **p)
{
	char mname[16];
	int was, off = 0;

	if (sscanf(line, "nmfreeze method=%15[a-z0-9] was_frozen=%d cgroup=%n",
		   mname, &was, &off) != 2 || !off || (was != 0 && was != 1))
		return -1;
	fz->method = NM_FREEZE_SIGSTOP + 1;
	for (int m = 0; m <= NM_FREEZE_SIGSTOP; m++)
		if (strcmp(mname, method_names[m]) == 0)
			fz->method = (enum nm_freeze_method)m;
	if ((unsigned int)fz->method > NM_FREEZE_SIGSTOP)
		return -1;
	fz->was_frozen = was;
	*p = line + off;
	return 0;
}

int nm_freeze_parse(const char *line, struct nm_freeze *fz, char *err)
{
	const char *p;
	int cap;

	memset(fz, 0, sizeof(*fz));
	if (parse_head(line, fz, &p) < 0)
		goto bad;
	p = parse_cgroup(p, fz);
	if (!p || strncmp(p, " pids=", 6) != 0)
		goto bad;
	p += 6;
	/* At most one pid per 2 characters of the line. */
	cap = (int)(strlen(p) / 2 + 1);
	if (cap > NM_FREEZE_MAX_PIDS)
		goto bad;
	fz->pids = calloc((size_t)cap, sizeof(*fz->pids));
	fz->starts = calloc((size_t)cap, sizeof(*fz->starts));
	if (!fz->pids || !fz->starts) {
		nm_freeze_release(fz);
		nm_seterr(err, "freeze journal: out of memory");
		return -1;
	}
	p = parse_pids(p, fz, cap);
	if (p && *p == '\n')
		p++;
	if (!p || *p)
		goto bad;
	if ((fz->method == NM_FREEZE_V1 || fz->method == NM_FREEZE_V2) !=
	    (fz->cgroup[0] == '/') ||
	    (fz->method != NM_FREEZE_SIGSTOP && fz->npids))
		goto bad;
	return 0;
bad:
	nm_freeze_release(fz);
	nm_seterr(err, "freeze journal: malformed record: %.80s", line);
	return -1;
}
