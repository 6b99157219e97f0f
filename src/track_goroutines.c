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
#include "gobin.h"
#include "goproc.h"
#include "log.h"
#include "syms.h"
#include "tracer_priv.h"

#define BLOCKED_SAMPLE	64	/* goroutines of a site whose stacks are walked at a report */
#define BLOCKED_DEPTH	64	/* frames of such a stack */

/* Per Go target. */
struct go_state {
	struct go_snapshot snap;	/* the last good one of a report (for its sites' details) */
	int nuser, nsystem;		/* at the last look while it lived */
	bool warned;			/* a failed read was said once */
};

static struct go_state *state(struct tracer *t, struct target *tg)
{
	return target__state(tg, t, &lt_tracker_goroutines, sizeof(struct go_state));
}

static void target_free(void *priv)
{
	struct go_state *st = priv;

	if (st)
		go_snapshot__free(&st->snap);
	free(st);
}

/* TG's goroutines now, or (the read failing) its last good snapshot. 0, or -errno. */
static int snapshot(struct tracer *t, struct target *tg, struct go_state *st, struct go_snapshot *snap)
{
	int err = goproc__snapshot(tg->go, snap);

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
	for (int i = 0; i < t->ntg; i++) {
		struct target *tg = t->tg[i];
		struct go_state *st;
		struct go_snapshot snap = {};
		const struct go_snapshot *use = &snap;

		if (!target__alive(tg) || !target__go(t, tg) || !(st = state(t, tg)))
			continue;
		if (snapshot(t, tg, st, &snap))
			use = &st->snap;	/* the last good one */
		for (int j = 0; j < use->n; j++) {
			const struct go_g *g = &use->g[j];
			struct lt_site_id id = { (uint32_t)tg->pid, 0, g->gopc, g->startpc };
			struct lt_site *s;

			if (g->system)
				continue;
			s = site_set__get(ss, &id, 0);
			if (!s)
				return -ENOMEM;
			s->v[0]++;
			/* waitsince: runtime.nanotime (CLOCK_MONOTONIC) when it began to wait; 0 unknown */
			if (g->status == GO_WAITING && g->waitsince > 0 &&
			    (!s->oldest_ns || (uint64_t)g->waitsince < s->oldest_ns))
				s->oldest_ns = (uint64_t)g->waitsince;
		}
		if (report && use == &snap) {
			go_snapshot__free(&st->snap);
			st->snap = snap;	/* kept for finish() */
		} else if (use == &snap) {
			go_snapshot__free(&snap);
		}
	}
	return 0;
}

/* The creation site: the `go` statement's return address (its inlined callers come with it). */
static int raw_stack(struct tracer *t, const struct lt_site *s, uint64_t *addrs, int max, bool *complete)
{
	(void)t;
	if (max < 1 || !s->id.stack)
		return 0;
	addrs[0] = s->id.stack;
	*complete = true;	/* a creation site is one frame, not a walk that can stop early */
	return 1;
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
static void details(struct tracer *t, struct target *tg, const struct go_snapshot *snap, struct lt_site *s)
{
	struct tally *tl = calloc(BLOCKED_SAMPLE, sizeof(*tl));
	uint64_t pcs[BLOCKED_DEPTH];
	int ntl = 0, walked = 0, best = -1;

	for (int j = 0; j < snap->n; j++) {
		const struct go_g *g = &snap->g[j];
		int n;

		if (g->system || g->gopc != s->id.stack || g->startpc != s->id.caller)
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
	}
	for (int i = 0; i < sec->nsites; i++) {
		struct lt_site *s = &sec->sites[i];
		struct target *tg = tracer__find(t, s->pid);
		struct go_state *st = tg && tg->go ? state(t, tg) : NULL;
		struct sym_frame sf[8];
		int nf;

		if (!st)
			continue;
		details(t, tg, &st->snap, s);
		/* the start function, as pprof and the source name it: a function entry, not a return address */
		nf = tg->syms ? syms__resolve(tg->syms, s->id.caller, false, sf, 8) : 0;
		if (nf > 0 && sf[nf - 1].func)
			s->label = strdup(sf[nf - 1].func);
	}
}

/* -a: the Go programs that run now (their executables' verdicts cached by file). */
struct go_exes {
	struct { uint64_t dev, ino; bool go; } *e;
	int n;
};

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
	struct go_exes *c = tracer__state(t, &lt_tracker_goroutines, sizeof(*c));
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
	struct go_exes *c = tracer__state(t, &lt_tracker_goroutines, sizeof(*c));

	if (c)
		free(c->e);
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
	.free = free_state,
	.by_process = true,
};
