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

/* One P's timer heap, read consistently. */
struct p_heap {
	uint64_t n;		/* timers in the heap */
	uint64_t *arr;		/* the heap array (n entries of esz bytes) */
	uint8_t *tb;		/* each timer's first tsz bytes */
};

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Read the heap of the P at PA: its header and array, every timer in it
 * (batched), then the header and array again. The runtime reorders a heap
 * at every timer added or removed (time.Sleep does both), so a copy that
 * changed under the read (a timer seen twice, another missed) is read
 * again, up to 8 times. 0, -EAGAIN (it kept changing), -errno.
 */
static int read_p_heap(struct goproc *p, uint64_t pa, size_t esz, size_t tsz, struct p_heap *h)
{
	const struct go_layout *L = &p->L;
	uint64_t hdr[3], hdr2[3], *arr2 = NULL;
	struct gomem_iov *iov = NULL;
	int err = -EAGAIN;

	for (int attempt = 0; attempt < MAX_RETRIES && err == -EAGAIN; attempt++) {
		free(h->arr);
		free(h->tb);
		free(arr2);
		free(iov);
		h->arr = arr2 = NULL;
		h->tb = NULL;
		iov = NULL;
		h->n = 0;
		if (mem_read(p, pa + (uint64_t)L->p_timers, hdr, sizeof(hdr)))
			return -EAGAIN;
		if (hdr[1] > MAX_TIMERS || hdr[1] > hdr[2] || (hdr[1] && !hdr[0])) {
			goproc_perr(p, "timer heap of length %llu implausible", (unsigned long long)hdr[1]);
			continue;
		}
		if (!hdr[1])
			return 0;
		h->n = hdr[1];
		h->arr = malloc(h->n * esz);
		arr2 = malloc(h->n * esz);
		h->tb = malloc(h->n * tsz);
		iov = malloc(sizeof(*iov) * h->n);
		if (!h->arr || !arr2 || !h->tb || !iov) {
			err = -ENOMEM;
			break;
		}
		if (mem_read(p, hdr[0], h->arr, h->n * esz))
			continue;
		for (uint64_t k = 0; k < h->n; k++)
			iov[k] = (struct gomem_iov){ h->arr[k * (esz / 8)], h->tb + k * tsz, tsz, 0 };
		for (uint64_t k = 0; k < h->n; k += IOV_BATCH) {
			int m = h->n - k > IOV_BATCH ? IOV_BATCH : (int)(h->n - k);

			err = mem_readv(p, iov + k, m);
			if (err)
				goto out;
			err = -EAGAIN;
		}
		for (uint64_t k = 0; k < h->n; k++)
			if (iov[k].err || !iov[k].addr)
				goto next;
		if (mem_read(p, pa + (uint64_t)L->p_timers, hdr2, sizeof(hdr2)) ||
		    memcmp(hdr, hdr2, sizeof(hdr)) || mem_read(p, hdr[0], arr2, h->n * esz) ||
		    memcmp(h->arr, arr2, h->n * esz))
			goto next;
		err = 0;
next:
		;
	}
out:
	free(arr2);
	free(iov);
	if (err) {
		free(h->arr);
		free(h->tb);
		h->arr = NULL;
		h->tb = NULL;
		h->n = 0;
	}
	return err;
}

static int timers_once(struct goproc *p, struct go_timer **out, int *nout)
{
	const struct go_layout *L = &p->L;
	uint64_t allp[3], *pp = NULL, *addrs = NULL;
	size_t esz = L->timers_heap ? 16 : 8;
	struct fcache fc[64];
	struct p_heap *ph = NULL;
	struct go_timer *t = NULL;
	int nfc = 0, nt = 0, cap = 0, err;
	size_t tsz;
	uint64_t np, total = 0;

	*out = NULL;
	*nout = 0;
	tsz = (size_t)(L->timer_arg + 16);
	if ((size_t)L->timer_status + 4 > tsz)
		tsz = (size_t)L->timer_status + 4;
	tsz = (tsz + 7) & ~(size_t)7;
	err = mem_read(p, p->sym[GOBIN_SYM_ALLP], allp, sizeof(allp));
	if (err)
		return err == -EFAULT ? -EAGAIN : err;
	np = allp[1];
	if (!np || np > MAX_P || allp[1] > allp[2]) {
		goproc_perr(p, "allp length %llu implausible", (unsigned long long)np);
		return -EAGAIN;
	}
	pp = malloc(np * 8);
	ph = calloc(np, sizeof(*ph));
	if (!pp || !ph) {
		err = -ENOMEM;
		goto out;
	}
	err = mem_read(p, allp[0], pp, np * 8);
	if (err)
		goto out_torn;
	for (uint64_t i = 0; i < np; i++) {
		err = read_p_heap(p, pp[i], esz, tsz, &ph[i]);
		if (err == -EAGAIN)
			goto out_torn;
		if (err)
			goto out;
		total += ph[i].n;
	}
	/* a timer is in one heap at most: one seen twice was moved under the read */
	addrs = malloc((total ? total : 1) * sizeof(*addrs));
	if (!addrs) {
		err = -ENOMEM;
		goto out;
	}
	total = 0;
	for (uint64_t i = 0; i < np; i++)
		for (uint64_t k = 0; k < ph[i].n; k++)
			addrs[total++] = ph[i].arr[k * (esz / 8)];
	qsort(addrs, total, sizeof(*addrs), u64_cmp);
	for (uint64_t k = 1; k < total; k++)
		if (addrs[k] == addrs[k - 1])
			goto out_torn;
	for (uint64_t i = 0; i < np; i++) {
		for (uint64_t k = 0; k < ph[i].n; k++) {
			const uint8_t *tb = ph[i].tb + k * tsz;
			uint64_t ta = ph[i].arr[k * (esz / 8)], fv, fpc;
			struct go_timer *x;
			bool live;

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
	if (ph)
		for (uint64_t i = 0; i < np; i++) {
			free(ph[i].arr);
			free(ph[i].tb);
		}
	free(ph);
	free(pp);
	free(addrs);
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
