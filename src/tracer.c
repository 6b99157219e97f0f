// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "leaktrace.skel.h"
#include "elfsym.h"
#include "procmaps.h"
#include "syms.h"
#include "tracer.h"
#include "trend.h"
#include "umulti.h"
#include "util.h"
#include "uwload.h"

struct target {
	int pid;
	char comm[16];
	bool exited;
	struct syms *syms;
	struct lt_plan plan;
	struct lt_plan extra;	/* -c: probes added after the exec showed another definer */
	/* threads: the latest per-site counts, kept when the process is gone */
	struct tagg *tsites;
	int ntsites;
	int threads_total_live;
	int threads_preexisting;
	uint64_t default_stack;	/* RLIMIT_STACK: glibc's default thread stack size */
	bool threads_scanned;
	/* timers: the same, per site */
	struct magg *msites;
	int nmsites;
	int timer_mismatch;	/* tracked timerfds /proc disagreed with at the last check */
	bool gc_done;		/* -a: its records are deleted */
	uint64_t xol_start, xol_end;	/* its [uprobes] mapping (uretprobe trampoline), 0 if none */
	uint64_t exec_ns;	/* its last exec whose old records are dropped */
};

struct magg {
	struct lt_site_key key;
	uint32_t kind;
	int open, periodic;
	uint64_t interval_ns;
	int64_t ticks;		/* -1: unknown */
	uint64_t oldest_ns;
};

struct tagg {
	struct lt_site_key key;
	int live, exited;
	uint64_t oldest_ns;
	uint64_t start_routine;
	uint64_t stack_bytes;
};

struct tracer {
	const struct lt_opts *o;
	struct leaktrace_bpf *skel;
	struct target *tg;
	int ntg;
	struct trend_tab *trend;
	uint64_t seq;
	double start;
	int reports;
	int64_t last_total;
	int nprobes;
	bool multi;		/* uprobe_multi links */
	struct bpf_link *tp_links[32];	/* tracepoints of the thread and timer trackers */
	int ntp_links;
	bool thread_tps, timer_tps, follow_tp, exec_tp;
	struct trend_tab *ttrend;	/* thread sites */
	uint64_t tseq;
	struct trend_tab *mtrend;	/* timer sites */
	uint64_t mseq;
	enum lt_release_hook hook;	/* how timerfd closes are seen */
	bool filter;		/* probes attached for every pid; BPF checks the targets map */
	struct shared_probe {	/* filter mode: what is attached already, once per file */
		uint64_t dev, inode, off;
		int tracker;
	} *shared;
	int nshared;
	struct lt_plan sysplan;	/* -a: every allocator file in use */
	uint64_t *gc_stacks;	/* stacks unreferenced at the last GC: deleted if still so */
	int ngc_stacks;
	int64_t scan_count;	/* allocations seen by the last scan */
	uint64_t timer_mismatch;	/* tracked timerfds that /proc disagrees with */
	struct uwload *uw;	/* --stacks auto|dwarf: the unwind tables */
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && lt_verbose < 3)
		return 0;
	if (level == LIBBPF_INFO && lt_verbose < 2)
		return 0;
	if (level == LIBBPF_WARN && lt_verbose < 2)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* Open, configure and load the skeleton, with the timerfd release hook HOOK. */
static int load_skel(struct tracer *t, enum lt_release_hook hook)
{
	const struct lt_opts *o = t->o;
	int err;

	t->skel = leaktrace_bpf__open();
	if (!t->skel) {
		err = -errno;
		fprintf(stderr, "leaktrace: failed to open the BPF object: %s\n", strerror(-err));
		return err;
	}
	t->skel->rodata->self_tgid = getpid();
	t->skel->rodata->release_hook = hook;
	t->skel->rodata->filter_tgid = t->filter && !o->all;
	t->skel->rodata->has_excludes = o->exclude_comm != NULL;
	bpf_program__set_autoload(t->skel->progs.lt_timerfd_release_fentry, hook == LT_HOOK_FENTRY);
	bpf_program__set_autoload(t->skel->progs.lt_timerfd_release_kprobe, hook == LT_HOOK_KPROBE);
	if (t->multi) {
		struct bpf_program *up[] = {
			t->skel->progs.lt_alloc_entry, t->skel->progs.lt_alloc_return,
			t->skel->progs.lt_thread_entry, t->skel->progs.lt_thread_return,
			t->skel->progs.lt_timer_entry,
		};

		for (size_t i = 0; i < sizeof(up) / sizeof(up[0]); i++)
			bpf_program__set_expected_attach_type(up[i], LT_BPF_TRACE_UPROBE_MULTI);
	}
	bpf_map__set_max_entries(t->skel->maps.allocs, o->max_allocs);
	bpf_map__set_max_entries(t->skel->maps.stacks, o->max_stacks);
	uwload__size_maps(t->skel, o->all ? LT_STACKS_FP : o->stacks);
	err = leaktrace_bpf__load(t->skel);
	if (err) {
		leaktrace_bpf__destroy(t->skel);
		t->skel = NULL;
	}
	return err;
}

static bool kprobes_available(void)
{
	return access("/sys/bus/event_source/devices/kprobe/type", R_OK) == 0;
}

static const char *hook_name(enum lt_release_hook h)
{
	return h == LT_HOOK_FENTRY ? "fentry on timerfd_release" :
	       h == LT_HOOK_KPROBE ? "kprobe on timerfd_release" :
	       "tracepoints: sys_exit of close, close_range, dup2, dup3, and exec";
}

/*
 * Pick how timerfd closes are seen: fentry, then kprobe, then the syscall
 * tracepoints; or what --hooks forces, with one clear line when the kernel
 * cannot do it.
 */
static int load_with_hooks(struct tracer *t)
{
	const struct lt_opts *o = t->o;
	enum lt_hooks want = (o->track & LT_TRACK_TIMERS) ? o->hooks : LT_HOOKS_TRACEPOINT;
	int err;

	if (want == LT_HOOKS_FENTRY || want == LT_HOOKS_AUTO) {
		err = load_skel(t, LT_HOOK_FENTRY);
		if (!err) {
			t->hook = LT_HOOK_FENTRY;
			return 0;
		}
		if (want == LT_HOOKS_FENTRY) {
			fprintf(stderr, "leaktrace: --hooks fentry: the kernel refused the fentry program on timerfd_release (%s)\n",
				strerror(-err));
			return err;
		}
		util__log(1, "fentry on timerfd_release refused (%s); trying the next hook\n", strerror(-err));
	}
	if (want == LT_HOOKS_KPROBE || (want == LT_HOOKS_AUTO && kprobes_available())) {
		if (!kprobes_available()) {
			fprintf(stderr, "leaktrace: --hooks kprobe: this kernel has no kprobes (no kprobe PMU in /sys/bus/event_source/devices)\n");
			return -EOPNOTSUPP;
		}
		err = load_skel(t, LT_HOOK_KPROBE);
		if (!err) {
			t->hook = LT_HOOK_KPROBE;
			return 0;
		}
		if (want == LT_HOOKS_KPROBE) {
			fprintf(stderr, "leaktrace: --hooks kprobe: the kernel refused the kprobe program (%s)\n", strerror(-err));
			return err;
		}
	}
	err = load_skel(t, LT_HOOK_TRACEPOINT);
	if (!err)
		t->hook = LT_HOOK_TRACEPOINT;
	return err;
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
	t->trend = trend_tab__new();
	t->ttrend = trend_tab__new();
	t->mtrend = trend_tab__new();
	if (!t->trend || !t->ttrend || !t->mtrend) {
		err = -ENOMEM;
		goto out_free;
	}

	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr, "leaktrace: this kernel has no BTF (/sys/kernel/btf/vmlinux): CO-RE programs cannot load\n");
		err = -ENOENT;
		goto out_free;
	}
	t->multi = umulti__supported() && !getenv("LEAKTRACE_NO_UPROBE_MULTI");
	/*
	 * pid-bound uprobes get slower with every pid on the same function
	 * (2.2 us at 1 pid, 12.7 us at 201): above a few, attach once for
	 * every pid and filter by tgid in BPF. --follow needs it too.
	 */
	t->filter = o->npids > LT_PID_BOUND_MAX || o->follow || o->all;
	if (t->filter)
		util__log(1, "probes attached for every process, filtered by a tgid map in BPF\n");
	util__log(1, "attaching with %s\n", t->multi ? "uprobe_multi links (one per file)" :
		  "one perf-event uprobe link per probe");
	err = load_with_hooks(t);
	if (err) {
		if (err == -EOPNOTSUPP || (o->track & LT_TRACK_TIMERS && o->hooks != LT_HOOKS_AUTO &&
					   o->hooks != LT_HOOKS_TRACEPOINT))
			; /* the hook's own line is printed */
		else if (err == -EPERM)
			fprintf(stderr, "leaktrace: the kernel refused to load BPF programs (%s): run as root, or with CAP_BPF and CAP_PERFMON\n",
				strerror(-err));
		else
			fprintf(stderr, "leaktrace: failed to load the BPF programs: %s (-vvv shows the verifier log)\n",
				strerror(-err));
		goto out_free;
	}
	if (o->track & LT_TRACK_TIMERS)
		util__log(1, "timerfd closes: %s\n", hook_name(t->hook));
	if (!o->all && o->stacks != LT_STACKS_FP) {
		t->uw = uwload__new(t->skel, o->stacks);
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

static struct target *find_target(struct tracer *t, int pid)
{
	for (int i = 0; i < t->ntg; i++)
		if (t->tg[i].pid == pid)
			return &t->tg[i];
	return NULL;
}

static struct target *add_target(struct tracer *t, int pid)
{
	struct target *tg = find_target(t, pid), *n;

	if (tg)
		return tg;
	n = realloc(t->tg, (t->ntg + 1) * sizeof(*n));
	if (!n)
		return NULL;
	t->tg = n;
	tg = &t->tg[t->ntg++];
	memset(tg, 0, sizeof(*tg));
	tg->pid = pid;
	util__comm(pid, tg->comm, sizeof(tg->comm));
	return tg;
}

static void log_probe(const struct lt_plan *plan, const struct lt_probe *pr)
{
	util__log(1, "probe %s %s +0x%x addr=0x%lx (%s)%s\n", pr->sym, plan->mods[pr->mod].path,
		  pr->choice.off[pr->cur], (unsigned long)pr->addr, pr->choice.why[pr->cur],
		  pr->ret ? ", with return probe" : ", entry only");
}

static uint64_t probe_cookie(const struct lt_probe *pr)
{
	return pr->func | (pr->ret ? LT_COOKIE_HAS_RET : 0);
}

static struct bpf_program *entry_prog(struct tracer *t, enum lt_tracker k)
{
	return k == LT_TRACKER_THREADS ? t->skel->progs.lt_thread_entry :
	       k == LT_TRACKER_TIMERS ? t->skel->progs.lt_timer_entry : t->skel->progs.lt_alloc_entry;
}

static struct bpf_program *ret_prog(struct tracer *t, enum lt_tracker k)
{
	return k == LT_TRACKER_THREADS ? t->skel->progs.lt_thread_return : t->skel->progs.lt_alloc_return;
}

/* Older kernels: one perf-event uprobe (and uretprobe) per probe. */
static int attach_perf(struct tracer *t, int pid, struct lt_plan *plan, struct lt_probe *pr)
{
	const struct lt_module *m = &plan->mods[pr->mod];
	uint64_t off = pr->file_off + pr->choice.off[pr->cur];
	LIBBPF_OPTS(bpf_uprobe_opts, eo, .bpf_cookie = probe_cookie(pr));
	LIBBPF_OPTS(bpf_uprobe_opts, ro, .bpf_cookie = probe_cookie(pr) | LT_COOKIE_RET, .retprobe = true);

	pr->lentry = bpf_program__attach_uprobe_opts(entry_prog(t, pr->tracker), t->filter ? -1 : pid,
						     m->open_path, off, &eo);
	if (!pr->lentry)
		return -errno;
	if (pr->ret) {
		pr->lret = bpf_program__attach_uprobe_opts(ret_prog(t, pr->tracker), t->filter ? -1 : pid,
							   m->open_path, off, &ro);
		if (!pr->lret) {
			int err = -errno;

			bpf_link__destroy(pr->lentry);
			pr->lentry = NULL;
			return err;
		}
	}
	return 0;
}

static int add_fd(struct lt_plan *plan, int fd)
{
	int *n = realloc(plan->link_fds, (plan->nlink_fds + 1) * sizeof(*n));

	if (!n) {
		close(fd);
		return -ENOMEM;
	}
	plan->link_fds = n;
	plan->link_fds[plan->nlink_fds++] = fd;
	return 0;
}

/* uprobe_multi: one entry link and one return link for the probes IDX[0..N) of one file and tracker. */
static int attach_multi(struct tracer *t, int pid, struct lt_plan *plan, const int *idx, int n)
{
	uint64_t offs[64], cookies[64], roffs[64], rcookies[64];
	const char *path = plan->mods[plan->probes[idx[0]].mod].open_path;
	enum lt_tracker k = plan->probes[idx[0]].tracker;
	int ne = 0, nr = 0, efd, rfd = -1;

	for (int i = 0; i < n && i < 64; i++) {
		const struct lt_probe *pr = &plan->probes[idx[i]];
		uint64_t off = pr->file_off + pr->choice.off[pr->cur];

		offs[ne] = off;
		cookies[ne++] = probe_cookie(pr);
		if (pr->ret) {
			roffs[nr] = off;
			rcookies[nr++] = probe_cookie(pr) | LT_COOKIE_RET;
		}
	}
	if (t->filter)
		pid = 0;
	efd = umulti__attach(bpf_program__fd(entry_prog(t, k)), path, offs, cookies, ne, pid, false);
	if (efd < 0)
		return efd;
	if (nr) {
		rfd = umulti__attach(bpf_program__fd(ret_prog(t, k)), path, roffs, rcookies, nr,
				     pid, true);
		if (rfd < 0) {
			close(efd);
			return rfd;
		}
	}
	if (add_fd(plan, efd) || (rfd >= 0 && add_fd(plan, rfd)))
		return -ENOMEM;
	return 0;
}

/*
 * One probe on its own, moving to the next safe offset when the kernel
 * says EINVAL (a stale probe left by bcc 0.26 at free+0 does that).
 */
static int attach_single(struct tracer *t, int pid, struct lt_plan *plan, int i)
{
	struct lt_probe *pr = &plan->probes[i];
	int err;

	for (;;) {
		err = t->multi ? attach_multi(t, pid, plan, &i, 1) : attach_perf(t, pid, plan, pr);
		if (err != -EINVAL || pr->cur + 1 >= pr->choice.n)
			break;
		fprintf(stderr, "leaktrace: the kernel refused a probe on %s+0x%x in %s (EINVAL: another tracer, such as bcc, may have left a stale probe there); trying +0x%x\n",
			pr->sym, pr->choice.off[pr->cur], plan->mods[pr->mod].path, pr->choice.off[pr->cur + 1]);
		pr->cur++;
	}
	if (err) {
		fprintf(stderr, "leaktrace: failed to attach uprobe to %s in %s: %s\n",
			pr->sym, plan->mods[pr->mod].path, strerror(-err));
		return err;
	}
	pr->attached = true;
	log_probe(plan, pr);
	return 0;
}

/* A uretprobe on operator new breaks C++ exceptions thrown through it: say so once. */
static void warn_new_retprobe(const struct lt_plan *plan)
{
	for (int i = 0; i < plan->nprobes; i++) {
		const struct lt_probe *pr = &plan->probes[i];

		if (pr->func == LT_FN_NEW && pr->ret && pr->attached) {
			fprintf(stderr, "leaktrace: warning: operator new in %s calls no tracked function, so it has a return probe on operator new; a std::bad_alloc thrown by it while traced cannot be caught (the program terminates)\n",
				plan->mods[pr->mod].path);
			return;
		}
	}
}

/* Attach every probe of the plan not yet attached. Returns how many were, or -errno. */
static int attach_plan(struct tracer *t, int pid, struct lt_plan *plan)
{
	int n = 0, err;

	for (int g = 0; g < plan->nmods * LT_TRACKER__MAX; g++) {
		int idx[64], k = 0, m = g / LT_TRACKER__MAX;
		enum lt_tracker tk = g % LT_TRACKER__MAX;

		for (int i = 0; i < plan->nprobes && k < 64; i++)
			if (plan->probes[i].mod == m && plan->probes[i].tracker == tk && !plan->probes[i].attached)
				idx[k++] = i;
		if (!k)
			continue;
		if (t->multi && k > 1 && attach_multi(t, pid, plan, idx, k) == 0) {
			for (int i = 0; i < k; i++) {
				plan->probes[idx[i]].attached = true;
				log_probe(plan, &plan->probes[idx[i]]);
			}
			n += k;
			continue;
		}
		/* one by one: finds the probe the kernel refuses, and its fallback offset */
		for (int i = 0; i < k; i++) {
			struct lt_probe *pr = &plan->probes[idx[i]];

			err = attach_single(t, pid, plan, idx[i]);
			/* -a: one file that cannot be probed does not stop the others */
			if (err && (pr->func == LT_FN_MALLOC || pr->func == LT_FN_FREE) && !t->o->all)
				return err;
			n += !err;
		}
	}
	return n;
}

static int attach_progs(struct tracer *t, struct bpf_program **progs, int n)
{
	for (int i = 0; i < n; i++) {
		struct bpf_link *l;

		if (!progs[i])
			continue;
		if (t->ntp_links >= (int)(sizeof(t->tp_links) / sizeof(t->tp_links[0])))
			return -E2BIG;
		l = bpf_program__attach(progs[i]);
		if (!l) {
			int err = -errno;

			fprintf(stderr, "leaktrace: failed to attach %s: %s\n",
				bpf_program__section_name(progs[i]), strerror(-err));
			return err;
		}
		t->tp_links[t->ntp_links++] = l;
		util__log(1, "attached %s\n", bpf_program__section_name(progs[i]));
	}
	return 0;
}

/* --follow: the fork tracepoint adds children to the tgid map. Once. */
static int attach_follow(struct tracer *t)
{
	struct bpf_program *progs[] = { t->skel->progs.lt_follow_fork };

	if (t->follow_tp)
		return 0;
	t->follow_tp = true;
	return attach_progs(t, progs, 1);
}

/* sched_process_fork gives a new thread's TID; sched_process_exit its end. Once. */
static int attach_thread_tps(struct tracer *t)
{
	struct bpf_program *progs[] = { t->skel->progs.lt_thread_fork, t->skel->progs.lt_thread_exit };

	if (t->thread_tps)
		return 0;
	t->thread_tps = true;
	return attach_progs(t, progs, 2);
}

/* libbpf finds syscall tracepoints through tracefs, which may not be mounted. */
static int ensure_tracefs(void)
{
	if (access("/sys/kernel/tracing/events", F_OK) == 0 ||
	    access("/sys/kernel/debug/tracing/events", F_OK) == 0)
		return 0;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL)) {
		int err = -errno;

		fprintf(stderr, "leaktrace: tracefs is not mounted and mounting it on /sys/kernel/tracing failed: %s\n",
			strerror(-err));
		return err;
	}
	util__log(1, "mounted tracefs on /sys/kernel/tracing\n");
	return 0;
}

/* The timer tracker's syscall tracepoints and its release hook. Once. */
static int attach_timer_tps(struct tracer *t)
{
	struct leaktrace_bpf *sk = t->skel;
	bool by_fd = t->hook == LT_HOOK_TRACEPOINT;
	struct bpf_program *progs[] = {
		sk->progs.lt_sys_exit_timerfd_create, sk->progs.lt_sys_enter_timer_create,
		sk->progs.lt_sys_exit_timer_create, sk->progs.lt_sys_enter_timerfd_settime,
		sk->progs.lt_sys_enter_timer_settime, sk->progs.lt_sys_enter_timer_delete,
		sk->progs.lt_sys_exit_timer_delete, sk->progs.lt_sys_enter_close_range,
		sk->progs.lt_sys_exit_close_range, sk->progs.lt_timer_exec,
		by_fd ? sk->progs.lt_sys_enter_close : NULL, by_fd ? sk->progs.lt_sys_exit_close : NULL,
		by_fd ? sk->progs.lt_sys_enter_dup2 : NULL, by_fd ? sk->progs.lt_sys_exit_dup2 : NULL,
		by_fd ? sk->progs.lt_sys_enter_dup3 : NULL, by_fd ? sk->progs.lt_sys_exit_dup3 : NULL,
		t->hook == LT_HOOK_FENTRY ? sk->progs.lt_timerfd_release_fentry : NULL,
		t->hook == LT_HOOK_KPROBE ? sk->progs.lt_timerfd_release_kprobe : NULL,
	};

	int err;

	if (t->timer_tps)
		return 0;
	t->timer_tps = true;
	err = ensure_tracefs();
	if (err)
		return err;
	return attach_progs(t, progs, sizeof(progs) / sizeof(progs[0]));
}

static struct shared_probe shared_key(const struct lt_plan *plan, const struct lt_probe *pr)
{
	const struct lt_module *m = &plan->mods[pr->mod];
	struct shared_probe k = { m->dev, m->inode, pr->file_off + pr->choice.off[pr->cur], pr->tracker };

	return k;
}

/* Filter mode: probes another target's plan already attached (same file) are shared. */
static void mark_shared(struct tracer *t, struct lt_plan *plan)
{
	for (int i = 0; i < plan->nprobes; i++) {
		struct shared_probe k = shared_key(plan, &plan->probes[i]);

		for (int j = 0; j < t->nshared; j++) {
			const struct shared_probe *o = &t->shared[j];

			/* field by field: the struct has padding */
			if (o->dev == k.dev && o->inode == k.inode && o->off == k.off && o->tracker == k.tracker)
				plan->probes[i].attached = plan->probes[i].shared = true;
		}
	}
}

static void remember_shared(struct tracer *t, struct lt_plan *plan)
{
	for (int i = 0; i < plan->nprobes; i++) {
		struct shared_probe *n;

		if (!plan->probes[i].attached || plan->probes[i].shared)
			continue;
		n = realloc(t->shared, (t->nshared + 1) * sizeof(*n));
		if (!n)
			return;
		t->shared = n;
		t->shared[t->nshared++] = shared_key(plan, &plan->probes[i]);
	}
}

static int add_tgid(struct tracer *t, int pid)
{
	__u32 k = pid;
	__u8 one = 1;

	if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.targets), &k, &one, BPF_ANY)) {
		int err = -errno;

		fprintf(stderr, "leaktrace: cannot add pid %d to the tgid map: %s\n", pid, strerror(-err));
		return err;
	}
	return 0;
}

int tracer__attach(struct tracer *t, int pid, struct lt_plan *plan)
{
	struct target *tg = add_target(t, pid);
	int n, shared = 0;

	if (!tg)
		return -ENOMEM;
	/* Tables before probes, so that the first stacks are walked with them (-c: after the exec). */
	if (!t->o->command)
		uwload__sync(t->uw, pid);
	if (t->filter && !t->o->all) {
		n = add_tgid(t, pid);
		if (n)
			return n;
		mark_shared(t, plan);
		for (int i = 0; i < plan->nprobes; i++)
			shared += plan->probes[i].shared;
	}
	n = attach_plan(t, pid, plan);
	if (n < 0)
		return n;
	n += shared;
	if (t->filter)
		remember_shared(t, plan);
	if (t->o->follow)
		attach_follow(t);
	if (!t->exec_tp) {
		struct bpf_program *progs[] = { t->skel->progs.lt_mem_exec };

		t->exec_tp = true;
		attach_progs(t, progs, 1);
	}
	warn_new_retprobe(plan);
	for (int i = 0; i < plan->nprobes; i++) {
		const struct lt_probe *pr = &plan->probes[i];
		int err = 0;

		if (!pr->attached)
			continue;
		if (pr->tracker == LT_TRACKER_THREADS)
			err = attach_thread_tps(t);
		else if (pr->tracker == LT_TRACKER_TIMERS)
			err = attach_timer_tps(t);
		if (err)
			return err;
	}
	if (plan->missing[0])
		util__log(1, "pid %d: no definition of %s; those calls are not tracked\n", pid, plan->missing);
	/* the ELF files were for planning; with many targets they add up */
	plan__release_files(plan);
	tg->plan = *plan;
	memset(plan, 0, sizeof(*plan));
	t->nprobes += n;
	return n;
}

/* Count the process's threads; IS_NEW says which ones a tracked create made. */
static int count_tasks(int pid, int tid2pt_fd, int *preexisting)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	if (preexisting)
		*preexisting = 0;
	while ((d = readdir(dir))) {
		__u32 tid = strtoul(d->d_name, NULL, 10);
		__u64 pt;

		if (!tid)
			continue;
		n++;
		/* a thread a tracked pthread_create made since the attach is not pre-existing */
		if (preexisting && bpf_map_lookup_elem(tid2pt_fd, &tid, &pt))
			(*preexisting)++;
	}
	closedir(dir);
	return n;
}

static uint64_t rlimit_stack(int pid)
{
	char path[64], *text, *line;
	uint64_t v = 8 << 20;

	snprintf(path, sizeof(path), "/proc/%d/limits", pid);
	text = util__read_file(path, NULL);
	if (!text)
		return v;
	line = strstr(text, "Max stack size");
	if (line) {
		line += strlen("Max stack size");
		line += strspn(line, " ");
		if (strncmp(line, "unlimited", 9) != 0)
			v = strtoull(line, NULL, 10);
	}
	free(text);
	return v;
}

static void scan_preexisting(struct tracer *t, struct target *tg)
{
	int pre = 0, n = count_tasks(tg->pid, bpf_map__fd(t->skel->maps.tid2pt), &pre);

	if (n < 0)
		return;
	tg->threads_scanned = true;
	tg->threads_preexisting = pre;
	tg->threads_total_live = n;
	tg->default_stack = rlimit_stack(tg->pid);
}

/* Where the kernel put the uretprobe trampoline in PID: [uprobes] in its maps. */
static void find_xol(struct target *tg)
{
	struct proc_maps *m = procmaps__read(tg->pid);

	if (!m)
		return;
	for (int i = 0; i < m->n; i++) {
		if (strcmp(m->e[i].path, "[uprobes]") == 0) {
			tg->xol_start = m->e[i].start;
			tg->xol_end = m->e[i].end;
		}
	}
	procmaps__free(m);
}

int tracer__watch(struct tracer *t, int pid)
{
	struct target *tg = add_target(t, pid);

	if (!tg)
		return -ENOMEM;
	find_xol(tg);
	uwload__sync(t->uw, pid);
	util__comm(pid, tg->comm, sizeof(tg->comm));
	if (!tg->threads_scanned && (t->o->track & LT_TRACK_THREADS))
		scan_preexisting(t, tg);
	if (tg->syms)
		return syms__refresh(tg->syms);
	tg->syms = syms__new(pid);
	if (!tg->syms)
		return -errno;
	if (!t->start)
		t->start = util__now();
	return 0;
}

void tracer__arm_unwind_stop(struct tracer *t, int pid)
{
	uwload__arm_stop(t->uw, pid);
}

bool tracer__unwind_stop(struct tracer *t, int pid)
{
	return uwload__take_stop(t->uw, pid);
}

void tracer__verify_plan(struct tracer *t, int pid)
{
	struct target *tg = find_target(t, pid);
	struct lt_plan live;

	if (!tg || plan__live(pid, t->o->allocator, t->o->track, &live)) {
		plan__free(&live);
		return;
	}
	for (int i = 0; i < live.nprobes; i++) {
		struct lt_probe *pr = &live.probes[i];

		if (plan__find_same(&tg->plan, &live, pr)) {
			pr->attached = true;	/* already there under the predicted plan */
			continue;
		}
		fprintf(stderr, "leaktrace: pid %d takes %s from %s, not from the predicted file; probing it now (earlier calls were missed)\n",
			pid, pr->sym, live.mods[pr->mod].path);
		if (attach_single(t, pid, &live, i) == 0)
			t->nprobes++;
	}
	plan__resolve_addrs(&tg->plan, pid);
	plan__free(&tg->extra);
	tg->extra = live;
}

void tracer__target_exited(struct tracer *t, int pid)
{
	struct target *tg = find_target(t, pid);

	if (tg)
		tg->exited = true;
	uwload__forget(t->uw, pid);
}

static int key_cmp(const void *pa, const void *pb)
{
	const struct lt_site_key *a = pa, *b = pb;

	if (a->tgid != b->tgid)
		return a->tgid < b->tgid ? -1 : 1;
	if (a->stack != b->stack)
		return a->stack < b->stack ? -1 : 1;
	if (a->stack_err != b->stack_err)
		return a->stack_err < b->stack_err ? -1 : 1;
	if (a->caller != b->caller)
		return a->caller < b->caller ? -1 : 1;
	return 0;
}

static uint64_t ktime_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Iterate the sites map: calls fn(key, val, arg) for each site. */
static int for_each_site(struct tracer *t, void (*fn)(const struct lt_site_key *, const struct lt_site_val *, void *),
			 void *arg)
{
	int fd = bpf_map__fd(t->skel->maps.sites);
	struct lt_site_key key, next;
	struct lt_site_val val;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (bpf_map_lookup_elem(fd, &next, &val) == 0)
			fn(&next, &val, arg);
		key = next;
		prev = &key;
	}
	return 0;
}

static void sample_one(const struct lt_site_key *k, const struct lt_site_val *v, void *arg)
{
	struct tracer *t = arg;

	if (v->allocs > 0 || v->bytes > 0)
		trend_tab__sample(t->trend, k, v->bytes, t->seq);
}


/*
 * Per-site thread counts for every target still alive. A target that is
 * gone keeps its last counts: at a process's death all its threads exit,
 * which says nothing about which ones leaked.
 */
static void collect_threads(struct tracer *t)
{
	int fd = bpf_map__fd(t->skel->maps.threads);
	struct lt_thread_key key, next;
	struct lt_thread th;
	void *prev = NULL;

	if (!(t->o->track & LT_TRACK_THREADS))
		return;
	for (int i = 0; i < t->ntg; i++) {
		struct target *tg = &t->tg[i];

		if (tg->exited || !util__pid_alive(tg->pid))
			continue;
		free(tg->tsites);
		tg->tsites = NULL;
		tg->ntsites = 0;
		int n = count_tasks(tg->pid, -1, NULL);

		if (n >= 0)
			tg->threads_total_live = n;
	}
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct target *tg;
		struct tagg *a = NULL;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &next, &th))
			continue;
		tg = find_target(t, next.tgid);
		if (!tg || tg->exited || !util__pid_alive(tg->pid))
			continue;
		for (int j = 0; j < tg->ntsites; j++)
			if (key_cmp(&tg->tsites[j].key, &th.site) == 0)
				a = &tg->tsites[j];
		if (!a) {
			struct tagg *na = realloc(tg->tsites, (tg->ntsites + 1) * sizeof(*na));

			if (!na)
				continue;
			tg->tsites = na;
			a = &tg->tsites[tg->ntsites++];
			memset(a, 0, sizeof(*a));
			a->key = th.site;
			a->start_routine = th.start_routine;
		}
		if (th.state == LT_THREAD_EXITED)
			a->exited++;
		else
			a->live++;
		if (!a->oldest_ns || th.start_ns < a->oldest_ns)
			a->oldest_ns = th.start_ns;
		a->stack_bytes += th.stacksize ? th.stacksize : tg->default_stack;
	}
}

/*
 * /proc/PID/fdinfo/FD is a check, not the ground truth (every timerfd
 * shares one inode): is FD still a timerfd with the clock and interval we
 * recorded? Returns its unread expirations (ticks), or -1 on a mismatch.
 */
static int64_t check_timerfd(int pid, int fd, const struct lt_timer *tm)
{
	char path[96], link[128], *text, *p;
	long long clock = -1, ticks = -1, isec = -1, insec = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return -1;
	link[n] = 0;
	if (!strstr(link, "timerfd"))
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	text = util__read_file(path, NULL);
	if (!text)
		return -1;
	if ((p = strstr(text, "clockid:")))
		clock = strtoll(p + 8, NULL, 10);
	if ((p = strstr(text, "ticks:")))
		ticks = strtoll(p + 6, NULL, 10);
	if ((p = strstr(text, "it_interval: (")))
		sscanf(p + 14, "%lld, %lld", &isec, &insec);
	free(text);
	if (clock != tm->clock || ticks < 0 ||
	    (uint64_t)(isec * 1000000000LL + insec) != tm->interval_ns)
		return -1;
	return ticks;
}

/* Per-site timer counts of every live target (a dead one keeps its last). */
static void collect_timers(struct tracer *t, bool check_proc)
{
	int fd = bpf_map__fd(t->skel->maps.timers);
	struct lt_timer_key key, next;
	struct lt_timer tm;
	void *prev = NULL;

	for (int i = 0; i < t->ntg; i++) {
		struct target *tg = &t->tg[i];

		if (tg->exited || !util__pid_alive(tg->pid))
			continue;
		free(tg->msites);
		tg->msites = NULL;
		tg->nmsites = 0;
		if (check_proc)
			tg->timer_mismatch = 0;
	}
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct target *tg;
		struct magg *a = NULL;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &next, &tm))
			continue;
		tg = find_target(t, next.tgid);
		if (!tg || tg->exited || !util__pid_alive(tg->pid))
			continue;
		for (int j = 0; j < tg->nmsites; j++)
			if (key_cmp(&tg->msites[j].key, &tm.site) == 0 && tg->msites[j].kind == next.kind)
				a = &tg->msites[j];
		if (!a) {
			struct magg *na = realloc(tg->msites, (tg->nmsites + 1) * sizeof(*na));

			if (!na)
				continue;
			tg->msites = na;
			a = &tg->msites[tg->nmsites++];
			memset(a, 0, sizeof(*a));
			a->key = tm.site;
			a->kind = next.kind;
			a->ticks = next.kind == LT_TIMER_FD && check_proc ? 0 : -1;
		}
		a->open++;
		if (tm.armed && tm.interval_ns) {
			a->periodic++;
			if (!a->interval_ns)
				a->interval_ns = tm.interval_ns;
		}
		if (!a->oldest_ns || tm.created_ns < a->oldest_ns)
			a->oldest_ns = tm.created_ns;
		if (next.kind == LT_TIMER_FD && check_proc) {
			int64_t ticks = check_timerfd(tg->pid, (int)next.id, &tm);

			if (ticks < 0)
				tg->timer_mismatch++;
			else if (a->ticks >= 0)
				a->ticks += ticks;
		}
	}
}

static void sample_timers(struct tracer *t)
{
	t->mseq++;
	for (int i = 0; i < t->ntg; i++)
		for (int j = 0; j < t->tg[i].nmsites; j++)
			trend_tab__sample(t->mtrend, &t->tg[i].msites[j].key, t->tg[i].msites[j].open, t->mseq);
	trend_tab__end_round(t->mtrend, t->mseq);
}

static void sample_threads(struct tracer *t)
{
	t->tseq++;
	for (int i = 0; i < t->ntg; i++)
		for (int j = 0; j < t->tg[i].ntsites; j++) {
			struct tagg *a = &t->tg[i].tsites[j];

			trend_tab__sample(t->ttrend, &a->key, a->live + a->exited, t->tseq);
		}
	trend_tab__end_round(t->ttrend, t->tseq);
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
		if (find_target(t, next))
			continue;
		if (!util__pid_alive(next)) {
			bpf_map_delete_elem(fd, &next);
			prev = NULL;	/* restart: the key we stood on is gone */
			continue;
		}
		if (tracer__watch(t, next) == 0)
			util__log(1, "following pid %u (%s)\n", next, find_target(t, next)->comm);
	}
}

/* -a: the seccomp passthrough bug (systemd#34615) makes uretprobes kill seccomp-filtered services. */
static bool kernel_kills_seccomp_uretprobes(char *rel, size_t len)
{
	struct utsname u;
	int maj, min;

	if (uname(&u) || sscanf(u.release, "%d.%d", &maj, &min) != 2)
		return false;
	snprintf(rel, len, "%s", u.release);
	return maj == 6 && min >= 11 && min <= 13;
}

static bool comm_excluded(const struct lt_opts *o, const char *comm)
{
	const char *p = o->exclude_comm;
	size_t n = strlen(comm);

	while (p && *p) {
		size_t l = strcspn(p, ",");

		if (l == n && strncmp(p, comm, l) == 0)
			return true;
		p += l + (p[l] == ',');
	}
	return false;
}

/* -a: keep the excluded map in step with the processes that run now. */
static void update_excluded(struct tracer *t)
{
	int fd = bpf_map__fd(t->skel->maps.excluded);
	DIR *proc;
	struct dirent *d;

	if (!t->o->exclude_comm || !(proc = opendir("/proc")))
		return;
	while ((d = readdir(proc))) {
		__u32 pid = strtoul(d->d_name, NULL, 10);
		char comm[16];
		__u8 one = 1;

		if (!pid)
			continue;
		util__comm(pid, comm, sizeof(comm));
		if (comm_excluded(t->o, comm))
			bpf_map_update_elem(fd, &pid, &one, BPF_ANY);
	}
	closedir(proc);
}

/* -a: probe every allocator file in use, then the ones new since the last call. */
int tracer__attach_system(struct tracer *t, bool first)
{
	int added, n;

	if (first) {
		char rel[65];

		if (kernel_kills_seccomp_uretprobes(rel, sizeof(rel)) && !t->o->force) {
			fprintf(stderr, "leaktrace: kernel %s may kill seccomp-filtered services at a uretprobe return (systemd#34615); -a refuses it without --force\n",
				rel);
			return -EPERM;
		}
	}
	update_excluded(t);
	added = plan__system(&t->sysplan, t->o->track, getpid());
	if (added < 0) {
		fprintf(stderr, "leaktrace: cannot scan /proc: %s\n", strerror(-added));
		return added;
	}
	if (!added)
		return 0;
	n = attach_plan(t, -1, &t->sysplan);
	if (n < 0)
		return n;
	for (int i = 0; i < t->sysplan.nprobes; i++) {
		const struct lt_probe *pr = &t->sysplan.probes[i];
		int err = 0;

		if (pr->attached && pr->tracker == LT_TRACKER_THREADS)
			err = attach_thread_tps(t);
		else if (pr->attached && pr->tracker == LT_TRACKER_TIMERS)
			err = attach_timer_tps(t);
		if (err)
			return err;
	}
	t->nprobes += n;
	if (!first)
		util__log(1, "%d new file%s with allocator functions probed\n", added, added == 1 ? "" : "s");
	return n;
}

int tracer__nprobes(struct tracer *t)
{
	return t->nprobes;
}

/* Every tgid some tracked record belongs to (-a: they become targets). */
static void discover_from_sites(struct tracer *t)
{
	int fd = bpf_map__fd(t->skel->maps.sites);
	struct lt_site_key key, next;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (find_target(t, next.tgid) || !util__pid_alive(next.tgid))
			continue;
		tracer__watch(t, next.tgid);
	}
}

struct gc_ctx {
	uint32_t *tgids;
	int n;
};

static bool gc_dead(const struct gc_ctx *g, uint32_t tgid)
{
	for (int i = 0; i < g->n; i++)
		if (g->tgids[i] == tgid)
			return true;
	return false;
}

/* Delete every key of MAP whose first u32 (the tgid) is in G. */
static void gc_map(int fd, size_t key_size, const struct gc_ctx *g)
{
	char key[32], next[32];
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		uint32_t tgid;

		memcpy(&tgid, next, sizeof(tgid));
		if (gc_dead(g, tgid)) {
			bpf_map_delete_elem(fd, next);
			continue;	/* prev still valid: the next key after it */
		}
		memcpy(key, next, key_size);
		prev = key;
	}
}

/*
 * Append the stack every entry of map FD refers to: a u64 at OFF in the
 * key (IN_KEY) or in the value.
 */
static void add_stack_refs(int fd, size_t key_size, size_t val_size, bool in_key, size_t off,
			   uint64_t **refs, int *nrefs)
{
	char key[32], next[32], val[128];
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		const char *src = next;
		uint64_t *n, stack;

		memcpy(key, next, key_size);
		prev = key;
		if (!in_key) {
			if (val_size > sizeof(val) || bpf_map_lookup_elem(fd, next, val))
				continue;
			src = val;
		}
		n = realloc(*refs, (*nrefs + 1) * sizeof(*n));
		if (!n)
			return;
		memcpy(&stack, src + off, sizeof(stack));
		*refs = n;
		(*refs)[(*nrefs)++] = stack;
	}
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * -a: exited processes lose their state, and stack ids nothing refers to
 * are deleted -- only ids that were unreferenced at the previous pass too,
 * so an id taken by an allocation still in flight is never deleted.
 */
static void gc_dead_processes(struct tracer *t)
{
	struct gc_ctx g = {};
	uint64_t *refs = NULL, *cand = NULL;
	int nrefs = 0, ncand = 0, fd;
	struct lt_site_key sk, snext;
	void *prev = NULL;
	__u64 sid, snxt;

	/* every process with a site that is gone, whether it became a target or not */
	fd = bpf_map__fd(t->skel->maps.sites);
	while (bpf_map_get_next_key(fd, prev, &snext) == 0) {
		sk = snext;
		prev = &sk;
		if (gc_dead(&g, snext.tgid) || util__pid_alive(snext.tgid))
			continue;
		uint32_t *n = realloc(g.tgids, (g.n + 1) * sizeof(*n));

		if (!n)
			break;
		g.tgids = n;
		g.tgids[g.n++] = snext.tgid;
	}
	prev = NULL;
	for (int i = 0; i < t->ntg; i++)
		if (t->tg[i].exited)
			t->tg[i].gc_done = true;
	if (g.n) {
		gc_map(bpf_map__fd(t->skel->maps.allocs), sizeof(struct lt_alloc_key), &g);
		gc_map(bpf_map__fd(t->skel->maps.sites), sizeof(struct lt_site_key), &g);
		gc_map(bpf_map__fd(t->skel->maps.threads), sizeof(struct lt_thread_key), &g);
		gc_map(bpf_map__fd(t->skel->maps.timers), sizeof(struct lt_timer_key), &g);
	}
	free(g.tgids);

	/* stacks referenced by a site, a thread or a timer */
	add_stack_refs(bpf_map__fd(t->skel->maps.sites), sizeof(struct lt_site_key), 0, true,
		       offsetof(struct lt_site_key, stack), &refs, &nrefs);
	add_stack_refs(bpf_map__fd(t->skel->maps.threads), sizeof(struct lt_thread_key),
		       sizeof(struct lt_thread), false, offsetof(struct lt_thread, site.stack), &refs, &nrefs);
	add_stack_refs(bpf_map__fd(t->skel->maps.timers), sizeof(struct lt_timer_key),
		       sizeof(struct lt_timer), false, offsetof(struct lt_timer, site.stack), &refs, &nrefs);
	qsort(refs, nrefs, sizeof(*refs), u64_cmp);
	qsort(t->gc_stacks, t->ngc_stacks, sizeof(*t->gc_stacks), u64_cmp);

	fd = bpf_map__fd(t->skel->maps.stacks);
	prev = NULL;
	while (bpf_map_get_next_key(fd, prev, &snxt) == 0) {
		bool referenced = bsearch(&snxt, refs, nrefs, sizeof(*refs), u64_cmp) != NULL;

		if (!referenced && bsearch(&snxt, t->gc_stacks, t->ngc_stacks, sizeof(uint64_t), u64_cmp)) {
			bpf_map_delete_elem(fd, &snxt);
			continue;
		}
		sid = snxt;
		prev = &sid;
		if (!referenced) {
			uint64_t *n = realloc(cand, (ncand + 1) * sizeof(*n));

			if (n) {
				cand = n;
				cand[ncand++] = snxt;
			}
		}
	}
	free(t->gc_stacks);
	t->gc_stacks = cand;
	t->ngc_stacks = ncand;
	free(refs);
}

/* Delete the records of TGID's old image (made before EXEC_NS) from MAP. */
static void drop_before(int fd, size_t key_size, size_t val_size, uint32_t tgid, uint64_t exec_ns,
			size_t ts_off)
{
	char key[32], next[32], val[128];
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		uint32_t k_tgid;
		uint64_t ts;

		memcpy(&k_tgid, next, sizeof(k_tgid));
		if (k_tgid == tgid && val_size <= sizeof(val) &&
		    bpf_map_lookup_elem(fd, next, val) == 0) {
			memcpy(&ts, val + ts_off, sizeof(ts));
			if (ts < exec_ns) {
				bpf_map_delete_elem(fd, next);
				continue;	/* prev still valid */
			}
		}
		memcpy(key, next, key_size);
		prev = key;
	}
}

/*
 * A target exec'ed: its old image's blocks, sites and threads are gone
 * with it (no free will come for them), and its symbols are a new image's.
 */
static void handle_execs(struct tracer *t)
{
	int fd = bpf_map__fd(t->skel->maps.execs);

	for (int i = 0; i < t->ntg; i++) {
		struct target *tg = &t->tg[i];
		__u32 k = tg->pid;
		__u64 ns = 0;

		if (tg->exited || bpf_map_lookup_elem(fd, &k, &ns) || ns <= tg->exec_ns)
			continue;
		if (!tg->exec_ns && tg->syms == NULL) {
			/* -c: the command's own exec, before anything was symbolized */
			tg->exec_ns = ns;
			continue;
		}
		tg->exec_ns = ns;
		drop_before(bpf_map__fd(t->skel->maps.allocs), sizeof(struct lt_alloc_key),
			    sizeof(struct lt_alloc_val), k, ns, offsetof(struct lt_alloc_val, ts_ns));
		drop_before(bpf_map__fd(t->skel->maps.sites), sizeof(struct lt_site_key),
			    sizeof(struct lt_site_val), k, ns, offsetof(struct lt_site_val, first_ns));
		drop_before(bpf_map__fd(t->skel->maps.threads), sizeof(struct lt_thread_key),
			    sizeof(struct lt_thread), k, ns, offsetof(struct lt_thread, start_ns));
		util__comm(tg->pid, tg->comm, sizeof(tg->comm));
		/* a new image: symbols from scratch (the old modules may be gone) */
		syms__free(tg->syms);
		tg->syms = syms__new(tg->pid);
		uwload__sync(t->uw, tg->pid);
		util__log(1, "pid %d exec'ed %s: its earlier blocks went with the old image\n",
			  tg->pid, tg->comm);
	}
}

int tracer__alive(struct tracer *t)
{
	int n = 0;

	if (t->o->follow)
		discover_children(t);
	handle_execs(t);
	uwload__sync_missed(t->uw);
	for (int i = 0; i < t->ntg; i++) {
		if (t->tg[i].exited)
			continue;
		if (util__pid_alive(t->tg[i].pid)) {
			n++;
		} else {
			t->tg[i].exited = true;
			uwload__forget(t->uw, t->tg[i].pid);
		}
	}
	return n;
}

int tracer__sample(struct tracer *t)
{
	/*
	 * -a: once a second, not at every liveness poll: both scan whole maps,
	 * and the stack GC's two passes must be far apart (see there)
	 */
	if (t->o->all) {
		discover_from_sites(t);
		gc_dead_processes(t);
	}
	t->seq++;
	for_each_site(t, sample_one, t);
	trend_tab__end_round(t->trend, t->seq);
	if (t->o->track & LT_TRACK_THREADS) {
		collect_threads(t);
		sample_threads(t);
	}
	if (t->o->track & LT_TRACK_TIMERS) {
		collect_timers(t, false);
		sample_timers(t);
	}
	return 0;
}

/* ---- report ---- */

struct agg {
	struct lt_site_key key;
	int64_t bytes, allocs;		/* from the site totals, or the scan with filters */
	uint64_t oldest_ns;		/* 0: none seen */
	uint64_t first_ns;		/* the site's first allocation */
};

struct agg_set {
	struct agg *a;
	int n, cap;
};

static void collect_site(const struct lt_site_key *k, const struct lt_site_val *v, void *arg)
{
	struct agg_set *s = arg;

	if (s->n == s->cap) {
		int cap = s->cap ? s->cap * 2 : 256;
		struct agg *na = realloc(s->a, cap * sizeof(*na));

		if (!na)
			return;
		s->a = na;
		s->cap = cap;
	}
	s->a[s->n].key = *k;
	s->a[s->n].bytes = v->bytes;
	s->a[s->n].allocs = v->allocs;
	s->a[s->n].oldest_ns = 0;
	s->a[s->n].first_ns = v->first_ns;
	s->n++;
}



/* Scan every outstanding allocation: oldest age per site, and the filters. */
static int scan_allocs(struct tracer *t, struct agg_set *s, bool filtered)
{
	const struct lt_opts *o = t->o;
	int fd = bpf_map__fd(t->skel->maps.allocs);
	enum { BATCH = 4096 };
	struct lt_alloc_key *keys = malloc(BATCH * sizeof(*keys));
	struct lt_alloc_val *vals = malloc(BATCH * sizeof(*vals));
	uint64_t now = ktime_now_ns(), min_age_ns = (uint64_t)(o->min_age * 1e9);
	uint64_t in_batch = 0, out_batch = 0;
	bool first = true, done = false;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	if (filtered)
		for (int i = 0; i < s->n; i++)
			s->a[i].bytes = s->a[i].allocs = 0;
	while (!done) {
		__u32 count = BATCH;
		LIBBPF_OPTS(bpf_map_batch_opts, bo);

		err = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, keys, vals, &count, &bo);
		if (err) {
			err = -errno;
			if (err != -ENOENT)
				goto out;
			err = 0;
			done = true;
		}
		first = false;
		in_batch = out_batch;
		for (__u32 i = 0; i < count; i++) {
			struct agg *a = bsearch(&vals[i].site, s->a, s->n, sizeof(*s->a), key_cmp);
			uint64_t age = now > vals[i].ts_ns ? now - vals[i].ts_ns : 0;

			t->scan_count++;
			if (!a)
				continue;
			if (filtered) {
				if (age < min_age_ns || vals[i].size < o->min_size || vals[i].size > o->max_size)
					continue;
				a->bytes += vals[i].size;
				a->allocs++;
			}
			if (!a->oldest_ns || vals[i].ts_ns < a->oldest_ns)
				a->oldest_ns = vals[i].ts_ns;
		}
		if (count == 0 && !done)
			break;
	}
out:
	free(keys);
	free(vals);
	return err;
}

static int64_t count_keys(int fd, size_t key_size)
{
	char key[64], next[64];
	void *prev = NULL;
	int64_t n = 0;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, key_size);
		prev = key;
		n++;
	}
	return n;
}

static int push_frame(struct lt_mem_site *site, int *cap, const struct sym_frame *sf)
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

/* Returns true when the walk itself knows the stack is whole. */
static bool build_frames(struct tracer *t, struct target *tg, const struct lt_site_key *k,
			 struct lt_mem_site *site)
{
	bool complete = false;
	uint64_t ips[LT_MAX_STACK_DEPTH] = {}, addrs[LT_MAX_STACK_DEPTH + 1];
	struct sym_frame sf[8];
	int n = 0, na = 0, cap = 0, first = 0;
	const char *alloc_mod = NULL, *exe;
	bool any_exe = false;

	if (k->stack &&
	    bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.stacks), &k->stack, ips) == 0) {
		while (n < LT_MAX_STACK_DEPTH && ips[n])
			n++;
	}
	site->truncated = !k->stack || n == 0 || n == LT_MAX_STACK_DEPTH;
	/* A table walk that reached the outermost frame says so with a last marker. */
	if (n > 0 && ips[n - 1] == LT_STACK_COMPLETE) {
		n--;
		complete = true;
		site->truncated = false;
	}

	/* ips[0] is the probe inside the allocator; [rsp] is the caller the kernel may omit. */
	if (k->caller)
		addrs[na++] = k->caller;
	for (int i = 1; i < n; i++) {
		if (i == 1 && ips[1] == k->caller)
			continue;
		addrs[na++] = ips[i];
	}
	if (!tg || !tg->syms) {
		for (int i = 0; i < na; i++) {
			struct sym_frame f = { .addr = addrs[i], .module = "[unknown]" };

			push_frame(site, &cap, &f);
		}
		return complete;
	}
	exe = syms__exe(tg->syms);
	if (n > 0)
		alloc_mod = syms__module(tg->syms, ips[0]);
	/* Skip the allocator's own frames (libc's strdup calling malloc stays as the caller's caller). */
	if (alloc_mod && (!exe || strcmp(alloc_mod, exe) != 0)) {
		while (first < na - 1) {
			const char *m = syms__module(tg->syms, addrs[first]);

			if (!m || strcmp(m, alloc_mod) != 0)
				break;
			first++;
		}
	}
	for (int i = first; i < na; i++) {
		if (syms__in_exe(tg->syms, addrs[i]))
			any_exe = true;
	}
	if (!any_exe && site->before_start && na > first) {
		/* Before main, with no program frame: a constructor's block. */
		const char *m = syms__module(tg->syms, addrs[first]);
		char label[128];
		struct sym_frame f = { .addr = addrs[first], .module = m ? m : "[unknown]" };

		snprintf(label, sizeof(label), "[init] %s", m ? util__basename(m) : "?");
		f.func = label;
		push_frame(site, &cap, &f);
	}
	for (int i = first; i < na; i++) {
		int nf;

		/*
		 * A pending uretprobe (an outer tracked call) replaced this return
		 * address with its trampoline; older kernels leave it in the
		 * stack. Never show it as a frame: the frame it stands for is
		 * lost, so the stack is not whole, but the walk goes on.
		 */
		if (tg->xol_end && addrs[i] >= tg->xol_start && addrs[i] < tg->xol_end) {
			site->truncated = true;
			continue;
		}
		nf = syms__resolve(tg->syms, addrs[i], true, sf, 8);

		if (nf <= 0 || (nf == 1 && !sf[0].func && strcmp(sf[0].module, "[unknown]") == 0)) {
			/* A frame-pointer walk that left the known code: stop there (ends_at_root() judges). */
			if (i == first) {
				struct sym_frame f = { .addr = addrs[i], .module = "[unknown]" };

				push_frame(site, &cap, &f);
			}
			complete = false;
			break;
		}
		for (int j = 0; j < nf; j++)
			push_frame(site, &cap, &sf[j]);
	}
	return complete;
}

/* Does a stack end where every stack ends (process or thread entry)? */
static bool ends_at_root(const struct lt_mem_site *site)
{
	static const char *const roots[] = {
		"_start", "__libc_start_main", "__libc_start_call_main", "__libc_start_main_impl",
		"start_thread", "clone", "clone3", "_dl_start_user", "_dl_start", "main",
	};
	const char *f;

	if (!site->nstack || !(f = site->stack[site->nstack - 1].func))
		return false;
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		if (strcmp(f, roots[i]) == 0)
			return true;
	return false;
}

/* When the executable's entry point ran in TGID (-c only); 0 when unknown. */
static uint64_t started_ns(struct tracer *t, uint32_t tgid)
{
	uint64_t ns = 0;

	bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.started), &tgid, &ns);
	return ns;
}

/*
 * The symbolized stack of site K, flagged truncated unless it ends where
 * every stack ends: a frame-pointer walk that stopped early is never shown
 * as whole.
 */
static void build_stack(struct tracer *t, struct target *tg, const struct lt_site_key *k,
			struct lt_mem_site *site)
{
	if (!build_frames(t, tg, k, site) && !ends_at_root(site))
		site->truncated = true;
}

/* The same for a thread or timer site, which keeps only the frames. */
static void site_stack(struct tracer *t, const struct lt_site_key *k, struct lt_frame **stack,
		       int *nstack, bool *truncated)
{
	struct lt_mem_site ms = {};

	build_stack(t, find_target(t, k->tgid), k, &ms);
	*stack = ms.stack;
	*nstack = ms.nstack;
	*truncated = ms.truncated;
}

static double site_age(uint64_t oldest_ns, uint64_t now)
{
	return oldest_ns && now > oldest_ns ? (now - oldest_ns) / 1e9 : -1;
}

/* Threads that libc starts for itself: the creating call comes from libc. */
static bool libc_internal(struct target *tg, uint64_t caller)
{
	const char *m = tg && tg->syms ? syms__module(tg->syms, caller) : NULL;
	const char *b = m ? util__basename(m) : "";

	return strncmp(b, "libc.so", 7) == 0 || strncmp(b, "libc-", 5) == 0 ||
	       strncmp(b, "libpthread", 10) == 0;
}

static void report_threads(struct tracer *t, struct lt_report *r, uint64_t now)
{
	int n = 0, k = 0;

	collect_threads(t);
	r->has_threads = true;
	for (int i = 0; i < t->ntg; i++) {
		n += t->tg[i].ntsites;
		r->threads_total_live += t->tg[i].exited ? 0 : t->tg[i].threads_total_live;
		r->threads_preexisting += t->tg[i].threads_preexisting;
	}
	r->tsites = calloc(n ? n : 1, sizeof(*r->tsites));
	if (!r->tsites)
		return;
	for (int i = 0; i < t->ntg; i++) {
		struct target *tg = &t->tg[i];

		for (int j = 0; j < tg->ntsites; j++) {
			struct tagg *a = &tg->tsites[j];
			struct lt_thread_site *s = &r->tsites[k++];

			s->key = a->key;
			s->pid = tg->pid;
			memcpy(s->comm, tg->comm, sizeof(s->comm));
			s->live = a->live;
			s->exited_unjoined = a->exited;
			s->oldest_age_s = site_age(a->oldest_ns, now);
			s->stack_bytes = a->stack_bytes;
			s->trend = trend_tab__trend(t->ttrend, &a->key);
			s->delta = (int)trend_tab__delta(t->ttrend, &a->key, a->live + a->exited, true);
			s->libc_internal = libc_internal(tg, a->key.caller);
			r->threads_live += a->live;
			r->threads_exited_unjoined += a->exited;
			s->start_addr = a->start_routine;
		}
	}
	r->ntsites = r->ntsites_total = k;
	report__sort_threads(r->tsites, k);
	if (t->o->top && k > t->o->top)
		r->ntsites = t->o->top;
	/* symbolize only what is shown */
	for (int i = 0; i < r->ntsites; i++) {
		struct lt_thread_site *s = &r->tsites[i];
		struct target *tg = find_target(t, s->key.tgid);
		struct sym_frame sf[4];
		int nf;

		site_stack(t, &s->key, &s->stack, &s->nstack, &s->truncated);
		if (!tg || !tg->syms || !s->start_addr)
			continue;
		nf = syms__resolve(tg->syms, s->start_addr, false, sf, 4);
		if (nf > 0 && sf[nf - 1].func)
			s->start_routine = strdup(sf[nf - 1].func);
	}
}

static int proc_cmp(const void *pa, const void *pb)
{
	const struct lt_proc *a = pa, *b = pb;

	if (a->delta_bytes != b->delta_bytes)
		return a->delta_bytes < b->delta_bytes ? 1 : -1;
	if (a->bytes != b->bytes)
		return a->bytes < b->bytes ? 1 : -1;
	return a->pid - b->pid;
}

/*
 * -a: the top processes by outstanding growth (--top-procs), then each
 * one's top -T sites, in that order. Sites arrive sorted by --sort.
 */
static void top_processes(struct lt_report *r, const struct lt_opts *o)
{
	int nproc = 0, keep, k = 0;
	struct lt_proc *procs = calloc(r->nsites ? r->nsites : 1, sizeof(*procs));
	struct lt_mem_site *sorted;

	if (!procs)
		return;
	for (int i = 0; i < r->nsites; i++) {
		struct lt_mem_site *s = &r->sites[i];
		int j;

		for (j = 0; j < nproc && procs[j].pid != s->pid; j++)
			;
		if (j == nproc) {
			procs[nproc].pid = s->pid;
			memcpy(procs[nproc].comm, s->comm, sizeof(procs[nproc].comm));
			nproc++;
		}
		procs[j].bytes += s->bytes;
		procs[j].allocs += s->allocs;
		procs[j].delta_bytes += s->delta_bytes;
	}
	qsort(procs, nproc, sizeof(*procs), proc_cmp);
	keep = o->top_procs && nproc > o->top_procs ? o->top_procs : nproc;
	sorted = calloc(r->nsites ? r->nsites : 1, sizeof(*sorted));
	if (!sorted) {
		free(procs);
		return;
	}
	/* stable: each process's sites in --sort order, up to -T of them */
	for (int p = 0; p < keep; p++) {
		for (int i = 0; i < r->nsites; i++) {
			if (r->sites[i].pid != procs[p].pid || (o->top && procs[p].nsites >= o->top))
				continue;
			sorted[k++] = r->sites[i];
			procs[p].nsites++;
		}
	}
	/* the sites not shown still own nothing (stacks are built later) */
	free(r->sites);
	r->sites = sorted;
	r->nsites = k;
	r->procs = procs;
	r->nprocs = keep;
	r->nprocs_total = nproc;
}

static void report_timers(struct tracer *t, struct lt_report *r, uint64_t now)
{
	int n = 0, k = 0;

	collect_timers(t, true);
	r->has_timers = true;
	r->hooks = hook_name(t->hook);
	for (int i = 0; i < t->ntg; i++) {
		n += t->tg[i].nmsites;
		r->drops[LT_DROP_TIMER_MISMATCH] += t->tg[i].timer_mismatch;
	}
	r->msites = calloc(n ? n : 1, sizeof(*r->msites));
	if (!r->msites)
		return;
	for (int i = 0; i < t->ntg; i++) {
		struct target *tg = &t->tg[i];

		for (int j = 0; j < tg->nmsites; j++) {
			struct magg *a = &tg->msites[j];
			struct lt_timer_site *s = &r->msites[k++];

			s->key = a->key;
			s->pid = tg->pid;
			memcpy(s->comm, tg->comm, sizeof(s->comm));
			s->kind = a->kind == LT_TIMER_FD ? "timerfd" : "posix";
			s->open = a->open;
			s->periodic = a->periodic;
			s->interval_ns = a->interval_ns;
			s->expirations = a->ticks;
			s->oldest_age_s = site_age(a->oldest_ns, now);
			s->trend = trend_tab__trend(t->mtrend, &a->key);
			s->delta = (int)trend_tab__delta(t->mtrend, &a->key, a->open, true);
			r->timers_open += a->open;
		}
	}
	r->nmsites = r->nmsites_total = k;
	report__sort_timers(r->msites, k);
	if (t->o->top && k > t->o->top)
		r->nmsites = t->o->top;
	for (int i = 0; i < r->nmsites; i++) {
		struct lt_timer_site *s = &r->msites[i];

		site_stack(t, &s->key, &s->stack, &s->nstack, &s->truncated);
	}
}

int tracer__report(struct tracer *t, struct lt_report *r, bool final)
{
	const struct lt_opts *o = t->o;
	bool filtered = o->min_age > 0 || o->min_size > 0 || o->max_size != UINT64_MAX;
	struct agg_set s = {};
	uint64_t now = ktime_now_ns();
	int ncpu = libbpf_num_possible_cpus(), err, nsites = 0;
	int64_t total = 0, allocs = 0;

	memset(r, 0, sizeof(*r));
	r->number = ++t->reports;
	r->final = final;
	r->elapsed_s = t->start ? util__now() - t->start : 0;
	clock_gettime(CLOCK_REALTIME, &r->wall);
	r->targets = calloc(t->ntg ? t->ntg : 1, sizeof(*r->targets));
	if (!r->targets)
		return -ENOMEM;
	for (int i = 0; i < t->ntg; i++) {
		r->targets[i].pid = t->tg[i].pid;
		memcpy(r->targets[i].comm, t->tg[i].comm, sizeof(r->targets[i].comm));
		r->targets[i].exited = t->tg[i].exited;
	}
	r->ntargets = t->ntg;

	/* refresh symbols for live targets (new libraries) */
	for (int i = 0; i < t->ntg; i++) {
		if (t->tg[i].syms && !t->tg[i].exited) {
			syms__refresh(t->tg[i].syms);
			find_xol(&t->tg[i]);
		}
	}

	for_each_site(t, collect_site, &s);
	qsort(s.a, s.n, sizeof(*s.a), key_cmp);
	t->scan_count = 0;
	err = scan_allocs(t, &s, filtered);
	r->map_allocs = t->scan_count;
	r->map_sites = s.n;
	r->map_stacks = count_keys(bpf_map__fd(t->skel->maps.stacks), sizeof(__u64));
	r->system_wide = o->all;
	if (err)
		fprintf(stderr, "leaktrace: cannot scan the allocation map: %s\n", strerror(-err));
	/*
	 * TEST-ONLY pause point (tests/integration/test_faults.py): with
	 * LEAKTRACE_TEST_PAUSE_REPORT_MS set, sleep that long between the site
	 * totals and the symbolization, so a test can kill the target here.
	 */
	if (getenv("LEAKTRACE_TEST_PAUSE_REPORT_MS"))
		usleep((useconds_t)strtoul(getenv("LEAKTRACE_TEST_PAUSE_REPORT_MS"), NULL, 10) * 1000);

	r->has_mem = (o->track & LT_TRACK_MEM) != 0;
	r->sites = calloc(s.n ? s.n : 1, sizeof(*r->sites));
	if (!r->sites) {
		free(s.a);
		return -ENOMEM;
	}
	for (int i = 0; i < s.n; i++) {
		struct agg *a = &s.a[i];
		struct lt_mem_site *site;

		if (a->allocs <= 0 && a->bytes <= 0) {
			trend_tab__delta(t->trend, &a->key, 0, true);
			continue;
		}
		total += a->bytes;
		allocs += a->allocs;
		site = &r->sites[nsites++];
		site->key = a->key;
		site->pid = a->key.tgid;
		struct target *tg = find_target(t, a->key.tgid);

		if (tg)
			memcpy(site->comm, tg->comm, sizeof(site->comm));
		site->bytes = a->bytes;
		site->allocs = a->allocs;
		site->delta_bytes = trend_tab__delta(t->trend, &a->key, a->bytes, true);
		site->oldest_age_s = site_age(a->oldest_ns, now);
		site->trend = trend_tab__trend(t->trend, &a->key);
		site->rate = trend_tab__slope(t->trend, &a->key);	/* samples are 1 s apart */
		site->before_start = a->first_ns && a->first_ns < started_ns(t, a->key.tgid);
	}
	r->nsites = nsites;
	r->nsites_total = nsites;
	r->mem_bytes = total;
	r->mem_allocs = allocs;
	r->mem_delta_bytes = total - t->last_total;
	t->last_total = total;

	/* sort on the numbers first, then symbolize only what is shown */
	report__sort(r->sites, nsites, o->sort);
	if (o->all)
		top_processes(r, o);
	else if (o->top && nsites > o->top)
		r->nsites = o->top;
	for (int i = 0; i < r->nsites; i++)
		build_stack(t, find_target(t, r->sites[i].key.tgid), &r->sites[i].key, &r->sites[i]);

	if (t->o->track & LT_TRACK_THREADS)
		report_threads(t, r, now);
	if (t->o->track & LT_TRACK_TIMERS)
		report_timers(t, r, now);

	for (int d = 0; d < LT_DROP__MAX; d++) {
		uint64_t vals[ncpu > 0 ? ncpu : 1];
		__u32 key = d;

		memset(vals, 0, sizeof(vals));
		if (bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.drops), &key, vals) == 0)
			for (int c = 0; c < ncpu; c++)
				r->drops[d] += vals[c];
	}
	free(s.a);
	return 0;
}

static void *destroy_link(void *arg)
{
	bpf_link__destroy(arg);
	return NULL;
}

/*
 * Each uprobe detach waits for an RCU grace period (about 0.1 s here), one
 * after another. Detaching from parallel threads lets the waits overlap.
 */
static void destroy_links(struct bpf_link **links, int n)
{
	pthread_t *th = calloc(n ? n : 1, sizeof(*th));
	bool *started = calloc(n ? n : 1, sizeof(*started));

	for (int i = 0; i < n; i++) {
		if (th && started && pthread_create(&th[i], NULL, destroy_link, links[i]) == 0)
			started[i] = true;
		else
			bpf_link__destroy(links[i]);
	}
	for (int i = 0; i < n; i++)
		if (started && started[i])
			pthread_join(th[i], NULL);
	free(th);
	free(started);
}

void tracer__free(struct tracer *t)
{
	struct bpf_link **links = NULL;
	int nlinks = 0;

	if (!t)
		return;
	for (int i = 0; i < t->ntg; i++) {
		struct lt_plan *plans[] = { &t->tg[i].plan, &t->tg[i].extra };

		for (int k = 0; k < 2; k++) {
			for (int j = 0; j < plans[k]->nprobes; j++) {
				struct bpf_link *l[2] = { plans[k]->probes[j].lentry, plans[k]->probes[j].lret };

				for (int m = 0; m < 2; m++) {
					struct bpf_link **nl;

					if (!l[m])
						continue;
					nl = realloc(links, (nlinks + 1) * sizeof(*nl));
					if (!nl) {
						bpf_link__destroy(l[m]);
						continue;
					}
					links = nl;
					links[nlinks++] = l[m];
				}
			}
		}
	}
	for (int i = 0; i < t->ntp_links; i++)
		bpf_link__destroy(t->tp_links[i]);
	for (int j = 0; j < t->sysplan.nprobes; j++) {
		bpf_link__destroy(t->sysplan.probes[j].lentry);
		bpf_link__destroy(t->sysplan.probes[j].lret);
	}
	for (int j = 0; j < t->sysplan.nlink_fds; j++)
		close(t->sysplan.link_fds[j]);
	plan__free(&t->sysplan);
	destroy_links(links, nlinks);
	free(links);
	for (int i = 0; i < t->ntg; i++) {
		struct lt_plan *plans[] = { &t->tg[i].plan, &t->tg[i].extra };

		for (int k = 0; k < 2; k++)
			for (int j = 0; j < plans[k]->nlink_fds; j++)
				close(plans[k]->link_fds[j]);
	}
	for (int i = 0; i < t->ntg; i++) {
		plan__free(&t->tg[i].plan);
		plan__free(&t->tg[i].extra);
		syms__free(t->tg[i].syms);
		free(t->tg[i].tsites);
		free(t->tg[i].msites);
	}
	free(t->tg);
	uwload__free(t->uw);
	leaktrace_bpf__destroy(t->skel);
	trend_tab__free(t->trend);
	trend_tab__free(t->ttrend);
	trend_tab__free(t->mtrend);
	free(t->shared);
	free(t->gc_stacks);
	free(t);
}
