/* SPDX-License-Identifier: MIT */
/* Is a process inside the cgroup Slurm made for its job? */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/linux/job_cgroup.h"
#include "lib/base/file.h"
#include "lib/linux/proc.h"

/* One line "ID:CONTROLLERS:PATH": does PATH have the component @want? */
static int line_match(const char *line, size_t len, const char *want)
{
	const char *p = memchr(line, ':', len), *end = line + len;
	size_t wl = strlen(want);

	if (p)
		p = memchr(p + 1, ':', (size_t)(end - p - 1));
	if (!p)
		return 0;
	for (p++; p < end; p++) {
		if (*p != '/')
			continue;
		if ((size_t)(end - p - 1) >= wl && !memcmp(p + 1, want, wl) &&
		    (p + 1 + wl == end || p[1 + wl] == '/'))
			return 1;
	}
	return 0;
}

int nm_job_cgroup_match(const char *buf, size_t len, uint64_t job)
{
	char want[32];
	size_t i = 0;

	snprintf(want, sizeof(want), "job_%" PRIu64, job);
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (buf + i)) : len - i;

		if (line_match(buf + i, l, want))
			return 1;
		i += l + 1;
	}
	return 0;
}

/* Is [@p, @end) "job_" and one or more digits? */
static bool job_component(const char *p, const char *end)
{
	if (end - p < 5 || memcmp(p, "job_", 4))
		return false;
	for (p += 4; p < end; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

int nm_job_cgroup_dir(const char *dir, char *out, size_t len)
{
	const char *p = dir;

	while ((p = strchr(p, '/'))) {
		const char *start = p + 1, *end = strchr(start, '/');

		if (!end)
			end = start + strlen(start);
		if (job_component(start, end)) {
			if ((size_t)(end - dir) >= len)
				return 0;
			memcpy(out, dir, (size_t)(end - dir));
			out[end - dir] = '\0';
			return 1;
		}
		p = end;
	}
	return 0;
}

int nm_pid_in_job_cgroup(pid_t pid, uint64_t job, char *err)
{
	char path[64], *buf;
	size_t len;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	buf = pid > 0 ? nm_read_file(path, 64 * 1024, &len) : NULL;
	if (!buf) {
		nm_seterr(err, "pid %d: cannot read its cgroups: %s", (int)pid,
			  pid > 0 ? strerror(errno) : "invalid pid");
		return -1;
	}
	r = nm_job_cgroup_match(buf, len, job);
	free(buf);
	return r;
}

bool nm_slurm_stepd(pid_t pid)
{
	char path[64], comm[32] = "", err[NM_ERRLEN];
	struct nm_proc_info pi;
	FILE *f;

	if (nm_proc_info(pid, &pi, err) < 0)
		return false;
	for (int i = 0; i < 4; i++)
		if (pi.uid[i] != 0)
			return false;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = 0;
	fclose(f);
	return !strcmp(comm, "slurmstepd\n");
}
