/* SPDX-License-Identifier: MIT */
/* Kept journals: their thaws retried with backoff until they succeed. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helper/daemon/journal.h"
#include "helper/daemon/log.h"
#include "helper/daemon/migrate.h"
#include "helper/daemon/thaw_retry.h"
#include "lib/base/file.h"

#define MAX_KEPT 256
#define MAX_BACKOFF_S 60

struct kept {
	char name[256];
	unsigned long id;
	int attempts;
	time_t next;		/* CLOCK_MONOTONIC seconds */
	char err[NM_ERRLEN];
	json_t *pids, *cgroups;
	bool seen;		/* still in the directory this round */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct kept kept[MAX_KEPT];
static int nkept;
static char dir[512];

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Whether move @id of this daemon is in progress (its journal is live). */
static bool active(json_t *moves, unsigned long id)
{
	size_t i;
	json_t *m;

	json_array_foreach(moves, i, m)
		if ((unsigned long)json_integer_value(json_object_get(m, "id"))
		    == id)
			return true;
	return false;
}

static int collect(void *arg, struct nm_freeze *fz, char *err)
{
	struct kept *k = arg;

	(void)err;
	for (int i = 0; i < fz->npids; i++)
		json_array_append_new(k->pids, json_integer(fz->pids[i]));
	if (fz->cgroup[0])
		json_array_append_new(k->cgroups, json_string(fz->cgroup));
	return 0;
}

/* A new entry for @name: what its records name, for status. */
static struct kept *add(const char *name, unsigned long id)
{
	struct kept *k;
	char path[1024], err[NM_ERRLEN];
	size_t len;
	char *buf;

	if (nkept == MAX_KEPT)
		return NULL;
	k = &kept[nkept++];
	memset(k, 0, sizeof(*k));
	snprintf(k->name, sizeof(k->name), "%s", name);
	k->id = id;
	k->next = now_s();
	k->pids = json_array();
	k->cgroups = json_array();
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	buf = nm_read_file(path, 16 << 20, &len);
	if (buf) {
		nm_journal_parse(buf, len, collect, k, err);
		free(buf);
	}
	return k;
}

static struct kept *find(const char *name)
{
	for (int i = 0; i < nkept; i++)
		if (!strcmp(kept[i].name, name))
			return &kept[i];
	return NULL;
}

static void drop(int i)
{
	json_decref(kept[i].pids);
	json_decref(kept[i].cgroups);
	kept[i] = kept[--nkept];
}

/* One attempt at @k, when its time has come.  Returns true when thawed. */
static bool attempt(struct kept *k)
{
	char path[1024], err[NM_ERRLEN] = "";
	int backoff;

	if (now_s() < k->next)
		return false;
	snprintf(path, sizeof(path), "%s/%s", dir, k->name);
	if (nm_journal_recover_file(path, err) == 0) {
		nm_log(LOG_NOTICE, "journal %s: thawed after %d failed "
		       "attempt%s", k->name, k->attempts,
		       k->attempts == 1 ? "" : "s");
		return true;
	}
	k->attempts++;
	backoff = k->attempts < 7 ? 1 << (k->attempts - 1) : MAX_BACKOFF_S;
	if (backoff > MAX_BACKOFF_S)
		backoff = MAX_BACKOFF_S;
	k->next = now_s() + backoff;
	snprintf(k->err, sizeof(k->err), "%s", err);
	nm_log(LOG_ERR, "journal %s: thaw failed (attempt %d): %s; next "
	       "attempt in %d s", k->name, k->attempts, err, backoff);
	return false;
}

/* One round: the kept journals now in the directory, each tried when due. */
static void round_once(void)
{
	unsigned long long gen, mine = nm_journal_generation();
	struct dirent *de;
	unsigned long id;
	json_t *moves;
	DIR *d = opendir(dir);

	if (!d)
		return;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < nkept; i++)
		kept[i].seen = false;
	while ((de = readdir(d))) {
		struct kept *k;

		if (nm_journal_name(de->d_name, &gen, &id) < 0)
			continue;
		/*
		 * Moves are asked after the directory was read: a move's
		 * journal exists only while it is in progress, so one
		 * listed and not in progress now is kept.
		 */
		moves = gen == mine ? nm_migrate_active((uid_t)-1) : NULL;
		if (gen == mine && (!moves || active(moves, id))) {
			json_decref(moves);
			continue;
		}
		json_decref(moves);
		k = find(de->d_name) ?: add(de->d_name, id);
		if (k)
			k->seen = true;
	}
	closedir(d);
	for (int i = 0; i < nkept; i++)
		if (!kept[i].seen || attempt(&kept[i]))
			drop(i--);
	pthread_mutex_unlock(&lock);
}

static void *loop(void *arg)
{
	struct timespec ts = { 0, 500 * 1000000L };

	(void)arg;
	pthread_setname_np(pthread_self(), "nm-thaw");
	for (;;) {
		round_once();
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int nm_thaw_retry_start(const char *journal_dir, char *err)
{
	pthread_t t;
	int rc;

	snprintf(dir, sizeof(dir), "%s", journal_dir);
	rc = pthread_create(&t, NULL, loop, NULL);
	if (rc != 0) {
		nm_seterr(err, "thaw retry thread: %s", strerror(rc));
		return -1;
	}
	pthread_detach(t);
	return 0;
}

json_t *nm_thaw_retry_list(void)
{
	json_t *a = json_array();
	time_t now = now_s();

	pthread_mutex_lock(&lock);
	for (int i = 0; a && i < nkept; i++) {
		struct kept *k = &kept[i];

		json_array_append_new(a, json_pack(
			"{s:s, s:I, s:O, s:O, s:i, s:s, s:I}",
			"journal", k->name, "move", (json_int_t)k->id,
			"pids", k->pids, "cgroups", k->cgroups,
			"attempts", k->attempts, "error", k->err,
			"retry_in_s", (json_int_t)(k->next > now ?
						   k->next - now : 0)));
	}
	pthread_mutex_unlock(&lock);
	return a;
}
