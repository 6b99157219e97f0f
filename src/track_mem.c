// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The memory tracker's collector (BPF side: bpf/alloc.bpf.c and
 * bpf/memrec.bpf.h). Sites are the per-site totals BPF keeps, so that a
 * sample costs O(sites); a report also scans the outstanding allocations
 * with batched lookups, for the oldest age per site and the --min-age /
 * --min-size / --max-size filters. With sampling the totals are the
 * blocks' weights: estimated bytes, and counts in 1/LT_W_ONE.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tracer_priv.h"

struct mem_state {
	int64_t scanned;	/* allocations the last report's scan saw */
	int64_t nsites;		/* sites in the map at the last report */
};

static struct mem_state *state(struct tracer *t)
{
	return tracer__state(t, &lt_tracker_mem, sizeof(struct mem_state));
}

static void configure(struct tracer *t)
{
	bpf_map__set_max_entries(t->skel->maps.allocs, t->o->max_allocs);
}

static struct bpf_program *prog(struct tracer *t, bool ret)
{
	return ret ? t->skel->progs.lt_alloc_return : t->skel->progs.lt_alloc_entry;
}

static void exec(struct tracer *t, struct target *tg, uint64_t ns)
{
	map__delete_before(bpf_map__fd(t->skel->maps.allocs), sizeof(struct lt_alloc_key),
			   sizeof(struct lt_alloc_val), tg->pid, ns, offsetof(struct lt_alloc_val, ts_ns));
	map__delete_before(bpf_map__fd(t->skel->maps.sites), sizeof(struct lt_site_key),
			   sizeof(struct lt_site_val), tg->pid, ns, offsetof(struct lt_site_val, first_ns));
}

static void gc(struct tracer *t, const struct u64_vec *dead)
{
	map__delete_tgids(bpf_map__fd(t->skel->maps.allocs), sizeof(struct lt_alloc_key), dead);
	map__delete_tgids(bpf_map__fd(t->skel->maps.sites), sizeof(struct lt_site_key), dead);
}

static void stack_refs(struct tracer *t, struct u64_vec *refs)
{
	map__collect_u64(bpf_map__fd(t->skel->maps.sites), sizeof(struct lt_site_key),
			 sizeof(struct lt_site_val), true, offsetof(struct lt_site_key, stack), refs);
}

static void add_tgid(const void *key, const void *val, void *ctx)
{
	const struct lt_site_key *k = key;

	(void)val;
	if (!u64_vec__has(ctx, k->tgid))
		u64_vec__push(ctx, k->tgid);
}

static void discover(struct tracer *t, struct u64_vec *tgids)
{
	map__for_each(bpf_map__fd(t->skel->maps.sites), sizeof(struct lt_site_key),
		      sizeof(struct lt_site_val), add_tgid, tgids);
}

/* When the executable's entry point ran in TGID (-c only); 0 when unknown. */
static uint64_t started_ns(struct tracer *t, uint32_t tgid)
{
	uint64_t ns = 0;

	bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.started), &tgid, &ns);
	return ns;
}

/* A fixed-point count (LT_W_ONE) as a whole number, rounded. */
static int64_t count_of(int64_t w)
{
	return w >= 0 ? (w + (int64_t)(LT_W_ONE / 2)) >> LT_W_SHIFT : -((-w + (int64_t)(LT_W_ONE / 2)) >> LT_W_SHIFT);
}

static void add_site(const void *key, const void *val, void *arg)
{
	const struct lt_site_key *k = key;
	const struct lt_site_val *v = val;
	struct collect_ctx *c = arg;
	struct lt_site *s = site_set__add(c->ss);

	if (!s) {
		c->err = -ENOMEM;
		return;
	}
	s->pid = k->tgid;
	s->id = site_id_of(k);
	s->v[0] = v->bytes;
	s->v[1] = count_of(v->allocs);
	s->before_start = v->first_ns && v->first_ns < started_ns(c->t, k->tgid);
}

static int id_cmp(const void *pa, const void *pb)
{
	const struct lt_site_id *a = &((const struct lt_site *)pa)->id, *b = &((const struct lt_site *)pb)->id;

	if (a->tgid != b->tgid)
		return a->tgid < b->tgid ? -1 : 1;
	if (a->stack != b->stack)
		return a->stack < b->stack ? -1 : 1;
	if (a->err != b->err)
		return a->err < b->err ? -1 : 1;
	return a->caller < b->caller ? -1 : a->caller > b->caller;
}

struct scan_ctx {
	const struct lt_opts *o;
	struct site_set *ss;	/* sorted by id */
	bool filtered;
	uint64_t now, min_age_ns;
	int64_t seen;
};

/* The filtered values of a site, in LT_W_ONE units until the scan ends. */
#define SCAN_COUNT(s) ((s)->v[2])

static void scan_one(const void *key, const void *val, void *arg)
{
	const struct lt_alloc_val *a = val;
	struct scan_ctx *c = arg;
	struct lt_site probe = { .id = site_id_of(&a->site) };
	struct lt_site *s = bsearch(&probe, c->ss->s, c->ss->n, sizeof(*s), id_cmp);
	uint64_t age = c->now > a->ts_ns ? c->now - a->ts_ns : 0;

	(void)key;
	c->seen++;
	if (!s)
		return;
	if (c->filtered) {
		if (age < c->min_age_ns || a->size < c->o->min_size || a->size > c->o->max_size)
			return;
		s->v[0] += a->w_bytes;
		SCAN_COUNT(s) += a->w_count;
	}
	if (!s->oldest_ns || a->ts_ns < s->oldest_ns)
		s->oldest_ns = a->ts_ns;
}

/* Every outstanding allocation: the oldest per site, and the filters (then the values are the scan's). */
static int scan_allocs(struct tracer *t, struct site_set *ss)
{
	const struct lt_opts *o = t->o;
	struct scan_ctx c = {
		.o = o, .ss = ss, .now = ktime_now_ns(), .min_age_ns = (uint64_t)(o->min_age * 1e9),
		.filtered = o->min_age > 0 || o->min_size > 0 || o->max_size != UINT64_MAX,
	};
	struct mem_state *st = state(t);
	int err;

	qsort(ss->s, ss->n, sizeof(*ss->s), id_cmp);
	if (c.filtered)
		for (int i = 0; i < ss->n; i++)
			ss->s[i].v[0] = SCAN_COUNT(&ss->s[i]) = 0;
	err = map__for_each(bpf_map__fd(t->skel->maps.allocs), sizeof(struct lt_alloc_key),
			    sizeof(struct lt_alloc_val), scan_one, &c);
	if (c.filtered)
		for (int i = 0; i < ss->n; i++) {
			ss->s[i].v[1] = count_of(SCAN_COUNT(&ss->s[i]));
			SCAN_COUNT(&ss->s[i]) = 0;
		}
	if (st) {
		st->scanned = c.seen;
		st->nsites = ss->n;
	}
	return err;
}

static int collect(struct tracer *t, struct site_set *ss, bool report)
{
	int err = collect__map(t, bpf_map__fd(t->skel->maps.sites), sizeof(struct lt_site_key),
			       sizeof(struct lt_site_val), add_site, ss, report);

	if (!err && report)
		err = scan_allocs(t, ss);
	return err;
}

static void finish(struct tracer *t, struct lt_section *sec, struct lt_report *r)
{
	struct mem_state *st = state(t);

	/* the view states the sampling: extra[0] the rate (the pprof period), note who samples */
	sec->extra[0] = t->sample_rate;
	sec->note = t->sample_source;
	r->map_allocs = st ? st->scanned : 0;
	r->map_sites = st ? st->nsites : 0;
	r->map_stacks = map__count(bpf_map__fd(t->skel->maps.stacks), sizeof(__u64));
}

const struct tracker lt_tracker_mem = {
	.name = "mem",
	.track = LT_TRACK_MEM,
	.view = &lt_view_memory,
	.plan_tracker = LT_TRACKER_MEM,
	.by_process = true,
	.configure = configure,
	.prog = prog,
	.exec = exec,
	.gc = gc,
	.stack_refs = stack_refs,
	.discover = discover,
	.collect = collect,
	.finish = finish,
};
