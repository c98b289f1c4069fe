/* SPDX-License-Identifier: MIT */
#ifndef NM_KMOD_CLIENT_H
#define NM_KMOD_CLIENT_H

#include <stdint.h>
#include <sys/types.h>

#include "kmod/uapi/numamigrate.h"

/*
 * Userspace side of kmod/numamigrate.ko: opens /dev/numamigrate, checks
 * that the module speaks our ABI version, and submits moves.  Needs root
 * (the device is 0600; moves need CAP_SYS_NICE and CAP_SYS_ADMIN).
 * No function prints; failures leave one line in @err (NM_KMOD_ERRLEN).
 */
#define NM_KMOD_ERRLEN 256

struct nm_kmod_client {
	int fd;
	struct nm_kmod_version ver;	/* what the module reported */
};

/*
 * Opens @path (NULL: NM_KMOD_DEVICE) and checks the ABI version.
 * Returns 0, or -errno (-ENOENT: module not loaded; -EPROTO: ABI version
 * mismatch) with @err set.
 */
int nm_kmod_open(struct nm_kmod_client *c, const char *path, char *err);
void nm_kmod_close(struct nm_kmod_client *c);

struct nm_kmod_move_opts {
	int node;		/* destination node */
	uint32_t copy_mode;	/* NM_KMOD_COPY_CPU / NM_KMOD_COPY_DMA */
	uint32_t threads;	/* 0: all CPUs of the destination node */
	uint32_t batch_pages;	/* 0: module default */
	uint32_t flags;		/* NM_KMOD_MOVE_* */
};

/* Totals of one nm_kmod_move() call (summed over the ioctls it made). */
struct nm_kmod_totals {
	uint64_t moved, failed, skipped;
	uint64_t dma_batches, dma_fallbacks;
	uint64_t copy_ns, total_ns;
	uint32_t nr_fails;	/* entries written to fails[] */
	uint32_t threads_used;
};

/*
 * Moves the pages of @ranges[0..nr) of process @pid (0: the caller) to
 * opts->node.  More ranges than the module takes at once are sent in
 * several ioctls.  Per-range moved/failed/skipped are written back into
 * @ranges; the first @max_fails failed pages into @fails (may be NULL if
 * @max_fails is 0).  Returns 0 (pages may still have failed: see @tot),
 * or -errno with @err set; on -EINTR the counts so far are still valid.
 */
int nm_kmod_move(struct nm_kmod_client *c, pid_t pid,
		 struct nm_kmod_range *ranges, uint32_t nr,
		 const struct nm_kmod_move_opts *opts,
		 struct nm_kmod_page_fail *fails, uint32_t max_fails,
		 struct nm_kmod_totals *tot, char *err);

/*
 * The copy threads a batch asks of the module for @asked migration
 * threads (0: the module's default): at most the maximum it reported.
 */
uint32_t nm_kmod_threads(const struct nm_kmod_client *c, int asked);

/* "busy", "nomem", ... for NM_KMOD_FAIL_*. */
const char *nm_kmod_fail_reason(uint32_t reason);

#endif
