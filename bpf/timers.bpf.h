/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The timer tracker's maps and its syscall work (bpf/common.bpf.c owns the
 * maps, like every shared one; bpf/timer.bpf.c runs the rest). What the syscalls make, arm and release is
 * read at their exit from raw_syscalls:sys_exit (tp_btf), whose pt_regs
 * still hold the arguments: one link, where the per-syscall tracepoints
 * took fifteen, each a grace period to detach. When the fd tracker runs,
 * its sys_exit program calls timer_sys_exit() too (rodata
 * `timer_sys_shared`), so the timers add no program of their own there.
 */
#ifndef LT_TIMERS_BPF_H
#define LT_TIMERS_BPF_H

#include "common.bpf.h"
#include "fdtable.bpf.h"
#include "sysnr.h"

#define TFD_CLOEXEC		02000000
#define CLOSE_RANGE_CLOEXEC	(1U << 2)
#ifndef EINTR
#define EINTR			4
#endif

LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lt_timer_key);
	__type(value, struct lt_timer);
	__uint(max_entries, 1 << 16);
} timers SEC(".maps");

/* struct file * of a tracked timerfd -> its key */
LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__type(value, struct lt_timer_key);
	__uint(max_entries, 1 << 16);
} tfiles SEC(".maps");

/* tid -> in-flight timer creation (from the libc wrapper's entry) */
LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, struct lt_tmcreate);
	__uint(max_entries, 4096);
} tmcreate SEC(".maps");

static __always_inline void forget_timer(struct lt_timer_key *k)
{
	struct lt_timer *t = bpf_map_lookup_elem(&timers, k);

	if (!t)
		return;
	if (t->file)
		bpf_map_delete_elem(&tfiles, &t->file);
	bpf_map_delete_elem(&timers, k);
}

static __always_inline struct lt_tmcreate *pending_create(__u32 kind)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct lt_tmcreate *c = bpf_map_lookup_elem(&tmcreate, &tid);

	return c && c->kind == kind ? c : NULL;
}

static __always_inline void add_timer(struct lt_timer_key *k, struct lt_tmcreate *c, __u64 file)
{
	struct lt_timer t = {};

	t.site = c->site;
	t.created_ns = bpf_ktime_get_ns();
	t.clock = c->clock;
	t.flags = c->flags;
	t.cloexec = k->kind == LT_TIMER_POSIX || (c->flags & TFD_CLOEXEC);
	t.file = file;
	if (bpf_map_update_elem(&timers, k, &t, BPF_ANY)) {
		drop(LT_DROP_TIMERS_UNTRACKED);
		return;
	}
	if (file)
		bpf_map_update_elem(&tfiles, &file, k, BPF_ANY);
}

/* timerfd_create(clock, flags) returned RET: the fd of the wrapper's pending creation. */
static __always_inline void timerfd_created(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct lt_tmcreate *c = pending_create(LT_TIMER_FD);
	struct lt_timer_key k = {};

	if (!c)
		return;
	if (ret >= 0) {
		k.tgid = id >> 32;
		k.kind = LT_TIMER_FD;
		k.id = ret;
		add_timer(&k, c, release_hook != LT_HOOK_TRACEPOINT ? slot_file(cur_fdt(), ret) : 0);
	}
	bpf_map_delete_elem(&tmcreate, &tid);
}

/* timer_create(clock, sevp, kernel_timer_t *idp) returned RET. */
static __always_inline void timer_created(long ret, __u64 idp)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct lt_tmcreate *c = pending_create(LT_TIMER_POSIX);
	struct lt_timer_key k = {};
	int kid = 0;

	if (!c)
		return;
	if (ret == 0 && idp && bpf_probe_read_user(&kid, sizeof(kid), (void *)idp) == 0) {
		k.tgid = id >> 32;
		k.kind = LT_TIMER_POSIX;
		k.id = kid;
		add_timer(&k, c, 0);
	}
	bpf_map_delete_elem(&tmcreate, &tid);
}

/* Armed: (id, flags, const struct itimerspec *new, old) for both kinds. */
static __always_inline void arm(__u32 kind, __u64 id, __u64 spec)
{
	struct lt_timer_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .kind = kind, .id = id };
	struct lt_timer *t = bpf_map_lookup_elem(&timers, &k);
	struct __kernel_itimerspec its = {};

	if (!t || bpf_probe_read_user(&its, sizeof(its), (void *)spec))
		return;
	t->interval_ns = its.it_interval.tv_sec * 1000000000ULL + its.it_interval.tv_nsec;
	t->value_ns = its.it_value.tv_sec * 1000000000ULL + its.it_value.tv_nsec;
	t->armed = t->value_ns != 0;
}

static __always_inline void release(__u32 kind, __u64 id)
{
	struct lt_timer_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .kind = kind, .id = id };

	forget_timer(&k);
}

/* close_range(first, last, flags): by walking the tracked timers of the process. */
struct range_ctx {
	__u32 tgid;
	__u32 cloexec_only;
	__u64 first, last;
};

static long range_cb(struct bpf_map *map, struct lt_timer_key *k, struct lt_timer *t, struct range_ctx *rc)
{
	if (k->tgid != rc->tgid || k->kind != LT_TIMER_FD || k->id < rc->first || k->id > rc->last)
		return 0;
	if (rc->cloexec_only) {
		t->cloexec = 1;
	} else {
		struct lt_timer_key key = *k;

		if (t->file)
			bpf_map_delete_elem(&tfiles, &t->file);
		bpf_map_delete_elem(map, &key);
	}
	return 0;
}

/*
 * Syscall NR returned RET with the arguments in REGS. Without a release
 * hook (tracepoint mode), timerfds end by fd: a successful close (or one
 * that reported EINTR: Linux frees the fd anyway), a dup2/dup3 onto it, or
 * close_range over it. A settime counts once it succeeded.
 */
static __always_inline void timer_sys_exit(long nr, struct pt_regs *regs, long ret)
{
	bool by_fd = release_hook == LT_HOOK_TRACEPOINT;
	struct range_ctx rc;

	switch (nr) {
	case NR_timerfd_create:
		timerfd_created(ret);
		break;
	case NR_timer_create:
		timer_created(ret, regs->dx);
		break;
	case NR_timerfd_settime:
		if (ret == 0)
			arm(LT_TIMER_FD, (int)regs->di, regs->dx);
		break;
	case NR_timer_settime:
		if (ret == 0)
			arm(LT_TIMER_POSIX, (int)regs->di, regs->dx);
		break;
	case NR_timer_delete:
		if (ret == 0)
			release(LT_TIMER_POSIX, (int)regs->di);
		break;
	case NR_close:
		if (by_fd && (ret == 0 || ret == -EINTR))
			release(LT_TIMER_FD, (int)regs->di);
		break;
	case NR_dup2:
	case NR_dup3:
		if (by_fd && ret >= 0 && (int)regs->di != (int)regs->si)
			release(LT_TIMER_FD, (int)regs->si);
		break;
	case NR_close_range:
		if (ret != 0)
			break;
		rc.tgid = bpf_get_current_pid_tgid() >> 32;
		rc.first = (unsigned int)regs->di;
		rc.last = (unsigned int)regs->si;
		rc.cloexec_only = !!(regs->dx & CLOSE_RANGE_CLOEXEC);
		if (by_fd || rc.cloexec_only)
			bpf_for_each_map_elem(&timers, range_cb, &rc, 0);
		break;
	default:
		break;
	}
}

#endif /* LT_TIMERS_BPF_H */
