// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --inject, the tracer's side: which of a plan's memory probes become
 * detours (the rest stay uprobes, sampled in BPF at the same rate), when
 * the sampler goes in (-p: at once; -c: at the program's entry point,
 * reached through a breakpoint set at its exec), the two uprobes on the
 * sampler's event functions, and the undo when tracing ends.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include "elfsym.h"
#include "inject.h"
#include "inject_tracer.h"
#include "log.h"
#include "procmaps.h"
#include "sampler_abi.h"
#include "sampler_blob.h"
#include "tracer_priv.h"

#define CODE_MAX 4096	/* bytes of a function read for its detour (its branches are scanned) */

struct inj_target {
	int pid;
	int plan_idx;		/* the target's plan the functions are from */
	int probe[LT_SMP_MAX_HOOKS];
	struct inject_fn fn[LT_SMP_MAX_HOOKS];
	int nfn;
	struct inject *in;
	uint64_t set_full;	/* the sampler's count, as last read */
	uint64_t entry;		/* -c: the breakpoint at the program's entry point */
	uint8_t entry_byte;
	bool armed;
};

static struct inj_target **targets;
static int ntargets;

static struct inj_target *find(int pid)
{
	for (int i = 0; i < ntargets; i++)
		if (targets[i]->pid == pid)
			return targets[i];
	return NULL;
}

/* The sampler's kind of a tracked function; LT_SMP_NONE: not detoured. */
static uint32_t kind_of(const struct lt_probe *pr, const struct lt_module *m)
{
	switch (pr->func) {
	case LT_FN_MALLOC: case LT_FN_VALLOC: case LT_FN_PVALLOC:
		return LT_SMP_MALLOC;
	case LT_FN_NEW:
		/* jemalloc's and tcmalloc's new call no hooked function: a plain allocation */
		return plan__is_libstdcxx(m) ? LT_SMP_NEW : LT_SMP_MALLOC;
	case LT_FN_CALLOC:
		return LT_SMP_CALLOC;
	case LT_FN_REALLOC:
		/* tcmalloc's realloc(NULL, n) allocates itself, glibc's jumps to malloc */
		return plan__is_glibc(m) ? LT_SMP_REALLOC_VIA_MALLOC : LT_SMP_REALLOC;
	case LT_FN_POSIX_MEMALIGN:
		return LT_SMP_POSIX_MEMALIGN;
	case LT_FN_ALIGNED_ALLOC:
		return LT_SMP_ALIGNED;
	case LT_FN_FREE: case LT_FN_DELETE:
		return LT_SMP_FREE;
	default:
		return LT_SMP_NONE;
	}
}

/* FN's bytes from its file (the whole function when its size is known). */
static int read_code(const struct lt_module *m, const struct lt_probe *pr, struct inject_fn *fn)
{
	struct elf_sym syms[4];
	size_t len = 256;
	uint8_t *buf;
	ssize_t n;
	int fd, ns;

	if (m->ef && (ns = elf_file__find_func(m->ef, pr->sym, syms, 4)) > 0)
		for (int i = 0; i < ns; i++)
			if (syms[i].vaddr == pr->vaddr && syms[i].size)
				len = syms[i].size;
	if (len > CODE_MAX)
		len = CODE_MAX;
	if (len < 32)
		len = 32;
	fd = open(m->open_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(len);
	n = buf ? pread(fd, buf, len, (off_t)pr->file_off) : -1;
	close(fd);
	if (n < 16) {
		free(buf);
		return -EIO;
	}
	fn->code = buf;
	fn->len = (size_t)n;
	return 0;
}

/*
 * The functions of PLAN to detour, into IT. MARK: take them (and what the
 * detours see anyway) out of the uprobes to attach. Returns how many.
 */
static int collect(struct inj_target *it, struct lt_plan *plan, bool mark)
{
	int n = 0;

	for (int i = 0; i < plan->nprobes; i++) {
		struct lt_probe *pr = &plan->probes[i];
		const struct lt_module *m = &plan->mods[pr->mod];
		uint32_t kind = kind_of(pr, m);
		struct inject_fn *fn;

		if (pr->tracker != LT_TRACKER_MEM || pr->attached)
			continue;
		if (pr->func == LT_FN_START) {
			pr->attached |= mark;	/* the sampler goes in at the entry point: nothing is before it */
			continue;
		}
		/*
		 * libstdc++'s operator delete calls free: the detour there sees it.
		 * operator new is detoured itself (the stack is walked from its
		 * caller; the malloc it calls passes, see LT_SMP_NEW).
		 */
		if (pr->func == LT_FN_DELETE && plan__is_libstdcxx(m)) {
			pr->attached |= mark;
			continue;
		}
		if (kind == LT_SMP_NONE || it->nfn >= LT_SMP_MAX_HOOKS || it->in)
			continue;	/* a uprobe, sampled in BPF */
		fn = &it->fn[it->nfn];
		memset(fn, 0, sizeof(*fn));
		if (read_code(m, pr, fn))
			continue;
		fn->sym = pr->sym;
		fn->kind = kind;
		it->probe[it->nfn++] = i;
		pr->attached |= mark;	/* deferred: the detour, or a uprobe once the inject says so */
		n++;
	}
	return n;
}

int inject__defer(struct tracer *t, int pid, struct lt_plan *plan, int plan_idx)
{
	struct inj_target *it = find(pid), **n;
	int deferred;

	if (!t->o->inject)
		return 0;
	if (!it) {
		it = calloc(1, sizeof(*it));
		n = realloc(targets, (ntargets + 1) * sizeof(*n));
		if (!it || !n) {
			free(it);
			return -ENOMEM;
		}
		targets = n;
		targets[ntargets++] = it;
		it->pid = pid;
		it->plan_idx = -1;
	}
	deferred = collect(it, plan, true);
	if (deferred)
		it->plan_idx = plan_idx;
	return deferred;
}

/* The library ranges and entries of IT's functions, from PID's maps now. */
static int resolve(struct lt_plan *plan, struct inj_target *it)
{
	struct proc_maps *maps = procmaps__read(it->pid);

	if (!maps)
		return -errno;
	plan__resolve_addrs(plan, maps);
	for (int k = 0; k < it->nfn; k++) {
		struct lt_probe *pr = &plan->probes[it->probe[k]];
		const struct lt_module *m = &plan->mods[pr->mod];
		struct inject_fn *fn = &it->fn[k];

		fn->entry = pr->addr ? pr->addr - pr->choice.off[pr->cur] : 0;
		fn->lib_lo = UINT64_MAX;
		fn->lib_hi = 0;
		for (int j = 0; j < maps->n; j++) {
			const struct map_entry *e = &maps->e[j];

			if (e->inode != m->inode || (m->inode == 0 && strcmp(e->path, m->path)))
				continue;
			if (e->start < fn->lib_lo)
				fn->lib_lo = e->start;
			if (e->end > fn->lib_hi)
				fn->lib_hi = e->end;
		}
	}
	procmaps__free(maps);
	return 0;
}

/* Put the sampler in (HELD: the thread the caller holds stopped, or 0). Its uprobes, or -1 (printed). */
static int do_inject(struct tracer *t, struct inj_target *it, int held)
{
	struct target *tg = tracer__find(t, it->pid);
	struct inject_opts io = { .rate = t->o->sample, .held_tid = held };
	struct lt_plan *plan;
	struct inject_fn fns[LT_SMP_MAX_HOOKS];
	int idx[LT_SMP_MAX_HOOKS], n = 0, err;
	const char *path;

	if (!tg || it->plan_idx < 0 || it->plan_idx >= tg->nplans)
		return 0;
	plan = &tg->plans[it->plan_idx];
	if ((err = resolve(plan, it))) {
		lt_err("--inject: pid %d: cannot read its maps: %s\n", it->pid, strerror(-err));
		return -1;
	}
	for (int k = 0; k < it->nfn; k++)
		if (it->fn[k].entry && it->fn[k].lib_hi) {
			fns[n] = it->fn[k];
			idx[n++] = k;
		}
	if (n == 0) {
		lt_warn("--inject: pid %d: no allocator function to detour; uprobes trace it\n", it->pid);
		for (int k = 0; k < it->nfn; k++) {
			plan->probes[it->probe[k]].attached = false;
			if (attach__probe(t->att, it->pid, plan, it->probe[k]) == 0)
				t->nprobes++;
		}
		return 0;
	}
	io.seed = t->o->sample_seed_set ? t->o->sample_seed : ((uint64_t)rand() << 32 ^ (uint64_t)rand() ^ getpid());
	/*
	 * LEAKTRACE_INJECT_CYCLES=N (tests only): N - 1 inject/undo cycles
	 * first, each undo checked, as N runs of leaktrace would make them.
	 */
	for (long c = getenv("LEAKTRACE_INJECT_CYCLES") ? atol(getenv("LEAKTRACE_INJECT_CYCLES")) : 1; c > 1; c--) {
		struct inject *in = inject__start(it->pid, fns, n, &io);

		if (!in || inject__undo(in)) {
			inject__free(in);
			return -1;
		}
		inject__free(in);
	}
	it->in = inject__start(it->pid, fns, n, &io);
	if (!it->in)
		return -1;
	for (int k = 0; k < n; k++) {
		it->fn[idx[k]] = fns[k];
		if (fns[k].injected)
			continue;
		/* a uprobe instead (its reason was printed) */
		plan->probes[it->probe[idx[k]]].attached = false;
		if (attach__probe(t->att, it->pid, plan, it->probe[idx[k]]) == 0)
			t->nprobes++;
	}
	path = inject__path(it->in);
	if (attach__uprobe(t->att, t->skel->progs.lt_smp_alloc, path, LT_SMP_OFF_EVENT_ALLOC, it->pid, 0,
			   "the sampler's allocation event") ||
	    attach__uprobe(t->att, t->skel->progs.lt_smp_free, path, LT_SMP_OFF_EVENT_FREE, it->pid, 0,
			   "the sampler's free event"))
		return -1;
	t->nprobes += 2;
	tracer__set_sampling(t, t->o->sample, "in-process");
	return 2;
}

/* Does PID map a sampler file (an earlier --inject's)? */
static bool has_sampler(int pid)
{
	struct proc_maps *m = procmaps__read(pid);
	bool has = false;

	for (int i = 0; m && i < m->n && !has; i++)
		has = strncmp(m->e[i].path, "/run/leaktrace/sampler-", 23) == 0;
	procmaps__free(m);
	return has;
}

static int mem_rw(int pid, uint64_t addr, void *buf, size_t len, bool write)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write ? pwrite(fd, buf, len, (off_t)addr) : pread(fd, buf, len, (off_t)addr);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

/* Does a function of IT (entries resolved) start with other bytes than its file's? */
static bool any_changed(const struct inj_target *it)
{
	for (int k = 0; k < it->nfn; k++) {
		const struct inject_fn *fn = &it->fn[k];
		uint8_t live[8];

		if (fn->entry && fn->len >= sizeof(live) &&
		    mem_rw(it->pid, fn->entry, live, sizeof(live), false) == 0 && memcmp(live, fn->code, sizeof(live)))
			return true;
	}
	return false;
}

int inject__clear_stale(struct tracer *t, int pid, struct lt_plan *plan)
{
	struct inj_target it = { .pid = pid };
	struct inject_opts io = { .rate = 524288 };
	struct inject_fn fns[LT_SMP_MAX_HOOKS];
	struct inject *in;
	int n = 0, err;

	(void)t;
	if (!has_sampler(pid) || collect(&it, plan, false) == 0)
		return 0;
	if ((err = resolve(plan, &it)))
		goto out;
	if (!any_changed(&it))
		goto out;	/* undone already (the sampler stays mapped, inert) */
	for (int k = 0; k < it.nfn; k++)
		if (it.fn[k].entry && it.fn[k].lib_hi)
			fns[n++] = it.fn[k];
	/* what is ours is taken over (inject.c) and undone at once, byte for byte */
	in = n ? inject__start(pid, fns, n, &io) : NULL;
	err = in ? inject__undo(in) : -EIO;
	inject__free(in);
	if (!err)
		lt_info(0, "pid %d had the sampler of an earlier leaktrace --inject: its detours are undone before the uprobes go in\n",
			pid);
out:
	if (err)
		lt_warn("pid %d: the detours of an earlier leaktrace --inject could not be undone; uprobes on them may crash it\n",
			pid);
	for (int k = 0; k < it.nfn; k++)
		free((void *)it.fn[k].code);
	return err;
}

void inject__clear_stale_all(struct tracer *t)
{
	DIR *proc = opendir("/proc");
	struct dirent *d;

	while (proc && (d = readdir(proc))) {
		int pid = atoi(d->d_name);
		struct lt_plan plan;

		if (pid <= 0 || pid == getpid() || !has_sampler(pid))
			continue;
		/* the process's own maps: a preloaded allocator is in them */
		if (plan__live(pid, t->o->allocator, t->o->track, &plan) == 0)
			inject__clear_stale(t, pid, &plan);
		plan__free(&plan);
	}
	if (proc)
		closedir(proc);
}

int inject__now(struct tracer *t, int pid)
{
	struct inj_target *it = find(pid);

	if (!it || it->in || it->nfn == 0)
		return 0;
	return do_inject(t, it, 0);
}

/* The program's entry point, from its auxiliary vector. 0: unknown. */
static uint64_t at_entry(int pid)
{
	char path[64];
	Elf64_auxv_t av;
	uint64_t entry = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while (read(fd, &av, sizeof(av)) == (ssize_t)sizeof(av) && av.a_type != AT_NULL)
		if (av.a_type == AT_ENTRY)
			entry = av.a_un.a_val;
	close(fd);
	return entry;
}

int inject__arm(struct tracer *t, int pid)
{
	struct inj_target *it = find(pid);
	uint8_t cc = 0xcc;

	(void)t;
	if (!it || it->in || it->nfn == 0 || it->armed)
		return 0;
	it->entry = at_entry(pid);
	if (!it->entry || mem_rw(pid, it->entry, &it->entry_byte, 1, false) ||
	    mem_rw(pid, it->entry, &cc, 1, true)) {
		lt_err("--inject: pid %d: cannot set a breakpoint at its entry point\n", pid);
		return -EIO;
	}
	it->armed = true;
	return 0;
}

bool inject__trap(struct tracer *t, int pid)
{
	struct inj_target *it = find(pid);
	struct user_regs_struct r;

	if (!it || !it->armed)
		return false;
	if (ptrace(PTRACE_GETREGS, pid, NULL, &r) || r.rip != it->entry + 1)
		return false;
	it->armed = false;
	r.rip = it->entry;
	if (mem_rw(pid, it->entry, &it->entry_byte, 1, true) || ptrace(PTRACE_SETREGS, pid, NULL, &r)) {
		lt_err("--inject: pid %d: cannot take back the breakpoint at its entry point\n", pid);
		return true;
	}
	lt_info(1, "--inject: pid %d reached its entry point\n", pid);
	if (do_inject(t, it, pid) < 0)
		lt_err("--inject: pid %d runs without the sampler: its allocations are not traced\n", pid);
	return true;
}

uint64_t inject__set_full(void)
{
	uint64_t sum = 0;

	for (int i = 0; i < ntargets; i++) {
		struct inj_target *it = targets[i];
		uint64_t sampled, full, tfull;

		if (it->in && inject__counters(it->in, &sampled, &full, &tfull))
			it->set_full = full;
		sum += it->set_full;
	}
	return sum;
}

void inject__undo_all(void)
{
	for (int i = 0; i < ntargets; i++) {
		struct inj_target *it = targets[i];

		if (it->in) {
			uint64_t sampled, full, tfull;

			if (inject__counters(it->in, &sampled, &full, &tfull)) {
				lt_info(1, "--inject: pid %d: %llu calls sampled in the target\n", it->pid,
					(unsigned long long)sampled);
				if (full)
					lt_warn("--inject: pid %d: %llu sampled blocks were not recorded: the sampler's set was full\n",
						it->pid, (unsigned long long)full);
			}
		}
		inject__free(it->in);
		for (int k = 0; k < it->nfn; k++)
			free((void *)it->fn[k].code);
		free(it);
	}
	free(targets);
	targets = NULL;
	ntargets = 0;
}
