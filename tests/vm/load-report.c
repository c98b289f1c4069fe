/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/vm/load-report.h"

static const char *const kind_names[LOAD_KINDS] = {
	"move", "register", "status", "unregister",
};

const char *load_kind_name(enum load_kind k)
{
	return kind_names[k];
}

int load_add(struct load_stats *st, enum load_kind k, double seconds)
{
	struct load_samples *s = &st->lat[k];

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		double *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = seconds;
	return 0;
}

int load_add_move(struct load_stats *st, const struct load_move *m)
{
	if (st->nmoves == st->moves_cap) {
		size_t cap = st->moves_cap ? 2 * st->moves_cap : 32;
		struct load_move *v = realloc(st->moves, cap * sizeof(*v));

		if (!v)
			return -1;
		st->moves = v;
		st->moves_cap = cap;
	}
	st->moves[st->nmoves++] = *m;
	return 0;
}

void load_error(struct load_stats *st, const char *fmt, ...)
{
	va_list ap;

	if (st->nerrors < LOAD_KEPT_ERRORS) {
		va_start(ap, fmt);
		if (vasprintf(&st->errors[st->nerrors], fmt, ap) < 0)
			st->errors[st->nerrors] = NULL;
		va_end(ap);
	}
	st->nerrors++;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double load_pct(struct load_samples *s, double p)
{
	double at = p / 100.0 * (double)(s->n - 1);
	size_t k = (size_t)at;
	double frac = at - (double)k;

	qsort(s->v, s->n, sizeof(*s->v), cmp_double);
	/* Python's round(): halves go to the even neighbour. */
	if (frac > 0.5 || (frac == 0.5 && (k & 1)))
		k++;
	return s->v[k < s->n ? k : s->n - 1];
}

static double max_of(const struct load_samples *s)
{
	double m = s->v[0];

	for (size_t i = 1; i < s->n; i++)
		if (s->v[i] > m)
			m = s->v[i];
	return m;
}

/* The requests by kind and their latency percentiles. */
static void print_requests(struct load_stats *st)
{
	size_t total = 0;
	const char *sep = "";

	for (int k = 0; k < LOAD_KINDS; k++)
		total += st->lat[k].n;
	printf("load: requests %zu (", total);
	for (int k = 0; k < LOAD_KINDS; k++)
		if (st->lat[k].n) {
			printf("%s%s %zu", sep, kind_names[k], st->lat[k].n);
			sep = ", ";
		}
	printf(")\n");
	for (int k = 0; k < LOAD_KINDS; k++) {
		struct load_samples *s = &st->lat[k];

		if (!s->n)
			continue;
		printf("load: %-10s latency p50 %.3f s, p90 %.3f s, p99 %.3f s, "
		       "max %.3f s\n", kind_names[k], load_pct(s, 50),
		       load_pct(s, 90), load_pct(s, 99), max_of(s));
	}
}

/*
 * The moves done and refused, and the queue waits of those done; the
 * waits that count as waiting in @waited.
 */
static void print_moves(const struct load_stats *st, size_t *done,
			size_t *waited, bool *empty_done)
{
	struct load_samples waits = { 0 };
	size_t refused = 0;
	double bytes = 0;

	*done = *waited = 0;
	*empty_done = false;
	waits.v = malloc((st->nmoves + 1) * sizeof(double));
	for (size_t i = 0; i < st->nmoves; i++) {
		const struct load_move *m = &st->moves[i];

		if (!m->ok) {
			refused++;
			continue;
		}
		++*done;
		bytes += (double)m->bytes_moved;
		*empty_done |= m->bytes_moved <= 0;
		if (m->waited_known && waits.v) {
			waits.v[waits.n++] = m->queue_seconds;
			*waited += m->queue_seconds > 0.01;
		}
	}
	printf("load: moves %zu done (%.1f MiB moved), %zu refused, of %zu "
	       "asked\n", *done, bytes / (1 << 20), refused, st->nmoves);
	if (waits.n)
		printf("load: queue waits: %zu of %zu moves waited; p50 %.3f s, "
		       "p90 %.3f s, max %.3f s\n", *waited, waits.n,
		       load_pct(&waits, 50), load_pct(&waits, 90),
		       max_of(&waits));
	free(waits.v);
}

/* Each refused move and its reason; the failures (no reason given). */
static int print_refused(const struct load_stats *st)
{
	int bad = 0;

	for (size_t i = 0; i < st->nmoves; i++) {
		const struct load_move *m = &st->moves[i];

		if (m->ok)
			continue;
		printf("load: job %lld to %d refused: %s\n", m->job, m->to,
		       m->reason);
		if (!m->reason[0]) {
			printf("FAIL: a move refused without a reason\n");
			bad++;
		}
	}
	return bad;
}

/* The status latencies against the limit; the failures. */
static int check_status(struct load_stats *st)
{
	const struct load_samples *s = &st->lat[LOAD_STATUS];
	size_t slow = 0;

	if (!s->n) {
		printf("FAIL: no status answered\n");
		return 1;
	}
	for (size_t i = 0; i < s->n; i++)
		slow += s->v[i] >= LOAD_STATUS_LIMIT;
	if (!slow)
		return 0;
	printf("FAIL: %zu status requests took %.0f s or more (max %.3f s)\n",
	       slow, LOAD_STATUS_LIMIT, max_of(s));
	return 1;
}

/* Every job asked for its moves got a reply to each. */
static bool every_move_replied(const struct load_stats *st,
			       int moves_per_job)
{
	size_t jobs = 0;

	for (size_t i = 0; i < st->nmoves; i++) {
		size_t j = 0;

		while (j < i && st->moves[j].job != st->moves[i].job)
			j++;
		jobs += j == i;
	}
	return st->nmoves == (size_t)moves_per_job * jobs;
}

int load_report(struct load_stats *st, int clients, int moves_per_job,
		double wall, double cpu)
{
	size_t done, waited;
	bool empty_done;
	int bad = 0;

	printf("load: %d clients in 1 process, %.1f s, the clients' CPU "
	       "%.1f s\n", clients, wall, cpu);
	print_requests(st);
	print_moves(st, &done, &waited, &empty_done);
	printf("load: seen in status: at most %d moves running at once, %d "
	       "waiting, position %d\n", st->max_running, st->max_waiting,
	       st->max_position);
	bad += print_refused(st);
	bad += check_status(st);
	for (size_t i = 0; i < st->nerrors && i < LOAD_KEPT_ERRORS; i++)
		printf("FAIL: %s\n", st->errors[i] ? st->errors[i] :
		       "(out of memory for its text)");
	bad += (int)st->nerrors;
	if (!every_move_replied(st, moves_per_job)) {
		printf("FAIL: a move got no reply\n");
		bad++;
	}
	if (!done || empty_done) {
		printf("FAIL: a move done moved nothing, or none was done\n");
		bad++;
	}
	if (st->max_running < 2) {
		printf("FAIL: never two moves at once (disjoint nodes run "
		       "together)\n");
		bad++;
	}
	if (!waited) {
		printf("FAIL: no move waited in the queue (overlapping ones "
		       "must)\n");
		bad++;
	}
	return bad;
}

void load_stats_free(struct load_stats *st)
{
	for (int k = 0; k < LOAD_KINDS; k++)
		free(st->lat[k].v);
	for (size_t i = 0; i < st->nerrors && i < LOAD_KEPT_ERRORS; i++)
		free(st->errors[i]);
	free(st->moves);
	memset(st, 0, sizeof(*st));
}
