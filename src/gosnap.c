// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A live Go process's goroutines (see goproc.h): the snapshot of allgs
 * (read, checked, parsed), a blocked goroutine's stack, and the g layout
 * calibrated on live memory when the one from DWARF or the table fails.
 *
 * Rules from the Go sources (runtime/proc.go, traceback.go):
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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "goproc_priv.h"

#define MAX_ALLG	(1u << 24)
#define CALIB_GS	256
#define CALIB_WIN	512
#define MAX_STACK_READ	(256u << 10)
#define STATUS_SCAN	0x1000u

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
		goproc_perr(p, "allglen/allgptr not found in the binary");
		return -ENOENT;
	}
	err = mem_readv(p, iov, 2);
	if (err)
		return err;
	if (iov[0].err || iov[1].err) {
		goproc_perr(p, "allglen/allgptr unreadable");
		return -EFAULT;
	}
	if (!len || len > MAX_ALLG || !ptr || (ptr & 7)) {
		goproc_perr(p, "allglen %llu / allgptr 0x%llx implausible", (unsigned long long)len,
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
		goproc_perr(p, "allgs moved while read");
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
				goproc_perr(p, "g %u at 0x%llx unreadable", r[i + j].idx,
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
		g->system = goproc_pc_flags(p, g->startpc) & 4;
		if (g->system)
			s->nsystem++;
		else
			s->nuser++;
		s->n++;
	}
	free(set.v);
	if (why) {
		goproc_perr(p, "%s (%d of %llu goroutines; first goid %llu)", why, nbad,
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

/*
 * Is G still parked where the snapshot saw it? The snapshot and the stack
 * are two reads: a goroutine that ran in between has written over the
 * frames, and its stack would be words of the new frames read as the old
 * chain. Its status and saved pc/sp/bp read again after the stack say.
 */
static bool still_parked(struct goproc *p, const struct go_g *g)
{
	const struct go_layout *L = &p->L;
	uint8_t *b = malloc((size_t)L->g_size);
	struct go_g now;
	bool same;

	if (!b || mem_read(p, g->addr, b, (size_t)L->g_size)) {
		free(b);
		return false;
	}
	parse_g(p, L, b, g->addr, &now);
	same = now.status == g->status && now.sched_pc == g->sched_pc &&
	       now.sched_sp == g->sched_sp && now.sched_bp == g->sched_bp;
	free(b);
	return same;
}

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
	if (!still_parked(p, g)) {
		free(buf);
		return -EAGAIN;
	}
	pcs[n++] = g->sched_pc;
	fp = g->sched_bp;
	/*
	 * each frame: [fp] = caller's fp, [fp+8] = return address; fp only
	 * grows. A return address follows a CALL, so it is never a function's
	 * entry: one that is means the words are not a frame chain.
	 */
	while (n < max && fp >= base && fp + 16 <= base + len && !(fp & 7)) {
		uint64_t next = rd64(buf, (int)(fp - base)), ret = rd64(buf, (int)(fp - base + 8));

		if (!in_text(p, ret) || is_entry(p, ret))
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
/* layout calibration on live memory                                      */

/*
 * Find the g offsets from the gs themselves (FACTS.md "Offsets for
 * binaries without DWARF"): goid = 1 for allgs[0] and distinct, the u32
 * status 8 bytes before it in range, the start PC a function entry for
 * every live g, the creation PC the nearest text word below it, sched.g ==
 * the g itself for parked gs, sched.bp inside the stack.
 */
int goproc_calibrate(struct goproc *p, struct go_layout *out)
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
		goproc_perr(p, "calibration: no status/goid pair (goid 1 first, all distinct)");
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
		goproc_perr(p, "calibration: no start PC (a function entry for every live g)");
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
		goproc_perr(p, "calibration: no creation PC below the start PC");
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
		goproc_perr(p, "calibration: no sched (sched.g == the g for waiting gs)");
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
		goproc_perr(p, "calibration: no sched.bp inside the stack");
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
int goproc_try_layout(struct goproc *p, const struct go_layout *L)
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
		goproc_perr(p, "layout offsets out of range");
		return -EINVAL;
	}
	for (int i = 0; i < 3 && err == -EAGAIN; i++) {
		err = snapshot_once(p, L, &s);
		if (!err)
			go_snapshot__free(&s);
	}
	return err;
}
