/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * numamigrate: ioctl ABI of /dev/numamigrate (kmod/numamigrate.ko).
 *
 * Usable from userspace C: fixed-size types only, no kernel pointers;
 * user pointers travel as __u64.
 *
 * Versioning: every argument struct starts with abi_version and size.
 * The caller sets abi_version = NM_KMOD_ABI_VERSION and size = sizeof()
 * of the struct it was compiled with.  The module accepts exactly the
 * versions it implements and a size equal to its own sizeof() (-EINVAL
 * otherwise), so a mismatch is caught rather than misread.  Ask with
 * NM_KMOD_IOC_VERSION first: it is the only ioctl whose layout will never
 * change (later versions only append fields to it).
 */
#ifndef _UAPI_LINUX_NUMAMIGRATE_H
#define _UAPI_LINUX_NUMAMIGRATE_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define NM_KMOD_DEVICE		"/dev/numamigrate"
#define NM_KMOD_ABI_VERSION	1

/* Capabilities (struct nm_kmod_version.caps). */
#define NM_KMOD_CAP_CPU_COPY	0x1U /* copy by kernel threads */
#define NM_KMOD_CAP_DMA_COPY	0x2U /* dmaengine copy is built in */
#define NM_KMOD_CAP_DMA_CHAN	0x4U /* a DMA_MEMCPY channel exists now */
#define NM_KMOD_CAP_FAIL_ARRAY	0x8U /* per-page failure reasons */

/* Bounds; requests over them get -EINVAL (-E2BIG for counts). */
#define NM_KMOD_MAX_RANGES	4096
#define NM_KMOD_MAX_FAILS	65536
#define NM_KMOD_MAX_THREADS	64
#define NM_KMOD_MAX_BATCH	4096	/* pages per batch */
#define NM_KMOD_DEF_BATCH	512

struct nm_kmod_version {
	__u32 abi_version;	/* out: NM_KMOD_ABI_VERSION of the module */
	__u32 size;		/* in: sizeof(struct nm_kmod_version) */
	__u32 caps;		/* out: NM_KMOD_CAP_* */
	__u32 max_ranges;	/* out: NM_KMOD_MAX_RANGES */
	__u32 max_fails;	/* out: NM_KMOD_MAX_FAILS */
	__u32 max_threads;	/* out: NM_KMOD_MAX_THREADS */
	__u32 max_batch;	/* out: NM_KMOD_MAX_BATCH */
	__u32 page_size;	/* out: PAGE_SIZE */
	__u64 reserved[4];	/* out: zero */
};

/* Copy modes (struct nm_kmod_move.copy_mode). */
#define NM_KMOD_COPY_CPU	0	/* kernel threads on/near the dst node */
#define NM_KMOD_COPY_DMA	1	/* dmaengine DMA_MEMCPY, CPU fallback */

/* Move flags (struct nm_kmod_move.flags); others are -EINVAL. */
#define NM_KMOD_MOVE_DMA_STRICT	0x1U /* DMA mode: no channel -> -ENODEV */
#define NM_KMOD_MOVE_FLAGS	NM_KMOD_MOVE_DMA_STRICT

/*
 * One address range.  start and length must be page aligned, length > 0,
 * start + length must not wrap or exceed the user address space.  It may
 * span several VMAs and unmapped gaps: each VMA is handled on its own.
 * moved + failed + skipped == length / page size on return.
 */
struct nm_kmod_range {
	__u64 start;		/* in */
	__u64 length;		/* in: bytes */
	__u64 moved;		/* out: pages now on the destination node */
	__u64 failed;		/* out: pages that could not be moved */
	__u64 skipped;		/* out: not mapped / not populated / already there */
};

/* Why a page did not move (struct nm_kmod_page_fail.reason). */
#define NM_KMOD_FAIL_BUSY	1 /* not isolated: pinned, locked, swapped, PTE-mapped THP */
#define NM_KMOD_FAIL_NOMEM	2 /* no free page on the destination node */
#define NM_KMOD_FAIL_MIGRATE	3 /* the kernel refused to remap it */
#define NM_KMOD_FAIL_NOT_ANON	4 /* page cache / shared memory page */
#define NM_KMOD_FAIL_VMA	5 /* VMA cannot migrate: hugetlb, VM_IO/PFNMAP, DAX */
#define NM_KMOD_FAIL_COPY	6 /* copy failed (DMA and its CPU fallback) */
#define NM_KMOD_FAIL_INTR	7 /* a fatal signal stopped the request */

struct nm_kmod_page_fail {
	__u64 addr;		/* page address in the target process */
	__u32 reason;		/* NM_KMOD_FAIL_* */
	__s32 node;		/* node the page is on now, -1 if unknown */
};

/*
 * NM_KMOD_IOC_MOVE errors: -EPERM, -EACCES, -EFAULT, -EINVAL, -E2BIG,
 * -ENODEV, -ESRCH, -ENOMEM, -EINTR.  As with move_pages(2): -EPERM when the
 * caller may not read the target as a tracer would (same real uid and
 * gid as the target's, or CAP_SYS_PTRACE in its namespace; a non-dumpable
 * target needs CAP_SYS_PTRACE); -EACCES when the target's cpuset does not
 * allow the destination node.  The request, ranges[nr_ranges] and
 * fails[max_fails] must all be writable (-EFAULT otherwise; fails is
 * cleared before anything moves).  A request that fails moves nothing,
 * except -EINTR (a fatal signal stopped it; the counts of what moved are
 * written back) and -EFAULT from memory unmapped during the call.
 */
struct nm_kmod_move {
	__u32 abi_version;	/* in: NM_KMOD_ABI_VERSION */
	__u32 size;		/* in: sizeof(struct nm_kmod_move) */
	__s32 pid;		/* in: target process (caller's pid ns); 0: self */
	__s32 node;		/* in: destination NUMA node (has memory, online) */
	__u32 flags;		/* in: NM_KMOD_MOVE_* */
	__u32 copy_mode;	/* in: NM_KMOD_COPY_* */
	__u32 threads;		/* in: copy threads, 0: all CPUs of the node */
	__u32 batch_pages;	/* in: pages per batch, 0: NM_KMOD_DEF_BATCH */
	__u32 nr_ranges;	/* in: entries at ranges, 1..NM_KMOD_MAX_RANGES */
	__u32 max_fails;	/* in: capacity of fails, 0..NM_KMOD_MAX_FAILS */
	__u64 ranges;		/* in: user pointer, struct nm_kmod_range[] (in/out) */
	__u64 fails;		/* in: user pointer, struct nm_kmod_page_fail[] (out) */

	__u32 nr_fails;		/* out: entries written to fails */
	__u32 threads_used;	/* out: copy threads actually used */
	__u64 moved;		/* out: totals over all ranges */
	__u64 failed;
	__u64 skipped;
	__u64 dma_batches;	/* out: batches copied by DMA */
	__u64 dma_fallbacks;	/* out: DMA batches redone by the CPU */
	__u64 copy_ns;		/* out: time spent copying */
	__u64 total_ns;		/* out: time in the ioctl */
	__u64 reserved[4];	/* in: must be zero */
};

#define NM_KMOD_IOC_MAGIC	0xB7
#define NM_KMOD_IOC_VERSION	_IOWR(NM_KMOD_IOC_MAGIC, 0x00, struct nm_kmod_version)
#define NM_KMOD_IOC_MOVE	_IOWR(NM_KMOD_IOC_MAGIC, 0x01, struct nm_kmod_move)

#endif /* _UAPI_LINUX_NUMAMIGRATE_H */
