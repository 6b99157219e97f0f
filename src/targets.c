// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The life of each target: attach its plan, watch it (symbols, unwind
 * tables, what existed before), follow its exec and --follow its forks,
 * notice its end. One image of its maps per tick (procimg.h) feeds all of
 * them.
 */
#include <errno.h>
#include <limits.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "elfsym.h"
#include "gobin.h"
#include "probeoff.h"
#include "goproc.h"
#include "log.h"
#include "syms.h"
#include "inject_tracer.h"
#include "tracer_priv.h"
#include "util.h"
#include "uwload.h"

struct target *tracer__find(struct tracer *t, int pid)
{
	for (int i = 0; i < t->ntg; i++)
		if (t->tg[i]->pid == pid)
			return t->tg[i];
	return NULL;
}

struct target *tracer__add(struct tracer *t, int pid)
{
	struct target *tg = tracer__find(t, pid), **n;

	if (tg)
		return tg;
	tg = calloc(1, sizeof(*tg));
	n = tg ? realloc(t->tg, (t->ntg + 1) * sizeof(*n)) : NULL;
	if (!n) {
		free(tg);
		return NULL;
	}
	t->tg = n;
	t->tg[t->ntg++] = tg;
	tg->pid = pid;
	util__comm(pid, tg->comm, sizeof(tg->comm));
	return tg;
}

bool target__alive(const struct target *tg)
{
	return !tg->exited && util__pid_alive(tg->pid);
}

const struct proc_image *target__image(struct tracer *t, struct target *tg)
{
	struct proc_image *img;

	if (tg->img && tg->img->tick == t->tick)
		return tg->img->zombie ? NULL : tg->img;
	if (tg->exited)
		return NULL;
	img = procimg__read(tg->pid, t->tick);
	if (!img)
		return NULL;
	procimg__free(tg->img);
	tg->img = img;
	return img->zombie ? NULL : img;
}

/* A fresh image: the maps changed (an attach, an exec, a stop for the unwinder). */
static const struct proc_image *fresh_image(struct tracer *t, struct target *tg)
{
	t->tick++;
	return target__image(t, tg);
}

static int add_tgid(struct tracer *t, int pid)
{
	__u32 k = pid;
	__u8 one = 1;

	if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.targets), &k, &one, BPF_ANY)) {
		int err = -errno;

		lt_err("cannot add pid %d to the tgid map: %s\n", pid, strerror(-err));
		return err;
	}
	return 0;
}

/* A uretprobe on operator new breaks C++ exceptions thrown through it: say so once. */
static void warn_new_retprobe(const struct lt_plan *plan)
{
	for (int i = 0; i < plan->nprobes; i++) {
		const struct lt_probe *pr = &plan->probes[i];

		if (pr->func == LT_FN_NEW && pr->ret && pr->attached) {
			lt_warn("operator new in %s calls no tracked function, so it has a return probe on operator new; a std::bad_alloc thrown by it while traced cannot be caught (the program terminates)\n",
				plan->mods[pr->mod].path);
			return;
		}
	}
}

/* Attach PROGS once; *DONE remembers it. */
static int attach_once(struct tracer *t, bool *done, struct bpf_program *prog)
{
	if (*done)
		return 0;
	*done = true;
	return attach__prog(t->att, prog);
}

int tracer__attach_trackers(struct tracer *t, const struct lt_plan *plan)
{
	int err;

	if (t->o->follow && (err = attach_once(t, &t->follow_tp, t->skel->progs.lt_follow_fork)))
		return err;
	if ((err = attach_once(t, &t->exec_tp, t->skel->progs.lt_proc_exec)))
		return err;
	for (int k = 0; k < t->ntk; k++) {
		const struct tracker *tk = t->tk[k].tk;
		bool used = false;

		used = tk->needs_no_probes;
		for (int i = 0; i < plan->nprobes && !used; i++)
			used = plan->probes[i].attached && (int)plan->probes[i].tracker == tk->plan_tracker;
		if (!used || t->tk[k].attached || !tk->attach)
			continue;
		t->tk[k].attached = true;
		err = tk->attach(t);
		if (err)
			return err;
	}
	return 0;
}

/* Keep PLAN as one of TG's plans (it owns the plan's memory now). */
static int keep_plan(struct target *tg, struct lt_plan *plan)
{
	struct lt_plan *n = realloc(tg->plans, (tg->nplans + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	tg->plans = n;
	/* the ELF files were for planning; with many targets they add up */
	plan__release_files(plan);
	tg->plans[tg->nplans++] = *plan;
	memset(plan, 0, sizeof(*plan));
	return 0;
}

/* Probes of PLAN that one of TG's plans has already are in: mark them so. Returns how many. */
static int mark_known(const struct target *tg, struct lt_plan *plan)
{
	int n = 0;

	for (int i = 0; i < plan->nprobes; i++) {
		struct lt_probe *pr = &plan->probes[i];

		for (int j = 0; j < tg->nplans && !pr->attached; j++) {
			const struct lt_probe *o = plan__find_same(&tg->plans[j], plan, pr);

			if (o && o->attached) {
				pr->attached = pr->shared = true;
				n++;
			}
		}
	}
	return n;
}

int tracer__attach(struct tracer *t, int pid, struct lt_plan *plan)
{
	struct target *tg = tracer__add(t, pid);
	int n, err;

	if (!tg)
		return -ENOMEM;
	/* Tables before probes, so that the first stacks are walked with them (-c: after the exec). */
	if (!t->o->command)
		uwload__sync(t->uw, fresh_image(t, tg));
	/* every target: the syscall tracepoints of fds and --mmap look it up there too */
	if (!t->o->all && (err = add_tgid(t, pid)))
		return err;
	mark_known(tg, plan);
	if (!t->o->inject && !t->o->command)
		inject__clear_stale(t, pid, plan);
	if ((err = inject__defer(t, pid, plan, tg->nplans)) < 0)
		return err;
	n = attach__plan(t->att, pid, plan, false);
	if (n < 0)
		return n;
	if (!t->o->inject)
		warn_new_retprobe(plan);	/* --inject: operator new is detoured, no return probe */
	err = tracer__attach_trackers(t, plan);
	if (err)
		return err;
	if (plan->missing[0])
		lt_info(1, "pid %d: no definition of %s; those calls are not tracked\n", pid, plan->missing);
	err = keep_plan(tg, plan);
	if (err)
		return err;
	t->nprobes += n;
	/* -p --inject: the sampler goes in now (-c: at the program's entry point, inject__arm) */
	if (!t->o->command) {
		int k = inject__now(t, pid);

		if (k < 0)
			return -EIO;
		n += k;
	}
	return n;
}

/* A new image of TG: is it a Go program? Its runtime is read later (target__go). */
static void image_go(struct tracer *t, struct target *tg)
{
	char path[64];

	goproc__free(tg->go);
	gobin__free(tg->go_bin);
	tg->go = NULL;
	tg->go_bin = NULL;
	tg->go_failed = false;
	if (!(t->o->track & (LT_TRACK_GOROUTINES | LT_TRACK_TIMERS | LT_TRACK_GOHEAP | LT_TRACK_MMAP)))
		return;
	snprintf(path, sizeof(path), "/proc/%d/exe", tg->pid);
	tg->go_bin = gobin__open(path);
	tg->go_since = util__now();
}

int target__go_probe(struct tracer *t, struct target *tg, const char *fn, struct bpf_program *prog,
		     uint64_t cookie)
{
	uint64_t entry, end, off;
	struct probe_choice pc;
	struct elf_file *ef;
	uint8_t code[64];
	char path[64];
	size_t n;
	int err = -ENOENT;

	if (!tg->go_bin || gobin__func_lookup(tg->go_bin, fn, &entry, &end)) {
		lt_info(1, "pid %d: no %s in its Go program\n", tg->pid, fn);
		return -ENOENT;
	}
	n = end - entry < sizeof(code) ? end - entry : sizeof(code);
	snprintf(path, sizeof(path), "/proc/%d/exe", tg->pid);
	ef = elf_file__open(path);
	if (!gobin__read(tg->go_bin, entry, code, n) && !probe_choose(code, n, &pc) && ef &&
	    !elf_file__vaddr_to_off(ef, entry, &off))
		err = attach__uprobe(t->att, prog, path, off + pc.off[0], tg->pid, cookie, fn);
	elf_file__free(ef);
	if (!err)
		t->nprobes++;
	return err;
}

#define GO_START_S	5.0	/* how long a new Go image may take to start its runtime */

struct goproc *target__go(struct tracer *t, struct target *tg)
{
	char err[256] = "";

	(void)t;
	if (tg->go || !tg->go_bin || tg->go_failed || tg->exited)
		return tg->go;
	tg->go = goproc__open(tg->pid, err, sizeof(err));
	if (tg->go) {
		lt_info(1, "pid %d (%s): %s, goroutines and Go timers read from its runtime\n", tg->pid,
			tg->comm, gobin__version(tg->go_bin));
	} else if (errno == ESRCH || util__now() - tg->go_since > GO_START_S) {
		/* (a -c command stopped at its exec has no runtime yet: retried quietly until then) */
		if (errno != ESRCH)
			lt_warn("pid %d (%s): %s; its goroutines and Go timers are not shown\n", tg->pid,
				tg->comm, err[0] ? err : strerror(errno));
		tg->go_failed = true;
	}
	return tg->go;
}

int tracer__watch(struct tracer *t, int pid)
{
	struct target *tg = tracer__add(t, pid);
	const struct proc_image *img;

	if (!tg)
		return -ENOMEM;
	img = fresh_image(t, tg);
	if (!img)
		return -ESRCH;
	uwload__sync(t->uw, img);
	util__comm(pid, tg->comm, sizeof(tg->comm));
	if (!t->start)
		t->start = util__now();
	if (tg->syms)
		return syms__update(tg->syms, img->maps);
	tg->syms = syms__new_maps(pid, img->maps);
	if (!tg->syms)
		return -errno;
	image_go(t, tg);
	for (int k = 0; k < t->ntk; k++)
		if (t->tk[k].tk->watch)
			t->tk[k].tk->watch(t, tg);
	return 0;
}

/* The time of TG's last exec, from the exec tracepoint (0: none seen). */
static uint64_t exec_time(struct tracer *t, struct target *tg)
{
	__u32 k = tg->pid;
	__u64 ns = 0;

	bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.execs), &k, &ns);
	return ns;
}

/* TG runs a new image since EXEC_NS: the old one's records and symbols go. */
static void new_image(struct tracer *t, struct target *tg, uint64_t exec_ns)
{
	bool had_image = tg->syms != NULL;

	tg->exec_ns = exec_ns;
	for (int j = 0; had_image && j < t->ntk; j++)
		if (t->tk[j].tk->exec)
			t->tk[j].tk->exec(t, tg, exec_ns);
	util__comm(tg->pid, tg->comm, sizeof(tg->comm));
	/* a new image: symbols from scratch (the old modules may be gone) */
	syms__free(tg->syms);
	tg->syms = NULL;
	if (had_image)
		lt_info(1, "pid %d exec'ed %s: its earlier records went with the old image\n", tg->pid, tg->comm);
}

int tracer__exec_stop(struct tracer *t, int pid)
{
	struct target *tg = tracer__add(t, pid);
	char link[64], exe[PATH_MAX];
	struct lt_plan plan;
	ssize_t len;
	int n = 0, err;

	if (!tg)
		return -ENOMEM;
	new_image(t, tg, exec_time(t, tg));
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	len = readlink(link, exe, sizeof(exe) - 1);
	if (len > 0) {
		exe[len] = 0;
		err = plan__predict(exe, pid, t->o->allocator, t->o->track, &plan);
		if (err == -ENOENT && plan.no_malloc)
			err = 0;	/* threads, timers, a Go program's goroutines */
		n = err ? 0 : tracer__attach(t, pid, &plan);
		plan__free(&plan);
		if (n > 0)
			lt_info(1, "pid %d exec'ed %s: %d probes for it\n", pid, exe, n);
	}
	tracer__watch(t, pid);
	uwload__arm_stop(t->uw, pid);
	inject__arm(t, pid);
	return n < 0 ? n : 0;
}

bool tracer__unwind_stop(struct tracer *t, int pid)
{
	struct target *tg = tracer__find(t, pid);

	if (!uwload__take_stop(t->uw, pid))
		return false;
	if (tg)
		uwload__sync(t->uw, fresh_image(t, tg));
	return true;
}

void tracer__verify_plan(struct tracer *t, int pid)
{
	struct target *tg = tracer__find(t, pid);
	const struct proc_image *img;
	struct lt_plan live;

	if (!tg || plan__live(pid, t->o->allocator, t->o->track, &live)) {
		plan__free(&live);
		return;
	}
	mark_known(tg, &live);
	for (int i = 0; i < live.nprobes; i++) {
		struct lt_probe *pr = &live.probes[i];

		if (pr->attached)
			continue;
		lt_err("pid %d takes %s from %s, not from the predicted file; probing it now (earlier calls were missed)\n",
		       pid, pr->sym, live.mods[pr->mod].path);
		if (attach__probe(t->att, pid, &live, i) == 0)
			t->nprobes++;
	}
	img = fresh_image(t, tg);
	for (int j = 0; img && j < tg->nplans; j++)
		plan__resolve_addrs(&tg->plans[j], img->maps);
	if (keep_plan(tg, &live))
		plan__free(&live);
}

/* TG is gone: its pid may come back as another process, which no syscall tracepoint may take for it. */
static void target_gone(struct tracer *t, struct target *tg)
{
	__u32 k = tg->pid;

	tg->exited = true;
	uwload__forget(t->uw, tg->pid);
	if (!t->o->all)
		bpf_map_delete_elem(bpf_map__fd(t->skel->maps.targets), &k);
}

void tracer__target_exited(struct tracer *t, int pid)
{
	struct target *tg = tracer__find(t, pid);

	if (tg)
		target_gone(t, tg);
	else
		uwload__forget(t->uw, pid);
}

/* --follow: processes the fork tracepoint added to the tgid map become targets. */
static void discover_children(struct tracer *t)
{
	int fd = bpf_map__fd(t->skel->maps.targets);
	__u32 key, next;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (tracer__find(t, next))
			continue;
		if (!util__pid_alive(next)) {
			bpf_map_delete_elem(fd, &next);
			prev = NULL;	/* restart: the key we stood on is gone */
			continue;
		}
		if (tracer__watch(t, next) == 0)
			lt_info(1, "following pid %u (%s)\n", next, tracer__find(t, next)->comm);
	}
}

/*
 * A target exec'ed: its old image's records are gone with it (no release
 * will come for them), and its symbols are a new image's.
 */
void tracer__handle_execs(struct tracer *t)
{
	for (int i = 0; i < t->ntg; i++) {
		struct target *tg = t->tg[i];
		const struct proc_image *img;
		uint64_t ns;

		if (tg->exited || (ns = exec_time(t, tg)) <= tg->exec_ns)
			continue;
		if (!tg->exec_ns && tg->syms == NULL) {
			/* -c: the command's own exec, before anything was symbolized */
			tg->exec_ns = ns;
			continue;
		}
		new_image(t, tg, ns);
		img = fresh_image(t, tg);
		if (img) {
			tg->syms = syms__new_maps(tg->pid, img->maps);
			uwload__sync(t->uw, img);
			image_go(t, tg);
			for (int j = 0; j < t->ntk; j++)
				if (t->tk[j].tk->watch)
					t->tk[j].tk->watch(t, tg);
		}
	}
}

int tracer__alive(struct tracer *t)
{
	int n = 0, pids[64], nmiss;

	if (t->o->follow)
		discover_children(t);
	tracer__handle_execs(t);
	nmiss = uwload__missed(t->uw, pids, 64);
	for (int i = 0; i < nmiss; i++) {
		struct target *tg = tracer__find(t, pids[i]);

		if (tg)
			uwload__sync(t->uw, fresh_image(t, tg));
	}
	for (int i = 0; i < t->ntg; i++) {
		struct target *tg = t->tg[i];

		if (tg->exited)
			continue;
		if (util__pid_alive(tg->pid))
			n++;
		else
			target_gone(t, tg);
	}
	return n;
}
