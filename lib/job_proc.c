/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "job.h"

static FILE *open_proc(pid_t pid, const char *file, char *err)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			nm_seterr(err, "pid %d: no such process", (int)pid);
		else
			nm_seterr(err, "pid %d: cannot read %s: %s%s",
				  (int)pid, path, strerror(errno),
				  errno == EACCES ? " (run as root or as the "
				  "process's owner)" : "");
	}
	return f;
}

static int read_cpus(pid_t pid, struct nm_bitmap *cpus, char *err)
{
	char line[16384];
	FILE *f = open_proc(pid, "status", err);
	int rc = -1;
	bool found = false;

	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Cpus_allowed_list:", 18) == 0) {
			char *p = line + 18;

			while (*p == ' ' || *p == '\t')
				p++;
			found = true;
			rc = nm_list_parse(p, cpus, NM_BITMAP_BITS, 0,
					   "Cpus_allowed_list", err);
		}
	}
	if (!found)
		nm_seterr(err, "pid %d: no Cpus_allowed_list in status",
			  (int)pid);
	fclose(f);
	return rc;
}

/*
 * The job's memory is what it allocated: anonymous memory (heap, stacks,
 * private copies of file data) and shared memory segments.  The page cache
 * of its executables, libraries and input files is shared with everyone
 * else and stays where it is.
 */
static bool is_job_memory(const char *line)
{
	const char *file = strstr(line, " file=");

	if (!file || strstr(line, " anon="))
		return true;
	file += 6;
	/* MAP_SHARED|MAP_ANONYMOUS shows as a deleted /dev/zero. */
	return strncmp(file, "/dev/shm/", 9) == 0 ||
	       strncmp(file, "/dev/zero", 9) == 0 ||
	       strncmp(file, "/SYSV", 5) == 0 ||
	       strncmp(file, "/memfd:", 7) == 0 ||
	       strstr(line, " huge ") != NULL;
}

/*
 * /proc/PID/numa_maps gives, per mapping, "N<node>=<pages>" and the page
 * size of those counts ("kernelpagesize_kB=").  THP are counted in base
 * pages, hugetlbfs pages in huge pages: multiplying by the size is right
 * for both.
 */
static int read_numa_maps(pid_t pid, uint64_t *bytes,
			  const struct nm_topology *t, char *err)
{
	char *line = NULL;
	size_t cap = 0;
	FILE *f = open_proc(pid, "numa_maps", err);

	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		unsigned long long pages[64];
		int nodes[64], n = 0;
		unsigned long long kb = 4;
		char *save = NULL;

		if (!is_job_memory(line))
			continue;
		for (char *tok = strtok_r(line, " \n", &save); tok;
		     tok = strtok_r(NULL, " \n", &save)) {
			int node;
			unsigned long long v;

			if (sscanf(tok, "N%d=%llu", &node, &v) == 2 && n < 64) {
				nodes[n] = node;
				pages[n++] = v;
			} else if (sscanf(tok, "kernelpagesize_kB=%llu",
					  &v) == 1) {
				kb = v;
			}
		}
		for (int i = 0; i < n; i++) {
			int idx = nm_topology_find(t, nodes[i]);

			if (idx >= 0)
				bytes[idx] += pages[i] * kb * 1024;
		}
	}
	free(line);
	if (ferror(f)) {
		nm_seterr(err, "pid %d: error reading numa_maps", (int)pid);
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
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
