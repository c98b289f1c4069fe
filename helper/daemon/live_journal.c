/* SPDX-License-Identifier: MIT */
/* The live journal (live_journal.h): written, removed, acted on at start. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "helper/daemon/journal.h"
#include "helper/daemon/live_journal.h"
#include "helper/daemon/log.h"
#include "helper/engine/rebind.h"
#include "lib/base/file.h"
#include "lib/core/repin_back.h"
#include "lib/linux/atomic_file.h"
#include "lib/linux/job_proc.h"
#include "lib/linux/pidref.h"

#define PREFIX "live-"
#define LIVE_MAX ((size_t)16 << 20)

/* {"map": {OLD: NEW, ...}, "tasks": [[PID, START], ...]}, OS nodes. */
static json_t *record(const struct nm_topology *t, const int *map,
		      const pid_t *pids, const unsigned long long *starts,
		      int n)
{
	json_t *m = json_object(), *tasks = json_array();
	char key[16];

	for (int i = 0; m && i < t->nnodes; i++) {
		if (map[i] < 0 || map[i] == i)
			continue;
		snprintf(key, sizeof(key), "%d", t->nodes[i].os);
		json_object_set_new(m, key, json_integer(t->nodes[map[i]].os));
	}
	for (int i = 0; tasks && i < n; i++)
		json_array_append_new(tasks, json_pack("[I, I]",
			(json_int_t)pids[i], (json_int_t)starts[i]));
	return json_pack("{s:i, s:o, s:o}", "version", 1, "map", m, "tasks",
			 tasks);
}

int nm_live_journal_begin(struct nm_live_journal *j, const char *dir,
			  unsigned long id, const struct nm_topology *t,
			  const int *map, const pid_t *pids,
			  const unsigned long long *starts, int n, char *err)
{
	json_t *rec = record(t, map, pids, starts, n);
	char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
	int rc = -1;

	json_decref(rec);
	if (!text)
		nm_seterr(err, "out of memory");
	else
		rc = nm_journal_put(j->path, sizeof(j->path), dir, PREFIX, id,
				    text, "live journal", err);
	free(text);
	return rc;
}

int nm_live_journal_finish(struct nm_live_journal *j, char *err)
{
	return nm_journal_drop(j->path, "live journal", err);
}

/* The recorded map (OS nodes) as node indexes of @t. */
static void index_map(const struct nm_topology *t, json_t *m, int *map)
{
	const char *k;
	json_t *v;

	for (int i = 0; i < t->nnodes; i++)
		map[i] = -1;
	json_object_foreach(m, k, v) {
		int a = nm_topology_find(t, atoi(k));
		int z = nm_topology_find(t, (int)json_integer_value(v));

		if (a >= 0 && z >= 0)
			map[a] = z;
	}
}

/* One recorded process: its threads back with most of its memory. */
static void put_back(const struct nm_topology *t, const int *map, pid_t pid,
		     unsigned long long start, const char *file)
{
	struct nm_pidref ref = NM_PIDREF_NONE;
	char err[NM_ERRLEN], from[64] = "";
	struct nm_job *job = NULL;
	int *back = calloc((size_t)t->nnodes, sizeof(*back));

	if (!back || nm_pidref_open_as(&ref, pid, start, err) != 0)
		goto out;	/* gone: nothing of it to put back */
	job = nm_job_from_pids(&pid, 1, t, err);
	if (!job) {
		nm_log(LOG_ERR, "recovery: %s: pid %d: %s", file, (int)pid,
		       err);
		goto out;
	}
	if (!nm_repin_back(t->nnodes, map, job->tasks[0].bytes, back))
		goto out;	/* its threads are with its memory */
	for (int n = 0, off = 0; n < t->nnodes; n++)
		if (back[n] >= 0 && off < (int)sizeof(from) - 12)
			off += snprintf(from + off, sizeof(from) - (size_t)off,
					"%s%d->%d", off ? "," : "",
					t->nodes[n].os, t->nodes[back[n]].os);
	if (nm_rebind_ref(t, back, &ref, err) < 0)
		nm_log(LOG_ERR, "recovery: %s: pid %d: %s", file, (int)pid,
		       err);
	else
		nm_log(LOG_WARNING, "recovery: %s: pid %d: threads back with "
		       "most of its memory (nodes %s)", file, (int)pid, from);
out:
	nm_job_free(job);
	nm_pidref_close(&ref);
	free(back);
}

/* Acts on one live journal; 0 when it may go. */
static int recover_file(const char *path, const struct nm_topology *t,
			char *err)
{
	size_t len, i;
	char *text = nm_read_file(path, LIVE_MAX, &len);
	json_t *rec = text ? json_loadb(text, len, 0, NULL) : NULL;
	json_t *tasks = json_object_get(rec, "tasks"), *one;
	int *map = calloc((size_t)t->nnodes, sizeof(*map));
	int rc = -1;

	if (!text)
		nm_seterr(err, "cannot read: %s", strerror(errno));
	else if (!json_is_object(json_object_get(rec, "map")) ||
		 !json_is_array(tasks))
		nm_seterr(err, "not a live journal (kept)");
	else if (!map)
		nm_seterr(err, "out of memory");
	else
		rc = 0;
	if (rc == 0) {
		index_map(t, json_object_get(rec, "map"), map);
		json_array_foreach(tasks, i, one)
			put_back(t, map, (pid_t)json_integer_value(
					 json_array_get(one, 0)),
				 (unsigned long long)json_integer_value(
					 json_array_get(one, 1)), path);
		nm_log(LOG_WARNING, "recovery: %s: a live move was "
		       "interrupted; its threads are with its memory", path);
	}
	free(map);
	json_decref(rec);
	free(text);
	return rc;
}

/* @arg: the machine's topology, loaded for the first file. */
static void recover_one(void *arg, const char *path)
{
	struct nm_topology **t = arg;
	char msg[NM_ERRLEN] = "";

	if (!*t && !(*t = nm_topology_load(NULL, msg))) {
		nm_log(LOG_ERR, "recovery: %s: %s (kept)", path, msg);
		return;
	}
	if (recover_file(path, *t, msg) < 0 ||
	    nm_atomic_remove(path, msg) < 0)
		nm_log(LOG_ERR, "recovery: %s: %s", path, msg);
}

int nm_live_journal_recover(const char *dir, char *err)
{
	struct nm_topology *t = NULL;
	int found = nm_journal_each(dir, PREFIX, recover_one, &t, err);

	nm_topology_free(t);
	return found;
}
