// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The tracer: the BPF object loaded with the best release hook the kernel
 * takes, the trackers that are on, and teardown. Targets, -a, sampling and
 * reports are in targets.c, system.c, collect.c and assemble.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "kfeatures.h"
#include "gobin.h"
#include "goproc.h"
#include "log.h"
#include "syms.h"
#include "tracer_priv.h"
#include "trend.h"
#include "umulti.h"
#include "uwload.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && lt_verbose < 3)
		return 0;
	if ((level == LIBBPF_INFO || level == LIBBPF_WARN) && lt_verbose < 2)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/*
 * bench/fds.py: LEAKTRACE_FD_UPROBES=1 takes the fd and mmap stacks at
 * uprobes on the libc wrappers, as -a does, instead of walking them from
 * the syscalls' saved registers with the unwind tables.
 */
static bool fd_uprobes(void)
{
	const char *e = getenv("LEAKTRACE_FD_UPROBES");

	return e && strcmp(e, "1") == 0;
}

/* Do the fd and mmap syscalls' stacks use the unwind tables (every -p and -c target)? */
static bool sys_walks(const struct lt_opts *o)
{
	return !o->all && (o->track & LT_TRACK_SYS_WALKS) && !fd_uprobes();
}

/* The program serving a plan's probes of TRACKER (attach.h). */
static struct bpf_program *probe_prog(void *ctx, enum lt_tracker tracker, bool ret)
{
	struct tracer *t = ctx;

	for (int i = 0; i < t->ntk; i++)
		if (t->tk[i].tk->plan_tracker == (int)tracker && t->tk[i].tk->prog)
			return t->tk[i].tk->prog(t, ret);
	return NULL;
}

/* Open, configure and load the skeleton, with the release hook HOOK. */
static int load_skel(struct tracer *t, enum lt_release_hook hook)
{
	const struct lt_opts *o = t->o;
	int err;

	t->skel = leaktrace_bpf__open();
	if (!t->skel) {
		err = -errno;
		lt_err("failed to open the BPF object: %s\n", strerror(-err));
		return err;
	}
	t->hook = hook;
	t->skel->rodata->self_tgid = getpid();
	t->skel->rodata->filter_tgid = t->filter && !o->all;
	t->skel->rodata->has_excludes = o->exclude_comm != NULL;
	t->skel->rodata->trace_all = o->all;
	t->skel->rodata->release_hook = hook;
	t->skel->rodata->sample_rate = o->sample;
	t->skel->rodata->sample_seed = o->sample_seed_set ? o->sample_seed + 1 : 0;
	bpf_program__set_autoload(t->skel->progs.lt_alloc_session, t->session);
	if (t->session)
		bpf_program__set_expected_attach_type(t->skel->progs.lt_alloc_session, LT_BPF_TRACE_UPROBE_SESSION);
	for (int i = 0; i < lt_ntrackers; i++) {
		const struct tracker *tk = lt_trackers[i];

		/* a tracker that is off configures too: its programs must not load half-set */
		if (tk->configure)
			tk->configure(t);
		for (int ret = 0; t->multi && tk->prog && ret < 2; ret++)
			if (tk->prog(t, ret))
				bpf_program__set_expected_attach_type(tk->prog(t, ret), LT_BPF_TRACE_UPROBE_MULTI);
	}
	bpf_map__set_max_entries(t->skel->maps.stacks, o->max_stacks);
	uwload__size_maps(t->skel, o->all ? LT_STACKS_FP : o->stacks, sys_walks(o));
	err = leaktrace_bpf__load(t->skel);
	if (err) {
		leaktrace_bpf__destroy(t->skel);
		t->skel = NULL;
	}
	return err;
}

/* The functions the release hooks attach to, for the trackers that are on. */
static const char *hook_funcs(const struct tracer *t, char *buf, size_t len)
{
	bool timers = t->o->track & LT_TRACK_TIMERS, fds = t->o->track & LT_TRACK_FDS;

	snprintf(buf, len, "%s%s%s", timers ? "timerfd_release" : "", timers && fds ? " and " : "",
		 fds ? t->fd_release_fn : "");
	return buf;
}

static const char *hook_name(struct tracer *t, enum lt_release_hook h)
{
	char fn[64];

	if (h == LT_HOOK_TRACEPOINT)
		snprintf(t->hooks, sizeof(t->hooks), "tracepoints: sys_exit of close, close_range, dup2, dup3, and exec");
	else
		snprintf(t->hooks, sizeof(t->hooks), "%s on %s", h == LT_HOOK_FENTRY ? "fentry" : "kprobe",
			 hook_funcs(t, fn, sizeof(fn)));
	return t->hooks;
}

const char *tracer__hooks(const struct tracer *t)
{
	return t->hooks;
}

/*
 * Pick how releases are seen: fentry, then kprobe, then the syscall
 * tracepoints; or what --hooks forces, with one clear line when the kernel
 * cannot do it.
 */
static int load_with_hooks(struct tracer *t)
{
	const struct lt_opts *o = t->o;
	enum lt_hooks want = (o->track & (LT_TRACK_TIMERS | LT_TRACK_FDS)) ? o->hooks : LT_HOOKS_TRACEPOINT;
	char fn[64];
	int err;

	hook_funcs(t, fn, sizeof(fn));
	if (want == LT_HOOKS_FENTRY || want == LT_HOOKS_AUTO) {
		/* an empty fentry program on each hook function first: a refusal costs no load of everything */
		err = 0;
		if (o->track & LT_TRACK_TIMERS)
			err = kfeatures__fentry("timerfd_release");
		if (!err && (o->track & LT_TRACK_FDS))
			err = kfeatures__fentry(t->fd_release_fn);
		if (!err)
			err = load_skel(t, LT_HOOK_FENTRY);
		if (!err)
			return 0;
		if (want == LT_HOOKS_FENTRY) {
			lt_err("--hooks fentry: the kernel refused the fentry program on %s (%s)\n", fn,
			       strerror(-err));
			return err;
		}
		lt_info(1, "fentry on %s refused (%s); trying the next hook\n", fn, strerror(-err));
	}
	if (want == LT_HOOKS_KPROBE || (want == LT_HOOKS_AUTO && kfeatures__kprobes())) {
		if (!kfeatures__kprobes()) {
			lt_err("--hooks kprobe: this kernel has no kprobes (no kprobe PMU in /sys/bus/event_source/devices)\n");
			return -EOPNOTSUPP;
		}
		err = load_skel(t, LT_HOOK_KPROBE);
		if (!err)
			return 0;
		if (want == LT_HOOKS_KPROBE) {
			lt_err("--hooks kprobe: the kernel refused the kprobe program (%s)\n", strerror(-err));
			return err;
		}
	}
	return load_skel(t, LT_HOOK_TRACEPOINT);
}

struct tracer *tracer__new(const struct lt_opts *o)
{
	struct tracer *t;
	int err;

	libbpf_set_print(libbpf_print);
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->o = o;
	for (int i = 0; i < lt_ntrackers; i++) {
		struct tk_slot *s;

		if (!(o->track & lt_trackers[i]->track))
			continue;
		s = &t->tk[t->ntk++];
		s->tk = lt_trackers[i];
		s->trend = trend_tab__new();
		if (!s->trend) {
			err = -ENOMEM;
			goto out_free;
		}
	}
	if (!kfeatures__btf()) {
		lt_err("this kernel has no BTF (/sys/kernel/btf/vmlinux): CO-RE programs cannot load\n");
		err = -ENOENT;
		goto out_free;
	}
	t->multi = kfeatures__uprobe_multi();
	/* sampled: one session link, so that an unsampled call has no return trap */
	t->session = t->multi && o->sample && (o->track & LT_TRACK_MEM) && umulti__session_supported();
	if (o->sample)
		tracer__set_sampling(t, o->sample, "bpf");
	/*
	 * Every way an fd ends goes through one per-fd call: filp_close (close,
	 * close_range, dup2 onto it, exec's CLOEXEC, exit). Since about 6.8
	 * close(2) calls filp_flush directly, which filp_close calls too.
	 */
	t->fd_release_fn = kfeatures__btf_func("filp_flush") ? "filp_flush" : "filp_close";
	/*
	 * The fd and mmap tracepoints walk whole stacks themselves with the
	 * unwind tables (cheaper than a uprobe on the libc wrappers, most of
	 * which would be single-stepped: see README, "Performance"); -a has no
	 * tables, so there the wrappers' uprobes take the stacks.
	 */
	plan__set_stack_probes(o->all || fd_uprobes());
	/*
	 * pid-bound uprobes get slower with every pid on the same function
	 * (2.2 us at 1 pid, 12.7 us at 201): above a few, attach once for
	 * every pid and filter by tgid in BPF. --follow needs it too.
	 */
	t->filter = o->npids > LT_PID_BOUND_MAX || o->follow || o->all;
	if (t->filter)
		lt_info(1, "probes attached for every process, filtered by a tgid map in BPF\n");
	lt_info(1, "attaching with %s\n", t->multi ? "uprobe_multi links (one per file)" :
		"one perf-event uprobe link per probe");
	if (o->sample && (o->track & LT_TRACK_MEM))
		lt_info(1, "memory: sampling one allocation per %llu bytes on average%s\n",
			(unsigned long long)o->sample, t->session ?
			", as uprobe sessions (no return trap for an unsampled call)" :
			", with return probes (no uprobe sessions here)");
	err = load_with_hooks(t);
	if (err) {
		if (err == -EOPNOTSUPP || (o->track & (LT_TRACK_TIMERS | LT_TRACK_FDS) &&
					   o->hooks != LT_HOOKS_AUTO && o->hooks != LT_HOOKS_TRACEPOINT))
			; /* the hook's own line is printed */
		else if (err == -EPERM)
			lt_err("the kernel refused to load BPF programs (%s): run as root, or with CAP_BPF and CAP_PERFMON\n",
			       strerror(-err));
		else
			lt_err("failed to load the BPF programs: %s (-vvv shows the verifier log)\n",
			       strerror(-err));
		goto out_free;
	}
	hook_name(t, t->hook);
	if (o->track & (LT_TRACK_TIMERS | LT_TRACK_FDS))
		lt_info(1, "%s closes: %s\n", o->track & LT_TRACK_TIMERS ? "timerfd" : "fd", t->hooks);
	t->att = attach__new(t->multi, t->filter, probe_prog, t);
	if (!t->att) {
		err = -ENOMEM;
		goto out_free;
	}
	if (t->session)
		attach__set_session(t->att, LT_TRACKER_MEM, t->skel->progs.lt_alloc_session);
	if (!o->all && (o->stacks != LT_STACKS_FP || sys_walks(o))) {
		t->uw = uwload__new(t->skel, o->stacks, sys_walks(o));
		if (!t->uw) {
			err = -ENOMEM;
			goto out_free;
		}
	}
	return t;

out_free:
	tracer__free(t);
	errno = -err;
	return NULL;
}

void tracer__set_sampling(struct tracer *t, uint64_t rate, const char *source)
{
	t->sample_rate = rate;
	t->sample_source = rate ? source : NULL;
}

int tracer__nprobes(struct tracer *t)
{
	return t->nprobes;
}

void tracer__free(struct tracer *t)
{
	if (!t)
		return;
	/* links first: nothing fires into maps that go away */
	attach__free(t->att);
	/* the trackers' own state first: theirs of each target too */
	for (int i = 0; i < t->ntk; i++)
		if (t->tk[i].tk->free)
			t->tk[i].tk->free(t);
	plan__free(&t->sysplan);
	for (int i = 0; i < t->ntg; i++) {
		struct target *tg = t->tg[i];

		for (int j = 0; j < tg->nplans; j++)
			plan__free(&tg->plans[j]);
		free(tg->plans);
		syms__free(tg->syms);
		procimg__free(tg->img);
		goproc__free(tg->go);
		gobin__free(tg->go_bin);
		for (int k = 0; k < LT_TRACKERS_MAX; k++) {
			if (k < t->ntk && t->tk[k].tk->target_free)
				t->tk[k].tk->target_free(tg->priv[k]);
			else
				free(tg->priv[k]);
			site_set__free(&tg->last[k]);
		}
		free(tg);
	}
	free(t->tg);
	for (int i = 0; i < t->ntk; i++) {
		free(t->tk[i].priv);
		trend_tab__free(t->tk[i].trend);
	}
	uwload__free(t->uw);
	leaktrace_bpf__destroy(t->skel);
	u64_vec__free(&t->gc_stacks);
	free(t);
}
