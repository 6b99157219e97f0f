/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Creation stacks and sites, for every tracker: frame pointers or the unwinder. */
#ifndef LT_COMMON_BPF_H
#define LT_COMMON_BPF_H

#include "maps.bpf.h"
#include "unwind.bpf.h"

/*
 * The user stack, stored once under a 64-bit hash of its frames. 0 and
 * *err on failure. CTX is the program's context (bpf_get_stack() walks
 * frame pointers from the task's user registers); IP, SP and BP are the
 * user registers the unwinder starts from.
 */
static __always_inline __u64 take_stack_at(void *ctx, __u64 ip, __u64 sp, __u64 bp, __u32 tgid,
					   __s32 *err, bool sys)
{
	__u32 zero = 0, *slot;
	__u64 *buf = bpf_map_lookup_elem(&stack_scratch, &zero);
	__u64 h = 0xcbf29ce484222325ULL;
	long n;

	*err = 0;
	if (!buf) {
		*err = -2;
		return 0;
	}
	slot = bpf_map_lookup_elem(&uw_tgid, &tgid);
	if (slot && (sys || !(*slot & LT_UW_SYS_ONLY)))
		n = uw_walk(ip, sp, bp, *slot & ~LT_UW_SYS_ONLY, buf);
	else
		n = -ENOENT;
	if (n == -ENOENT) {	/* the rest of buf is zeroed by the helper */
		n = bpf_get_stack(ctx, buf, LT_MAX_STACK_DEPTH * sizeof(__u64), BPF_F_USER_STACK);
		/* the pc the walk stands for (--inject's events stand for the hooked function's entry) */
		if (n > 0)
			buf[0] = ip;
	}
	if (n <= 0) {
		*err = n ? n : -61;	/* ENODATA */
		drop(LT_DROP_STACK_ERRORS);
		return 0;
	}
	for (int i = 0; i < LT_MAX_STACK_DEPTH; i++) {
		if (i * sizeof(__u64) >= (__u64)n)
			break;
		h = (h ^ buf[i]) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	h |= 1;	/* never 0: 0 means no stack */
	if (!bpf_map_lookup_elem(&stacks, &h) &&
	    bpf_map_update_elem(&stacks, &h, buf, BPF_NOEXIST) && !bpf_map_lookup_elem(&stacks, &h)) {
		*err = -28;	/* ENOSPC: the stacks map is full */
		drop(LT_DROP_STACK_ERRORS);
		return 0;
	}
	return h;
}

/* The user stack at a uprobe. */
static __always_inline __u64 take_stack(struct pt_regs *ctx, __u32 tgid, __s32 *err)
{
	return take_stack_at(ctx, PT_REGS_IP(ctx), PT_REGS_SP(ctx), ctx->bp, tgid, err, false);
}

/*
 * The creation site at a syscall tracepoint: the stack from the user
 * registers the syscall saved, walked with the unwind tables (every -p and
 * -c target has them for these walks, LT_UW_SYS_ONLY): they step through
 * the libc wrapper to the function that called it. Frame pointers alone
 * (-a) lose that caller, since the wrappers keep no frame of their own:
 * there the fd and mmap trackers take the stack at a uprobe on the wrapper
 * instead, and this is the fallback for what bypasses the wrappers. No
 * caller: the walk has it.
 */
static __always_inline void take_site_sys(void *ctx, __u32 tgid, struct lt_site_key *sk)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	sk->tgid = tgid;
	sk->caller = 0;
	sk->stack = take_stack_at(ctx, BPF_CORE_READ(regs, ip), BPF_CORE_READ(regs, sp),
				  BPF_CORE_READ(regs, bp), tgid, &sk->stack_err, true);
}

/* The creation site of whatever is being made now: stack at the outermost entry, and [rsp]. */
static __always_inline void take_site(struct pt_regs *ctx, __u32 tgid, struct lt_site_key *sk)
{
	__u64 caller = 0;

	bpf_probe_read_user(&caller, sizeof(caller), (void *)PT_REGS_SP(ctx));
	sk->tgid = tgid;
	sk->stack = take_stack(ctx, tgid, &sk->stack_err);
	sk->caller = caller;
}

/* A hash of an ancestry: the stacks and callers of every level. Never 0. */
static __always_inline __u64 go_anc_hash(const struct lt_go_anc *a)
{
	__u64 h = 0xcbf29ce484222325ULL;

	for (int i = 0; i < LT_GO_ANC_DEPTH; i++) {
		if (i >= a->n)
			break;
		h = (h ^ a->sites[i].stack) * 0x100000001b3ULL;
		h = (h ^ a->sites[i].caller) * 0x100000001b3ULL;
	}
	return h | 1;
}

/*
 * --go-ancestry, in a Go program: the ancestry of the goroutine running on
 * this thread (g from the thread's TLS), kept under its hash in
 * go_anc_hashes so that user space can append it to a record's stack.
 * The hash, or 0 when none is known.
 */
static __always_inline __u64 go_anc_of(__u32 tgid)
{
	struct lt_go_timer_key k = { .tgid = tgid };
	struct task_struct *task;
	struct lt_go_anc *a;
	__s64 *off;
	__u64 fs, h;

	if (!go_ancestry || !(off = bpf_map_lookup_elem(&go_tls, &tgid)))
		return 0;
	task = (struct task_struct *)bpf_get_current_task();
	fs = BPF_CORE_READ(task, thread.fsbase);
	if (!fs || bpf_probe_read_user(&k.ptr, sizeof(k.ptr), (void *)(fs + *off)) || !k.ptr)
		return 0;
	a = bpf_map_lookup_elem(&go_anc, &k);
	if (!a)
		return 0;
	h = go_anc_hash(a);
	if (!bpf_map_lookup_elem(&go_anc_hashes, &h))
		bpf_map_update_elem(&go_anc_hashes, &h, a, BPF_ANY);
	return h;
}

#endif /* LT_COMMON_BPF_H */
