/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the /proc parsers, over exact copies of the input (no
 * '\0' after it: ASan sees any read past the end).  The first byte picks
 * one: numa_maps (a whole buffer must add up as its lines one by one do),
 * the Cpus_allowed_list and the Uid/Mems_allowed_list of status, stat (the
 * daemon's and the freezer's), the MPI rank in environ (the same with a
 * final NUL as without), and what the scan and the cgroup code read: maps,
 * mountinfo, /proc/PID/cgroup (after a mountinfo and a NUL, or against a
 * fixed hybrid host) and cgroup.procs.  Those last four must give for a
 * whole buffer what its lines give one by one, and only sane results.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/units.h"
#include "lib/linux/cgroup.h"
#include "lib/linux/mpi_ranks.h"
#include "lib/linux/proc.h"
#include "lib/core/job.h"
#include "lib/linux/job_proc.h"
#include "lib/linux/scan.h"
#include "lib/core/topology.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct nm_topology *topo;

static void check_err(const char *err)
{
	if (!err[0] || !memchr(err, '\0', NM_ERRLEN) || strchr(err, '\n'))
		abort();
}

static void numa_maps(const char *buf, size_t len)
{
	uint64_t whole[NM_MAX_NODES] = { 0 }, lines[NM_MAX_NODES] = { 0 };
	const char *end = buf + len, *next;
	char err[NM_ERRLEN] = "";
	int rc, rc2 = 0;

	rc = nm_numa_maps_parse(buf, len, topo, whole, err);
	if (rc < 0)
		check_err(err);
	for (const char *p = buf; p < end && rc2 == 0; p = next) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		char *line = malloc(n ? n : 1);

		if (!line)
			return;
		next = p + n;
		memcpy(line, p, n);
		rc2 = nm_numa_maps_parse(line, n, topo, lines, err);
		free(line);
	}
	if (rc != rc2 || (rc == 0 && memcmp(whole, lines, sizeof(whole))))
		abort();
}

static void environ_rank(const char *buf, size_t len)
{
	char *z = malloc(len + 1);
	int var, var2, r, r2;

	if (!z)
		return;
	r = nm_environ_mpi_rank(buf, len, &var);
	if ((r < 0) != (var < 0) || r < -1 || r > INT_MAX - NM_MAX_TASKS ||
	    var > 3)
		abort();
	memcpy(z, buf, len);
	z[len] = '\0';
	r2 = nm_environ_mpi_rank(z, len + 1, &var2);
	if (r2 != r || var2 != var)
		abort();
	free(z);
}

/* An exact copy of the line at *@p (its '\n' too), then the next. */
static char *next_line(const char **p, const char *end, size_t *n)
{
	const char *nl;
	char *line;

	if (*p >= end)
		return NULL;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	*n = nl ? (size_t)(nl - *p) + 1 : (size_t)(end - *p);
	line = malloc(*n);
	if (!line)
		abort();
	memcpy(line, *p, *n);
	*p += *n;
	return line;
}

static size_t count_lines(const char *buf, size_t len)
{
	const char *end = buf + len, *nl;
	size_t n = 0;

	for (const char *p = buf; p < end; p = nl ? nl + 1 : end, n++)
		nl = memchr(p, '\n', (size_t)(end - p));
	return n;
}

static void stat_line(const char *buf, size_t len)
{
	unsigned long long start, start2;
	char state, state2, err[NM_ERRLEN] = "";
	pid_t ppid;
	int rc = nm_proc_stat_parse(buf, len, &state, &ppid, &start, err);

	if (rc < 0)
		check_err(err);
	/* The freezer asks for the state and start time only. */
	if (nm_proc_stat_parse(buf, len, &state2, NULL, &start2, err) != rc ||
	    (rc == 0 && (state2 != state || start2 != start)) ||
	    nm_proc_stat_parse(buf, len, &state2, NULL, NULL, err) != rc ||
	    (rc == 0 && state2 != state))
		abort();
}

static bool same_vma(const struct nm_vma *a, const struct nm_vma *b)
{
	return a->start == b->start && a->end == b->end &&
	       a->file == b->file && a->shmem == b->shmem &&
	       a->shared == b->shared;
}

static void maps(const char *buf, size_t len)
{
	struct nm_vma *v = NULL, vma;
	size_t nv = 0, i = 0, n;
	char err[NM_ERRLEN] = "", *line;
	int rc = nm_scan_maps_parse(buf, len, &v, &nv, err), rc2 = 0;

	if (rc < 0) {
		check_err(err);
		if (v || nv)
			abort();
	}
	for (size_t j = 0; j < nv; j++)
		if (v[j].start >= v[j].end || v[j].start % nm_page_size() ||
		    v[j].end % nm_page_size() || (v[j].file && v[j].shmem))
			abort();
	for (const char *p = buf; (line = next_line(&p, buf + len, &n));) {
		rc2 = nm_scan_maps_entry(line, n, &vma, err);
		free(line);
		if (rc2 < 0)
			break;
		if (rc == 0 && rc2 > 0 &&
		    (i >= nv || !same_vma(&vma, &v[i++])))
			abort();
	}
	if ((rc2 < 0) != (rc < 0) || (rc == 0 && i != nv))
		abort();
	free(v);
}

static void check_mount(const char *mnt, const char *root)
{
	if (!memchr(mnt, '\0', 512) || !memchr(root, '\0', 512) ||
	    (mnt[0] ? mnt[0] != '/' || root[0] != '/' : root[0] != 0))
		abort();
}

static int mountinfo(const char *buf, size_t len, struct nm_cgroup_mounts *m)
{
	struct nm_cgroup_mounts m2;
	char err[NM_ERRLEN] = "", *line;
	size_t n;
	int rc, rc2 = 0;

	memset(m, 0, sizeof(*m));
	memset(&m2, 0, sizeof(m2));
	rc = nm_cgroup_mounts_parse(buf, len, m, err);
	if (rc < 0)
		check_err(err);
	check_mount(m->v1_cpuset, m->v1_cpuset_root);
	check_mount(m->v1_freezer, m->v1_freezer_root);
	check_mount(m->v2, m->v2_root);
	for (const char *p = buf; (line = next_line(&p, buf + len, &n));) {
		rc2 = nm_cgroup_mounts_parse(line, n, &m2, err);
		free(line);
		if (rc2 < 0)
			break;
	}
	if (rc != rc2 || (rc == 0 && memcmp(m, &m2, sizeof(m2))))
		abort();
	return rc;
}

/* @dir is "" or @mnt + an absolute path that never goes up. */
static void check_dir(const char *dir, const char *mnt)
{
	size_t n = strlen(mnt);

	if (!memchr(dir, '\0', 512))
		abort();
	if (!dir[0])
		return;
	if (!mnt[0] || strncmp(dir, mnt, n) != 0 || dir[n] != '/' ||
	    strstr(dir + n, "/../") || strstr(dir + n, "/./"))
		abort();
	n = strlen(dir);
	if ((n >= 3 && !strcmp(dir + n - 3, "/..")) ||
	    (n >= 2 && !strcmp(dir + n - 2, "/.")))
		abort();
}

static const char hybrid[] =
	"34 31 0:31 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n"
	"37 31 0:34 /slurm /sys/fs/cgroup/freezer rw - cgroup cgroup "
	"rw,freezer\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";

static void cgroup_file(const char *in, size_t len)
{
	struct nm_cgroup_mounts m;
	struct nm_cgroups cg, cg2;
	const char *nul = memchr(in, '\0', len), *buf = in;
	char err[NM_ERRLEN] = "", *copy = NULL, *line;
	size_t n;
	int rc, rc2 = 0, sum = 0;

	/* A mountinfo before a NUL, else the fixed hybrid host's. */
	if (!nul) {
		if (mountinfo(hybrid, sizeof(hybrid) - 1, &m) < 0)
			abort();
	} else {
		/* Each part an exact copy of its own. */
		n = (size_t)(nul - in);
		copy = malloc(n ? n : 1);
		if (!copy)
			abort();
		memcpy(copy, in, n);
		rc = mountinfo(copy, n, &m);
		free(copy);
		if (rc < 0)
			return;
		len -= n + 1;
		copy = malloc(len ? len : 1);
		if (!copy)
			abort();
		memcpy(copy, nul + 1, len);
		buf = copy;
	}
	memset(&cg, 0, sizeof(cg));
	memset(&cg2, 0, sizeof(cg2));
	rc = nm_cgroup_file_parse(buf, len, &m, &cg, err);
	if (rc < 0)
		check_err(err);
	else if ((size_t)rc != count_lines(buf, len))
		abort();
	check_dir(cg.v1_cpuset, m.v1_cpuset);
	check_dir(cg.v1_freezer, m.v1_freezer);
	check_dir(cg.v2, m.v2);
	if (cg.v2_has_cpuset)
		abort();
	for (const char *p = buf; (line = next_line(&p, buf + len, &n));) {
		rc2 = nm_cgroup_file_parse(line, n, &m, &cg2, err);
		free(line);
		if (rc2 < 0)
			break;
		sum += rc2;
	}
	if ((rc < 0) != (rc2 < 0) ||
	    (rc >= 0 && (rc != sum || memcmp(&cg, &cg2, sizeof(cg)))))
		abort();
	free(copy);
}

static void cgroup_procs(const char *buf, size_t len)
{
	pid_t *v = NULL, *v2 = NULL;
	int n = 0, n2 = 0, rc, rc2 = 0;
	char err[NM_ERRLEN] = "", *line;
	size_t k;

	rc = nm_cgroup_procs_parse(buf, len, &v, &n, err);
	if (rc < 0)
		check_err(err);
	if (rc < 0 && n)
		abort();	/* a failed parse appends nothing */
	else if ((size_t)n > count_lines(buf, len))
		abort();
	for (int i = 0; rc == 0 && i < n; i++)
		if (v[i] <= 0 || v[i] > 0x3fffffff)
			abort();
	for (const char *p = buf; (line = next_line(&p, buf + len, &k));) {
		rc2 = nm_cgroup_procs_parse(line, k, &v2, &n2, err);
		free(line);
		if (rc2 < 0)
			break;
	}
	if (rc != rc2 || (rc == 0 && (n != n2 ||
				      (n && memcmp(v, v2, (size_t)n *
						   sizeof(*v))))))
		abort();
	free(v);
	free(v2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[NM_ERRLEN] = "", *buf;
	size_t len;

	if (size < 1)
		return 0;
	if (!topo) {
		topo = nm_topology_load(TESTDATA "/16amd64-4distances.xml", err);
		if (!topo)
			abort();
	}
	len = size - 1;
	buf = malloc(len ? len : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, len);
	switch (data[0] % 9) {
	case 0:
		numa_maps(buf, len);
		break;
	case 1: {
		struct nm_bitmap cpus;

		if (nm_status_cpus_parse(buf, len, &cpus, err) < 0)
			check_err(err);
		break;
	}
	case 2: {
		struct nm_proc_info pi;

		memset(&pi, 0, sizeof(pi));
		if (nm_proc_status_parse(buf, len, &pi, err) < 0)
			check_err(err);
		break;
	}
	case 3:
		stat_line(buf, len);
		break;
	case 4:
		environ_rank(buf, len);
		break;
	case 5:
		maps(buf, len);
		break;
	case 6: {
		struct nm_cgroup_mounts m;

		mountinfo(buf, len, &m);
		break;
	}
	case 7:
		cgroup_file(buf, len);
		break;
	default:
		cgroup_procs(buf, len);
		break;
	}
	free(buf);
	return 0;
}
