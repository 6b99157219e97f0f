// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * goproc's runtime-memory parsers on a fake target: the input is the
 * target's memory at 0x10000 (anything else is unreadable), read through
 * struct gomem_ops. Fixed map (as tests/fuzz/mkseed_go.py writes it):
 * allglen 0x10000, allgptr 0x10008, allp 0x10010; text [0x400000,
 * 0x500000) with every 16-byte aligned address a function entry; the
 * go1.19 layout; the heap profile: mProfCycle 0x10028, mbuckets 0x10030,
 * MemProfileRate 0x10038; memstats at 0x14000 (go1.19 table layout). Open
 * (live checks, then calibration when byte 0's low bit is clear),
 * snapshot, every blocked stack, timers, the heap profile, memstats.
 * Nothing may crash or hang, and every returned record must pass the
 * checks (goheap.h): PCs in text, bytes = objects * size, frees <= allocs,
 * the scaled numbers pprof's; memstats' parts within their totals.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "goheap.h"
#include "goproc.h"

#define GOMEM_BASE 0x10000ull

struct gomem_img {
	const uint8_t *d;
	size_t n;
};

static int gomem_readv(void *ctx, struct gomem_iov *iov, int n)
{
	const struct gomem_img *m = ctx;

	for (int i = 0; i < n; i++) {
		uint64_t a = iov[i].addr;

		if (a < GOMEM_BASE || a - GOMEM_BASE > m->n || iov[i].len > m->n - (a - GOMEM_BASE)) {
			iov[i].err = -EFAULT;
			continue;
		}
		memcpy(iov[i].buf, m->d + (a - GOMEM_BASE), iov[i].len);
		iov[i].err = 0;
	}
	return 0;
}

static void check_heap(struct goproc *p, unsigned flags)
{
	struct go_heap h;

	if (goproc__heap(p, &h, flags)) {
		(void)strlen(goproc__error(p));
		FUZZ_CHECK(!h.r && !h.n);
		return;
	}
	FUZZ_CHECK(h.n >= 0 && h.n <= h.nbuckets);
	FUZZ_CHECK(h.rate >= 0 && h.rate <= INT32_MAX);
	for (int i = 0; i < h.n; i++) {
		const struct go_heap_rec *r = &h.r[i];
		int64_t c, b;

		FUZZ_CHECK(r->nstk >= 0 && r->nstk <= 32 && r->skip == 0);
		for (int k = 0; k < r->nstk; k++)
			FUZZ_CHECK(r->stk[k] > 0x400000 && r->stk[k] <= 0x500000);
		FUZZ_CHECK(r->size >= 1);
		FUZZ_CHECK(r->alloc_objects >= r->inuse_objects && r->inuse_objects >= 0);
		FUZZ_CHECK((uint64_t)r->alloc_bytes == (uint64_t)r->alloc_objects * r->size);
		FUZZ_CHECK((flags & GO_HEAP_INUSE_ZERO) || r->inuse_bytes != 0);	/* alloc_bytes != free_bytes */
		go_heap__scale(r->alloc_objects, r->alloc_bytes, h.rate, &c, &b);
		FUZZ_CHECK(c == r->alloc_objects_scaled && b == r->alloc_bytes_scaled);
		go_heap__scale(r->inuse_objects, r->inuse_bytes, h.rate, &c, &b);
		FUZZ_CHECK(c == r->inuse_objects_scaled && b == r->inuse_bytes_scaled);
	}
	go_heap__free(&h);
}

static void check_memstats(struct goproc *p)
{
	struct go_memstats m;

	if (goproc__memstats(p, &m)) {
		(void)strlen(goproc__error(p));
		return;
	}
	FUZZ_CHECK(m.heap_inuse <= m.heap_sys && m.heap_sys <= m.sys);
	FUZZ_CHECK(m.heap_idle == m.heap_sys - m.heap_inuse && m.heap_released <= m.heap_sys);
	FUZZ_CHECK(m.stack_inuse <= m.stack_sys && m.heap_inuse % 8192 == 0);
	FUZZ_CHECK(m.num_gc || !m.last_gc_ns);
}

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	struct gomem_img img = { data, size };
	struct gomem_ops ops = { gomem_readv, &img };
	uint64_t syms[GOBIN_SYM__MAX] = { 0 };
	struct goproc_target t = { 0 };
	struct go_layout l;
	struct go_snapshot s;
	struct go_timer *tm;
	struct goproc *p;
	char err[256];
	int nt;

	if (gobin__layout_table(1, 19, &l))
		return 0;
	syms[GOBIN_SYM_ALLGLEN] = GOMEM_BASE;
	syms[GOBIN_SYM_ALLGPTR] = GOMEM_BASE + 8;
	syms[GOBIN_SYM_ALLP] = GOMEM_BASE + 16;
	syms[GOBIN_SYM_MPROFCYCLE] = GOMEM_BASE + 0x28;
	syms[GOBIN_SYM_MBUCKETS] = GOMEM_BASE + 0x30;
	syms[GOBIN_SYM_MEMPROFILERATE] = GOMEM_BASE + 0x38;
	syms[GOBIN_SYM_MEMSTATS] = GOMEM_BASE + 0x4000;
	t.layout = &l;
	t.syms = syms;
	t.text_lo = 0x400000;
	t.text_hi = 0x500000;
	t.go_minor = 19;
	t.no_calibrate = size && (data[0] & 1);
	p = goproc__open_mem(&t, &ops, err, sizeof(err));
	if (!p) {
		(void)strlen(err);
		return 0;
	}
	if (goproc__snapshot(p, &s) == 0) {
		FUZZ_CHECK(s.n >= 0 && (uint64_t)s.n <= s.allglen);
		FUZZ_CHECK(s.nuser + s.nsystem == s.n);
		for (int i = 0; i < s.n; i++) {
			uint64_t pcs[32];
			int n;

			FUZZ_CHECK(s.g[i].status != GO_DEAD && s.g[i].status <= GO_LEAKED + 1);
			FUZZ_CHECK(s.g[i].startpc >= 0x400000 && s.g[i].startpc < 0x500000 &&
				   !(s.g[i].startpc & 15));
			FUZZ_CHECK(s.g[i].gopc >= 0x400000 && s.g[i].gopc < 0x500000);
			FUZZ_CHECK(s.g[i].stack_lo < s.g[i].stack_hi);
			for (int j = 0; j < i; j++)
				FUZZ_CHECK(s.g[j].goid != s.g[i].goid);
			n = goproc__stack(p, &s.g[i], pcs, 32);
			FUZZ_CHECK(n <= 32);
			for (int k = 0; k < n; k++)
				FUZZ_CHECK(pcs[k] >= 0x400000 && pcs[k] < 0x500000);
		}
		go_snapshot__free(&s);
	} else {
		(void)strlen(goproc__error(p));
	}
	if (goproc__timers(p, &tm, &nt) == 0) {
		for (int i = 0; i < nt; i++)
			FUZZ_CHECK(tm[i].f >= 0x400000 && tm[i].f < 0x500000 && !(tm[i].f & 15));
		free(tm);
	}
	check_heap(p, size && (data[0] & 2) ? GO_HEAP_INUSE_ZERO : 0);
	check_memstats(p);
	FUZZ_CHECK(goproc__set_memprofile_rate(p, 4096, NULL) < 0);	/* no write op */
	goproc__free(p);
	return 0;
}
