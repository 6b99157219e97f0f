/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Creation stacks and sites, for every tracker: frame pointers or the unwinder. */
#ifndef LT_COMMON_BPF_H
#define LT_COMMON_BPF_H

#include "maps.bpf.h"
#include "unwind.bpf.h"

/*
 * A frame-pointer walk from BP, as bpf_get_stack(BPF_F_USER_STACK) makes
 * it (IP first, then the return address of each frame), into BUF, ended
 * by a 0. Bytes written, like the helper. Cheaper here than the helper,
 * whose perf callchain machinery cost about 5 us per call on 6.18 against
 * about 1 us for this walk (README, "Performance"); and a uretprobe
 * trampoline in a frame (a pending return probe of an outer call) is
 * replaced by the return address it stands for, on every kernel.
 */
struct lt_fp_walk {
	__u64 bp;
	__u64 tramp;		/* the uretprobe trampoline's address; 0: none */
	__u32 n;		/* frames in stack_scratch */
	__u32 pad;
};

/* One frame (a bpf_loop() callback: verified once, however deep the walk). */
static long fp_step(__u64 i, void *arg)
{
	struct lt_fp_walk *w = arg;
	struct { __u64 next, ret; } f;
	__u32 zero = 0, n;
	__u64 *buf = bpf_map_lookup_elem(&stack_scratch, &zero), bp = w->bp;

	if (!buf || !bp || (bp & 7) || bp >= 0x7ffffffff000ULL)
		return 1;
	if (bpf_probe_read_user(&f, sizeof(f), (void *)bp) || !f.ret)
		return 1;
	if (w->tramp && f.ret == w->tramp) {
		f.ret = uw_orig_return(bp + 8);
		if (!f.ret)
			return 1;
	}
	/* bounds checked next to the store: 6.1 loses them across a spill */
	n = w->n;
	lt_barrier_var(n);
	if (n >= LT_MAX_STACK_DEPTH)
		return 1;
	buf[n] = f.ret;
	w->n = n + 1;
	if (f.next <= bp)
		return 1;
	w->bp = f.next;
	return 0;
}

static __always_inline long fp_walk(__u64 ip, __u64 bp, __u64 *buf)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct lt_fp_walk w = { .bp = bp };
	__u32 zero = 0, n;
	__u64 *z = bpf_map_lookup_elem(&uw_zero, &zero);

	if (!z)
		return -ENOENT;
	/* from the opaque 0 (see uw_zero): else 6.7+ verifies each step apart, as n differs */
	w.n = *z + 1;
	w.tramp = BPF_CORE_READ(task, mm, uprobes_state.xol_area, vaddr);
	buf[0] = ip;
	bpf_loop(LT_MAX_STACK_DEPTH - 1, fp_step, &w, 0);
	n = w.n;
	lt_barrier_var(n);
	if (n < LT_MAX_STACK_DEPTH)
		buf[n] = 0;
	return n * sizeof(__u64);
}

struct lt_hash_walk {
	__u64 h;
	__u64 n;	/* frames to hash */
};

/* One frame of stack_scratch into the hash (a bpf_loop() callback, verified once). */
static long hash_step(__u64 i, void *arg)
{
	struct lt_hash_walk *hs = arg;
	__u32 zero = 0;
	__u64 *buf = bpf_map_lookup_elem(&stack_scratch, &zero), h = hs->h;

	if (!buf || i >= hs->n || i >= LT_MAX_STACK_DEPTH)
		return 1;
	h = (h ^ buf[i]) * 0x100000001b3ULL;
	hs->h = h ^ (h >> 29);
	return 0;
}

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
	struct lt_hash_walk hs = { .h = 0xcbf29ce484222325ULL };
	__u64 h;
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
	if (n == -ENOENT)
		n = fp_walk(ip, bp, buf);
	if (n <= 0) {
		*err = n ? n : -61;	/* ENODATA */
		drop(LT_DROP_STACK_ERRORS);
		return 0;
	}
	hs.n = n / sizeof(__u64);
	bpf_loop(LT_MAX_STACK_DEPTH, hash_step, &hs, 0);	/* hs.h is unknown to the verifier already */
	h = hs.h | 1;	/* never 0: 0 means no stack */
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
