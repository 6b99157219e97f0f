/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* BPF-only helpers shared by the trackers. */
#ifndef LT_COMMON_BPF_H
#define LT_COMMON_BPF_H

#include "leaktrace.h"

#ifndef EEXIST
#define EEXIST 17
#endif

/*
 * Shared by every tracker file. bpftool gen object links the files; the
 * one that defines LT_COMMON_OWNER owns these, the others see externs.
 */
#ifdef LT_COMMON_OWNER
#define LT_SHARED
#else
#define LT_SHARED extern
#endif

/* Set by user space between open and load. */
#ifdef LT_COMMON_OWNER
const volatile bool filter_tgid = false;	/* probes attached with pid = -1: check `targets` */
const volatile bool has_excludes = false;	/* -a --exclude-comm: check `excluded` */
const volatile __u32 self_tgid = 0;		/* leaktrace itself, never traced */
#else
extern const volatile bool filter_tgid;
extern const volatile bool has_excludes;
extern const volatile __u32 self_tgid;
#endif

/* -a: processes left out by --exclude-comm (user space keeps it current) */
LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u8);
	__uint(max_entries, 4096);
} excluded SEC(".maps");

LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, LT_DROP__MAX);
} drops SEC(".maps");

LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u8);
	__uint(max_entries, LT_MAX_TARGETS);
} targets SEC(".maps");

/*
 * Creation stacks of every tracker, keyed by a 64-bit hash of the frames.
 * Not a STACK_TRACE map: its buckets make two different stacks collide
 * (-EEXIST), which with ASLR'd short-lived processes happens all the time.
 */
LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__uint(value_size, LT_MAX_STACK_DEPTH * sizeof(__u64));
	__uint(max_entries, 1 << 15);
} stacks SEC(".maps");

LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__uint(value_size, LT_MAX_STACK_DEPTH * sizeof(__u64));
	__uint(max_entries, 1);
} stack_scratch SEC(".maps");

/* Keep the compiler from dropping a mask the verifier needs. */
#define lt_barrier_var(v) asm volatile("" : "+r"(v))

static __always_inline __u32 slot(__u32 i)
{
	lt_barrier_var(i);
	return i & LT_INFLIGHT_MASK;
}

static __always_inline void drop(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&drops, &which);

	if (c)
		(*c)++;
}

/* The user stack, stored once under a 64-bit hash of its frames. 0 and *err on failure. */
static __always_inline __u64 take_stack(struct pt_regs *ctx, __s32 *err)
{
	__u32 zero = 0;
	__u64 *buf = bpf_map_lookup_elem(&stack_scratch, &zero);
	__u64 h = 0xcbf29ce484222325ULL;
	long n;

	*err = 0;
	if (!buf) {
		*err = -2;
		return 0;
	}
	/* the rest of buf is zeroed by the helper */
	n = bpf_get_stack(ctx, buf, LT_MAX_STACK_DEPTH * sizeof(__u64), BPF_F_USER_STACK);
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

/* The creation site of whatever is being made now: stack at the outermost entry, and [rsp]. */
static __always_inline void take_site(struct pt_regs *ctx, __u32 tgid, struct lt_site_key *sk)
{
	__u64 caller = 0;

	bpf_probe_read_user(&caller, sizeof(caller), (void *)PT_REGS_SP(ctx));
	sk->tgid = tgid;
	sk->stack = take_stack(ctx, &sk->stack_err);
	sk->caller = caller;
}

static __always_inline bool tgid_wanted(__u32 tgid)
{
	if (tgid == self_tgid)
		return false;
	if (filter_tgid)
		return bpf_map_lookup_elem(&targets, &tgid) != NULL;
	if (has_excludes)
		return bpf_map_lookup_elem(&excluded, &tgid) == NULL;
	return true;
}

#endif /* LT_COMMON_BPF_H */
