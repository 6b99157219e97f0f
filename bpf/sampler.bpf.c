// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --inject: the in-process sampler's events (sampler/hooks.S). Only
 * sampled calls reach these uprobes, on the sampler file's two event
 * functions; unsampled ones never leave the target.
 *
 * At lt_event_alloc the stack pointer and the callee-saved registers are
 * those of the hooked function's entry, so the stack is walked from
 * ip = the function's entry (r8) exactly as at a uprobe on it, and the
 * caller is [rsp]. For the block of a sampled operator new, recorded at
 * the malloc it called, r9 is the new's entry sp: the walk starts there
 * (the new keeps rbp and the other callee-saved registers as its caller
 * had them). The block is recorded with the weights of --sample
 * (bpf/memrec.bpf.h) at the sampler's rate.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "leaktrace.h"
#include "common.bpf.h"
#include "memrec.bpf.h"

/* lt_event_alloc(ptr, size, weight, old, fn, walk_sp) */
SEC("uprobe")
int BPF_KPROBE(lt_smp_alloc, __u64 ptr, __u64 size, __u64 weight, __u64 old, __u64 fn)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct lt_alloc_key okey = { .tgid = tgid, .addr = old };
	struct lt_alloc_val oldv, *o = NULL;
	struct lt_site_key sk;
	__u64 w_bytes, w_count, caller = 0, sp = PT_REGS_SP(ctx), walk_sp = ctx->r9;

	if (!tgid_wanted(tgid))
		return 0;
	barrier_var(walk_sp);	/* two loads, not a load from a chosen ctx offset (refused) */
	if (walk_sp)
		sp = walk_sp;
	if (old) {
		/* realloc moved a sampled block: it keeps its site and age */
		struct lt_alloc_val *v = bpf_map_lookup_elem(&allocs, &okey);

		if (v) {
			oldv = *v;
			o = &oldv;
		}
		lt_mem_forget(tgid, old);
	}
	if (!ptr)
		return 0;
	if (o) {
		/* as --sample: the moved block stands for as many blocks as before, at its new size */
		w_count = o->w_count;
		w_bytes = (size * w_count) >> LT_W_SHIFT;
		lt_mem_record(tgid, ptr, size, w_bytes, w_count, NULL, o);
		return 0;
	}
	lt_weight(size, sample_rate, &w_bytes, &w_count);
	bpf_probe_read_user(&caller, sizeof(caller), (void *)sp);
	sk.tgid = tgid;
	sk.caller = caller;
	sk.stack = take_stack_at(ctx, fn, sp, ctx->bp, tgid, &sk.stack_err, false);
	lt_mem_record(tgid, ptr, size, w_bytes, w_count, &sk, NULL);
	return 0;
}

/* lt_event_free(ptr): a sampled block goes */
SEC("uprobe")
int BPF_KPROBE(lt_smp_free, __u64 ptr)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (tgid_wanted(tgid) && ptr)
		lt_mem_forget(tgid, ptr);
	return 0;
}

