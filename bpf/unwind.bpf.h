/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The DWARF unwinder (--stacks auto|dwarf): walks a user stack with the
 * .eh_frame tables that src/unwind.c builds and src/uwload.c loads, as
 * bpf_loop() callbacks. See docs/design.md, "Stacks".
 */
#ifndef LT_UNWIND_BPF_H
#define LT_UNWIND_BPF_H

#include "maps.bpf.h"

/*
 * DWARF unwinding. Sized by user space before load (1 entry each when
 * --stacks fp). A tgid in uw_tgid is walked with the tables; any other
 * with frame pointers by bpf_get_stack().
 */
LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lt_urow);
	__uint(max_entries, 1);
} uw_rows SEC(".maps");

LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} uw_pages SEC(".maps");

LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lt_umod);
	__uint(max_entries, 1);
} uw_mods SEC(".maps");

LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lt_uproc);
	__uint(max_entries, 1);
} uw_procs SEC(".maps");

/*
 * tgid -> its slot in uw_procs; with LT_UW_SYS_ONLY, only the stacks taken
 * at the fd and mmap syscalls' tracepoints are walked with the tables (the
 * process is otherwise walked with frame pointers: --stacks fp, or auto for
 * a program that keeps them).
 */
LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, LT_MAX_TARGETS);
} uw_tgid SEC(".maps");

/* tgids whose walk met code outside their table: user space re-reads their maps */
LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u8);
	__uint(max_entries, LT_MAX_TARGETS);
} uw_miss SEC(".maps");

/*
 * -c: tgid -> 1 while leaktrace waits for the command to map its allocator
 * (libc comes after the exec). The first walk that does not know the
 * allocator stops the command (2) so that user space can read its maps
 * before anything else runs; user space resumes it.
 */
LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u8);
	__uint(max_entries, 64);
} uw_stop SEC(".maps");

/*
 * One 0 the verifier cannot see: user space never writes it. Kernels before
 * 6.7 verify a bpf_loop() callback once, with the caller's stack as it is at
 * the call, and take its constants as facts: a walk state that starts at
 * n = 0, ra_at = 0 would have its bounds checks and the trampoline lookup
 * dropped as dead code. Started from this, they are unknowns and stay.
 */
LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} uw_zero SEC(".maps");

struct uw_state {
	__u64 pc, sp, bp;
	__u64 ra_at;		/* where pc was read from; 0 for the first frame */
	__u32 slot;
	__u32 n;		/* frames in stack_scratch */
	__u32 exact;		/* pc is not a return address: look it up as is */
	__u32 done;		/* reached the outermost frame */
	__u32 fixes;		/* uretprobe trampolines replaced */
	__u32 miss;		/* stopped at code outside the table */
	__u32 last;		/* 1 + the mapping of the frame before: callers are mostly in the same file */
	__u32 pad;
};

/*
 * A pending uretprobe put its trampoline where the return address was:
 * the task's return instances remember the original, by stack slot.
 */
static __always_inline __u64 uw_orig_return(__u64 ra_at)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct return_instance *ri = BPF_CORE_READ(task, utask, return_instances);

	for (int i = 0; i < 8 && ri; i++) {
		if (BPF_CORE_READ(ri, stack) == ra_at)
			return BPF_CORE_READ(ri, orig_ret_vaddr);
		ri = BPF_CORE_READ(ri, next);
	}
	return 0;
}

/*
 * The binary searches run as bpf_loop() callbacks: verified once each, so
 * the verifier does not walk every path through every step.
 */
struct uw_search {
	__u64 key;	/* rows: module-relative pc; mappings: the address */
	__u32 lo, hi;	/* [lo, hi] holds the answer */
	__u32 slot;	/* mappings: the process's uw_procs slot */
	__u32 maps;	/* 1: search the process's mappings by start; 0: the rows by pc */
};

/* The value a search compares at index IDX: a row's pc, or a mapping's start. */
static __always_inline bool uw_value_at(struct uw_search *s, __u32 idx, __u64 *v)
{
	if (s->maps) {
		struct lt_uproc *proc = bpf_map_lookup_elem(&uw_procs, &s->slot);

		if (!proc)
			return false;
		*v = proc->m[idx & (LT_UW_MAPS - 1)].start;
	} else {
		struct lt_urow *r = bpf_map_lookup_elem(&uw_rows, &idx);

		if (!r)
			return false;
		*v = r->pc;
	}
	return true;
}

/* One step of a binary search for the last index in [lo, hi] whose value is <= key. */
static long uw_search_step(__u32 i, void *arg)
{
	struct uw_search *s = arg;
	__u32 mid;
	__u64 v;

	if (s->lo >= s->hi)
		return 1;
	mid = s->lo + (s->hi - s->lo + 1) / 2;
	if (!uw_value_at(s, mid, &v)) {
		s->hi = s->lo;
		return 1;
	}
	if (v <= s->key)
		s->lo = mid;
	else
		s->hi = mid - 1;
	return 0;
}

/* The row for LOOK in mapping M, or NULL: no table, frame pointers. */
static __always_inline struct lt_urow *uw_row(struct lt_umap *m, __u64 look)
{
	struct uw_search rs = {};
	struct lt_umod *mod;
	__u32 mi = m->mod, idx;
	__u32 *pg;
	__u64 v;

	if (mi == LT_UW_NO_MOD)
		return NULL;
	mod = bpf_map_lookup_elem(&uw_mods, &mi);
	if (!mod)
		return NULL;
	v = look - m->bias;
	if (v < mod->vaddr_lo)
		return NULL;
	v -= mod->vaddr_lo;
	if ((v >> LT_UW_PAGE_SHIFT) >= mod->npages)
		return NULL;
	idx = mod->page_start + (__u32)(v >> LT_UW_PAGE_SHIFT);
	pg = bpf_map_lookup_elem(&uw_pages, &idx);
	if (!pg)
		return NULL;
	rs.lo = *pg;
	idx++;
	pg = bpf_map_lookup_elem(&uw_pages, &idx);
	if (!pg)
		return NULL;
	rs.hi = *pg;
	rs.key = v;
	bpf_loop(LT_UW_ROW_SEARCH, uw_search_step, &rs, 0);
	idx = rs.lo;
	return bpf_map_lookup_elem(&uw_rows, &idx);
}

/* One frame: record pc, then step to the caller. 0 goes on, 1 stops. */
static long uw_step(__u32 i, void *arg)
{
	struct uw_state *s = arg;
	__u32 zero = 0, n = s->n, lo;
	__u64 pc = s->pc, look, cfa, ra = 0, bp = s->bp;
	struct uw_search ms = {};
	struct lt_uproc *proc;
	struct lt_umap *m;
	struct lt_urow *row;
	__u64 *buf, *z;
	__u8 kind;

	if (!pc || n >= LT_MAX_STACK_DEPTH - 1)	/* one slot stays for LT_STACK_COMPLETE */
		return 1;
	buf = bpf_map_lookup_elem(&stack_scratch, &zero);
	proc = bpf_map_lookup_elem(&uw_procs, &s->slot);
	z = bpf_map_lookup_elem(&uw_zero, &zero);
	if (!buf || !proc || !z)
		return 1;
	buf[n] = pc;
	s->n = n + 1;
	look = s->exact ? pc : pc - 1;

	/* the mapping: the frame before's, or the last one starting at or below look */
	lo = s->last;
	m = lo ? &proc->m[(lo - 1) & (LT_UW_MAPS - 1)] : NULL;
	if (!m || look < m->start || look >= m->end) {
		ms.key = look;
		ms.lo = *z;	/* 0, unknown to the verifier (see uw_zero) */
		ms.slot = s->slot;
		ms.maps = 1;
		ms.hi = (proc->n < LT_UW_MAPS ? proc->n : LT_UW_MAPS) - 1;
		m = NULL;
		if (proc->n) {
			bpf_loop(LT_UW_MAPS_BITS + 1, uw_search_step, &ms, 0);
			m = &proc->m[ms.lo & (LT_UW_MAPS - 1)];
			if (look < m->start)
				m = NULL;	/* below the first mapping */
		}
		s->last = m ? (ms.lo & (LT_UW_MAPS - 1)) + 1 : 0;
	}
	if (!m || look >= m->end) {
		/* Not code we know: a uretprobe trampoline stands for the real return address. */
		__u64 real = s->ra_at && s->fixes < 4 ? uw_orig_return(s->ra_at) : 0;

		if (!real) {
			s->miss = 1;
			return 1;
		}
		s->pc = real;
		s->n = n;	/* record the real address instead */
		s->fixes++;
		return 0;
	}
	row = uw_row(m, look);
	kind = row ? row->cfa : LT_UW_NONE;
	switch (kind) {
	case LT_UW_RSP:
		cfa = s->sp + row->cfa_off;
		break;
	case LT_UW_RBP:
		if (!bp)
			return 1;
		cfa = bp + row->cfa_off;
		break;
	case LT_UW_PLT:
		cfa = s->sp + row->cfa_off + ((pc & 15) >= (__u64)row->rbp_off ? 8 : 0);
		break;
	case LT_UW_SIGNAL: {
		/* __restore_rt: rsp is at the ucontext; take the interrupted registers. */
		__u64 sp = s->sp, regs[3];

		if (bpf_probe_read_user(&regs[0], 8, (void *)(sp + 168)) ||	/* rip */
		    bpf_probe_read_user(&regs[1], 8, (void *)(sp + 160)) ||	/* rsp */
		    bpf_probe_read_user(&regs[2], 8, (void *)(sp + 120)))	/* rbp */
			return 1;
		s->pc = regs[0];
		s->sp = regs[1];
		s->bp = regs[2];
		s->ra_at = 0;
		s->exact = 1;
		return 0;
	}
	case LT_UW_END:
		s->done = 1;
		return 1;
	case LT_UW_NONE:
		/* No CFI here: walk the frame pointer. */
		if (!bp)
			return 1;
		cfa = bp + 16;
		break;
	default:
		return 1;
	}
	if (bpf_probe_read_user(&ra, sizeof(ra), (void *)(cfa - 8)))
		return 1;
	if (kind == LT_UW_NONE) {
		if (bpf_probe_read_user(&bp, sizeof(bp), (void *)(cfa - 16)))
			return 1;
	} else if (row->rbp == LT_UW_RBP_SAVED) {
		if (bpf_probe_read_user(&bp, sizeof(bp), (void *)(cfa + row->rbp_off)))
			return 1;
	} else if (row->rbp == LT_UW_RBP_LOST) {
		bp = 0;
	}
	if (cfa <= s->sp && kind != LT_UW_PLT)
		return 1;	/* the stack grows down: a caller's frame is always above */
	s->pc = ra;
	s->sp = cfa;
	s->bp = bp;
	s->ra_at = cfa - 8;
	s->exact = 0;
	return 0;
}

/*
 * Walk the stack from the user registers IP, SP and BP with the unwind
 * tables into BUF. Bytes written, like bpf_get_stack().
 */
static __always_inline long uw_walk(__u64 ip, __u64 sp, __u64 bp, __u32 slot, __u64 *buf)
{
	__u32 zero = 0, n;
	__u64 *z = bpf_map_lookup_elem(&uw_zero, &zero);
	struct uw_state s = {};

	if (!z)
		return -ENOENT;
	/* every field the steps change starts from the opaque 0 */
	s.pc = ip;
	s.sp = sp;
	s.bp = bp;
	s.slot = slot;
	s.ra_at = *z;
	s.n = *z;
	s.exact = *z + 1;
	s.done = *z;
	s.fixes = *z;
	s.miss = *z;
	s.last = *z;

	bpf_loop(LT_MAX_STACK_DEPTH + 4, uw_step, &s, 0);
	n = s.n;
	if (s.miss) {
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;
		__u8 one = 1;

		bpf_map_update_elem(&uw_miss, &tgid, &one, BPF_ANY);
		if (n <= 1) {
			/* not even the allocator is known yet: frame pointers this time */
			__u8 *stop = bpf_map_lookup_elem(&uw_stop, &tgid);

			if (stop && *stop == 1) {
				*stop = 2;
				bpf_send_signal(19);	/* SIGSTOP */
			}
			return -ENOENT;
		}
	}
	if (s.done && n < LT_MAX_STACK_DEPTH)
		buf[n++] = LT_STACK_COMPLETE;
	if (n < LT_MAX_STACK_DEPTH)
		buf[n] = 0;	/* the frames end here; what follows is never read */
	return n * sizeof(__u64);
}

#endif /* LT_UNWIND_BPF_H */
