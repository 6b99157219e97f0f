// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Timer tracker: timerfds and POSIX timers that were never closed.
 *
 * The creation stack comes from a uprobe on the libc wrapper's entry
 * (syscall-tracepoint stacks are wrong for timers); the fd or kernel
 * timer id from the syscall's successful exit. Arming comes from the
 * settime syscalls. Release: timer_delete; for timerfds the best hook the
 * kernel has: fentry, then kprobe on timerfd_release (by struct file *, so
 * a dup'ed fd keeps the timer alive), else the sys_exits of close,
 * close_range, dup2/dup3 and exec (by fd).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "leaktrace.h"
#include "common.bpf.h"

#define TFD_CLOEXEC		02000000
#define CLOSE_RANGE_CLOEXEC	(1U << 2)

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lt_timer_key);
	__type(value, struct lt_timer);
	__uint(max_entries, 1 << 16);
} timers SEC(".maps");

/* struct file * of a tracked timerfd -> its key */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__type(value, struct lt_timer_key);
	__uint(max_entries, 1 << 16);
} tfiles SEC(".maps");

/* tid -> in-flight timer creation */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, struct lt_tmcreate);
	__uint(max_entries, 4096);
} tmcreate SEC(".maps");

/* tid -> key a dup2/dup3 or timer_delete will release if it succeeds */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, struct lt_timer_key);
	__uint(max_entries, 4096);
} tmpending SEC(".maps");

/* Go timers: the creation site of each started one (user space finds the live ones in the P heaps). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct lt_go_timer_key);
	__type(value, struct lt_go_site);
	__uint(max_entries, 1 << 16);
} go_timers SEC(".maps");

/*
 * A Go timer starts: its creation stack, by the key user space finds it
 * by. Entry only (a uretprobe would corrupt the moving goroutine stack);
 * Go keeps frame pointers, so the stack is walked like any other.
 */
SEC("uprobe")
int BPF_KPROBE(lt_go_timer)
{
	__u32 func = bpf_get_attach_cookie(ctx) & 0xff;
	__u64 id = bpf_get_current_pid_tgid();
	struct lt_go_timer_key k = { .tgid = id >> 32 };
	__u64 ax = ctx->ax, si = ctx->si;	/* each read at its fixed offset: the verifier wants it so */
	struct lt_go_site gs;

	if (!tgid_wanted(k.tgid))
		return 0;
	lt_barrier_var(ax);
	lt_barrier_var(si);
	k.ptr = func == LT_FN_GO_NEW_TIMER ? si : ax;
	if (!k.ptr)
		return 0;
	take_site(ctx, k.tgid, &gs.site);
	gs.anc = go_anc_of(k.tgid);
	if (bpf_map_update_elem(&go_timers, &k, &gs, BPF_ANY))
		drop(LT_DROP_TIMERS_UNTRACKED);
	return 0;
}

static __always_inline void forget_timer(struct lt_timer_key *k)
{
	struct lt_timer *t = bpf_map_lookup_elem(&timers, k);

	if (!t)
		return;
	if (t->file)
		bpf_map_delete_elem(&tfiles, &t->file);
	bpf_map_delete_elem(&timers, k);
}

SEC("uprobe")
int BPF_KPROBE(lt_timer_entry)
{
	__u32 func = bpf_get_attach_cookie(ctx) & 0xff;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, tgid = id >> 32;
	struct lt_tmcreate c = {};

	if (!tgid_wanted(tgid))
		return 0;
	take_site(ctx, tgid, &c.site);
	c.clock = PT_REGS_PARM1(ctx);
	if (func == LT_FN_TIMERFD_CREATE) {
		c.kind = LT_TIMER_FD;
		c.flags = PT_REGS_PARM2(ctx);
	} else {
		c.kind = LT_TIMER_POSIX;
	}
	bpf_map_update_elem(&tmcreate, &tid, &c, BPF_ANY);
	return 0;
}

static __always_inline struct lt_tmcreate *pending_create(__u32 kind)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct lt_tmcreate *c = bpf_map_lookup_elem(&tmcreate, &tid);

	return c && c->kind == kind ? c : NULL;
}

/* The struct file * behind FD in the current task (CO-RE walk of the fd table). */
static __always_inline __u64 file_of(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file **fdarr;
	struct file *f = NULL;
	unsigned int max;

	max = BPF_CORE_READ(task, files, fdt, max_fds);
	if (fd < 0 || (unsigned int)fd >= max)
		return 0;
	fdarr = BPF_CORE_READ(task, files, fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &fdarr[fd]);
	return (__u64)f;
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

SEC("tracepoint/syscalls/sys_exit_timerfd_create")
int lt_sys_exit_timerfd_create(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct lt_tmcreate *c = pending_create(LT_TIMER_FD);
	struct lt_timer_key k = {};

	if (!c)
		return 0;
	if (ctx->ret >= 0) {
		k.tgid = bpf_get_current_pid_tgid() >> 32;
		k.kind = LT_TIMER_FD;
		k.id = ctx->ret;
		add_timer(&k, c, release_hook != LT_HOOK_TRACEPOINT ? file_of(ctx->ret) : 0);
	}
	bpf_map_delete_elem(&tmcreate, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_timer_create")
int lt_sys_enter_timer_create(struct trace_event_raw_sys_enter *ctx)
{
	struct lt_tmcreate *c = pending_create(LT_TIMER_POSIX);

	if (c)
		c->idptr = ctx->args[2];
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_timer_create")
int lt_sys_exit_timer_create(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct lt_tmcreate *c = pending_create(LT_TIMER_POSIX);
	struct lt_timer_key k = {};
	int kid = 0;

	if (!c)
		return 0;
	if (ctx->ret == 0 && c->idptr &&
	    bpf_probe_read_user(&kid, sizeof(kid), (void *)c->idptr) == 0) {
		k.tgid = bpf_get_current_pid_tgid() >> 32;
		k.kind = LT_TIMER_POSIX;
		k.id = kid;
		add_timer(&k, c, 0);
	}
	bpf_map_delete_elem(&tmcreate, &tid);
	return 0;
}

/* Arming: (id, flags, const struct itimerspec *new, old) for both kinds. */
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

SEC("tracepoint/syscalls/sys_enter_timerfd_settime")
int lt_sys_enter_timerfd_settime(struct trace_event_raw_sys_enter *ctx)
{
	arm(LT_TIMER_FD, (int)ctx->args[0], ctx->args[2]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_timer_settime")
int lt_sys_enter_timer_settime(struct trace_event_raw_sys_enter *ctx)
{
	arm(LT_TIMER_POSIX, (int)ctx->args[0], ctx->args[2]);
	return 0;
}

/* Remember what a syscall will release if it succeeds. */
static __always_inline void hold(__u32 kind, __u64 id)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct lt_timer_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .kind = kind, .id = id };

	if (bpf_map_lookup_elem(&timers, &k))
		bpf_map_update_elem(&tmpending, &tid, &k, BPF_ANY);
}

static __always_inline void release_if(long ok)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct lt_timer_key *k = bpf_map_lookup_elem(&tmpending, &tid);

	if (!k)
		return;
	if (ok)
		forget_timer(k);
	bpf_map_delete_elem(&tmpending, &tid);
}

SEC("tracepoint/syscalls/sys_enter_timer_delete")
int lt_sys_enter_timer_delete(struct trace_event_raw_sys_enter *ctx)
{
	hold(LT_TIMER_POSIX, (int)ctx->args[0]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_timer_delete")
int lt_sys_exit_timer_delete(struct trace_event_raw_sys_exit *ctx)
{
	release_if(ctx->ret == 0);
	return 0;
}

/* ---- timerfd release: the tracepoint fallback, by fd ---- */

SEC("tracepoint/syscalls/sys_enter_close")
int lt_sys_enter_close(struct trace_event_raw_sys_enter *ctx)
{
	if (release_hook == LT_HOOK_TRACEPOINT)
		hold(LT_TIMER_FD, (int)ctx->args[0]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_close")
int lt_sys_exit_close(struct trace_event_raw_sys_exit *ctx)
{
	/* Linux frees the fd even when close() reports EINTR */
	release_if(ctx->ret == 0 || ctx->ret == -4);
	return 0;
}

/* dup2/dup3(oldfd, newfd): a successful call onto a tracked fd closes it. */
static __always_inline void dup_enter(struct trace_event_raw_sys_enter *ctx)
{
	if (release_hook == LT_HOOK_TRACEPOINT && (int)ctx->args[0] != (int)ctx->args[1])
		hold(LT_TIMER_FD, (int)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_dup2")
int lt_sys_enter_dup2(struct trace_event_raw_sys_enter *ctx)
{
	dup_enter(ctx);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_dup3")
int lt_sys_enter_dup3(struct trace_event_raw_sys_enter *ctx)
{
	dup_enter(ctx);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_dup2")
int lt_sys_exit_dup2(struct trace_event_raw_sys_exit *ctx)
{
	release_if(ctx->ret >= 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_dup3")
int lt_sys_exit_dup3(struct trace_event_raw_sys_exit *ctx)
{
	release_if(ctx->ret >= 0);
	return 0;
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

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, struct range_ctx);
	__uint(max_entries, 1024);
} tmrange SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_close_range")
int lt_sys_enter_close_range(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct range_ctx rc = {
		.tgid = bpf_get_current_pid_tgid() >> 32,
		.first = (unsigned int)ctx->args[0],
		.last = (unsigned int)ctx->args[1],
		.cloexec_only = !!(ctx->args[2] & CLOSE_RANGE_CLOEXEC),
	};

	if (release_hook == LT_HOOK_TRACEPOINT || rc.cloexec_only)
		bpf_map_update_elem(&tmrange, &tid, &rc, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_close_range")
int lt_sys_exit_close_range(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct range_ctx *rc = bpf_map_lookup_elem(&tmrange, &tid);
	struct range_ctx copy;

	if (!rc)
		return 0;
	copy = *rc;
	bpf_map_delete_elem(&tmrange, &tid);
	if (ctx->ret == 0)
		bpf_for_each_map_elem(&timers, range_cb, &copy, 0);
	return 0;
}

/* A successful exec closes CLOEXEC fds and deletes every POSIX timer. */
struct exec_ctx {
	__u32 tgid;
	__u32 by_fd;	/* timerfds are released here too (tracepoint fallback) */
};

static long exec_cb(struct bpf_map *map, struct lt_timer_key *k, struct lt_timer *t, struct exec_ctx *ec)
{
	struct lt_timer_key key = *k;

	if (k->tgid != ec->tgid || !t->cloexec)
		return 0;
	if (k->kind == LT_TIMER_FD && !ec->by_fd)
		return 0;
	if (t->file)
		bpf_map_delete_elem(&tfiles, &t->file);
	bpf_map_delete_elem(map, &key);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(lt_timer_exec, struct task_struct *p)
{
	struct exec_ctx ec = { .tgid = p->tgid, .by_fd = release_hook == LT_HOOK_TRACEPOINT };

	bpf_for_each_map_elem(&timers, exec_cb, &ec, 0);
	return 0;
}

/* ---- timerfd release: by struct file *, when the last reference goes ---- */

static __always_inline void file_released(struct file *file)
{
	__u64 f = (__u64)file;
	struct lt_timer_key *k = bpf_map_lookup_elem(&tfiles, &f);
	struct lt_timer_key key;

	if (!k)
		return;
	key = *k;
	bpf_map_delete_elem(&tfiles, &f);
	bpf_map_delete_elem(&timers, &key);
}

SEC("fentry/timerfd_release")
int BPF_PROG(lt_timerfd_release_fentry, struct inode *inode, struct file *file)
{
	file_released(file);
	return 0;
}

SEC("kprobe/timerfd_release")
int BPF_KPROBE(lt_timerfd_release_kprobe, struct inode *inode, struct file *file)
{
	file_released(file);
	return 0;
}
