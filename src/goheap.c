// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A live Go process's heap profile and memstats (see goheap.h for the
 * runtime's rules and the checks).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "goheap.h"
#include "goproc_priv.h"

#define PG		4096ull
#define WIN_PAGES	64		/* pages read around a missing one: 63 below, 1 above */
#define MAX_PAGES	(1u << 17)	/* 512 MiB of bucket pages */
#define MAX_BUCKETS	(1u << 22)
#define MAX_PCS		(1u << 24)	/* stack words over all buckets: 128 MiB */
#define MAX_TRIES	8
#define HDR		48
#define MEMREC		128
#define COUNT_MAX	(1ull << 48)
#define SIZE_MAX_OBJ	(1ull << 40)
#define CYCLE_WRAP	(3u * (2u << 24))	/* mProfCycleWrap */
#define TYP_MEMORY	1

/* ---------------------------------------------------------------------- */
/* pages of the target, read in batches                                   */

struct pent {
	uint64_t key;		/* page address | 1; 0 = empty */
	int32_t slot;		/* -1: unreadable */
};

struct pcache {
	struct goproc *p;
	struct pent *t;
	size_t cap, used;
	uint8_t *slab;
	size_t nslots, slab_cap;
	int kept;		/* which of p's kept slabs this one borrows */
};

/*
 * A cache on P's kept slab KEPT: the pages a walk reads stay allocated
 * for the next walk (a report's), where fresh memory would fault again,
 * page by page (about 80 % of a 30k-bucket walk on a paravirtualized guest).
 */
static void pc_init(struct pcache *c, struct goproc *p, int kept)
{
	memset(c, 0, sizeof(*c));
	c->p = p;
	c->kept = kept;
	c->slab = p->hslab[kept];
	c->slab_cap = p->hslab_cap[kept];
}

static void pc_free(struct pcache *c)
{
	free(c->t);
	c->p->hslab[c->kept] = c->slab;
	c->p->hslab_cap[c->kept] = c->slab_cap;
	memset(c, 0, sizeof(*c));
}

static struct pent *pc_find(const struct pcache *c, uint64_t page)
{
	size_t h;

	if (!c->cap)
		return NULL;
	h = (size_t)((page >> 12) * 0x9e3779b97f4a7c15ull >> 17) & (c->cap - 1);
	for (size_t i = 0; i < c->cap; i++) {
		struct pent *e = &c->t[(h + i) & (c->cap - 1)];

		if (!e->key)
			return NULL;
		if (e->key == (page | 1))
			return e;
	}
	return NULL;
}

static int pc_insert(struct pcache *c, uint64_t page, int32_t slot)
{
	size_t h;

	if (2 * (c->used + 1) > c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 1024;
		struct pent *nt = calloc(ncap, sizeof(*nt)), *old = c->t;
		size_t ocap = c->cap;

		if (!nt)
			return -ENOMEM;
		c->t = nt;
		c->cap = ncap;
		c->used = 0;
		for (size_t i = 0; i < ocap; i++)
			if (old[i].key)
				pc_insert(c, old[i].key & ~1ull, old[i].slot);
		free(old);
	}
	h = (size_t)((page >> 12) * 0x9e3779b97f4a7c15ull >> 17) & (c->cap - 1);
	for (size_t i = 0; i < c->cap; i++) {
		struct pent *e = &c->t[(h + i) & (c->cap - 1)];

		if (!e->key) {
			e->key = page | 1;
			e->slot = slot;
			c->used++;
			return 0;
		}
	}
	return -ENOMEM;
}

/*
 * Read PAGE and the pages around it that are not cached yet: each run of
 * adjacent missing pages is one iovec into adjacent slots; a run that
 * fails is read again page by page, so that its readable pages are kept.
 */
static int pc_fetch(struct pcache *c, uint64_t page)
{
	struct gomem_iov iov[WIN_PAGES + 1];
	uint64_t first = page > (WIN_PAGES - 1) * PG ? page - (WIN_PAGES - 1) * PG : PG;
	uint64_t pages[WIN_PAGES + 1];
	int n = 0, nio = 0, err;

	for (uint64_t a = first; a <= page + PG && a >= first; a += PG)
		if (!pc_find(c, a))
			pages[n++] = a;
	if (c->nslots + n > MAX_PAGES)
		return -E2BIG;
	if (c->nslots + n > c->slab_cap) {
		size_t ncap = c->slab_cap ? c->slab_cap * 2 : 256;
		uint8_t *ns;

		while (ncap < c->nslots + n)
			ncap *= 2;
		ns = realloc(c->slab, ncap * PG);
		if (!ns)
			return -ENOMEM;
		c->slab = ns;
		c->slab_cap = ncap;
	}
	/* page i goes to slot nslots + i; runs of adjacent pages are adjacent slots */
	for (int i = 0; i < n; i++) {
		if (nio && pages[i] == pages[i - 1] + PG) {
			iov[nio - 1].len += PG;
			continue;
		}
		iov[nio++] = (struct gomem_iov){ pages[i], c->slab + (c->nslots + i) * PG, PG, 0 };
	}
	err = goproc__readv(c->p, iov, nio);
	if (err)
		return err;
	for (int k = 0, i = 0; k < nio; k++) {
		int np = (int)(iov[k].len / PG);

		for (int j = 0; j < np; j++, i++) {
			int32_t slot = (int32_t)(c->nslots + i);

			if (iov[k].err) {	/* which of them? one page at a time */
				struct gomem_iov one = { pages[i], c->slab + (size_t)slot * PG, PG, 0 };

				err = goproc__readv(c->p, &one, 1);
				if (err)
					return err;
				if (one.err)
					slot = -1;
			}
			err = pc_insert(c, pages[i], slot);
			if (err)
				return err;
		}
	}
	c->nslots += n;	/* unreadable pages keep their unused slot: simpler, bounded */
	return 0;
}

/* Copy LEN bytes at ADDR: 0, -EFAULT (some page unreadable), -errno. */
static int pc_read(struct pcache *c, uint64_t addr, void *buf, size_t len)
{
	uint8_t *out = buf;

	if (!len)
		return 0;
	if (addr + len < addr)
		return -EFAULT;
	while (len) {
		uint64_t page = addr & ~(PG - 1), off = addr - page;
		size_t k = len < PG - off ? len : (size_t)(PG - off);
		struct pent *e = pc_find(c, page);
		int err;

		if (!e) {
			err = pc_fetch(c, page);
			if (err)
				return err;
			e = pc_find(c, page);
			if (!e)
				return -EFAULT;
		}
		if (e->slot < 0)
			return -EFAULT;
		memcpy(out, c->slab + (size_t)e->slot * PG + off, k);
		out += k;
		addr += k;
		len -= k;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* the bucket walk                                                        */

struct cyc {
	uint64_t allocs, frees, alloc_bytes, free_bytes;
};

struct braw {
	uint64_t addr, size;
	uint32_t pcoff, nstk;
	struct cyc c[4];	/* active, future[0..2] */
};

struct walk {
	struct braw *b;
	size_t n, cap;
	uint64_t *pcs;
	size_t npcs, pcs_cap;
	uint64_t *seen;		/* bucket addresses: open addressing */
	size_t seen_cap;
	uint32_t cycle_word;
	uint64_t head;
	int64_t rate;
	bool all_futures;
};

/* The walk's arrays are P's kept ones (see pc_init). */
static void walk_init(struct walk *w, struct goproc *p)
{
	memset(w, 0, sizeof(*w));
	w->b = p->hw_b;
	w->cap = p->hw_b_cap;
	w->pcs = p->hw_pcs;
	w->pcs_cap = p->hw_pcs_cap;
	w->seen = p->hw_seen;
	w->seen_cap = p->hw_seen_cap;
}

static void walk_free(struct walk *w, struct goproc *p)
{
	p->hw_b = w->b;
	p->hw_b_cap = w->cap;
	p->hw_pcs = w->pcs;
	p->hw_pcs_cap = w->pcs_cap;
	p->hw_seen = w->seen;
	p->hw_seen_cap = w->seen_cap;
	memset(w, 0, sizeof(*w));
}

static int seen_add(struct walk *w, uint64_t a)
{
	size_t h;

	if (2 * (w->n + 1) > w->seen_cap) {
		size_t ncap = w->seen_cap ? w->seen_cap * 2 : 1024, ocap = w->seen_cap;
		uint64_t *ns = calloc(ncap, sizeof(*ns)), *old = w->seen;

		if (!ns)
			return -ENOMEM;
		w->seen = ns;
		w->seen_cap = ncap;
		for (size_t i = 0; i < ocap; i++) {
			if (!old[i])
				continue;
			h = (size_t)(old[i] * 0x9e3779b97f4a7c15ull >> 20) & (ncap - 1);
			while (ns[h])
				h = (h + 1) & (ncap - 1);
			ns[h] = old[i];
		}
		free(old);
	}
	h = (size_t)(a * 0x9e3779b97f4a7c15ull >> 20) & (w->seen_cap - 1);
	while (w->seen[h]) {
		if (w->seen[h] == a)
			return -EEXIST;
		h = (h + 1) & (w->seen_cap - 1);
	}
	w->seen[h] = a;
	return 0;
}

/* stkbucket's hash of the stack and the size (runtime/mprof.go). */
static uint64_t bucket_hash(const uint64_t *stk, uint64_t nstk, uint64_t size)
{
	uint64_t h = 0;

	for (uint64_t i = 0; i < nstk; i++) {
		h += stk[i];
		h += h << 10;
		h ^= h >> 6;
	}
	h += size;
	h += h << 10;
	h ^= h >> 6;
	h += h << 3;
	h ^= h >> 11;
	return h;
}

static void cyc_get(struct cyc *c, const uint64_t *w)
{
	c->allocs = w[0];
	c->frees = w[1];
	c->alloc_bytes = w[2];
	c->free_bytes = w[3];
}

static void cyc_add(struct cyc *a, const struct cyc *b)
{
	a->allocs += b->allocs;
	a->frees += b->frees;
	a->alloc_bytes += b->alloc_bytes;
	a->free_bytes += b->free_bytes;
}

/* One cycle's counts against the bucket's size; NULL if they pass. */
static const char *cyc_check(const struct cyc *c, uint64_t size)
{
	uint64_t prod;

	if (c->allocs >= COUNT_MAX || c->frees >= COUNT_MAX || c->alloc_bytes >= COUNT_MAX ||
	    c->free_bytes >= COUNT_MAX)
		return "count or bytes above 2^48";
	if (__builtin_mul_overflow(c->allocs, size, &prod) || prod != c->alloc_bytes)
		return "alloc_bytes != allocs * size";
	if (__builtin_mul_overflow(c->frees, size, &prod))
		return "free_bytes overflows";
	if (prod != c->free_bytes && !(size < 16 && c->frees * 16 == c->free_bytes))
		return "free_bytes != frees * size";
	return NULL;
}

/* What MemProfile reports for bucket B (see goheap.h). */
static void reported(const struct braw *b, uint32_t cycle, bool all, struct cyc *out)
{
	*out = b->c[0];
	if (all) {
		for (int i = 1; i < 4; i++)
			cyc_add(out, &b->c[i]);
	} else {
		cyc_add(out, &b->c[1 + cycle % 3]);
	}
}

/*
 * One walk: 0, -EAGAIN (changed while read, or a check failed: WHY says
 * which), or -errno.
 */
static int walk_once(struct goproc *p, struct walk *w, int max_stk, const char **why,
		     uint64_t *why_addr)
{
	uint64_t mb = goproc__sym(p, GOBIN_SYM_MBUCKETS), mc = goproc__sym(p, GOBIN_SYM_MPROFCYCLE),
		 mr = goproc__sym(p, GOBIN_SYM_MEMPROFILERATE), lo, hi, b;
	struct pcache pc, pc2;
	struct gomem_iov iov[3] = {
		{ mc, &w->cycle_word, 4, 0 },
		{ mb, &w->head, 8, 0 },
		{ mr, &w->rate, 8, 0 },
	};
	uint32_t cycle, cycle2 = 0;
	size_t i;
	bool all = true;
	int err;

	pc_init(&pc, p, 0);
	pc_init(&pc2, p, 1);

	w->n = w->npcs = 0;
	if (w->seen)
		memset(w->seen, 0, w->seen_cap * sizeof(*w->seen));
	*why = NULL;
	*why_addr = 0;
	goproc__text(p, &lo, &hi);
	err = goproc__readv(p, iov, 3);
	if (err)
		return err;
	if (iov[0].err || iov[1].err || iov[2].err) {
		*why = "mProfCycle, mbuckets or MemProfileRate unreadable";
		return -EAGAIN;
	}
	cycle = w->cycle_word >> 1;
	if (cycle >= CYCLE_WRAP) {
		*why = "mProfCycle out of range";
		return -EAGAIN;
	}
	if (w->rate < 0 || w->rate > INT32_MAX) {
		*why = "MemProfileRate out of range";
		return -EAGAIN;
	}
	for (b = w->head; b; ) {
		uint64_t hdr[6];
		struct braw *r;
		uint64_t recw[16];

		*why_addr = b;
		if (w->n >= MAX_BUCKETS || w->npcs >= MAX_PCS) {
			err = -E2BIG;
			goto out;
		}
		if (b & 7) {
			*why = "bucket address not 8-aligned";
			goto torn;
		}
		err = seen_add(w, b);
		if (err == -EEXIST) {
			*why = "bucket list loops";
			goto torn;
		}
		if (err)
			goto out;
		err = pc_read(&pc, b, hdr, sizeof(hdr));
		if (err == -EFAULT) {
			*why = "bucket unreadable";
			goto torn;
		}
		if (err)
			goto out;
		if (hdr[2] != TYP_MEMORY) {
			*why = "bucket type is not memory (1)";
			goto torn;
		}
		if (hdr[5] > (uint64_t)max_stk) {
			*why = "nstk above the runtime's maximum";
			goto torn;
		}
		if (!hdr[4] || hdr[4] > SIZE_MAX_OBJ) {
			*why = "bucket size 0 or above 2^40";
			goto torn;
		}
		if (w->n == w->cap) {
			size_t ncap = w->cap ? w->cap * 2 : 1024;
			struct braw *nb = realloc(w->b, ncap * sizeof(*nb));

			if (!nb) {
				err = -ENOMEM;
				goto out;
			}
			w->b = nb;
			w->cap = ncap;
		}
		if (!w->pcs || w->npcs + hdr[5] > w->pcs_cap) {	/* never NULL + 0 (nstk 0) */
			size_t ncap = w->pcs_cap ? w->pcs_cap * 2 : 8192;
			uint64_t *np;

			while (ncap < w->npcs + hdr[5])
				ncap *= 2;
			np = realloc(w->pcs, ncap * sizeof(*np));
			if (!np) {
				err = -ENOMEM;
				goto out;
			}
			w->pcs = np;
			w->pcs_cap = ncap;
		}
		r = &w->b[w->n];
		r->addr = b;
		r->size = hdr[4];
		r->nstk = (uint32_t)hdr[5];
		r->pcoff = (uint32_t)w->npcs;
		err = pc_read(&pc, b + HDR, w->pcs + w->npcs, hdr[5] * 8);
		if (!err)
			err = pc_read(&pc, b + HDR + hdr[5] * 8, recw, sizeof(recw));
		if (err == -EFAULT) {
			*why = "bucket unreadable";
			goto torn;
		}
		if (err)
			goto out;
		for (uint64_t k = 0; k < hdr[5]; k++) {
			uint64_t pc_ = w->pcs[w->npcs + k];

			if (pc_ <= lo || pc_ > hi) {
				*why = "stack PC outside the text";
				goto torn;
			}
		}
		if (bucket_hash(w->pcs + w->npcs, hdr[5], hdr[4]) != hdr[3]) {
			*why = "bucket hash does not match its stack and size";
			goto torn;
		}
		for (int k = 0; k < 4; k++) {
			cyc_get(&r->c[k], recw + 4 * k);
			*why = cyc_check(&r->c[k], r->size);
			if (*why)
				goto torn;
		}
		if (r->c[0].frees > r->c[0].allocs) {
			*why = "active frees > allocs";
			goto torn;
		}
		{
			struct cyc v;

			reported(r, cycle, false, &v);
			if (v.allocs || v.frees)
				all = false;
			if (v.frees > v.allocs) {
				*why = "reported frees > allocs";
				goto torn;
			}
		}
		w->npcs += hdr[5];
		w->n++;
		b = hdr[1];
	}
	*why_addr = 0;
	w->all_futures = all && w->n;

	/*
	 * Every memRecord again, through fresh pages (the same batched
	 * reads as the walk), then the cycle word.
	 */
	for (i = 0; i < w->n; i++) {
		const struct braw *r1 = &w->b[i];
		uint64_t recw[16];
		struct braw r2 = *r1;
		struct cyc v1, v2;

		*why_addr = r1->addr;
		err = pc_read(&pc2, r1->addr + HDR + (uint64_t)r1->nstk * 8, recw, sizeof(recw));
		if (err == -EFAULT) {
			*why = "bucket unreadable on the second read";
			goto torn;
		}
		if (err)
			goto out;
		for (int c = 0; c < 4; c++)
			cyc_get(&r2.c[c], recw + 4 * c);
		reported(r1, cycle, w->all_futures, &v1);
		reported(&r2, cycle, w->all_futures, &v2);
		if (!w->all_futures &&
		    (v1.allocs != v2.allocs || v1.frees != v2.frees ||
		     v1.alloc_bytes != v2.alloc_bytes || v1.free_bytes != v2.free_bytes)) {
			*why = "a record changed between two reads (PostSweep or a torn copy)";
			goto torn;
		}
		if (w->all_futures &&
		    (v2.allocs < v1.allocs || v2.frees < v1.frees ||
		     v2.alloc_bytes < v1.alloc_bytes || v2.free_bytes < v1.free_bytes)) {
			*why = "a record shrank between two reads";
			goto torn;
		}
	}
	{
		struct gomem_iov ci = { mc, &cycle2, 4, 0 };

		err = goproc__readv(p, &ci, 1);
		if (err)
			goto out;
		if (ci.err) {
			*why = "mProfCycle unreadable";
			goto torn;
		}
	}
	*why_addr = 0;
	if (cycle2 != w->cycle_word) {
		*why = "mProfCycle moved during the walk";
		goto torn;
	}
	err = 0;
	goto out;
torn:
	err = -EAGAIN;
out:
	pc_free(&pc2);
	pc_free(&pc);
	return err;
}

/* ---------------------------------------------------------------------- */
/* what pprof hides                                                       */

struct ncache_ent {
	uint64_t pc;
	uint8_t rt;	/* 1 runtime, 2 not */
};

static bool pc_is_runtime(struct goproc *p, struct ncache_ent *nc, size_t cap, uint64_t pc, int minor)
{
	size_t h = (size_t)(pc * 0x9e3779b97f4a7c15ull >> 20) & (cap - 1), i;
	struct gobin *gb = goproc__gobin(p);
	struct gobin_frame fr[16];
	const char *name = NULL;
	bool rt;
	int n;

	for (i = 0; i < cap; i++) {
		struct ncache_ent *e = &nc[(h + i) & (cap - 1)];

		if (!e->rt)
			break;
		if (e->pc == pc)
			return e->rt == 1;
	}
	/* runtime.FuncForPC(pc): the innermost function at pc itself */
	n = gb ? gobin__resolve(gb, pc - goproc__bias(p), false, fr, 16) : 0;
	if (n > 0)
		name = fr[0].func;
	rt = name && (!strncmp(name, "runtime.", 8) ||
		      (minor >= 24 && !strncmp(name, "internal/runtime/", 17)));
	if (i < cap / 2) {	/* keep it at most half full */
		nc[(h + i) & (cap - 1)] = (struct ncache_ent){ pc, rt ? 1 : 2 };
	}
	return rt;
}

/* ---------------------------------------------------------------------- */
/* API                                                                    */

void go_heap__scale(int64_t count, int64_t bytes, int64_t rate, int64_t *scount, int64_t *sbytes)
{
	double avg, scale, c, b;

	if (count == 0 || bytes == 0) {
		*scount = *sbytes = 0;
		return;
	}
	if (rate <= 1) {
		*scount = count;
		*sbytes = bytes;
		return;
	}
	avg = (double)bytes / (double)count;
	scale = 1 / (1 - exp(-avg / (double)rate));
	c = (double)count * scale;
	b = (double)bytes * scale;
	/* Go's int64(float64) on amd64 (CVTTSD2SQ): truncation, INT64_MIN when out of range */
	*scount = c > -9223372036854775808.0 && c < 9223372036854775808.0 ? (int64_t)c : INT64_MIN;
	*sbytes = b > -9223372036854775808.0 && b < 9223372036854775808.0 ? (int64_t)b : INT64_MIN;
}

/* *T += V, saturating (scaled numbers can be huge: a 1-byte object at rate 2^31). */
static void sat_add(int64_t *t, int64_t v)
{
	if (__builtin_add_overflow(*t, v, t))
		*t = v > 0 ? INT64_MAX : INT64_MIN;
}

void go_heap__free(struct go_heap *h)
{
	if (!h)
		return;
	free(h->r);
	free(h->pcs);
	h->r = NULL;
	h->pcs = NULL;
	h->n = 0;
}

int goproc__heap(struct goproc *p, struct go_heap *h, unsigned flags)
{
	struct gobin *gb;
	struct walk w;
	const char *why = NULL;
	uint64_t why_addr = 0;
	struct ncache_ent *nc = NULL;
	size_t nc_cap = 0;
	int minor, max_stk, err = -EAGAIN, tries;

	if (!p || !h)
		return -EINVAL;
	memset(h, 0, sizeof(*h));
	gb = goproc__gobin(p);
	minor = goproc__go_minor(p);
	h->enabled = gb ? gobin__has_memprofile(gb) : true;
	if (!goproc__sym(p, GOBIN_SYM_MBUCKETS) || !goproc__sym(p, GOBIN_SYM_MPROFCYCLE) ||
	    !goproc__sym(p, GOBIN_SYM_MEMPROFILERATE)) {
		goproc__set_error(p, "runtime.mbuckets, mProfCycle or MemProfileRate not located");
		return -ENOENT;
	}
	max_stk = minor >= 23 ? 1024 + 8 : 32;	/* maxProfStackDepth (+ maxSkip room) : maxStack */
	walk_init(&w, p);
	for (tries = 0; tries < MAX_TRIES; tries++) {
		err = walk_once(p, &w, max_stk, &why, &why_addr);
		if (err != -EAGAIN)
			break;
	}
	if (err) {
		if (err == -EAGAIN && why)
			goproc__set_error(p, "heap profile: %s (bucket 0x%llx; %d walks)", why,
					  (unsigned long long)why_addr, tries);
		else if (err == -E2BIG)
			goproc__set_error(p, "heap profile: more than %u buckets, %u stack words or %u pages",
					  MAX_BUCKETS, MAX_PCS, MAX_PAGES);
		if (err == -EAGAIN && why && strncmp(why, "a record", 8) && strncmp(why, "mProfCycle moved", 16))
			err = -EINVAL;	/* the same kind of check failed on every walk */
		goto out;
	}
	h->rate = w.rate;
	h->cycle = w.cycle_word >> 1;
	h->all_futures = w.all_futures;
	h->retries = tries;
	h->nbuckets = (int)w.n;
	h->r = calloc(w.n ? w.n : 1, sizeof(*h->r));
	h->pcs = malloc(w.npcs ? w.npcs * sizeof(*h->pcs) : 8);
	if (!h->r || !h->pcs) {
		err = -ENOMEM;
		goto out;
	}
	if (w.npcs)
		memcpy(h->pcs, w.pcs, w.npcs * sizeof(*h->pcs));
	if (!(flags & GO_HEAP_NO_SKIP) && gb) {
		for (nc_cap = 1024; nc_cap < 4 * w.n; nc_cap <<= 1)
			;
		nc = calloc(nc_cap, sizeof(*nc));
		if (!nc) {
			err = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < w.n; i++) {
		const struct braw *b = &w.b[i];
		struct go_heap_rec *r = &h->r[h->n];
		struct cyc v;

		reported(b, h->cycle, w.all_futures, &v);
		if (!(flags & GO_HEAP_INUSE_ZERO) && v.alloc_bytes == v.free_bytes)
			continue;
		if (v.frees > v.allocs) {	/* all futures summed: never report it */
			goproc__set_error(p, "heap profile: frees > allocs (bucket 0x%llx)",
					  (unsigned long long)b->addr);
			err = -EINVAL;
			goto out;
		}
		r->bucket = b->addr;
		r->size = b->size;
		r->stk = h->pcs + b->pcoff;
		r->nstk = (int)b->nstk;
		r->alloc_objects = (int64_t)v.allocs;
		r->alloc_bytes = (int64_t)v.alloc_bytes;
		r->inuse_objects = (int64_t)(v.allocs - v.frees);
		r->inuse_bytes = (int64_t)(v.alloc_bytes - v.free_bytes);
		go_heap__scale(r->alloc_objects, r->alloc_bytes, h->rate, &r->alloc_objects_scaled,
			       &r->alloc_bytes_scaled);
		go_heap__scale(r->inuse_objects, r->inuse_bytes, h->rate, &r->inuse_objects_scaled,
			       &r->inuse_bytes_scaled);
		if (nc) {
			int k;

			for (k = 0; k < r->nstk; k++)
				if (!pc_is_runtime(p, nc, nc_cap, r->stk[k], minor))
					break;
			r->skip = k < r->nstk ? k : 0;
		}
		sat_add(&h->inuse_objects, r->inuse_objects);
		sat_add(&h->inuse_bytes, r->inuse_bytes);
		sat_add(&h->alloc_objects, r->alloc_objects);
		sat_add(&h->alloc_bytes, r->alloc_bytes);
		sat_add(&h->inuse_objects_scaled, r->inuse_objects_scaled);
		sat_add(&h->inuse_bytes_scaled, r->inuse_bytes_scaled);
		sat_add(&h->alloc_objects_scaled, r->alloc_objects_scaled);
		sat_add(&h->alloc_bytes_scaled, r->alloc_bytes_scaled);
		h->n++;
	}
	err = 0;
out:
	if (err)
		go_heap__free(h);
	free(nc);
	walk_free(&w, p);
	return err;
}

/* ---------------------------------------------------------------------- */
/* memstats                                                               */

static uint64_t rss_bytes(int pid)
{
	char path[64], buf[128];
	unsigned long long size = 0, res = 0;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	if (sscanf(buf, "%llu %llu", &size, &res) != 2)
		return 0;
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static inline uint64_t ld64(const uint8_t *b, int off)
{
	uint64_t v;

	memcpy(&v, b + off, 8);
	return v;
}

static inline uint32_t ld32(const uint8_t *b, int off)
{
	uint32_t v;

	memcpy(&v, b + off, 4);
	return v;
}

static bool ms_layout_ok(const struct go_mstats_layout *L)
{
	const int u64s[] = { L->stacks_sys, L->mspan_sys, L->mcache_sys, L->buckhash_sys,
			     L->gcmisc_sys, L->other_sys, L->last_gc_unix, L->pause_total_ns };
	const int deltas[] = { L->d_committed, L->d_released, L->d_inheap, L->d_instacks,
			       L->d_inworkbufs, L->d_inptrscalarbits >= 0 ? L->d_inptrscalarbits : 0 };

	if (L->size <= 0 || L->size > (1 << 20) || L->delta_size <= 0 || L->heapstats < 0 ||
	    L->heapstats + 3 * L->delta_size > L->size)
		return false;
	for (size_t i = 0; i < sizeof(u64s) / sizeof(u64s[0]); i++)
		if (u64s[i] < 0 || u64s[i] + 8 > L->size)
			return false;
	for (size_t i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++)
		if (deltas[i] < 0 || deltas[i] + 8 > L->delta_size)
			return false;
	return L->pause_end >= 0 && L->pause_end + 2048 <= L->size && L->pause_ns >= 0 &&
	       L->numgc >= 0 && L->numgc + 4 <= L->size && L->numforcedgc >= 0 &&
	       L->numforcedgc + 4 <= L->size;
}

/* Check and fill from one copy of memstats: NULL, or the check that failed. */
static const char *ms_parse(const struct go_mstats_layout *L, const uint8_t *b, struct go_memstats *m)
{
	int64_t committed = 0, released = 0, inheap = 0, instacks = 0, inwb = 0, inpsb = 0;
	uint64_t sysf[6], last, end;
	uint32_t numgc;

	for (int i = 0; i < 3; i++) {
		int d = L->heapstats + i * L->delta_size;
		int64_t v[6] = {
			(int64_t)ld64(b, d + L->d_committed), (int64_t)ld64(b, d + L->d_released),
			(int64_t)ld64(b, d + L->d_inheap), (int64_t)ld64(b, d + L->d_instacks),
			(int64_t)ld64(b, d + L->d_inworkbufs),
			L->d_inptrscalarbits >= 0 ? (int64_t)ld64(b, d + L->d_inptrscalarbits) : 0,
		};

		for (int k = 0; k < 6; k++)	/* deltas, so either sign; bounded, so the sums cannot overflow */
			if (v[k] >= (int64_t)COUNT_MAX || v[k] <= -(int64_t)COUNT_MAX)
				return "a consistent heap stat delta is above 2^48";
		committed += v[0];
		released += v[1];
		inheap += v[2];
		instacks += v[3];
		inwb += v[4];
		inpsb += v[5];
	}
	if (committed < 0 || released < 0 || inheap < 0 || instacks < 0 || inwb < 0 || inpsb < 0)
		return "a consistent heap stat is negative";
	if (inheap % 8192 || instacks % 8192 || inwb % 8192 || inpsb % 8192 || committed % 4096 ||
	    released % 4096)
		return "a consistent heap stat is not in whole pages";
	if (committed < inheap + instacks + inwb + inpsb || committed >= (int64_t)COUNT_MAX ||
	    released >= (int64_t)COUNT_MAX)
		return "committed does not cover the in-use memory";
	sysf[0] = ld64(b, L->stacks_sys);
	sysf[1] = ld64(b, L->mspan_sys);
	sysf[2] = ld64(b, L->mcache_sys);
	sysf[3] = ld64(b, L->buckhash_sys);
	sysf[4] = ld64(b, L->gcmisc_sys);
	sysf[5] = ld64(b, L->other_sys);
	for (int i = 0; i < 6; i++)
		if (sysf[i] >= COUNT_MAX)
			return "a sys stat is above 2^48";
	numgc = ld32(b, L->numgc);
	last = ld64(b, L->last_gc_unix);
	if (numgc == 0) {
		if (last)
			return "last_gc_unix set with numgc 0";
	} else {
		end = ld64(b, L->pause_end + (int)((numgc - 1) % 256) * 8);
		if (end != last)
			return "pause_end[(numgc-1) % 256] != last_gc_unix";
		if (last < 946684800ull * 1000000000ull)	/* 2000-01-01 */
			return "last_gc_unix before 2000";
	}
	m->heap_inuse = (uint64_t)inheap;
	m->heap_released = (uint64_t)released;
	m->heap_sys = (uint64_t)(committed - instacks - inwb - inpsb + released);
	m->heap_idle = m->heap_sys - m->heap_inuse;
	m->stack_inuse = (uint64_t)instacks;
	m->stack_sys = (uint64_t)instacks + sysf[0];
	m->mspan_sys = sysf[1];
	m->mcache_sys = sysf[2];
	m->buckhash_sys = sysf[3];
	m->gc_sys = sysf[4] + (uint64_t)inwb + (uint64_t)inpsb;
	m->other_sys = sysf[5];
	m->sys = (uint64_t)(committed + released) + sysf[0] + sysf[1] + sysf[2] + sysf[3] + sysf[4] +
		 sysf[5];
	m->num_gc = numgc;
	m->num_forced_gc = ld32(b, L->numforcedgc);
	m->last_gc_ns = last;
	m->pause_total_ns = ld64(b, L->pause_total_ns);
	return NULL;
}

int goproc__memstats(struct goproc *p, struct go_memstats *m)
{
	struct go_mstats_layout L;
	struct gobin *gb;
	const char *why = NULL;
	uint64_t addr;
	uint8_t *buf;
	int err = -EAGAIN, tries;

	if (!p || !m)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	m->rss = rss_bytes(goproc__pid(p));
	gb = goproc__gobin(p);
	err = gb ? gobin__mstats_layout(gb, &L) : gobin__mstats_layout_table(1, goproc__go_minor(p), &L);
	addr = goproc__sym(p, GOBIN_SYM_MEMSTATS);
	if (err || !addr || !ms_layout_ok(&L)) {
		goproc__set_error(p, "memstats: %s", err || !ms_layout_ok(&L) ?
				  "no layout for this Go version" : "runtime.memstats not located");
		return -ENOENT;
	}
	snprintf(m->source, sizeof(m->source), "%s, memstats from %s", L.source,
		 gb && gobin__data_sym_source(gb, GOBIN_SYM_MEMSTATS) ?
		 gobin__data_sym_source(gb, GOBIN_SYM_MEMSTATS) : "the caller");
	buf = malloc((size_t)L.size);
	if (!buf)
		return -ENOMEM;
	for (tries = 0; tries < MAX_TRIES; tries++) {
		struct gomem_iov iov = { addr, buf, (size_t)L.size, 0 };

		err = goproc__readv(p, &iov, 1);
		if (err)
			break;
		if (iov.err) {
			why = "memstats unreadable";
			err = -EAGAIN;
			continue;
		}
		why = ms_parse(&L, buf, m);
		err = why ? -EAGAIN : 0;
		if (!err)
			break;
	}
	free(buf);
	m->retries = tries;
	if (err == -EAGAIN) {
		uint64_t rss = m->rss;

		goproc__set_error(p, "memstats (%s): %s on %d reads", m->source, why ? why : "?", tries);
		memset(m, 0, sizeof(*m));
		m->rss = rss;
	}
	return err;
}
