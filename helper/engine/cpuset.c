/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper/engine/cpuset.h"
#include "lib/linux/cgroup.h"
#include "lib/linux/job_cgroup.h"

int nm_cgroup_set_list(const char *dir, const char *file,
		       const struct nm_bitmap *val, char *err)
{
	char path[1024], buf[8192];
	size_t n = nm_list_format(val, buf, sizeof(buf) - 1);
	int fd;
	ssize_t w;

	if (nm_cgroup_path(dir, file, path, sizeof(path), err) < 0)
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

/*
 * A cpuset's memory nodes.  In cgroup v2 an empty cpuset.mems means "the
 * parent's": its effective nodes are what its tasks may use, and writing
 * anything else there migrates their memory at once, behind the engine's
 * back.
 */
static int cpuset_mems(const char *dir, struct nm_bitmap *out, char *err)
{
	if (nm_cgroup_get_list(dir, "cpuset.mems", out, err) < 0)
		return -1;
	if (nm_bitmap_empty(out))
		return nm_cgroup_get_list(dir, "cpuset.mems.effective", out,
					  err);
	return 0;
}

static int find_cpuset(const struct nm_cpusets *c, const char *dir)
{
	for (int k = 0; k < c->n; k++)
		if (!strcmp(c->set[k].dir, dir))
			return k;
	return -1;
}

static bool is_left(const struct nm_cpusets *c, const char *dir)
{
	for (int k = 0; k < c->nleft; k++)
		if (!strcmp(c->left[k].dir, dir))
			return true;
	return false;
}

/*
 * Whether @dir is the move's to change: its whole subtree is processes
 * of @pids (and Slurm's step daemon, which task/cgroup puts in the
 * step's cpuset).  When not, it goes to c->left with why (unreadable
 * counts as shared: never write what could not be checked).
 */
static bool exclusive(struct nm_cpusets *c, const char *dir,
		      const pid_t *pids, int npids)
{
	struct nm_cpuset_left *l = &c->left[c->nleft];
	char msg[NM_ERRLEN], tmp[NM_ERRLEN], now[128];
	struct nm_bitmap mems;
	pid_t foreign;
	int inside, rc;

	rc = nm_cgroup_tree_within(dir, pids, npids, nm_slurm_stepd, &inside,
				   &foreign, msg);
	if (rc == 1)
		return true;
	snprintf(l->dir, sizeof(l->dir), "%s", dir);
	if (cpuset_mems(dir, &mems, tmp) == 0)
		nm_list_format(&mems, now, sizeof(now));
	else
		snprintf(now, sizeof(now), "?");
	if (rc == 0)
		snprintf(l->why, sizeof(l->why), "it holds process %d, which "
			 "is not moved: its memory nodes stay %.100s",
			 (int)foreign, now);
	else
		snprintf(l->why, sizeof(l->why), "%.120s: its memory nodes "
			 "stay %.100s", msg, now);
	c->nleft++;
	return false;
}

int nm_cpusets_collect(struct nm_cpusets *c, const pid_t *pids, int npids,
		       char *err)
{
	memset(c, 0, sizeof(*c));
	c->set = calloc(NM_CPUSETS_MAX, sizeof(*c->set));
	c->left = calloc(NM_CPUSETS_MAX / 2, sizeof(*c->left));
	if (!c->set || !c->left) {
		nm_seterr(err, "out of memory");
		return -1;
	}
	for (int i = 0; i < npids; i++) {
		struct nm_cgroups cg;
		const char *dir;

		if (nm_cgroup_of(pids[i], &cg, err) < 0)
			return -1;
		dir = cg.v1_cpuset[0] ? cg.v1_cpuset :
		      cg.v2[0] && cg.v2_has_cpuset ? cg.v2 : "";
		if (!dir[0] || find_cpuset(c, dir) >= 0 || is_left(c, dir))
			continue;	/* the root cpuset has every node */
		if (c->n + c->nleft == NM_CPUSETS_MAX / 2) {
			nm_seterr(err, "the job spans more than %d cpusets",
				  NM_CPUSETS_MAX / 2);
			return -1;
		}
		if (!exclusive(c, dir, pids, npids))
			continue;
		snprintf(c->set[c->n].dir, sizeof(c->set->dir), "%s", dir);
		if (cpuset_mems(dir, &c->set[c->n].orig, err) < 0)
			return -1;
		c->n++;
	}
	c->nleaves = c->n;
	return 0;
}

/* Adds @add to one cpuset's nodes, when it lacks some. */
static int widen_one(const char *dir, const struct nm_bitmap *add, char *err)
{
	struct nm_bitmap cur, want;

	if (cpuset_mems(dir, &cur, err) < 0)
		return -1;
	want = cur;
	nm_bitmap_or(&want, add);
	if (nm_bitmap_equal(&cur, &want))
		return 0;
	return nm_cgroup_set_list(dir, "cpuset.mems", &want, err);
}

/*
 * The ancestor @path, when it has nodes of its own that lack some of
 * @add: found (@write false: recorded once, with the nodes it had, to be
 * narrowed again afterwards), then widened (@write true).
 */
static int widen_ancestor(struct nm_cpusets *c, const char *path,
			  const struct nm_bitmap *add, bool write, char *err)
{
	struct nm_bitmap cur, want;
	char tmp[NM_ERRLEN];

	if (access(path, F_OK) != 0 ||
	    nm_cgroup_get_list(path, "cpuset.mems", &cur, tmp) < 0 ||
	    nm_bitmap_empty(&cur))
		return 0;
	want = cur;
	nm_bitmap_or(&want, add);
	if (nm_bitmap_equal(&cur, &want))
		return 0;
	if (write) {
		/* Only what was recorded is ever written. */
		if (find_cpuset(c, path) < 0) {
			nm_seterr(err, "cpuset %s changed during the move: "
				  "not widened", path);
			return -1;
		}
		return nm_cgroup_set_list(path, "cpuset.mems", &want, err);
	}
	if (find_cpuset(c, path) >= 0)
		return 0;
	if (c->n == NM_CPUSETS_MAX) {
		nm_seterr(err, "too many cpusets to widen");
		return -1;
	}
	snprintf(c->set[c->n].dir, sizeof(c->set->dir), "%s", path);
	c->set[c->n].orig = cur;
	c->set[c->n].ancestor = true;
	c->n++;
	return 0;
}

/*
 * Adds @add to a cpuset's memory nodes, and to its ancestors' first where
 * they have nodes of their own that lack them (@write false: only finds
 * those ancestors).
 */
static int widen_dir(struct nm_cpusets *c, const char *dir,
		     const struct nm_bitmap *add, bool write, char *err)
{
	static const char root[] = "/sys/fs/cgroup/";
	char path[512];
	char *p;

	snprintf(path, sizeof(path), "%s", dir);
	/* Walk from the top: each prefix of @dir below the hierarchy root. */
	for (p = path + sizeof(root) - 1; (p = strchr(p, '/')); p++) {
		int rc = 0;

		*p = '\0';
		if (strchr(path + sizeof(root) - 1, '/'))
			rc = widen_ancestor(c, path, add, write, err);
		*p = '/';
		if (rc < 0)
			return -1;
	}
	return write ? widen_one(dir, add, err) : 0;
}

int nm_cpusets_widen(struct nm_cpusets *c, const struct nm_bitmap *add,
		     nm_cpusets_record_fn *record, void *arg, char *err)
{
	/* Everything to change is known, and recorded, before any write. */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1 && c->n && record && record(arg, c, err) < 0)
			return -1;
		for (int n = 0; n < c->nleaves; n++) {
			struct nm_bitmap want = c->set[n].orig;

			nm_bitmap_or(&want, add);
			if (widen_dir(c, c->set[n].dir, &want, pass == 1,
				      err) < 0)
				return -1;
		}
	}
	return 0;
}

/*
 * The order to shrink cpusets in: the job's own first, then the ancestors
 * from the deepest up (a v1 parent may not lose nodes a child still has).
 */
static int shrink_order(const struct nm_cpusets *c, int i)
{
	return i < c->nleaves ? i : c->n - 1 - (i - c->nleaves);
}

void nm_cpusets_restore(const struct nm_cpusets *c, nm_cpuset_fail_fn *fail,
			void *arg)
{
	char err[NM_ERRLEN];

	for (int i = 0; i < c->n; i++) {
		const struct nm_cpuset *w = &c->set[shrink_order(c, i)];

		if (nm_cgroup_set_list(w->dir, "cpuset.mems", &w->orig,
				       err) < 0)
			fail(arg, w->dir, err);
	}
}

/* A job cpuset's nodes after the move: @map's image, and @holding. */
static void leaf_after(const struct nm_cpuset *w, const struct nm_topology *t,
		       const int *map, const struct nm_bitmap *holding,
		       struct nm_bitmap *want)
{
	int os;

	nm_bitmap_zero(want);
	nm_bitmap_foreach(os, &w->orig) {
		int idx = nm_topology_find(t, os);
		int to = idx >= 0 && map[idx] >= 0 ?
			 t->nodes[map[idx]].os : os;

		nm_bitmap_set(want, (unsigned int)to);
	}
	nm_bitmap_or(want, holding);
}

/* Whether @dir is below the ancestor @anc. */
static bool is_below(const char *dir, const char *anc)
{
	size_t n = strlen(anc);

	return !strncmp(dir, anc, n) && dir[n] == '/';
}

int nm_cpusets_narrow(const struct nm_cpusets *c, const struct nm_topology *t,
		      const int *map, const struct nm_bitmap *holding,
		      nm_cpuset_fail_fn *fail, void *arg)
{
	struct nm_bitmap *after = calloc((size_t)c->nleaves + 1,
					 sizeof(*after));
	char err[NM_ERRLEN];
	int rc = 0;

	if (!after) {
		for (int i = 0; i < c->n; i++)
			fail(arg, c->set[i].dir, "out of memory");
		return -1;
	}
	/* The job's own first, then the ancestors deepest first. */
	for (int i = 0; i < c->n; i++) {
		int k = shrink_order(c, i);
		const struct nm_cpuset *w = &c->set[k];
		struct nm_bitmap want = w->orig;

		if (k < c->nleaves) {
			leaf_after(w, t, map, holding, &after[k]);
			want = after[k];
		} else {
			for (int l = 0; l < c->nleaves; l++)
				if (is_below(c->set[l].dir, w->dir))
					nm_bitmap_or(&want, &after[l]);
		}
		if (nm_cgroup_set_list(w->dir, "cpuset.mems", &want,
				       err) < 0) {
			fail(arg, w->dir, err);
			rc = -1;
		}
	}
	free(after);
	return rc;
}

void nm_cpusets_release(struct nm_cpusets *c)
{
	free(c->set);
	free(c->left);
	memset(c, 0, sizeof(*c));
}
