// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * goproc's runtime-memory parsers on a fake target: the input is the
 * target's memory at 0x10000 (anything else is unreadable), read through
 * struct gomem_ops. Fixed map (as tests/fuzz/mkseed_go.py writes it):
 * allglen 0x10000, allgptr 0x10008, allp 0x10010; text [0x400000,
 * 0x500000) with every 16-byte aligned address a function entry; the
 * go1.19 layout. Open (live checks, then calibration when byte 0's low bit
 * is clear), snapshot, every blocked stack, timers. Nothing may crash or
 * hang, and every returned record must pass the checks.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
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
	goproc__free(p);
	return 0;
}
