// SPDX-License-Identifier: GPL-2.0
/*
 * numamigrate: batched NUMA page migration of another process's memory.
 *
 * /dev/numamigrate takes "move these address ranges of process P to node N"
 * and carries it out with the exported device-migration API on ordinary
 * system RAM: migrate_vma_setup() collects and unmaps a batch of a VMA's
 * pages, the module allocates destination pages on N and copies the data
 * itself -- with several kernel worker threads bound to CPUs of N (or of
 * the nearest node with CPUs), or with a dmaengine DMA_MEMCPY channel,
 * falling back to the CPU for any batch the DMA engine cannot finish --
 * and migrate_vma_pages()/migrate_vma_finalize() remap the pages.
 *
 * A destination pfn is handed to the kernel only once its copy is
 * complete; any page whose copy failed keeps a zero dst entry, so the
 * kernel restores the original mapping: a page is moved whole or not at
 * all.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/cred.h>
#include <linux/dmaengine.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/hugetlb.h>
#include <linux/ksm.h>
#include <linux/ktime.h>
#include <linux/migrate.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/module.h>
#include <linux/nodemask.h>
#include <linux/overflow.h>
#include <linux/pagemap.h>
#include <linux/pid.h>
#include <linux/sched/coredump.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/topology.h>
#include <linux/uaccess.h>
#include <linux/user_namespace.h>
#include <linux/workqueue.h>

#include "uapi/numamigrate.h"

static unsigned int dma_timeout_ms = 2000;
module_param(dma_timeout_ms, uint, 0644);
MODULE_PARM_DESC(dma_timeout_ms,
		 "Wait at most this long for a DMA batch before CPU fallback (default 2000)");

static struct workqueue_struct *nm_wq;

struct nm_copy_work {
	struct work_struct work;
	struct page **src;
	struct page **dst;
	unsigned int n;
};

/* Shared with the DMA completion callbacks: heap allocated, see nm_dma_copy */
struct nm_dma_batch {
	struct completion done;
	atomic_t errors;
};

/* One MOVE request. */
struct nm_req {
	struct mm_struct *mm;
	int nid;
	u32 mode;
	u32 flags;
	unsigned int batch;

	/* CPU copy: worker CPUs on or nearest to nid */
	unsigned int nthreads;
	int cpus[NM_KMOD_MAX_THREADS];
	struct nm_copy_work *works;

	/* DMA copy */
	struct dma_chan *chan;
	struct nm_dma_batch *dmab;
	dma_addr_t *sdma;
	dma_addr_t *ddma;

	/* per batch */
	unsigned long *src;
	unsigned long *dst;
	struct page **spages;
	struct page **dpages;
	unsigned int *idx;

	/* page-exact failure report, copied out at the end */
	struct nm_kmod_page_fail *fails;
	u32 max_fails;
	u32 nr_fails;

	u64 dma_batches;
	u64 dma_fallbacks;
	u64 copy_ns;
};

static void nm_fail(struct nm_req *r, struct nm_kmod_range *res,
		    unsigned long addr, u32 reason, int node)
{
	res->failed++;
	if (r->nr_fails < r->max_fails) {
		struct nm_kmod_page_fail *f = &r->fails[r->nr_fails++];

		f->addr = addr;
		f->reason = reason;
		f->node = node;
	}
}

static void nm_fail_span(struct nm_req *r, struct nm_kmod_range *res,
			 unsigned long start, unsigned long end, u32 reason)
{
	unsigned long addr;

	for (addr = start; addr < end && r->nr_fails < r->max_fails;
	     addr += PAGE_SIZE)
		nm_fail(r, res, addr, reason, NUMA_NO_NODE);
	if (addr < end)
		res->failed += (end - addr) >> PAGE_SHIFT;
}

/* ---- CPU copy -------------------------------------------------------- */

static void nm_copy_fn(struct work_struct *work)
{
	struct nm_copy_work *w = container_of(work, struct nm_copy_work, work);
	unsigned int i;

	for (i = 0; i < w->n; i++) {
		copy_highpage(w->dst[i], w->src[i]);
		if ((i & 63) == 63)
			cond_resched();
	}
}

/*
 * Picks up to @want online CPUs of @nid; for a node without CPUs, those of
 * the nodes with CPUs at the smallest distance from it.
 */
static unsigned int nm_pick_cpus(int nid, unsigned int want, int *cpus)
{
	int best = INT_MAX, n, cpu;
	unsigned int count = 0;

	for_each_node_state(n, N_CPU) {
		int d = node_distance(nid, n);

		if (!cpumask_intersects(cpumask_of_node(n), cpu_online_mask))
			continue;
		if (n == nid)
			d = -1;
		if (d < best)
			best = d;
	}
	for_each_node_state(n, N_CPU) {
		int d = n == nid ? -1 : node_distance(nid, n);

		if (d != best)
			continue;
		for_each_cpu_and(cpu, cpumask_of_node(n), cpu_online_mask) {
			if (count == want)
				return count;
			cpus[count++] = cpu;
		}
	}
	if (!count)
		cpus[count++] = raw_smp_processor_id();
	return count;
}

static void nm_cpu_copy(struct nm_req *r, unsigned int n)
{
	unsigned int t, nt = min(r->nthreads, n), first = 0;

	cpus_read_lock();
	for (t = 0; t < nt; t++) {
		struct nm_copy_work *w = &r->works[t];
		unsigned int cnt = n / nt + (t < n % nt);

		INIT_WORK(&w->work, nm_copy_fn);
		w->src = r->spages + first;
		w->dst = r->dpages + first;
		w->n = cnt;
		first += cnt;
		if (cpu_online(r->cpus[t]))
			queue_work_on(r->cpus[t], nm_wq, &w->work);
		else
			queue_work(nm_wq, &w->work);
	}
	for (t = 0; t < nt; t++)
		flush_work(&r->works[t].work);
	cpus_read_unlock();
}

/* ---- DMA copy -------------------------------------------------------- */

struct nm_chan_filter {
	int nid;
	int maxdist;	/* -1: any channel */
};

static bool nm_chan_filter_fn(struct dma_chan *chan, void *param)
{
	struct nm_chan_filter *f = param;
	int dn = dev_to_node(chan->device->dev);

	/* A timed out batch must be stoppable before its pages are reused. */
	if (!chan->device->device_terminate_all)
		return false;
	if (f->maxdist < 0)
		return true;
	if (dn == NUMA_NO_NODE)
		return false;
	return node_distance(dn, f->nid) <= f->maxdist;
}

/* A DMA_MEMCPY channel, on @nid if possible, else as near as possible. */
static struct dma_chan *nm_get_chan(int nid)
{
	struct nm_chan_filter f = { .nid = nid, .maxdist = 0 };
	struct dma_chan *chan;
	dma_cap_mask_t mask;
	int n;

	dma_cap_zero(mask);
	dma_cap_set(DMA_MEMCPY, mask);
	for (;;) {
		int next = INT_MAX;

		/* the next larger distance from nid to an online node */
		for_each_online_node(n) {
			int d = node_distance(nid, n);

			if (d > f.maxdist && d < next)
				next = d;
		}
		if (next == INT_MAX)
			break;
		f.maxdist = next;
		chan = dma_request_channel(mask, nm_chan_filter_fn, &f);
		if (chan)
			return chan;
	}
	f.maxdist = -1;
	return dma_request_channel(mask, nm_chan_filter_fn, &f);
}

static void nm_dma_cb(void *param, const struct dmaengine_result *res)
{
	struct nm_dma_batch *b = param;

	if (res && res->result != DMA_TRANS_NOERROR)
		atomic_inc(&b->errors);
}

static void nm_dma_last_cb(void *param, const struct dmaengine_result *res)
{
	struct nm_dma_batch *b = param;

	nm_dma_cb(param, res);
	complete(&b->done);
}

/*
 * Copies r->spages[0..n) to r->dpages[0..n) with r->chan.  Returns 0 when
 * every page was copied and its completion reported no error; -EIO when
 * the batch must be redone by the CPU; -EBADE when the channel could not
 * be stopped: the destination pages may still be written by the device
 * and must be abandoned (leaked), and the channel is not used again.
 */
static int nm_dma_copy(struct nm_req *r, unsigned int n)
{
	struct dma_chan *chan = r->chan;
	struct device *dev = chan->device->dev;
	struct nm_dma_batch *b = r->dmab;
	struct dma_async_tx_descriptor *tx;
	unsigned int i, mapped = 0;
	dma_cookie_t cookie = 0;
	int ret = -EIO;

	for (i = 0; i < n; i++) {
		r->sdma[i] = dma_map_page(dev, r->spages[i], 0, PAGE_SIZE,
					  DMA_TO_DEVICE);
		if (dma_mapping_error(dev, r->sdma[i]))
			goto unmap;
		r->ddma[i] = dma_map_page(dev, r->dpages[i], 0, PAGE_SIZE,
					  DMA_FROM_DEVICE);
		if (dma_mapping_error(dev, r->ddma[i])) {
			dma_unmap_page(dev, r->sdma[i], PAGE_SIZE,
				       DMA_TO_DEVICE);
			goto unmap;
		}
		mapped++;
	}

	reinit_completion(&b->done);
	atomic_set(&b->errors, 0);
	for (i = 0; i < n; i++) {
		bool last = i == n - 1;

		tx = dmaengine_prep_dma_memcpy(chan, r->ddma[i], r->sdma[i],
					       PAGE_SIZE,
					       DMA_CTRL_ACK |
					       (last ? DMA_PREP_INTERRUPT : 0));
		if (!tx)
			goto abort;
		tx->callback_result = last ? nm_dma_last_cb : nm_dma_cb;
		tx->callback_param = b;
		cookie = dmaengine_submit(tx);
		if (dma_submit_error(cookie))
			goto abort;
	}
	dma_async_issue_pending(chan);

	if (!wait_for_completion_timeout(&b->done,
					 msecs_to_jiffies(dma_timeout_ms))) {
		pr_info_ratelimited("DMA batch of %u pages timed out on %s, CPU fallback\n",
				    n, dma_chan_name(chan));
		goto abort;
	}
	if (dma_async_is_tx_complete(chan, cookie, NULL, NULL) == DMA_COMPLETE &&
	    !atomic_read(&b->errors))
		ret = 0;
	else
		pr_info_ratelimited("DMA batch failed on %s, CPU fallback\n",
				    dma_chan_name(chan));
	goto unmap;

abort:
	/* No callback may run and no transfer may touch the pages after this. */
	if (dmaengine_terminate_sync(chan)) {
		pr_err("cannot stop DMA channel %s: abandoning %u pages\n",
		       dma_chan_name(chan), n);
		r->dmab = NULL;		/* leaked: callbacks may still use it */
		return -EBADE;
	}
unmap:
	for (i = 0; i < mapped; i++) {
		dma_unmap_page(dev, r->sdma[i], PAGE_SIZE, DMA_TO_DEVICE);
		dma_unmap_page(dev, r->ddma[i], PAGE_SIZE, DMA_FROM_DEVICE);
	}
	return ret;
}

/* Copies the batch; returns false if the destination pages are unusable. */
static bool nm_copy(struct nm_req *r, unsigned int n)
{
	u64 t0 = ktime_get_ns();
	bool ok = true;

	if (r->mode == NM_KMOD_COPY_DMA) {
		int ret = -ENODEV;

		if (r->chan && r->dmab)
			ret = nm_dma_copy(r, n);
		if (ret == -EBADE) {
			dma_release_channel(r->chan);
			r->chan = NULL;
			ok = false;
		} else if (ret) {
			r->dma_fallbacks++;
			nm_cpu_copy(r, n);
		} else {
			r->dma_batches++;
		}
	} else {
		nm_cpu_copy(r, n);
	}
	r->copy_ns += ktime_get_ns() - t0;
	return ok;
}

/* ---- migration ------------------------------------------------------- */

static bool nm_vma_movable(struct vm_area_struct *vma)
{
	return !is_vm_hugetlb_page(vma) && !(vma->vm_flags & VM_SPECIAL) &&
	       !vma_is_dax(vma);
}

/*
 * Which pages of the batch to copy: anonymous pages now on another node.
 * Their indexes and pages go to r->idx and r->spages; returns how many.
 */
static unsigned int nm_select(struct nm_req *r, struct migrate_vma *args,
			      bool file, struct nm_kmod_range *res)
{
	unsigned int i, n = 0;

	for (i = 0; i < args->npages; i++) {
		unsigned long addr = args->start + ((unsigned long)i << PAGE_SHIFT);
		struct page *page = migrate_pfn_to_page(args->src[i]);

		args->dst[i] = 0;
		if (!(args->src[i] & MIGRATE_PFN_MIGRATE)) {
			/* not collected: in an anon VMA, it is busy */
			if (file)
				res->skipped++;
			else
				nm_fail(r, res, addr, NM_KMOD_FAIL_BUSY,
					page ? page_to_nid(page) : NUMA_NO_NODE);
			continue;
		}
		if (!page || page_to_nid(page) == r->nid) {
			/* hole, zero page, or already there */
			res->skipped++;
			continue;
		}
		if (!PageAnon(page) || PageKsm(page)) {
			nm_fail(r, res, addr, NM_KMOD_FAIL_NOT_ANON,
				page_to_nid(page));
			continue;
		}
		r->idx[n] = i;
		r->spages[n] = page;
		n++;
	}
	return n;
}

/*
 * Destination pages, strictly on the node, for the first @n selected;
 * those beyond what the node gave fail.  Returns how many it got.
 */
static unsigned int nm_alloc_dst(struct nm_req *r, unsigned long start,
				 unsigned int n, struct nm_kmod_range *res)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct page *dpage;

		dpage = alloc_pages_node(r->nid, GFP_HIGHUSER_MOVABLE |
					 __GFP_THISNODE | __GFP_NOWARN |
					 __GFP_RETRY_MAYFAIL, 0);
		if (!dpage)
			break;
		lock_page(dpage);
		r->dpages[i] = dpage;
	}
	while (n > i) {
		n--;
		nm_fail(r, res, start + ((unsigned long)r->idx[n] << PAGE_SHIFT),
			NM_KMOD_FAIL_NOMEM, page_to_nid(r->spages[n]));
	}
	return n;
}

/* Copies the @n pages and hands the copies to migrate_vma. */
static void nm_copy_dst(struct nm_req *r, struct migrate_vma *args,
			unsigned int n, struct nm_kmod_range *res)
{
	bool ok = nm_copy(r, n);
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (ok) {
			args->dst[r->idx[i]] =
				migrate_pfn(page_to_pfn(r->dpages[i]));
			continue;
		}
		/* the device may still write it: never reuse it */
		nm_fail(r, res,
			args->start + ((unsigned long)r->idx[i] << PAGE_SHIFT),
			NM_KMOD_FAIL_COPY, page_to_nid(r->spages[i]));
	}
}

/* Moves the pages of [start, end), inside @vma, under the mmap read lock. */
static void nm_move_batch(struct nm_req *r, struct vm_area_struct *vma,
			  unsigned long start, unsigned long end,
			  struct nm_kmod_range *res)
{
	struct migrate_vma args = {
		.vma = vma,
		.start = start,
		.end = end,
		.src = r->src,
		.dst = r->dst,
		.flags = MIGRATE_VMA_SELECT_SYSTEM,
	};
	unsigned int i, n;

	if (migrate_vma_setup(&args)) {
		nm_fail_span(r, res, start, end, NM_KMOD_FAIL_VMA);
		return;
	}
	n = nm_select(r, &args, vma->vm_file, res);
	n = nm_alloc_dst(r, start, n, res);
	if (n)
		nm_copy_dst(r, &args, n, res);

	migrate_vma_pages(&args);

	for (i = 0; i < n; i++) {
		unsigned long j = r->idx[i];

		if (!args.dst[j])
			continue;
		if (args.src[j] & MIGRATE_PFN_MIGRATE)
			res->moved++;
		else
			nm_fail(r, res, start + (j << PAGE_SHIFT),
				NM_KMOD_FAIL_MIGRATE,
				page_to_nid(r->spages[i]));
	}

	/* Remaps moved pages, restores the others, frees what is unused. */
	migrate_vma_finalize(&args);
}

static int nm_move_range(struct nm_req *r, struct nm_kmod_range *res)
{
	unsigned long addr = res->start, end = res->start + res->length;
	struct mm_struct *mm = r->mm;
	int ret = 0;

	while (addr < end) {
		struct vm_area_struct *vma;
		unsigned long bend;

		if (fatal_signal_pending(current) ||
		    mmap_read_lock_killable(mm)) {
			ret = -EINTR;
			break;
		}
		vma = find_vma(mm, addr);
		if (!vma || vma->vm_start >= end) {
			mmap_read_unlock(mm);
			res->skipped += (end - addr) >> PAGE_SHIFT;
			addr = end;
			break;
		}
		if (vma->vm_start > addr) {
			res->skipped += (vma->vm_start - addr) >> PAGE_SHIFT;
			addr = vma->vm_start;
		}
		bend = min3(end, vma->vm_end,
			    addr + ((unsigned long)r->batch << PAGE_SHIFT));
		if (nm_vma_movable(vma))
			nm_move_batch(r, vma, addr, bend, res);
		else
			nm_fail_span(r, res, addr, bend, NM_KMOD_FAIL_VMA);
		mmap_read_unlock(mm);
		addr = bend;
		cond_resched();
	}
	if (addr < end)
		nm_fail_span(r, res, addr, end, NM_KMOD_FAIL_INTR);
	return ret;
}

/* ---- ioctl ----------------------------------------------------------- */

static int nm_check_ranges(const struct nm_kmod_range *rg, u32 nr)
{
	u32 i;

	for (i = 0; i < nr; i++) {
		u64 end;

		if (!rg[i].length || !PAGE_ALIGNED(rg[i].start) ||
		    !PAGE_ALIGNED(rg[i].length))
			return -EINVAL;
		if (check_add_overflow(rg[i].start, rg[i].length, &end) ||
		    end > TASK_SIZE_MAX)
			return -EINVAL;
	}
	return 0;
}

/*
 * The caller may read @task as a tracer would, with its real credentials:
 * the credential and dumpable part of __ptrace_may_access(), which
 * move_pages(2) requires (mm/migrate.c, find_mm_struct).  ptrace_may_access()
 * and security_task_movememory() are not exported to modules, so LSM
 * hooks are not consulted here; the device is root's alone.
 */
static bool nm_may_access(struct task_struct *task)
{
	const struct cred *cred = current_cred(), *tcred;
	struct mm_struct *mm;
	bool ok;

	if (same_thread_group(task, current))
		return true;
	rcu_read_lock();
	tcred = __task_cred(task);
	ok = (uid_eq(cred->uid, tcred->euid) &&
	      uid_eq(cred->uid, tcred->suid) &&
	      uid_eq(cred->uid, tcred->uid) &&
	      gid_eq(cred->gid, tcred->egid) &&
	      gid_eq(cred->gid, tcred->sgid) &&
	      gid_eq(cred->gid, tcred->gid)) ||
	     ns_capable(tcred->user_ns, CAP_SYS_PTRACE);
	rcu_read_unlock();
	if (!ok)
		return false;
	task_lock(task);
	mm = task->mm;
	ok = !mm || get_dumpable(mm) == SUID_DUMP_USER ||
	     ns_capable(mm->user_ns, CAP_SYS_PTRACE);
	task_unlock(task);
	return ok;
}

/*
 * The target's cpuset allows @nid, as move_pages(2) checks each page's
 * node against cpuset_mems_allowed() (not exported: the task's own
 * mems_allowed is what its cpuset allows it).
 */
static bool nm_node_allowed(struct task_struct *task, int nid)
{
	bool ok;

	task_lock(task);
	ok = node_isset(nid, task->mems_allowed);
	task_unlock(task);
	return ok;
}

/* The target's mm, once the caller may move its pages to @nid. */
static struct mm_struct *nm_get_mm(pid_t pid, int nid)
{
	struct task_struct *task;
	struct mm_struct *mm;
	long err = 0;

	if (!pid) {
		task = current;
		get_task_struct(task);
	} else {
		rcu_read_lock();
		task = get_pid_task(find_vpid(pid), PIDTYPE_PID);
		rcu_read_unlock();
		if (!task)
			return ERR_PTR(-ESRCH);
	}
	if (!nm_may_access(task))
		err = -EPERM;
	else if (!nm_node_allowed(task, nid))
		err = -EACCES;
	mm = err || (task->flags & PF_KTHREAD) ? NULL : get_task_mm(task);
	put_task_struct(task);
	if (err)
		return ERR_PTR(err);
	return mm ? mm : ERR_PTR(-EINVAL);
}

static void nm_req_free(struct nm_req *r)
{
	if (r->chan)
		dma_release_channel(r->chan);
	kfree(r->dmab);
	kvfree(r->sdma);
	kvfree(r->ddma);
	kvfree(r->src);
	kvfree(r->dst);
	kvfree(r->spages);
	kvfree(r->dpages);
	kvfree(r->idx);
	kvfree(r->fails);
	kfree(r->works);
	if (r->mm)
		mmput(r->mm);
	kfree(r);
}

static int nm_req_alloc(struct nm_req *r)
{
	unsigned int b = r->batch;

	r->src = kvcalloc(b, sizeof(*r->src), GFP_KERNEL);
	r->dst = kvcalloc(b, sizeof(*r->dst), GFP_KERNEL);
	r->spages = kvcalloc(b, sizeof(*r->spages), GFP_KERNEL);
	r->dpages = kvcalloc(b, sizeof(*r->dpages), GFP_KERNEL);
	r->idx = kvcalloc(b, sizeof(*r->idx), GFP_KERNEL);
	r->works = kcalloc(r->nthreads, sizeof(*r->works), GFP_KERNEL);
	if (r->max_fails)
		r->fails = kvcalloc(r->max_fails, sizeof(*r->fails),
				    GFP_KERNEL);
	if (!r->src || !r->dst || !r->spages || !r->dpages || !r->idx ||
	    !r->works || (r->max_fails && !r->fails))
		return -ENOMEM;
	if (r->mode == NM_KMOD_COPY_DMA) {
		r->sdma = kvcalloc(b, sizeof(*r->sdma), GFP_KERNEL);
		r->ddma = kvcalloc(b, sizeof(*r->ddma), GFP_KERNEL);
		r->dmab = kzalloc(sizeof(*r->dmab), GFP_KERNEL);
		if (!r->sdma || !r->ddma || !r->dmab)
			return -ENOMEM;
		init_completion(&r->dmab->done);
	}
	return 0;
}

/*
 * Everything written back at the end must be writable before anything
 * moves, so that a request that fails with -EFAULT has changed nothing:
 * the request and the ranges get their own bytes back, the fail array is
 * cleared.
 */
static int nm_check_out(void __user *uarg, const struct nm_kmod_move *m,
			struct nm_kmod_range __user *urg,
			const struct nm_kmod_range *rg)
{
	if (copy_to_user(uarg, m, sizeof(*m)) ||
	    copy_to_user(urg, rg, m->nr_ranges * sizeof(*rg)))
		return -EFAULT;
	if (m->max_fails &&
	    clear_user(u64_to_user_ptr(m->fails),
		       (size_t)m->max_fails * sizeof(struct nm_kmod_page_fail)))
		return -EFAULT;
	return 0;
}

/* The request's fixed part, before anything is allocated. */
static long nm_check_move(const struct nm_kmod_move *m)
{
	if (m->abi_version != NM_KMOD_ABI_VERSION || m->size != sizeof(*m))
		return -EINVAL;
	if (m->reserved[0] || m->reserved[1] || m->reserved[2] || m->reserved[3])
		return -EINVAL;
	if (m->flags & ~NM_KMOD_MOVE_FLAGS)
		return -EINVAL;
	if (m->copy_mode != NM_KMOD_COPY_CPU && m->copy_mode != NM_KMOD_COPY_DMA)
		return -EINVAL;
	if (m->threads > NM_KMOD_MAX_THREADS || m->batch_pages > NM_KMOD_MAX_BATCH)
		return -EINVAL;
	if (!m->nr_ranges)
		return -EINVAL;
	if (m->nr_ranges > NM_KMOD_MAX_RANGES || m->max_fails > NM_KMOD_MAX_FAILS)
		return -E2BIG;
	if (m->pid < 0)
		return -EINVAL;
	if (m->node < 0 || m->node >= nr_node_ids || m->node >= MAX_NUMNODES)
		return -EINVAL;
	if (!node_online(m->node) || !node_state(m->node, N_MEMORY))
		return -ENODEV;
	return 0;
}

/* The ranges, copied in and checked; *@rgp is kvfree()d by the caller. */
static long nm_get_ranges(const struct nm_kmod_move *m,
			  struct nm_kmod_range **rgp)
{
	struct nm_kmod_range *rg;
	int ret;

	rg = kvmalloc_array(m->nr_ranges, sizeof(*rg), GFP_KERNEL);
	*rgp = rg;
	if (!rg)
		return -ENOMEM;
	if (copy_from_user(rg, u64_to_user_ptr(m->ranges),
			   m->nr_ranges * sizeof(*rg)))
		return -EFAULT;
	ret = nm_check_ranges(rg, m->nr_ranges);
	if (ret)
		return ret;
	/* a fail array in kernel space: refused early (see nm_check_out) */
	if (m->max_fails &&
	    !access_ok(u64_to_user_ptr(m->fails),
		       (size_t)m->max_fails * sizeof(struct nm_kmod_page_fail)))
		return -EFAULT;
	return 0;
}

/* The request's state: target, copy threads, the process, buffers, DMA. */
static long nm_req_setup(struct nm_req *r, const struct nm_kmod_move *m,
			 const struct nm_kmod_range *rg)
{
	unsigned int i;
	long ret;

	r->nid = m->node;
	r->mode = m->copy_mode;
	r->flags = m->flags;
	r->batch = m->batch_pages ? m->batch_pages : NM_KMOD_DEF_BATCH;
	r->max_fails = m->max_fails;
	r->nthreads = nm_pick_cpus(r->nid, m->threads ? m->threads :
				   NM_KMOD_MAX_THREADS, r->cpus);

	r->mm = nm_get_mm(m->pid, r->nid);
	if (IS_ERR(r->mm)) {
		ret = PTR_ERR(r->mm);
		r->mm = NULL;
		return ret;
	}
	for (i = 0; i < m->nr_ranges; i++)
		if (rg[i].start + rg[i].length > r->mm->task_size)
			return -EINVAL;
	ret = nm_req_alloc(r);
	if (ret)
		return ret;
	if (r->mode == NM_KMOD_COPY_DMA) {
		r->chan = nm_get_chan(r->nid);
		if (!r->chan && (r->flags & NM_KMOD_MOVE_DMA_STRICT))
			return -ENODEV;
	}
	return 0;
}

/* Every range in turn; once interrupted, the rest did not move. */
static long nm_move_ranges(struct nm_req *r, struct nm_kmod_move *m,
			   struct nm_kmod_range *rg)
{
	unsigned int i;
	long ret = 0;

	m->moved = 0;
	m->failed = 0;
	m->skipped = 0;
	for (i = 0; i < m->nr_ranges; i++) {
		rg[i].moved = 0;
		rg[i].failed = 0;
		rg[i].skipped = 0;
		if (!ret)
			ret = nm_move_range(r, &rg[i]);
		else
			nm_fail_span(r, &rg[i], rg[i].start,
				     rg[i].start + rg[i].length,
				     NM_KMOD_FAIL_INTR);
		m->moved += rg[i].moved;
		m->failed += rg[i].failed;
		m->skipped += rg[i].skipped;
	}
	return ret;
}

/* The outcome back to the caller: totals, ranges, failed pages. */
static long nm_put_result(void __user *uarg, struct nm_kmod_move *m,
			  const struct nm_kmod_range *rg,
			  const struct nm_req *r, u64 t0)
{
	m->nr_fails = r->nr_fails;
	m->threads_used = r->nthreads;
	m->dma_batches = r->dma_batches;
	m->dma_fallbacks = r->dma_fallbacks;
	m->copy_ns = r->copy_ns;
	m->total_ns = ktime_get_ns() - t0;
	if (copy_to_user(u64_to_user_ptr(m->ranges), rg,
			 m->nr_ranges * sizeof(*rg)) ||
	    (r->nr_fails && copy_to_user(u64_to_user_ptr(m->fails), r->fails,
					 r->nr_fails * sizeof(*r->fails))) ||
	    copy_to_user(uarg, m, sizeof(*m)))
		return -EFAULT;
	return 0;
}

static long nm_ioctl_move(void __user *uarg)
{
	struct nm_kmod_range *rg = NULL;
	struct nm_kmod_move m;
	u64 t0 = ktime_get_ns();
	struct nm_req *r;
	long ret;

	if (!capable(CAP_SYS_NICE) || !capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&m, uarg, sizeof(m)))
		return -EFAULT;
	ret = nm_check_move(&m);
	if (ret)
		return ret;
	ret = nm_get_ranges(&m, &rg);
	if (ret)
		goto out_rg;
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r) {
		ret = -ENOMEM;
		goto out_rg;
	}
	ret = nm_req_setup(r, &m, rg);
	if (!ret)
		ret = nm_check_out(uarg, &m, u64_to_user_ptr(m.ranges), rg);
	if (!ret) {
		ret = nm_move_ranges(r, &m, rg);
		if (nm_put_result(uarg, &m, rg, r, t0))
			ret = -EFAULT;
	}
	nm_req_free(r);
out_rg:
	kvfree(rg);
	return ret;
}

static bool nm_have_dma_chan(void)
{
	struct nm_chan_filter f = { .maxdist = -1 };
	struct dma_chan *chan;
	dma_cap_mask_t mask;

	dma_cap_zero(mask);
	dma_cap_set(DMA_MEMCPY, mask);
	chan = dma_request_channel(mask, nm_chan_filter_fn, &f);
	if (!chan)
		return false;
	dma_release_channel(chan);
	return true;
}

static long nm_ioctl_version(void __user *uarg)
{
	struct nm_kmod_version v;

	if (copy_from_user(&v, uarg, sizeof(v)))
		return -EFAULT;
	if (v.size != sizeof(v))
		return -EINVAL;
	memset(&v, 0, sizeof(v));
	v.abi_version = NM_KMOD_ABI_VERSION;
	v.size = sizeof(v);
	v.caps = NM_KMOD_CAP_CPU_COPY | NM_KMOD_CAP_DMA_COPY |
		 NM_KMOD_CAP_FAIL_ARRAY;
	if (nm_have_dma_chan())
		v.caps |= NM_KMOD_CAP_DMA_CHAN;
	v.max_ranges = NM_KMOD_MAX_RANGES;
	v.max_fails = NM_KMOD_MAX_FAILS;
	v.max_threads = NM_KMOD_MAX_THREADS;
	v.max_batch = NM_KMOD_MAX_BATCH;
	v.page_size = PAGE_SIZE;
	return copy_to_user(uarg, &v, sizeof(v)) ? -EFAULT : 0;
}

static long nm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case NM_KMOD_IOC_VERSION:
		return nm_ioctl_version(uarg);
	case NM_KMOD_IOC_MOVE:
		return nm_ioctl_move(uarg);
	default:
		return -ENOTTY;
	}
}

static int nm_open(struct inode *inode, struct file *file)
{
	if (!capable(CAP_SYS_NICE))
		return -EPERM;
	return 0;
}

static const struct file_operations nm_fops = {
	.owner = THIS_MODULE,
	.open = nm_open,
	.unlocked_ioctl = nm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice nm_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "numamigrate",
	.fops = &nm_fops,
	.mode = 0600,
};

static int __init nm_init(void)
{
	int ret;

	BUILD_BUG_ON(sizeof(struct nm_kmod_version) != 64);
	BUILD_BUG_ON(sizeof(struct nm_kmod_range) != 40);
	BUILD_BUG_ON(sizeof(struct nm_kmod_page_fail) != 16);
	BUILD_BUG_ON(sizeof(struct nm_kmod_move) != 152);

	nm_wq = alloc_workqueue("numamigrate", WQ_HIGHPRI, 0);
	if (!nm_wq)
		return -ENOMEM;
	ret = misc_register(&nm_misc);
	if (ret) {
		destroy_workqueue(nm_wq);
		return ret;
	}
	pr_info("ready, ABI %d\n", NM_KMOD_ABI_VERSION);
	return 0;
}

static void __exit nm_exit(void)
{
	misc_deregister(&nm_misc);
	destroy_workqueue(nm_wq);
}

module_init(nm_init);
module_exit(nm_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("numamigrate developers");
MODULE_DESCRIPTION("Batched multi-threaded / DMA NUMA page migration via migrate_vma");
