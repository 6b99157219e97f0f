// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Memory tracker: outstanding allocations by (tgid, address), per-site
 * totals by (tgid, stack id, caller ip), and a per-thread in-flight stack
 * so that the outermost tracked call owns an allocation.
 *
 * One entry program and one return program serve every allocator
 * function; the uprobe's bpf_cookie says which function was hit.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "leaktrace.h"
#include "common.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lt_alloc_key);
	__type(value, struct lt_alloc_val);
	__uint(max_entries, 1 << 20);	/* --max-allocs, set before load */
} allocs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lt_site_key);
	__type(value, struct lt_site_val);
	__uint(max_entries, 1 << 16);
} sites SEC(".maps");

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

/* Forget a tracked block: subtract it from its site. */
static __always_inline void forget(__u32 tgid, __u64 addr)
{
	struct lt_alloc_key key = { .tgid = tgid, .addr = addr };
	struct lt_alloc_val *v;
	struct lt_site_val *s;

	v = bpf_map_lookup_elem(&allocs, &key);
	if (!v)
		return;	/* unknown pointer: from before the attach, or untracked */
	s = bpf_map_lookup_elem(&sites, &v->site);
	if (s) {
		__sync_fetch_and_sub(&s->bytes, v->size);
		__sync_fetch_and_sub(&s->allocs, 1);
	}
	bpf_map_delete_elem(&allocs, &key);
}

static __always_inline struct lt_site_val *site_get(struct lt_site_key *sk, __u64 now)
{
	struct lt_site_val *s, init = { .first_ns = now };

	s = bpf_map_lookup_elem(&sites, sk);
	if (s)
		return s;
	bpf_map_update_elem(&sites, sk, &init, BPF_NOEXIST);
	return bpf_map_lookup_elem(&sites, sk);
}

/*
 * Record a new block. A realloc of a tracked block passes the old block's
 * record in OLD: the block keeps its original site and age.
 */
static __always_inline void record(__u32 tgid, __u64 addr, __u64 size,
				   const struct lt_site_key *site,
				   const struct lt_alloc_val *old)
{
	struct lt_alloc_key key = { .tgid = tgid, .addr = addr };
	struct lt_alloc_val val = {};
	struct lt_site_val *s;
	__u64 now = bpf_ktime_get_ns();
	long err;

	if (old) {
		val.site = old->site;
		val.ts_ns = old->ts_ns;
	} else {
		val.site = *site;
		val.ts_ns = now;
	}
	val.size = size;

	s = site_get(&val.site, now);
	if (!s) {
		drop(LT_DROP_SITES_FULL);
		drop(LT_DROP_ALLOCS_UNTRACKED);
		return;
	}
	err = bpf_map_update_elem(&allocs, &key, &val, BPF_NOEXIST);
	if (err == -EEXIST) {
		/* The address came back without a free we saw: drop the stale block. */
		forget(tgid, addr);
		err = bpf_map_update_elem(&allocs, &key, &val, BPF_NOEXIST);
	}
	if (err) {
		drop(LT_DROP_ALLOCS_UNTRACKED);
		return;
	}
	__sync_fetch_and_add(&s->bytes, size);
	__sync_fetch_and_add(&s->allocs, 1);
	__sync_fetch_and_add(&s->total_allocs, 1);
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

SEC("uprobe")
int BPF_KPROBE(lt_alloc_entry)
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
		return 0;

	if (func == LT_FN_START) {
		__u64 now = bpf_ktime_get_ns();

		bpf_map_update_elem(&started, &tgid, &now, BPF_NOEXIST);
		return 0;
	}
	if (func == LT_FN_FREE || func == LT_FN_DELETE) {
		__u64 ptr = PT_REGS_PARM1(ctx);

		if (ptr)
			forget(tgid, ptr);
		return 0;
	}

	size = func_size(func, ctx, &arg);

	inf = bpf_map_lookup_elem(&inflight, &tid);
	if (!inf) {
		bpf_map_update_elem(&inflight, &tid, &inflight_zero, BPF_ANY);
		inf = bpf_map_lookup_elem(&inflight, &tid);
		if (!inf)
			return 0;
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
		return 0;
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
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(lt_alloc_return)
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
		return 0;
	inf = bpf_map_lookup_elem(&inflight, &tid);
	if (!inf || inf->depth == 0) {
		drop(LT_DROP_UNMATCHED_RETURNS);
		return 0;
	}

	/* Entries deeper than ours lost their returns. */
	depth = pop_stale(inf, entry_sp);
	if (depth == 0 || inf->ent[slot(depth - 1)].sp != entry_sp) {
		inf->depth = depth;
		drop(LT_DROP_UNMATCHED_RETURNS);
		return 0;
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
		return 0;

	sk.tgid = tgid;
	sk.stack_err = owner->stack_err;
	sk.stack = owner->stack;
	sk.caller = owner->caller;

	switch (e->func) {
	case LT_FN_POSIX_MEMALIGN:
		if (ret != 0)
			return 0;
		ret = 0;
		if (bpf_probe_read_user(&ret, sizeof(ret), (void *)e->arg) || !ret)
			return 0;
		break;
	case LT_FN_REALLOC:
	case LT_FN_REALLOCARRAY:
		if (owner != e || !e->arg)
			break;
		if (!ret) {
			/* realloc(p, 0) freed p; any other NULL is a failure that keeps p. */
			if (e->size == 0)
				forget(tgid, e->arg);
			return 0;
		}
		okey.tgid = tgid;
		okey.pad = 0;
		okey.addr = e->arg;
		old = bpf_map_lookup_elem(&allocs, &okey);
		if (old) {
			oldv = *old;
			forget(tgid, e->arg);
			record(tgid, ret, e->size, &sk, &oldv);
			return 0;
		}
		break;
	default:
		break;
	}
	if (ret)
		record(tgid, ret, owner->size, &sk, NULL);
	return 0;
}
