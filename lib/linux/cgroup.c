/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/linux/cgroup.h"
#include "lib/base/file.h"
#include "lib/linux/proc.h"

/* The most read of one file (a host's mountinfo: a few MiB at most). */
#define CG_FILE_MAX (64u << 20)

/* The largest pid Linux hands out (PID_MAX_LIMIT, 2^22) is far below. */
#define PID_MAX 0x3fffffff

/* The next line of [@p, @end): its length without the '\n'. */
static size_t line_len(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	*next = nl ? nl + 1 : end;
	return nl ? (size_t)(nl - p) : (size_t)(end - p);
}

/*
 * mountinfo escapes space, tab, newline and backslash as \ooo.  False when
 * an escape makes a '\0' (never from the kernel: a path holds none).
 */
static bool unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' &&
		    r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
			*w = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 +
				    (r[3] - '0'));
			if (!*w++)
				return false;
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
	return true;
}

static bool has_opt(const char *opts, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = opts; p && *p;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);

		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p = c ? c + 1 : NULL;
	}
	return false;
}

/* A mount point and its root into an empty slot (@size bytes each). */
static int set_mount(char *mnt, char *root, size_t size, const char *fmnt,
		     const char *froot, char *err)
{
	if (mnt[0])
		return 0;	/* the first mount of a hierarchy wins */
	if (strlen(fmnt) >= size || strlen(froot) >= size) {
		nm_seterr(err, "cgroup: mount path too long: %.60s...", fmnt);
		return -1;
	}
	strcpy(mnt, fmnt);
	strcpy(root, froot);
	return 0;
}

/* One mountinfo line (a C string of its own). */
static int mount_line(char *line, struct nm_cgroup_mounts *m, char *err)
{
	char *fld[6], *save = NULL, *p, *fstype, *sopts;
	int n = 0, rc = 0;

	for (p = strtok_r(line, " ", &save); p && n < 6;
	     p = strtok_r(NULL, " ", &save))
		fld[n++] = p;
	if (n < 6)
		return 0;
	/* Skip the optional fields up to the "-" separator. */
	while (p && strcmp(p, "-") != 0)
		p = strtok_r(NULL, " ", &save);
	fstype = p ? strtok_r(NULL, " ", &save) : NULL;
	(void)strtok_r(NULL, " ", &save);	/* source */
	sopts = strtok_r(NULL, " ", &save);
	if (!fstype || (strcmp(fstype, "cgroup2") != 0 &&
			(strcmp(fstype, "cgroup") != 0 || !sopts)))
		return 0;
	/* Both absolute, or not a mount this can use. */
	if (!unescape(fld[3]) || !unescape(fld[4]) || fld[3][0] != '/' ||
	    fld[4][0] != '/')
		return 0;
	if (fstype[6] == '2')
		return set_mount(m->v2, m->v2_root, sizeof(m->v2), fld[4],
				 fld[3], err);
	if (has_opt(sopts, "cpuset"))
		rc = set_mount(m->v1_cpuset, m->v1_cpuset_root,
			       sizeof(m->v1_cpuset), fld[4], fld[3], err);
	if (rc == 0 && has_opt(sopts, "freezer"))
		rc = set_mount(m->v1_freezer, m->v1_freezer_root,
			       sizeof(m->v1_freezer), fld[4], fld[3], err);
	return rc;
}

int nm_cgroup_mounts_parse(const char *buf, size_t len,
			   struct nm_cgroup_mounts *m, char *err)
{
	const char *end = buf + len, *next;

	for (const char *p = buf; p < end; p = next) {
		size_t n = line_len(p, end, &next);
		char *line;
		int rc;

		/* Only cgroup mounts are copied into C strings. */
		if (!memmem(p, n, " - cgroup", 9) || memchr(p, '\0', n))
			continue;
		line = strndup(p, n);
		if (!line) {
			nm_seterr(err, "cgroup: out of memory");
			return -1;
		}
		rc = mount_line(line, m, err);
		free(line);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int nm_cgroup_mounts(const char *mountinfo_path, struct nm_cgroup_mounts *m,
		     char *err)
{
	size_t len;
	char *buf;
	int rc;

	memset(m, 0, sizeof(*m));
	buf = nm_read_file(mountinfo_path, CG_FILE_MAX, &len);
	if (!buf) {
		nm_seterr(err, "cgroup: cannot read %s: %s", mountinfo_path,
			  strerror(errno));
		return -1;
	}
	rc = nm_cgroup_mounts_parse(buf, len, m, err);
	free(buf);
	if (rc < 0)
		memset(m, 0, sizeof(*m));
	return rc;
}

/*
 * Whether @path (absolute) goes only down: no "." or ".." component.  A
 * process outside the reader's cgroup namespace shows as "/../x", which
 * would leave the mount.
 */
static bool goes_down(const char *path)
{
	for (const char *p = path; *p;) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
	}
	return true;
}

/* Directory of cgroup @path in a hierarchy mounted at @mnt from @root. */
static int cg_dir(const char *mnt, const char *root, const char *path,
		  char *out, size_t len, char *err)
{
	size_t rl = strlen(root);

	out[0] = 0;
	if (!mnt[0])
		return 0;
	if (strcmp(root, "/") != 0) {
		if (strncmp(path, root, rl) != 0 ||
		    (path[rl] != '/' && path[rl] != 0)) {
			nm_seterr(err, "cgroup: %.80s is outside the hierarchy "
				  "mounted at %.80s (root %.60s)", path, mnt,
				  root);
			return -1;
		}
		path += rl;
	}
	if (!goes_down(path)) {
		nm_seterr(err, "cgroup: %.80s is outside the hierarchy "
			  "mounted at %.80s", path, mnt);
		return -1;
	}
	if (!path[0] || strcmp(path, "/") == 0)
		return 0;
	if ((size_t)snprintf(out, len, "%s%s", mnt, path) >= len) {
		nm_seterr(err, "cgroup: path too long: %.60s...", path);
		out[0] = 0;
		return -1;
	}
	return 0;
}

/* One /proc/PID/cgroup line (a C string of its own). */
static int cgroup_line(char *line, const struct nm_cgroup_mounts *m,
		       struct nm_cgroups *out, char *err)
{
	char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	int rc = 0;

	if (!c1 || !c2 || c2[1] != '/') {
		nm_seterr(err, "cgroup: malformed line: %.60s", line);
		return -1;
	}
	*c1 = *c2 = 0;
	if (strcmp(line, "0") == 0 && !c1[1])
		return cg_dir(m->v2, m->v2_root, c2 + 1, out->v2,
			      sizeof(out->v2), err);
	if (has_opt(c1 + 1, "cpuset"))
		rc = cg_dir(m->v1_cpuset, m->v1_cpuset_root, c2 + 1,
			    out->v1_cpuset, sizeof(out->v1_cpuset), err);
	if (rc == 0 && has_opt(c1 + 1, "freezer"))
		rc = cg_dir(m->v1_freezer, m->v1_freezer_root, c2 + 1,
			    out->v1_freezer, sizeof(out->v1_freezer), err);
	return rc;
}

int nm_cgroup_file_parse(const char *buf, size_t len,
			 const struct nm_cgroup_mounts *m,
			 struct nm_cgroups *out, char *err)
{
	const char *end = buf + len, *next;
	int lines = 0;

	for (const char *p = buf; p < end; p = next) {
		size_t n = line_len(p, end, &next);
		char *line;
		int rc;

		if (memchr(p, '\0', n)) {
			nm_seterr(err, "cgroup: malformed line: a NUL byte");
			return -1;
		}
		line = strndup(p, n);
		if (!line) {
			nm_seterr(err, "cgroup: out of memory");
			return -1;
		}
		rc = cgroup_line(line, m, out, err);
		free(line);
		if (rc < 0)
			return -1;
		lines++;
	}
	return lines;
}

/* Whether the v2 cgroup @dir has the cpuset controller enabled. */
static bool v2_cpuset(const char *dir)
{
	char path[600], *buf, *save = NULL;
	size_t len;
	bool yes = false;

	snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
	buf = nm_read_file(path, 4096, &len);
	if (!buf)
		return false;
	/* "cpuset cpu io memory pids\n" */
	for (char *p = strtok_r(buf, " \n", &save); p && !yes;
	     p = strtok_r(NULL, " \n", &save))
		yes = strcmp(p, "cpuset") == 0;
	free(buf);
	return yes;
}

int nm_cgroup_of_files(const char *mountinfo_path, const char *cgroup_path,
		       struct nm_cgroups *out, char *err)
{
	struct nm_cgroup_mounts m;
	char msg[NM_ERRLEN], *buf;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if (nm_cgroup_mounts(mountinfo_path, &m, err) < 0)
		return -1;
	buf = nm_read_file(cgroup_path, CG_FILE_MAX, &len);
	if (!buf) {
		nm_seterr(err, "cgroup: cannot read %s: %s", cgroup_path,
			  errno == ENOENT ? "no such process" :
			  strerror(errno));
		return -1;
	}
	rc = nm_cgroup_file_parse(buf, len, &m, out, msg);
	free(buf);
	if (rc < 0)
		nm_seterr(err, "%s (in %s)", msg, cgroup_path);
	else if (rc == 0)
		nm_seterr(err, "cgroup: %s is empty", cgroup_path);
	if (rc <= 0) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	if (out->v2[0])
		out->v2_has_cpuset = v2_cpuset(out->v2);
	return 0;
}

int nm_cgroup_of(pid_t pid, struct nm_cgroups *out, char *err)
{
	char path[64];

	if (pid <= 0) {
		memset(out, 0, sizeof(*out));
		nm_seterr(err, "cgroup: invalid pid %d", (int)pid);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (nm_cgroup_of_files("/proc/self/mountinfo", path, out, err) < 0) {
		if (access(path, F_OK) != 0)
			nm_seterr(err, "pid %d: no such process", (int)pid);
		return -1;
	}
	return 0;
}

/* A control file name: plain, so @dir/@file stays inside @dir. */
int nm_cgroup_path(const char *dir, const char *file, char *out, size_t len,
		   char *err)
{
	if (!dir || !dir[0] || dir[0] != '/') {
		nm_seterr(err, "cgroup: not a cgroup directory: '%s'",
			  dir ? dir : "");
		return -1;
	}
	if (!file || !file[0] || file[0] == '.' || strchr(file, '/')) {
		nm_seterr(err, "cgroup: bad control file name '%s'",
			  file ? file : "");
		return -1;
	}
	if ((size_t)snprintf(out, len, "%s/%s", dir, file) >= len) {
		nm_seterr(err, "cgroup: path too long: %.60s...", dir);
		return -1;
	}
	return 0;
}

/* A whole control file; '\0' after it, caller frees. */
static char *slurp(const char *path, size_t *lenp, char *err)
{
	size_t len;
	char *buf = nm_read_file(path, CG_FILE_MAX, &len);

	if (!buf) {
		nm_seterr(err, "cgroup: cannot read %s: %s", path,
			  strerror(errno));
		return NULL;
	}
	if (lenp)
		*lenp = len;
	return buf;
}

int nm_cgroup_get_list(const char *dir, const char *file,
		       struct nm_bitmap *out, char *err)
{
	char path[1024], *buf;
	int rc;

	nm_bitmap_zero(out);
	if (nm_cgroup_path(dir, file, path, sizeof(path), err) < 0)
		return -1;
	buf = slurp(path, NULL, err);
	if (!buf)
		return -1;
	rc = nm_list_parse(buf, out, NM_BITMAP_BITS, NM_LIST_ALLOW_EMPTY,
			   file, err);
	free(buf);
	return rc;
}

int nm_cgroup_procs_parse(const char *buf, size_t len, pid_t **pids,
			  int *npids, char *err)
{
	const char *end = buf + len, *next;
	size_t lines = 0;
	int n0 = *npids;
	pid_t *v;

	/* At most one pid a line: room for them all at once. */
	for (const char *p = buf; p < end; p = next, lines++)
		line_len(p, end, &next);
	if (lines > (size_t)(INT_MAX - *npids)) {
		nm_seterr(err, "cgroup: too many processes");
		return -1;
	}
	if (!lines)
		return 0;
	v = realloc(*pids, ((size_t)*npids + lines) * sizeof(*v));
	if (!v) {
		nm_seterr(err, "cgroup: out of memory");
		return -1;
	}
	*pids = v;
	for (const char *p = buf; p < end; p = next) {
		size_t n = line_len(p, end, &next);
		int pid = 0;

		if (!n)
			continue;	/* empty lines carry nothing */
		for (size_t i = 0; i < n && pid >= 0; i++)
			pid = p[i] < '0' || p[i] > '9' ||
			      pid > (PID_MAX - (p[i] - '0')) / 10 ? -1 :
			      pid * 10 + (p[i] - '0');
		if (pid <= 0) {
			nm_seterr(err, "cgroup: malformed pid: %.*s",
				  (int)(n < 20 ? n : 20), p);
			*npids = n0;
			return -1;
		}
		v[(*npids)++] = (pid_t)pid;
	}
	return 0;
}

static int read_procs(const char *dir, pid_t **pids, int *npids, char *err)
{
	char path[1024], msg[NM_ERRLEN], *buf;
	size_t len;
	int rc;

	if (nm_cgroup_path(dir, "cgroup.procs", path, sizeof(path), err) < 0)
		return -1;
	buf = slurp(path, &len, err);
	if (!buf)
		return -1;
	rc = nm_cgroup_procs_parse(buf, len, pids, npids, msg);
	free(buf);
	if (rc < 0)
		nm_seterr(err, "%s (in %s)", msg, path);
	return rc;
}

int nm_cgroup_pids(const char *dir, pid_t **pids, int *npids, char *err)
{
	*pids = NULL;
	*npids = 0;
	if (read_procs(dir, pids, npids, err) < 0) {
		free(*pids);
		*pids = NULL;
		*npids = 0;
		return -1;
	}
	return 0;
}

static int tree_walk(const char *dir, pid_t **pids, int *npids, int depth,
		     char *err)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (depth > 64) {
		nm_seterr(err, "cgroup: %s: too deep", dir);
		return -1;
	}
	if (read_procs(dir, pids, npids, err) < 0)
		return -1;
	d = opendir(dir);
	if (!d) {
		nm_seterr(err, "cgroup: cannot list %s: %s", dir,
			  strerror(errno));
		return -1;
	}
	while (rc == 0 && (e = readdir(d))) {
		char sub[1024];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir,
				     e->d_name) >= sizeof(sub))
			continue;
		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			rc = tree_walk(sub, pids, npids, depth + 1, err);
	}
	closedir(d);
	return rc;
}

int nm_cgroup_tree_pids(const char *dir, pid_t **pids, int *npids, char *err)
{
	*pids = NULL;
	*npids = 0;
	if (tree_walk(dir, pids, npids, 0, err) < 0) {
		free(*pids);
		*pids = NULL;
		*npids = 0;
		return -1;
	}
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

int nm_cgroup_tree_within(const char *dir, const pid_t *pids, int npids,
			  bool (*ignore)(pid_t pid), int *inside,
			  pid_t *foreign, char *err)
{
	pid_t *v, *mine = NULL;
	int nv, rc = 1;

	*inside = 0;
	*foreign = 0;
	if (nm_cgroup_tree_pids(dir, &v, &nv, err) < 0)
		return -1;
	if (npids > 0) {
		mine = malloc((size_t)npids * sizeof(*mine));
		if (!mine) {
			free(v);
			nm_seterr(err, "out of memory");
			return -1;
		}
		memcpy(mine, pids, (size_t)npids * sizeof(*mine));
		qsort(mine, (size_t)npids, sizeof(*mine), cmp_pid);
	}
	for (int i = 0; i < nv; i++) {
		if (mine && bsearch(&v[i], mine, (size_t)npids,
				    sizeof(*mine), cmp_pid)) {
			(*inside)++;
		} else if (rc == 1 && !(ignore && ignore(v[i]))) {
			*foreign = v[i];
			rc = 0;
		}
	}
	free(mine);
	free(v);
	return rc;
}

bool nm_cgroup_is_exactly(const char *dir, const pid_t *pids, int npids)
{
	char err[NM_ERRLEN];
	pid_t foreign;
	int inside;

	return nm_cgroup_tree_within(dir, pids, npids, NULL, &inside,
				     &foreign, err) == 1 && inside == npids;
}

static const char *const freeze_state_names[] = {
	[NM_THAWED] = "THAWED", [NM_FREEZING] = "FREEZING",
	[NM_FROZEN] = "FROZEN",
};

const char *nm_freeze_state_name(enum nm_freeze_state st)
{
	return (unsigned int)st <= NM_FROZEN ? freeze_state_names[st] : "?";
}

/* A small control file of @dir, '\0'-terminated; caller frees. */
static char *control_file(const char *dir, const char *file, char *err)
{
	char path[1024];

	if (nm_cgroup_path(dir, file, path, sizeof(path), err) < 0)
		return NULL;
	return slurp(path, NULL, err);
}

/* Whether @buf has the line @line (e.g. "frozen 1"). */
static bool has_line(const char *buf, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = buf; p; p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (strncmp(p, line, n) == 0 && (p[n] == '\n' || !p[n]))
			return true;
	return false;
}

/* v2: actual state in cgroup.events, the request in cgroup.freeze. */
static int v2_freeze_state(const char *dir, enum nm_freeze_state *st,
			   char *err)
{
	char *ev = control_file(dir, "cgroup.events", err), *req;
	bool frozen, known;

	if (!ev)
		return -1;
	frozen = has_line(ev, "frozen 1");
	known = frozen || has_line(ev, "frozen 0");
	free(ev);
	if (!known) {
		nm_seterr(err, "cgroup: %s/cgroup.events has no 'frozen' "
			  "(kernel without the v2 freezer)", dir);
		return -1;
	}
	if (frozen) {
		*st = NM_FROZEN;
		return 0;
	}
	req = control_file(dir, "cgroup.freeze", err);
	if (!req)
		return -1;
	*st = req[0] == '1' ? NM_FREEZING : NM_THAWED;
	free(req);
	return 0;
}

static int v1_freeze_state(const char *dir, enum nm_freeze_state *st,
			   char *err)
{
	char *buf = control_file(dir, "freezer.state", err);
	int rc = -1;

	if (!buf)
		return -1;
	buf[strcspn(buf, "\n")] = 0;
	for (int s = NM_THAWED; s <= NM_FROZEN; s++)
		if (strcmp(buf, freeze_state_names[s]) == 0) {
			*st = (enum nm_freeze_state)s;
			rc = 0;
		}
	if (rc < 0)
		nm_seterr(err, "cgroup: %s/freezer.state: unknown state "
			  "'%.20s'", dir, buf);
	free(buf);
	return rc;
}

int nm_cgroup_freeze_state(const char *dir, bool v2,
			   enum nm_freeze_state *st, char *err)
{
	return v2 ? v2_freeze_state(dir, st, err) :
		    v1_freeze_state(dir, st, err);
}

int nm_cgroup_freeze_requested(const char *dir, bool v2, char *err)
{
	enum nm_freeze_state st;
	char *req;
	int rc;

	if (!v2)
		return v1_freeze_state(dir, &st, err) < 0 ? -1 :
		       st != NM_THAWED;
	req = control_file(dir, "cgroup.freeze", err);
	if (!req)
		return -1;
	rc = req[0] == '1';
	free(req);
	return rc;
}

int nm_process_freeze_state(pid_t pid, enum nm_freeze_state *st, char *err)
{
	struct nm_cgroups cg;
	enum nm_freeze_state s;
	char e2[NM_ERRLEN];
	int r = nm_process_stopped(pid, NULL, err);

	if (r < 0)
		return -1;
	*st = r == 1 ? NM_FROZEN : NM_THAWED;
	if (*st == NM_FROZEN || nm_cgroup_of(pid, &cg, e2) < 0)
		return 0;
	if (cg.v2[0] && nm_cgroup_freeze_state(cg.v2, true, &s, e2) == 0 &&
	    s > *st)
		*st = s;
	if (cg.v1_freezer[0] &&
	    nm_cgroup_freeze_state(cg.v1_freezer, false, &s, e2) == 0 &&
	    s > *st)
		*st = s;
	return 0;
}
