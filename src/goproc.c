// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A live Go process's runtime state (see goproc.h).
 *
 * Rules from the Go sources (runtime/proc.go, traceback.go, time.go):
 * - allgadd() appends to allgs, then stores allgptr, then allglen: a
 *   reader that loads allglen before allgptr sees at least allglen valid
 *   entries (atomicAllG).
 * - NumGoroutine() = gcount() = allglen - free (dead) gs - sched.ngsys;
 *   ngsys counts the goroutines that isSystemGoroutine() called system
 *   when they were created: start function "runtime.*" except runtime.main
 *   (and runtime.corostart, 1.23+). runtime.runfinq counts as system there
 *   even while it runs a finalizer (pprof's goroutine profile then lists
 *   it; NumGoroutine does not), so it is system here too.
 * - Statuses: idle 0, runnable 1, running 2, syscall 3, waiting 4,
 *   moribund 5 (unused), dead 6, enqueue 7 (unused), copystack 8,
 *   preempted 9, leaked 10 (1.26); scan bit 0x1000.
 * - Timer statuses <= 1.22: nostatus 0, waiting 1, running 2, deleted 3,
 *   removing 4, removed 5, modifying 6, modifiedEarlier 7, modifiedLater
 *   8, moving 9; 3-5 are not live. 1.23+: state bits heaped 1, modified
 *   2, zombie 4: live = heaped and not zombie.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "goproc.h"
#include "procmaps.h"

#define IOV_BATCH	1024
#define MAX_ALLG	(1u << 24)
#define MAX_RETRIES	8
#define MAX_P		4096
#define MAX_TIMERS	(1u << 22)
#define CALIB_GS	256
#define CALIB_WIN	512
#define MAX_STACK_READ	(256u << 10)
#define STATUS_SCAN	0x1000u

struct pccache_ent {
	uint64_t pc;
	uint8_t flags;	/* 1 valid, 2 entry, 4 system */
};

struct goproc {
	struct gobin *gb;
	bool own_gb;
	uint64_t bias;
	struct go_layout L;
	bool have_layout;
	uint64_t sym[GOBIN_SYM__MAX];	/* runtime addresses, 0 = unknown */
	uint64_t text_lo, text_hi;
	int minor;
	struct gomem_ops ops;
	int pid;
	char err[256];
	char **wr;
	int nwr;
	uint64_t sendtime, gofunc;	/* runtime entries of time.sendTime, time.goFunc */
	struct pccache_ent *pcc;
	size_t pcc_cap;
	uint32_t max_status;
	uint8_t *gbuf;			/* the gs' read buffer, kept */
	size_t gbuf_len;
};

static void perr(struct goproc *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void perr(struct goproc *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
}

const char *goproc__error(const struct goproc *p)
{
	return p ? p->err : "";
}

static inline uint64_t rd64(const uint8_t *b, int off)
{
	uint64_t v;

	memcpy(&v, b + off, 8);
	return v;
}

static inline uint32_t rd32(const uint8_t *b, int off)
{
	uint32_t v;

	memcpy(&v, b + off, 4);
	return v;
}

/* ---------------------------------------------------------------------- */
/* memory                                                                 */

static int pid_readv(void *ctx, struct gomem_iov *iov, int n)
{
	int pid = *(int *)ctx;
	struct iovec l[IOV_BATCH], r[IOV_BATCH];
	int i = 0;

	while (i < n) {
		int k = n - i > IOV_BATCH ? IOV_BATCH : n - i, j;
		size_t acc = 0;
		ssize_t got;

		for (j = 0; j < k; j++) {
			l[j] = (struct iovec){ iov[i + j].buf, iov[i + j].len };
			r[j] = (struct iovec){ (void *)(uintptr_t)iov[i + j].addr, iov[i + j].len };
			iov[i + j].err = 0;
		}
		got = process_vm_readv(pid, l, k, r, k, 0);
		if (got < 0) {
			if (errno == ESRCH || errno == EPERM || errno == ENOMEM)
				return -errno;
			iov[i].err = -EFAULT;	/* the first one failed */
			i++;
			continue;
		}
		for (j = 0; j < k && acc + iov[i + j].len <= (size_t)got; j++)
			acc += iov[i + j].len;
		if (j < k)
			iov[i + j++].err = -EFAULT;	/* the one that stopped the transfer */
		i += j;
	}
	return 0;
}

static int pid_write(void *ctx, uint64_t addr, const void *buf, size_t len)
{
	int pid = *(int *)ctx;
	struct iovec l = { (void *)buf, len }, r = { (void *)(uintptr_t)addr, len };
	ssize_t got = process_vm_writev(pid, &l, 1, &r, 1, 0);

	if (got < 0)
		return -errno;
	return (size_t)got == len ? 0 : -EFAULT;
}

static int mem_readv(struct goproc *p, struct gomem_iov *iov, int n)
{
	for (int i = 0; i < n; i++)
		iov[i].err = 0;
	return n ? p->ops.readv(p->ops.ctx, iov, n) : 0;
}

static int mem_read(struct goproc *p, uint64_t addr, void *buf, size_t len)
{
	struct gomem_iov iov = { addr, buf, len, 0 };
	int err = mem_readv(p, &iov, 1);

	return err ? err : iov.err;
}

/* ---------------------------------------------------------------------- */
/* code addresses                                                         */

static bool in_text(const struct goproc *p, uint64_t pc)
{
	return pc >= p->text_lo && pc < p->text_hi;
}

static uint8_t pc_flags(struct goproc *p, uint64_t pc)
{
	size_t h, i;
	uint8_t f = 1;

	if (!in_text(p, pc))
		return 1;
	if (p->pcc_cap) {
		h = (size_t)((pc * 0x9e3779b97f4a7c15ull) >> 20) & (p->pcc_cap - 1);
		for (i = 0; i < p->pcc_cap; i++) {
			struct pccache_ent *e = &p->pcc[(h + i) & (p->pcc_cap - 1)];

			if (!e->flags)
				break;
			if (e->pc == pc)
				return e->flags;
		}
	}
	if (p->gb) {
		const char *name;

		if (gobin__is_func_entry(p->gb, pc - p->bias))
			f |= 2;
		name = gobin__func_name(p->gb, pc - p->bias);
		if (name && !strncmp(name, "runtime.", 8) && strcmp(name, "runtime.main") &&
		    strcmp(name, "runtime.corostart"))
			f |= 4;
	} else if (!(pc & 15)) {
		f |= 2;
	}
	if (p->pcc_cap) {
		struct pccache_ent *e = NULL;

		h = (size_t)((pc * 0x9e3779b97f4a7c15ull) >> 20) & (p->pcc_cap - 1);
		for (i = 0; i < p->pcc_cap / 2; i++) {	/* keep it at most half full */
			e = &p->pcc[(h + i) & (p->pcc_cap - 1)];
			if (!e->flags)
				break;
			e = NULL;
		}
		if (e) {
			e->pc = pc;
			e->flags = f;
		}
	}
	return f;
}

static bool is_entry(struct goproc *p, uint64_t pc)
{
	return pc_flags(p, pc) & 2;
}

/* ---------------------------------------------------------------------- */
/* goroutines                                                             */

struct gset {		/* goids seen: open addressing */
	uint64_t *v;
	size_t cap;
};

static bool gset_add(struct gset *s, uint64_t goid)
{
	size_t h = (size_t)(goid * 0x9e3779b97f4a7c15ull) & (s->cap - 1);

	for (size_t i = 0; i < s->cap; i++) {
		uint64_t *e = &s->v[(h + i) & (s->cap - 1)];

		if (*e == goid)
			return false;
		if (!*e) {
			*e = goid;
			return true;
		}
	}
	return false;
}

/* Read allglen, allgptr, the g pointers, allgptr again. */
static int read_allg(struct goproc *p, uint64_t **ptrs, uint64_t *count)
{
	uint64_t len = 0, ptr = 0, ptr2 = 0, *v;
	struct gomem_iov iov[2] = {
		{ p->sym[GOBIN_SYM_ALLGLEN], &len, 8, 0 },	/* allglen first */
		{ p->sym[GOBIN_SYM_ALLGPTR], &ptr, 8, 0 },
	};
	int err;

	if (!iov[0].addr || !iov[1].addr) {
		perr(p, "allglen/allgptr not found in the binary");
		return -ENOENT;
	}
	err = mem_readv(p, iov, 2);
	if (err)
		return err;
	if (iov[0].err || iov[1].err) {
		perr(p, "allglen/allgptr unreadable");
		return -EFAULT;
	}
	if (!len || len > MAX_ALLG || !ptr || (ptr & 7)) {
		perr(p, "allglen %llu / allgptr 0x%llx implausible", (unsigned long long)len,
		     (unsigned long long)ptr);
		return -EAGAIN;
	}
	v = malloc(len * 8);
	if (!v)
		return -ENOMEM;
	err = mem_read(p, ptr, v, len * 8);
	if (!err)
		err = mem_read(p, p->sym[GOBIN_SYM_ALLGPTR], &ptr2, 8);
	if (err || ptr2 != ptr) {
		free(v);
		if (err == -ESRCH || err == -EPERM)
			return err;
		perr(p, "allgs moved while read");
		return -EAGAIN;
	}
	*ptrs = v;
	*count = len;
	return 0;
}

struct gref {
	uint64_t addr;
	uint32_t idx;
};

static int gref_cmp(const void *a, const void *b)
{
	const struct gref *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* One g at a time, the gs listed in R, each into FB at its slot (idx * gsz); GP[idx] set. */
static int read_each(struct goproc *p, const struct gref *r, uint64_t n, size_t gsz, uint8_t *fb,
		     const uint8_t **gp)
{
	struct gomem_iov iov[64];

	for (uint64_t i = 0; i < n; i += 64) {
		int k = n - i > 64 ? 64 : (int)(n - i), err;

		for (int j = 0; j < k; j++)
			iov[j] = (struct gomem_iov){ r[i + j].addr, fb + r[i + j].idx * gsz, gsz, 0 };
		err = mem_readv(p, iov, k);
		if (err)
			return err;
		for (int j = 0; j < k; j++) {
			if (iov[j].err) {
				perr(p, "g %u at 0x%llx unreadable", r[i + j].idx,
				     (unsigned long long)r[i + j].addr);
				return -EAGAIN;
			}
			gp[r[i + j].idx] = iov[j].buf;
		}
	}
	return 0;
}

/* P's read buffer, at least LEN bytes; kept from one snapshot to the next (no page faults then). */
static uint8_t *gbuf(struct goproc *p, size_t len)
{
	if (len > p->gbuf_len) {
		size_t want = len + len / 4;
		void *m;

		if (p->gbuf)
			munmap(p->gbuf, p->gbuf_len);
		p->gbuf = NULL;
		p->gbuf_len = 0;
		m = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return NULL;
		madvise(m, want, MADV_HUGEPAGE);
		p->gbuf = m;
		p->gbuf_len = want;
	}
	return p->gbuf;
}

/*
 * Read every g (GSZ bytes each): *GP[i] is ptrs[i]'s, in P's read buffer
 * (valid until the next read). The gs live side by side in the heap's
 * spans: sorted by address, neighbours no more than two gs apart are read
 * as one run (one iovec for many gs, not one each: 100k gs cost a few
 * large copies, not 100k page walks). A run that cannot be read whole is
 * read one g at a time.
 */
static int read_gs(struct goproc *p, const uint64_t *ptrs, uint64_t n, size_t gsz, const uint8_t ***out)
{
	struct gref *r = malloc(sizeof(*r) * (n ? n : 1));
	uint64_t *run_lo = malloc(sizeof(*run_lo) * (n + 1)), *run_first = malloc(sizeof(*run_first) * (n + 1));
	const uint8_t **gp = calloc(n ? n : 1, sizeof(*gp));
	uint64_t total = 0, nrun = 0;
	struct gomem_iov *iov = malloc(sizeof(*iov) * IOV_BATCH);
	uint8_t *buf;
	int err = -ENOMEM;

	if (!r || !run_lo || !run_first || !gp || !iov)
		goto out;
	for (uint64_t i = 0; i < n; i++)
		r[i] = (struct gref){ ptrs[i], (uint32_t)i };
	qsort(r, n, sizeof(*r), gref_cmp);
	/* runs: [run_first[k], run_first[k+1]) of r, from run_lo[k] to the end of its last g */
	for (uint64_t i = 0; i < n; i++) {
		if (!nrun || r[i].addr > r[i - 1].addr + 2 * gsz || r[i].addr - run_lo[nrun - 1] > (1u << 20)) {
			if (nrun)
				total += r[i - 1].addr + gsz - run_lo[nrun - 1];
			run_lo[nrun] = r[i].addr;
			run_first[nrun++] = i;
		}
	}
	if (nrun)
		total += r[n - 1].addr + gsz - run_lo[nrun - 1];
	run_first[nrun] = n;
	/* the runs, then a slot per g for those read one at a time (untouched unless needed) */
	buf = gbuf(p, total + n * gsz + 1);
	if (!buf)
		goto out;
	err = 0;
	for (uint64_t k = 0, off = 0; k < nrun && !err; k += IOV_BATCH) {
		int m = nrun - k > IOV_BATCH ? IOV_BATCH : (int)(nrun - k);

		for (int j = 0; j < m; j++) {
			uint64_t last = r[run_first[k + j + 1] - 1].addr;

			iov[j] = (struct gomem_iov){ run_lo[k + j], buf + off, last + gsz - run_lo[k + j], 0 };
			off += iov[j].len;
		}
		err = mem_readv(p, iov, m);
		for (int j = 0; j < m && !err; j++) {
			const struct gref *g = &r[run_first[k + j]], *end = &r[run_first[k + j + 1]];

			if (iov[j].err) {
				err = read_each(p, g, end - g, gsz, buf + total, gp);
				continue;
			}
			for (; g < end; g++)
				gp[g->idx] = (uint8_t *)iov[j].buf + (g->addr - iov[j].addr);
		}
	}
out:
	free(iov);
	free(run_lo);
	free(run_first);
	free(r);
	if (err) {
		free(gp);
		return err;
	}
	*out = gp;
	return 0;
}

static void parse_g(struct goproc *p, const struct go_layout *L, const uint8_t *b, uint64_t addr,
		    struct go_g *g)
{
	memset(g, 0, sizeof(*g));
	g->addr = addr;
	g->stack_lo = rd64(b, L->g_stack_lo);
	g->stack_hi = rd64(b, L->g_stack_hi);
	g->sched_sp = rd64(b, L->g_sched_sp);
	g->sched_pc = rd64(b, L->g_sched_pc);
	g->sched_bp = rd64(b, L->g_sched_bp);
	g->status = rd32(b, L->g_atomicstatus) & ~STATUS_SCAN;
	g->goid = rd64(b, L->g_goid);
	g->waitsince = (int64_t)rd64(b, L->g_waitsince);
	g->waitreason = b[L->g_waitreason];
	g->parent_goid = L->g_parentgoid >= 0 ? rd64(b, L->g_parentgoid) : 0;
	g->gopc = rd64(b, L->g_gopc);
	g->startpc = rd64(b, L->g_startpc);
	if (g->waitreason < p->nwr)
		g->waitreason_str = p->wr[g->waitreason];
}

/*
 * Check and collect the live gs of one read. 0, or -EAGAIN with p->err
 * naming the first check that failed (NBAD: how many gs failed it).
 */
static int check_gs(struct goproc *p, const struct go_layout *L, const uint64_t *ptrs,
		    const uint8_t *const *gp, uint64_t n, struct go_snapshot *s)
{
	struct gset set = { 0 };
	const char *why = NULL;
	uint64_t bad_goid = 0;
	int nbad = 0;

	for (set.cap = 64; set.cap < 2 * n; set.cap <<= 1)
		;
	set.v = calloc(set.cap, sizeof(*set.v));
	s->g = calloc(n ? n : 1, sizeof(*s->g));
	if (!set.v || !s->g) {
		free(set.v);
		free(s->g);
		s->g = NULL;
		return -ENOMEM;
	}
	s->allglen = n;
	for (uint64_t i = 0; i < n; i++) {
		struct go_g *g = &s->g[s->n];
		const char *w = NULL;

		parse_g(p, L, gp[i], ptrs[i], g);
		if (i == 0 && g->goid != 1)
			w = "allgs[0].goid is not 1";
		else if (g->status > p->max_status)
			w = "status out of range";
		if (!w && (g->status == GO_DEAD || g->status == GO_IDLE)) {
			s->ndead++;
			continue;
		}
		if (!w && !is_entry(p, g->startpc))
			w = "startpc not a function entry";
		else if (!w && !in_text(p, g->gopc))
			w = "gopc not inside text";
		else if (!w && (g->stack_lo >= g->stack_hi || g->stack_hi - g->stack_lo > (1ull << 30)))
			w = "stack bounds";
		else if (!w && (!g->goid || !gset_add(&set, g->goid)))
			w = "goid zero or repeated";
		else if (!w && g->status == GO_WAITING && L->g_sched_g >= 0 &&
			 rd64(gp[i], L->g_sched_g) != g->addr)
			w = "sched.g of a waiting g is not itself";
		else if (!w && g->status == GO_WAITING &&
			 (g->sched_sp < g->stack_lo || g->sched_sp > g->stack_hi))
			w = "sched.sp of a waiting g outside its stack";
		if (w) {
			if (!why) {
				why = w;
				bad_goid = g->goid;
			}
			nbad++;
			continue;
		}
		g->system = pc_flags(p, g->startpc) & 4;
		if (g->system)
			s->nsystem++;
		else
			s->nuser++;
		s->n++;
	}
	free(set.v);
	if (why) {
		perr(p, "%s (%d of %llu goroutines; first goid %llu)", why, nbad,
		     (unsigned long long)n, (unsigned long long)bad_goid);
		free(s->g);
		memset(s, 0, sizeof(*s));
		return -EAGAIN;
	}
	return 0;
}

static int snapshot_once(struct goproc *p, const struct go_layout *L, struct go_snapshot *s)
{
	uint64_t *ptrs = NULL, n = 0;
	const uint8_t **gp = NULL;
	size_t gsz = (size_t)L->g_size;
	int err;

	memset(s, 0, sizeof(*s));
	err = read_allg(p, &ptrs, &n);
	if (err)
		return err;
	err = read_gs(p, ptrs, n, gsz, &gp);
	if (!err)
		err = check_gs(p, L, ptrs, gp, n, s);
	free(gp);
	free(ptrs);
	return err;
}

int goproc__snapshot(struct goproc *p, struct go_snapshot *s)
{
	int err = -EINVAL;

	if (!p || !s)
		return -EINVAL;
	for (int attempt = 0; attempt < MAX_RETRIES; attempt++) {
		err = snapshot_once(p, &p->L, s);
		if (!err) {
			s->retries = attempt;
			return 0;
		}
		if (err != -EAGAIN)
			return err;
	}
	return err;
}

void go_snapshot__free(struct go_snapshot *s)
{
	if (!s)
		return;
	free(s->g);
	s->g = NULL;
	s->n = 0;
}

/* ---------------------------------------------------------------------- */
/* blocked stacks                                                         */

int goproc__stack(struct goproc *p, const struct go_g *g, uint64_t *pcs, int max)
{
	uint64_t lo, hi, fp, len, base;
	uint8_t *buf;
	int n = 0;

	if (!p || !g || !pcs || max <= 0)
		return -EINVAL;
	if (g->status == GO_RUNNING || g->status == GO_DEAD || g->status == GO_SYSCALL)
		return 0;
	lo = g->stack_lo;
	hi = g->stack_hi;
	if (g->sched_sp < lo || g->sched_sp >= hi || !in_text(p, g->sched_pc))
		return 0;
	base = g->sched_sp;
	len = hi - base;
	if (len > MAX_STACK_READ)
		len = MAX_STACK_READ;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	if (mem_read(p, base, buf, len)) {
		free(buf);
		return -EFAULT;
	}
	pcs[n++] = g->sched_pc;
	fp = g->sched_bp;
	/* each frame: [fp] = caller's fp, [fp+8] = return address; fp only grows */
	while (n < max && fp >= base && fp + 16 <= base + len && !(fp & 7)) {
		uint64_t next = rd64(buf, (int)(fp - base)), ret = rd64(buf, (int)(fp - base + 8));

		if (!in_text(p, ret))
			break;
		pcs[n++] = ret;
		if (next <= fp)
			break;
		fp = next;
	}
	free(buf);
	return n;
}

/* ---------------------------------------------------------------------- */
/* timers                                                                 */

const char *goproc__timer_kind_name(enum go_timer_kind k)
{
	switch (k) {
	case GO_TIMER_TIMER: return "timer";
	case GO_TIMER_TICKER: return "ticker";
	case GO_TIMER_AFTERFUNC: return "afterfunc";
	default: return "runtime";
	}
}

struct fcache {
	uint64_t fv, pc;
};

/* Code address of the funcval FV (cached per call). */
static int funcval_pc(struct goproc *p, struct fcache *fc, int *nfc, int cap, uint64_t fv, uint64_t *pc)
{
	for (int i = 0; i < *nfc; i++)
		if (fc[i].fv == fv) {
			*pc = fc[i].pc;
			return 0;
		}
	if (!fv || mem_read(p, fv, pc, 8))
		return -EFAULT;
	if (*nfc < cap)
		fc[(*nfc)++] = (struct fcache){ fv, *pc };
	return 0;
}

static int timers_once(struct goproc *p, struct go_timer **out, int *nout)
{
	const struct go_layout *L = &p->L;
	uint64_t allp[3], *pp = NULL, (*hdr)[3] = NULL, **arrs = NULL;
	size_t esz = L->timers_heap ? 16 : 8;
	struct fcache fc[64];
	struct gomem_iov *iov = NULL;
	struct go_timer *t = NULL;
	int nfc = 0, nt = 0, cap = 0, err;
	size_t tsz;
	uint64_t np;

	*out = NULL;
	*nout = 0;
	tsz = (size_t)(L->timer_arg + 16);
	if ((size_t)L->timer_status + 4 > tsz)
		tsz = (size_t)L->timer_status + 4;
	err = mem_read(p, p->sym[GOBIN_SYM_ALLP], allp, sizeof(allp));
	if (err)
		return err == -EFAULT ? -EAGAIN : err;
	np = allp[1];
	if (!np || np > MAX_P || allp[1] > allp[2]) {
		perr(p, "allp length %llu implausible", (unsigned long long)np);
		return -EAGAIN;
	}
	pp = malloc(np * 8);
	hdr = calloc(np, sizeof(*hdr));
	arrs = calloc(np, sizeof(*arrs));
	iov = calloc(np, sizeof(*iov));
	if (!pp || !hdr || !arrs || !iov) {
		err = -ENOMEM;
		goto out;
	}
	err = mem_read(p, allp[0], pp, np * 8);
	if (err)
		goto out_torn;
	for (uint64_t i = 0; i < np; i++)
		iov[i] = (struct gomem_iov){ pp[i] + (uint64_t)L->p_timers, hdr[i], 24, 0 };
	err = mem_readv(p, iov, (int)np);
	if (err)
		goto out;
	for (uint64_t i = 0; i < np; i++) {
		if (iov[i].err || hdr[i][1] > MAX_TIMERS || hdr[i][1] > hdr[i][2])
			goto out_torn;
		if (!hdr[i][1])
			continue;
		arrs[i] = malloc(hdr[i][1] * esz);
		if (!arrs[i]) {
			err = -ENOMEM;
			goto out;
		}
		if (mem_read(p, hdr[i][0], arrs[i], hdr[i][1] * esz))
			goto out_torn;
	}
	for (uint64_t i = 0; i < np; i++) {
		for (uint64_t k = 0; k < hdr[i][1]; k++) {
			uint8_t tb[256];
			struct go_timer *x;
			uint64_t ta = arrs[i][k * (esz / 8)], fv, fpc;
			bool live;

			if (tsz > sizeof(tb) || !ta || mem_read(p, ta, tb, tsz))
				goto out_torn;
			if (L->timer_state_u8) {
				uint8_t st = tb[L->timer_status];

				live = (st & 1) && !(st & 4);
			} else {
				uint32_t st = rd32(tb, L->timer_status);

				live = st != 0 && (st < 3 || st > 5);
				if (st > 9)
					goto out_torn;
			}
			if (!live)
				continue;
			fv = rd64(tb, L->timer_f);
			if (funcval_pc(p, fc, &nfc, 64, fv, &fpc) || !is_entry(p, fpc))
				goto out_torn;
			if (nt == cap) {
				struct go_timer *nt2 = realloc(t, (cap ? cap * 2 : 64) * sizeof(*t));

				if (!nt2) {
					err = -ENOMEM;
					goto out;
				}
				t = nt2;
				cap = cap ? cap * 2 : 64;
			}
			x = &t[nt++];
			memset(x, 0, sizeof(*x));
			x->addr = ta;
			x->p = (int)i;
			x->when = (int64_t)rd64(tb, L->timer_when);
			x->period = (int64_t)rd64(tb, L->timer_period);
			x->f = fpc;
			x->arg = rd64(tb, L->timer_arg + 8);
			x->status = L->timer_state_u8 ? tb[L->timer_status] : rd32(tb, L->timer_status);
			if (p->sendtime && fpc == p->sendtime) {
				x->kind = x->period > 0 ? GO_TIMER_TICKER : GO_TIMER_TIMER;
			} else if (p->gofunc && fpc == p->gofunc) {
				uint64_t upc;

				x->kind = GO_TIMER_AFTERFUNC;
				if (funcval_pc(p, fc, &nfc, 64, x->arg, &upc) || !is_entry(p, upc))
					goto out_torn;
				x->fn = upc;
			}
		}
	}
	*out = t;
	*nout = nt;
	t = NULL;
	err = 0;
	goto out;
out_torn:
	if (!p->err[0] || err != -EAGAIN)
		perr(p, "timer heaps changed while read");
	err = -EAGAIN;
out:
	if (arrs)
		for (uint64_t i = 0; i < np; i++)
			free(arrs[i]);
	free(arrs);
	free(hdr);
	free(pp);
	free(iov);
	free(t);
	return err;
}

int goproc__timers(struct goproc *p, struct go_timer **out, int *n)
{
	int err = -EAGAIN;

	if (!p || !out || !n)
		return -EINVAL;
	*out = NULL;
	*n = 0;
	if (p->L.p_timers < 0 || !p->sym[GOBIN_SYM_ALLP] || p->L.timer_f < 0 ||
	    p->L.timer_arg < 0 || p->L.timer_status < 0 || p->L.timer_when < 0 ||
	    p->L.timer_period < 0) {
		perr(p, "no p.timers/timer layout for this Go version");
		return -EOPNOTSUPP;
	}
	for (int attempt = 0; attempt < MAX_RETRIES && err == -EAGAIN; attempt++)
		err = timers_once(p, out, n);
	return err;
}

/* ---------------------------------------------------------------------- */
/* layout calibration on live memory                                      */

/*
 * Find the g offsets from the gs themselves (FACTS.md "Offsets for
 * binaries without DWARF"): goid = 1 for allgs[0] and distinct, the u32
 * status 8 bytes before it in range, the start PC a function entry for
 * every live g, the creation PC the nearest text word below it, sched.g ==
 * the g itself for parked gs, sched.bp inside the stack.
 */
static int calibrate(struct goproc *p, struct go_layout *out)
{
	uint64_t *ptrs = NULL, n = 0, k;
	const uint8_t **gp = NULL;
	struct go_layout L = { 0 };
	int err, st = -1, start = -1, gopc = -1, sched = -1, bp = -1;
	bool live[CALIB_GS];

	err = read_allg(p, &ptrs, &n);
	if (err)
		return err;
	k = n < CALIB_GS ? n : CALIB_GS;
	err = read_gs(p, ptrs, k, CALIB_WIN, &gp);
	if (err)
		goto out;
	err = -ENOENT;
	/* status u32 at S, goid u64 at S + 8 */
	for (int s = 96; s <= 224 && st < 0; s += 8) {
		struct gset set = { calloc(2 * CALIB_GS, 8), 2 * CALIB_GS };
		bool ok = set.v && rd64(gp[0], s + 8) == 1;
		int nlive = 0;

		for (uint64_t i = 0; ok && i < k; i++) {
			uint32_t status = rd32(gp[i], s) & ~STATUS_SCAN;
			uint64_t goid = rd64(gp[i], s + 8);

			live[i] = status != GO_DEAD && status != GO_IDLE;
			if (status > p->max_status)
				ok = false;
			else if (live[i] && (!goid || goid > (1ull << 40) || !gset_add(&set, goid)))
				ok = false;
			nlive += live[i];
		}
		free(set.v);
		if (ok && nlive)
			st = s;
	}
	if (st < 0) {
		perr(p, "calibration: no status/goid pair (goid 1 first, all distinct)");
		goto out;
	}
	/* the recompute of live[] for the chosen offset */
	for (uint64_t i = 0; i < k; i++) {
		uint32_t status = rd32(gp[i], st) & ~STATUS_SCAN;

		live[i] = status != GO_DEAD && status != GO_IDLE;
	}
	for (int o = st + 64; o + 8 <= CALIB_WIN && start < 0; o += 8) {
		bool ok = true;

		for (uint64_t i = 0; ok && i < k; i++)
			if (live[i] && !is_entry(p, rd64(gp[i], o)))
				ok = false;
		if (ok)
			start = o;
	}
	if (start < 0) {
		perr(p, "calibration: no start PC (a function entry for every live g)");
		goto out;
	}
	for (int o = start - 8; o >= start - 64 && gopc < 0; o -= 8) {
		bool ok = true;

		for (uint64_t i = 0; ok && i < k; i++)
			if (live[i] && !in_text(p, rd64(gp[i], o)))
				ok = false;
		if (ok)
			gopc = o;
	}
	if (gopc < 0) {
		perr(p, "calibration: no creation PC below the start PC");
		goto out;
	}
	/* sched: sp, pc, g at +0, +8, +16; g == self for every waiting g */
	for (int o = 16; o + 56 <= st && sched < 0; o += 8) {
		int nw = 0;
		bool ok = true;

		for (uint64_t i = 0; ok && i < k; i++) {
			const uint8_t *b = gp[i];

			if ((rd32(b, st) & ~STATUS_SCAN) != GO_WAITING)
				continue;
			nw++;
			if (rd64(b, o + 16) != ptrs[i] || !in_text(p, rd64(b, o + 8)) ||
			    rd64(b, o) < rd64(b, 0) || rd64(b, o) > rd64(b, 8))
				ok = false;
		}
		if (ok && nw)
			sched = o;
	}
	if (sched < 0) {
		perr(p, "calibration: no sched (sched.g == the g for waiting gs)");
		goto out;
	}
	for (int o = sched + 40; o <= sched + 48 && bp < 0; o += 8) {
		bool ok = true;

		for (uint64_t i = 0; ok && i < k; i++) {
			const uint8_t *b = gp[i];
			uint64_t v = rd64(b, o);

			if ((rd32(b, st) & ~STATUS_SCAN) == GO_WAITING &&
			    (v < rd64(b, sched) || v >= rd64(b, 8)))
				ok = false;
		}
		if (ok)
			bp = o;
	}
	if (bp < 0) {
		perr(p, "calibration: no sched.bp inside the stack");
		goto out;
	}
	snprintf(L.source, sizeof(L.source), "calibrated");
	L.g_stack_lo = 0;
	L.g_stack_hi = 8;
	L.g_sched_sp = sched;
	L.g_sched_pc = sched + 8;
	L.g_sched_g = sched + 16;
	L.g_sched_bp = bp;
	L.g_atomicstatus = st;
	L.g_goid = st + 8;
	L.g_waitsince = st + 24;
	L.g_waitreason = st + 32;
	L.g_parentgoid = p->minor >= 21 ? gopc - 8 : -1;
	L.g_gopc = gopc;
	L.g_startpc = start;
	L.g_size = start + 8;
	/* the timer part is not calibrated: keep what the table or DWARF said */
	L.p_timers = out->p_timers;
	L.timers_heap = out->timers_heap;
	L.timer_when = out->timer_when;
	L.timer_period = out->timer_period;
	L.timer_f = out->timer_f;
	L.timer_arg = out->timer_arg;
	L.timer_status = out->timer_status;
	L.timer_state_u8 = out->timer_state_u8;
	*out = L;
	err = 0;
out:
	free(gp);
	free(ptrs);
	return err;
}

/* Does L pass the checks on a live snapshot (a few tries for torn reads)? */
static int try_layout(struct goproc *p, const struct go_layout *L)
{
	struct go_snapshot s;
	int err = -EAGAIN;

	if (L->g_size <= 0 || L->g_size > 4096 || L->g_waitreason >= L->g_size ||
	    L->g_sched_bp + 8 > L->g_size || L->g_atomicstatus + 4 > L->g_size ||
	    L->g_goid + 8 > L->g_size || L->g_gopc + 8 > L->g_size ||
	    L->g_parentgoid + 8 > L->g_size || L->g_stack_hi + 8 > L->g_size ||
	    L->g_waitsince + 8 > L->g_size || L->g_sched_g + 8 > L->g_size ||
	    L->g_sched_pc + 8 > L->g_size || L->g_sched_sp + 8 > L->g_size ||
	    L->g_stack_lo < 0 || L->g_sched_sp < 0 || L->g_sched_pc < 0 || L->g_sched_bp < 0 ||
	    L->g_atomicstatus < 0 || L->g_goid < 0 || L->g_waitsince < 0 ||
	    L->g_waitreason < 0 || L->g_gopc < 0 || L->g_startpc < 0) {
		perr(p, "layout offsets out of range");
		return -EINVAL;
	}
	for (int i = 0; i < 3 && err == -EAGAIN; i++) {
		err = snapshot_once(p, L, &s);
		if (!err)
			go_snapshot__free(&s);
	}
	return err;
}

/* ---------------------------------------------------------------------- */
/* open                                                                   */

static void read_waitreasons(struct goproc *p)
{
	int n = p->gb ? gobin__waitreason_count(p->gb) : 0;
	uint64_t (*hdr)[2];
	uint64_t addr = p->sym[GOBIN_SYM_WAITREASONSTRINGS];

	if (!addr || n <= 0 || n > 255)
		return;
	hdr = calloc(n, sizeof(*hdr));
	p->wr = calloc(n, sizeof(*p->wr));
	if (!hdr || !p->wr || mem_read(p, addr, hdr, n * sizeof(*hdr))) {
		free(hdr);
		free(p->wr);
		p->wr = NULL;
		return;
	}
	for (int i = 0; i < n; i++) {
		char s[80];

		if (hdr[i][1] >= sizeof(s) || (hdr[i][1] && mem_read(p, hdr[i][0], s, hdr[i][1])))
			break;
		s[hdr[i][1]] = 0;
		if (strlen(s) != hdr[i][1])
			break;
		p->wr[i] = strdup(s);
		if (!p->wr[i])
			break;
		p->nwr = i + 1;
	}
	free(hdr);
}

static int setup(struct goproc *p, const struct goproc_target *t)
{
	struct go_layout L;
	const char *ver = p->gb ? gobin__version(p->gb) : "";
	char first[320] = "";
	int err;

	if (!ver[0])
		ver = "Go (version unknown)";
	p->max_status = p->minor >= 26 ? GO_LEAKED + 1 : GO_PREEMPTED;
	p->pcc_cap = 1 << 14;
	p->pcc = calloc(p->pcc_cap, sizeof(*p->pcc));
	if (!p->pcc)
		return -ENOMEM;
	for (int i = 0; i < GOBIN_SYM__MAX; i++) {
		uint64_t v;

		if (t && t->syms && t->syms[i])
			p->sym[i] = t->syms[i];
		else if (p->gb && !gobin__data_sym(p->gb, i, &v))
			p->sym[i] = v + p->bias;
	}
	if (p->gb) {
		uint64_t e;

		gobin__text(p->gb, &p->text_lo, &p->text_hi);
		p->text_lo += p->bias;
		p->text_hi += p->bias;
		if (!gobin__func_lookup(p->gb, "time.sendTime", &e, NULL))
			p->sendtime = e + p->bias;
		if (!gobin__func_lookup(p->gb, "time.goFunc", &e, NULL))
			p->gofunc = e + p->bias;
	}
	read_waitreasons(p);

	if (t && t->layout) {
		L = *t->layout;
		err = 0;
	} else {
		err = p->gb ? gobin__layout(p->gb, &L) : -ENOENT;
	}
	if (!err) {
		err = try_layout(p, &L);
		if (!err) {
			p->L = L;
			return 0;
		}
		if (err != -EAGAIN && err != -EINVAL)
			return err;
		snprintf(first, sizeof(first), "%s: %s", L.source, p->err);
	} else {
		memset(&L, 0, sizeof(L));
		L.p_timers = -1;
		snprintf(first, sizeof(first), "no DWARF and no table entry");
	}
	if (!(t && t->no_calibrate)) {
		char cerr[sizeof(p->err)];

		err = calibrate(p, &L);
		if (!err)
			err = try_layout(p, &L);
		if (!err) {
			p->L = L;
			return 0;
		}
		if (err == -ESRCH || err == -EPERM || err == -ENOMEM)
			return err;
		snprintf(cerr, sizeof(cerr), "%s", p->err);
		perr(p, "%s: no layout passed the live checks (%s; calibration: %s)", ver, first, cerr);
	} else {
		perr(p, "%s: the layout failed the live checks (%s)", ver, first);
	}
	return -EPROTONOSUPPORT;
}

static struct goproc *fail(struct goproc *p, int err, char *errbuf, size_t errlen)
{
	if (errbuf && errlen)
		snprintf(errbuf, errlen, "%s", p->err[0] ? p->err : strerror(-err));
	goproc__free(p);
	errno = -err;
	return NULL;
}

struct goproc *goproc__open_mem(const struct goproc_target *t, const struct gomem_ops *ops,
				char *errbuf, size_t errlen)
{
	struct goproc *p;
	int err;

	if (!t || !ops || !ops->readv) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->gb = t->gb;
	p->bias = t->bias;
	p->ops = *ops;
	if (p->gb) {
		gobin__version_nums(p->gb, NULL, &p->minor, NULL);
	} else {
		p->minor = t->go_minor;
		p->text_lo = t->text_lo;
		p->text_hi = t->text_hi;
	}
	err = setup(p, t);
	if (err)
		return fail(p, err, errbuf, errlen);
	return p;
}

struct goproc *goproc__open(int pid, char *errbuf, size_t errlen)
{
	char path[64], exe[PATH_MAX];
	struct goproc *p;
	struct stat st;
	ssize_t n;
	int fd, err;

	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->ops.readv = pid_readv;
	p->ops.write = pid_write;
	p->ops.ctx = &p->pid;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		perr(p, "cannot open %s: %s", path, strerror(errno));
		return fail(p, err, errbuf, errlen);
	}
	p->gb = gobin__open_fd(fd, exe[0] ? exe : path);
	err = -errno;
	if (!p->gb) {
		perr(p, "%s: %s", exe[0] ? exe : path, gobin__last_error());
		close(fd);
		return fail(p, err, errbuf, errlen);
	}
	p->own_gb = true;
	gobin__version_nums(p->gb, NULL, &p->minor, NULL);
	if (gobin__is_pie(p->gb)) {
		struct proc_maps *m = procmaps__read(pid);
		bool found = false;

		if (!m || fstat(fd, &st)) {
			err = m ? -errno : -errno;
			perr(p, "cannot read /proc/%d/maps", pid);
			procmaps__free(m);
			close(fd);
			return fail(p, err ? err : -ESRCH, errbuf, errlen);
		}
		for (int i = 0; i < m->n && !found; i++) {
			const struct map_entry *e = &m->e[i];

			if (e->inode == st.st_ino && e->offset == 0 && procmaps__is_file(e)) {
				p->bias = e->start - gobin__load_base(p->gb);
				found = true;
			}
		}
		procmaps__free(m);
		if (!found) {
			perr(p, "the executable's mapping is not in /proc/%d/maps", pid);
			close(fd);
			return fail(p, -ENOENT, errbuf, errlen);
		}
	}
	close(fd);
	err = setup(p, NULL);
	if (err)
		return fail(p, err, errbuf, errlen);
	return p;
}

void goproc__free(struct goproc *p)
{
	if (!p)
		return;
	if (p->own_gb)
		gobin__free(p->gb);
	for (int i = 0; i < p->nwr; i++)
		free(p->wr[i]);
	free(p->wr);
	free(p->pcc);
	if (p->gbuf)
		munmap(p->gbuf, p->gbuf_len);
	free(p);
}

struct gobin *goproc__gobin(struct goproc *p)
{
	return p->gb;
}

uint64_t goproc__bias(const struct goproc *p)
{
	return p->bias;
}

const struct go_layout *goproc__layout(const struct goproc *p)
{
	return &p->L;
}

int goproc__pid(const struct goproc *p)
{
	return p ? p->pid : 0;
}

int goproc__go_minor(const struct goproc *p)
{
	return p ? p->minor : 0;
}

uint64_t goproc__sym(const struct goproc *p, enum gobin_sym which)
{
	return p && (unsigned)which < GOBIN_SYM__MAX ? p->sym[which] : 0;
}

void goproc__text(const struct goproc *p, uint64_t *lo, uint64_t *hi)
{
	if (lo)
		*lo = p ? p->text_lo : 0;
	if (hi)
		*hi = p ? p->text_hi : 0;
}

void goproc__set_error(struct goproc *p, const char *fmt, ...)
{
	va_list ap;

	if (!p)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
}

int goproc__readv(struct goproc *p, struct gomem_iov *iov, int n)
{
	if (!p || (n && !iov) || n < 0)
		return -EINVAL;
	return mem_readv(p, iov, n);
}

int goproc__set_memprofile_rate(struct goproc *p, int64_t rate, int64_t *old)
{
	uint64_t addr;
	int64_t cur = 0, back = 0;
	int err;

	if (!p || rate < 0 || rate > INT32_MAX)
		return -EINVAL;
	addr = p->sym[GOBIN_SYM_MEMPROFILERATE];
	if (!addr) {
		perr(p, "runtime.MemProfileRate not located: nothing written");
		return -ENOENT;
	}
	if (!p->ops.write) {
		perr(p, "this target cannot be written");
		return -EOPNOTSUPP;
	}
	err = mem_read(p, addr, &cur, sizeof(cur));
	if (err)
		return err;
	if (cur < 0 || cur > INT32_MAX) {
		perr(p, "runtime.MemProfileRate at 0x%llx holds %lld, not a rate: nothing written",
		     (unsigned long long)addr, (long long)cur);
		return -EINVAL;
	}
	err = p->ops.write(p->ops.ctx, addr, &rate, sizeof(rate));
	if (err) {
		perr(p, "writing runtime.MemProfileRate: %s", strerror(-err));
		return err;
	}
	err = mem_read(p, addr, &back, sizeof(back));
	if (err)
		return err;
	if (back != rate) {	/* the program set it again in between */
		perr(p, "runtime.MemProfileRate reads %lld after writing %lld", (long long)back,
		     (long long)rate);
		return -EAGAIN;
	}
	if (old)
		*old = cur;
	return 0;
}

const char *goproc__status_name(uint32_t status)
{
	static const char *const names[] = {
		"idle", "runnable", "running", "syscall", "waiting", "moribund",
		"dead", "enqueue", "copystack", "preempted", "leaked",
	};

	return status < sizeof(names) / sizeof(names[0]) ? names[status] : "?";
}
