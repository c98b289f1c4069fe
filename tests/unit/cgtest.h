/* SPDX-License-Identifier: MIT */
#ifndef NM_CGTEST_H
#define NM_CGTEST_H

/* Scratch cgroups and child processes for the cgroup and freezer tests. */

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/linux/cgroup.h"
#include "lib/linux/proc.h"

static inline void put(const char *dir, const char *file, const char *val)
{
	char path[1400];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		fail_msg("writing '%s' to %s failed", val, path);
	close(fd);
}

static inline void get(const char *dir, const char *file, char *buf,
		       size_t len)
{
	char path[1400];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY);
	n = fd >= 0 ? read(fd, buf, len - 1) : -1;
	if (n < 0)
		fail_msg("reading %s failed", path);
	close(fd);
	buf[n] = 0;
}

/* A fresh cgroup under @mnt; "" when the hierarchy is not mounted here. */
static inline bool make_cgroup(const char *mnt, const char *tag, char *dir,
			       size_t len, bool v1_cpuset)
{
	if (!mnt[0] || geteuid() != 0)
		return false;
	snprintf(dir, len, "%s/nmtest-%s-%d", mnt, tag, (int)getpid());
	if (mkdir(dir, 0755) < 0)
		fail_msg("mkdir %s failed", dir);
	if (v1_cpuset) {
		char buf[4096];

		/* v1 cpusets take no tasks before cpus and mems are set */
		get(mnt, "cpuset.cpus", buf, sizeof(buf));
		put(dir, "cpuset.cpus", buf);
		get(mnt, "cpuset.mems", buf, sizeof(buf));
		put(dir, "cpuset.mems", buf);
	}
	return true;
}

static inline void enter(const char *dir, pid_t pid)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	put(dir, "cgroup.procs", buf);
}

/* Moves everything back to the root and removes the cgroup. */
static inline void drop_cgroup(const char *mnt, const char *dir)
{
	for (int i = 0; i < 100 && rmdir(dir) < 0; i++)
		usleep(10000);
	(void)mnt;
}

static void *sleeper_thread(void *arg)
{
	(void)arg;
	for (;;)
		usleep(1000);
	return NULL;
}

/* A child with @nthreads extra threads, all sleeping in short loops. */
static inline pid_t spawn_sleeper(int nthreads)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p) < 0)
		fail_msg("pipe");
	pid = fork();
	if (pid == 0) {
		pthread_t t;

		for (int i = 0; i < nthreads; i++)
			pthread_create(&t, NULL, sleeper_thread, NULL);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			usleep(1000);
	}
	if (pid < 0 || read(p[0], &c, 1) != 1)
		fail_msg("spawn");
	close(p[0]);
	close(p[1]);
	return pid;
}

static inline void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Waits up to 2 s for nm_process_stopped(@pid) == @want. */
static inline bool settles(pid_t pid, int want)
{
	char err[NM_ERRLEN];

	for (int i = 0; i < 400; i++) {
		if (nm_process_stopped(pid, NULL, err) == want)
			return true;
		usleep(5000);
	}
	return false;
}

#endif
