/* SPDX-License-Identifier: MIT */
/* The process table: who is whose parent, from one pass over /proc. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/error.h"
#include "lib/linux/proc.h"
#include "lib/linux/ptable.h"

static int cmp_pid(const void *a, const void *b)
{
	const struct nm_ptable_entry *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int cmp_ppid(const void *a, const void *b)
{
	const struct nm_ptable_entry *x = a, *y = b;

	if (x->ppid != y->ppid)
		return (x->ppid > y->ppid) - (x->ppid < y->ppid);
	return cmp_pid(a, b);
}

int nm_ptable_build(struct nm_ptable *t, const pid_t *pid, const pid_t *ppid,
		    int n, char *err)
{
	size_t sz = (size_t)(n ? n : 1) * sizeof(*t->by_pid);

	memset(t, 0, sizeof(*t));
	t->by_pid = malloc(sz);
	t->by_ppid = malloc(sz);
	if (!t->by_pid || !t->by_ppid) {
		nm_ptable_free(t);
		nm_seterr(err, "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		t->by_pid[i].pid = pid[i];
		t->by_pid[i].ppid = ppid[i];
	}
	t->n = n;
	qsort(t->by_pid, (size_t)n, sizeof(*t->by_pid), cmp_pid);
	for (int i = 1; i < n; i++)
		if (t->by_pid[i].pid == t->by_pid[i - 1].pid) {
			nm_seterr(err, "process %d listed twice",
				  (int)t->by_pid[i].pid);
			nm_ptable_free(t);
			return -1;
		}
	memcpy(t->by_ppid, t->by_pid, (size_t)n * sizeof(*t->by_pid));
	qsort(t->by_ppid, (size_t)n, sizeof(*t->by_ppid), cmp_ppid);
	return 0;
}

static int push(pid_t **a, int *cap, int n, pid_t v)
{
	if (n == *cap) {
		int c = *cap ? *cap * 2 : 256;
		pid_t *p = realloc(*a, (size_t)c * sizeof(**a));

		if (!p)
			return -1;
		*a = p;
		*cap = c;
	}
	(*a)[n] = v;
	return 0;
}

/* Every live process's pid and parent, in @pid and @ppid. */
static int scan_proc(pid_t **pid, pid_t **ppid, int *n, char *err)
{
	int cap = 0, cap2 = 0;
	struct dirent *de;
	DIR *d = opendir("/proc");

	*n = 0;
	if (!d) {
		nm_seterr(err, "/proc: %s", strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		char state, msg[NM_ERRLEN];
		pid_t p, pp;

		if (!nm_proc_is_id(de->d_name))
			continue;
		p = (pid_t)atoi(de->d_name);
		if (nm_proc_stat(p, &state, &pp, NULL, msg) < 0 ||
		    state == 'Z' || state == 'X')
			continue;	/* exited while we looked */
		if (push(pid, &cap, *n, p) < 0 ||
		    push(ppid, &cap2, *n, pp) < 0) {
			closedir(d);
			nm_seterr(err, "out of memory");
			return -1;
		}
		(*n)++;
	}
	closedir(d);
	return 0;
}

int nm_ptable_read(struct nm_ptable *t, char *err)
{
	pid_t *pid = NULL, *ppid = NULL;
	int n, rc;

	memset(t, 0, sizeof(*t));
	rc = scan_proc(&pid, &ppid, &n, err);
	if (rc == 0)
		rc = nm_ptable_build(t, pid, ppid, n, err);
	free(pid);
	free(ppid);
	return rc;
}

/* The index of @pid in t->by_pid, or -1. */
static int find(const struct nm_ptable *t, pid_t pid)
{
	struct nm_ptable_entry key = { .pid = pid };
	const struct nm_ptable_entry *e;

	if (!t->n)
		return -1;
	e = bsearch(&key, t->by_pid, (size_t)t->n, sizeof(key), cmp_pid);
	return e ? (int)(e - t->by_pid) : -1;
}

bool nm_ptable_has(const struct nm_ptable *t, pid_t pid)
{
	return find(t, pid) >= 0;
}

/* The first entry of t->by_ppid whose parent is @ppid (or t->n). */
static int first_child(const struct nm_ptable *t, pid_t ppid)
{
	int lo = 0, hi = t->n;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (t->by_ppid[mid].ppid < ppid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Adds @pid to @res unless @seen says it is there (pids in @t only). */
static int add_once(const struct nm_ptable *t, bool *seen, pid_t pid,
		    pid_t **res, int *cap, int *n)
{
	int i = find(t, pid);

	if (seen[i])
		return 0;
	seen[i] = true;
	if (push(res, cap, *n, pid) < 0)
		return -1;
	(*n)++;
	return 0;
}

int nm_ptable_descendants(const struct nm_ptable *t, const pid_t *pids,
			  int npids, pid_t **out, int *nout, char *err)
{
	bool *seen = calloc((size_t)(t->n ? t->n : 1), sizeof(*seen));
	pid_t *res = NULL;
	int nres = 0, cap = 0;

	*out = NULL;
	*nout = 0;
	if (!seen)
		goto oom;
	for (int i = 0; i < npids; i++) {
		if (find(t, pids[i]) < 0) {
			nm_seterr(err, "process %d: no such process",
				  (int)pids[i]);
			goto fail;
		}
		if (add_once(t, seen, pids[i], &res, &cap, &nres) < 0)
			goto oom;
	}
	/* Breadth first: res doubles as the queue. */
	for (int q = 0; q < nres; q++)
		for (int c = first_child(t, res[q]);
		     c < t->n && t->by_ppid[c].ppid == res[q]; c++)
			if (add_once(t, seen, t->by_ppid[c].pid, &res, &cap,
				     &nres) < 0)
				goto oom;
	free(seen);
	*out = res;
	*nout = nres;
	return 0;
oom:
	nm_seterr(err, "out of memory");
fail:
	free(seen);
	free(res);
	return -1;
}

void nm_ptable_free(struct nm_ptable *t)
{
	free(t->by_pid);
	free(t->by_ppid);
	t->by_pid = t->by_ppid = NULL;
	t->n = 0;
}
