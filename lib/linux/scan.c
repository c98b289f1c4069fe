/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <numaif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "lib/base/file.h"
#include "lib/base/units.h"
#include "lib/linux/scan.h"

/* /proc/PID/pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst) */
#define PM_PFN_MASK	((UINT64_C(1) << 55) - 1)
#define PM_EXCLUSIVE	(UINT64_C(1) << 56)
#define PM_FILE		(UINT64_C(1) << 61)
#define PM_PRESENT	(UINT64_C(1) << 63)

/* /proc/kpageflags bits */
#define KPF_COMPOUND_HEAD	15
#define KPF_HUGE		17
#define KPF_NOPAGE		20
#define KPF_THP			22
#define KPF_ZERO_PAGE		24

/*
 * The most of /proc/PID/maps read: a line is under 4.2 KiB even with the
 * longest path, ~100 bytes commonly; 65530 mappings by default.
 */
#define NM_MAPS_MAX (1u << 30)

/* Pages read from pagemap per pread: 128 KiB of entries. */
#define CHUNK 16384

/* Physical memory block -> node, from the nodes' memoryN links in sysfs. */
struct nodemap {
	uint64_t block_pages;	/* base pages per memory block */
	int16_t *blk;		/* block number -> OS node, -1: none */
	size_t nblk;		/* entries in blk */
};

static void nodemap_free(struct nodemap *m)
{
	free(m->blk);
	m->blk = NULL;
	m->nblk = 0;
}

static int nodemap_set(struct nodemap *m, unsigned long block, int node)
{
	if (block >= m->nblk) {
		size_t n = m->nblk ? m->nblk : 256;
		int16_t *b;

		while (n <= block)
			n *= 2;
		b = realloc(m->blk, n * sizeof(*b));
		if (!b)
			return -1;
		for (size_t i = m->nblk; i < n; i++)
			b[i] = -1;
		m->blk = b;
		m->nblk = n;
	}
	m->blk[block] = (int16_t)node;
	return 0;
}

static int nodemap_load(struct nodemap *m, char *err)
{
	const char *base = "/sys/devices/system/node";
	char buf[64];
	unsigned long long bs;
	DIR *d;
	struct dirent *e;
	int fd = open("/sys/devices/system/memory/block_size_bytes",
		      O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	/* The file is hex without a prefix. */
	if (n <= 0 || (buf[n] = 0, sscanf(buf, "%llx", &bs) != 1) ||
	    bs < nm_page_size()) {
		nm_seterr(err, "scan: cannot read the memory block size from "
			  "/sys/devices/system/memory/block_size_bytes");
		return -1;
	}
	m->block_pages = bs / nm_page_size();
	d = opendir(base);
	if (!d) {
		nm_seterr(err, "scan: cannot list %s: %s", base,
			  strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		char path[320];
		int node;
		DIR *nd;
		struct dirent *me;

		if (sscanf(e->d_name, "node%d", &node) != 1 || node < 0 ||
		    node >= NM_MAX_NODES)
			continue;
		snprintf(path, sizeof(path), "%s/%s", base, e->d_name);
		nd = opendir(path);
		if (!nd)
			continue;
		while ((me = readdir(nd))) {
			unsigned long blk;
			char tail;

			if (sscanf(me->d_name, "memory%lu%c", &blk,
				   &tail) != 1)
				continue;
			if (nodemap_set(m, blk, node) < 0) {
				closedir(nd);
				closedir(d);
				nm_seterr(err, "scan: out of memory");
				return -1;
			}
		}
		closedir(nd);
	}
	closedir(d);
	if (!m->nblk) {
		nm_seterr(err, "scan: no memory blocks under %s", base);
		return -1;
	}
	return 0;
}

static int pfn_node(const struct nodemap *m, uint64_t pfn)
{
	uint64_t b = pfn / m->block_pages;

	return b < m->nblk ? m->blk[b] : -1;
}

/* Hex (@base 16) or decimal digits at *@p, up to @end, into @v. */
static bool num(const char **p, const char *end, unsigned int base,
		unsigned long long *v)
{
	const char *s = *p;

	*v = 0;
	for (; *p < end; (*p)++) {
		char c = **p;
		unsigned int d;

		if (c >= '0' && c <= '9')
			d = (unsigned int)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned int)(c - 'a' + 10);
		else
			break;
		if (*v > (ULLONG_MAX - d) / base)
			return false;
		*v = *v * base + d;
	}
	return *p > s;
}

static bool expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return false;
	(*p)++;
	return true;
}

/* Whether [@p, @p + @n) starts with the string @s. */
static bool starts(const char *p, size_t n, const char *s)
{
	size_t k = strlen(s);

	return n >= k && memcmp(p, s, k) == 0;
}

int nm_scan_maps_entry(const char *line, size_t len, struct nm_vma *vma,
		       char *err)
{
	unsigned long long start, end, off, major, minor, inode;
	const char *p = line, *e, *path;
	size_t plen;

	if (len && line[len - 1] == '\n')
		len--;
	e = line + len;
	/* "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu " then padding, path */
	if (!num(&p, e, 16, &start) || !expect(&p, e, '-') ||
	    !num(&p, e, 16, &end) || !expect(&p, e, ' ') || e - p < 5 ||
	    (p[0] != 'r' && p[0] != '-') || (p[1] != 'w' && p[1] != '-') ||
	    (p[2] != 'x' && p[2] != '-') || (p[3] != 'p' && p[3] != 's') ||
	    (p += 4, !expect(&p, e, ' ')) || !num(&p, e, 16, &off) ||
	    !expect(&p, e, ' ') || !num(&p, e, 16, &major) ||
	    !expect(&p, e, ':') || !num(&p, e, 16, &minor) ||
	    !expect(&p, e, ' ') || !num(&p, e, 10, &inode) ||
	    (p < e && *p != ' ') || start >= end || start % nm_page_size() ||
	    end % nm_page_size() || end > UINTPTR_MAX) {
		nm_seterr(err, "scan: malformed maps line: %.*s",
			  (int)(len < 60 ? len : 60), line);
		return -1;
	}
	while (p < e && *p == ' ')
		p++;
	path = p;
	plen = (size_t)(e - p);
	vma->start = (uintptr_t)start;
	vma->end = (uintptr_t)end;
	/* The fourth permission character, after the range's space. */
	p = memchr(line, ' ', len);
	vma->shared = p[4] == 's';
	/*
	 * Anonymous shared memory shows as a deleted /dev/zero or SysV
	 * segment, POSIX shared memory as a /dev/shm file, memfd as
	 * "/memfd:NAME (deleted)": their pages are shmem, the job's memory,
	 * not a file's page cache (as lib/job_proc.c counts).
	 */
	vma->shmem = inode != 0 && (starts(path, plen, "/dev/zero") ||
				    starts(path, plen, "/SYSV") ||
				    starts(path, plen, "/dev/shm/") ||
				    starts(path, plen, "/memfd:"));
	vma->file = inode != 0 && starts(path, plen, "/") && !vma->shmem;
	/* Kernel-provided special mappings hold no movable pages. */
	if (starts(path, plen, "[vsyscall]") || starts(path, plen, "[vvar") ||
	    starts(path, plen, "[vdso]"))
		return 0;
	/*
	 * Character devices mapped by drivers (GPU, RDMA, DAX) are VM_IO or
	 * VM_PFNMAP: no struct pages to move.  Anonymous shared memory and
	 * /dev/shm files are tmpfs and stay.
	 */
	if (starts(path, plen, "/dev/") && !starts(path, plen, "/dev/zero") &&
	    !starts(path, plen, "/dev/shm/"))
		return 0;
	return 1;
}

int nm_scan_maps_line(const char *line, struct nm_vma *vma, char *err)
{
	return nm_scan_maps_entry(line, strlen(line), vma, err);
}

int nm_scan_maps_parse(const char *buf, size_t len, struct nm_vma **vmas,
		       size_t *nvmas, char *err)
{
	const char *end = buf + len, *next;
	size_t cap = 0;

	*vmas = NULL;
	*nvmas = 0;
	for (const char *p = buf; p < end; p = next) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct nm_vma vma;
		int k;

		next = nl ? nl + 1 : end;
		k = nm_scan_maps_entry(p, (size_t)(next - p), &vma, err);
		if (k < 0)
			goto fail;
		if (!k)
			continue;
		if (*nvmas == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct nm_vma *v = realloc(*vmas, ncap * sizeof(*v));

			if (!v) {
				nm_seterr(err, "scan: out of memory");
				goto fail;
			}
			*vmas = v;
			cap = ncap;
		}
		(*vmas)[(*nvmas)++] = vma;
	}
	return 0;
fail:
	free(*vmas);
	*vmas = NULL;
	*nvmas = 0;
	return -1;
}

bool nm_scan_skips(const struct nm_vma *vma, uid_t owner, uid_t caller)
{
	/* Unknown owner: not the caller's, as far as anyone can tell. */
	return caller != NM_SCAN_ANY_UID && vma->shared && owner != caller;
}

/* One scan of one process. */
struct scanner {
	struct nm_scan *out;		/* the runs found so far */
	pid_t pid;			/* the process scanned */
	int pm_fd, kpf_fd;		/* its pagemap; kpageflags (-1: none) */
	bool use_move_pages;		/* ask move_pages(2), not the PFNs */
	bool pfns;			/* PFNs visible in pagemap */
	struct nodemap nm;		/* PFN -> node, for the pagemap method */
	/* pagemap batch: entries, their kpageflags, what they mean */
	uint64_t pm[CHUNK];
	uint64_t kpf[CHUNK];
	uint16_t pflags[CHUNK];
	bool phead[CHUNK], pskip[CHUNK];
	/* move_pages query batch: addresses, nodes, flags, folio heads */
	void *addrs[CHUNK];
	int status[CHUNK];
	uint16_t aflags[CHUNK];
	bool ahead[CHUNK];
	uint64_t apfn[CHUNK];
	uint64_t last_pfn;		/* of the last page added */
	const bool *run_nodes;		/* nodes to make runs for; NULL: all */
	uint64_t zero_pfn;		/* the shared zero page; ~0: unknown */
};

static int add_page(struct scanner *s, uintptr_t addr, int node,
		    uint16_t flags, bool folio_start, uint64_t pfn)
{
	struct nm_scan *o = s->out;
	struct nm_run *last = o->nruns ? &o->runs[o->nruns - 1] : NULL;
	bool large = flags & (NM_RUN_THP | NM_RUN_HUGETLB);

	if (node < 0 || node >= NM_MAX_NODES)
		return 0;
	o->pages_per_node[node]++;
	/*
	 * Large runs are one folio each: a head page, or a PFN that does not
	 * follow the last one, starts the next folio.
	 */
	if (last &&
	    last->start + (uintptr_t)last->npages * nm_page_size() == addr &&
	    last->node == node && last->flags == flags &&
	    last->npages < UINT32_MAX &&
	    (!large || (!folio_start && pfn == s->last_pfn + 1))) {
		last->npages++;
		s->last_pfn = pfn;
		return 0;
	}
	if (o->nruns == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 256;
		struct nm_run *r = realloc(o->runs, cap * sizeof(*r));

		if (!r)
			return -1;
		o->runs = r;
		o->cap = cap;
	}
	o->runs[o->nruns++] = (struct nm_run){
		.start = addr, .npages = 1, .node = (int16_t)node,
		.flags = flags,
	};
	s->last_pfn = pfn;
	return 0;
}

static int read_kpageflags(struct scanner *s, uint64_t pfn, size_t n,
			   uint64_t *out)
{
	ssize_t r = pread(s->kpf_fd, out, n * 8, (off_t)(pfn * 8));

	if (r != (ssize_t)(n * 8)) {
		memset(out, 0, n * 8);
		return -1;
	}
	return 0;
}

static bool any_present(const uint64_t *pm, size_t n)
{
	uint64_t any = 0;

	for (size_t i = 0; i < n; i++)
		any |= pm[i];
	return any & PM_PRESENT;
}

/*
 * Whether pagemap entry @e (present) of @vma is only counted: an
 * anonymous page on a node without runs.  The zero page is nobody's.
 */
static bool counted_only(struct scanner *s, const struct nm_vma *vma,
			 uint64_t e)
{
	uint64_t pfn = e & PM_PFN_MASK;
	int node;

	if (!s->run_nodes || s->use_move_pages || vma->file)
		return false;
	node = pfn_node(&s->nm, pfn);
	if (node < 0 || node >= NM_MAX_NODES || s->run_nodes[node])
		return false;
	if (pfn != s->zero_pfn)
		s->out->counted_per_node[node]++;
	return true;
}

/* Flags of the present entries of s->pm[0..n): attributes, skip marks. */
static void page_attrs(struct scanner *s, const struct nm_vma *vma, size_t n,
		       uint16_t *flags, bool *head, bool *skip)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t e = s->pm[i];

		skip[i] = !(e & PM_PRESENT) || counted_only(s, vma, e);
		if (skip[i])
			continue;
		flags[i] = 0;
		head[i] = false;
		if (!(e & PM_EXCLUSIVE))
			flags[i] |= NM_RUN_SHARED;
		/* PM_FILE: not an anonymous page (COW copies are). */
		if (vma->file && (e & PM_FILE))
			flags[i] |= NM_RUN_FILE;
		else if (vma->shmem && (e & PM_FILE))
			flags[i] |= NM_RUN_SHMEM;
	}
	if (!s->pfns || s->kpf_fd < 0)
		return;
	/* kpageflags for runs of consecutive PFNs at once (THP: 512). */
	for (size_t i = 0; i < n;) {
		uint64_t pfn;
		size_t j;

		if (skip[i]) {
			i++;
			continue;
		}
		pfn = s->pm[i] & PM_PFN_MASK;
		for (j = i + 1; j < n && !skip[j] &&
		     (s->pm[j] & PM_PFN_MASK) == pfn + (j - i); j++)
			;
		if (read_kpageflags(s, pfn, j - i, s->kpf + i) < 0) {
			i = j;
			continue;
		}
		for (size_t k = i; k < j; k++) {
			uint64_t f = s->kpf[k];

			if (f & ((UINT64_C(1) << KPF_ZERO_PAGE) |
				 (UINT64_C(1) << KPF_NOPAGE))) {
				skip[k] = true;
				continue;
			}
			if (f & (UINT64_C(1) << KPF_HUGE))
				flags[k] |= NM_RUN_HUGETLB;
			else if (f & (UINT64_C(1) << KPF_THP))
				flags[k] |= NM_RUN_THP;
			head[k] = f & (UINT64_C(1) << KPF_COMPOUND_HEAD);
		}
		i = j;
	}
}

static int flush_query(struct scanner *s, size_t n, char *err)
{
	long r;

	if (!n)
		return 0;
	r = move_pages(s->pid, (unsigned long)n, s->addrs, NULL, s->status, 0);
	if (r < 0) {
		nm_seterr(err, "pid %d: move_pages query: %s", (int)s->pid,
			  errno == ESRCH ? "no such process" : strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (s->status[i] >= 0 &&
		    add_page(s, (uintptr_t)s->addrs[i], s->status[i],
			     s->aflags[i], s->ahead[i], s->apfn[i]) < 0)
			goto nomem;
	return 0;
nomem:
	nm_seterr(err, "scan: out of memory");
	return -1;
}

static int scan_vma(struct scanner *s, const struct nm_vma *vma, char *err)
{
	uint16_t *flags = s->pflags;
	bool *head = s->phead, *skip = s->pskip;

	for (uintptr_t a = vma->start; a < vma->end;) {
		size_t n = (vma->end - a) / nm_page_size(), q = 0;
		ssize_t r;

		if (n > CHUNK)
			n = CHUNK;
		r = pread(s->pm_fd, s->pm, n * 8,
			  (off_t)((a / nm_page_size()) * 8));
		if (r < 0 && (errno == ESRCH || errno == EIO)) {
			nm_seterr(err, "pid %d: process exited during the "
				  "scan", (int)s->pid);
			return -1;
		}
		if (r != (ssize_t)(n * 8)) {
			/* The mapping went away under us: nothing more here. */
			if (r >= 0)
				return 0;
			nm_seterr(err, "pid %d: reading pagemap: %s",
				  (int)s->pid, strerror(errno));
			return -1;
		}
		/* Most of a big sparse mapping is holes: one pass finds them. */
		if (!any_present(s->pm, n)) {
			a += n * nm_page_size();
			continue;
		}
		page_attrs(s, vma, n, flags, head, skip);
		for (size_t i = 0; i < n; i++) {
			uintptr_t addr = a + i * nm_page_size();
			uint64_t pfn = s->pm[i] & PM_PFN_MASK;

			if (skip[i])
				continue;
			if (s->use_move_pages) {
				s->addrs[q] = (void *)addr;
				s->aflags[q] = flags[i];
				s->ahead[q] = head[i];
				s->apfn[q++] = pfn;
				continue;
			}
			if (add_page(s, addr, pfn_node(&s->nm, pfn), flags[i],
				     head[i], pfn) < 0) {
				nm_seterr(err, "scan: out of memory");
				return -1;
			}
		}
		if (flush_query(s, q, err) < 0)
			return -1;
		a += n * nm_page_size();
	}
	return 0;
}

/* Whether pagemap shows PFNs to us (CAP_SYS_ADMIN): probe our own stack. */
static bool pfns_visible(void)
{
	volatile uint64_t probe = 1;
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uintptr_t a = (uintptr_t)&probe;

	if (fd < 0)
		return false;
	probe++;
	if (pread(fd, &e, 8, (off_t)((a / nm_page_size()) * 8)) != 8)
		e = 0;
	close(fd);
	return (e & PM_PRESENT) && (e & PM_PFN_MASK);
}

/*
 * The shared zero page's PFN, which an untouched anonymous page reads as,
 * from kpageflags (@kpf_fd): a page only counted has none read.  ~0 when
 * not seen: kpageflags unreadable, or a kernel that gives a read fault a
 * page of its own instead (the PFN read is then that page's).
 */
static uint64_t zero_page_pfn(int kpf_fd)
{
	uint64_t e = 0, f = 0, pfn;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	volatile char *p = mmap(NULL, nm_page_size(), PROT_READ,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (fd >= 0 && p != MAP_FAILED) {
		(void)p[0];
		if (pread(fd, &e, 8, (off_t)((uintptr_t)p / nm_page_size() *
					     8)) != 8)
			e = 0;
	}
	if (p != MAP_FAILED)
		munmap((void *)p, nm_page_size());
	if (fd >= 0)
		close(fd);
	pfn = e & PM_PFN_MASK;
	if (!(e & PM_PRESENT) || !pfn || kpf_fd < 0 ||
	    pread(kpf_fd, &f, 8, (off_t)(pfn * 8)) != 8 ||
	    !(f & (UINT64_C(1) << KPF_ZERO_PAGE)))
		return ~UINT64_C(0);
	return pfn;
}

/* The method (AUTO resolved) and what it reads: node map, kpageflags. */
static int scanner_setup(struct scanner *s, enum nm_scan_method method,
			 char *err)
{
	s->pm_fd = s->kpf_fd = -1;
	s->pfns = pfns_visible();
	if (method == NM_SCAN_PAGEMAP && !s->pfns) {
		nm_seterr(err, "scan: pagemap shows no page frame numbers "
			  "without CAP_SYS_ADMIN; use the move_pages method");
		return -1;
	}
	s->use_move_pages = method == NM_SCAN_MOVE_PAGES ||
			    (method == NM_SCAN_AUTO && !s->pfns);
	s->out->method = s->use_move_pages ? NM_SCAN_MOVE_PAGES :
					     NM_SCAN_PAGEMAP;
	if (!s->use_move_pages && nodemap_load(&s->nm, err) < 0)
		return -1;
	if (s->pfns)
		s->kpf_fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	s->zero_pfn = s->run_nodes && !s->use_move_pages ?
		      zero_page_pfn(s->kpf_fd) : ~UINT64_C(0);
	return 0;
}

/* The mappings of @pid to scan, and its pagemap opened into @s. */
static int open_process(struct scanner *s, struct nm_vma **vmas,
			size_t *nvmas, char *err)
{
	char path[64], *maps;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)s->pid);
	maps = nm_read_file(path, NM_MAPS_MAX, &len);
	if (!maps) {
		nm_seterr(err, "pid %d: %s", (int)s->pid, errno == ENOENT ?
			  "no such process" : strerror(errno));
		return -1;
	}
	rc = nm_scan_maps_parse(maps, len, vmas, nvmas, err);
	free(maps);
	if (rc < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)s->pid);
	s->pm_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->pm_fd < 0) {
		nm_seterr(err, "pid %d: %s: %s", (int)s->pid, path,
			  errno == ENOENT ? "no such process" :
			  strerror(errno));
		return -1;
	}
	return 0;
}

/* Resident pages of @vma, from its pagemap entries. */
static int count_resident(struct scanner *s, const struct nm_vma *vma,
			  uint64_t *pages, char *err)
{
	*pages = 0;
	for (uintptr_t a = vma->start; a < vma->end;) {
		size_t n = (vma->end - a) / nm_page_size();
		ssize_t r;

		if (n > CHUNK)
			n = CHUNK;
		r = pread(s->pm_fd, s->pm, n * 8,
			  (off_t)((a / nm_page_size()) * 8));
		if (r < 0) {
			nm_seterr(err, "pid %d: reading pagemap: %s",
				  (int)s->pid, strerror(errno));
			return -1;
		}
		for (size_t i = 0; i < (size_t)r / 8; i++)
			*pages += (s->pm[i] & PM_PRESENT) != 0;
		if (r != (ssize_t)(n * 8))
			return 0;	/* the mapping went away */
		a += n * nm_page_size();
	}
	return 0;
}

/* The owner of @vma's object and its name, via /proc/PID/map_files. */
static uid_t vma_owner(pid_t pid, const struct nm_vma *vma, char *path,
		       size_t len)
{
	char link[96];
	struct stat st;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/map_files/%lx-%lx", (int)pid,
		 (unsigned long)vma->start, (unsigned long)vma->end);
	n = readlink(link, path, len - 1);
	path[n > 0 ? n : 0] = 0;
	if (n <= 0)
		snprintf(path, len, "?");
	return stat(link, &st) == 0 ? st.st_uid : (uid_t)-1;
}

/*
 * Whether @vma's pages can move at all: shared memory (shmem) can, a
 * regular file's page cache never does (NM_RUN_FILE), except on hugetlbfs.
 */
static bool movable_shared(pid_t pid, const struct nm_vma *vma)
{
	char link[96];
	struct statfs fs;

	if (!vma->file)
		return true;
	snprintf(link, sizeof(link), "/proc/%d/map_files/%lx-%lx", (int)pid,
		 (unsigned long)vma->start, (unsigned long)vma->end);
	/* Cannot tell: as if it could move. */
	return statfs(link, &fs) < 0 || fs.f_type == HUGETLBFS_MAGIC;
}

/* Leaves @vma out when it is someone else's shared memory. */
static int maybe_skip(struct scanner *s, const struct nm_vma *vma,
		      uid_t caller, bool *skipped, char *err)
{
	struct nm_scan *o = s->out;
	struct nm_skipped k = { .start = vma->start, .end = vma->end }, *v;

	*skipped = false;
	if (caller == NM_SCAN_ANY_UID || !vma->shared ||
	    !movable_shared(s->pid, vma))
		return 0;
	k.owner = vma_owner(s->pid, vma, k.path, sizeof(k.path));
	if (!nm_scan_skips(vma, k.owner, caller))
		return 0;
	*skipped = true;
	if (count_resident(s, vma, &k.pages, err) < 0)
		return -1;
	if (!k.pages)
		return 0;
	/* A few at most: one realloc each. */
	v = realloc(o->skipped, (o->nskipped + 1) * sizeof(*v));
	if (!v) {
		nm_seterr(err, "scan: out of memory");
		return -1;
	}
	o->skipped = v;
	o->skipped[o->nskipped++] = k;
	o->pages_skipped += k.pages;
	return 0;
}

int nm_scan_process(pid_t pid, enum nm_scan_method method,
		    struct nm_scan *out, char *err)
{
	return nm_scan_process_for(pid, method, NM_SCAN_ANY_UID, out, err);
}

int nm_scan_process_for(pid_t pid, enum nm_scan_method method, uid_t caller,
			struct nm_scan *out, char *err)
{
	return nm_scan_process_on(pid, method, caller, NULL, out, err);
}

int nm_scan_process_on(pid_t pid, enum nm_scan_method method, uid_t caller,
		       const bool *run_nodes, struct nm_scan *out, char *err)
{
	struct scanner *s;
	struct nm_vma *vmas = NULL;
	size_t nvmas = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	if (pid <= 0) {
		nm_seterr(err, "scan: invalid pid %d", (int)pid);
		return -1;
	}
	if (method != NM_SCAN_AUTO && method != NM_SCAN_PAGEMAP &&
	    method != NM_SCAN_MOVE_PAGES) {
		nm_seterr(err, "scan: unknown method %d", (int)method);
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		nm_seterr(err, "scan: out of memory");
		return -1;
	}
	s->out = out;
	s->pid = pid;
	s->run_nodes = run_nodes;
	if (scanner_setup(s, method, err) == 0 &&
	    open_process(s, &vmas, &nvmas, err) == 0) {
		rc = 0;
		for (size_t i = 0; rc == 0 && i < nvmas; i++) {
			bool skip;

			rc = maybe_skip(s, &vmas[i], caller, &skip, err);
			if (rc == 0 && !skip)
				rc = scan_vma(s, &vmas[i], err);
		}
	}
	if (s->pm_fd >= 0)
		close(s->pm_fd);
	if (s->kpf_fd >= 0)
		close(s->kpf_fd);
	nodemap_free(&s->nm);
	free(s);
	free(vmas);
	if (rc < 0) {
		nm_scan_release(out);
		memset(out->pages_per_node, 0, sizeof(out->pages_per_node));
		memset(out->counted_per_node, 0,
		       sizeof(out->counted_per_node));
	}
	return rc;
}

void nm_scan_release(struct nm_scan *scan)
{
	if (!scan)
		return;
	free(scan->runs);
	scan->runs = NULL;
	scan->nruns = scan->cap = 0;
	free(scan->skipped);
	scan->skipped = NULL;
	scan->nskipped = 0;
	scan->pages_skipped = 0;
}
