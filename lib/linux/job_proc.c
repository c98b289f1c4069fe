/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/error.h"
#include "lib/base/file.h"
#include "lib/core/job.h"
#include "lib/linux/job_proc.h"

#define STATUS_MAX (1u << 20)

static void proc_error(pid_t pid, const char *path, char *err)
{
	if (errno == ENOENT)
		nm_seterr(err, "pid %d: no such process", (int)pid);
	else
		nm_seterr(err, "pid %d: cannot read %s: %s%s", (int)pid, path,
			  strerror(errno), errno == EACCES ? " (run as root or "
			  "as the process's owner)" : "");
}

/* The next line of [@p, @end): its length without the '\n'. */
static size_t line_len(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	*next = nl ? nl + 1 : end;
	return nl ? (size_t)(nl - p) : (size_t)(end - p);
}

int nm_status_cpus_parse(const char *buf, size_t len, struct nm_bitmap *cpus,
			 char *err)
{
	const char *end = buf + len, *next;

	for (const char *p = buf; p < end; p = next) {
		size_t n = line_len(p, end, &next);
		char *v, *line;
		int rc;

		if (n < 18 || memcmp(p, "Cpus_allowed_list:", 18) != 0)
			continue;
		line = strndup(p + 18, n - 18);
		if (!line) {
			nm_seterr(err, "out of memory");
			return -1;
		}
		for (v = line; *v == ' ' || *v == '\t'; v++)
			;
		rc = nm_list_parse(v, cpus, NM_BITMAP_BITS, 0,
				   "Cpus_allowed_list", err);
		free(line);
		return rc;
	}
	nm_seterr(err, "no Cpus_allowed_list in status");
	return -1;
}

static int read_cpus(pid_t pid, struct nm_bitmap *cpus, char *err)
{
	char path[64], msg[NM_ERRLEN], *buf;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	buf = nm_read_file(path, STATUS_MAX, &len);
	if (!buf) {
		proc_error(pid, path, err);
		return -1;
	}
	rc = nm_status_cpus_parse(buf, len, cpus, msg);
	free(buf);
	if (rc < 0)
		nm_seterr(err, "pid %d: %s", (int)pid, msg);
	return rc;
}

static bool has_prefix(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(end - p) >= n && memcmp(p, s, n) == 0;
}

/*
 * The job's memory is what it allocated: anonymous memory (heap, stacks,
 * private copies of file data) and shared memory segments.  The page cache
 * of its executables, libraries and input files is shared with everyone
 * else and stays where it is.
 */
static bool is_job_memory(const char *line, const char *end)
{
	size_t n = (size_t)(end - line);
	const char *file = memmem(line, n, " file=", 6);

	if (!file || memmem(line, n, " anon=", 6))
		return true;
	file += 6;
	/* MAP_SHARED|MAP_ANONYMOUS shows as a deleted /dev/zero. */
	return has_prefix(file, end, "/dev/shm/") ||
	       has_prefix(file, end, "/dev/zero") ||
	       has_prefix(file, end, "/SYSV") ||
	       has_prefix(file, end, "/memfd:") ||
	       memmem(line, n, " huge ", 6) != NULL;
}

/* Decimal digits at @p, all of them up to @end; false on overflow. */
static bool decimal(const char *p, const char *end, unsigned long long *v)
{
	unsigned long long x = 0;

	if (p == end)
		return false;
	for (; p < end; p++)
		if (*p < '0' || *p > '9' ||
		    __builtin_mul_overflow(x, 10, &x) ||
		    __builtin_add_overflow(x, (unsigned int)(*p - '0'), &x))
			return false;
	*v = x;
	return true;
}

/* The next space-separated token of [*@p, @end), or NULL. */
static const char *token(const char **p, const char *end, const char **tend)
{
	const char *s = *p, *e;

	while (s < end && *s == ' ')
		s++;
	if (s == end)
		return NULL;
	e = memchr(s, ' ', (size_t)(end - s));
	*tend = e ? e : end;
	*p = *tend;
	return s;
}

/* One mapping's line: what it has on each node, in bytes. */
static int numa_maps_line(const char *line, const char *end,
			  const struct nm_topology *t, uint64_t *bytes,
			  char *err)
{
	unsigned long long kb = 4, v;
	const char *p, *tok, *tend;

	if (!is_job_memory(line, end))
		return 0;
	/* The page size follows the counts it applies to. */
	for (p = line; (tok = token(&p, end, &tend));)
		if (has_prefix(tok, tend, "kernelpagesize_kB=") &&
		    decimal(tok + 18, tend, &v))
			kb = v;
	for (p = line; (tok = token(&p, end, &tend));) {
		const char *eq = memchr(tok, '=', (size_t)(tend - tok));
		unsigned long long node;
		uint64_t b, sum;
		int idx;

		if (tok[0] != 'N' || !eq || !decimal(tok + 1, eq, &node) ||
		    !decimal(eq + 1, tend, &v))
			continue;
		idx = node < NM_MAX_NODES ? nm_topology_find(t, (int)node) : -1;
		if (idx < 0)
			continue;
		if (kb > UINT64_MAX / 1024 ||
		    __builtin_mul_overflow(v, kb * 1024, &b) ||
		    __builtin_add_overflow(bytes[idx], b, &sum)) {
			nm_seterr(err, "numa_maps: %llu pages of %llu KiB on "
				  "node %llu: more than 16 EiB", v, kb, node);
			return -1;
		}
		bytes[idx] = sum;
	}
	return 0;
}

int nm_numa_maps_parse(const char *buf, size_t len,
		       const struct nm_topology *t, uint64_t *bytes,
		       char *err)
{
	const char *end = buf + len, *next;

	for (const char *p = buf; p < end; p = next) {
		size_t n = line_len(p, end, &next);

		if (numa_maps_line(p, p + n, t, bytes, err) < 0)
			return -1;
	}
	return 0;
}

/*
 * /proc/PID/numa_maps gives, per mapping, "N<node>=<pages>" and the page
 * size of those counts ("kernelpagesize_kB=").  THP are counted in base
 * pages, hugetlbfs pages in huge pages: multiplying by the size is right
 * for both.  Read a line at a time: a process may have many mappings.
 */
static int read_numa_maps(pid_t pid, uint64_t *bytes,
			  const struct nm_topology *t, char *err)
{
	char path[64], msg[NM_ERRLEN], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/numa_maps", (int)pid);
	f = fopen(path, "re");
	if (!f) {
		proc_error(pid, path, err);
		return -1;
	}
	while (rc == 0 && (n = getline(&line, &cap, f)) > 0)
		rc = nm_numa_maps_parse(line, (size_t)n, t, bytes, msg);
	free(line);
	if (rc < 0) {
		nm_seterr(err, "pid %d: %s", (int)pid, msg);
	} else if (ferror(f)) {
		nm_seterr(err, "pid %d: error reading numa_maps", (int)pid);
		rc = -1;
	}
	fclose(f);
	return rc;
}

struct nm_job *nm_job_from_pids(const pid_t *pids, int npids,
				const struct nm_topology *t, char *err)
{
	struct nm_job *job = nm_job_alloc(npids, t, err);

	if (!job)
		return NULL;
	for (int i = 0; i < npids; i++) {
		struct nm_task *task = &job->tasks[i];

		task->rank = i;
		task->pid = pids[i];
		if (read_cpus(pids[i], &task->cpus, err) < 0 ||
		    read_numa_maps(pids[i], task->bytes, t, err) < 0)
			goto fail;
	}
	if (nm_job_finish(job, t, err) < 0)
		goto fail;
	return job;
fail:
	nm_job_free(job);
	return NULL;
}
