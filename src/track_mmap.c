// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The mmap tracker's collector (--mmap; BPF side: bpf/mmap.bpf.c). BPF
 * keeps one record per anonymous mapping (start, length, site, time) and
 * follows munmaps and mremaps that start at a record's start. Everything
 * else is settled here against /proc/PID/maps (src/overlay.c): the newest
 * record owns an address, and only what is still mapped anonymously
 * counts. A munmap in the middle of a mapping leaves the rest at its
 * site; a record with nothing left is deleted. Records made inside an
 * allocator call or pthread_create own their addresses but are no site.
 * Per site: v[0] bytes, v[1] mappings with something left (regions).
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "kfeatures.h"
#include "overlay.h"
#include "procmaps.h"
#include "syms.h"
#include "tracer_priv.h"

/* lt_site_id.stack of a Go program's one "[go runtime]" site (no real stack hash is 1: they are | 1 ... odd) */
#define GO_RUNTIME_SITE	2

struct mm_rec {
	struct lt_mmap_key k;
	struct lt_mmap v;
};

/* The records of one walk. */
struct mm_walk {
	struct mm_rec *r;
	int n, cap;
	int err;
};

/* Off by default: then none of its programs loads (each copy of the unwinder costs the verifier). */
static void configure(struct tracer *t)
{
	struct leaktrace_bpf *sk = t->skel;
	bool on = tracer__slot(t, &lt_tracker_mmap) != NULL;
	struct bpf_program *progs[] = {
		sk->progs.lt_mmap_exit, sk->progs.lt_munmap_enter, sk->progs.lt_munmap_exit,
		sk->progs.lt_mremap_enter, sk->progs.lt_mremap_exit,
	};

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
		bpf_program__set_autoload(progs[i], on);
	bpf_program__set_autoload(sk->progs.lt_mmap_entry, on && plan__stack_probes());
}

static struct bpf_program *prog(struct tracer *t, bool ret)
{
	return ret || !plan__stack_probes() ? NULL : t->skel->progs.lt_mmap_entry;
}

static int attach(struct tracer *t)
{
	struct leaktrace_bpf *sk = t->skel;
	struct bpf_program *progs[] = {
		sk->progs.lt_mmap_exit, sk->progs.lt_munmap_enter, sk->progs.lt_munmap_exit,
		sk->progs.lt_mremap_enter, sk->progs.lt_mremap_exit,
	};
	int err = kfeatures__tracefs();

	for (size_t i = 0; !err && i < sizeof(progs) / sizeof(progs[0]); i++)
		err = attach__prog(t->att, progs[i]);
	return err;
}

static void gather(const void *key, const void *val, void *arg)
{
	struct mm_walk *w = arg;

	if (w->n == w->cap) {
		int nc = w->cap ? w->cap * 2 : 256;
		struct mm_rec *n = realloc(w->r, nc * sizeof(*n));

		if (!n) {
			w->err = -ENOMEM;
			return;
		}
		w->r = n;
		w->cap = nc;
	}
	memcpy(&w->r[w->n].k, key, sizeof(w->r[0].k));
	memcpy(&w->r[w->n].v, val, sizeof(w->r[0].v));
	w->n++;
}

static int rec_cmp(const void *pa, const void *pb)
{
	const struct mm_rec *a = pa, *b = pb;

	return a->k.tgid < b->k.tgid ? -1 : a->k.tgid > b->k.tgid;
}

/* Anonymous memory: not backed by a regular file; shared anonymous memory shows as /dev/zero. */
static bool anonymous(const struct map_entry *e)
{
	return !procmaps__is_file(e) || strcmp(e->path, "/dev/zero") == 0;
}

/*
 * Was the mapping of site SK made by a Go program's runtime (its heap
 * arenas, stacks, its own structures)? The innermost frame is a runtime
 * function then; a program's own syscall.Mmap is not.
 */
static bool go_runtime_made(struct tracer *t, struct target *tg, const struct lt_site_key *sk)
{
	uint64_t ips[LT_MAX_STACK_DEPTH] = {};
	struct sym_frame sf[8];
	int nf;

	if (!tg->go_bin || !tg->syms || !sk->stack ||
	    bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.stacks), &sk->stack, ips) || !ips[0])
		return false;
	nf = syms__resolve(tg->syms, ips[0], false, sf, 8);
	return nf > 0 && sf[nf - 1].func && !strncmp(sf[nf - 1].func, "runtime.", 8);
}

/* The records R[0..n) of process TG into sites; those with nothing left are deleted. */
static int settle(struct tracer *t, struct target *tg, struct mm_rec *r, int n, struct site_set *ss)
{
	struct proc_maps *pm = procmaps__read(tg->pid);
	struct ov_range *mapped = NULL;
	struct ov_rec *ov = NULL;
	int nm = 0, err = 0;

	if (!pm)
		return 0;	/* gone: keep_dead keeps its last sites */
	mapped = calloc(pm->n ? pm->n : 1, sizeof(*mapped));
	ov = calloc(n, sizeof(*ov));
	if (!mapped || !ov) {
		err = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < pm->n; i++) {
		if (!anonymous(&pm->e[i]))
			continue;
		/* merge neighbours: the overlay wants ranges that do not touch */
		if (nm && mapped[nm - 1].end == pm->e[i].start)
			mapped[nm - 1].end = pm->e[i].end;
		else
			mapped[nm++] = (struct ov_range){ pm->e[i].start, pm->e[i].end };
	}
	for (int i = 0; i < n; i++)
		ov[i] = (struct ov_rec){ .start = r[i].k.start, .len = r[i].v.len,
					 .created_ns = r[i].v.created_ns, .tag = i };
	err = overlay__bytes(ov, n, mapped, nm);
	for (int i = 0; !err && i < n; i++) {
		const struct mm_rec *m = &r[ov[i].tag];
		struct lt_site_id id = site_id_of(&m->v.site);
		struct lt_site *s;

		if (!ov[i].bytes) {
			/* unmapped in pieces, or covered by newer mappings: gone */
			bpf_map_delete_elem(bpf_map__fd(t->skel->maps.mmaps), &m->k);
			continue;
		}
		if (m->v.skip)
			continue;
		if (go_runtime_made(t, tg, &m->v.site))
			id = (struct lt_site_id){ .tgid = (uint32_t)tg->pid, .stack = GO_RUNTIME_SITE };
		s = site_set__get(ss, &id, 0);
		if (!s) {
			err = -ENOMEM;
			break;
		}
		s->v[0] += ov[i].bytes;
		s->v[1]++;
		if (!s->oldest_ns || m->v.created_ns < s->oldest_ns)
			s->oldest_ns = m->v.created_ns;
	}
out:
	free(mapped);
	free(ov);
	procmaps__free(pm);
	return err;
}

/*
 * The records first, then /proc/PID/maps: a record read is mapped in what
 * is read after it, unless it was unmapped meanwhile (then it is gone).
 */
static int collect(struct tracer *t, struct site_set *ss, bool report)
{
	struct mm_walk w = {};
	int err;

	(void)report;
	err = map__for_each(bpf_map__fd(t->skel->maps.mmaps), sizeof(struct lt_mmap_key),
			    sizeof(struct lt_mmap), gather, &w);
	if (!err)
		err = w.err;
	if (w.n)
		qsort(w.r, w.n, sizeof(*w.r), rec_cmp);
	for (int i = 0, j; !err && i < w.n; i = j) {
		struct target *tg = tracer__find(t, w.r[i].k.tgid);

		for (j = i; j < w.n && w.r[j].k.tgid == w.r[i].k.tgid; j++)
			;
		if (tg && target__alive(tg))
			err = settle(t, tg, &w.r[i], j - i, ss);
	}
	free(w.r);
	return err;
}

static void exec(struct tracer *t, struct target *tg, uint64_t ns)
{
	map__delete_before(bpf_map__fd(t->skel->maps.mmaps), sizeof(struct lt_mmap_key), sizeof(struct lt_mmap),
			   tg->pid, ns, offsetof(struct lt_mmap, created_ns));
}

static void gc(struct tracer *t, const struct u64_vec *dead)
{
	map__delete_tgids(bpf_map__fd(t->skel->maps.mmaps), sizeof(struct lt_mmap_key), dead);
}

static void stack_refs(struct tracer *t, struct u64_vec *refs)
{
	map__collect_u64(bpf_map__fd(t->skel->maps.mmaps), sizeof(struct lt_mmap_key), sizeof(struct lt_mmap),
			 false, offsetof(struct lt_mmap, site.stack), refs);
}

static void add_tgid(const void *key, const void *val, void *ctx)
{
	const struct lt_mmap_key *k = key;

	(void)val;
	if (!u64_vec__has(ctx, k->tgid))
		u64_vec__push(ctx, k->tgid);
}

static void discover(struct tracer *t, struct u64_vec *tgids)
{
	map__for_each(bpf_map__fd(t->skel->maps.mmaps), sizeof(struct lt_mmap_key), sizeof(struct lt_mmap),
		      add_tgid, tgids);
}

/* A Go program's runtime mappings are one site, "[go runtime]", not a stack each. */
static void finish(struct tracer *t, struct lt_section *sec, struct lt_report *r)
{
	(void)t;
	(void)r;
	for (int i = 0; i < sec->nsites; i++) {
		struct lt_site *s = &sec->sites[i];
		char link[64], exe[PATH_MAX];
		struct lt_frame *f;
		ssize_t n;

		if (s->id.stack != GO_RUNTIME_SITE || s->id.caller || !(f = calloc(1, sizeof(*f))))
			continue;
		report__free_frames(s->stack, s->nstack);
		snprintf(link, sizeof(link), "/proc/%d/exe", s->pid);
		n = readlink(link, exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = 0;
		f->func = strdup("[go runtime]");
		f->module = strdup(n > 0 ? exe : "[unknown]");
		s->stack = f;
		s->nstack = 1;
		s->truncated = false;
	}
}

const struct tracker lt_tracker_mmap = {
	.name = "mmap",
	.track = LT_TRACK_MMAP,
	.view = &lt_view_mmap,
	.plan_tracker = LT_TRACKER_MMAP,
	.keep_dead = true,
	.needs_no_probes = true,
	.configure = configure,
	.prog = prog,
	.attach = attach,
	.exec = exec,
	.gc = gc,
	.stack_refs = stack_refs,
	.discover = discover,
	.collect = collect,
	.finish = finish,
};
