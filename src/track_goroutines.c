// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The goroutine tracker (Go programs): live goroutines per creation site,
 * read from the runtime's own memory (goproc.h), no probe and no stop. A
 * site is the `go` statement (gopc) and the start function; the runtime's
 * own goroutines are counted, never attributed. At a report, the shown
 * sites get their states and the most common stack where their goroutines
 * block, from the same snapshot as the counts.
 */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "gobin.h"
#include "goproc.h"
#include "log.h"
#include "syms.h"
#include "tracer_priv.h"
#include "umulti.h"
#include "util.h"

#define BLOCKED_SAMPLE	64	/* goroutines of a site whose stacks are walked at a report */
#define BLOCKED_DEPTH	64	/* frames of such a stack */

/* Per Go target. */
struct go_state {
	struct go_snapshot snap;	/* the last good one of a report (for its sites' details) */
	uint64_t *site_of;		/* snap.g[i]'s site (lt_site_id.stack) */
	int nuser, nsystem;		/* at the last look while it lived */
	uint64_t max_goid_at_attach;	/* --go-ancestry: goroutines above it were made since */
	int anc_lost;			/* such goroutines whose ancestry is not known */
	uint64_t read_us;		/* how long the last snapshot took */
	bool attach_seen, warned;
};

/* --go-ancestry: the ancestries of the sites (by their lt_site_id.stack), and this round's records. */
struct anc_ent {
	uint64_t key;			/* a site's id.stack, or (in the records) a g address */
	uint32_t tgid;
	struct lt_go_anc anc;
};

struct anc_tab {
	struct anc_ent *e;
	size_t cap, used;
};

struct tk_state {
	struct anc_tab sites;		/* id.stack -> ancestry, for raw_stack */
	struct anc_tab recs;		/* (tgid, g) -> ancestry, refilled at each collect */
	struct go_exes {		/* -a: the Go programs that run now, by executable */
		struct { uint64_t dev, ino; bool go; } *e;
		int n;
	} exes;
};

static struct tk_state *tk_state(struct tracer *t)
{
	return tracer__state(t, &lt_tracker_goroutines, sizeof(struct tk_state));
}

static size_t anc_hash(uint64_t key, uint32_t tgid)
{
	uint64_t h = (key ^ ((uint64_t)tgid << 32)) * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h ^ (h >> 29));
}

static struct anc_ent *anc_get(struct anc_tab *t, uint64_t key, uint32_t tgid, bool create)
{
	size_t i;

	if (create && (t->used + 1) * 2 > t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 1024;
		struct anc_ent *ne = calloc(nc, sizeof(*ne));

		if (!ne)
			return NULL;
		for (size_t j = 0; j < t->cap; j++) {
			if (!t->e[j].key)
				continue;
			for (i = anc_hash(t->e[j].key, t->e[j].tgid) & (nc - 1); ne[i].key; i = (i + 1) & (nc - 1))
				;
			ne[i] = t->e[j];
		}
		free(t->e);
		t->e = ne;
		t->cap = nc;
	}
	if (!t->cap || !key)
		return NULL;
	for (i = anc_hash(key, tgid) & (t->cap - 1); t->e[i].key; i = (i + 1) & (t->cap - 1))
		if (t->e[i].key == key && t->e[i].tgid == tgid)
			return &t->e[i];
	if (!create)
		return NULL;
	t->e[i].key = key;
	t->e[i].tgid = tgid;
	t->used++;
	return &t->e[i];
}

static void anc_clear(struct anc_tab *t)
{
	if (t->e)
		memset(t->e, 0, t->cap * sizeof(*t->e));
	t->used = 0;
}

static void add_rec(const void *key, const void *val, void *ctx)
{
	const struct lt_go_timer_key *k = key;
	struct anc_ent *e = anc_get(ctx, k->ptr, k->tgid, true);

	if (e)
		e->anc = *(const struct lt_go_anc *)val;
}

/* A site's identity with its ancestry: the stacks of every level, hashed. */
static uint64_t anc_site_hash(const struct lt_go_anc *a)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (uint32_t i = 0; i < a->n && i < LT_GO_ANC_DEPTH; i++) {
		h = (h ^ a->sites[i].stack) * 0x100000001b3ULL;
		h = (h ^ a->sites[i].caller) * 0x100000001b3ULL;
	}
	return h | 1;
}

/* G's site key (lt_site_id.stack): its gopc, or with its ancestry known a hash of every level. */
static uint64_t site_key(struct tk_state *ts, uint32_t tgid, const struct go_g *g, bool *known)
{
	struct anc_ent *r = ts ? anc_get(&ts->recs, g->addr, tgid, false) : NULL, *se;
	uint64_t h;

	/* the record is this goroutine's only if its go statement is this one's (g structs are reused) */
	*known = r && r->anc.n && r->anc.sites[0].caller == g->gopc;
	if (!*known)
		return g->gopc;
	h = anc_site_hash(&r->anc);
	se = anc_get(&ts->sites, h, tgid, true);
	if (se)
		se->anc = r->anc;
	return h;
}

static struct go_state *state(struct tracer *t, struct target *tg)
{
	return target__state(tg, t, &lt_tracker_goroutines, sizeof(struct go_state));
}

static void target_free(void *priv)
{
	struct go_state *st = priv;

	if (st) {
		go_snapshot__free(&st->snap);
		free(st->site_of);
	}
	free(st);
}

/* TG's goroutines now, or (the read failing) its last good snapshot. 0, or -errno. */
static int snapshot(struct tracer *t, struct target *tg, struct go_state *st, struct go_snapshot *snap)
{
	double t0 = util__now();
	int err = goproc__snapshot(tg->go, snap);

	st->read_us = (uint64_t)((util__now() - t0) * 1e6);
	if (!err) {
		st->nuser = snap->nuser;
		st->nsystem = snap->nsystem;
		return 0;
	}
	if (!st->warned && err != -ESRCH)
		lt_warn("pid %d (%s): its goroutines could not be read: %s; the last good counts stay\n",
			tg->pid, tg->comm, goproc__error(tg->go));
	st->warned = true;
	(void)t;
	return err;
}

static int collect(struct tracer *t, struct site_set *ss, bool report)
{
	struct tk_state *ts = t->o->go_ancestry ? tk_state(t) : NULL;

	if (ts) {
		anc_clear(&ts->recs);
		map__for_each(bpf_map__fd(t->skel->maps.go_anc), sizeof(struct lt_go_timer_key),
			      sizeof(struct lt_go_anc), add_rec, &ts->recs);
	}
	for (int i = 0; i < t->ntg; i++) {
		struct target *tg = t->tg[i];
		struct go_state *st;
		struct go_snapshot snap = {};
		const struct go_snapshot *use = &snap;
		uint64_t *site_of = NULL;

		if (!target__alive(tg) || !target__go(t, tg) || !(st = state(t, tg)))
			continue;
		if (snapshot(t, tg, st, &snap))
			use = &st->snap;	/* the last good one */
		if (report && use == &snap)
			site_of = calloc(snap.n ? snap.n : 1, sizeof(*site_of));
		st->anc_lost = 0;
		for (int j = 0; j < use->n; j++) {
			const struct go_g *g = &use->g[j];
			struct lt_site_id id = { (uint32_t)tg->pid, 0, g->gopc, g->startpc };
			struct lt_site *s;
			bool known = false;

			if (!st->attach_seen && g->goid > st->max_goid_at_attach)
				st->max_goid_at_attach = g->goid;
			if (g->system)
				continue;
			if (ts) {
				id.stack = site_key(ts, tg->pid, g, &known);
				st->anc_lost += st->attach_seen && !known && g->goid > st->max_goid_at_attach;
			}
			if (site_of)
				site_of[j] = id.stack;
			s = site_set__get(ss, &id, g->gopc);	/* tag: the gopc, for raw_stack */
			if (!s) {
				free(site_of);
				return -ENOMEM;
			}
			s->v[0]++;
			/* waitsince: runtime.nanotime (CLOCK_MONOTONIC) when it began to wait; 0 unknown */
			if (g->status == GO_WAITING && g->waitsince > 0 &&
			    (!s->oldest_ns || (uint64_t)g->waitsince < s->oldest_ns))
				s->oldest_ns = (uint64_t)g->waitsince;
		}
		st->attach_seen = true;
		if (site_of) {
			go_snapshot__free(&st->snap);
			free(st->site_of);
			st->snap = snap;	/* kept for finish() */
			st->site_of = site_of;
		} else if (use == &snap) {
			go_snapshot__free(&snap);
		}
	}
	return 0;
}

/*
 * The creation site: the `go` statement's return address (its inlined
 * callers come with it); with --go-ancestry, the stack at that statement
 * and at every creator's, as BPF took them at runtime.newproc.
 */
static int raw_stack(struct tracer *t, const struct lt_site *s, uint64_t *addrs, int max, bool *complete)
{
	struct tk_state *ts = t->o->go_ancestry ? tk_state(t) : NULL;
	struct anc_ent *e = ts ? anc_get(&ts->sites, s->id.stack, s->id.tgid, false) : NULL;

	*complete = false;
	if (!e) {
		if (max < 1 || !s->tag)
			return 0;
		addrs[0] = s->tag;	/* gopc */
		*complete = true;	/* one frame, not a walk that can stop early */
		return 1;
	}
	return assemble__ancestry(t, &e->anc, addrs, max);
}

static const char *state_name(const struct go_g *g)
{
	if (g->status == GO_WAITING)
		return g->waitreason_str ? g->waitreason_str : "waiting";
	return goproc__status_name(g->status);
}

static void count_state(struct lt_site *s, const char *name)
{
	struct lt_count *n;

	for (int k = 0; k < s->ncounts; k++) {
		if (!strcmp(s->counts[k].name, name)) {
			s->counts[k].n++;
			return;
		}
	}
	n = realloc(s->counts, (s->ncounts + 1) * sizeof(*n));
	if (!n)
		return;
	s->counts = n;
	n[s->ncounts].name = strdup(name);
	if (!n[s->ncounts].name)
		return;
	n[s->ncounts++].n = 1;
}

static int count_cmp(const void *a, const void *b)
{
	const struct lt_count *x = a, *y = b;

	return x->n != y->n ? (x->n < y->n ? 1 : -1) : strcmp(x->name, y->name);
}

struct tally {
	uint64_t pcs[BLOCKED_DEPTH];
	int n, seen;
};

/* States, and the stack most of its goroutines block in, of site S from TG's snapshot. */
static void details(struct tracer *t, struct target *tg, const struct go_snapshot *snap,
		    const uint64_t *site_of, struct lt_site *s)
{
	struct tally *tl = calloc(BLOCKED_SAMPLE, sizeof(*tl));
	uint64_t pcs[BLOCKED_DEPTH];
	int ntl = 0, walked = 0, best = -1;

	for (int j = 0; j < snap->n; j++) {
		const struct go_g *g = &snap->g[j];
		int n;

		if (g->system || g->startpc != s->id.caller ||
		    (site_of ? site_of[j] != s->id.stack : g->gopc != s->id.stack))
			continue;
		count_state(s, state_name(g));
		if (!tl || walked >= BLOCKED_SAMPLE || g->status == GO_RUNNING)
			continue;
		walked++;
		n = goproc__stack(tg->go, g, pcs, BLOCKED_DEPTH);
		if (n <= 0)
			continue;
		for (int k = 0; k <= ntl; k++) {
			if (k == ntl) {
				memcpy(tl[ntl].pcs, pcs, n * sizeof(*pcs));
				tl[ntl].n = n;
				tl[ntl++].seen = 1;
				break;
			}
			if (tl[k].n == n && !memcmp(tl[k].pcs, pcs, n * sizeof(*pcs))) {
				tl[k].seen++;
				break;
			}
		}
	}
	qsort(s->counts, s->ncounts, sizeof(*s->counts), count_cmp);
	for (int k = 0; k < ntl; k++)
		if (best < 0 || tl[k].seen > tl[best].seen)
			best = k;
	if (best >= 0)
		assemble__frames(t, tg, tl[best].pcs, tl[best].n, true, &s->stack2, &s->nstack2);
	free(tl);
}

static void finish(struct tracer *t, struct lt_section *sec, struct lt_report *r)
{
	(void)r;
	for (int i = 0; i < t->ntg; i++) {
		struct go_state *st = t->tg[i]->go ? state(t, t->tg[i]) : NULL;

		if (!st)
			continue;
		sec->extra[0] += st->nuser;
		sec->extra[1] += st->nsystem;
		sec->extra[2]++;
		sec->extra[3] += st->anc_lost;
		sec->extra[4] += (int64_t)st->read_us;
	}
	for (int i = 0; i < sec->nsites; i++) {
		struct lt_site *s = &sec->sites[i];
		struct target *tg = tracer__find(t, s->pid);
		struct go_state *st = tg && tg->go ? state(t, tg) : NULL;
		struct sym_frame sf[8];
		int nf;

		if (!st)
			continue;
		details(t, tg, &st->snap, st->site_of, s);
		/* the start function, as pprof and the source name it: a function entry, not a return address */
		nf = tg->syms ? syms__resolve(tg->syms, s->id.caller, false, sf, 8) : 0;
		if (nf > 0 && sf[nf - 1].func)
			s->label = strdup(sf[nf - 1].func);
	}
}

static bool exe_is_go(struct go_exes *c, int pid)
{
	char path[64];
	struct stat st;
	struct gobin *g;
	void *n;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (stat(path, &st))
		return false;
	for (int i = 0; i < c->n; i++)
		if (c->e[i].dev == st.st_dev && c->e[i].ino == st.st_ino)
			return c->e[i].go;
	g = gobin__open(path);
	gobin__free(g);
	n = realloc(c->e, (c->n + 1) * sizeof(*c->e));
	if (n) {
		c->e = n;
		c->e[c->n].dev = st.st_dev;
		c->e[c->n].ino = st.st_ino;
		c->e[c->n++].go = g != NULL;
	}
	return g != NULL;
}

static void discover(struct tracer *t, struct u64_vec *tgids)
{
	struct tk_state *ts = tk_state(t);
	struct go_exes *c = ts ? &ts->exes : NULL;
	DIR *proc = opendir("/proc");
	struct dirent *d;

	while (c && proc && (d = readdir(proc))) {
		int pid = atoi(d->d_name);

		if (pid > 0 && pid != getpid() && !u64_vec__has(tgids, pid) && exe_is_go(c, pid))
			u64_vec__push(tgids, pid);
	}
	if (proc)
		closedir(proc);
}

static void free_state(struct tracer *t)
{
	struct tk_state *ts = tk_state(t);

	if (ts) {
		free(ts->exes.e);
		free(ts->sites.e);
		free(ts->recs.e);
	}
}

static void configure(struct tracer *t)
{
	t->skel->rodata->go_ancestry = t->o->go_ancestry;
	bpf_map__set_max_entries(t->skel->maps.go_anc, t->o->go_ancestry ? 1 << 17 : 1);
	bpf_map__set_max_entries(t->skel->maps.go_anc_hashes, t->o->go_ancestry ? 1 << 16 : 1);
	if (t->multi)
		bpf_program__set_expected_attach_type(t->skel->progs.lt_go_sched, LT_BPF_TRACE_UPROBE_MULTI);
}

/* --go-ancestry: entry probes where goroutines are made, in a Go target. */
static void watch(struct tracer *t, struct target *tg)
{
	static const struct { const char *fn; enum lt_func cookie; } at[] = {
		{ "runtime.newproc", LT_FN_GO_NEWPROC },
		{ "runtime.runqput", LT_FN_GO_RUNQPUT },
	};
	__u32 k = tg->pid;
	__s64 tls = -8;		/* Go keeps g at -8(%fs) on linux/amd64 (not so in every cgo binary) */

	if (!t->o->go_ancestry || !tg->go_bin)
		return;
	bpf_map_update_elem(bpf_map__fd(t->skel->maps.go_tls), &k, &tls, BPF_ANY);
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		target__go_probe(t, tg, at[i].fn, t->skel->progs.lt_go_sched, at[i].cookie);
}

const struct tracker lt_tracker_goroutines = {
	.name = "goroutines",
	.track = LT_TRACK_GOROUTINES,
	.view = &lt_view_goroutines,
	.plan_tracker = -1,
	.keep_dead = true,
	.collect = collect,
	.finish = finish,
	.raw_stack = raw_stack,
	.target_free = target_free,
	.discover = discover,
	.configure = configure,
	.watch = watch,
	.free = free_state,
	.by_process = true,
	.go_only = true,
};
