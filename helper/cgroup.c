/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper/cgroup.h"

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' &&
		    r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 +
				      (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
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

static int copy_str(char *dst, size_t len, const char *src, char *err)
{
	if (strlen(src) >= len) {
		nm_seterr(err, "cgroup: path too long: %.60s...", src);
		return -1;
	}
	strcpy(dst, src);
	return 0;
}

int nm_cgroup_mounts(const char *mountinfo_path, struct nm_cgroup_mounts *m,
		     char *err)
{
	FILE *f = fopen(mountinfo_path, "re");
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	if (!f) {
		nm_seterr(err, "cgroup: cannot read %s: %s", mountinfo_path,
			  strerror(errno));
		return -1;
	}
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		char *fld[6], *save = NULL, *p, *fstype, *sopts;
		int n = 0;

		line[strcspn(line, "\n")] = 0;
		for (p = strtok_r(line, " ", &save); p && n < 6;
		     p = strtok_r(NULL, " ", &save))
			fld[n++] = p;
		if (n < 6)
			continue;
		/* Skip the optional fields up to the "-" separator. */
		while (p && strcmp(p, "-") != 0)
			p = strtok_r(NULL, " ", &save);
		fstype = strtok_r(NULL, " ", &save);
		(void)strtok_r(NULL, " ", &save);	/* source */
		sopts = strtok_r(NULL, " ", &save);
		if (!fstype)
			continue;
		unescape(fld[3]);
		unescape(fld[4]);
		if (strcmp(fstype, "cgroup2") == 0 && !m->v2[0]) {
			if (copy_str(m->v2, sizeof(m->v2), fld[4], err) < 0 ||
			    copy_str(m->v2_root, sizeof(m->v2_root), fld[3],
				     err) < 0)
				rc = -1;
		} else if (strcmp(fstype, "cgroup") == 0 && sopts) {
			if (has_opt(sopts, "cpuset") && !m->v1_cpuset[0] &&
			    (copy_str(m->v1_cpuset, sizeof(m->v1_cpuset),
				      fld[4], err) < 0 ||
			     copy_str(m->v1_cpuset_root,
				      sizeof(m->v1_cpuset_root), fld[3],
				      err) < 0))
				rc = -1;
			if (has_opt(sopts, "freezer") && !m->v1_freezer[0] &&
			    (copy_str(m->v1_freezer, sizeof(m->v1_freezer),
				      fld[4], err) < 0 ||
			     copy_str(m->v1_freezer_root,
				      sizeof(m->v1_freezer_root), fld[3],
				      err) < 0))
				rc = -1;
		}
	}
	free(line);
	fclose(f);
	return rc;
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
			nm_seterr(err, "cgroup: %s is outside the hierarchy "
				  "mounted at %s (root %s)", path, mnt, root);
			return -1;
		}
		path += rl;
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

int nm_cgroup_of_files(const char *mountinfo_path, const char *cgroup_path,
		       struct nm_cgroups *out, char *err)
{
	struct nm_cgroup_mounts m;
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;
	bool any = false;

	memset(out, 0, sizeof(*out));
	if (nm_cgroup_mounts(mountinfo_path, &m, err) < 0)
		return -1;
	f = fopen(cgroup_path, "re");
	if (!f) {
		nm_seterr(err, "cgroup: cannot read %s: %s", cgroup_path,
			  errno == ENOENT ? "no such process" :
			  strerror(errno));
		return -1;
	}
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		char *c1, *c2;

		line[strcspn(line, "\n")] = 0;
		c1 = strchr(line, ':');
		c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c1 || !c2 || c2[1] != '/') {
			nm_seterr(err, "cgroup: malformed line in %s: %.60s",
				  cgroup_path, line);
			rc = -1;
			break;
		}
		*c1 = *c2 = 0;
		any = true;
		if (strcmp(line, "0") == 0 && !c1[1]) {
			rc = cg_dir(m.v2, m.v2_root, c2 + 1, out->v2,
				    sizeof(out->v2), err);
			continue;
		}
		if (has_opt(c1 + 1, "cpuset"))
			rc = cg_dir(m.v1_cpuset, m.v1_cpuset_root, c2 + 1,
				    out->v1_cpuset, sizeof(out->v1_cpuset),
				    err);
		if (rc == 0 && has_opt(c1 + 1, "freezer"))
			rc = cg_dir(m.v1_freezer, m.v1_freezer_root, c2 + 1,
				    out->v1_freezer, sizeof(out->v1_freezer),
				    err);
	}
	free(line);
	fclose(f);
	if (rc == 0 && !any) {
		nm_seterr(err, "cgroup: %s is empty", cgroup_path);
		rc = -1;
	}
	if (rc == 0 && out->v2[0]) {
		char path[600], buf[512];
		int fd;
		ssize_t n;

		snprintf(path, sizeof(path), "%s/cgroup.controllers", out->v2);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = 0;
			buf[strcspn(buf, "\n")] = 0;
			for (char *p = buf; *p; p++)
				if (*p == ' ')
					*p = ',';
			out->v2_has_cpuset = has_opt(buf, "cpuset");
		}
	}
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
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
static int cg_path(const char *dir, const char *file, char *out, size_t len,
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

/* Reads a whole small control file; NUL-terminated, caller frees. */
static char *slurp(const char *path, size_t *lenp, char *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, len = 0;
	char *buf;

	if (fd < 0) {
		nm_seterr(err, "cgroup: cannot read %s: %s", path,
			  strerror(errno));
		return NULL;
	}
	buf = malloc(cap);
	while (buf) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *b = cap < (64u << 20) ? realloc(buf, cap * 2) :
						      NULL;

			if (!b) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = b;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			nm_seterr(err, "cgroup: reading %s: %s", path,
				  strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (!buf) {
		nm_seterr(err, "cgroup: %s: out of memory", path);
		return NULL;
	}
	buf[len] = 0;
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
	if (cg_path(dir, file, path, sizeof(path), err) < 0)
		return -1;
	buf = slurp(path, NULL, err);
	if (!buf)
		return -1;
	rc = nm_list_parse(buf, out, NM_BITMAP_BITS, NM_LIST_ALLOW_EMPTY,
			   file, err);
	free(buf);
	return rc;
}

int nm_cgroup_set_list(const char *dir, const char *file,
		       const struct nm_bitmap *val, char *err)
{
	char path[1024], buf[8192];
	size_t n = nm_list_format(val, buf, sizeof(buf) - 1);
	int fd;
	ssize_t w;

	if (cg_path(dir, file, path, sizeof(path), err) < 0)
		return -1;
	if (n >= sizeof(buf) - 1) {
		nm_seterr(err, "cgroup: list for %s too long", path);
		return -1;
	}
	buf[n++] = '\n';
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		nm_seterr(err, "cgroup: cannot open %s: %s", path,
			  strerror(errno));
		return -1;
	}
	w = write(fd, buf, n);
	if (w != (ssize_t)n) {
		int e = w < 0 ? errno : EIO;

		close(fd);
		buf[n - 1] = 0;
		nm_seterr(err, "cgroup: writing '%s' to %s: %s", buf, path,
			  strerror(e));
		return -1;
	}
	if (close(fd) < 0) {
		nm_seterr(err, "cgroup: writing %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

struct pidvec {
	pid_t *v;
	int n, cap;
};

static int read_procs(const char *dir, struct pidvec *pv, char *err)
{
	char path[1024], *buf, *p, *end;

	if (cg_path(dir, "cgroup.procs", path, sizeof(path), err) < 0)
		return -1;
	buf = slurp(path, NULL, err);
	if (!buf)
		return -1;
	for (p = buf; *p; p = end) {
		long v;

		while (*p == '\n')
			p++;
		if (!*p)
			break;
		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || end == p || v <= 0 || v > 0x3fffffff ||
		    (*end && *end != '\n')) {
			nm_seterr(err, "cgroup: malformed %s", path);
			free(buf);
			return -1;
		}
		if (pv->n == pv->cap) {
			int cap = pv->cap ? pv->cap * 2 : 64;
			pid_t *nv = realloc(pv->v, (size_t)cap * sizeof(*nv));

			if (!nv) {
				nm_seterr(err, "cgroup: out of memory");
				free(buf);
				return -1;
			}
			pv->v = nv;
			pv->cap = cap;
		}
		pv->v[pv->n++] = (pid_t)v;
	}
	free(buf);
	return 0;
}

int nm_cgroup_pids(const char *dir, pid_t **pids, int *npids, char *err)
{
	struct pidvec pv = { 0 };

	*pids = NULL;
	*npids = 0;
	if (read_procs(dir, &pv, err) < 0) {
		free(pv.v);
		return -1;
	}
	*pids = pv.v;
	*npids = pv.n;
	return 0;
}

static int tree_walk(const char *dir, struct pidvec *pv, int depth, char *err)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (depth > 64) {
		nm_seterr(err, "cgroup: %s: too deep", dir);
		return -1;
	}
	if (read_procs(dir, pv, err) < 0)
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
			rc = tree_walk(sub, pv, depth + 1, err);
	}
	closedir(d);
	return rc;
}

int nm_cgroup_tree_pids(const char *dir, pid_t **pids, int *npids, char *err)
{
	struct pidvec pv = { 0 };

	*pids = NULL;
	*npids = 0;
	if (tree_walk(dir, &pv, 0, err) < 0) {
		free(pv.v);
		return -1;
	}
	*pids = pv.v;
	*npids = pv.n;
	return 0;
}
