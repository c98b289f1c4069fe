/* SPDX-License-Identifier: MIT */
/* The cpuset journal (cpuset_journal.h): written, removed, acted on. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "helper/daemon/cpuset_journal.h"
#include "helper/daemon/journal.h"
#include "helper/daemon/log.h"
#include "lib/base/file.h"
#include "lib/linux/atomic_file.h"

#define PREFIX "cpusets-"
#define CPUSET_JOURNAL_MAX ((size_t)1 << 20)

/* {"version": 1, "cpusets": [{"dir", "mems", "ancestor"}, ...]}. */
static json_t *record(const struct nm_cpusets *c)
{
	json_t *sets = json_array();
	char mems[8192];

	for (int i = 0; sets && i < c->n; i++) {
		if (nm_list_format(&c->set[i].orig, mems, sizeof(mems)) >=
		    sizeof(mems)) {
			json_decref(sets);
			return NULL;
		}
		json_array_append_new(sets, json_pack("{s:s, s:s, s:b}",
			"dir", c->set[i].dir, "mems", mems,
			"ancestor", c->set[i].ancestor));
	}
	return json_pack("{s:i, s:o}", "version", 1, "cpusets", sets);
}

int nm_cpuset_journal_begin(struct nm_cpuset_journal *j, const char *dir,
			    unsigned long id, const struct nm_cpusets *c,
			    char *err)
{
	json_t *rec = record(c);
	char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
	int rc = -1;

	json_decref(rec);
	if (!text)
		nm_seterr(err, "cannot record the cpusets");
	else
		rc = nm_journal_put(j->path, sizeof(j->path), dir, PREFIX, id,
				    text, "cpuset journal", err);
	free(text);
	return rc;
}

int nm_cpuset_journal_finish(struct nm_cpuset_journal *j, char *err)
{
	return nm_journal_drop(j->path, "cpuset journal", err);
}

/* One recorded cpuset, checked: what a root write may be given. */
static int parse_one(json_t *o, int i, struct nm_cpuset *out, char *err)
{
	json_t *dir = json_object_get(o, "dir"), *mems = json_object_get(o,
							"mems");
	json_t *anc = json_object_get(o, "ancestor");
	char msg[NM_ERRLEN];
	const char *d;

	if (!json_is_string(dir) || !json_is_string(mems) ||
	    !json_is_boolean(anc)) {
		nm_seterr(err, "cpuset %d: want \"dir\", \"mems\" and "
			  "\"ancestor\"", i);
		return -1;
	}
	d = json_string_value(dir);
	if (d[0] != '/' || strlen(d) >= sizeof(out->dir) ||
	    strstr(d, "/../") || strchr(d, '\n')) {
		nm_seterr(err, "cpuset %d: not a cgroup directory", i);
		return -1;
	}
	if (nm_list_parse(json_string_value(mems), &out->orig,
			  NM_BITMAP_BITS, 0, "mems", msg) < 0) {
		nm_seterr(err, "cpuset %d: %s", i, msg);
		return -1;
	}
	snprintf(out->dir, sizeof(out->dir), "%s", d);
	out->ancestor = json_is_true(anc);
	return 0;
}

int nm_cpuset_journal_parse(const char *buf, size_t len,
			    struct nm_cpusets *c, char *err)
{
	json_t *rec = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *sets = json_object_get(rec, "cpusets"), *o;
	json_t *v = json_object_get(rec, "version");
	size_t i;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if (!json_is_integer(v) || json_integer_value(v) != 1 ||
	    !json_is_array(sets)) {
		nm_seterr(err, "not a cpuset journal");
		goto out;
	}
	if (json_array_size(sets) < 1 ||
	    json_array_size(sets) > NM_CPUSETS_MAX) {
		nm_seterr(err, "want 1 to %d cpusets", NM_CPUSETS_MAX);
		goto out;
	}
	c->set = calloc(json_array_size(sets), sizeof(*c->set));
	if (!c->set) {
		nm_seterr(err, "out of memory");
		goto out;
	}
	json_array_foreach(sets, i, o) {
		if (parse_one(o, (int)i, &c->set[i], err) < 0)
			goto out;
		/* The job's own come first, as nm_cpusets_restore() wants. */
		if (!c->set[i].ancestor && c->nleaves < (int)i) {
			nm_seterr(err, "cpuset %d: a job's cpuset after an "
				  "ancestor", (int)i);
			goto out;
		}
		if (!c->set[i].ancestor)
			c->nleaves++;
		c->n++;
	}
	rc = 0;
out:
	if (rc < 0)
		nm_cpusets_release(c);
	json_decref(rec);
	return rc;
}

struct restoring {
	const char *file;
	int failed;
};

static void restore_failed(void *arg, const char *dir, const char *err)
{
	struct restoring *r = arg;
	char path[600];

	snprintf(path, sizeof(path), "%s/cpuset.mems", dir);
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		nm_log(LOG_INFO, "recovery: %s: cpuset %s is gone", r->file,
		       dir);
		return;
	}
	nm_log(LOG_ERR, "recovery: %s: %s", r->file, err);
	r->failed++;
}

/* Acts on one cpuset journal; 0 when it may go. */
static int recover_file(const char *path, char *err)
{
	size_t len;
	char *text = nm_read_file(path, CPUSET_JOURNAL_MAX, &len);
	struct restoring r = { .file = path };
	struct nm_cpusets c;

	if (!text) {
		nm_seterr(err, "cannot read: %s", strerror(errno));
		return -1;
	}
	if (nm_cpuset_journal_parse(text, len, &c, err) < 0) {
		free(text);
		return -1;
	}
	free(text);
	nm_cpusets_restore(&c, restore_failed, &r);
	if (!r.failed)
		nm_log(LOG_WARNING, "recovery: %s: a move died with its "
		       "cpusets widened: %d put back to the nodes they had",
		       path, c.n);
	nm_cpusets_release(&c);
	if (r.failed) {
		nm_seterr(err, "%d of its cpusets could not be put back",
			  r.failed);
		return -1;
	}
	return 0;
}

static void recover_one(void *arg, const char *path)
{
	char msg[NM_ERRLEN] = "";

	(void)arg;
	if (recover_file(path, msg) < 0)
		nm_log(LOG_ERR, "recovery: %s: %s (kept)", path, msg);
	else if (nm_atomic_remove(path, msg) < 0)
		nm_log(LOG_ERR, "recovery: %s: %s", path, msg);
}

int nm_cpuset_journal_recover(const char *dir, char *err)
{
	return nm_journal_each(dir, PREFIX, recover_one, NULL, err);
}
