/* SPDX-License-Identifier: MIT */
/*
 * nm-move-check: one whole move of live processes through the daemon's
 * own entry point (nm_move_run, helper/engine/move.h: plan, freeze, widen
 * the cpusets, scan, engine, rebind, narrow the cpusets, thaw), then
 * checks of the result.  Used by tests/engine/host-move.test (this
 * machine) and tests/vm/engine-xnode.test (a multi-node guest).
 *
 *   nm-move-check --pids P1,P2.. (--to NODES | --map OLD:NEW) [--reissue]
 *                 [--threads N] [--batch N] [--min-moved-pct P]
 *                 [--files-may-follow]
 *
 * Checks: the move succeeded (no page failed, no error), every page
 * scanned while frozen is on map[its old node] (a fresh scan), every
 * thread's CPUs are nm_map_cpus() of what they were.  --reissue: add a
 * step node -> itself for each node of the job (a single-node machine has
 * nothing to move otherwise).  --files-may-follow: a file's page cache may
 * be on its mapped node too, not only where it was (narrowing a cgroup v2
 * cpuset makes the kernel migrate every page its tasks map off the nodes
 * it loses).  Exit 0: all checks passed.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper/engine/move.h"
#include "lib/base/units.h"

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
		else if (a >= r->start + (uintptr_t)r->npages * nm_page_size())
			lo = mid + 1;
		else {
			*flags = r->flags;
			return r->node;
		}
	}
	return -1;
}

/* What the hooks keep: options in, the frozen job's scans out. */
struct driver {
	bool reissue;
	bool files_may_follow;
	int progress_calls;
	const pid_t *pids;		/* the move's, descendants included */
	int npids;
	struct nm_scan *before;		/* scanned while frozen */
};

static void progress(void *arg, uint64_t done, uint64_t total)
{
	struct driver *d = arg;

	(void)done;
	(void)total;
	d->progress_calls++;
}

static void print_log(void *arg, int level, const char *msg)
{
	(void)arg;
	printf("move (%d): %s\n", level, msg);
}

/* A step node -> itself for each node of the job with memory. */
static int reissue_steps(struct nm_move_result *r, char *err)
{
	const struct nm_topology *t = r->t;
	struct nm_step *s = calloc((size_t)t->nnodes + 1, sizeof(*s));
	int k = 0;

	if (!s) {
		nm_seterr(err, "out of memory");
		return -1;
	}
	for (int n = 0; n < t->nnodes; n++)
		if (r->job->node_bytes[n] && r->plan->map[n] == n)
			s[k++] = (struct nm_step){ t->nodes[n].os,
				t->nodes[n].os, r->job->node_bytes[n], false };
	free(r->plan->steps);
	r->plan->steps = s;
	r->plan->nsteps = k;
	printf("reissue: %d steps from a node to itself\n", k);
	return 0;
}

static enum nm_move_status planned(void *arg, struct nm_move_result *r,
				   char *err)
{
	struct driver *d = arg;

	printf("plan: %d steps, %llu bytes;", r->plan->nsteps,
	       (unsigned long long)r->plan->bytes_moved);
	for (int n = 0; n < r->t->nnodes; n++)
		if (r->plan->map[n] >= 0)
			printf(" %d->%d", r->t->nodes[n].os,
			       r->t->nodes[r->plan->map[n]].os);
	printf("\n");
	if (d->reissue && reissue_steps(r, err) < 0)
		return NM_MOVE_FAILED;
	return NM_MOVE_OK;
}

static int frozen(void *arg, struct nm_move *mv, const struct nm_freeze *fz,
		  char *err)
{
	(void)arg;
	(void)mv;
	(void)err;
	printf("frozen: method %d, was_frozen %d\n", (int)fz->method,
	       (int)fz->was_frozen);
	return 0;
}

/* Our own scan of the frozen job: where each page was before. */
static int scanned(void *arg, const pid_t *pids, const struct nm_scan *scans,
		   int npids, char *err)
{
	struct driver *d = arg;

	(void)scans;
	d->pids = pids;
	d->npids = npids;
	d->before = calloc((size_t)npids, sizeof(*d->before));
	if (!d->before) {
		nm_seterr(err, "out of memory");
		return -1;
	}
	for (int i = 0; i < npids; i++)
		if (nm_scan_process(pids[i], NM_SCAN_AUTO, &d->before[i],
				    err) < 0)
			return -1;
	return 0;
}

static void print_engine(const struct nm_engine_result *res, int calls)
{
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
}

struct tally {
	uint64_t total, to_move, moved, wrong, wrong_file, files;
	uint64_t files_followed;	/* on their mapped node */
};

/* One page now at @a on @node, against where it was before. */
static void check_page(const struct nm_move_result *r,
		       const struct driver *d, const struct nm_scan *before,
		       pid_t pid, uintptr_t a, int node, struct tally *c)
{
	uint16_t fl = 0;
	int old = node_at(before, a, &fl), idx, want;

	if (old < 0)
		return;		/* new since */
	idx = nm_topology_find(r->t, old);
	want = idx >= 0 && r->plan->map[idx] >= 0 ?
	       r->t->nodes[r->plan->map[idx]].os : old;
	/* A file's page cache is not the job's: stays (or may follow). */
	if (fl & NM_RUN_FILE) {
		c->files++;
		if (d->files_may_follow && want != old && node == want) {
			c->files_followed++;
			c->total++;
			return;
		}
		want = old;
	}
	c->total++;
	if (want != old)
		c->to_move++;
	if (want != old && node == want)
		c->moved++;
	if (node == want)
		return;
	if (fl & NM_RUN_FILE)
		c->wrong_file++;
	else if (c->wrong++ < 5)
		printf("  misplaced: pid %d %#lx on node %d, want %d (flags "
		       "%#x)\n", (int)pid, (unsigned long)a, node, want, fl);
}

/* Where every page is now, from a fresh scan. */
static void check_pages(const struct nm_move_result *r,
			const struct driver *d, int min_pct)
{
	struct tally c = { 0 };
	char err[NM_ERRLEN];

	for (int i = 0; i < d->npids; i++) {
		struct nm_scan now;

		if (nm_scan_process(d->pids[i], NM_SCAN_AUTO, &now, err) < 0) {
			CHECK(0, "rescan pid %d: %s", (int)d->pids[i], err);
			continue;
		}
		for (size_t k = 0; k < now.nruns; k++)
			for (uint32_t j = 0; j < now.runs[k].npages; j++)
				check_page(r, d, &d->before[i], d->pids[i],
					   now.runs[k].start +
					   (uintptr_t)j * nm_page_size(),
					   now.runs[k].node, &c);
		nm_scan_release(&now);
	}
	printf("verify: %llu pages checked, %llu to move, %llu moved, %llu "
	       "misplaced, %llu file page-cache pages of which %llu moved "
	       "(engine left %llu alone, %llu followed the map)\n",
	       (unsigned long long)c.total,
	       (unsigned long long)c.to_move, (unsigned long long)c.moved,
	       (unsigned long long)c.wrong, (unsigned long long)c.files,
	       (unsigned long long)c.wrong_file,
	       (unsigned long long)r->engine->pages_skipped_file,
	       (unsigned long long)c.files_followed);
	CHECK(c.total > 0, "no pages checked");
	CHECK(c.wrong == 0 && c.wrong_file == 0,
	      "pages not on their mapped node");
	CHECK(!min_pct || (c.to_move && c.moved * 100 >= c.to_move *
			   (uint64_t)min_pct), "moved %llu of %llu pages, "
	      "wanted %d%%", (unsigned long long)c.moved,
	      (unsigned long long)c.to_move, min_pct);
}

/* Threads: relative CPUs kept. */
static void check_threads(const struct nm_move_result *r,
			  const struct tinfo *ti, int nti)
{
	for (int i = 0; i < nti; i++) {
		struct nm_bitmap now, want;
		char a[64], b[64];

		if (affinity(ti[i].tid, &now) < 0)
			continue;	/* exited */
		nm_map_cpus(r->t, r->plan->map, &ti[i].before, &want);
		nm_list_format(&now, a, sizeof(a));
		nm_list_format(&want, b, sizeof(b));
		CHECK(nm_bitmap_equal(&now, &want), "pid %d thread %d on "
		      "CPUs %s, want %s", (int)ti[i].pid, (int)ti[i].tid, a, b);
	}
	printf("threads: %d checked\n", nti);
}

static void usage(void)
{
	fprintf(stderr, "usage: nm-move-check --pids LIST (--to NODES | "
		"--map OLD:NEW) [--reissue] [--threads N] [--batch N] "
		"[--min-moved-pct P] [--files-may-follow]\n");
}

/* The command line into @d and @spec; the job's pids into @pids. */
static int parse_args(int argc, char **argv, struct driver *d,
		      struct nm_move_spec *spec, pid_t *pids,
		      struct nm_target *target, int *min_pct)
{
	static const struct option opts[] = {
		{ "pids", required_argument, NULL, 'p' },
		{ "to", required_argument, NULL, 't' },
		{ "map", required_argument, NULL, 'm' },
		{ "reissue", no_argument, NULL, 'r' },
		{ "threads", required_argument, NULL, 'T' },
		{ "batch", required_argument, NULL, 'b' },
		{ "min-moved-pct", required_argument, NULL, 'M' },
		{ "files-may-follow", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 }
	};
	const char *pidarg = NULL, *to = NULL, *map = NULL;
	char err[NM_ERRLEN] = "";
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'p': pidarg = optarg; break;
		case 't': to = optarg; break;
		case 'm': map = optarg; break;
		case 'r': d->reissue = true; break;
		case 'T': spec->threads = atoi(optarg); break;
		case 'b': spec->batch_pages = (unsigned int)atoi(optarg); break;
		case 'M': *min_pct = atoi(optarg); break;
		case 'F': d->files_may_follow = true; break;
		default: usage(); return -1;
		}
	}
	if (!pidarg || !!to == !!map) {
		usage();
		return -1;
	}
	spec->npids = nm_parse_pid_list(pidarg, pids, MAX_PIDS, err);
	if (spec->npids <= 0 ||
	    (to ? nm_target_parse_nodes(to, target, err) :
		  nm_target_parse_map(map, target, err)) < 0) {
		fprintf(stderr, "nm-move-check: %s\n", err);
		return -1;
	}
	spec->pids = pids;
	spec->target = target;
	return 0;
}

int main(int argc, char **argv)
{
	static struct tinfo ti[MAX_TIDS];
	struct driver d = { 0 };
	struct nm_move_hooks hooks = {
		.arg = &d, .planned = planned, .frozen = frozen,
		.scanned = scanned, .progress = progress, .log = print_log,
	};
	struct nm_move_spec spec = {
		.what = "the processes", .backend = NM_BACKEND_SYSCALL,
		.freeze_timeout_ms = 10000,
	};
	struct nm_move_result r;
	struct nm_target target;
	enum nm_move_status st;
	int min_pct = 0, nti;
	pid_t pids[MAX_PIDS];
	char err[NM_ERRLEN] = "";

	if (parse_args(argc, argv, &d, &spec, pids, &target, &min_pct) < 0)
		return 2;
	nti = list_threads(pids, spec.npids, ti);
	st = nm_move_run(&spec, &hooks, &r, err);
	if (!r.engine) {
		fprintf(stderr, "nm-move-check: %s: %s\n",
			nm_move_status_code(st), err);
		nm_move_result_free(&r);
		return 1;
	}
	print_engine(r.engine, d.progress_calls);
	CHECK(st == NM_MOVE_OK, "move %s: %s", nm_move_status_code(st), err);
	for (int i = 0; i < r.nerrors; i++)
		CHECK(0, "move error (pid %d %s): %s", (int)r.errors[i].pid,
		      r.errors[i].cgroup, r.errors[i].msg);
	if (d.before) {
		check_pages(&r, &d, min_pct);
		check_threads(&r, ti, nti);
		for (int i = 0; i < d.npids; i++)
			nm_scan_release(&d.before[i]);
		free(d.before);
	}
	printf("%s\n", fails ? "nm-move-check: FAILED" : "nm-move-check: OK");
	nm_move_result_free(&r);
	return fails ? 1 : 0;
}
