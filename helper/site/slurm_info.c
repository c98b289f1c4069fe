/* SPDX-License-Identifier: MIT */
/* What numamigrate asks Slurm, through libslurm. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>

#include "helper/site/slurm_compat.h"
#include "helper/site/slurm_info.h"

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static bool inited;

void nm_slurm_setup(const char *conf)
{
	if (conf && conf[0])
		setenv("SLURM_CONF", conf, 1);
}

/*
 * slurm_init() on first use.  libslurm exits the process (fatal) when it
 * finds no configuration, so a missing file is an error here first.
 */
static int ensure_init(char *err)
{
	const char *conf = getenv("SLURM_CONF");
	int rc = 0;

	if (!conf || !conf[0])
		conf = NM_SLURM_DEFAULT_CONF;
	pthread_mutex_lock(&init_lock);
	if (!inited) {
		if (access(conf, R_OK) < 0) {
			nm_seterr(err, "no Slurm configuration: %s: %s (set "
				  "[slurm] conf or SLURM_CONF)", conf,
				  strerror(errno));
			rc = -1;
		} else {
			slurm_init(NULL);
			inited = true;
		}
	}
	pthread_mutex_unlock(&init_lock);
	return rc;
}

static void slurm_err(char *err, const char *what)
{
	/* libslurm sets errno (slurm_get_errno() is gone since 24.05) */
	int e = errno;

	nm_seterr(err, "%s: %s", what, slurm_strerror(e));
}

static enum nm_slurm_state state_of(uint32_t st)
{
	switch (st & JOB_STATE_BASE) {
	case JOB_PENDING: return NM_SLURM_PENDING;
	case JOB_RUNNING: return NM_SLURM_RUNNING;
	case JOB_SUSPENDED: return NM_SLURM_SUSPENDED;
	case JOB_COMPLETE: case JOB_CANCELLED: case JOB_FAILED:
	case JOB_TIMEOUT: case JOB_NODE_FAIL: case JOB_PREEMPTED:
	case JOB_BOOT_FAIL: case JOB_DEADLINE: case JOB_OOM:
		return NM_SLURM_ENDED;
	}
	return NM_SLURM_OTHER;
}

static const char *state_name(uint32_t st)
{
	static const char *const names[] = {
		"PENDING", "RUNNING", "SUSPENDED", "COMPLETED", "CANCELLED",
		"FAILED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL",
		"DEADLINE", "OUT_OF_MEMORY",
	};
	uint32_t b = st & JOB_STATE_BASE;

	return b < sizeof(names) / sizeof(names[0]) ? names[b] : "OTHER";
}

/* Loads one job with its resources; the message has exactly one job. */
static job_info_msg_t *load_one(uint64_t job, char *err)
{
	job_info_msg_t *resp = NULL;
	char what[64];

	if (ensure_init(err) < 0)
		return NULL;
	snprintf(what, sizeof(what), "Slurm job %llu",
		 (unsigned long long)job);
	if (job > UINT32_MAX) {
		nm_seterr(err, "%s: not a Slurm job id", what);
		return NULL;
	}
	if (slurm_load_job(&resp, (uint32_t)job, SHOW_DETAIL) !=
	    SLURM_SUCCESS) {
		slurm_err(err, what);
		return NULL;
	}
	if (!resp || resp->record_count < 1) {
		if (resp)
			slurm_free_job_info_msg(resp);
		nm_seterr(err, "%s: no such job", what);
		return NULL;
	}
	return resp;
}

static void fill_job(const slurm_job_info_t *j, struct nm_slurm_job *out)
{
	memset(out, 0, sizeof(*out));
	out->id = j->job_id;
	out->state = state_of(j->job_state);
	snprintf(out->state_name, sizeof(out->state_name), "%s",
		 state_name(j->job_state));
	out->uid = (uid_t)j->user_id;
	snprintf(out->nodes, sizeof(out->nodes), "%s",
		 j->nodes ? j->nodes : "");
}

int nm_slurm_job(uint64_t job, struct nm_slurm_job *out, char *err)
{
	job_info_msg_t *resp = load_one(job, err);

	if (!resp)
		return -1;
	fill_job(&resp->job_array[0], out);
	slurm_free_job_info_msg(resp);
	return 0;
}

/* The CPUs of one job record on @node: 1 some, 0 none there, -1 error. */
static int record_cpus(slurm_job_info_t *j, const char *node,
		       struct nm_bitmap *cpus, char *err)
{
	char buf[4096];
	nm_hostlist_t hl;
	bool on = false;
	char *h;

	nm_bitmap_zero(cpus);
	if (!j->nodes || !j->job_resrcs)
		return 0;
	hl = slurm_hostlist_create(j->nodes);
	if (!hl) {
		nm_seterr(err, "Slurm job %u: bad node list '%.200s'",
			  j->job_id, j->nodes);
		return -1;
	}
	while ((h = slurm_hostlist_shift(hl))) {
		on |= !strcmp(h, node);
		free(h);
	}
	slurm_hostlist_destroy(hl);
	if (!on)
		return 0;
	buf[0] = '\0';
	if (nm_slurm_cpus_on_node(j, node, buf, sizeof(buf)) != 0) {
		nm_seterr(err, "Slurm job %u: no CPU ids on node %.100s",
			  j->job_id, node);
		return -1;
	}
	if (nm_list_parse(buf, cpus, NM_BITMAP_BITS, 0, "Slurm CPU list",
			  err) < 0)
		return -1;
	return 1;
}

int nm_slurm_job_cpus(uint64_t job, const char *node, struct nm_bitmap *cpus,
		      char *err)
{
	job_info_msg_t *resp = load_one(job, err);
	int rc;

	if (!resp)
		return -1;
	rc = record_cpus(&resp->job_array[0], node, cpus, err);
	if (rc == 0)
		nm_seterr(err, "Slurm job %llu has no CPUs on node %.100s "
			  "(its nodes: %.200s)", (unsigned long long)job, node,
			  resp->job_array[0].nodes ? resp->job_array[0].nodes :
			  "none");
	slurm_free_job_info_msg(resp);
	return rc == 1 ? 0 : -1;
}

int nm_slurm_running_cpus(const char *node, uint64_t except,
			  struct nm_bitmap *cpus, char *err)
{
	job_info_msg_t *resp = NULL;

	nm_bitmap_zero(cpus);
	if (ensure_init(err) < 0)
		return -1;
	if (slurm_load_jobs(0, &resp, SHOW_DETAIL | SHOW_ALL) !=
	    SLURM_SUCCESS) {
		slurm_err(err, "Slurm jobs");
		return -1;
	}
	for (uint32_t i = 0; i < resp->record_count; i++) {
		slurm_job_info_t *j = &resp->job_array[i];
		struct nm_bitmap c;

		if (j->job_id == except ||
		    state_of(j->job_state) != NM_SLURM_RUNNING)
			continue;
		if (record_cpus(j, node, &c, err) < 0) {
			slurm_free_job_info_msg(resp);
			return -1;
		}
		nm_bitmap_or(cpus, &c);
	}
	slurm_free_job_info_msg(resp);
	return 0;
}

static bool same_host(const char *a, const char *host, const char *shorth)
{
	return a && (!strcmp(a, host) || !strcmp(a, shorth));
}

int nm_slurm_local_node(const char *configured, char *out, size_t len,
			char *err)
{
	node_info_msg_t *resp = NULL;
	char host[256] = "", shorth[256];
	int found = 0;

	if (configured && configured[0]) {
		snprintf(out, len, "%s", configured);
		return 0;
	}
	if (ensure_init(err) < 0)
		return -1;
	if (gethostname(host, sizeof(host) - 1) < 0) {
		nm_seterr(err, "gethostname failed");
		return -1;
	}
	snprintf(shorth, sizeof(shorth), "%s", host);
	shorth[strcspn(shorth, ".")] = '\0';
	if (slurm_load_node(0, &resp, SHOW_ALL) != SLURM_SUCCESS) {
		slurm_err(err, "Slurm nodes");
		return -1;
	}
	/* A node named after this host first, then by NodeHostname. */
	for (int pass = 0; pass < 2 && !found; pass++)
		for (uint32_t i = 0; i < resp->record_count && !found; i++) {
			node_info_t *n = &resp->node_array[i];

			if (!n->name)
				continue;
			if (pass == 0 ? same_host(n->name, host, shorth) :
			    same_host(n->node_hostname, host, shorth)) {
				snprintf(out, len, "%s", n->name);
				found = 1;
			}
		}
	slurm_free_node_info_msg(resp);
	if (!found) {
		nm_seterr(err, "no Slurm node is this host (%.100s): set "
			  "[slurm] node_name", host);
		return -1;
	}
	return 0;
}

int nm_slurm_job_hosts(const struct nm_slurm_job *job,
		       struct nm_slurm_host **hosts, int *n, char *err)
{
	nm_hostlist_t hl;
	char *h;
	int cap = 0;

	*hosts = NULL;
	*n = 0;
	if (ensure_init(err) < 0)
		return -1;
	if (!job->nodes[0]) {
		nm_seterr(err, "Slurm job %llu has no nodes (state %s)",
			  (unsigned long long)job->id, job->state_name);
		return -1;
	}
	hl = slurm_hostlist_create(job->nodes);
	if (!hl) {
		nm_seterr(err, "Slurm job %llu: bad node list '%.200s'",
			  (unsigned long long)job->id, job->nodes);
		return -1;
	}
	while ((h = slurm_hostlist_shift(hl))) {
		node_info_msg_t *resp = NULL;
		struct nm_slurm_host *e;

		if (*n == cap) {
			struct nm_slurm_host *nh;

			cap = cap ? cap * 2 : 16;
			nh = realloc(*hosts, (size_t)cap * sizeof(*nh));
			if (!nh) {
				free(h);
				nm_seterr(err, "out of memory");
				goto fail;
			}
			*hosts = nh;
		}
		e = &(*hosts)[(*n)++];
		memset(e, 0, sizeof(*e));
		snprintf(e->name, sizeof(e->name), "%s", h);
		if (slurm_load_node_single(&resp, h, SHOW_ALL) !=
		    SLURM_SUCCESS || !resp || resp->record_count < 1) {
			char what[160];

			snprintf(what, sizeof(what), "Slurm node %.100s", h);
			if (resp)
				slurm_free_node_info_msg(resp);
			free(h);
			slurm_err(err, what);
			goto fail;
		}
		snprintf(e->addr, sizeof(e->addr), "%s",
			 resp->node_array[0].node_addr ?
			 resp->node_array[0].node_addr : h);
		snprintf(e->hostname, sizeof(e->hostname), "%s",
			 resp->node_array[0].node_hostname ?
			 resp->node_array[0].node_hostname : h);
		slurm_free_node_info_msg(resp);
		free(h);
	}
	slurm_hostlist_destroy(hl);
	return 0;
fail:
	slurm_hostlist_destroy(hl);
	free(*hosts);
	*hosts = NULL;
	*n = 0;
	return -1;
}
