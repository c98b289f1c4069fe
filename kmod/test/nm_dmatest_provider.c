// SPDX-License-Identifier: GPL-2.0
/*
 * nm_dmatest_provider: a software dmaengine provider, a test double for
 * numamigrate's DMA copy path on machines (and QEMU guests) without a
 * memcpy-capable DMA engine.  TEST ONLY.
 *
 * Registers one dma_device with DMA_MEMCPY channels on a platform device
 * of its own.  That device has no IOMMU and no dma_map_ops, so dma-direct
 * hands out physical addresses (dma_map_page() == page_to_phys(), no
 * bounce buffering with a 64-bit mask): the "engine" turns them back into
 * pages and copies with the CPU from a workqueue, asynchronously, in
 * submission order, like an in-order hardware queue.
 *
 * Fault injection (module parameters, writable at run time under
 * /sys/module/nm_dmatest_provider/parameters/):
 *   fail_next=N  the next N transfers complete with DMA_TRANS_WRITE_FAILED,
 *                without copying, and tx_status reports DMA_ERROR
 *   hang_next=N  the next N transfers never complete: the channel stalls
 *                until dmaengine_terminate_*() clears it
 * Counters: completed, failed, hung, terminated (read only).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/dmaengine.h>
#include <linux/dma-mapping.h>
#include <linux/highmem.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#define NMT_NAME	"nm_dmatest"
#define NMT_MAX_CHANS	8

static unsigned int nr_chans = 2;
module_param(nr_chans, uint, 0444);
MODULE_PARM_DESC(nr_chans, "DMA_MEMCPY channels (1-8, default 2)");

static int node = NUMA_NO_NODE;
module_param(node, int, 0444);
MODULE_PARM_DESC(node, "NUMA node of the fake device (default -1: none)");

static atomic_t nmt_fail_next = ATOMIC_INIT(0);
static atomic_t nmt_hang_next = ATOMIC_INIT(0);
static atomic_t nmt_completed = ATOMIC_INIT(0);
static atomic_t nmt_failed = ATOMIC_INIT(0);
static atomic_t nmt_hung = ATOMIC_INIT(0);
static atomic_t nmt_terminated = ATOMIC_INIT(0);

static int nmt_atomic_set(const char *val, const struct kernel_param *kp)
{
	int v, ret;

	ret = kstrtoint(val, 0, &v);
	if (ret)
		return ret;
	if (v < 0)
		return -EINVAL;
	atomic_set(kp->arg, v);
	return 0;
}

static int nmt_atomic_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(kp->arg));
}

static const struct kernel_param_ops nmt_atomic_ops = {
	.set = nmt_atomic_set,
	.get = nmt_atomic_get,
};

module_param_cb(fail_next, &nmt_atomic_ops, &nmt_fail_next, 0644);
MODULE_PARM_DESC(fail_next, "Fail the next N transfers (DMA_ERROR)");
module_param_cb(hang_next, &nmt_atomic_ops, &nmt_hang_next, 0644);
MODULE_PARM_DESC(hang_next, "Never complete the next N transfers");
module_param_cb(completed, &nmt_atomic_ops, &nmt_completed, 0444);
module_param_cb(failed, &nmt_atomic_ops, &nmt_failed, 0444);
module_param_cb(hung, &nmt_atomic_ops, &nmt_hung, 0444);
module_param_cb(terminated, &nmt_atomic_ops, &nmt_terminated, 0444);

struct nmt_desc {
	struct dma_async_tx_descriptor tx;
	struct list_head node;
	dma_addr_t src;
	dma_addr_t dst;
	size_t len;
};

struct nmt_chan {
	struct dma_chan chan;
	spinlock_t lock;		/* protects the lists and cookies */
	struct list_head allocated;	/* prepared, not submitted */
	struct list_head submitted;	/* submitted, not issued */
	struct list_head issued;	/* issued, in order */
	bool stalled;			/* hang injected: stop until terminate */
	dma_cookie_t err_cookie;	/* last transfer that failed */
	struct work_struct work;
};

struct nmt_dev {
	struct dma_device dma;
	struct nmt_chan chans[NMT_MAX_CHANS];
};

static struct workqueue_struct *nmt_wq;
static struct platform_device *nmt_pdev;

static struct nmt_chan *to_nmt_chan(struct dma_chan *chan)
{
	return container_of(chan, struct nmt_chan, chan);
}

static struct nmt_desc *to_nmt_desc(struct dma_async_tx_descriptor *tx)
{
	return container_of(tx, struct nmt_desc, tx);
}

/* Copies one transfer; false if an address is not RAM we can map. */
static bool nmt_copy(struct nmt_desc *d)
{
	unsigned long spfn = PHYS_PFN(d->src), dpfn = PHYS_PFN(d->dst);
	void *s, *t;

	if (offset_in_page(d->src) + d->len > PAGE_SIZE ||
	    offset_in_page(d->dst) + d->len > PAGE_SIZE ||
	    !pfn_valid(spfn) || !pfn_valid(dpfn))
		return false;
	s = kmap_local_page(pfn_to_page(spfn));
	t = kmap_local_page(pfn_to_page(dpfn));
	memcpy(t + offset_in_page(d->dst), s + offset_in_page(d->src), d->len);
	kunmap_local(t);
	kunmap_local(s);
	return true;
}

static void nmt_work(struct work_struct *work)
{
	struct nmt_chan *c = container_of(work, struct nmt_chan, work);
	struct dmaengine_result res;
	struct nmt_desc *d;
	unsigned long flags;
	bool ok;

	for (;;) {
		spin_lock_irqsave(&c->lock, flags);
		if (c->stalled || list_empty(&c->issued)) {
			spin_unlock_irqrestore(&c->lock, flags);
			return;
		}
		d = list_first_entry(&c->issued, struct nmt_desc, node);
		if (atomic_dec_if_positive(&nmt_hang_next) >= 0) {
			/* leave it queued; nothing after it runs either */
			c->stalled = true;
			spin_unlock_irqrestore(&c->lock, flags);
			atomic_inc(&nmt_hung);
			return;
		}
		list_del(&d->node);
		spin_unlock_irqrestore(&c->lock, flags);

		ok = atomic_dec_if_positive(&nmt_fail_next) < 0 && nmt_copy(d);
		res.result = ok ? DMA_TRANS_NOERROR : DMA_TRANS_WRITE_FAILED;
		res.residue = ok ? 0 : d->len;

		spin_lock_irqsave(&c->lock, flags);
		c->chan.completed_cookie = d->tx.cookie;
		if (!ok)
			c->err_cookie = d->tx.cookie;
		spin_unlock_irqrestore(&c->lock, flags);
		atomic_inc(ok ? &nmt_completed : &nmt_failed);

		if (d->tx.callback_result)
			d->tx.callback_result(d->tx.callback_param, &res);
		else if (d->tx.callback)
			d->tx.callback(d->tx.callback_param);
		kfree(d);
		cond_resched();
	}
}

static dma_cookie_t nmt_tx_submit(struct dma_async_tx_descriptor *tx)
{
	struct nmt_chan *c = to_nmt_chan(tx->chan);
	struct nmt_desc *d = to_nmt_desc(tx);
	unsigned long flags;
	dma_cookie_t cookie;

	spin_lock_irqsave(&c->lock, flags);
	cookie = c->chan.cookie + 1;
	if (cookie < DMA_MIN_COOKIE)
		cookie = DMA_MIN_COOKIE;
	c->chan.cookie = cookie;
	tx->cookie = cookie;
	list_move_tail(&d->node, &c->submitted);
	spin_unlock_irqrestore(&c->lock, flags);
	return cookie;
}

static struct dma_async_tx_descriptor *
nmt_prep_memcpy(struct dma_chan *chan, dma_addr_t dst, dma_addr_t src,
		size_t len, unsigned long flags)
{
	struct nmt_chan *c = to_nmt_chan(chan);
	unsigned long irqflags;
	struct nmt_desc *d;

	if (!len || len > PAGE_SIZE)
		return NULL;
	d = kzalloc(sizeof(*d), GFP_NOWAIT);
	if (!d)
		return NULL;
	dma_async_tx_descriptor_init(&d->tx, chan);
	d->tx.flags = flags;
	d->tx.tx_submit = nmt_tx_submit;
	d->src = src;
	d->dst = dst;
	d->len = len;
	spin_lock_irqsave(&c->lock, irqflags);
	list_add_tail(&d->node, &c->allocated);
	spin_unlock_irqrestore(&c->lock, irqflags);
	return &d->tx;
}

static void nmt_issue_pending(struct dma_chan *chan)
{
	struct nmt_chan *c = to_nmt_chan(chan);
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	list_splice_tail_init(&c->submitted, &c->issued);
	spin_unlock_irqrestore(&c->lock, flags);
	queue_work(nmt_wq, &c->work);
}

static enum dma_status nmt_tx_status(struct dma_chan *chan,
				     dma_cookie_t cookie,
				     struct dma_tx_state *state)
{
	struct nmt_chan *c = to_nmt_chan(chan);
	dma_cookie_t used, done, err;
	enum dma_status status;
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	used = chan->cookie;
	done = chan->completed_cookie;
	err = c->err_cookie;
	spin_unlock_irqrestore(&c->lock, flags);

	dma_set_tx_state(state, done, used, 0);
	status = dma_async_is_complete(cookie, done, used);
	if (status == DMA_COMPLETE && cookie == err)
		status = DMA_ERROR;
	return status;
}

/* Drops every transfer not yet completed, without callbacks. */
static int nmt_terminate_all(struct dma_chan *chan)
{
	struct nmt_chan *c = to_nmt_chan(chan);
	struct nmt_desc *d, *tmp;
	unsigned long flags;
	LIST_HEAD(drop);

	spin_lock_irqsave(&c->lock, flags);
	list_splice_tail_init(&c->allocated, &drop);
	list_splice_tail_init(&c->submitted, &drop);
	list_splice_tail_init(&c->issued, &drop);
	c->stalled = false;
	spin_unlock_irqrestore(&c->lock, flags);

	list_for_each_entry_safe(d, tmp, &drop, node) {
		list_del(&d->node);
		kfree(d);
		atomic_inc(&nmt_terminated);
	}
	return 0;
}

/* After this, no transfer of this channel runs and no callback is running. */
static void nmt_synchronize(struct dma_chan *chan)
{
	flush_work(&to_nmt_chan(chan)->work);
}

static int nmt_alloc_chan_resources(struct dma_chan *chan)
{
	return 0;
}

static void nmt_free_chan_resources(struct dma_chan *chan)
{
	nmt_terminate_all(chan);
	nmt_synchronize(chan);
}

static void nmt_release(struct dma_device *dma)
{
	/* nmt_dev is freed by nmt_remove(), after unregistering */
}

static int nmt_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct nmt_dev *d;
	unsigned int i;
	int ret;

	if (node != NUMA_NO_NODE)
		set_dev_node(dev, node);
	ret = dma_coerce_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;

	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	d->dma.dev = dev;
	dma_cap_set(DMA_MEMCPY, d->dma.cap_mask);
	INIT_LIST_HEAD(&d->dma.channels);
	d->dma.device_alloc_chan_resources = nmt_alloc_chan_resources;
	d->dma.device_free_chan_resources = nmt_free_chan_resources;
	d->dma.device_prep_dma_memcpy = nmt_prep_memcpy;
	d->dma.device_issue_pending = nmt_issue_pending;
	d->dma.device_tx_status = nmt_tx_status;
	d->dma.device_terminate_all = nmt_terminate_all;
	d->dma.device_synchronize = nmt_synchronize;
	d->dma.device_release = nmt_release;

	for (i = 0; i < nr_chans; i++) {
		struct nmt_chan *c = &d->chans[i];

		spin_lock_init(&c->lock);
		INIT_LIST_HEAD(&c->allocated);
		INIT_LIST_HEAD(&c->submitted);
		INIT_LIST_HEAD(&c->issued);
		INIT_WORK(&c->work, nmt_work);
		c->chan.device = &d->dma;
		c->chan.cookie = DMA_MIN_COOKIE;
		c->chan.completed_cookie = DMA_MIN_COOKIE;
		list_add_tail(&c->chan.device_node, &d->dma.channels);
	}

	ret = dma_async_device_register(&d->dma);
	if (ret) {
		kfree(d);
		return ret;
	}
	platform_set_drvdata(pdev, d);
	dev_info(dev, "TEST DMA provider: %u DMA_MEMCPY channels, node %d\n",
		 nr_chans, dev_to_node(dev));
	return 0;
}

static void nmt_teardown(struct platform_device *pdev)
{
	struct nmt_dev *d = platform_get_drvdata(pdev);
	unsigned int i;

	dma_async_device_unregister(&d->dma);
	for (i = 0; i < nr_chans; i++)
		nmt_free_chan_resources(&d->chans[i].chan);
	kfree(d);
}

/*
 * platform_driver.remove returns void since Linux 6.11; Kbuild defines
 * NMT_REMOVE_RETURNS_INT for the kernels whose header still says int.
 */
#ifdef NMT_REMOVE_RETURNS_INT
static int nmt_remove(struct platform_device *pdev)
{
	nmt_teardown(pdev);
	return 0;
}
#else
static void nmt_remove(struct platform_device *pdev)
{
	nmt_teardown(pdev);
}
#endif

static struct platform_driver nmt_driver = {
	.probe = nmt_probe,
	.remove = nmt_remove,
	.driver = {
		.name = NMT_NAME,
	},
};

static int __init nmt_init(void)
{
	int ret;

	if (!nr_chans || nr_chans > NMT_MAX_CHANS)
		return -EINVAL;
	if (node != NUMA_NO_NODE &&
	    (node < 0 || node >= nr_node_ids || !node_online(node)))
		return -EINVAL;

	nmt_wq = alloc_workqueue("nm_dmatest", WQ_UNBOUND, 0);
	if (!nmt_wq)
		return -ENOMEM;
	ret = platform_driver_register(&nmt_driver);
	if (ret)
		goto err_wq;
	nmt_pdev = platform_device_register_simple(NMT_NAME, PLATFORM_DEVID_NONE,
						   NULL, 0);
	if (IS_ERR(nmt_pdev)) {
		ret = PTR_ERR(nmt_pdev);
		goto err_drv;
	}
	if (!platform_get_drvdata(nmt_pdev)) {
		ret = -ENODEV;		/* probe failed */
		platform_device_unregister(nmt_pdev);
		goto err_drv;
	}
	return 0;

err_drv:
	platform_driver_unregister(&nmt_driver);
err_wq:
	destroy_workqueue(nmt_wq);
	return ret;
}

static void __exit nmt_exit(void)
{
	platform_device_unregister(nmt_pdev);
	platform_driver_unregister(&nmt_driver);
	destroy_workqueue(nmt_wq);
}

module_init(nmt_init);
module_exit(nmt_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("numamigrate developers");
MODULE_DESCRIPTION("Software DMA_MEMCPY dmaengine provider for numamigrate tests");
