/* SPDX-License-Identifier: MIT */
/* The one atomic file writer: temporary file, fsync, rename, fsync dir. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/linux/atomic_file.h"

static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The rename is an entry of the directory: only its fsync makes it stay. */
static int sync_dir(const char *path)
{
	char dir[4096], *slash;
	int fd, rc;

	if ((size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* sync_dir() of @path's directory, with a message. */
static int sync_parent(const char *path, char *err)
{
	if (sync_dir(path) == 0)
		return 0;
	nm_seterr(err, "%s: syncing its directory: %s", path, strerror(errno));
	return -1;
}

/* @tmp with @data on disk; on failure it is gone and errno says why. */
static int write_temp(const char *tmp, const void *data, size_t len,
		      mode_t mode)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	int e;

	if (fd < 0)
		return -1;
	if (write_all(fd, data, len) == 0 && fsync(fd) == 0) {
		if (close(fd) == 0)
			return 0;
		fd = -1;
	}
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
	return -1;
}

int nm_atomic_write(const char *path, const void *data, size_t len,
		    mode_t mode, char *err)
{
	char tmp[4200];

	if (!path || !path[0] ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >=
	    sizeof(tmp)) {
		nm_seterr(err, "atomic write: bad path '%.60s'",
			  path ? path : "");
		return -1;
	}
	if (write_temp(tmp, data, len, mode) < 0) {
		nm_seterr(err, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (rename(tmp, path) < 0) {
		nm_seterr(err, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return sync_parent(path, err);
}

int nm_atomic_remove(const char *path, char *err)
{
	if (unlink(path) < 0 && errno != ENOENT) {
		nm_seterr(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	return sync_parent(path, err);
}
