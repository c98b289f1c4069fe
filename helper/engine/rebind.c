/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper/engine/rebind.h"
#include "lib/core/planner.h"

#define MAX_THREADS 65536

static int has_tid(const pid_t *v, int n, pid_t tid)
{
	for (int i = 0; i < n; i++)
		if (v[i] == tid)
			return 1;
	return 0;
}

/*
 * Re-pins one thread.  0 done, 1 the thread is gone, -1 error.
 */
static int rebind_tid(const struct nm_topology *t, const int *map, pid_t pid,
		      pid_t tid, cpu_set_t *set, size_t size, char *err)
{
	struct nm_bitmap cur, dst;
	int cpu;

	CPU_ZERO_S(size, set);
	if (sched_getaffinity(tid, size, set) < 0) {
		if (errno == ESRCH)
			return 1;
		nm_seterr(err, "pid %d thread %d: reading CPU affinity: %s",
			  (int)pid, (int)tid, strerror(errno));
		return -1;
	}
	nm_bitmap_zero(&cur);
	for (cpu = 0; cpu < NM_BITMAP_BITS; cpu++)
		if (CPU_ISSET_S((size_t)cpu, size, set))
			nm_bitmap_set(&cur, (unsigned int)cpu);
	nm_map_cpus(t, map, &cur, &dst);
	if (nm_bitmap_equal(&cur, &dst))
		return 0;
	CPU_ZERO_S(size, set);
	nm_bitmap_foreach(cpu, &dst)
		CPU_SET_S((size_t)cpu, size, set);
	if (sched_setaffinity(tid, size, set) < 0) {
		char list[128];

		if (errno == ESRCH)
			return 1;
		nm_list_format(&dst, list, sizeof(list));
		nm_seterr(err, "pid %d thread %d: pinning to CPUs %s: %s%s",
			  (int)pid, (int)tid, list, strerror(errno),
			  errno == EINVAL ? " (outside its cpuset? widen "
			  "cpuset.cpus first)" : "");
		return -1;
	}
	return 0;
}

/* The threads of one rebind, each pinned once. */
struct rebind {
	const struct nm_topology *t;
	const int *map;
	pid_t pid;
	const struct nm_pidref *ref;	/* NULL: by number only */
	cpu_set_t *set;
	size_t size;
	pid_t *done;		/* threads seen */
	int ndone;
	int pinned;		/* threads whose CPUs changed */
};

/*
 * One listing of the process's threads, pinning those not seen before.
 * Returns 1 when it found new ones, 0 when not, -1 with @err.
 */
static int rebind_pass(struct rebind *rb, char *err)
{
	char path[64];
	struct dirent *e;
	int rc = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)rb->pid);
	d = opendir(path);
	if (!d) {
		nm_seterr(err, "pid %d: no such process", (int)rb->pid);
		return -1;
	}
	while (rc >= 0 && (e = readdir(d))) {
		int tid, r;

		if (sscanf(e->d_name, "%d", &tid) != 1 ||
		    has_tid(rb->done, rb->ndone, tid))
			continue;
		if (rb->ndone == MAX_THREADS) {
			nm_seterr(err, "pid %d: more than %d threads",
				  (int)rb->pid, MAX_THREADS);
			rc = -1;
			break;
		}
		rb->done[rb->ndone++] = tid;
		rc = 1;
		/* Right before the call: the pid still names the process. */
		if (rb->ref && nm_pidref_check(rb->ref, err) < 0) {
			rc = -1;
			break;
		}
		r = rebind_tid(rb->t, rb->map, rb->pid, tid, rb->set, rb->size,
			       err);
		if (r < 0)
			rc = -1;
		else if (r == 0)
			rb->pinned++;
	}
	closedir(d);
	return rc;
}

static int rebind(const struct nm_topology *t, const int *map, pid_t pid,
		  const struct nm_pidref *ref, char *err)
{
	struct rebind rb = { .t = t, .map = map, .pid = pid, .ref = ref,
			     .size = CPU_ALLOC_SIZE(NM_BITMAP_BITS) };
	int rc;

	if (!t || !map || pid <= 0) {
		nm_seterr(err, "rebind: invalid arguments (pid %d)", (int)pid);
		return -1;
	}
	rb.set = CPU_ALLOC(NM_BITMAP_BITS);
	rb.done = malloc(MAX_THREADS * sizeof(*rb.done));
	if (!rb.set || !rb.done) {
		nm_seterr(err, "rebind: out of memory");
		rc = -1;
	} else {
		/*
		 * The map is not idempotent (a 0<->1 swap), so each thread is
		 * pinned once; list again until no new thread shows up, for a
		 * job that is still running.
		 */
		while ((rc = rebind_pass(&rb, err)) == 1)
			;
	}
	if (rb.set)
		CPU_FREE(rb.set);
	free(rb.done);
	return rc < 0 ? -1 : rb.pinned;
}

int nm_rebind_process(const struct nm_topology *t, const int *map, pid_t pid,
		      char *err)
{
	return rebind(t, map, pid, NULL, err);
}

int nm_rebind_ref(const struct nm_topology *t, const int *map,
		  const struct nm_pidref *ref, char *err)
{
	return rebind(t, map, ref->pid, ref, err);
}
