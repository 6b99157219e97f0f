// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A live Go process's timers (see goproc.h): every P's timer heap, each
 * live timer with its function and kind.
 *
 * Rules from the Go sources (runtime/time.go):
 * - Timer statuses <= 1.22: nostatus 0, waiting 1, running 2, deleted 3,
 *   removing 4, removed 5, modifying 6, modifiedEarlier 7, modifiedLater
 *   8, moving 9; 3-5 are not live. 1.23+: state bits heaped 1, modified
 *   2, zombie 4: live = heaped and not zombie.
 */
#include <stdlib.h>
#include <string.h>

#include "goproc_priv.h"

#define MAX_P		4096
#define MAX_TIMERS	(1u << 22)

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
		goproc_perr(p, "allp length %llu implausible", (unsigned long long)np);
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
		goproc_perr(p, "timer heaps changed while read");
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
		goproc_perr(p, "no p.timers/timer layout for this Go version");
		return -EOPNOTSUPP;
	}
	for (int attempt = 0; attempt < MAX_RETRIES && err == -EAGAIN; attempt++)
		err = timers_once(p, out, n);
	return err;
}
