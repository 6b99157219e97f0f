// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A report, the same way for every tracker: its sites, their change since
 * the last report and their trend, sorted, top-N (-a: the top processes
 * first), and the symbolized stacks of the sites that are shown.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "inject_tracer.h"
#include "log.h"
#include "syms.h"
#include "tracer_priv.h"
#include "trend.h"
#include "util.h"

static void append_ancestry(struct tracer *t, struct target *tg, struct lt_site *s);

static int push_frame(struct lt_site *site, int *cap, const struct sym_frame *sf)
{
	struct lt_frame *f;

	if (site->nstack == *cap) {
		int nc = *cap ? *cap * 2 : 16;
		struct lt_frame *ns = realloc(site->stack, nc * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		site->stack = ns;
		*cap = nc;
	}
	f = &site->stack[site->nstack++];
	memset(f, 0, sizeof(*f));
	f->addr = sf->addr;
	f->func = sf->func ? strdup(sf->func) : NULL;
	f->offset = sf->offset;
	f->file = sf->file ? strdup(sf->file) : NULL;
	f->line = sf->line;
	f->module = strdup(sf->module ? sf->module : "[unknown]");
	f->module_off = sf->module_off;
	f->inlined = sf->inlined;
	return 0;
}

/* The raw frames of S's stack: [rsp] (the caller the kernel may omit), then the walk's. */
static int raw_frames(struct tracer *t, const struct lt_site *s, uint64_t *ips, int *nips,
		      uint64_t *addrs, bool *complete)
{
	int n = 0, na = 0;

	*complete = false;
	if (s->id.stack &&
	    bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.stacks), &s->id.stack, ips) == 0)
		while (n < LT_MAX_STACK_DEPTH && ips[n])
			n++;
	/* A table walk that reached the outermost frame says so with a last marker. */
	if (n > 0 && ips[n - 1] == LT_STACK_COMPLETE) {
		n--;
		*complete = true;
	}
	/* ips[0] is the probe inside the tracked function. */
	if (s->id.caller)
		addrs[na++] = s->id.caller;
	for (int i = 1; i < n; i++) {
		if (i == 1 && ips[1] == s->id.caller)
			continue;
		addrs[na++] = ips[i];
	}
	*nips = n;
	return na;
}

/* Does a stack end where every stack ends (process or thread entry)? */
static bool ends_at_root(const struct lt_site *s)
{
	static const char *const roots[] = {
		"_start", "__libc_start_main", "__libc_start_call_main", "__libc_start_main_impl",
		"start_thread", "clone", "clone3", "_dl_start_user", "_dl_start", "main",
		/* Go: a goroutine's, the main goroutine's, a thread's */
		"runtime.goexit", "runtime.main", "runtime.mstart", "runtime.rt0_go",
	};
	const char *f;

	if (!s->nstack || !(f = s->stack[s->nstack - 1].func))
		return false;
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		if (strcmp(f, roots[i]) == 0)
			return true;
	return false;
}

/*
 * Symbolize ADDRS[first..na) (return addresses) into S, flagging it
 * truncated unless the walk knew it whole (COMPLETE) or it ends where every
 * stack ends. Without symbols (TG NULL) the frames are bare addresses.
 */
static void symbolize(struct target *tg, struct lt_site *s, const uint64_t *addrs, int first, int na,
		      bool complete)
{
	struct sym_frame sf[8];
	int cap = s->nstack;

	for (int i = first; i < na; i++) {
		int nf;

		if (!tg || !tg->syms) {
			struct sym_frame f = { .addr = addrs[i], .module = "[unknown]" };

			push_frame(s, &cap, &f);
			continue;
		}
		/*
		 * A pending uretprobe (an outer tracked call) replaced this return
		 * address with its trampoline; older kernels leave it in the
		 * stack. Never show it as a frame: the frame it stands for is
		 * lost, so the stack is not whole, but the walk goes on.
		 */
		if (procimg__in_xol(tg->img, addrs[i])) {
			s->truncated = true;
			continue;
		}
		nf = syms__resolve(tg->syms, addrs[i], true, sf, 8);
		if (nf <= 0 || (nf == 1 && !sf[0].func && strcmp(sf[0].module, "[unknown]") == 0)) {
			/* A frame-pointer walk that left the known code: stop there (ends_at_root() judges). */
			if (i == first) {
				struct sym_frame f = { .addr = addrs[i], .module = "[unknown]" };

				push_frame(s, &cap, &f);
			}
			complete = false;
			break;
		}
		for (int j = 0; j < nf; j++)
			push_frame(s, &cap, &sf[j]);
	}
	if (!complete && !ends_at_root(s))
		s->truncated = true;
}

/*
 * The symbolized stack of S, flagged truncated unless it ends where every
 * stack ends: a frame-pointer walk that stopped early is never shown as
 * whole. BEFORE_START: made before the executable's entry point ran; with
 * no program frame it is a constructor's, shown as "[init] module".
 */
void assemble__stack(struct tracer *t, struct lt_site *s, bool before_start)
{
	uint64_t ips[LT_MAX_STACK_DEPTH] = {}, addrs[LT_MAX_STACK_DEPTH + 1];
	struct target *tg = tracer__find(t, s->id.tgid);
	int n, na, first = 0, cap = 0;
	const char *alloc_mod = NULL, *exe;
	bool complete, any_exe = false;

	na = raw_frames(t, s, ips, &n, addrs, &complete);
	s->truncated = !s->id.stack || n == 0 || (n == LT_MAX_STACK_DEPTH && !complete);
	if (complete)
		s->truncated = false;
	if (!tg || !tg->syms) {
		symbolize(NULL, s, addrs, 0, na, complete);
		return;
	}
	exe = syms__exe(tg->syms);
	if (n > 0)
		alloc_mod = syms__module(tg->syms, ips[0]);
	/* Skip the tracked library's own frames (libc's strdup calling malloc stays as the caller's caller). */
	if (alloc_mod && (!exe || strcmp(alloc_mod, exe) != 0)) {
		while (first < na - 1) {
			const char *m = syms__module(tg->syms, addrs[first]);

			if (!m || strcmp(m, alloc_mod) != 0)
				break;
			first++;
		}
	}
	for (int i = first; i < na; i++)
		any_exe |= syms__in_exe(tg->syms, addrs[i]);
	if (!any_exe && before_start && na > first) {
		const char *m = syms__module(tg->syms, addrs[first]);
		char label[128];
		struct sym_frame f = { .addr = addrs[first], .module = m ? m : "[unknown]" };

		snprintf(label, sizeof(label), "[init] %s", m ? util__basename(m) : "?");
		f.func = label;
		push_frame(s, &cap, &f);
	}
	symbolize(tg, s, addrs, first, na, complete);
	append_ancestry(t, tg, s);
}

void assemble__frames(struct tracer *t, struct target *tg, const uint64_t *pcs, int n, bool first_exact,
		      struct lt_frame **out, int *nout)
{
	struct lt_site tmp = {};
	struct sym_frame sf[8];
	int cap = 0;

	(void)t;
	for (int i = 0; i < n; i++) {
		int nf = tg && tg->syms ? syms__resolve(tg->syms, pcs[i], !(first_exact && i == 0), sf, 8) : 0;

		if (nf <= 0) {
			struct sym_frame f = { .addr = pcs[i], .module = "[unknown]" };

			push_frame(&tmp, &cap, &f);
			continue;
		}
		for (int j = 0; j < nf; j++)
			push_frame(&tmp, &cap, &sf[j]);
	}
	*out = tmp.stack;
	*nout = tmp.nstack;
}

int assemble__ancestry(struct tracer *t, const struct lt_go_anc *anc, uint64_t *addrs, int max)
{
	uint64_t ips[LT_MAX_STACK_DEPTH];
	int n = 0;

	for (uint32_t l = 0; l < anc->n && l < LT_GO_ANC_DEPTH && n < max; l++) {
		const struct lt_site_key *k = &anc->sites[l];

		/* [rsp] at newproc's entry: the go statement's own return address, then the walk's frames */
		addrs[n++] = k->caller;
		memset(ips, 0, sizeof(ips));
		if (!k->stack || bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.stacks), &k->stack, ips))
			continue;
		for (int i = 1; i < LT_MAX_STACK_DEPTH && ips[i] && n < max; i++) {
			if (ips[i] == LT_STACK_COMPLETE)
				break;
			if (i == 1 && ips[1] == k->caller)
				continue;
			addrs[n++] = ips[i];
		}
	}
	return n;
}

/*
 * --go-ancestry: a record made inside a goroutine gets the goroutine's
 * ancestry after its own stack (whose walk ended at runtime.goexit).
 */
static void append_ancestry(struct tracer *t, struct target *tg, struct lt_site *s)
{
	uint64_t addrs[LT_MAX_STACK_DEPTH];
	struct lt_go_anc anc;
	int n;

	if (!s->id.anc || bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.go_anc_hashes), &s->id.anc, &anc))
		return;
	n = assemble__ancestry(t, &anc, addrs, LT_MAX_STACK_DEPTH);
	s->truncated = false;
	symbolize(tg, s, addrs, 0, n, false);
}

/* S's stack from what its tracker gives (not a BPF stack). */
static void tracker_stack(struct tracer *t, const struct tracker *tk, struct lt_site *s)
{
	uint64_t addrs[LT_MAX_STACK_DEPTH];
	bool complete = false;
	int na = tk->raw_stack(t, s, addrs, LT_MAX_STACK_DEPTH, &complete);

	s->truncated = na <= 0;
	symbolize(tracer__find(t, s->id.tgid), s, addrs, 0, na > 0 ? na : 0, complete);
}

static int proc_cmp(const void *pa, const void *pb)
{
	const struct lt_proc *a = pa, *b = pb;

	if (a->delta != b->delta)
		return a->delta < b->delta ? 1 : -1;
	if (a->v[0] != b->v[0])
		return a->v[0] < b->v[0] ? 1 : -1;
	return a->pid - b->pid;
}

/*
 * -a: the top processes by growth (--top-procs), then each one's top -T
 * sites, in that order. Sites arrive sorted.
 */
static void top_processes(struct lt_section *sec, const struct lt_opts *o)
{
	int nproc = 0, keep, k = 0;
	struct lt_proc *procs = calloc(sec->nsites ? sec->nsites : 1, sizeof(*procs));
	struct lt_site *sorted;

	if (!procs)
		return;
	for (int i = 0; i < sec->nsites; i++) {
		struct lt_site *s = &sec->sites[i];
		int j;

		for (j = 0; j < nproc && procs[j].pid != s->pid; j++)
			;
		if (j == nproc) {
			procs[nproc].pid = s->pid;
			memcpy(procs[nproc].comm, s->comm, sizeof(procs[nproc].comm));
			nproc++;
		}
		for (int v = 0; v < LT_SITE_VALUES; v++)
			procs[j].v[v] += s->v[v];
		procs[j].delta += s->delta;
	}
	qsort(procs, nproc, sizeof(*procs), proc_cmp);
	keep = o->top_procs && nproc > o->top_procs ? o->top_procs : nproc;
	sorted = calloc(sec->nsites ? sec->nsites : 1, sizeof(*sorted));
	if (!sorted) {
		free(procs);
		return;
	}
	/* stable: each process's sites in sort order, up to -T of them */
	for (int p = 0; p < keep; p++) {
		for (int i = 0; i < sec->nsites; i++) {
			if (sec->sites[i].pid != procs[p].pid || (o->top && procs[p].nsites >= o->top))
				continue;
			sorted[k++] = sec->sites[i];
			procs[p].nsites++;
		}
	}
	/* the sites not shown own nothing yet (stacks and labels come later) */
	free(sec->sites);
	sec->sites = sorted;
	sec->nsites = k;
	sec->procs = procs;
	sec->nprocs = keep;
	sec->nprocs_total = nproc;
}

static double site_age(uint64_t oldest_ns, uint64_t now)
{
	return oldest_ns && now > oldest_ns ? (now - oldest_ns) / 1e9 : -1;
}

/*
 * Kept out of line: tests/integration/test_faults.py stops leaktrace here
 * with a breakpoint, between the site totals and the symbolization, to
 * kill the target at that moment.
 */
__attribute__((noinline)) void assemble__stacks(struct tracer *t, const struct tracker *tk,
						struct lt_section *sec)
{
	for (int i = 0; i < sec->nsites; i++) {
		if (tk->raw_stack)
			tracker_stack(t, tk, &sec->sites[i]);
		else
			assemble__stack(t, &sec->sites[i], sec->sites[i].before_start);
	}
}

/* Is a Go program among the targets (or may one be: -a)? */
static bool any_go(const struct tracer *t)
{
	for (int i = 0; i < t->ntg && !t->o->all; i++)
		if (t->tg[i]->go_bin)
			return true;
	return t->o->all;
}

/* Section K of the report. */
static int assemble_section(struct tracer *t, int k, struct lt_report *r, uint64_t now)
{
	struct tk_slot *slot = &t->tk[k];
	const struct lt_view *view = slot->tk->view;
	struct lt_section *sec = report__add_section(r, view);
	struct site_set ss = {};
	int n = 0, err;

	if (!sec)
		return -ENOMEM;
	err = collect__sites(t, k, &ss, true);
	if (err)
		lt_err("cannot read the %s records: %s\n", slot->tk->name, strerror(-err));
	err = section__alloc_sites(sec, ss.n);
	if (err) {
		site_set__free(&ss);
		return err;
	}
	for (int i = 0; i < ss.n; i++) {
		struct lt_site *s = &ss.s[i];
		struct target *tg;

		if (view->drop_empty && s->v[0] <= 0 && s->v[1] <= 0) {
			trend_tab__delta(slot->trend, &s->id, 0, true);
			continue;
		}
		tg = tracer__find(t, s->pid);
		if (tg)
			memcpy(s->comm, tg->comm, sizeof(s->comm));
		s->delta = trend_tab__delta(slot->trend, &s->id, s->v[0], true);
		s->trend = trend_tab__trend(slot->trend, &s->id);
		s->rate = trend_tab__slope(slot->trend, &s->id);	/* samples are 1 s apart */
		s->oldest_age_s = site_age(s->oldest_ns, now);
		for (int v = 0; v < LT_SITE_VALUES; v++)
			sec->tot[v] += s->v[v];
		sec->sites[n++] = *s;
	}
	site_set__free(&ss);
	sec->nsites = sec->nsites_total = n;
	sec->delta = sec->tot[0] - slot->last_total;
	slot->last_total = sec->tot[0];

	/* sort on the numbers first, then symbolize only what is shown */
	section__sort(sec, t->o->sort);
	if (t->o->all && slot->tk->by_process)
		top_processes(sec, t->o);
	else if (t->o->top && n > t->o->top)
		sec->nsites = t->o->top;
	assemble__stacks(t, slot->tk, sec);
	if (slot->tk->finish)
		slot->tk->finish(t, sec, r);
	return 0;
}

int tracer__report(struct tracer *t, struct lt_report *r, bool final)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t now = ktime_now_ns();

	memset(r, 0, sizeof(*r));
	r->number = ++t->reports;
	r->final = final;
	r->elapsed_s = t->start ? util__now() - t->start : 0;
	r->system_wide = t->o->all;
	clock_gettime(CLOCK_REALTIME, &r->wall);
	r->targets = calloc(t->ntg ? t->ntg : 1, sizeof(*r->targets));
	if (!r->targets)
		return -ENOMEM;
	for (int i = 0; i < t->ntg; i++) {
		r->targets[i].pid = t->tg[i]->pid;
		memcpy(r->targets[i].comm, t->tg[i]->comm, sizeof(r->targets[i].comm));
		r->targets[i].exited = t->tg[i]->exited;
	}
	r->ntargets = t->ntg;

	/* one image of each live target's maps for this report: new libraries, the trampoline */
	t->tick++;
	for (int i = 0; i < t->ntg; i++) {
		struct target *tg = t->tg[i];
		const struct proc_image *img = tg->syms && !tg->exited ? target__image(t, tg) : NULL;

		if (img)
			syms__update(tg->syms, img->maps);
	}
	for (int k = 0; k < t->ntk; k++) {
		int err = t->tk[k].tk->go_only && !any_go(t) ? 0 : assemble_section(t, k, r, now);

		if (err)
			return err;
	}
	for (int d = 0; d < LT_DROP__MAX; d++) {
		uint64_t vals[ncpu > 0 ? ncpu : 1];
		__u32 key = d;

		memset(vals, 0, sizeof(vals));
		if (bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.drops), &key, vals) == 0)
			for (int c = 0; c < ncpu; c++)
				r->drops[d] += vals[c];
	}
	r->drops[LT_DROP_SAMPLER_SET_FULL] += inject__set_full();
	return 0;
}
