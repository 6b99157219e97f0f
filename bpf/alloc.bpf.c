// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Memory tracker: outstanding allocations by (tgid, address), per-site
 * totals by (tgid, stack id, caller ip) (bpf/memrec.bpf.h), and a
 * per-thread in-flight stack so that the outermost tracked call owns an
 * allocation.
 *
 * One entry program and one return program serve every allocator
 * function; the uprobe's bpf_cookie says which function was hit. With
 * --sample (bpf/sample.bpf.h) only sampled calls take a stack and are
 * recorded; on kernels with uprobe sessions one session program serves
 * both ends, and an unsampled call has no return trap at all.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "leaktrace.h"
#include "common.bpf.h"
#include "memrec.bpf.h"
#include "sample.bpf.h"

/* tgid -> bpf_ktime_get_ns() when the executable's entry point ran (-c). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, LT_MAX_TARGETS);
} started SEC(".maps");

/*
 * A new thread's empty in-flight stack, from .rodata: on the program's stack
 * it would take 232 of the 512 bytes that it shares with the unwinder's
 * bpf_loop callbacks (6.1 counts them together).
 */
static const struct lt_inflight inflight_zero;

static __always_inline __u64 func_size(__u32 func, struct pt_regs *ctx, __u64 *arg)
{
	__u64 a = PT_REGS_PARM1(ctx), b = PT_REGS_PARM2(ctx);

	*arg = 0;
	switch (func) {
	case LT_FN_CALLOC:
		return a * b;
	case LT_FN_REALLOC:
		*arg = a;
		return b;
	case LT_FN_REALLOCARRAY:
		*arg = a;
		return b * PT_REGS_PARM3(ctx);
	case LT_FN_POSIX_MEMALIGN:
		*arg = a;
		return PT_REGS_PARM3(ctx);
	case LT_FN_ALIGNED_ALLOC:
		return b;
	default:	/* malloc, valloc, pvalloc, new */
		return a;
	}
}

/*
 * The depth of INF once the entries of calls that returned without their
 * return probe firing are gone: those entered below SP (the stack grows
 * down), by a longjmp or an entry-only probe whose nested allocation never
 * came. Each is a missed return.
 */
static __always_inline __u32 pop_stale(struct lt_inflight *inf, __u64 sp)
{
	__u32 depth = inf->depth;

	if (depth > LT_INFLIGHT_DEPTH)
		depth = 0;
	for (int i = 0; i < LT_INFLIGHT_DEPTH; i++) {
		if (depth == 0 || inf->ent[slot(depth - 1)].sp >= sp)
			break;
		depth--;
		drop(LT_DROP_MISSED_RETURNS);
	}
	return depth;
}

/* Is block ADDR of TGID recorded? */
static __always_inline bool tracked(__u32 tgid, __u64 addr)
{
	struct lt_alloc_key key = { .tgid = tgid, .addr = addr };

	return bpf_map_lookup_elem(&allocs, &key) != NULL;
}

/*
 * A call's entry. Returns true when its return must run: an allocation
 * that is tracked (exact mode: every one; sampled: the sampled ones).
 */
static __always_inline bool alloc_entry(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 func = cookie & 0xff;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, tgid = id >> 32;
	struct lt_inflight *inf;
	struct lt_inflight_ent *e;
	__u64 sp = PT_REGS_SP(ctx), arg, size;
	__u32 depth;

	if (!tgid_wanted(tgid))
		return false;

	if (func == LT_FN_START) {
		__u64 now = bpf_ktime_get_ns();

		bpf_map_update_elem(&started, &tgid, &now, BPF_NOEXIST);
		return false;
	}
	if (func == LT_FN_FREE || func == LT_FN_DELETE) {
		__u64 ptr = PT_REGS_PARM1(ctx);

		if (ptr)
			lt_mem_forget(tgid, ptr);
		return false;
	}

	size = func_size(func, ctx, &arg);
	/*
	 * Sampled: a realloc of a sampled block always runs to its return,
	 * which moves the record as exact mode does; any other call is
	 * tracked when the countdown samples it.
	 */
	if (sample_rate && !(arg && (func == LT_FN_REALLOC || func == LT_FN_REALLOCARRAY) &&
			     tracked(tgid, arg)) &&
	    !sample_take(func, size, arg, sp))
		return false;

	inf = bpf_map_lookup_elem(&inflight, &tid);
	if (!inf) {
		bpf_map_update_elem(&inflight, &tid, &inflight_zero, BPF_ANY);
		inf = bpf_map_lookup_elem(&inflight, &tid);
		if (!inf)
			return false;
	}

	/*
	 * An entry AT our stack pointer tail-jumped here (glibc's
	 * realloc(NULL, n) ends in `jmp malloc`): it is still in flight and
	 * owns this call. Its return probe has already replaced [rsp] with
	 * the uretprobe trampoline, so this call must not take a stack.
	 */
	depth = pop_stale(inf, sp);
	if (depth >= LT_INFLIGHT_DEPTH) {
		inf->depth = depth;
		drop(LT_DROP_INFLIGHT_FULL);
		return false;
	}

	e = &inf->ent[slot(depth)];
	e->sp = sp;
	e->size = size;
	e->arg = arg;
	e->func = func;
	e->has_ret = !!(cookie & LT_COOKIE_HAS_RET);
	if (depth == 0) {
		/* Outermost: this call owns the allocation, so it takes the stack. */
		struct lt_site_key sk;

		take_site(ctx, tgid, &sk);
		e->caller = sk.caller;
		e->stack = sk.stack;
		e->stack_err = sk.stack_err;
	} else {
		e->caller = 0;
		e->stack = 0;
		e->stack_err = 0;
	}
	inf->depth = depth + 1;
	return e->has_ret;
}

/* Record the block RET of SIZE bytes: exact, or weighed as a sample. */
static __always_inline void alloc_record(__u32 tgid, __u64 ret, __u64 size, const struct lt_site_key *sk,
					 const struct lt_alloc_val *old)
{
	__u64 wb, wc;

	lt_weight(size, sample_rate, &wb, &wc);
	lt_mem_record(tgid, ret, size, wb, wc, sk, old);
}

static __always_inline void alloc_return(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, tgid = id >> 32;
	__u64 ret = PT_REGS_RC(ctx), entry_sp = PT_REGS_SP(ctx) - 8;
	struct lt_inflight *inf;
	struct lt_inflight_ent *e, *owner;
	struct lt_alloc_val oldv, *old;
	struct lt_alloc_key okey;
	struct lt_site_key sk;
	__u32 depth;

	if (!tgid_wanted(tgid))
		return;
	inf = bpf_map_lookup_elem(&inflight, &tid);
	if (!inf || inf->depth == 0) {
		/* sampled mode: the return of an unsampled call (no session here) */
		if (!sample_rate)
			drop(LT_DROP_UNMATCHED_RETURNS);
		return;
	}

	/* Entries deeper than ours lost their returns. */
	depth = pop_stale(inf, entry_sp);
	if (depth == 0 || inf->ent[slot(depth - 1)].sp != entry_sp) {
		inf->depth = depth;
		if (!sample_rate)
			drop(LT_DROP_UNMATCHED_RETURNS);
		return;
	}
	depth--;
	e = &inf->ent[slot(depth)];
	owner = e;

	/*
	 * Entry-only callers below us (operator new, and new(nothrow) around
	 * it) own this block; pop them. A caller with its own return probe
	 * records the block at its return instead.
	 */
	for (int i = 0; i < LT_INFLIGHT_DEPTH; i++) {
		struct lt_inflight_ent *outer;

		if (depth == 0)
			break;
		outer = &inf->ent[slot(depth - 1)];
		if (outer->has_ret)
			break;
		owner = outer;
		depth--;
	}
	inf->depth = depth;
	if (depth > 0)
		return;

	sk.tgid = tgid;
	sk.stack_err = owner->stack_err;
	sk.stack = owner->stack;
	sk.caller = owner->caller;

	switch (e->func) {
	case LT_FN_POSIX_MEMALIGN:
		if (ret != 0)
			return;
		ret = 0;
		if (bpf_probe_read_user(&ret, sizeof(ret), (void *)e->arg) || !ret)
			return;
		break;
	case LT_FN_REALLOC:
	case LT_FN_REALLOCARRAY:
		if (owner != e || !e->arg)
			break;
		if (!ret) {
			/* realloc(p, 0) freed p; any other NULL is a failure that keeps p. */
			if (e->size == 0)
				lt_mem_forget(tgid, e->arg);
			return;
		}
		okey.tgid = tgid;
		okey.pad = 0;
		okey.addr = e->arg;
		old = bpf_map_lookup_elem(&allocs, &okey);
		if (old) {
			__u64 wc;

			/*
			 * The block keeps its site and age; a sampled one also the
			 * number of blocks it stands for, now of the new size.
			 */
			oldv = *old;
			wc = oldv.w_count;
			lt_mem_forget(tgid, e->arg);
			lt_mem_record(tgid, ret, e->size, sample_rate ? (e->size * wc) >> LT_W_SHIFT : e->size,
				      sample_rate ? wc : LT_W_ONE, &sk, &oldv);
			return;
		}
		break;
	default:
		break;
	}
	if (ret)
		alloc_record(tgid, ret, owner->size, &sk, NULL);
}

SEC("uprobe")
int BPF_KPROBE(lt_alloc_entry)
{
	alloc_entry(ctx);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(lt_alloc_return)
{
	alloc_return(ctx);
	return 0;
}

/*
 * Sampled mode on kernels with uprobe sessions (6.13+): one program at
 * both ends of every call of one session link. The entry returns 1 for a
 * call that needs no return (unsampled, or no return probe planned), and
 * the kernel then skips the return trap; 0 runs this program again at the
 * return. The return is told from the entry by the instruction pointer:
 * at the entry it is the probed address (bpf_get_func_ip), at the return
 * the caller's. (No session kfunc: their prototypes differ between kernel
 * versions, and libbpf 1.1.2 would have to resolve them on kernels that
 * lack them.) Loaded with attach type BPF_TRACE_UPROBE_SESSION, whose
 * verifier wants a return value of provably 0 or 1.
 */
SEC("uprobe")
int BPF_KPROBE(lt_alloc_session)
{
	if (PT_REGS_IP(ctx) != bpf_get_func_ip(ctx)) {
		alloc_return(ctx);
		return 0;
	}
	if (alloc_entry(ctx))
		return 0;
	return 1;
}
