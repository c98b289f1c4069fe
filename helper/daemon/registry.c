/* SPDX-License-Identifier: MIT */
/* Registered tasks: a small array under a mutex (jobs have few ranks/node). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/proto/protocol.h"
#include "lib/linux/proc.h"
#include "helper/daemon/registry.h"

#define MAX_REGISTERED (1 << 20)
#define MAX_POLICIES 65536
#define POLICY_NO_TASKS_TTL (24 * 3600)	/* seconds */

struct policy {
	uint64_t job;
	enum nm_policy policy;
	struct nm_bitmap nodes;
	bool had_tasks;
	time_t set;
};

struct nm_registry {
	pthread_mutex_t lock;
	int n, cap;
	struct nm_reg_task *tasks;
	int npol, cappol;
	struct policy *pol;
	struct timespec pruned;	/* the last check of every task (monotonic) */
};

struct nm_registry *nm_registry_new(void)
{
	struct nm_registry *r = calloc(1, sizeof(*r));

	if (r)
		pthread_mutex_init(&r->lock, NULL);
	return r;
}

void nm_registry_free(struct nm_registry *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->tasks);
	free(r->pol);
	free(r);
}

static int find(const struct nm_registry *r, pid_t pid)
{
	for (int i = 0; i < r->n; i++)
		if (r->tasks[i].pid == pid)
			return i;
	return -1;
}

static void drop(struct nm_registry *r, int i)
{
	r->tasks[i] = r->tasks[--r->n];
}

static bool job_has_tasks(const struct nm_registry *r, uint64_t job)
{
	for (int i = 0; i < r->n; i++)
		if (r->tasks[i].job == job)
			return true;
	return false;
}

/* Policies whose job's tasks are gone (see registry.h). */
static void prune_policies(struct nm_registry *r)
{
	time_t now = time(NULL);

	for (int i = r->npol - 1; i >= 0; i--) {
		struct policy *p = &r->pol[i];

		if (job_has_tasks(r, p->job)) {
			p->had_tasks = true;
			continue;
		}
		if (p->had_tasks || now - p->set > POLICY_NO_TASKS_TTL)
			r->pol[i] = r->pol[--r->npol];
	}
}

static int prune_locked(struct nm_registry *r)
{
	int gone = 0;

	clock_gettime(CLOCK_MONOTONIC, &r->pruned);
	for (int i = r->n - 1; i >= 0; i--)
		if (!nm_proc_same(r->tasks[i].pid, r->tasks[i].starttime)) {
			drop(r, i);
			gone++;
		}
	prune_policies(r);
	return gone;
}

/* Milliseconds since the registry last checked its tasks (lock held). */
static long pruned_ms_ago(const struct nm_registry *r)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - r->pruned.tv_sec) * 1000 +
	       (now.tv_nsec - r->pruned.tv_nsec) / 1000000;
}

/* prune_locked(), unless every task was checked under @max_age_ms ago. */
static void prune_older(struct nm_registry *r, int max_age_ms)
{
	if (max_age_ms <= 0 || pruned_ms_ago(r) >= max_age_ms)
		prune_locked(r);
}

int nm_registry_add(struct nm_registry *r, const struct nm_reg_task *tasks,
		    int n, char *err)
{
	int rc = -1, fresh = 0;

	pthread_mutex_lock(&r->lock);
	prune_older(r, NM_REGISTRY_LIST_AGE_MS);
	/* Validate everything before changing anything. */
	for (int i = 0; i < n; i++) {
		const struct nm_reg_task *t = &tasks[i];

		if (!nm_proc_same(t->pid, t->starttime)) {
			nm_seterr(err, "process %d has exited", (int)t->pid);
			goto out;
		}
		if (find(r, t->pid) < 0)
			fresh++;
		if (t->job == NM_NO_ID)
			continue;
		for (int j = 0; j < r->n; j++) {
			const struct nm_reg_task *o = &r->tasks[j];

			if (o->job == t->job && o->step == t->step &&
			    o->rank == t->rank && o->pid != t->pid) {
				/* Checked a while ago: only a live one holds
				 * the rank. */
				if (!nm_proc_same(o->pid, o->starttime)) {
					drop(r, j--);
					continue;
				}
				nm_seterr(err, "job %llu rank %d is already "
					  "process %d",
					  (unsigned long long)t->job, t->rank,
					  (int)o->pid);
				goto out;
			}
		}
	}
	if (r->n + fresh > MAX_REGISTERED) {
		nm_seterr(err, "too many registered tasks (limit %d)",
			  MAX_REGISTERED);
		goto out;
	}
	if (r->n + fresh > r->cap) {
		int cap = r->cap ? r->cap : 64;
		struct nm_reg_task *nt;

		while (cap < r->n + fresh)
			cap *= 2;
		nt = realloc(r->tasks, (size_t)cap * sizeof(*nt));
		if (!nt) {
			nm_seterr(err, "out of memory");
			goto out;
		}
		r->tasks = nt;
		r->cap = cap;
	}
	for (int i = 0; i < n; i++) {
		int at = find(r, tasks[i].pid);

		r->tasks[at >= 0 ? at : r->n++] = tasks[i];
	}
	prune_policies(r);	/* marks the jobs that now have tasks */
	rc = 0;
out:
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int nm_registry_remove_pids(struct nm_registry *r, const pid_t *pids, int n)
{
	int gone = 0;

	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < n; i++) {
		int at = find(r, pids[i]);

		if (at >= 0) {
			drop(r, at);
			gone++;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return gone;
}

int nm_registry_remove_job(struct nm_registry *r, uint64_t job)
{
	int gone = 0;

	pthread_mutex_lock(&r->lock);
	for (int i = r->n - 1; i >= 0; i--)
		if (r->tasks[i].job == job) {
			drop(r, i);
			gone++;
		}
	prune_policies(r);
	pthread_mutex_unlock(&r->lock);
	return gone;
}

int nm_registry_set_policy(struct nm_registry *r, uint64_t job,
			   enum nm_policy policy, const struct nm_bitmap *nodes,
			   char *err)
{
	struct policy *p = NULL;
	int rc = -1;

	pthread_mutex_lock(&r->lock);
	prune_locked(r);
	for (int i = 0; i < r->npol; i++)
		if (r->pol[i].job == job)
			p = &r->pol[i];
	if (!p) {
		if (r->npol == MAX_POLICIES) {
			nm_seterr(err, "too many job policies (limit %d)",
				  MAX_POLICIES);
			goto out;
		}
		if (r->npol == r->cappol) {
			int cap = r->cappol ? r->cappol * 2 : 64;
			struct policy *np = realloc(r->pol,
						    (size_t)cap * sizeof(*np));

			if (!np) {
				nm_seterr(err, "out of memory");
				goto out;
			}
			r->pol = np;
			r->cappol = cap;
		}
		p = &r->pol[r->npol++];
		memset(p, 0, sizeof(*p));
		p->job = job;
	}
	p->policy = policy;
	if (nodes && policy == NM_POLICY_NODES)
		p->nodes = *nodes;
	else
		nm_bitmap_zero(&p->nodes);
	p->had_tasks = job_has_tasks(r, job);
	p->set = time(NULL);
	rc = 0;
out:
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int nm_registry_get_policy(struct nm_registry *r, uint64_t job,
			   enum nm_policy *policy, struct nm_bitmap *nodes)
{
	int found = 0;

	pthread_mutex_lock(&r->lock);
	prune_locked(r);
	for (int i = 0; i < r->npol; i++)
		if (r->pol[i].job == job) {
			*policy = r->pol[i].policy;
			*nodes = r->pol[i].nodes;
			found = 1;
		}
	pthread_mutex_unlock(&r->lock);
	return found;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

int nm_registry_jobs(struct nm_registry *r, uint64_t **jobs, int *n, char *err)
{
	int rc = 0, k = 0;

	*jobs = NULL;
	*n = 0;
	pthread_mutex_lock(&r->lock);
	prune_locked(r);
	if (r->n) {
		*jobs = malloc((size_t)r->n * sizeof(**jobs));
		if (!*jobs) {
			nm_seterr(err, "out of memory");
			rc = -1;
			goto out;
		}
	}
	for (int i = 0; i < r->n; i++)
		if (r->tasks[i].job != NM_NO_ID)
			(*jobs)[k++] = r->tasks[i].job;
	if (k > 1)
		qsort(*jobs, (size_t)k, sizeof(**jobs), cmp_u64);
	for (int i = 0; i < k; i++)
		if (!*n || (*jobs)[*n - 1] != (*jobs)[i])
			(*jobs)[(*n)++] = (*jobs)[i];
out:
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int nm_registry_prune(struct nm_registry *r)
{
	int gone;

	pthread_mutex_lock(&r->lock);
	gone = prune_locked(r);
	pthread_mutex_unlock(&r->lock);
	return gone;
}

static int cmp_task(const void *a, const void *b)
{
	const struct nm_reg_task *x = a, *y = b;

	if (x->job != y->job)
		return x->job < y->job ? -1 : 1;
	if (x->step != y->step)
		return x->step < y->step ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

int nm_registry_list_recent(struct nm_registry *r, uint64_t job, uid_t owner,
			    int max_age_ms, struct nm_reg_task **out, int *n,
			    char *err)
{
	int rc = 0;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&r->lock);
	prune_older(r, max_age_ms);
	if (r->n) {
		*out = malloc((size_t)r->n * sizeof(**out));
		if (!*out) {
			nm_seterr(err, "out of memory");
			rc = -1;
			goto out;
		}
	}
	for (int i = 0; i < r->n; i++) {
		const struct nm_reg_task *t = &r->tasks[i];

		if (job != NM_NO_ID && t->job != job)
			continue;
		if (owner != (uid_t)-1 && t->owner != owner)
			continue;
		(*out)[(*n)++] = *t;
	}
	if (*n > 1)
		qsort(*out, (size_t)*n, sizeof(**out), cmp_task);
out:
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int nm_registry_list(struct nm_registry *r, uint64_t job, uid_t owner,
		     struct nm_reg_task **out, int *n, char *err)
{
	return nm_registry_list_recent(r, job, owner, 0, out, n, err);
}

json_t *nm_reg_task_json(const struct nm_reg_task *t)
{
	json_t *o = json_pack("{s:i, s:i, s:I}", "pid", (int)t->pid, "rank",
			      t->rank, "uid", (json_int_t)t->owner);

	if (o && t->job != NM_NO_ID)
		json_object_set_new(o, "job", json_integer((json_int_t)t->job));
	if (o && t->step != NM_NO_ID)
		json_object_set_new(o, "step",
				    json_integer((json_int_t)t->step));
	return o;
}
