/* SPDX-License-Identifier: MIT */
#ifndef NM_LOAD_REPORT_H
#define NM_LOAD_REPORT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * What tests/vm/nm-load-clients saw: latencies per kind of request,
 * failed requests, the moves' outcomes and the most the status replies
 * showed at once; then the "load:" figures and the checks (FAIL lines).
 */
#define LOAD_STATUS_LIMIT 1.0	/* seconds: a status as slow fails */
#define LOAD_KEPT_ERRORS 20	/* failures printed; all are counted */

enum load_kind { LOAD_MOVE, LOAD_REGISTER, LOAD_STATUS, LOAD_UNREGISTER,
		 LOAD_KINDS };	/* in the report's order */

struct load_samples {
	double *v;
	size_t n, cap;
};

struct load_move {
	long long job;
	int to;
	bool ok;
	char reason[200];	/* a refused move's error, "" when none */
	bool waited_known;	/* queue_seconds in the reply */
	double queue_seconds;
	long long bytes_moved;
};

struct load_stats {
	struct load_samples lat[LOAD_KINDS];
	char *errors[LOAD_KEPT_ERRORS];
	size_t nerrors;		/* all, kept or not */
	struct load_move *moves;
	size_t nmoves, moves_cap;
	int max_running, max_waiting, max_position;
};

const char *load_kind_name(enum load_kind k);
/* 0, or -1 when out of memory (a failure of the run itself). */
int load_add(struct load_stats *st, enum load_kind k, double seconds);
int load_add_move(struct load_stats *st, const struct load_move *m);
void load_error(struct load_stats *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The p-th percentile as the Python driver took it (round half even). */
double load_pct(struct load_samples *s, double p);

/*
 * Prints the figures and the checks; the number of failures.  @wall and
 * @cpu: the run's seconds and the clients' CPU seconds.
 */
int load_report(struct load_stats *st, int clients, int moves_per_job,
		double wall, double cpu);
void load_stats_free(struct load_stats *st);

#endif
