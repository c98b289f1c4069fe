/* SPDX-License-Identifier: MIT */
/* The freeze journal: crash recovery for frozen jobs. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helper/daemon/journal.h"
#include "lib/base/file.h"
#include "lib/linux/atomic_file.h"

#define MAGIC "numamigrate-journal 1"
#define PREFIX "move-"
#define SUFFIX ".journal"
#define MAX_LINE (1u << 20)
/* Up to 3 intents and a frozen record, each under MAX_LINE: ample. */
#define MAX_FILE ((size_t)16 << 20)

/*
 * This daemon's generation, part of every journal file's name: move ids
 * restart at 1 with each daemon, so the name alone would let a new move
 * replace (and then delete) a journal kept after a failed thaw.  Above
 * both the clock and every generation already in the directory.
 */
static unsigned long long generation;
/* [testing] fail_thaws: recovery thaws still to fail on purpose. */
static int test_failures;

/*
 * The generation in any journal's name (move-, live-, cpusets-G-ID.*);
 * 0 for an old-style move-ID.journal or another file.
 */
static unsigned long long name_generation(const char *name)
{
	const char *dash = strchr(name, '-');
	unsigned long long g;
	unsigned long id;

	if (dash && strspn(name, "abcdefghijklmnopqrstuvwxyz") ==
	    (size_t)(dash - name) && strspn(dash + 1, "0123456789") &&
	    strspn(dash + 1, "0123456789") < 20 &&
	    sscanf(dash + 1, "%llu-%lu", &g, &id) == 2)
		return g;
	return 0;
}

int nm_journal_init(const char *dir, char *err)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		nm_seterr(err, "journal directory %s: %s", dir,
			  strerror(errno));
		return -1;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		nm_seterr(err, "journal directory %s: not a directory", dir);
		return -1;
	}
	generation = (unsigned long long)time(NULL);
	d = opendir(dir);
	if (!d) {
		nm_seterr(err, "journal directory %s: %s", dir,
			  strerror(errno));
		return -1;
	}
	while ((de = readdir(d)))
		if (name_generation(de->d_name) >= generation)
			generation = name_generation(de->d_name) + 1;
	closedir(d);
	return 0;
}

unsigned long long nm_journal_generation(void)
{
	return generation;
}

void nm_journal_test_failures(int n)
{
	test_failures = n;
}

/* The file's text: the header, then one "@kind FREEZE" line per record. */
static char *format_records(const struct nm_journal *j, const char *kind,
			    const struct nm_freeze *fz, int n, size_t *len,
			    char *err)
{
	char *line = malloc(MAX_LINE), *text = NULL;
	FILE *f = line ? open_memstream(&text, len) : NULL;
	bool ok = f != NULL;

	if (!ok) {
		free(line);
		nm_seterr(err, "out of memory");
		return NULL;
	}
	fprintf(f, MAGIC "\nmove %lu %lld\n", j->id, (long long)time(NULL));
	for (int i = 0; i < n && ok; i++) {
		int k = nm_freeze_format(&fz[i], line, MAX_LINE);

		ok = k >= 0 && (size_t)k < MAX_LINE && !strchr(line, '\n');
		if (ok)
			fprintf(f, "%s %s\n", kind, line);
		else
			nm_seterr(err, "journal: cannot record the freeze");
	}
	free(line);
	if (fclose(f) != 0 && ok) {
		nm_seterr(err, "out of memory");
		ok = false;
	}
	if (!ok) {
		free(text);
		return NULL;
	}
	return text;
}

/* Replaces the journal file with @kind records of @fz. */
static int write_records(struct nm_journal *j, const char *kind,
			 const struct nm_freeze *fz, int n, char *err)
{
	char e2[NM_ERRLEN];
	size_t len;
	char *text = format_records(j, kind, fz, n, &len, err);
	int rc;

	if (!text)
		return -1;
	rc = nm_atomic_write(j->path, text, len, 0600, e2);
	if (rc < 0)
		nm_seterr(err, "journal %s", e2);
	free(text);
	return rc;
}

int nm_journal_begin(struct nm_journal *j, const char *dir, unsigned long id,
		     const struct nm_freeze *intent, int nintent, char *err)
{
	struct stat st;

	if ((size_t)snprintf(j->path, sizeof(j->path), "%s/" PREFIX "%llu-%lu"
			     SUFFIX, dir, generation, id) >= sizeof(j->path)) {
		nm_seterr(err, "journal directory path too long");
		return -1;
	}
	/* Never replace a journal: it may be the only record of a freeze. */
	if (lstat(j->path, &st) == 0) {
		nm_seterr(err, "journal %s exists already: not overwritten",
			  j->path);
		return -1;
	}
	j->id = id;
	return write_records(j, "intent", intent, nintent, err);
}

int nm_journal_frozen(struct nm_journal *j, const struct nm_freeze *fz,
		      char *err)
{
	return write_records(j, "frozen", fz, 1, err);
}

int nm_journal_finish(struct nm_journal *j, char *err)
{
	return nm_journal_drop(j->path, "journal", err);
}

int nm_journal_put(char *path, size_t len, const char *dir,
		   const char *prefix, unsigned long id, const char *text,
		   const char *what, char *err)
{
	char e2[NM_ERRLEN];

	if ((size_t)snprintf(path, len, "%s/%s%llu-%lu.json", dir, prefix,
			     generation, id) >= len) {
		nm_seterr(err, "journal directory path too long");
		return -1;
	}
	if (nm_atomic_write(path, text, strlen(text), 0600, e2) < 0) {
		nm_seterr(err, "%s %s", what, e2);
		return -1;
	}
	return 0;
}

int nm_journal_drop(const char *path, const char *what, char *err)
{
	char e2[NM_ERRLEN];

	if (nm_atomic_remove(path, e2) < 0) {
		nm_seterr(err, "%s %s", what, e2);
		return -1;
	}
	return 0;
}

static bool has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);

	return n > k && !strcmp(name + n - k, suffix);
}

int nm_journal_each(const char *dir, const char *prefix,
		    void (*each)(void *arg, const char *path), void *arg,
		    char *err)
{
	struct dirent *de;
	int found = 0;
	DIR *d = opendir(dir);

	if (!d) {
		nm_seterr(err, "journal directory %s: %s", dir,
			  strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		char path[1024];

		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (has_suffix(de->d_name, ".tmp")) {
			unlink(path);	/* never renamed into place */
			continue;
		}
		if (!has_suffix(de->d_name, ".json"))
			continue;
		found++;
		each(arg, path);
	}
	closedir(d);
	return found;
}

int nm_journal_parse(const char *buf, size_t len,
		     int (*each)(void *arg, struct nm_freeze *fz, char *err),
		     void *arg, char *err)
{
	int pass, rc = 0, nfrozen = 0;

	for (pass = 0; pass < 2; pass++) {
		const char *want = pass == 0 ? "frozen " : "intent ";
		size_t off = 0;
		int lineno = 0;

		if (pass == 1 && nfrozen)
			break;
		while (off < len) {
			const char *p = buf + off, *nl = memchr(p, '\n',
								len - off);
			size_t n = nl ? (size_t)(nl - p) : len - off;
			struct nm_freeze fz;
			char msg[NM_ERRLEN], *line;
			int one;

			off += n + (nl ? 1 : 0);
			lineno++;
			if (lineno == 1 && (n != strlen(MAGIC) ||
					    memcmp(p, MAGIC, n) != 0)) {
				nm_seterr(err, "not a numamigrate journal");
				return -1;
			}
			if (n < 7 || memcmp(p, want, 7) != 0)
				continue;
			if (pass == 0)
				nfrozen++;
			/* A NUL would cut the record short: malformed. */
			if (memchr(p, '\0', n)) {
				nm_seterr(err, "line %d: malformed record",
					  lineno);
				rc = -1;
				continue;
			}
			line = strndup(p + 7, n - 7);
			if (!line) {
				nm_seterr(err, "line %d: out of memory",
					  lineno);
				rc = -1;
				continue;
			}
			one = nm_freeze_parse(line, &fz, msg);
			free(line);
			if (one == 0) {
				one = each(arg, &fz, msg);
				nm_freeze_release(&fz);
			}
			if (one < 0) {
				nm_seterr(err, "line %d: %s", lineno, msg);
				rc = -1;
			}
		}
	}
	return rc;
}

static int thaw_one(void *arg, struct nm_freeze *fz, char *err)
{
	(void)arg;
	return nm_thaw(fz, err);
}

/* Thaws the records of one file. */
static int recover_file(const char *path, char *err)
{
	size_t len;
	char *buf;
	int rc;

	buf = nm_read_file(path, MAX_FILE, &len);
	if (!buf) {
		nm_seterr(err, "%s", errno == EFBIG ? "larger than 16 MiB" :
			  strerror(errno));
		return -1;
	}
	if (test_failures > 0) {
		test_failures--;
		free(buf);
		nm_seterr(err, "thaw failed on purpose ([testing] fail_thaws)");
		return -1;
	}
	rc = nm_journal_parse(buf, len, thaw_one, NULL, err);
	free(buf);
	return rc;
}

int nm_journal_recover_file(const char *path, char *err)
{
	char e2[NM_ERRLEN];

	if (recover_file(path, err) < 0)
		return -1;
	if (nm_atomic_remove(path, e2) < 0) {
		nm_seterr(err, "cannot remove: %s", e2);
		return -1;
	}
	return 0;
}

int nm_journal_name(const char *name, unsigned long long *gen,
		    unsigned long *id)
{
	size_t len = strlen(name);
	int end = -1;

	if (len <= strlen(PREFIX) + strlen(SUFFIX) ||
	    strspn(name + strlen(PREFIX), "0123456789-") !=
	    len - strlen(PREFIX) - strlen(SUFFIX) ||
	    strncmp(name, PREFIX, strlen(PREFIX)) != 0)
		return -1;
	if (sscanf(name, PREFIX "%llu-%lu" SUFFIX "%n", gen, id, &end) == 2 &&
	    (size_t)end == len)
		return 0;
	*gen = 0;
	end = -1;
	if (sscanf(name, PREFIX "%lu" SUFFIX "%n", id, &end) == 1 &&
	    (size_t)end == len)
		return 0;
	return -1;
}

int nm_journal_recover(const char *dir,
		       void (*report)(void *arg, const char *file, int rc,
				      const char *msg),
		       void *arg, char *err)
{
	struct dirent *de;
	int found = 0;
	DIR *d;

	d = opendir(dir);
	if (!d) {
		nm_seterr(err, "journal directory %s: %s", dir,
			  strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char path[1024], msg[NM_ERRLEN] = "", e2[NM_ERRLEN];
		int rc;

		if (strncmp(de->d_name, PREFIX, strlen(PREFIX)) != 0)
			continue;
		if (n > strlen(SUFFIX) + 4 && !strcmp(de->d_name + n - 4,
						       ".tmp")) {
			/* never renamed into place: never acted on */
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
			continue;
		}
		if (n <= strlen(SUFFIX) ||
		    strcmp(de->d_name + n - strlen(SUFFIX), SUFFIX) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		rc = recover_file(path, msg);
		found++;
		/* Kept when it could not be thawed: an admin must look. */
		if (rc == 0 && nm_atomic_remove(path, e2) < 0) {
			rc = -1;
			nm_seterr(msg, "cannot remove: %s", e2);
		}
		if (report)
			report(arg, path, rc, msg);
	}
	closedir(d);
	return found;
}
