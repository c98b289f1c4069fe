/* SPDX-License-Identifier: MIT */
#include "helper/engine/kmod_client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static void kerr(char *err, const char *what, int e)
{
	if (err)
		snprintf(err, NM_KMOD_ERRLEN, "%s: %s", what, strerror(e));
}

int nm_kmod_open(struct nm_kmod_client *c, const char *path, char *err)
{
	int e;

	if (!path)
		path = NM_KMOD_DEVICE;
	memset(c, 0, sizeof(*c));
	c->fd = open(path, O_RDWR | O_CLOEXEC);
	if (c->fd < 0) {
		e = errno;
		if (err && e == ENOENT)
			snprintf(err, NM_KMOD_ERRLEN,
				 "%s: no such device (is numamigrate.ko loaded?)",
				 path);
		else
			kerr(err, path, e);
		return -e;
	}
	c->ver.size = sizeof(c->ver);
	if (ioctl(c->fd, NM_KMOD_IOC_VERSION, &c->ver) < 0) {
		e = errno;
		kerr(err, "NM_KMOD_IOC_VERSION", e);
		close(c->fd);
		c->fd = -1;
		return -e;
	}
	if (c->ver.abi_version != NM_KMOD_ABI_VERSION) {
		if (err)
			snprintf(err, NM_KMOD_ERRLEN,
				 "%s speaks ABI %u, this program ABI %u",
				 path, c->ver.abi_version, NM_KMOD_ABI_VERSION);
		close(c->fd);
		c->fd = -1;
		return -EPROTO;
	}
	return 0;
}

uint32_t nm_kmod_threads(const struct nm_kmod_client *c, int asked)
{
	uint32_t max = c && c->ver.max_threads ? c->ver.max_threads :
		       NM_KMOD_MAX_THREADS;

	if (asked <= 0)
		return 0;
	return (uint32_t)asked < max ? (uint32_t)asked : max;
}

void nm_kmod_close(struct nm_kmod_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int nm_kmod_move(struct nm_kmod_client *c, pid_t pid,
		 struct nm_kmod_range *ranges, uint32_t nr,
		 const struct nm_kmod_move_opts *opts,
		 struct nm_kmod_page_fail *fails, uint32_t max_fails,
		 struct nm_kmod_totals *tot, char *err)
{
	uint32_t per = c->ver.max_ranges ? c->ver.max_ranges : 1;
	uint32_t done = 0;

	memset(tot, 0, sizeof(*tot));
	if (max_fails > c->ver.max_fails)
		max_fails = c->ver.max_fails;
	while (done < nr) {
		struct nm_kmod_move m;
		uint32_t n = nr - done < per ? nr - done : per;
		int e = 0;

		memset(&m, 0, sizeof(m));
		m.abi_version = NM_KMOD_ABI_VERSION;
		m.size = sizeof(m);
		m.pid = pid;
		m.node = opts->node;
		m.flags = opts->flags;
		m.copy_mode = opts->copy_mode;
		m.threads = opts->threads;
		m.batch_pages = opts->batch_pages;
		m.nr_ranges = n;
		m.ranges = (uintptr_t)(ranges + done);
		m.max_fails = fails ? max_fails - tot->nr_fails : 0;
		m.fails = (uintptr_t)(fails ? fails + tot->nr_fails : NULL);
		if (ioctl(c->fd, NM_KMOD_IOC_MOVE, &m) < 0) {
			e = errno;
			if (e != EINTR) {
				kerr(err, "NM_KMOD_IOC_MOVE", e);
				return -e;
			}
		}
		tot->moved += m.moved;
		tot->failed += m.failed;
		tot->skipped += m.skipped;
		tot->dma_batches += m.dma_batches;
		tot->dma_fallbacks += m.dma_fallbacks;
		tot->copy_ns += m.copy_ns;
		tot->total_ns += m.total_ns;
		tot->nr_fails += m.nr_fails;
		tot->threads_used = m.threads_used;
		if (e) {
			kerr(err, "NM_KMOD_IOC_MOVE", e);
			return -e;
		}
		done += n;
	}
	return 0;
}

const char *nm_kmod_fail_reason(uint32_t reason)
{
	switch (reason) {
	case NM_KMOD_FAIL_BUSY:
		return "busy";
	case NM_KMOD_FAIL_NOMEM:
		return "nomem";
	case NM_KMOD_FAIL_MIGRATE:
		return "migrate";
	case NM_KMOD_FAIL_NOT_ANON:
		return "not-anon";
	case NM_KMOD_FAIL_VMA:
		return "vma";
	case NM_KMOD_FAIL_COPY:
		return "copy";
	case NM_KMOD_FAIL_INTR:
		return "interrupted";
	default:
		return "unknown";
	}
}
