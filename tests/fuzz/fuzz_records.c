/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the records numamigrated reads back after a restart.
 * The first byte picks one: a freeze journal file (nm_journal_parse, with
 * a callback in place of the thaw), one freeze record (nm_freeze_parse),
 * a repack record (nm_repack_record_parse) or a cpuset journal
 * (nm_cpuset_journal_parse).  Nothing here acts.  A
 * parsed record is what the code that acts on it assumes, and formats and
 * parses back to itself; an error is one line.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helper/daemon/cpuset_journal.h"
#include "helper/daemon/journal.h"
#include "helper/daemon/repack_record.h"
#include "lib/core/topology.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_err(const char *err)
{
	if (!err[0] || !memchr(err, '\0', NM_ERRLEN) || strchr(err, '\n'))
		abort();
}

/* What nm_thaw() relies on, and a lossless journal line. */
static void check_freeze(const struct nm_freeze *fz)
{
	static char line[1 << 20];
	struct nm_freeze again;
	char err[NM_ERRLEN] = "";

	if ((unsigned int)fz->method > NM_FREEZE_SIGSTOP || fz->npids < 0 ||
	    (fz->npids && (!fz->pids || !fz->starts)) ||
	    !memchr(fz->cgroup, '\0', sizeof(fz->cgroup)))
		abort();
	for (int i = 0; i < fz->npids; i++)
		if (fz->pids[i] <= 0)
			abort();
	if (nm_freeze_format(fz, line, sizeof(line)) < 0 ||
	    strchr(line, '\n') || nm_freeze_parse(line, &again, err) < 0 ||
	    again.method != fz->method || again.was_frozen != fz->was_frozen ||
	    strcmp(again.cgroup, fz->cgroup) != 0 ||
	    again.npids != fz->npids)
		abort();
	for (int i = 0; i < fz->npids; i++)
		if (again.pids[i] != fz->pids[i] ||
		    again.starts[i] != fz->starts[i])
			abort();
	nm_freeze_release(&again);
}

static int each(void *arg, struct nm_freeze *fz, char *err)
{
	(void)err;
	check_freeze(fz);
	++*(int *)arg;
	return 0;
}

/* What restore_one() assumes of a record that passed. */
static void check_repack(json_t *rec, uint64_t job)
{
	json_t *e, *t, *v;
	const char *k;
	size_t i, j;

	if ((uint64_t)json_integer_value(json_object_get(rec, "job")) != job)
		abort();
	json_array_foreach(json_object_get(rec, "evacuated"), i, e) {
		json_array_foreach(json_object_get(e, "tasks"), j, t)
			if (json_integer_value(json_array_get(t, 0)) <= 0 ||
			    json_integer_value(json_array_get(t, 0)) > INT_MAX)
				abort();
		json_object_foreach(json_object_get(e, "map"), k, v)
			if (atoi(k) < 0 || atoi(k) >= NM_MAX_NODES ||
			    json_integer_value(v) < 0 ||
			    json_integer_value(v) >= NM_MAX_NODES)
				abort();
	}
}

/* What nm_cpusets_restore() assumes: the job's own first, real paths. */
static void check_cpusets(const struct nm_cpusets *c)
{
	if (c->n < 1 || c->n > NM_CPUSETS_MAX || c->nleaves > c->n)
		abort();
	for (int i = 0; i < c->n; i++)
		if (c->set[i].dir[0] != '/' || c->set[i].ancestor != (i >=
		    c->nleaves) || nm_bitmap_empty(&c->set[i].orig))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[NM_ERRLEN] = "", *buf;
	size_t len;

	if (size < 1)
		return 0;
	len = size - 1;
	/* An exact copy: ASan sees any read past the end. */
	buf = malloc(len ? len : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, len);
	switch (data[0] % 4) {
	case 0: {
		int n = 0;

		if (nm_journal_parse(buf, len, each, &n, err) < 0)
			check_err(err);
		break;
	}
	case 1: {
		struct nm_freeze fz;
		char *line = malloc(len + 1);

		if (!line)
			break;
		memcpy(line, buf, len);
		line[len] = '\0';
		if (nm_freeze_parse(line, &fz, err) == 0) {
			check_freeze(&fz);
			nm_freeze_release(&fz);
		} else {
			check_err(err);
		}
		free(line);
		break;
	}
	case 3: {
		struct nm_cpusets c;

		if (nm_cpuset_journal_parse(buf, len, &c, err) == 0) {
			check_cpusets(&c);
			nm_cpusets_release(&c);
		} else {
			check_err(err);
		}
		break;
	}
	default: {
		uint64_t job, job2;
		json_t *rec = nm_repack_record_parse(buf, len, &job, err);
		char *s;

		if (!rec) {
			check_err(err);
			break;
		}
		check_repack(rec, job);
		/* As record_save() writes it, it loads again. */
		s = json_dumps(rec, JSON_COMPACT);
		json_decref(rec);
		if (!s)
			abort();
		rec = nm_repack_record_parse(s, strlen(s), &job2, err);
		if (!rec || job2 != job)
			abort();
		json_decref(rec);
		free(s);
		break;
	}
	}
	free(buf);
	return 0;
}
