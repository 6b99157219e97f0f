// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The Go heap tracker (Go programs): the runtime's own heap profile, read
 * from the target's memory (goheap.h), no probe and no stop. A site is a
 * profile bucket (one allocation stack and object size); its values are
 * those runtime/pprof would write at that moment, scaled for the rate in
 * force. At a report, each Go process also gets its overview: memstats
 * (Go heap, goroutine stacks, GCs), the C heap the memory tracker holds
 * for it, and its RSS. With --go-memprofile-rate (opt-in) the rate is
 * written into each Go target once, when its runtime is first read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "gobin.h"
#include "goheap.h"
#include "goproc.h"
#include "log.h"
#include "plan.h"
#include "tracer_priv.h"
#include "util.h"

/* Per Go target. */
struct gh_state {
	struct go_heap h;		/* the last good read of a report (its sites' stacks) */
	struct gh_idx {			/* h's records by bucket address */
		uint64_t bucket;
		int i;
	} *idx;
	int nidx;
	uint64_t read_us;		/* the last read */
	const struct goproc *rate_for;	/* --go-memprofile-rate written into this runtime */
	bool have_h, said_off, said_err, said_rate;
};

static struct gh_state *state(struct tracer *t, struct target *tg)
{
	return target__state(tg, t, &lt_tracker_goheap, sizeof(struct gh_state));
}

static void target_free(void *priv)
{
	struct gh_state *st = priv;

	if (st) {
		go_heap__free(&st->h);
		free(st->idx);
	}
	free(st);
}

static int idx_cmp(const void *a, const void *b)
{
	const struct gh_idx *x = a, *y = b;

	return x->bucket < y->bucket ? -1 : x->bucket > y->bucket;
}

/* Keep H (a report's read) for the stacks of its sites. */
static void keep(struct gh_state *st, struct go_heap *h)
{
	struct gh_idx *idx = malloc(sizeof(*idx) * (h->n ? h->n : 1));

	if (!idx) {
		go_heap__free(h);
		return;
	}
	go_heap__free(&st->h);
	free(st->idx);
	st->h = *h;
	st->have_h = true;
	for (int i = 0; i < h->n; i++)
		idx[i] = (struct gh_idx){ h->r[i].bucket, i };
	qsort(idx, h->n, sizeof(*idx), idx_cmp);
	st->idx = idx;
	st->nidx = h->n;
}

/* --go-memprofile-rate: written once into each runtime leaktrace reads. */
static void set_rate(struct tracer *t, struct target *tg, struct gh_state *st)
{
	int64_t old = 0;
	int err;

	if (!t->o->go_memprofile_rate || st->rate_for == tg->go)
		return;
	st->rate_for = tg->go;
	err = goproc__set_memprofile_rate(tg->go, t->o->go_memprofile_rate, &old);
	if (err)
		lt_err("pid %d (%s): runtime.MemProfileRate not set: %s\n", tg->pid, tg->comm,
		       goproc__error(tg->go)[0] ? goproc__error(tg->go) : strerror(-err));
	else
		lt_info(0, "pid %d (%s): runtime.MemProfileRate %lld -> %lld (--go-memprofile-rate): "
			"allocations from now on are sampled\n", tg->pid, tg->comm, (long long)old,
			(long long)t->o->go_memprofile_rate);
	st->said_rate = !err;
}

static void say_off(struct target *tg, struct gh_state *st, const struct go_heap *h)
{
	if (st->said_off || h->rate > 0)
		return;
	st->said_off = true;
	if (!h->enabled)
		lt_warn("pid %d (%s): memory profiling is off in this Go program (nothing in it references "
			"runtime.MemProfile, so the linker turned it off): no Go heap sites; goroutines and "
			"timers are shown; --go-memprofile-rate BYTES turns it on (a write into the target)\n",
			tg->pid, tg->comm);
	else
		lt_warn("pid %d (%s): the program set runtime.MemProfileRate to 0: no Go heap sites "
			"(--go-memprofile-rate BYTES sets it again)\n", tg->pid, tg->comm);
}

static int collect_one(struct tracer *t, struct target *tg, struct gh_state *st, struct site_set *ss,
		       bool report)
{
	struct go_heap h = {};
	double t0 = util__now();
	int err;

	set_rate(t, tg, st);
	err = goproc__heap(tg->go, &h, GO_HEAP_INUSE_ZERO | (report ? 0 : GO_HEAP_NO_SKIP));
	st->read_us = (uint64_t)((util__now() - t0) * 1e6);
	if (err) {
		if (!st->said_err && err != -ESRCH)
			lt_warn("pid %d (%s): its Go heap profile could not be read: %s; %s\n", tg->pid, tg->comm,
				goproc__error(tg->go)[0] ? goproc__error(tg->go) : strerror(-err),
				st->have_h ? "the last good read stays" : "no Go heap sites");
		st->said_err = err != -ESRCH;
		if (!st->have_h)
			return 0;
		h = st->h;	/* the last good read: its sites, unchanged */
	} else {
		say_off(tg, st, &h);
	}
	for (int i = 0; i < h.n; i++) {
		const struct go_heap_rec *rec = &h.r[i];
		/* buckets are unique in a walk: added, not looked up */
		struct lt_site *s = site_set__add(ss);

		if (!s) {
			if (!err)
				go_heap__free(&h);
			return -ENOMEM;
		}
		s->pid = tg->pid;
		s->id = (struct lt_site_id){ .tgid = (uint32_t)tg->pid, .stack = rec->bucket };
		s->v[0] = rec->inuse_bytes_scaled;
		s->v[1] = rec->inuse_objects_scaled;
		s->v[2] = rec->alloc_bytes_scaled;
		s->v[3] = rec->alloc_objects_scaled;
		s->num = rec->size;
	}
	if (!err && report)
		keep(st, &h);
	else if (!err)
		go_heap__free(&h);
	return 0;
}

static int collect(struct tracer *t, struct site_set *ss, bool report)
{
	for (int i = 0; i < t->ntg; i++) {
		struct target *tg = t->tg[i];
		struct gh_state *st;
		int err;

		if (!target__alive(tg) || !target__go(t, tg) || !(st = state(t, tg)))
			continue;
		err = collect_one(t, tg, st, ss, report);
		if (err)
			return err;
	}
	return 0;
}

/*
 * The runtime's stacks (runtime.Callers) list a physical frame's inlined
 * calls as one more PC each: the inline mark in the caller, + 1. The
 * symbolizer expands the first PC into every inlined frame already, so the
 * marks that follow it are left out (pprof's profile builder does the
 * same). How many PCs after REC's stk[I] are its marks.
 */
static int inline_marks(struct target *tg, const struct go_heap_rec *rec, int i)
{
	struct gobin_frame fr[16], up[16];
	uint64_t bias = tg->go ? goproc__bias(tg->go) : 0;
	int nf, k = 0;

	if (!tg->go_bin)
		return 0;
	nf = gobin__resolve(tg->go_bin, rec->stk[i] - bias, true, fr, 16);
	for (int j = 1; j < nf && i + 1 + k < rec->nstk; j++) {
		int nu = gobin__resolve(tg->go_bin, rec->stk[i + 1 + k] - bias, true, up, 16);

		if (nu < 1 || !up[0].func || !fr[j].func || strcmp(up[0].func, fr[j].func))
			break;
		k++;
	}
	return k;
}

static int raw_stack(struct tracer *t, const struct lt_site *s, uint64_t *addrs, int max, bool *complete)
{
	struct target *tg = tracer__find(t, s->pid);
	struct gh_state *st = tg ? state(t, tg) : NULL;
	struct gh_idx key = { s->id.stack, 0 }, *e;
	const struct go_heap_rec *rec;
	uint64_t gx_lo = 0, gx_hi = 0;	/* runtime.goexit, which pprof leaves out */
	int n = 0;

	*complete = false;
	if (!st || !st->nidx || !(e = bsearch(&key, st->idx, st->nidx, sizeof(key), idx_cmp)))
		return 0;
	rec = &st->h.r[e->i];
	if (tg->go && tg->go_bin && gobin__func_lookup(tg->go_bin, "runtime.goexit", &gx_lo, &gx_hi) == 0) {
		gx_lo += goproc__bias(tg->go);
		gx_hi += goproc__bias(tg->go);
	}
	/* the frames pprof shows: past the runtime's own leading ones, without runtime.goexit */
	for (int i = rec->skip; i < rec->nstk && n < max; i++) {
		if (rec->stk[i] > gx_lo && rec->stk[i] <= gx_hi)
			continue;
		addrs[n++] = rec->stk[i];
		i += inline_marks(tg, rec, i);
	}
	/* the runtime keeps 32 frames up to 1.22, 1024 (+ skipped) from 1.23 */
	*complete = n < max && rec->nstk < (tg->go_bin && gobin__version_cmp(tg->go_bin, 1, 23) >= 0 ? 1024 : 32);
	return n;
}

/* Bytes the memory tracker holds for PID in R (-1: it is off, or malloc is not probed there). */
static int64_t c_heap(const struct lt_report *r, const struct target *tg, const struct lt_opts *o)
{
	const struct lt_section *mem = report__section(r, &lt_view_memory);
	int64_t sum = 0;

	if (!mem || !(o->track & LT_TRACK_MEM) || !tg->nplans || tg->plans[tg->nplans - 1].no_malloc)
		return -1;
	for (int i = 0; i < mem->nsites_total; i++)
		if (mem->sites[i].pid == tg->pid)
			sum += mem->sites[i].v[0];
	return sum;
}

static void overview(struct tracer *t, struct target *tg, struct gh_state *st, const struct lt_report *r,
		     struct lt_overview *ov)
{
	struct go_memstats ms = {};
	struct timespec now;
	int err;

	ov->pid = tg->pid;
	memcpy(ov->comm, tg->comm, sizeof(ov->comm));
	snprintf(ov->tag, sizeof(ov->tag), "%s", tg->go_bin ? gobin__version(tg->go_bin) : "");
	ov->f[GOV_RATE] = st->have_h ? st->h.rate : 0;
	ov->f[GOV_PROFILING] = st->have_h && st->h.enabled;
	ov->f[GOV_PROFILE_BYTES] = st->have_h ? st->h.inuse_bytes_scaled : 0;
	ov->f[GOV_PROFILE_OBJECTS] = st->have_h ? st->h.inuse_objects_scaled : 0;
	ov->f[GOV_C_HEAP] = c_heap(r, tg, t->o);
	ov->f[GOV_LAST_GC_AGE_MS] = -1;
	err = target__alive(tg) ? goproc__memstats(tg->go, &ms) : -ESRCH;
	ov->f[GOV_RSS] = ms.rss ? (int64_t)ms.rss : -1;
	if (!err) {
		ov->f[GOV_MEMSTATS] = 1;
		ov->f[GOV_HEAP_INUSE] = (int64_t)ms.heap_inuse;
		ov->f[GOV_HEAP_SYS] = (int64_t)ms.heap_sys;
		ov->f[GOV_STACKS] = (int64_t)ms.stack_inuse;
		ov->f[GOV_NUM_GC] = ms.num_gc;
		clock_gettime(CLOCK_REALTIME, &now);
		if (ms.last_gc_ns) {
			int64_t now_ns = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;

			ov->f[GOV_LAST_GC_AGE_MS] = now_ns > (int64_t)ms.last_gc_ns ?
				(now_ns - (int64_t)ms.last_gc_ns) / 1000000 : 0;
		}
	} else if (err != -ESRCH) {
		snprintf(ov->note, sizeof(ov->note), "memstats not read: %s",
			 goproc__error(tg->go)[0] ? goproc__error(tg->go) : strerror(-err));
	}
	if (st->have_h && !st->h.enabled && st->h.rate <= 0)
		snprintf(ov->note, sizeof(ov->note), "memory profiling is off in this program (the linker "
			 "turned it off); --go-memprofile-rate BYTES turns it on (a write into the target)");
	else if (st->have_h && st->h.rate <= 0)
		snprintf(ov->note, sizeof(ov->note), "the program set runtime.MemProfileRate to 0: nothing is sampled");
}

static void finish(struct tracer *t, struct lt_section *sec, struct lt_report *r)
{
	bool any_set = false;

	sec->ovs = calloc(t->ntg ? t->ntg : 1, sizeof(*sec->ovs));
	for (int i = 0; i < t->ntg; i++) {
		struct target *tg = t->tg[i];
		struct gh_state *st = tg->go ? state(t, tg) : NULL;

		if (!st)
			continue;
		any_set |= st->said_rate;
		sec->extra[1]++;
		sec->extra[2] += (int64_t)st->read_us;
		if (st->have_h && st->h.rate > 0 && !sec->extra[0])
			sec->extra[0] = st->h.rate;
		if (st->have_h && st->h.rate <= 0)
			sec->extra[3]++;
		if (sec->ovs)
			overview(t, tg, st, r, &sec->ovs[sec->novs++]);
	}
	if (r->final && t->o->go_memprofile_rate && !any_set)
		lt_warn("--go-memprofile-rate: no Go program's rate was set\n");
}

static void watch(struct tracer *t, struct target *tg)
{
	struct gh_state *st;

	/* the write as soon as the runtime can be read (a -c program's: at its first read) */
	if (t->o->go_memprofile_rate && tg->go_bin && target__go(t, tg) && (st = state(t, tg)))
		set_rate(t, tg, st);
}

const struct tracker lt_tracker_goheap = {
	.name = "goheap",
	.track = LT_TRACK_GOHEAP,
	.view = &lt_view_goheap,
	.plan_tracker = -1,
	.keep_dead = true,
	.go_only = true,
	.collect = collect,
	.finish = finish,
	.raw_stack = raw_stack,
	.target_free = target_free,
	.watch = watch,
};
