/* SPDX-License-Identifier: MIT */
/* numamigrate plan: what a move would do, without doing it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper/cli/cli.h"
#include "lib/core/target_check.h"
#include "lib/core/job.h"
#include "lib/linux/job_proc.h"
#include "lib/core/plan_json.h"
#include "lib/core/planner.h"
#include "lib/base/units.h"

#define MAX_PIDS 4096

struct plan_args {
	const char *topology;
	const char *job_file;
	const char *pids;
	const char *map;
	const char *to;
	const char *free;
	bool json;
	unsigned long long budget;
};

static void plan_usage(FILE *out)
{
	fprintf(out,
		"Usage: numamigrate plan [--topology FILE.xml] "
		"(--job JOB.json | --pid PID[,PID...])\n"
		"                        (--map OLD:NEW | --to NODES) "
		"[--free NODE=BYTES[,...]] [--json]\n\n"
		"Plans moving a job to other NUMA nodes and prints the plan "
		"beside what the\nkernel's migrate_pages(2) would do. Nothing "
		"is moved.\n\n"
		"  --topology FILE.xml  an hwloc XML export (default: this "
		"machine)\n"
		"  --job JOB.json       the job: {\"tasks\": [{\"rank\": 0, "
		"\"cpus\": \"0-3\",\n"
		"                       \"memory\": {\"0\": BYTES}}]}  (- "
		"reads stdin)\n"
		"  --pid PID,...        the job: these live processes, rank = "
		"position\n"
		"  --map OLD:NEW        migrate_pages(2) form: i-th old node "
		"-> i-th new node\n"
		"  --to NODES           target node set; numamigrate chooses "
		"the map\n"
		"  --free NODE=BYTES    override free memory (K/M/G/T "
		"suffixes)\n"
		"  --json               one JSON object instead of the table\n");
}

/* --search-budget: a positive number (a message when not). */
static int parse_budget(const char *s, unsigned long long *budget)
{
	char *end;

	*budget = strtoull(s, &end, 10);
	if (*end || !*budget) {
		nm_cli_error("plan: --search-budget '%s': expected a positive "
			     "number", s);
		return -1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct plan_args *a)
{
	const char *budget = NULL;
	const struct nm_cli_opt opts[] = {
		{ "topology", required_argument, &a->topology, NULL },
		{ "job", required_argument, &a->job_file, NULL },
		{ "pid", required_argument, &a->pids, NULL },
		{ "map", required_argument, &a->map, NULL },
		{ "to", required_argument, &a->to, NULL },
		{ "free", required_argument, &a->free, NULL },
		{ "json", no_argument, NULL, &a->json },
		{ "search-budget", required_argument, &budget, NULL },
		{ NULL, 0, NULL, NULL },
	};
	int rc = nm_cli_options(argc, argv, "plan", opts);

	if (rc > 0) {
		plan_usage(stdout);
		exit(NM_EXIT_OK);
	}
	if (rc < 0 || (budget && parse_budget(budget, &a->budget) < 0))
		return -1;
	if (optind < argc) {
		nm_cli_error("plan: unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (!!a->job_file == !!a->pids) {
		nm_cli_error("plan: give exactly one of --job or --pid");
		return -1;
	}
	if (!!a->map == !!a->to) {
		nm_cli_error("plan: give exactly one of --map or --to");
		return -1;
	}
	return 0;
}

static const char *os_list(const struct nm_topology *t,
			   const struct nm_bitmap *idx, char *buf, size_t len)
{
	struct nm_bitmap os;
	int n;

	nm_bitmap_zero(&os);
	nm_bitmap_foreach(n, idx)
		nm_bitmap_set(&os, (unsigned int)t->nodes[n].os);
	nm_list_format(&os, buf, len);
	return buf;
}

static void print_map(const char *title, const struct nm_topology *t,
		      const struct nm_job *job, const int *map)
{
	int n, col = 0;

	printf("%-12s", title);
	nm_bitmap_foreach(n, &job->nodes) {
		if (col && col % 8 == 0)
			printf("\n%-12s", "");
		printf(" %3d->%-3d", t->nodes[n].os,
		       map[n] >= 0 ? t->nodes[map[n]].os : t->nodes[n].os);
		col++;
	}
	printf("\n");
}

static void print_table(const struct nm_plan *plan,
			const struct nm_topology *t, const struct nm_job *job,
			const struct nm_target *target)
{
	char a[64], b[128], c[64], d[32], what[160];
	int n;

	nm_list_format(&target->new_nodes, c, sizeof(c));
	if (target->kind == NM_TARGET_MAP) {
		nm_target_format_map(target, b, sizeof(b));
		snprintf(what, sizeof(what), "map %s", b);
	} else {
		snprintf(what, sizeof(what), "nodes %s", c);
	}
	printf("job: %d tasks on nodes %s; target %s (topology: %s)\n\n",
	       job->ntasks, os_list(t, &job->nodes, a, sizeof(a)), what,
	       t->source);
	print_map("node map", t, job, plan->map);
	print_map("kernel map", t, job, plan->kernel_map);
	printf("\n%6s  %-16s %-8s    %-8s %-16s %12s\n", "rank", "cpus",
	       "nodes", "nodes", "new cpus", "moved");
	for (int i = 0; i < job->ntasks; i++) {
		const struct nm_task *task = &job->tasks[i];
		struct nm_bitmap cn, newcpus, mem, newmem;

		nm_task_cpu_nodes(task, t, &cn);
		nm_bitmap_zero(&mem);
		nm_bitmap_zero(&newmem);
		for (n = 0; n < t->nnodes; n++)
			if (task->bytes[n] || nm_bitmap_test(&cn, n)) {
				nm_bitmap_set(&mem, (unsigned int)n);
				nm_bitmap_set(&newmem, (unsigned int)(
					plan->map[n] >= 0 ? plan->map[n] : n));
			}
		nm_map_cpus(t, plan->map, &task->cpus, &newcpus);
		nm_list_format(&task->cpus, a, sizeof(a));
		nm_list_format(&newcpus, c, sizeof(c));
		printf("%6d  %-16s %-8s -> ", task->rank, a,
		       os_list(t, &mem, b, sizeof(b)));
		printf("%-8s %-16s %12s\n", os_list(t, &newmem, b, sizeof(b)),
		       c, nm_format_bytes(nm_plan_task_bytes(plan, task), d,
					  sizeof(d)));
	}
	if (plan->nsteps)
		printf("\norder of moves:\n");
	for (int i = 0; i < plan->nsteps; i++) {
		const struct nm_step *s = &plan->steps[i];

		printf("  %3d. node %3d -> node %-3d %12s%s\n", i + 1, s->from,
		       s->to, nm_format_bytes(s->bytes, d, sizeof(d)),
		       s->parked ? "  (parked on a spare node)" : "");
	}
	nm_format_bytes(plan->bytes_moved, a, sizeof(a));
	nm_format_bytes(plan->kernel_bytes_moved, b, sizeof(b));
	printf("\nmoved:           %s in %d steps; kernel migrate_pages(2): "
	       "%s", a, plan->nsteps, b);
	if (plan->bytes_moved && plan->kernel_bytes_moved)
		printf(" (%.2fx ours)", (double)plan->kernel_bytes_moved /
		       (double)plan->bytes_moved);
	printf("%s\n", plan->kernel_fits ? "" :
	       ", and its map does not fit in free memory");
	printf("distance change: %llu (kernel: %llu)\n",
	       (unsigned long long)plan->distortion,
	       (unsigned long long)plan->kernel_distortion);
	printf("planned in %.3f ms, %llu maps examined%s\n",
	       plan->seconds * 1e3, (unsigned long long)plan->search_nodes,
	       plan->search_complete ? ", optimal" :
	       ", search budget reached: best found");
}

static struct nm_job *load_job(const struct plan_args *a,
			       const struct nm_topology *t, char *err)
{
	struct nm_job *job;
	size_t len;
	char *text;

	if (a->pids) {
		pid_t pids[MAX_PIDS];
		int n = nm_parse_pid_list(a->pids, pids, MAX_PIDS, err);

		return n < 0 ? NULL : nm_job_from_pids(pids, n, t, err);
	}
	text = nm_cli_read_file(a->job_file, NM_MAX_JOB_JSON, &len, err);
	if (!text)
		return NULL;
	job = nm_job_from_json(text, len, t, err);
	free(text);
	return job;
}

int nm_cmd_plan(int argc, char **argv)
{
	struct plan_args a = { 0 };
	struct nm_topology *t = NULL;
	struct nm_job *job = NULL;
	struct nm_plan *plan = NULL;
	struct nm_target target;
	struct nm_plan_options opts = { 0 };
	uint64_t *free_bytes = NULL;
	char err[NM_ERRLEN] = "";
	int rc = NM_EXIT_USAGE;

	if (parse_args(argc, argv, &a) < 0)
		return NM_EXIT_USAGE;
	opts.search_budget = a.budget;
	if ((a.map ? nm_target_parse_map(a.map, &target, err) :
		     nm_target_parse_nodes(a.to, &target, err)) < 0)
		goto fail;
	t = nm_topology_load(a.topology, err);
	if (!t)
		goto fail;
	job = load_job(&a, t, err);
	if (!job) {
		if (a.job_file && strcmp(a.job_file, "-"))
			goto fail_file;
		goto fail;
	}
	free_bytes = calloc((size_t)t->nnodes, sizeof(*free_bytes));
	if (!free_bytes) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	if (nm_plan_free_bytes(t, job, free_bytes, err) < 0 ||
	    (a.free && nm_parse_free_overrides(a.free, t, free_bytes,
					       err) < 0))
		goto fail;
	plan = nm_plan_compute(t, job, free_bytes, &target, &opts, err);
	if (!plan)
		goto fail;
	if (a.json) {
		json_t *o = nm_plan_to_json(plan, t, job);

		if (!o || json_dumpf(o, stdout, JSON_INDENT(2)) < 0) {
			json_decref(o);
			snprintf(err, sizeof(err), "cannot write JSON");
			goto fail;
		}
		putchar('\n');
		json_decref(o);
	} else if (plan->feasible) {
		print_table(plan, t, job, &target);
	}
	rc = NM_EXIT_OK;
	if (!plan->feasible) {
		nm_cli_error("plan: cannot move the job: %s", plan->reason);
		rc = NM_EXIT_REFUSED;
	}
	goto out;
fail_file:
	nm_cli_error("plan: %s: %s", a.job_file, err);
	goto out;
fail:
	nm_cli_error("plan: %s", err);
out:
	nm_plan_free(plan);
	free(free_bytes);
	nm_job_free(job);
	nm_topology_free(t);
	return rc;
}
