// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Timer tracker: timerfds and POSIX timers that were never closed.
 *
 * The creation stack comes from a uprobe on the libc wrapper's entry
 * (syscall-tracepoint stacks are wrong for timers); the fd or kernel
 * timer id from the syscall's successful exit. Arming comes from the
 * settime syscalls. Release: timer_delete; for timerfds the best hook the
 * kernel has: fentry, then kprobe on timerfd_release (by struct file *, so
 * a dup'ed fd keeps the timer alive), else the exits of close,
 * close_range, dup2/dup3 and exec (by fd). The syscalls are seen at
 * raw_syscalls:sys_exit (bpf/timers.bpf.h).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "leaktrace.h"
#include "timers.bpf.h"

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

/*
 * Every syscall's exit, when the fd tracker's own sys_exit program does
 * not call timer_sys_exit() already (user space loads one of the two).
 */
SEC("tp_btf/sys_exit")
int BPF_PROG(lt_timer_sys_exit, struct pt_regs *regs, long ret)
{
	timer_sys_exit(regs->orig_ax, regs, ret);
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
