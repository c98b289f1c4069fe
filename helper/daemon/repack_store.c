/* SPDX-License-Identifier: MIT */
/*
 * The repack records: what each preemptor's repack evacuated, in memory
 * for restore and in JOURNAL_DIR/repack-JOB.json for a restarted daemon.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper/daemon/log.h"
#include "helper/daemon/repack.h"
#include "helper/daemon/repack_internal.h"
#include "helper/daemon/repack_record.h"
#include "lib/base/file.h"
#include "lib/linux/atomic_file.h"

#define REC_PREFIX "repack-"
#define REC_SUFFIX ".json"
/* A task is some 30 bytes: room for a million. */
#define REC_MAX ((size_t)64 << 20)

static pthread_mutex_t repack_lock = PTHREAD_MUTEX_INITIALIZER;
/* Preemptor id (decimal) -> its record (see record_path()). */
static json_t *records;

void nm_repack_lock(void)
{
	pthread_mutex_lock(&repack_lock);
}

void nm_repack_unlock(void)
{
	pthread_mutex_unlock(&repack_lock);
}

bool nm_repack_store_ready(void)
{
	if (!records)
		records = json_object();
	return records != NULL;
}

static void job_key(uint64_t job, char *key, size_t len)
{
	snprintf(key, len, "%llu", (unsigned long long)job);
}

json_t *nm_repack_store_get(uint64_t job)
{
	char key[32];

	job_key(job, key, sizeof(key));
	return records ? json_object_get(records, key) : NULL;
}

static void record_path(const char *dir, uint64_t job, char *buf, size_t len)
{
	snprintf(buf, len, "%s/" REC_PREFIX "%llu" REC_SUFFIX, dir,
		 (unsigned long long)job);
}

/* Writes @rec atomically (it survives a crash). */
static int record_save(const char *dir, uint64_t job, json_t *rec, char *err)
{
	char path[700];
	char *s;
	int rc;

	record_path(dir, job, path, sizeof(path));
	s = json_dumps(rec, JSON_COMPACT);
	if (!s) {
		nm_seterr(err, "out of memory");
		return -1;
	}
	rc = nm_atomic_write(path, s, strlen(s), 0600, err);
	free(s);
	return rc;
}

int nm_repack_store_put(const char *dir, uint64_t job, json_t *rec,
			char *path, size_t len, char *err)
{
	char key[32];
	int rc = record_save(dir, job, rec, err);

	job_key(job, key, sizeof(key));
	if (nm_repack_store_ready() && json_object_get(records, key) != rec)
		json_object_set(records, key, rec);
	record_path(dir, job, path, len);
	return rc;
}

int nm_repack_store_drop(const char *dir, uint64_t job, char *err)
{
	char path[700], key[32];

	job_key(job, key, sizeof(key));
	if (records)
		json_object_del(records, key);
	record_path(dir, job, path, sizeof(path));
	return nm_atomic_remove(path, err);
}

/* One record file: kept in memory when it parses, logged when not. */
static bool load_one(const char *path)
{
	char msg[NM_ERRLEN], key[32], *text;
	json_t *rec = NULL;
	size_t tlen;
	uint64_t job;

	text = nm_read_file(path, REC_MAX, &tlen);
	if (text) {
		rec = nm_repack_record_parse(text, tlen, &job, msg);
		free(text);
	} else {
		nm_seterr(msg, "%s", errno == EFBIG ? "larger than 64 MiB" :
			  strerror(errno));
	}
	if (!rec) {
		nm_log(LOG_ERR, "repack record %s: %s (kept, not used)", path,
		       msg);
		return false;
	}
	job_key(job, key, sizeof(key));
	json_object_set_new(records, key, rec);
	nm_log(LOG_NOTICE, "repack record for job %llu: %zu job(s) to move "
	       "back when it ends", (unsigned long long)job,
	       json_array_size(json_object_get(rec, "evacuated")));
	return true;
}

static bool is_record_name(const char *name)
{
	size_t len = strlen(name);

	return !strncmp(name, REC_PREFIX, strlen(REC_PREFIX)) &&
	       len > strlen(REC_SUFFIX) &&
	       !strcmp(name + len - strlen(REC_SUFFIX), REC_SUFFIX);
}

int nm_repack_load(const char *dir, char *err)
{
	struct dirent *de;
	DIR *dp;
	int n = 0;

	nm_repack_lock();
	dp = opendir(dir);
	if (!dp || !nm_repack_store_ready()) {
		nm_seterr(err, "%s: %s", dir, dp ? "out of memory" :
			  strerror(errno));
		if (dp)
			closedir(dp);
		nm_repack_unlock();
		return -1;
	}
	while ((de = readdir(dp))) {
		char path[700];

		if (!is_record_name(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n += load_one(path);
	}
	closedir(dp);
	nm_repack_unlock();
	return n;
}
