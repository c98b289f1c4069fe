/* SPDX-License-Identifier: MIT */
/*
 * The engine on this machine's single node: steps from a node to itself go
 * through the whole path (batches, workers, retries, scan updates) while
 * the kernel leaves the pages in place; unmapped pages are reported page by
 * page.  Cross-node moves: tests/vm/engine-xnode.test.
 */
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper/engine/engine.h"
#include "pidtest.h"
#include "lib/linux/scan.h"
#include "lib/base/units.h"

#define MIB (1ul << 20)
#define HUGE (2ul << 20)

struct child {
	pid_t pid;
	int up[2], down[2];
	uintptr_t k4, thp;
};

static uint64_t word(uintptr_t a)
{
	return a * 0x9E3779B97F4A7C15ull ^ 0x5555;
}

/* 8 MiB of 4K pages and 8 MiB of THP, filled with a checkable pattern. */
static void start_child(struct child *c)
{
	assert_int_equal(pipe(c->up), 0);
	assert_int_equal(pipe(c->down), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		uintptr_t a[2];
		char *k4 = mmap(NULL, 8 * MIB, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *raw = mmap(NULL, 8 * MIB + HUGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *thp = (char *)(((uintptr_t)raw + HUGE - 1) &
				     ~(HUGE - 1));
		char cmd;

		madvise(k4, 8 * MIB, MADV_NOHUGEPAGE);
		madvise(thp, 8 * MIB, MADV_HUGEPAGE);
		for (size_t o = 0; o < 8 * MIB; o += 8) {
			*(uint64_t *)(k4 + o) = word((uintptr_t)k4 + o);
			*(uint64_t *)(thp + o) = word((uintptr_t)thp + o);
		}
		a[0] = (uintptr_t)k4;
		a[1] = (uintptr_t)thp;
		if (write(c->up[1], a, sizeof(a)) != sizeof(a))
			_exit(1);
		while (read(c->down[0], &cmd, 1) == 1) {
			if (cmd == 'u')
				munmap(k4, MIB);
			if (cmd == 'v') {
				/* the first MiB may have been unmapped */
				for (size_t o = MIB; o < 8 * MIB; o += 8)
					if (*(uint64_t *)(k4 + o) !=
					    word((uintptr_t)k4 + o))
						_exit(3);
				for (size_t o = 0; o < 8 * MIB; o += 8)
					if (*(uint64_t *)(thp + o) !=
					    word((uintptr_t)thp + o))
						_exit(3);
				_exit(0);
			}
			if (write(c->up[1], "k", 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	{
		uintptr_t a[2];

		assert_int_equal(read(c->up[0], a, sizeof(a)), sizeof(a));
		c->k4 = a[0];
		c->thp = a[1];
	}
}

static void command(struct child *c, char cmd)
{
	char k;

	assert_int_equal(write(c->down[1], &cmd, 1), 1);
	assert_int_equal(read(c->up[0], &k, 1), 1);
}

/* The child checks its pattern and exits: 0 when intact. */
static int verify_child(struct child *c)
{
	int st;

	assert_int_equal(write(c->down[1], "v", 1), 1);
	assert_int_equal(waitpid(c->pid, &st, 0), c->pid);
	close(c->up[0]);
	close(c->up[1]);
	close(c->down[0]);
	close(c->down[1]);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static uint64_t scan_pages(const struct nm_scan *s)
{
	uint64_t n = 0;

	for (int i = 0; i < NM_MAX_NODES; i++)
		n += s->pages_per_node[i];
	return n;
}

/*
 * A plan that sends every node to itself, one step per node with pages;
 * its bytes are the job's memory, as the planner counts: no file's page
 * cache.
 */
static struct nm_plan *self_plan(const struct nm_topology *t,
				 const struct nm_scan *s)
{
	struct nm_plan *p = calloc(1, sizeof(*p));
	uint64_t files[NM_MAX_NODES] = { 0 };

	for (size_t i = 0; i < s->nruns; i++)
		if (s->runs[i].flags & NM_RUN_FILE)
			files[s->runs[i].node] += s->runs[i].npages;
	assert_non_null(p);
	p->feasible = true;
	p->nnodes = t->nnodes;
	p->map = calloc((size_t)t->nnodes, sizeof(int));
	p->steps = calloc((size_t)t->nnodes, sizeof(*p->steps));
	assert_non_null(p->map);
	assert_non_null(p->steps);
	for (int n = 0; n < t->nnodes; n++) {
		uint64_t pages = s->pages_per_node[t->nodes[n].os] -
				 files[t->nodes[n].os];

		p->map[n] = n;
		if (pages)
			p->steps[p->nsteps++] = (struct nm_step){
				t->nodes[n].os, t->nodes[n].os,
				pages * nm_page_size(), false };
	}
	return p;
}

static void free_plan(struct nm_plan *p)
{
	free(p->map);
	free(p->steps);
	free(p);
}

struct prog {
	int calls;
	uint64_t last, total;
	bool monotone;
};

static void on_progress(void *arg, uint64_t done, uint64_t total)
{
	struct prog *p = arg;

	if (done < p->last || done > total)
		p->monotone = false;
	p->last = done;
	p->total = total;
	p->calls++;
}

static struct nm_topology *live(void)
{
	char err[NM_ERRLEN] = "";
	struct nm_topology *t = nm_topology_load(NULL, err);

	if (!t)
		fail_msg("topology: %s", err);
	return t;
}

static void need_root(void)
{
	if (geteuid() != 0)
		skip();	/* MPOL_MF_MOVE_ALL needs CAP_SYS_NICE */
}

static void run_self_move(bool thp_subpages, int threads, uint32_t batch)
{
	struct nm_topology *t = live();
	struct child c;
	struct nm_scan s;
	struct nm_engine_result *res = calloc(1, sizeof(*res));
	struct prog pr = { .monotone = true };
	struct nm_engine_opts o = {
		.threads = threads, .batch_pages = batch,
		.progress = on_progress, .progress_arg = &pr,
		.thp_subpages = thp_subpages,
		/* workers pause after each batch: the coordinator reports
		 * progress between batches even on a loaded host */
		.batch_delay_ms = 10,
	};
	char err[NM_ERRLEN] = "";
	struct nm_plan *plan;
	uint64_t before;

	assert_non_null(res);
	start_child(&c);
	if (nm_scan_process(c.pid, NM_SCAN_AUTO, &s, err) < 0)
		fail_msg("scan: %s", err);
	before = scan_pages(&s);
	assert_true(before >= 4096);
	plan = self_plan(t, &s);
	if (nm_engine_run(t, plan, &c.pid, &s, 1, &o, res, err) < 0)
		fail_msg("engine: %s", err);
	assert_int_equal(res->pages_failed, 0);
	/* a file's page cache (the program, libc) is not the job's */
	assert_true(res->pages_skipped_file > 0);
	assert_int_equal(res->pages_attempted,
			 before - res->pages_skipped_file);
	/* the kernel confirmed every page on its destination */
	assert_int_equal(res->pages_moved, before - res->pages_skipped_file);
	assert_int_equal(res->bytes_moved,
			 (before - res->pages_skipped_file) * nm_page_size());
	assert_int_equal(res->pages_by_backend[NM_BY_SYSCALL],
			 res->pages_moved);
	assert_int_equal(res->pages_by_backend[NM_BY_KMOD], 0);
	assert_false(res->cancelled);
	/* skipped pages stay in the scan, where they were */
	assert_int_equal(scan_pages(&s), before);
	assert_true(pr.calls >= 2);
	assert_true(pr.monotone);
	assert_int_equal(pr.last, pr.total);
	assert_int_equal(res->first_error[0], 0);
	nm_scan_release(&s);
	free_plan(plan);
	free(res);
	assert_int_equal(verify_child(&c), 0);
	nm_topology_free(t);
}

static void test_self_move_default(void **state)
{
	(void)state;
	need_root();
	run_self_move(false, 0, 0);
}

static void test_self_move_small_batches(void **state)
{
	(void)state;
	need_root();
	run_self_move(false, 2, 64);
}

static void test_self_move_thp_subpages(void **state)
{
	(void)state;
	need_root();
	run_self_move(true, 1, 1024);
}

/* Pages unmapped between scan and move: reported exactly, dropped. */
static void test_unmapped_pages_reported(void **state)
{
	struct nm_topology *t = live();
	struct child c;
	struct nm_scan s;
	struct nm_engine_result *res = calloc(1, sizeof(*res));
	struct nm_engine_opts o = { .threads = 2, .batch_pages = 100 };
	char err[NM_ERRLEN] = "";
	struct nm_plan *plan;
	uint64_t before, seen = 0;

	(void)state;
	need_root();
	assert_non_null(res);
	start_child(&c);
	if (nm_scan_process(c.pid, NM_SCAN_AUTO, &s, err) < 0)
		fail_msg("scan: %s", err);
	before = scan_pages(&s);
	plan = self_plan(t, &s);
	command(&c, 'u');
	if (nm_engine_run(t, plan, &c.pid, &s, 1, &o, res, err) < 0)
		fail_msg("engine: %s", err);
	assert_int_equal(res->pages_failed, 256);
	assert_int_equal(res->failed_by_kind[NM_FAIL_GONE], 256);
	assert_int_equal(res->nfails, 256);
	for (size_t i = 0; i < res->nfails; i++) {
		const struct nm_failed_page *f = &res->fails[i];

		assert_int_equal(f->pid, c.pid);
		assert_true(f->addr >= c.k4 && f->addr < c.k4 + MIB);
		assert_true(f->err == EFAULT || f->err == ENOENT);
		seen |= 1ull << ((f->addr - c.k4) / nm_page_size() % 64);
	}
	assert_int_equal(seen, ~0ull);
	assert_int_equal(res->pages_moved,
			 before - 256 - res->pages_skipped_file);
	assert_int_equal(scan_pages(&s), before - 256);
	for (size_t i = 0; i < s.nruns; i++)
		assert_false(s.runs[i].start < c.k4 + MIB &&
			     s.runs[i].start +
			     s.runs[i].npages * nm_page_size() > c.k4);
	nm_scan_release(&s);
	free_plan(plan);
	free(res);
	assert_int_equal(verify_child(&c), 0);
	nm_topology_free(t);
}

/* A byte cap smaller than the pages on the node: the last step takes all. */
/*
 * Through handles (opts.procs): pages move while the pid names the
 * process verified; a handle whose process is gone (here pointed at the
 * live child's pid: what a recycled pid looks like) moves nothing there.
 */
static void test_handles(void **state)
{
	struct nm_topology *t = live();
	struct child c;
	struct nm_scan s;
	struct nm_engine_result *res = calloc(1, sizeof(*res));
	struct nm_pidref ref, stale;
	struct nm_engine_opts o = { .procs = &ref };
	char err[NM_ERRLEN] = "";
	struct nm_plan *plan;

	(void)state;
	need_root();
	start_child(&c);
	assert_int_equal(nm_pidref_open(&ref, c.pid, err), 0);
	if (nm_scan_process(c.pid, NM_SCAN_AUTO, &s, err) < 0)
		fail_msg("scan: %s", err);
	plan = self_plan(t, &s);
	if (nm_engine_run(t, plan, &c.pid, &s, 1, &o, res, err) < 0)
		fail_msg("engine: %s", err);
	assert_true(res->pages_moved > 0);
	assert_int_equal(res->pages_failed, 0);
	nm_scan_release(&s);
	free_plan(plan);

	stale = stale_ref(c.pid);
	o.procs = &stale;
	if (nm_scan_process(c.pid, NM_SCAN_AUTO, &s, err) < 0)
		fail_msg("scan: %s", err);
	plan = self_plan(t, &s);
	if (nm_engine_run(t, plan, &c.pid, &s, 1, &o, res, err) < 0)
		fail_msg("engine: %s", err);
	assert_int_equal(res->pages_moved, 0);
	assert_true(res->pages_failed > 0);
	assert_true(res->failed_by_kind[NM_FAIL_GONE] == res->pages_failed);
	assert_non_null(strstr(res->first_error, "No such process"));
	nm_scan_release(&s);
	free_plan(plan);
	nm_pidref_close(&stale);
	nm_pidref_close(&ref);
	free(res);
	assert_int_equal(verify_child(&c), 0);
	nm_topology_free(t);
}

static void test_step_caps(void **state)
{
	struct nm_topology *t = live();
	struct child c;
	struct nm_scan s;
	struct nm_engine_result *res = calloc(1, sizeof(*res));
	char err[NM_ERRLEN] = "";
	struct nm_plan *plan;
	uint64_t before;
	int os;

	(void)state;
	need_root();
	start_child(&c);
	if (nm_scan_process(c.pid, NM_SCAN_AUTO, &s, err) < 0)
		fail_msg("scan: %s", err);
	before = scan_pages(&s);
	plan = self_plan(t, &s);
	assert_int_equal(plan->nsteps, 1);
	os = plan->steps[0].from;
	free(plan->steps);
	plan->steps = calloc(2, sizeof(*plan->steps));
	plan->steps[0] = (struct nm_step){ os, os, MIB, false };
	plan->steps[1] = (struct nm_step){ os, os, MIB, false };
	plan->nsteps = 2;
	if (nm_engine_run(t, plan, &c.pid, &s, 1, NULL, res, err) < 0)
		fail_msg("engine: %s", err);
	/* step 1 takes 1 MiB (+ at most one THP), step 2 the rest again */
	before -= res->pages_skipped_file;
	assert_true(res->pages_attempted >= before + 256);
	assert_true(res->pages_attempted <= before + 256 + 512);
	assert_int_equal(res->pages_failed, 0);
	nm_scan_release(&s);
	free_plan(plan);
	free(res);
	assert_int_equal(verify_child(&c), 0);
	nm_topology_free(t);
}

/* move_file_pages: the page cache goes too, when asked. */
static void test_file_pages_on_request(void **state)
{
	struct nm_topology *t = live();
	struct child c;
	struct nm_scan s;
	struct nm_engine_result *res = calloc(1, sizeof(*res));
	struct nm_engine_opts o = { .move_file_pages = true };
	char err[NM_ERRLEN] = "";
	struct nm_plan *plan;
	uint64_t before, files = 0;

	(void)state;
	need_root();
	start_child(&c);
	if (nm_scan_process(c.pid, NM_SCAN_AUTO, &s, err) < 0)
		fail_msg("scan: %s", err);
	before = scan_pages(&s);
	for (size_t i = 0; i < s.nruns; i++)
		if (s.runs[i].flags & NM_RUN_FILE)
			files += s.runs[i].npages;
	assert_true(files > 0);
	plan = self_plan(t, &s);
	if (nm_engine_run(t, plan, &c.pid, &s, 1, &o, res, err) < 0)
		fail_msg("engine: %s", err);
	assert_int_equal(res->pages_skipped_file, 0);
	assert_int_equal(res->pages_attempted, before);
	nm_scan_release(&s);
	free_plan(plan);
	free(res);
	assert_int_equal(verify_child(&c), 0);
	nm_topology_free(t);
}

/* Cancels after the first batch: nothing more is tried, all reported. */
static volatile int cancel_flag;

static void cancel_on_progress(void *arg, uint64_t done, uint64_t total)
{
	(void)arg;
	(void)done;
	(void)total;
	cancel_flag = 1;
}

static void test_cancel(void **state)
{
	struct nm_topology *t = live();
	struct child c;
	struct nm_scan s;
	struct nm_engine_result *res = calloc(1, sizeof(*res));
	struct nm_engine_opts o = {
		.threads = 1, .batch_pages = 64, .cancel = &cancel_flag,
		.progress = cancel_on_progress,
	};
	char err[NM_ERRLEN] = "";
	struct nm_plan *plan;
	uint64_t before, mine;

	(void)state;
	need_root();
	start_child(&c);
	if (nm_scan_process(c.pid, NM_SCAN_AUTO, &s, err) < 0)
		fail_msg("scan: %s", err);
	before = scan_pages(&s);
	plan = self_plan(t, &s);
	/* Set before the run: nothing at all is tried. */
	cancel_flag = 1;
	if (nm_engine_run(t, plan, &c.pid, &s, 1, &o, res, err) < 0)
		fail_msg("engine: %s", err);
	mine = before - res->pages_skipped_file;
	assert_true(res->cancelled);
	assert_int_equal(res->pages_attempted, 0);
	assert_int_equal(res->pages_moved, 0);
	/*
	 * Every page is already on its destination on a one-node machine,
	 * so none counts as failed here; the guest tests (a watchdog that
	 * cancels a cross-node move) see NM_FAIL_CANCELLED pages.
	 */
	assert_int_equal(res->failed_by_kind[NM_FAIL_CANCELLED],
			 res->pages_failed);
	assert_int_equal(scan_pages(&s), before);
	/*
	 * Set by the first progress call: one batch (64 pages) at most.  The
	 * waiting thread makes that call once woken; the worker pauses after
	 * each batch so that a busy machine, slow to wake it, does not let
	 * the worker finish every batch first.
	 */
	cancel_flag = 0;
	o.batch_delay_ms = 300;
	nm_scan_release(&s);
	if (nm_scan_process(c.pid, NM_SCAN_AUTO, &s, err) < 0)
		fail_msg("scan: %s", err);
	if (nm_engine_run(t, plan, &c.pid, &s, 1, &o, res, err) < 0)
		fail_msg("engine: %s", err);
	assert_true(res->cancelled);
	/* the batch that saw it, maybe one more claimed meanwhile */
	assert_true(res->pages_attempted > 0);
	assert_true(res->pages_attempted < mine);
	assert_true(res->pages_moved > 0 && res->pages_moved < mine);
	assert_int_equal(res->failed_by_kind[NM_FAIL_CANCELLED],
			 res->pages_failed);
	nm_scan_release(&s);
	free_plan(plan);
	free(res);
	assert_int_equal(verify_child(&c), 0);
	nm_topology_free(t);
}

/* The module backend without an open module is a usage error. */
static void test_kmod_needs_client(void **state)
{
	struct nm_topology *t = live();
	struct nm_scan s = { .pid = getpid() };
	struct nm_engine_result *res = calloc(1, sizeof(*res));
	struct nm_engine_opts o = { .backend = NM_BACKEND_KMOD };
	char err[NM_ERRLEN] = "";
	struct nm_plan *plan = self_plan(t, &s);
	pid_t me = getpid();

	(void)state;
	assert_int_equal(nm_engine_run(t, plan, &me, &s, 1, &o, res, err), -1);
	assert_non_null(strstr(err, "/dev/numamigrate"));
	o.backend = (enum nm_engine_backend)7;
	assert_int_equal(nm_engine_run(t, plan, &me, &s, 1, &o, res, err), -1);
	assert_non_null(strstr(err, "backend"));
	free_plan(plan);
	free(res);
	nm_topology_free(t);
}

static void test_bad_input(void **state)
{
	struct nm_topology *t = live();
	struct nm_scan s = { .pid = getpid() };
	struct nm_engine_result *res = calloc(1, sizeof(*res));
	struct nm_engine_opts o = { .threads = 1000 };
	char err[NM_ERRLEN] = "";
	struct nm_plan *plan = self_plan(t, &s);
	pid_t me = getpid(), other = me + 1;

	(void)state;
	plan->steps[0] = (struct nm_step){ t->nodes[0].os, 1000,
					   nm_page_size(), false };
	plan->nsteps = 1;
	assert_int_equal(nm_engine_run(t, plan, &me, &s, 1, NULL, res, err),
			 -1);
	assert_non_null(strstr(err, "lacks"));
	plan->nsteps = 0;
	assert_int_equal(nm_engine_run(t, plan, &me, &s, 1, &o, res, err), -1);
	assert_non_null(strstr(err, "options"));
	assert_int_equal(nm_engine_run(t, plan, &other, &s, 1, NULL, res,
				       err), -1);
	assert_non_null(strstr(err, "scan 0"));
	plan->feasible = false;
	snprintf(plan->reason, sizeof(plan->reason), "no room");
	assert_int_equal(nm_engine_run(t, plan, &me, &s, 1, NULL, res, err),
			 -1);
	assert_non_null(strstr(err, "not feasible"));
	plan->feasible = true;
	plan->map[0] = 99;
	assert_int_equal(nm_engine_run(t, plan, &me, &s, 1, NULL, res, err),
			 -1);
	assert_int_equal(nm_engine_run(t, plan, &me, &s, 0, NULL, res, err),
			 -1);
	free_plan(plan);
	free(res);
	nm_topology_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self_move_default),
		cmocka_unit_test(test_self_move_small_batches),
		cmocka_unit_test(test_self_move_thp_subpages),
		cmocka_unit_test(test_unmapped_pages_reported),
		cmocka_unit_test(test_step_caps),
		cmocka_unit_test(test_handles),
		cmocka_unit_test(test_file_pages_on_request),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_kmod_needs_client),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
