/* SPDX-License-Identifier: MIT */
/* One move of a job, from request to thawed job and page-exact report. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helper/daemon/authz.h"
#include "lib/core/target_check.h"
#include "lib/linux/cgroup.h"
#include "helper/engine/engine.h"
#include "helper/engine/freezer.h"
#include "helper/daemon/journal.h"
#include "helper/engine/kmod_client.h"
#include "lib/core/job.h"
#include "lib/linux/job_proc.h"
#include "lib/core/plan_json.h"
#include "lib/core/planner.h"
#include "lib/linux/scan.h"
#include "helper/daemon/log.h"
#include "helper/daemon/migrate.h"
#include "lib/linux/mpi_ranks.h"
#include "lib/linux/proc.h"
#include "helper/engine/rebind.h"
#include "helper/daemon/watchdog.h"

#define PAGE_BYTES 4096u

/* The move in progress, for status requests. */
static pthread_mutex_t move_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t active_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	bool on;
	unsigned long id;
	uid_t caller;
	char what[128];
	const char *phase;
	int npids;
	uint64_t done, total;
	struct timespec start;
} active;
static unsigned long next_id;

/*
 * A cpuset the move may widen: the job's own (leaves) and the ancestors it
 * had to widen first (cgroup v1 wants a child's nodes within its parent's).
 */
struct widened {
	char dir[512];
	struct nm_bitmap orig;	/* its nodes before (effective when inherited) */
	bool ancestor;
};

#define NM_MAX_CPUSETS 256

struct move {
	const struct nm_config *cfg;
	const struct nm_move_req *req;
	unsigned long id;
	pid_t *pids;
	int npids;
	struct nm_topology *t;
	struct nm_job *job;
	struct nm_plan *plan;
	struct nm_scan *scans;
	bool *gone;
	struct nm_freeze fz;
	bool frozen, thawed;
	pthread_mutex_t thaw_lock;
	char thaw_err[NM_ERRLEN];
	struct nm_journal journal;
	bool journaled;
	struct widened *wid;
	int nwid;		/* entries in wid */
	int nleaves;		/* the first nleaves are the job's own */
	struct nm_engine_result *res;
	int *eff_map;
	double t_start, t_freeze, t_thaw;
	struct timespec last_progress;
	/* Set by the watchdog: the engine stops before its next batch. */
	volatile int cancel;
	/* The kernel module, open for engine kmod or auto when loaded. */
	struct nm_kmod_client kmod;
	bool kmod_open;
	uint64_t *failed_per_pid;	/* the engine's, per process */
	uint64_t pages_exited;		/* not moved: their process exited */
	char kmod_why[NM_KMOD_ERRLEN];	/* why auto runs without it */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

const char *nm_move_status_code(enum nm_move_status s)
{
	switch (s) {
	case NM_MOVE_OK: return "ok";
	case NM_MOVE_BAD: return "bad_request";
	case NM_MOVE_DENIED: return "denied";
	case NM_MOVE_REFUSED: return "refused";
	case NM_MOVE_FAILED: return "failed";
	}
	return "internal";
}

static void set_phase(const char *phase)
{
	pthread_mutex_lock(&active_lock);
	active.phase = phase;
	pthread_mutex_unlock(&active_lock);
}

json_t *nm_migrate_active(uid_t uid)
{
	json_t *a = json_array();
	struct timespec now;

	pthread_mutex_lock(&active_lock);
	if (a && active.on && (uid == (uid_t)-1 || uid == active.caller)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		json_array_append_new(a, json_pack(
			"{s:I, s:I, s:s, s:s, s:i, s:I, s:I, s:f}",
			"id", (json_int_t)active.id,
			"uid", (json_int_t)active.caller,
			"what", active.what, "phase", active.phase,
			"processes", active.npids,
			"bytes_done", (json_int_t)active.done,
			"bytes_total", (json_int_t)active.total,
			"seconds", (double)(now.tv_sec - active.start.tv_sec) +
				(double)(now.tv_nsec - active.start.tv_nsec) *
				1e-9));
	}
	pthread_mutex_unlock(&active_lock);
	return a;
}

/* ---- freezing ------------------------------------------------------------ */

/* Thaws once, whoever comes first: the move or its watchdog. */
static int thaw_once(struct move *m)
{
	int rc = 0;

	pthread_mutex_lock(&m->thaw_lock);
	if (m->frozen && !m->thawed) {
		rc = nm_thaw(&m->fz, m->thaw_err);
		m->thawed = true;
		m->t_thaw = now_s();
	}
	pthread_mutex_unlock(&m->thaw_lock);
	return rc;
}

static void watchdog_fire(void *arg)
{
	struct move *m = arg;

	nm_log(LOG_ERR, "move %lu: %s frozen longer than %d s: stopping the "
	       "engine and thawing it", m->id, m->req->what,
	       m->cfg->frozen_deadline_ms / 1000);
	/* First stop the engine: no page of a running job moves after. */
	m->cancel = 1;
	if (thaw_once(m) < 0)
		nm_log(LOG_ERR, "move %lu: watchdog thaw failed: %s", m->id,
		       m->thaw_err);
}

/* Asked for by someone else: not ours to thaw; unknown: the same. */
static bool cgroup_already_frozen(enum nm_freeze_method how, const char *dir)
{
	char err[NM_ERRLEN];

	return nm_cgroup_freeze_requested(dir, how == NM_FREEZE_V2, err) != 0;
}

/*
 * What undoes any partial freeze of the job, written before freezing: a
 * SIGCONT for every process not already stopped, and a thaw of the job's
 * cgroup freezer when all of it sits in one that is not already frozen.
 */
static int freeze_intents(struct move *m, struct nm_freeze *in, int *n,
			  char *err)
{
	struct nm_cgroups first, cg;
	bool same_v1 = true, same_v2 = true;
	unsigned long long *starts;
	pid_t *run;
	int nrun = 0;

	*n = 0;
	run = calloc((size_t)m->npids, sizeof(*run));
	starts = calloc((size_t)m->npids, sizeof(*starts));
	if (!run || !starts) {
		free(run);
		free(starts);
		nm_seterr(err, "out of memory");
		return -1;
	}
	for (int i = 0; i < m->npids; i++) {
		struct nm_proc_info pi;

		if (nm_proc_info(m->pids[i], &pi, err) < 0) {
			free(run);
			free(starts);
			return -1;
		}
		/* Launchers keep running: they relay signals to the ranks. */
		if (pi.state != 'T' && pi.state != 't' &&
		    m->job->tasks[i].role != NM_TASK_LAUNCHER) {
			starts[nrun] = pi.starttime;
			run[nrun++] = m->pids[i];
		}
		if (nm_cgroup_of(m->pids[i], &cg, err) < 0) {
			same_v1 = same_v2 = false;
			continue;
		}
		if (i == 0)
			first = cg;
		same_v1 &= cg.v1_freezer[0] &&
			   !strcmp(cg.v1_freezer, first.v1_freezer);
		same_v2 &= cg.v2[0] && !strcmp(cg.v2, first.v2);
	}
	memset(in, 0, 3 * sizeof(*in));
	if (nrun) {
		in[*n].method = NM_FREEZE_SIGSTOP;
		in[*n].pids = run;
		in[*n].starts = starts;
		in[(*n)++].npids = nrun;
	} else {
		free(run);
		free(starts);
	}
	if (same_v2 && !cgroup_already_frozen(NM_FREEZE_V2, first.v2)) {
		in[*n].method = NM_FREEZE_V2;
		snprintf(in[(*n)++].cgroup, sizeof(in->cgroup), "%s",
			 first.v2);
	}
	if (same_v1 && !cgroup_already_frozen(NM_FREEZE_V1,
					      first.v1_freezer)) {
		in[*n].method = NM_FREEZE_V1;
		snprintf(in[(*n)++].cgroup, sizeof(in->cgroup), "%s",
			 first.v1_freezer);
	}
	return 0;
}

/* ---- cpusets ------------------------------------------------------------- */

/*
 * A cpuset's memory nodes.  In cgroup v2 an empty cpuset.mems means "the
 * parent's": its effective nodes are what its tasks may use, and writing
 * anything else there migrates their memory at once, behind the engine's
 * back.
 */
static int cpuset_mems(const char *dir, struct nm_bitmap *out, char *err)
{
	if (nm_cgroup_get_list(dir, "cpuset.mems", out, err) < 0)
		return -1;
	if (nm_bitmap_empty(out))
		return nm_cgroup_get_list(dir, "cpuset.mems.effective", out,
					  err);
	return 0;
}

static int find_cpuset(const struct move *m, const char *dir)
{
	for (int k = 0; k < m->nwid; k++)
		if (!strcmp(m->wid[k].dir, dir))
			return k;
	return -1;
}

/* The cpuset dirs of the job's processes, once each. */
static int collect_cpusets(struct move *m, char *err)
{
	m->wid = calloc(NM_MAX_CPUSETS, sizeof(*m->wid));
	if (!m->wid) {
		nm_seterr(err, "out of memory");
		return -1;
	}
	for (int i = 0; i < m->npids; i++) {
		struct nm_cgroups cg;
		const char *dir;

		if (nm_cgroup_of(m->pids[i], &cg, err) < 0)
			return -1;
		dir = cg.v1_cpuset[0] ? cg.v1_cpuset :
		      cg.v2[0] && cg.v2_has_cpuset ? cg.v2 : "";
		if (!dir[0] || find_cpuset(m, dir) >= 0)
			continue;	/* the root cpuset has every node */
		if (m->nwid == NM_MAX_CPUSETS / 2) {
			nm_seterr(err, "the job spans more than %d cpusets",
				  NM_MAX_CPUSETS / 2);
			return -1;
		}
		snprintf(m->wid[m->nwid].dir, sizeof(m->wid->dir), "%s", dir);
		if (cpuset_mems(dir, &m->wid[m->nwid].orig, err) < 0)
			return -1;
		m->nwid++;
	}
	m->nleaves = m->nwid;
	return 0;
}

/* Adds @add to one cpuset's nodes, when it lacks some. */
static int widen_one(const char *dir, const struct nm_bitmap *add, char *err)
{
	struct nm_bitmap cur, want;

	if (cpuset_mems(dir, &cur, err) < 0)
		return -1;
	want = cur;
	nm_bitmap_or(&want, add);
	if (nm_bitmap_equal(&cur, &want))
		return 0;
	return nm_cgroup_set_list(dir, "cpuset.mems", &want, err);
}

/*
 * Adds @add to a cpuset's memory nodes, and to its ancestors' first where
 * they have nodes of their own that lack them (recorded, to be narrowed
 * again afterwards).
 */
static int widen_dir(struct move *m, const char *dir,
		     const struct nm_bitmap *add, char *err)
{
	static const char root[] = "/sys/fs/cgroup/";
	char path[512];
	char *p;

	snprintf(path, sizeof(path), "%s", dir);
	/* Walk from the top: each prefix of @dir below the hierarchy root. */
	for (p = path + sizeof(root) - 1; (p = strchr(p, '/')); p++) {
		struct nm_bitmap cur, want;
		char tmp[NM_ERRLEN];

		*p = '\0';
		if (strchr(path + sizeof(root) - 1, '/') &&
		    access(path, F_OK) == 0 &&
		    nm_cgroup_get_list(path, "cpuset.mems", &cur, tmp) == 0 &&
		    !nm_bitmap_empty(&cur)) {
			want = cur;
			nm_bitmap_or(&want, add);
			if (!nm_bitmap_equal(&cur, &want)) {
				if (find_cpuset(m, path) < 0) {
					if (m->nwid == NM_MAX_CPUSETS) {
						nm_seterr(err, "too many "
							  "cpusets to widen");
						return -1;
					}
					snprintf(m->wid[m->nwid].dir,
						 sizeof(m->wid->dir), "%s",
						 path);
					m->wid[m->nwid].orig = cur;
					m->wid[m->nwid].ancestor = true;
					m->nwid++;
				}
				if (nm_cgroup_set_list(path, "cpuset.mems",
						       &want, err) < 0)
					return -1;
			}
		}
		*p = '/';
	}
	return widen_one(dir, add, err);
}

static int widen_mems(struct move *m, char *err)
{
	struct nm_bitmap add = m->req->target.new_nodes;

	/* Spare nodes the plan parks pages on must be allowed too. */
	for (int i = 0; i < m->plan->nsteps; i++)
		nm_bitmap_set(&add, (unsigned int)m->plan->steps[i].to);
	for (int n = 0; n < m->nleaves; n++) {
		struct nm_bitmap want = m->wid[n].orig;

		nm_bitmap_or(&want, &add);
		if (widen_dir(m, m->wid[n].dir, &want, err) < 0)
			return -1;
	}
	return 0;
}

/*
 * The order to shrink cpusets in: the job's own first, then the ancestors
 * from the deepest up (a v1 parent may not lose nodes a child still has).
 */
static int shrink_order(const struct move *m, int i)
{
	return i < m->nleaves ? i : m->nwid - 1 - (i - m->nleaves);
}

/* Puts back the nodes a cpuset had (a move that never started). */
static void restore_mems(struct move *m)
{
	char err[NM_ERRLEN];

	for (int i = 0; i < m->nwid; i++) {
		const struct widened *w = &m->wid[shrink_order(m, i)];

		if (nm_cgroup_set_list(w->dir, "cpuset.mems", &w->orig,
				       err) < 0)
			nm_log(LOG_WARNING, "move %lu: cannot restore %s/"
			       "cpuset.mems: %s", m->id, w->dir, err);
	}
}

/*
 * Each of the job's cpusets gets its nodes under the effective map, plus
 * where memory still is.  Widened ancestors keep old and new nodes: other
 * jobs below them may still use the old ones, and shrinking a v2 parent
 * would migrate their memory.
 */
static int narrow_mems(struct move *m, const struct nm_bitmap *holding,
		       json_t *errors)
{
	char err[NM_ERRLEN];
	int rc = 0;

	for (int i = 0; i < m->nleaves; i++) {
		const struct widened *w = &m->wid[i];
		struct nm_bitmap want;
		int os;

		nm_bitmap_zero(&want);
		nm_bitmap_foreach(os, &w->orig) {
			int idx = nm_topology_find(m->t, os);
			int to = idx >= 0 && m->eff_map[idx] >= 0 ?
				 m->t->nodes[m->eff_map[idx]].os : os;

			nm_bitmap_set(&want, (unsigned int)to);
		}
		nm_bitmap_or(&want, holding);
		if (nm_cgroup_set_list(w->dir, "cpuset.mems", &want,
				       err) < 0) {
			json_array_append_new(errors, json_pack("{s:s, s:s}",
				"cgroup", w->dir, "error", err));
			rc = -1;
		}
	}
	return rc;
}

/* Exited: no such process, or a zombie its parent has not reaped yet. */
static bool proc_gone(pid_t pid)
{
	struct nm_proc_info pi;
	char err[NM_ERRLEN];

	return nm_proc_info(pid, &pi, err) < 0 ? kill(pid, 0) < 0 &&
		errno == ESRCH : pi.state == 'Z' || pi.state == 'X';
}

/* ---- the engine ---------------------------------------------------------- */

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void engine_progress(void *arg, uint64_t done, uint64_t total)
{
	struct move *m = arg;
	struct timespec now;

	pthread_mutex_lock(&active_lock);
	active.done = done;
	active.total = total;
	pthread_mutex_unlock(&active_lock);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (done < total &&
	    (now.tv_sec - m->last_progress.tv_sec) * 1000 +
	    (now.tv_nsec - m->last_progress.tv_nsec) / 1000000 < 100)
		return;
	m->last_progress = now;
	if (m->req->progress)
		m->req->progress(m->req->progress_arg, done, total, "moving");
}

/*
 * Where CPUs go, given where memory went: a node follows the plan when at
 * most half of what it held is still stuck there, else its CPUs stay with
 * its memory.  Pages stuck on node n are those there beyond what the plan
 * sends to n.
 */
static void effective_map(struct move *m, const uint64_t *before,
			  const uint64_t *after)
{
	const struct nm_topology *t = m->t;
	uint64_t *expect = calloc((size_t)t->nnodes, sizeof(*expect));

	for (int n = 0; n < t->nnodes; n++) {
		m->eff_map[n] = m->plan->map[n];
		if (expect && m->plan->map[n] >= 0)
			expect[m->plan->map[n]] += before[n];
	}
	for (int n = 0; n < t->nnodes; n++) {
		uint64_t stuck;

		if (m->plan->map[n] < 0 || m->plan->map[n] == n)
			continue;
		if (!expect) {
			m->eff_map[n] = n;
			continue;
		}
		stuck = after[n] > expect[n] ? after[n] - expect[n] : 0;
		if (stuck * 2 > before[n])
			m->eff_map[n] = n;
	}
	free(expect);
}

/* The job's pages per node index: its memory, not files' page cache. */
static void pages_per_node(const struct move *m, uint64_t *out)
{
	memset(out, 0, (size_t)m->t->nnodes * sizeof(*out));
	for (int i = 0; i < m->npids; i++)
		for (size_t r = 0; r < m->scans[i].nruns; r++) {
			const struct nm_run *run = &m->scans[i].runs[r];
			int idx = nm_topology_find(m->t, run->node);

			if (idx >= 0 && !((run->flags & NM_RUN_FILE) &&
					  !(run->flags & NM_RUN_HUGETLB)))
				out[idx] += run->npages;
		}
}

/*
 * Processes that exited during the engine run: their pages went with
 * them.  Those pages are not the move's failures; they are counted apart
 * (pages_of_exited_tasks) and the processes listed in tasks_exited.
 */
static void drop_exited(struct move *m, json_t *gone)
{
	struct nm_engine_result *r = m->res;
	size_t k = 0;

	for (int i = 0; i < m->npids; i++) {
		uint64_t f = m->failed_per_pid[i];

		if (m->gone[i] || !proc_gone(m->pids[i]))
			continue;
		m->gone[i] = true;
		json_array_append_new(gone, json_integer(m->pids[i]));
		nm_log(LOG_NOTICE, "move %lu: process %d exited during the "
		       "move (%llu of its pages not moved)", m->id,
		       (int)m->pids[i], (unsigned long long)f);
		m->scans[i].nruns = 0;
		memset(m->scans[i].pages_per_node, 0,
		       sizeof(m->scans[i].pages_per_node));
		m->pages_exited += f;
		r->pages_failed -= f < r->pages_failed ? f : r->pages_failed;
		/* Mostly gone (ESRCH, EFAULT); any rest from the others. */
		for (int j = -1; f && j < NM_FAIL_KINDS; j++) {
			int kind = j < 0 ? NM_FAIL_GONE : j;
			uint64_t d = f < r->failed_by_kind[kind] ? f :
				     r->failed_by_kind[kind];

			r->failed_by_kind[kind] -= d;
			f -= d;
		}
	}
	/* The page-exact list keeps the pages of live processes. */
	for (size_t i = 0; i < r->nfails; i++) {
		bool dead = false;

		for (int j = 0; j < m->npids; j++)
			dead |= m->gone[j] && m->pids[j] == r->fails[i].pid;
		if (!dead)
			r->fails[k++] = r->fails[i];
	}
	r->nfails = k;
}

/* ---- the report ---------------------------------------------------------- */

static json_t *map_json(const struct nm_topology *t, const struct nm_job *job,
			const int *map)
{
	json_t *o = json_object();
	int n;

	nm_bitmap_foreach(n, &job->nodes) {
		char key[16];

		snprintf(key, sizeof(key), "%d", t->nodes[n].os);
		json_object_set_new(o, key, json_integer(
			map[n] >= 0 ? t->nodes[map[n]].os : t->nodes[n].os));
	}
	return o;
}

static json_t *report(struct move *m, json_t *gone, json_t *errors,
		      bool deadline)
{
	static const char *const kinds[NM_FAIL_KINDS] = {
		"busy", "nomem", "gone", "access", "other", "cancelled" };
	const struct nm_engine_result *r = m->res;
	double end = now_s();
	double frozen = m->frozen ? (m->thawed ? m->t_thaw : end) -
				    m->t_freeze : 0;
	json_t *o, *byk, *pages;

	o = json_pack("{s:I, s:i, s:I, s:I, s:I, s:f, s:f, s:f, s:s, s:i}",
		      "move_id", (json_int_t)m->id,
		      "processes", m->npids,
		      "pages_moved", (json_int_t)r->pages_moved,
		      "pages_failed", (json_int_t)r->pages_failed,
		      "bytes_moved", (json_int_t)r->bytes_moved,
		      "frozen_seconds", frozen,
		      "seconds", end - m->t_start,
		      "engine_seconds", r->seconds,
		      "engine", nm_engine_name(m->req->engine),
		      "threads", m->req->threads ? m->req->threads :
						   m->cfg->threads);
	if (!o)
		return NULL;
	json_object_set_new(o, "throughput_bytes_per_second", json_real(
		r->seconds > 0 ? (double)r->bytes_moved / r->seconds : 0));
	byk = json_object();
	for (int k = 0; k < NM_FAIL_KINDS; k++)
		json_object_set_new(byk, kinds[k],
				    json_integer((json_int_t)
						 r->failed_by_kind[k]));
	json_object_set_new(o, "failed_by_reason", byk);
	/* Which mechanism moved what (engine auto splits by memory kind). */
	json_object_set_new(o, "pages_by_engine", json_pack("{s:I, s:I}",
		"syscall", (json_int_t)r->pages_by_backend[NM_BY_SYSCALL],
		"kmod", (json_int_t)r->pages_by_backend[NM_BY_KMOD]));
	json_object_set_new(o, "pages_sent_by_engine", json_pack("{s:I, s:I}",
		"syscall", (json_int_t)r->pages_sent[NM_BY_SYSCALL],
		"kmod", (json_int_t)r->pages_sent[NM_BY_KMOD]));
	json_object_set_new(o, "kmod_loaded", json_boolean(m->kmod_open));
	if (m->kmod_why[0])
		json_object_set_new(o, "kmod_unused", json_string(m->kmod_why));
	json_object_set_new(o, "engine_cancelled", json_boolean(r->cancelled));
	json_object_set_new(o, "pages_attempted",
			    json_integer((json_int_t)r->pages_attempted));
	json_object_set_new(o, "pages_skipped_file",
			    json_integer((json_int_t)r->pages_skipped_file));
	json_object_set_new(o, "pages_of_exited_tasks",
			    json_integer((json_int_t)m->pages_exited));
	pages = json_array();
	for (size_t i = 0; i < r->nfails; i++) {
		char addr[32];

		snprintf(addr, sizeof(addr), "0x%lx",
			 (unsigned long)r->fails[i].addr);
		json_array_append_new(pages, json_pack(
			"{s:i, s:s, s:i, s:i, s:s}", "pid",
			(int)r->fails[i].pid, "addr", addr, "node",
			r->fails[i].node, "errno", r->fails[i].err,
			"error", strerror(r->fails[i].err)));
	}
	json_object_set_new(o, "failed_pages", pages);
	json_object_set_new(o, "failed_pages_listed_all",
			    json_boolean(r->nfails == r->pages_failed));
	json_object_set_new(o, "tasks_exited", gone);
	json_object_set_new(o, "errors", errors);
	json_object_set_new(o, "was_stopped", json_boolean(m->fz.was_frozen));
	json_object_set_new(o, "deadline_exceeded", json_boolean(deadline));
	json_object_set_new(o, "plan", nm_plan_to_json(m->plan, m->t, m->job));
	json_object_set_new(o, "cpu_map", map_json(m->t, m->job, m->eff_map));
	return o;
}

/* ---- the move ------------------------------------------------------------ */

static void move_free(struct move *m)
{
	if (m->scans)
		for (int i = 0; i < m->npids; i++)
			nm_scan_release(&m->scans[i]);
	free(m->scans);
	free(m->gone);
	free(m->wid);
	free(m->res);
	free(m->eff_map);
	free(m->failed_per_pid);
	nm_freeze_release(&m->fz);
	nm_plan_free(m->plan);
	nm_job_free(m->job);
	nm_topology_free(m->t);
	free(m->pids);
	if (m->kmod_open)
		nm_kmod_close(&m->kmod);
	pthread_mutex_destroy(&m->thaw_lock);
}

/* An OS-numbered explicit map as the planner's node-index map. */
static int *explicit_map(const struct nm_topology *t, const struct nm_job *job,
			 const int *os_map, char *err)
{
	int *map = malloc((size_t)t->nnodes * sizeof(*map));
	int n;

	if (!map) {
		nm_seterr(err, "out of memory");
		return NULL;
	}
	for (n = 0; n < t->nnodes; n++)
		map[n] = -1;
	nm_bitmap_foreach(n, &job->nodes) {
		int to = os_map[t->nodes[n].os];

		map[n] = to < 0 ? n : nm_topology_find(t, to);
		if (map[n] < 0) {
			nm_seterr(err, "map: node %d does not exist", to);
			free(map);
			return NULL;
		}
	}
	return map;
}

/* Everything up to the plan: no side effects. */
static enum nm_move_status prepare(struct move *m, char *err)
{
	const struct nm_config *cfg = m->cfg;
	const struct nm_move_req *req = m->req;
	uint64_t *free_bytes = NULL;
	enum nm_move_status st = NM_MOVE_BAD;

	if (nm_proc_descendants(req->pids, req->npids, &m->pids, &m->npids,
				err) < 0)
		return NM_MOVE_BAD;
	if (!req->privileged) {
		if (nm_authz_owns(req->caller, m->pids, m->npids, err) < 0 ||
		    nm_authz_nodes(m->pids, m->npids, &req->target.new_nodes,
				   err) < 0)
			return strstr(err, "permission denied") ?
			       NM_MOVE_DENIED : NM_MOVE_BAD;
	}
	m->t = nm_topology_load(cfg->test_topology[0] ? cfg->test_topology :
				NULL, err);
	if (!m->t)
		return NM_MOVE_FAILED;
	if (nm_target_check(&req->target, m->t, err) < 0)
		return NM_MOVE_BAD;
	m->job = nm_job_from_pids(m->pids, m->npids, m->t, err);
	if (!m->job)
		return NM_MOVE_BAD;
	nm_mpi_ranks_assign(m->job);
	free_bytes = calloc((size_t)m->t->nnodes, sizeof(*free_bytes));
	if (!free_bytes) {
		nm_seterr(err, "out of memory");
		return NM_MOVE_FAILED;
	}
	if (nm_plan_free_bytes(m->t, m->job, free_bytes, err) < 0 ||
	    (cfg->test_free[0] &&
	     nm_parse_free_overrides(cfg->test_free, m->t, free_bytes,
				     err) < 0))
		goto out;
	{
		struct nm_plan_options po = {
			.memory_only_targets = req->memory_only_targets,
		};
		int *imap = NULL;

		if (req->os_map) {
			imap = explicit_map(m->t, m->job, req->os_map, err);
			if (!imap)
				goto out;
			po.map = imap;
		}
		m->plan = nm_plan_compute(m->t, m->job, free_bytes,
					  &req->target, &po, err);
		free(imap);
	}
	if (!m->plan)
		goto out;
	if (!m->plan->feasible) {
		nm_seterr(err, "cannot move %s: %s", req->what,
			  m->plan->reason);
		st = NM_MOVE_REFUSED;
		goto out;
	}
	if (cfg->test_topology[0]) {
		nm_seterr(err, "[testing] topology is set: moves are planned, "
			  "never carried out");
		st = NM_MOVE_REFUSED;
		goto out;
	}
	st = NM_MOVE_OK;
out:
	free(free_bytes);
	return st;
}

/* Frozen: widen, scan, move, rebind, narrow.  Fills m->res. */
static enum nm_move_status carry_out(struct move *m, json_t *gone,
				     json_t *errors, char *err)
{
	const struct nm_move_req *req = m->req;
	struct nm_engine_opts eo = {
		.threads = req->threads ? req->threads : m->cfg->threads,
		.progress = engine_progress,
		.progress_arg = m,
		/* [testing]: a slow engine, so faults land mid-move anywhere */
		.batch_delay_ms = m->cfg->test_batch_delay_ms,
	};
	uint64_t *before = NULL, *after = NULL;
	struct nm_bitmap holding;
	enum nm_move_status st = NM_MOVE_FAILED;
	int live = 0;

	m->failed_per_pid = calloc((size_t)m->npids, sizeof(uint64_t));
	if (!m->failed_per_pid) {
		nm_seterr(err, "out of memory");
		return NM_MOVE_FAILED;
	}
	eo.failed_per_pid = m->failed_per_pid;

	if (m->cfg->test_delay_ms) {
		nm_log(LOG_DEBUG, "move %lu: [testing] delay of %d ms", m->id,
		       m->cfg->test_delay_ms);
		sleep_ms(m->cfg->test_delay_ms);
	}
	eo.cancel = &m->cancel;
	eo.kmod = m->kmod_open ? &m->kmod : NULL;
	eo.backend = !m->kmod_open ? NM_BACKEND_SYSCALL :
		     req->engine == NM_ENGINE_KMOD ? NM_BACKEND_KMOD :
						    NM_BACKEND_AUTO;
	set_phase("widening cpusets");
	if (collect_cpusets(m, err) < 0 || widen_mems(m, err) < 0) {
		restore_mems(m);
		return NM_MOVE_FAILED;	/* nothing moved yet */
	}
	set_phase("scanning");
	for (int i = 0; i < m->npids; i++) {
		char msg[NM_ERRLEN];

		if (nm_scan_process(m->pids[i], NM_SCAN_AUTO, &m->scans[i],
				    msg) == 0) {
			live++;
			continue;
		}
		if (!proc_gone(m->pids[i])) {
			nm_seterr(err, "scanning process %d: %s",
				  (int)m->pids[i], msg);
			restore_mems(m);
			return NM_MOVE_FAILED;
		}
		/* It exited: the rest of the job still moves. */
		memset(&m->scans[i], 0, sizeof(m->scans[i]));
		m->scans[i].pid = m->pids[i];
		m->gone[i] = true;
		json_array_append_new(gone, json_integer(m->pids[i]));
		nm_log(LOG_NOTICE, "move %lu: process %d exited before its "
		       "scan", m->id, (int)m->pids[i]);
	}
	if (!live) {
		nm_seterr(err, "every process of %s has exited", req->what);
		restore_mems(m);
		return NM_MOVE_FAILED;
	}
	before = calloc((size_t)m->t->nnodes, sizeof(*before));
	after = calloc((size_t)m->t->nnodes, sizeof(*after));
	if (!before || !after) {
		nm_seterr(err, "out of memory");
		restore_mems(m);
		goto out;
	}
	pages_per_node(m, before);
	set_phase("moving");
	clock_gettime(CLOCK_MONOTONIC, &m->last_progress);
	if (nm_engine_run(m->t, m->plan, m->pids, m->scans, m->npids, &eo,
			  m->res, err) < 0) {
		/* It could not run at all: nothing moved, CPUs stay. */
		for (int n = 0; n < m->t->nnodes; n++)
			m->eff_map[n] = n;
		restore_mems(m);
		goto out;
	}
	drop_exited(m, gone);
	pages_per_node(m, after);
	effective_map(m, before, after);
	set_phase("rebinding");
	for (int i = 0; i < m->npids; i++) {
		char msg[NM_ERRLEN];

		if (m->gone[i])
			continue;
		if (nm_rebind_process(m->t, m->eff_map, m->pids[i], msg) < 0) {
			if (proc_gone(m->pids[i])) {
				json_array_append_new(gone,
						      json_integer(m->pids[i]));
				continue;
			}
			json_array_append_new(errors, json_pack("{s:i, s:s}",
				"pid", (int)m->pids[i], "error", msg));
		}
	}
	nm_bitmap_zero(&holding);
	for (int n = 0; n < m->t->nnodes; n++)
		if (after[n])
			nm_bitmap_set(&holding, (unsigned int)m->t->nodes[n].os);
	set_phase("narrowing cpusets");
	narrow_mems(m, &holding, errors);
	if (m->res->pages_failed || json_array_size(errors)) {
		nm_seterr(err, "%llu pages not moved, %zu other errors",
			  (unsigned long long)m->res->pages_failed,
			  json_array_size(errors));
		goto out;
	}
	st = NM_MOVE_OK;
out:
	free(before);
	free(after);
	return st;
}

enum nm_move_status nm_migrate(const struct nm_config *cfg,
			       const struct nm_move_req *req, json_t **result,
			       char *err)
{
	struct nm_freeze intents[3];
	struct move m = { .cfg = cfg, .req = req };
	json_t *gone = NULL, *errors = NULL;
	enum nm_move_status st;
	bool deadline = false, wd = false;
	struct nm_watchdog dog;
	char msg[NM_ERRLEN];
	int nintents = 0;

	*result = NULL;
	m.t_start = now_s();
	pthread_mutex_init(&m.thaw_lock, NULL);
	m.kmod.fd = -1;
	if (req->engine != NM_ENGINE_SYSCALL) {
		char kerr[NM_KMOD_ERRLEN] = "";
		int krc = nm_kmod_open(&m.kmod, NULL, kerr);

		m.kmod_open = krc == 0;
		if (krc < 0 && req->engine == NM_ENGINE_KMOD) {
			if (krc == -ENOENT)
				nm_seterr(err, "engine kmod: kernel module not "
					  "loaded (no %s)", NM_KMOD_DEVICE);
			else
				nm_seterr(err, "engine kmod: %s", kerr);
			pthread_mutex_destroy(&m.thaw_lock);
			return NM_MOVE_REFUSED;
		}
		if (krc < 0)
			snprintf(m.kmod_why, sizeof(m.kmod_why), "%s", kerr);
	}
	if (pthread_mutex_trylock(&move_lock) != 0) {
		pthread_mutex_lock(&active_lock);
		nm_seterr(err, "busy: move %lu (%s) is in progress", active.id,
			  active.what);
		pthread_mutex_unlock(&active_lock);
		if (m.kmod_open)
			nm_kmod_close(&m.kmod);
		pthread_mutex_destroy(&m.thaw_lock);
		return NM_MOVE_REFUSED;
	}
	m.id = ++next_id;
	st = prepare(&m, err);
	if (st != NM_MOVE_OK) {
		nm_log(LOG_NOTICE, "move %lu: %s by uid %u: %s: %s", m.id,
		       req->what, (unsigned int)req->caller,
		       nm_move_status_code(st), err);
		goto out;
	}
	nm_log(LOG_INFO, "move %lu: %s (%d processes) by uid %u: plan moves "
	       "%llu bytes in %d steps", m.id, req->what, m.npids,
	       (unsigned int)req->caller,
	       (unsigned long long)m.plan->bytes_moved, m.plan->nsteps);

	pthread_mutex_lock(&active_lock);
	memset(&active, 0, sizeof(active));
	active.on = true;
	active.id = m.id;
	active.caller = req->caller;
	snprintf(active.what, sizeof(active.what), "%s", req->what);
	active.phase = "freezing";
	active.npids = m.npids;
	active.total = m.plan->bytes_moved;
	clock_gettime(CLOCK_MONOTONIC, &active.start);
	pthread_mutex_unlock(&active_lock);

	gone = json_array();
	errors = json_array();
	m.scans = calloc((size_t)m.npids, sizeof(*m.scans));
	m.gone = calloc((size_t)m.npids, sizeof(*m.gone));
	m.res = calloc(1, sizeof(*m.res));
	m.eff_map = calloc((size_t)m.t->nnodes, sizeof(*m.eff_map));
	if (!gone || !errors || !m.scans || !m.gone || !m.res || !m.eff_map) {
		nm_seterr(err, "out of memory");
		st = NM_MOVE_FAILED;
		goto out;
	}
	for (int n = 0; n < m.t->nnodes; n++)
		m.eff_map[n] = n;

	/* Journal first: a crash from here on is undone at restart. */
	if (freeze_intents(&m, intents, &nintents, err) < 0 ||
	    nm_journal_begin(&m.journal, cfg->journal_dir, m.id, intents,
			     nintents, err) < 0) {
		st = NM_MOVE_FAILED;
		goto out_intents;
	}
	m.journaled = true;
	if (req->progress)
		req->progress(req->progress_arg, 0, m.plan->bytes_moved,
			      "freezing");
	m.t_freeze = now_s();
	if (nm_freeze(m.pids, m.npids, cfg->freeze_timeout_ms, &m.fz,
		      msg) < 0) {
		nm_seterr(err, "cannot freeze %s: %s", req->what, msg);
		st = NM_MOVE_FAILED;
		goto out_intents;
	}
	m.frozen = true;
	if (nm_journal_frozen(&m.journal, &m.fz, err) < 0 ||
	    nm_watchdog_start(&dog, cfg->frozen_deadline_ms, watchdog_fire,
			      &m, err) < 0) {
		st = NM_MOVE_FAILED;
		goto out_thaw;
	}
	wd = true;
	st = carry_out(&m, gone, errors, err);

out_thaw:
	if (wd)
		deadline = nm_watchdog_stop(&dog);
	if (thaw_once(&m) < 0) {
		json_array_append_new(errors, json_pack("{s:s}", "thaw",
							m.thaw_err));
		nm_log(LOG_ERR, "move %lu: cannot thaw %s: %s (journal %s "
		       "kept)", m.id, req->what, m.thaw_err, m.journal.path);
		if (st == NM_MOVE_OK)
			nm_seterr(err, "cannot thaw: %s", m.thaw_err);
		st = NM_MOVE_FAILED;
		m.journaled = false;	/* keep it: a restart retries */
	}
	if (deadline) {
		/* The deadline is the cause: say it first. */
		if (m.res && m.res->cancelled)
			nm_seterr(err, "frozen longer than the %d s deadline: "
				  "thawed early, engine stopped with %llu "
				  "pages not moved", cfg->frozen_deadline_ms /
				  1000, (unsigned long long)
				  m.res->failed_by_kind[NM_FAIL_CANCELLED]);
		else
			nm_seterr(err, "frozen longer than the %d s deadline: "
				  "thawed early", cfg->frozen_deadline_ms /
				  1000);
		st = NM_MOVE_FAILED;
	}
out_intents:
	for (int i = 0; i < nintents; i++) {
		free(intents[i].pids);
		free(intents[i].starts);
	}
	if (m.journaled && nm_journal_finish(&m.journal, msg) < 0)
		nm_log(LOG_ERR, "move %lu: %s", m.id, msg);
	if (m.res) {
		*result = report(&m, gone, errors, deadline);
		gone = errors = NULL;
		nm_log(st == NM_MOVE_OK ? LOG_INFO : LOG_WARNING,
		       "move %lu: %s: %s: %llu pages moved, %llu not moved, "
		       "frozen %.3f s, %.3f s in all%s%s", m.id, req->what,
		       nm_move_status_code(st),
		       (unsigned long long)m.res->pages_moved,
		       (unsigned long long)m.res->pages_failed,
		       m.frozen ? (m.thawed ? m.t_thaw : now_s()) - m.t_freeze
				: 0.0, now_s() - m.t_start,
		       st == NM_MOVE_OK ? "" : ": ",
		       st == NM_MOVE_OK ? "" : err);
	}
	pthread_mutex_lock(&active_lock);
	active.on = false;
	pthread_mutex_unlock(&active_lock);
out:
	json_decref(gone);
	json_decref(errors);
	move_free(&m);
	pthread_mutex_unlock(&move_lock);
	return st;
}
