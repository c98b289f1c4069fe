/* SPDX-License-Identifier: MIT */
/* The engine's kernel-module backend: see engine_kmod.h. */
#include <errno.h>
#include <limits.h>
#include <numaif.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helper/engine/engine_kmod.h"
#include "helper/engine/kmod_client.h"
#include "lib/base/units.h"

#define UNKNOWN		INT_MIN
#define QUERY_CHUNK	1024u

/* A page range of the batch and where its statuses start. */
struct krange {
	uintptr_t start;
	uint32_t npages;
	size_t first;		/* index into the status array */
};

static int reason_errno(uint32_t reason)
{
	switch (reason) {
	case NM_KMOD_FAIL_BUSY:
		return EBUSY;
	case NM_KMOD_FAIL_NOMEM:
		return ENOMEM;
	case NM_KMOD_FAIL_MIGRATE:
		return EAGAIN;
	case NM_KMOD_FAIL_NOT_ANON:
		return EACCES;
	case NM_KMOD_FAIL_VMA:
		return EINVAL;
	case NM_KMOD_FAIL_INTR:
		return EINTR;
	default:
		return EIO;
	}
}

/* The range holding @addr (ranges ascending), or -1. */
static long find_range(const struct krange *r, size_t nr, uintptr_t addr)
{
	size_t lo = 0, hi = nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < r[mid].start)
			hi = mid;
		else if (addr >= r[mid].start +
			 (uintptr_t)r[mid].npages * nm_page_size())
			lo = mid + 1;
		else
			return (long)mid;
	}
	return -1;
}

/* Where the UNKNOWN pages of @r are: a move_pages(2) query, no move. */
static void query(pid_t pid, const struct krange *r, size_t nr, int *status,
		  int fallback)
{
	void *pages[QUERY_CHUNK];
	int st[QUERY_CHUNK];
	size_t idx[QUERY_CHUNK];
	size_t n = 0;

	for (size_t k = 0; k <= nr; k++) {
		for (uint32_t j = 0; k < nr && j < r[k].npages; j++) {
			if (status[r[k].first + j] != UNKNOWN)
				continue;
			pages[n] = (void *)(r[k].start +
					    (uintptr_t)j * nm_page_size());
			idx[n++] = r[k].first + j;
			if (n < QUERY_CHUNK)
				continue;
			if (move_pages(pid, n, pages, NULL, st, 0) < 0)
				for (size_t i = 0; i < n; i++)
					st[i] = -fallback;
			for (size_t i = 0; i < n; i++)
				status[idx[i]] = st[i];
			n = 0;
		}
		if (k == nr && n) {
			if (move_pages(pid, n, pages, NULL, st, 0) < 0)
				for (size_t i = 0; i < n; i++)
					st[i] = -fallback;
			for (size_t i = 0; i < n; i++)
				status[idx[i]] = st[i];
		}
	}
}

/* An ioctl that failed as a whole: ask where each page is. */
static void pass_failed(pid_t pid, int node, const struct krange *r,
			size_t nr, int *status, int rc)
{
	/* Counts are not page-exact now. */
	query(pid, r, nr, status, -rc);
	for (size_t k = 0; k < nr; k++)
		for (uint32_t j = 0; j < r[k].npages; j++) {
			int *s = &status[r[k].first + j];

			if (*s >= 0 && *s != node)
				*s = rc;
		}
}

/*
 * The module's outcome into @status: its failed pages, then the rest of
 * every range it moved whole (nothing skipped, every failure listed):
 * those need no look-up, they are on the node.  Any other page is looked
 * up.
 */
static void pass_done(pid_t pid, int node, const struct krange *r, size_t nr,
		      const struct nm_kmod_range *kr,
		      const struct nm_kmod_page_fail *fails, uint32_t nfails,
		      int *status)
{
	for (uint32_t f = 0; f < nfails; f++) {
		long k = find_range(r, nr, (uintptr_t)fails[f].addr);

		if (k >= 0)
			status[r[k].first + (fails[f].addr - r[k].start) /
			       nm_page_size()] = -reason_errno(fails[f].reason);
	}
	for (size_t k = 0; k < nr; k++) {
		uint64_t listed = 0;

		if (kr[k].skipped)
			continue;
		for (uint32_t j = 0; j < r[k].npages; j++)
			listed += status[r[k].first + j] != UNKNOWN;
		if (listed != kr[k].failed)
			continue;
		for (uint32_t j = 0; j < r[k].npages; j++)
			if (status[r[k].first + j] == UNKNOWN)
				status[r[k].first + j] = node;
	}
	query(pid, r, nr, status, EFAULT);
}

/* One ioctl over @r; fills the statuses of its pages. */
static int pass(struct nm_kmod_client *c, pid_t pid, int node,
		uint32_t threads, const struct krange *r, size_t nr,
		int *status)
{
	struct nm_kmod_move_opts o = {
		.node = node, .copy_mode = NM_KMOD_COPY_CPU,
		.threads = threads,
	};
	struct nm_kmod_range *kr = calloc(nr, sizeof(*kr));
	struct nm_kmod_page_fail *fails = NULL;
	struct nm_kmod_totals tot;
	char err[NM_KMOD_ERRLEN];
	uint64_t total = 0;
	uint32_t maxf;
	int rc;

	for (size_t k = 0; k < nr; k++)
		total += r[k].npages;
	maxf = total < c->ver.max_fails ? (uint32_t)total : c->ver.max_fails;
	fails = calloc(maxf ? maxf : 1, sizeof(*fails));
	if (!kr || !fails) {
		free(kr);
		free(fails);
		return -ENOMEM;
	}
	for (size_t k = 0; k < nr; k++) {
		kr[k].start = r[k].start;
		kr[k].length = (uint64_t)r[k].npages * nm_page_size();
		for (uint32_t j = 0; j < r[k].npages; j++)
			status[r[k].first + j] = UNKNOWN;
	}
	rc = nm_kmod_move(c, pid, kr, (uint32_t)nr, &o, fails, maxf, &tot,
			  err);
	if (rc < 0)
		pass_failed(pid, node, r, nr, status, rc);
	else
		pass_done(pid, node, r, nr, kr, fails, tot.nr_fails, status);
	free(kr);
	free(fails);
	return rc < 0 ? rc : 0;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

int nm_kmod_batch(struct nm_kmod_client *c, pid_t pid, int node,
		  uint32_t threads, int retries, const uintptr_t *start,
		  const uint32_t *npages, size_t nr, int *status)
{
	struct krange *r = calloc(nr ? nr : 1, sizeof(*r));
	struct krange *busy = NULL;
	size_t total = 0;
	int rc;

	if (!r)
		return -ENOMEM;
	for (size_t k = 0; k < nr; k++) {
		r[k] = (struct krange){ start[k], npages[k], total };
		total += npages[k];
	}
	rc = pass(c, pid, node, threads, r, nr, status);
	if (rc == -ENOMEM && total)
		for (size_t i = 0; i < total; i++)
			status[i] = -ENOMEM;
	/* Busy for a moment (LRU batches of other CPUs): again, later. */
	busy = rc == 0 ? calloc(total ? total : 1, sizeof(*busy)) : NULL;
	for (int round = 0; busy && round < retries; round++) {
		size_t nb = 0;

		for (size_t k = 0; k < nr; k++)
			for (uint32_t j = 0; j < r[k].npages; j++) {
				size_t i = r[k].first + j;
				struct krange *last = nb ? &busy[nb - 1] : NULL;

				if (status[i] != -EBUSY && status[i] != -EAGAIN)
					continue;
				if (last && last->first + last->npages == i &&
				    last->start + (uintptr_t)last->npages *
				    nm_page_size() == r[k].start +
				    (uintptr_t)j * nm_page_size()) {
					last->npages++;
					continue;
				}
				busy[nb++] = (struct krange){
					r[k].start +
					(uintptr_t)j * nm_page_size(), 1, i };
			}
		if (!nb)
			break;
		sleep_us(200L << round);
		if (pass(c, pid, node, threads, busy, nb, status) < 0)
			break;
	}
	free(busy);
	free(r);
	return rc;
}
