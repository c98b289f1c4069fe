/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <numaif.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helper/engine/engine.h"
#include "helper/engine/engine_kmod.h"
#include "helper/engine/kmod_client.h"
#include "lib/base/clock.h"
#include "lib/base/limits.h"
#include "lib/base/units.h"
#include "lib/linux/pidref.h"


/*
 * Default pages per move_pages(2) call.  Measured in a 2-node QEMU guest
 * (TCG, 1 vCPU per node, 6.1 kernel; tests/bench/nm-bench-engine
 * --batch-sweep --reps 2), 256 MiB of 4 KiB pages node 0 -> 1, 1 worker,
 * MB/s of two runs (TCG: only the ratios mean anything):
 *   batch   64: 192 223   128: 221 244   256: 251 233   512: 250 245
 *         1024: 267 236  2048: 267 258  4096: 279 259
 *   migratepages(8) in the same runs: 220 250
 * Below ~256 pages the per-call cost (mmap lock, LRU drain, TLB flush)
 * shows; from 256 up the curve is flat within the noise.  1024 keeps the
 * progress callback and the workers' load balance fine-grained (4 MiB).
 *
 * THP: one address per folio, not its 512 subpages: 528 vs 166 MB/s (and
 * 153 vs 115 cold) in the same guest; the kernel isolates the folio for
 * the first subpage, finds it busy for the second (a spurious -EBUSY) and
 * then walks 510 page tables for nothing.
 */
#define DEFAULT_BATCH	1024u
#define MAX_BATCH	65536u
#define DEFAULT_RETRIES	3
#define DEFAULT_MAX_THREADS 8

struct piece {
	uintptr_t start;
	uint32_t npages;
	int16_t cur;		/* OS node the page is on now */
	int16_t bound;		/* OS node it is bound for */
	uint16_t flags;		/* NM_RUN_* */
	bool gone;		/* unmapped: dropped from the scan */
	bool skip;		/* not the job's memory: never moved */
	uint8_t by;		/* NM_BY_*: the mechanism that moves it */
	int scan;
	int err;		/* last errno from the kernel, 0: none */
};

/* The outcome of a stretch of one piece in a batch. */
struct sub {
	size_t piece;
	uint32_t off, n;
	int node;		/* >= 0: where it is; < 0: -errno */
	uint8_t by;		/* NM_BY_*: the mechanism that had it last */
};

struct batch {
	size_t lo, hi;		/* into the step's work list */
	struct sub *subs;
	size_t nsubs, cap;
	int call_err;		/* whole-call errno, 0 if none */
	bool kmod;		/* a batch for the kernel module */
};

struct engine {
	const struct nm_topology *t;
	const struct nm_engine_opts *opts;
	const pid_t *pids;
	struct piece *pieces;
	size_t npieces, cap;
	uint32_t batch_pages;
	int retries;
	bool thp_subpages;

	/* the step being run */
	int to;
	size_t *work;
	size_t nwork, wcap;
	struct batch *batches;
	size_t nbatches;
	size_t next;		/* next batch to claim */
	size_t done;
	uint64_t bytes_done;	/* over the whole run */
	uint64_t attempted;
	uint64_t sent[NM_BY_KINDS];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool nomem;
	bool cancelled;		/* opts->cancel was seen */
};

/* The module takes address ranges: a THP in them is not one entry. */
static bool is_large(const struct engine *e, const struct piece *p)
{
	return !e->thp_subpages && p->by == NM_BY_SYSCALL &&
	       (p->flags & (NM_RUN_THP | NM_RUN_HUGETLB));
}

static bool cancel_requested(const struct engine *e)
{
	return e->opts && e->opts->cancel && *e->opts->cancel;
}

/* Addresses the kernel gets for @p: one for a whole folio. */
static uint32_t entries(const struct engine *e, const struct piece *p)
{
	return is_large(e, p) ? 1 : p->npages;
}

static int add_piece(struct engine *e, const struct piece *p)
{
	if (e->npieces == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 1024;
		struct piece *n = realloc(e->pieces, cap * sizeof(*n));

		if (!n)
			return -1;
		e->pieces = n;
		e->cap = cap;
	}
	e->pieces[e->npieces++] = *p;
	return 0;
}

/* Splits piece @i after @n pages; the rest becomes a new piece. */
static int split_piece(struct engine *e, size_t i, uint32_t n)
{
	struct piece rest = e->pieces[i];

	rest.start += (uintptr_t)n * nm_page_size();
	rest.npages -= n;
	if (add_piece(e, &rest) < 0)
		return -1;
	e->pieces[i].npages = n;
	return 0;
}

static int add_sub(struct batch *b, size_t piece, uint32_t off, uint32_t n,
		   int node, uint8_t by)
{
	struct sub *last = b->nsubs ? &b->subs[b->nsubs - 1] : NULL;

	if (last && last->piece == piece && last->node == node &&
	    last->by == by && last->off + last->n == off) {
		last->n += n;
		return 0;
	}
	if (b->nsubs == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct sub *s = realloc(b->subs, cap * sizeof(*s));

		if (!s)
			return -1;
		b->subs = s;
		b->cap = cap;
	}
	b->subs[b->nsubs++] = (struct sub){ piece, off, n, node, by };
	return 0;
}

struct worker_buf {
	uintptr_t *rstart;	/* kmod: one range per piece */
	uint32_t *rlen;
	void **pages;
	int *nodes, *status;
	size_t *piece;		/* per entry */
	uint32_t *off;		/* per entry: page offset in the piece */
	void **rpages;		/* retry subset */
	int *rnodes, *rstatus;
	uint32_t *ridx;
	uint8_t *via;		/* per entry: NM_BY_* */
};

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/*
 * Whether the pid about to be handed to the kernel still names the process
 * the caller verified (opts->procs): checked right before each call that
 * takes only a pid, so pages of a process that took the pid over are never
 * moved.  True without handles (a caller with bare pids).
 */
static bool still_same(const struct nm_pidref *ref)
{
	return !ref || nm_pidref_alive(ref);
}

/*
 * Pages the module cannot move (a PTE-mapped THP or one it cannot split,
 * still busy after its retries; not anonymous; a VMA it cannot handle) go
 * to move_pages(2), which can: engine kmod means the module first, not
 * pages left behind.  Returns how many were handed over.
 */
static uint64_t kmod_fallback(struct engine *e, pid_t pid,
			      const struct nm_pidref *ref, size_t n,
			      struct worker_buf *w)
{
	unsigned long m = 0;

	for (size_t i = 0; i < n; i++) {
		int st = w->status[i];

		if (st != -EBUSY && st != -EAGAIN && st != -EACCES &&
		    st != -EINVAL)
			continue;
		w->rpages[m] = w->pages[i];
		w->rnodes[m] = e->to;
		w->rstatus[m] = -EINPROGRESS;
		w->ridx[m++] = (uint32_t)i;
	}
	if (m && !still_same(ref))
		return 0;	/* gone: nothing handed over */
	if (!m || move_pages(pid, m, w->rpages, w->rnodes, w->rstatus,
			     MPOL_MF_MOVE_ALL) < 0)
		return m;
	for (unsigned long i = 0; i < m; i++) {
		w->via[w->ridx[i]] = NM_BY_SYSCALL;
		if (w->rstatus[i] != -EINPROGRESS)
			w->status[w->ridx[i]] = w->rstatus[i];
	}
	return m;
}

/*
 * The batch's pages as per-page arrays (one entry per folio of a large
 * piece), and its ranges for the module.  Returns the entries; @nr gets
 * the ranges, @att the base pages.
 */
static size_t fill_batch(const struct engine *e, const struct batch *b,
			 struct worker_buf *w, size_t *nr, uint64_t *att)
{
	size_t n = 0;

	*nr = 0;
	*att = 0;
	for (size_t k = b->lo; k < b->hi; k++) {
		size_t pi = e->work[k];
		const struct piece *p = &e->pieces[pi];
		uint32_t ne = entries(e, p);

		if (b->kmod) {
			w->rstart[*nr] = p->start;
			w->rlen[(*nr)++] = p->npages;
		}
		for (uint32_t j = 0; j < ne; j++, n++) {
			w->pages[n] = (void *)(p->start +
					       (uintptr_t)j * nm_page_size());
			w->nodes[n] = e->to;
			w->status[n] = -EINPROGRESS;
			w->piece[n] = pi;
			w->off[n] = j;
		}
		*att += p->npages;
	}
	return n;
}

/*
 * The first try: one ioctl of ranges (statuses per page, as move_pages's)
 * or one move_pages(2) call.  Returns < 0 when busy pages are not to be
 * retried; @fallback gets the pages the module left to move_pages(2).
 */
static long submit_batch(struct engine *e, struct batch *b, pid_t pid,
			 const struct nm_pidref *ref, size_t n, size_t nr,
			 struct worker_buf *w, uint64_t *fallback)
{
	long r;

	*fallback = 0;
	if (!still_same(ref)) {
		/* Gone: its pages went with it (NM_FAIL_GONE). */
		memset(w->via, b->kmod ? NM_BY_KMOD : NM_BY_SYSCALL, n);
		b->call_err = ESRCH;
		for (size_t i = 0; i < n; i++)
			w->status[i] = -ESRCH;
		return -1;
	}
	if (b->kmod) {
		uint32_t threads = nm_kmod_threads(e->opts->kmod,
						   e->opts->threads);

		b->call_err = -nm_kmod_batch(e->opts->kmod, pid, e->to, threads,
					     e->retries, w->rstart, w->rlen, nr,
					     w->status);
		memset(w->via, NM_BY_KMOD, n);
		if (!b->call_err)
			*fallback = kmod_fallback(e, pid, ref, n, w);
		/* The fallback's busy pages get the retries. */
		return *fallback ? 0 : -1;
	}
	memset(w->via, NM_BY_SYSCALL, n);
	r = move_pages(pid, (unsigned long)n, w->pages, w->nodes, w->status,
		       MPOL_MF_MOVE_ALL);
	if (r < 0) {
		b->call_err = errno;
		for (size_t i = 0; i < n; i++)
			w->status[i] = -b->call_err;
	}
	return r;
}

/*
 * Pages busy for a moment (locked, under writeback): again, later.  So is
 * a page read as not present (-ENOENT): a page in flight is a migration
 * entry, not a page -- automatic NUMA balancing moves a page a process
 * outside the move shares (a forked parent) even while the job is frozen.
 * A page really gone stays so and is reported as such.
 */
static void retry_busy(const struct engine *e, pid_t pid,
		       const struct nm_pidref *ref, size_t n,
		       struct worker_buf *w)
{
	for (int round = 0; round < e->retries; round++) {
		unsigned long m = 0;

		for (size_t i = 0; i < n; i++)
			if (w->status[i] == -EBUSY || w->status[i] == -EAGAIN ||
			    w->status[i] == -ENOENT) {
				w->rpages[m] = w->pages[i];
				w->rnodes[m] = e->to;
				w->rstatus[m] = -EINPROGRESS;
				w->ridx[m++] = (uint32_t)i;
			}
		if (!m)
			break;
		sleep_us(200L << round);
		if (!still_same(ref) ||
		    move_pages(pid, m, w->rpages, w->rnodes, w->rstatus,
			       MPOL_MF_MOVE_ALL) < 0)
			break;	/* keep the first round's statuses */
		for (unsigned long i = 0; i < m; i++) {
			w->status[w->ridx[i]] = w->rstatus[i];
			w->via[w->ridx[i]] = NM_BY_SYSCALL;
		}
	}
}

/* Each page's outcome into the batch; its totals into the engine's. */
static void account_batch(struct engine *e, struct batch *b,
			  const struct worker_buf *w, size_t n, uint64_t att,
			  uint64_t fallback)
{
	uint64_t ok_bytes = 0;

	for (size_t i = 0; i < n; i++) {
		const struct piece *p = &e->pieces[w->piece[i]];
		uint32_t cnt = is_large(e, p) ? p->npages : 1;
		int st = w->status[i];

		/* Not reached by the kernel: nothing happened to it. */
		if (st == -EINPROGRESS)
			st = p->cur;
		if (st == e->to)
			ok_bytes += (uint64_t)cnt * nm_page_size();
		if (add_sub(b, w->piece[i], w->off[i], cnt, st,
			    w->via[i]) < 0) {
			pthread_mutex_lock(&e->lock);
			e->nomem = true;
			pthread_mutex_unlock(&e->lock);
			break;
		}
	}
	pthread_mutex_lock(&e->lock);
	e->bytes_done += ok_bytes;
	e->attempted += att;
	e->sent[b->kmod ? NM_BY_KMOD : NM_BY_SYSCALL] += att;
	e->sent[NM_BY_SYSCALL] += fallback;
	e->done++;
	pthread_cond_signal(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

static void run_batch(struct engine *e, struct batch *b, struct worker_buf *w)
{
	size_t scan = e->pieces[e->work[b->lo]].scan;
	pid_t pid = e->pids[scan];
	const struct nm_pidref *ref = e->opts && e->opts->procs ?
				      &e->opts->procs[scan] : NULL;
	uint64_t att, fallback;
	size_t nr, n = fill_batch(e, b, w, &nr, &att);

	if (submit_batch(e, b, pid, ref, n, nr, w, &fallback) >= 0)
		retry_busy(e, pid, ref, n, w);
	account_batch(e, b, w, n, att, fallback);
}

/* A worker's buffers, for batches of up to @cap pages; false: no memory. */
static bool worker_buf_alloc(struct worker_buf *w, size_t cap)
{
	*w = (struct worker_buf){
		.rstart = malloc(cap * sizeof(uintptr_t)),
		.rlen = malloc(cap * sizeof(uint32_t)),
		.pages = malloc(cap * sizeof(void *)),
		.nodes = malloc(cap * sizeof(int)),
		.status = malloc(cap * sizeof(int)),
		.piece = malloc(cap * sizeof(size_t)),
		.off = malloc(cap * sizeof(uint32_t)),
		.rpages = malloc(cap * sizeof(void *)),
		.rnodes = malloc(cap * sizeof(int)),
		.rstatus = malloc(cap * sizeof(int)),
		.ridx = malloc(cap * sizeof(uint32_t)),
		.via = malloc(cap),
	};
	return w->rstart && w->rlen && w->pages && w->nodes && w->status &&
	       w->piece && w->off && w->rpages && w->rnodes && w->rstatus &&
	       w->ridx && w->via;
}

static void worker_buf_free(struct worker_buf *w)
{
	free(w->rstart);
	free(w->rlen);
	free(w->pages);
	free(w->nodes);
	free(w->status);
	free(w->piece);
	free(w->off);
	free(w->rpages);
	free(w->rnodes);
	free(w->rstatus);
	free(w->ridx);
	free(w->via);
}

/*
 * The next batch to run, -1 when there is none or the step stops (out of
 * memory, cancelled): then unclaimed batches count as done so the wait
 * ends.
 */
static long claim_batch(struct engine *e, bool ok)
{
	long b = -1;

	pthread_mutex_lock(&e->lock);
	if (!ok)
		e->nomem = true;
	if (cancel_requested(e))
		e->cancelled = true;
	if (e->nomem || e->cancelled) {
		e->done += e->nbatches - e->next;
		e->next = e->nbatches;
		pthread_cond_signal(&e->cond);
	} else if (e->next < e->nbatches) {
		b = (long)e->next++;
	}
	pthread_mutex_unlock(&e->lock);
	return b;
}

static void *worker(void *arg)
{
	struct engine *e = arg;
	struct worker_buf w;
	bool ok = worker_buf_alloc(&w, e->batch_pages);
	long b;

	while ((b = claim_batch(e, ok)) >= 0) {
		run_batch(e, &e->batches[b], &w);
		if (e->opts && e->opts->batch_delay_ms > 0) {
			struct timespec ts = {
				e->opts->batch_delay_ms / 1000,
				(long)(e->opts->batch_delay_ms % 1000) * 1000000
			};

			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
	}
	worker_buf_free(&w);
	return NULL;
}

/* CPUs for the workers of a step to @to: its own, else the nearest's. */
static void pin_cpus(const struct nm_topology *t, int to_idx,
		     struct nm_bitmap *cpus)
{
	int best = -1;

	if (!nm_bitmap_empty(&t->nodes[to_idx].cpus)) {
		*cpus = t->nodes[to_idx].cpus;
		return;
	}
	for (int n = 0; n < t->nnodes; n++)
		if (!nm_bitmap_empty(&t->nodes[n].cpus) &&
		    (best < 0 || nm_topology_dist(t, to_idx, n) <
				 nm_topology_dist(t, to_idx, best)))
			best = n;
	nm_bitmap_zero(cpus);
	if (best >= 0)
		*cpus = t->nodes[best].cpus;
}

/* qsort_r, not a global: the daemon may run several engines at once. */
static int cmp_work(const void *a, const void *b, void *ctx)
{
	const struct piece *pcs = ctx;
	const struct piece *x = &pcs[*(const size_t *)a];
	const struct piece *y = &pcs[*(const size_t *)b];

	if (x->scan != y->scan)
		return x->scan < y->scan ? -1 : 1;
	if (x->by != y->by)
		return x->by < y->by ? -1 : 1;
	return (x->start > y->start) - (x->start < y->start);
}

static bool last_of_pair(const struct nm_plan *plan, int k)
{
	const struct nm_step *s = &plan->steps[k];

	for (int j = k + 1; j < plan->nsteps; j++)
		if (!plan->steps[j].parked && plan->steps[j].from == s->from &&
		    plan->steps[j].to == s->to)
			return false;
	return true;
}

static int push_work(struct engine *e, size_t i)
{
	if (e->nwork == e->wcap) {
		size_t cap = e->wcap ? e->wcap * 2 : 1024;
		size_t *w = realloc(e->work, cap * sizeof(*w));

		if (!w)
			return -1;
		e->work = w;
		e->wcap = cap;
	}
	e->work[e->nwork++] = i;
	return 0;
}

/* Picks the step's pages; splits pieces at the byte cap and batch size. */
static int select_work(struct engine *e, const struct nm_step *s, bool all)
{
	uint64_t page = nm_page_size();
	uint64_t budget = (s->bytes + page - 1) / page, taken = 0;
	size_t n0 = e->npieces, nsel;

	e->nwork = 0;
	for (size_t i = 0; i < n0 && (all || taken < budget); i++) {
		const struct piece *p = &e->pieces[i];
		bool match = !p->gone && !p->skip && p->cur == s->from &&
			     (s->parked ? p->bound != s->to &&
					  p->bound != s->from :
					  p->bound == s->to);

		if (!match)
			continue;
		/* The rest of a piece cut at the cap waits for a later step. */
		if (!all && !is_large(e, p) && taken + p->npages > budget &&
		    split_piece(e, i, (uint32_t)(budget - taken)) < 0)
			return -1;
		taken += e->pieces[i].npages;
		if (push_work(e, i) < 0)
			return -1;
	}
	/* No piece larger than a batch: batches never cut pieces. */
	nsel = e->nwork;
	for (size_t k = 0; k < nsel; k++) {
		size_t i = e->work[k];

		while (!is_large(e, &e->pieces[i]) &&
		       e->pieces[i].npages > e->batch_pages) {
			if (split_piece(e, i, e->batch_pages) < 0 ||
			    push_work(e, e->npieces - 1) < 0)
				return -1;
			i = e->npieces - 1;
		}
	}
	qsort_r(e->work, e->nwork, sizeof(*e->work), cmp_work, e->pieces);
	return 0;
}

static int make_batches(struct engine *e)
{
	size_t k = 0;

	free(e->batches);
	e->batches = calloc(e->nwork ? e->nwork : 1, sizeof(*e->batches));
	if (!e->batches)
		return -1;
	e->nbatches = 0;
	while (k < e->nwork) {
		struct batch *b = &e->batches[e->nbatches++];
		int scan = e->pieces[e->work[k]].scan;
		uint8_t by = e->pieces[e->work[k]].by;
		uint32_t n = 0;

		b->lo = k;
		b->kmod = by == NM_BY_KMOD;
		while (k < e->nwork && e->pieces[e->work[k]].scan == scan &&
		       e->pieces[e->work[k]].by == by &&
		       n + entries(e, &e->pieces[e->work[k]]) <=
		       e->batch_pages)
			n += entries(e, &e->pieces[e->work[k++]]);
		b->hi = k;
	}
	return 0;
}

/* Folds the workers' outcomes into the pieces. */
static int apply_results(struct engine *e, struct nm_engine_result *res)
{
	for (size_t bi = 0; bi < e->nbatches; bi++) {
		struct batch *b = &e->batches[bi];

		if (b->call_err && !res->first_error[0]) {
			const struct piece *p = &e->pieces[e->work[b->lo]];

			nm_seterr(res->first_error, "%s(pid %d, to "
				  "node %d): %s%s", b->kmod ?
				  "NM_KMOD_IOC_MOVE" : "move_pages",
				  (int)e->pids[p->scan],
				  e->to, strerror(b->call_err),
				  b->call_err == EACCES ? " (node outside "
				  "the process's cpuset.mems)" : "");
		}
		/*
		 * Subs of one piece come in offset order; walking backwards,
		 * the tails become new pieces copied from the untouched
		 * piece, and the head (offset 0) updates it last.
		 */
		for (size_t i = b->nsubs; i-- > 0;) {
			const struct sub *s = &b->subs[i];
			struct piece np = e->pieces[s->piece];

			np.start += (uintptr_t)s->off * nm_page_size();
			np.npages = s->n;
			np.gone = false;
			np.err = 0;
			if (s->node >= 0) {
				if (s->node == e->to) {
					res->pages_moved += s->n;
					res->pages_by_backend[s->by] += s->n;
				}
				np.cur = (int16_t)s->node;
			} else {
				np.err = -s->node;
				np.gone = np.err == ENOENT ||
					  np.err == EFAULT || np.err == ESRCH;
			}
			if (s->off == 0)
				e->pieces[s->piece] = np;
			else if (add_piece(e, &np) < 0)
				return -1;
		}
		free(b->subs);
		b->subs = NULL;
	}
	return 0;
}

static enum nm_page_fail fail_kind(int err)
{
	switch (err) {
	case EBUSY:
	case EAGAIN:
		return NM_FAIL_BUSY;
	case ENOMEM:
		return NM_FAIL_NOMEM;
	case EFAULT:
	case ENOENT:
	case ESRCH:
		return NM_FAIL_GONE;
	case EACCES:
	case EPERM:
		return NM_FAIL_ACCESS;
	default:
		return NM_FAIL_OTHER;
	}
}

static int cmp_piece(const void *a, const void *b)
{
	const struct piece *x = a, *y = b;

	if (x->scan != y->scan)
		return x->scan < y->scan ? -1 : 1;
	return (x->start > y->start) - (x->start < y->start);
}

/* Rewrites the scans from the pieces: where the pages are now. */
static int rebuild_scans(struct engine *e, struct nm_scan *scans, int npids)
{
	qsort(e->pieces, e->npieces, sizeof(*e->pieces), cmp_piece);
	for (int i = 0; i < npids; i++) {
		scans[i].nruns = 0;
		memset(scans[i].pages_per_node, 0,
		       sizeof(scans[i].pages_per_node));
	}
	for (size_t i = 0; i < e->npieces; i++) {
		const struct piece *p = &e->pieces[i];
		struct nm_scan *s = &scans[p->scan];
		struct nm_run *last = s->nruns ? &s->runs[s->nruns - 1] : NULL;

		if (p->gone)
			continue;
		s->pages_per_node[p->cur] += p->npages;
		/* Large runs stay one folio each. */
		if (last && !(p->flags & (NM_RUN_THP | NM_RUN_HUGETLB)) &&
		    last->flags == p->flags && last->node == p->cur &&
		    last->start + (uintptr_t)last->npages * nm_page_size() ==
		    p->start && (uint64_t)last->npages + p->npages <=
		    UINT32_MAX) {
			last->npages += p->npages;
			continue;
		}
		if (s->nruns == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 64;
			struct nm_run *r = realloc(s->runs, cap * sizeof(*r));

			if (!r)
				return -1;
			s->runs = r;
			s->cap = cap;
		}
		s->runs[s->nruns++] = (struct nm_run){
			.start = p->start, .npages = p->npages,
			.node = p->cur, .flags = p->flags,
		};
	}
	return 0;
}

static void report_failures(struct engine *e, struct nm_engine_result *res)
{
	for (size_t i = 0; i < e->npieces; i++) {
		const struct piece *p = &e->pieces[i];
		enum nm_page_fail kind;

		if (!p->gone && p->cur == p->bound)
			continue;
		kind = p->err ? fail_kind(p->err) :
		       e->cancelled ? NM_FAIL_CANCELLED : NM_FAIL_OTHER;
		res->pages_failed += p->npages;
		res->failed_by_kind[kind] += p->npages;
		if (e->opts && e->opts->failed_per_pid)
			e->opts->failed_per_pid[p->scan] += p->npages;
		for (uint32_t j = 0; j < p->npages &&
		     res->nfails < NM_ENGINE_MAX_FAILS; j++)
			res->fails[res->nfails++] = (struct nm_failed_page){
				.pid = e->pids[p->scan],
				.addr = p->start +
					(uintptr_t)j * nm_page_size(),
				.node = p->cur,
				.err = p->err,
			};
	}
}

/* The mechanism for a run of pages with @flags (NM_RUN_*). */
static uint8_t piece_backend(const struct nm_engine_opts *o, uint16_t flags)
{
	if (!o || !o->kmod || o->backend == NM_BACKEND_SYSCALL)
		return NM_BY_SYSCALL;
	/* The module moves anonymous pages only. */
	if (flags & (NM_RUN_FILE | NM_RUN_SHMEM | NM_RUN_HUGETLB))
		return NM_BY_SYSCALL;
	/*
	 * Auto: its migrate_vma path splits a THP into base pages (6.1),
	 * and a page shared by several processes moves for all of them:
	 * move_pages(2) keeps the folio whole and is the kernel's own.
	 */
	if (o->backend == NM_BACKEND_AUTO &&
	    (flags & (NM_RUN_THP | NM_RUN_SHARED)))
		return NM_BY_SYSCALL;
	return NM_BY_KMOD;
}

int nm_engine_check_opts(const struct nm_engine_opts *o, char *err)
{
	if (o && (o->backend < NM_BACKEND_SYSCALL ||
		  o->backend > NM_BACKEND_AUTO)) {
		nm_seterr(err, "engine: unknown backend %d", (int)o->backend);
		return -1;
	}
	if (o && (o->threads < 0 || o->threads > NM_MAX_THREADS ||
		  o->batch_pages > MAX_BATCH || o->retries < 0 ||
		  o->retries > 100)) {
		nm_seterr(err, "engine: options out of range (threads 0-%d, "
			  "batch 0-%u pages, retries 0-100)", NM_MAX_THREADS,
			  MAX_BATCH);
		return -1;
	}
	return 0;
}

static int check_args(const struct nm_topology *t, const struct nm_plan *plan,
		      const pid_t *pids, const struct nm_scan *scans,
		      int npids, const struct nm_engine_opts *o, char *err)
{
	if (!t || !plan || !pids || !scans || npids <= 0) {
		nm_seterr(err, "engine: nothing to move (no plan or no "
			  "processes)");
		return -1;
	}
	if (!plan->feasible) {
		nm_seterr(err, "engine: the plan is not feasible: %s",
			  plan->reason);
		return -1;
	}
	if (plan->nnodes != t->nnodes || !plan->map ||
	    (plan->nsteps && !plan->steps) || plan->nsteps < 0) {
		nm_seterr(err, "engine: the plan does not fit this topology "
			  "(%d nodes, topology has %d)", plan->nnodes,
			  t->nnodes);
		return -1;
	}
	for (int n = 0; n < t->nnodes; n++)
		if (plan->map[n] < -1 || plan->map[n] >= t->nnodes) {
			nm_seterr(err, "engine: plan maps node %d to index %d",
				  t->nodes[n].os, plan->map[n]);
			return -1;
		}
	for (int k = 0; k < plan->nsteps; k++) {
		const struct nm_step *s = &plan->steps[k];

		if (nm_topology_find(t, s->from) < 0 ||
		    nm_topology_find(t, s->to) < 0) {
			nm_seterr(err, "engine: step %d moves node %d to node "
				  "%d, which this machine lacks", k + 1,
				  s->from, s->to);
			return -1;
		}
	}
	for (int i = 0; i < npids; i++)
		if (pids[i] <= 0 || scans[i].pid != pids[i]) {
			nm_seterr(err, "engine: scan %d is of pid %d, not of "
				  "pid %d", i, (int)scans[i].pid,
				  (int)pids[i]);
			return -1;
		}
	return nm_engine_check_opts(o, err);
}

/* A step's workers' CPUs: the destination's, as far as ours allow. */
static int worker_cpus(const struct nm_topology *t, int to_idx,
		       struct nm_bitmap *cpus)
{
	size_t setsize = CPU_ALLOC_SIZE(NM_BITMAP_BITS);
	cpu_set_t *set = CPU_ALLOC(NM_BITMAP_BITS);
	struct nm_bitmap mine;
	int cpu;

	if (!set)
		return -1;
	pin_cpus(t, to_idx, cpus);
	CPU_ZERO_S(setsize, set);
	nm_bitmap_zero(&mine);
	if (sched_getaffinity(0, setsize, set) == 0)
		for (cpu = 0; cpu < NM_BITMAP_BITS; cpu++)
			if (CPU_ISSET_S((size_t)cpu, setsize, set))
				nm_bitmap_set(&mine, (unsigned int)cpu);
	nm_bitmap_and(cpus, &mine);
	CPU_FREE(set);
	return 0;
}

/* As many as asked, else one per CPU (at most a few); never idle ones. */
static int worker_count(const struct engine *e, const struct nm_bitmap *cpus)
{
	int n = e->opts && e->opts->threads ? e->opts->threads :
		(int)nm_bitmap_weight(cpus);

	if (!e->opts || !e->opts->threads) {
		if (n > DEFAULT_MAX_THREADS)
			n = DEFAULT_MAX_THREADS;
		if (n < 1)
			n = 1;
	}
	if ((size_t)n > e->nbatches)
		n = (int)e->nbatches;
	return n;
}

/*
 * Starts up to @n workers pinned to @cpus (unpinned when they cannot be,
 * counted in res->steps_unpinned).  Returns how many started, -1 when out
 * of memory.
 */
static int start_workers(struct engine *e, const struct nm_bitmap *cpus,
			 pthread_t *tids, int n, struct nm_engine_result *res)
{
	size_t setsize = CPU_ALLOC_SIZE(NM_BITMAP_BITS);
	cpu_set_t *set = CPU_ALLOC(NM_BITMAP_BITS);
	pthread_attr_t attr;
	bool pinned = false;
	int started = 0, cpu;

	if (!set)
		return -1;
	pthread_attr_init(&attr);
	if (!nm_bitmap_empty(cpus)) {
		CPU_ZERO_S(setsize, set);
		nm_bitmap_foreach(cpu, cpus)
			CPU_SET_S((size_t)cpu, setsize, set);
		pinned = pthread_attr_setaffinity_np(&attr, setsize, set) == 0;
	}
	if (!pinned)
		res->steps_unpinned++;
	e->next = e->done = 0;
	e->nomem = false;
	for (int i = 0; i < n; i++) {
		int r = pthread_create(&tids[started], pinned ? &attr : NULL,
				       worker, e);

		if (r == EINVAL && pinned) {
			/* Our cpuset changed under us: run unpinned. */
			pinned = false;
			res->steps_unpinned++;
			r = pthread_create(&tids[started], NULL, worker, e);
		}
		if (r != 0)
			break;
		started++;
	}
	pthread_attr_destroy(&attr);
	CPU_FREE(set);
	return started;
}

/* Until every batch is done, telling progress as they finish. */
static void wait_batches(struct engine *e, uint64_t total)
{
	pthread_mutex_lock(&e->lock);
	while (e->done < e->nbatches) {
		pthread_cond_wait(&e->cond, &e->lock);
		if (e->opts && e->opts->progress) {
			uint64_t d = e->bytes_done < total ? e->bytes_done :
							     total;

			pthread_mutex_unlock(&e->lock);
			e->opts->progress(e->opts->progress_arg, d, total);
			pthread_mutex_lock(&e->lock);
		}
	}
	pthread_mutex_unlock(&e->lock);
}

static int run_step(struct engine *e, const struct nm_plan *plan, int k,
		    uint64_t total, struct nm_engine_result *res, char *err)
{
	const struct nm_step *s = &plan->steps[k];
	struct nm_bitmap cpus;
	pthread_t *tids;
	int n, started;

	e->to = s->to;
	if (cancel_requested(e)) {
		e->cancelled = true;
		return 0;
	}
	if (select_work(e, s, !s->parked && last_of_pair(plan, k)) < 0)
		goto nomem;
	if (!e->nwork)
		return 0;
	if (make_batches(e) < 0 ||
	    worker_cpus(e->t, nm_topology_find(e->t, s->to), &cpus) < 0)
		goto nomem;
	n = worker_count(e, &cpus);
	tids = calloc((size_t)n, sizeof(*tids));
	if (!tids)
		goto nomem;
	started = start_workers(e, &cpus, tids, n, res);
	if (started <= 0) {
		free(tids);
		if (started < 0)
			goto nomem;
		nm_seterr(err, "engine: cannot start worker threads");
		return -1;
	}
	wait_batches(e, total);
	for (int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	if (e->nomem || apply_results(e, res) < 0)
		goto nomem;
	return 0;
nomem:
	nm_seterr(err, "engine: out of memory");
	return -1;
}

/*
 * Every scanned run as a piece bound for plan->map[its node]; a file's
 * page cache stays (counted in pages_skipped_file) unless asked to move.
 */
static int add_scans(struct engine *e, const struct nm_plan *plan,
		     const struct nm_scan *scans, int npids,
		     struct nm_engine_result *res)
{
	const struct nm_engine_opts *opts = e->opts;

	for (int i = 0; i < npids; i++) {
		for (size_t r = 0; r < scans[i].nruns; r++) {
			const struct nm_run *run = &scans[i].runs[r];
			int idx = nm_topology_find(e->t, run->node);
			int dst = idx >= 0 ? plan->map[idx] : -1;
			struct piece p = {
				.start = run->start, .npages = run->npages,
				.cur = run->node, .flags = run->flags,
				.scan = i,
				.bound = dst >= 0 ?
					 (int16_t)e->t->nodes[dst].os :
					 run->node,
				.by = piece_backend(opts, run->flags),
			};

			/* A file's page cache is everybody's: it stays. */
			if ((run->flags & NM_RUN_FILE) &&
			    !(run->flags & NM_RUN_HUGETLB) &&
			    !(opts && opts->move_file_pages)) {
				p.skip = true;
				p.bound = p.cur;
				res->pages_skipped_file += run->npages;
			}
			if (add_piece(e, &p) < 0)
				return -1;
		}
	}
	return 0;
}

int nm_engine_run(const struct nm_topology *t, const struct nm_plan *plan,
		  const pid_t *pids, struct nm_scan *scans, int npids,
		  const struct nm_engine_opts *opts,
		  struct nm_engine_result *res, char *err)
{
	struct engine e = { .t = t, .opts = opts, .pids = pids };
	double t0 = nm_now_seconds();
	uint64_t total = 0;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (check_args(t, plan, pids, scans, npids, opts, err) < 0)
		return -1;
	e.batch_pages = opts && opts->batch_pages ? opts->batch_pages :
			DEFAULT_BATCH;
	e.retries = opts && opts->retries ? opts->retries : DEFAULT_RETRIES;
	e.thp_subpages = opts && opts->thp_subpages;
	if (opts && opts->failed_per_pid)
		memset(opts->failed_per_pid, 0,
		       (size_t)npids * sizeof(*opts->failed_per_pid));
	if (opts && opts->backend != NM_BACKEND_SYSCALL && !opts->kmod) {
		nm_seterr(err, "engine: the kernel-module backend needs an "
			  "open /dev/numamigrate");
		return -1;
	}
	for (int k = 0; k < plan->nsteps; k++)
		total += plan->steps[k].bytes;
	if (add_scans(&e, plan, scans, npids, res) < 0) {
		free(e.pieces);
		nm_seterr(err, "engine: out of memory");
		return -1;
	}
	pthread_mutex_init(&e.lock, NULL);
	pthread_cond_init(&e.cond, NULL);
	rc = 0;
	for (int k = 0; rc == 0 && !e.cancelled && k < plan->nsteps; k++)
		rc = run_step(&e, plan, k, total, res, err);
	res->cancelled = e.cancelled;
	pthread_cond_destroy(&e.cond);
	pthread_mutex_destroy(&e.lock);
	if (rc == 0) {
		report_failures(&e, res);
		if (rebuild_scans(&e, scans, npids) < 0) {
			nm_seterr(err, "engine: out of memory");
			rc = -1;
		}
	}
	res->bytes_moved = res->pages_moved * nm_page_size();
	res->pages_attempted = e.attempted;
	memcpy(res->pages_sent, e.sent, sizeof(res->pages_sent));
	res->seconds = nm_now_seconds() - t0;
	free(e.work);
	free(e.batches);
	free(e.pieces);
	return rc;
}
