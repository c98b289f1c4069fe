/* SPDX-License-Identifier: MIT */
#ifndef NM_ENGINE_KMOD_H
#define NM_ENGINE_KMOD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct nm_kmod_client;

/*
 * The kernel-module backend of the engine (helper/engine/engine.c): one batch
 * of address ranges of @pid moved to @node with one NM_KMOD_IOC_MOVE (copy by
 * @threads kernel threads, 0: every CPU of the node), then every page accounted
 * for as move_pages(2) would: @status gets, per base page of the ranges in
 * order, the node the page is on, or -errno for a page the module could not
 * move (busy -EBUSY, nomem -ENOMEM, migrate -EAGAIN, not anonymous -EACCES,
 * unmovable VMA -EINVAL, copy -EIO, interrupted -EINTR) or that is not mapped
 * any more (-ENOENT, -EFAULT).  Pages the module neither moved nor failed
 * (already there, gone) and any beyond its failure array are looked up with a
 * move_pages(2) query.  Busy pages are tried again up to @retries times.  The
 * ranges must be ascending and disjoint.  Returns 0, or -errno when the ioctl
 * failed as a whole (the pages not on @node then carry that -errno).
 */
int nm_kmod_batch(struct nm_kmod_client *c, pid_t pid, int node,
		  uint32_t threads, int retries, const uintptr_t *start,
		  const uint32_t *npages, size_t nr, int *status);

#endif
