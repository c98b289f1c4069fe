/* SPDX-License-Identifier: MIT */
/*
 * nm-move-check: one whole move of live processes with the library and the
 * helper's mechanics, then checks of the result.  Used by
 * tests/engine/host-move.test (this machine) and tests/vm/engine-xnode.test
 * (a multi-node guest).
 *
 *   nm-move-check --pids P1,P2.. (--to NODES | --map OLD:NEW) [--reissue]
 *                 [--threads N] [--batch N] [--min-moved-pct P]
 *
 * Plans (nm_job_from_pids + nm_plan_compute), freezes, scans, runs the
 * engine, re-pins every thread, thaws, then checks: every page scanned
 * before is on map[its old node] (a fresh scan), every thread's CPUs are
 * nm_map_cpus() of what they were, the engine reported no failure.
 * --reissue: add a step node -> itself for each node of the job (a
 * single-node machine has nothing to move otherwise).  Exit 0: all checks
 * passed.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper/engine/engine.h"
#include "helper/engine/freezer.h"
#include "helper/engine/rebind.h"
#include "lib/core/target_check.h"
#include "lib/core/job.h"
#include "lib/linux/job_proc.h"
#include "lib/core/planner.h"
#include "lib/linux/scan.h"
#include "lib/base/target.h"

#define MAX_PIDS 256
#define MAX_TIDS 4096

struct tinfo {
	pid_t pid, tid;
	struct nm_bitmap before;
};

static int fails;

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		printf("FAIL: " __VA_ARGS__); \
		printf("\n"); \
		fails++; \
	} \
} while (0)

static int affinity(pid_t tid, struct nm_bitmap *out)
{
	cpu_set_t *set = CPU_ALLOC(NM_BITMAP_BITS);
	size_t size = CPU_ALLOC_SIZE(NM_BITMAP_BITS);
	int rc = -1;

	nm_bitmap_zero(out);
	if (set && sched_getaffinity(tid, size, set) == 0) {
		for (int c = 0; c < NM_BITMAP_BITS; c++)
			if (CPU_ISSET_S((size_t)c, size, set))
				nm_bitmap_set(out, (unsigned int)c);
		rc = 0;
	}
	if (set)
		CPU_FREE(set);
	return rc;
}

static int list_threads(const pid_t *pids, int npids, struct tinfo *ti)
{
	int n = 0;

	for (int i = 0; i < npids; i++) {
		char path[64];
		DIR *d;
		struct dirent *e;

		snprintf(path, sizeof(path), "/proc/%d/task", (int)pids[i]);
		d = opendir(path);
		if (!d)
			continue;
		while ((e = readdir(d)) && n < MAX_TIDS) {
			int tid;

			if (sscanf(e->d_name, "%d", &tid) != 1)
				continue;
			ti[n].pid = pids[i];
			ti[n].tid = tid;
			if (affinity(tid, &ti[n].before) == 0)
				n++;
		}
		closedir(d);
	}
	return n;
}

/* Node a page of @s was on (the runs are sorted), or -1. */
static int node_at(const struct nm_scan *s, uintptr_t a, uint16_t *flags)
{
	size_t lo = 0, hi = s->nruns;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct nm_run *r = &s->runs[mid];

		if (a < r->start)
			hi = mid;
		else if (a >= r->start + (uintptr_t)r->npages * 4096)
			lo = mid + 1;
		else {
			*flags = r->flags;
			return r->node;
		}
	}
	return -1;
}

static void progress(void *arg, uint64_t done, uint64_t total)
{
	int *calls = arg;

	(void)done;
	(void)total;
	(*calls)++;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pids", required_argument, NULL, 'p' },
		{ "to", required_argument, NULL, 't' },
		{ "map", required_argument, NULL, 'm' },
		{ "reissue", no_argument, NULL, 'r' },
		{ "threads", required_argument, NULL, 'T' },
		{ "batch", required_argument, NULL, 'b' },
		{ "min-moved-pct", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 }
	};
	static struct tinfo ti[MAX_TIDS];
	const char *pidarg = NULL, *to = NULL, *map = NULL;
	bool reissue = false;
	int threads = 0, min_pct = 0, o, npids, nti, calls = 0;
	unsigned int batch = 0;
	pid_t pids[MAX_PIDS];
	char err[NM_ERRLEN] = "";
	struct nm_topology *t;
	struct nm_job *job;
	struct nm_target target;
	struct nm_plan *plan;
	struct nm_freeze fz;
	struct nm_scan before[MAX_PIDS], after[MAX_PIDS];
	struct nm_engine_result *res = calloc(1, sizeof(*res));
	struct nm_engine_opts eo = { .progress = progress };
	uint64_t *free_bytes, total = 0, wrong = 0, wrong_file = 0, moved = 0;
	uint64_t files = 0;
	uint64_t to_move = 0;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'p': pidarg = optarg; break;
		case 't': to = optarg; break;
		case 'm': map = optarg; break;
		case 'r': reissue = true; break;
		case 'T': threads = atoi(optarg); break;
		case 'b': batch = (unsigned int)atoi(optarg); break;
		case 'M': min_pct = atoi(optarg); break;
		default: return 2;
		}
	}
	if (!pidarg || !!to == !!map || !res) {
		fprintf(stderr, "usage: nm-move-check --pids LIST (--to NODES | "
			"--map OLD:NEW) [--reissue] [--threads N] [--batch N] "
			"[--min-moved-pct P]\n");
		return 2;
	}
	npids = nm_parse_pid_list(pidarg, pids, MAX_PIDS, err);
	t = npids > 0 ? nm_topology_load(NULL, err) : NULL;
	if (!t) {
		fprintf(stderr, "nm-move-check: %s\n", err);
		return 2;
	}
	if ((to ? nm_target_parse_nodes(to, &target, err) :
		  nm_target_parse_map(map, &target, err)) < 0 ||
	    nm_target_check(&target, t, err) < 0) {
		fprintf(stderr, "nm-move-check: %s\n", err);
		return 2;
	}

	/* 1. plan */
	job = nm_job_from_pids(pids, npids, t, err);
	free_bytes = calloc((size_t)t->nnodes, sizeof(*free_bytes));
	if (!job || !free_bytes || nm_plan_free_bytes(t, job, free_bytes,
						      err) < 0) {
		fprintf(stderr, "nm-move-check: %s\n", err);
		return 1;
	}
	plan = nm_plan_compute(t, job, free_bytes, &target, NULL, err);
	if (!plan || !plan->feasible) {
		fprintf(stderr, "nm-move-check: plan: %s\n",
			plan ? plan->reason : err);
		return 1;
	}
	printf("plan: %d steps, %llu bytes;", plan->nsteps,
	       (unsigned long long)plan->bytes_moved);
	for (int n = 0; n < t->nnodes; n++)
		if (plan->map[n] >= 0)
			printf(" %d->%d", t->nodes[n].os,
			       t->nodes[plan->map[n]].os);
	printf("\n");
	if (reissue) {
		struct nm_step *s = calloc((size_t)t->nnodes + 1, sizeof(*s));
		int k = 0;

		for (int n = 0; n < t->nnodes; n++)
			if (job->node_bytes[n] && plan->map[n] == n)
				s[k++] = (struct nm_step){
					t->nodes[n].os, t->nodes[n].os,
					job->node_bytes[n], false };
		free(plan->steps);
		plan->steps = s;
		plan->nsteps = k;
		printf("reissue: %d steps from a node to itself\n", k);
	}
	nti = list_threads(pids, npids, ti);

	/* 2. freeze, scan, move, rebind, thaw */
	if (nm_freeze(pids, npids, 10000, &fz, err) < 0) {
		fprintf(stderr, "nm-move-check: %s\n", err);
		return 1;
	}
	printf("frozen: method %d, was_frozen %d\n", (int)fz.method,
	       (int)fz.was_frozen);
	for (int i = 0; i < npids; i++) {
		if (nm_scan_process(pids[i], NM_SCAN_AUTO, &before[i], err) < 0 ||
		    nm_scan_process(pids[i], NM_SCAN_AUTO, &after[i], err) < 0) {
			fprintf(stderr, "nm-move-check: %s\n", err);
			nm_thaw(&fz, err);
			return 1;
		}
	}
	eo.threads = threads;
	eo.batch_pages = batch;
	eo.progress_arg = &calls;
	if (nm_engine_run(t, plan, pids, after, npids, &eo, res, err) < 0) {
		fprintf(stderr, "nm-move-check: engine: %s\n", err);
		nm_thaw(&fz, err);
		return 1;
	}
	for (int i = 0; i < npids; i++) {
		int n = nm_rebind_process(t, plan->map, pids[i], err);

		CHECK(n > 0, "rebind pid %d: %s", (int)pids[i], err);
	}
	if (nm_thaw(&fz, err) < 0)
		CHECK(0, "thaw: %s", err);
	nm_freeze_release(&fz);
	printf("engine: %llu pages moved (%llu attempted), %llu failed "
	       "(busy %llu nomem %llu gone %llu access %llu other %llu) in "
	       "%.3f s, %d progress calls, %d steps unpinned%s%s\n",
	       (unsigned long long)res->pages_moved,
	       (unsigned long long)res->pages_attempted,
	       (unsigned long long)res->pages_failed,
	       (unsigned long long)res->failed_by_kind[NM_FAIL_BUSY],
	       (unsigned long long)res->failed_by_kind[NM_FAIL_NOMEM],
	       (unsigned long long)res->failed_by_kind[NM_FAIL_GONE],
	       (unsigned long long)res->failed_by_kind[NM_FAIL_ACCESS],
	       (unsigned long long)res->failed_by_kind[NM_FAIL_OTHER],
	       res->seconds, calls, res->steps_unpinned,
	       res->first_error[0] ? "; " : "", res->first_error);
	for (size_t i = 0; i < res->nfails && i < 5; i++)
		printf("  failed: pid %d %#lx on node %d: %s\n",
		       (int)res->fails[i].pid,
		       (unsigned long)res->fails[i].addr, res->fails[i].node,
		       strerror(res->fails[i].err));
	CHECK(res->pages_failed == 0, "%llu pages failed",
	      (unsigned long long)res->pages_failed);

	/* 3. where every page is now, from a fresh scan */
	for (int i = 0; i < npids; i++) {
		struct nm_scan now;

		if (nm_scan_process(pids[i], NM_SCAN_AUTO, &now, err) < 0) {
			CHECK(0, "rescan pid %d: %s", (int)pids[i], err);
			continue;
		}
		for (size_t r = 0; r < now.nruns; r++) {
			const struct nm_run *run = &now.runs[r];

			for (uint32_t j = 0; j < run->npages; j++) {
				uintptr_t a = run->start + (uintptr_t)j * 4096;
				uint16_t fl = 0;
				int old = node_at(&before[i], a, &fl), idx, want;

				if (old < 0)
					continue;	/* new since */
				idx = nm_topology_find(t, old);
				want = idx >= 0 && plan->map[idx] >= 0 ?
				       t->nodes[plan->map[idx]].os : old;
				/* A file's page cache is not the job's: stays. */
				if (fl & NM_RUN_FILE) {
					files++;
					want = old;
				}
				total++;
				if (want != old)
					to_move++;
				if (want != old && run->node == want)
					moved++;
				if (run->node != want) {
					if (fl & NM_RUN_FILE)
						wrong_file++;
					else if (wrong++ < 5)
						printf("  misplaced: pid %d "
						       "%#lx on node %d, want "
						       "%d (flags %#x)\n",
						       (int)pids[i],
						       (unsigned long)a,
						       run->node, want, fl);
				}
			}
		}
		nm_scan_release(&now);
	}
	printf("verify: %llu pages checked, %llu to move, %llu moved, %llu "
	       "misplaced, %llu file page-cache pages of which %llu moved "
	       "(engine left %llu alone)\n", (unsigned long long)total,
	       (unsigned long long)to_move, (unsigned long long)moved,
	       (unsigned long long)wrong, (unsigned long long)files,
	       (unsigned long long)wrong_file,
	       (unsigned long long)res->pages_skipped_file);
	CHECK(total > 0, "no pages checked");
	CHECK(wrong == 0 && wrong_file == 0, "pages not on their mapped node");
	CHECK(!min_pct || (to_move && moved * 100 >= to_move *
			   (uint64_t)min_pct), "moved %llu of %llu pages, "
	      "wanted %d%%", (unsigned long long)moved,
	      (unsigned long long)to_move, min_pct);

	/* 4. threads: relative CPUs kept */
	for (int i = 0; i < nti; i++) {
		struct nm_bitmap now, want;
		char a[64], b[64];

		if (affinity(ti[i].tid, &now) < 0)
			continue;	/* exited */
		nm_map_cpus(t, plan->map, &ti[i].before, &want);
		nm_list_format(&now, a, sizeof(a));
		nm_list_format(&want, b, sizeof(b));
		CHECK(nm_bitmap_equal(&now, &want), "pid %d thread %d on "
		      "CPUs %s, want %s", (int)ti[i].pid, (int)ti[i].tid, a, b);
	}
	printf("threads: %d checked\n", nti);
	printf("%s\n", fails ? "nm-move-check: FAILED" : "nm-move-check: OK");
	for (int i = 0; i < npids; i++) {
		nm_scan_release(&before[i]);
		nm_scan_release(&after[i]);
	}
	nm_plan_free(plan);
	nm_job_free(job);
	free(free_bytes);
	free(res);
	nm_topology_free(t);
	return fails ? 1 : 0;
}
