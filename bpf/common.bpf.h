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
const volatile __u32 self_tgid = 0;		/* leaktrace itself, never traced */
#else
extern const volatile bool filter_tgid;
extern const volatile __u32 self_tgid;
#endif

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

/* Creation stacks of every tracker. Never BPF_F_REUSE_STACKID: it misattributes. */
LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, LT_MAX_STACK_DEPTH * sizeof(__u64));
	__uint(max_entries, 1 << 15);
} stacks SEC(".maps");

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

/* The creation site of whatever is being made now: stack at the outermost entry, and [rsp]. */
static __always_inline void take_site(struct pt_regs *ctx, __u32 tgid, struct lt_site_key *sk)
{
	__u64 caller = 0;
	long sid;

	bpf_probe_read_user(&caller, sizeof(caller), (void *)PT_REGS_SP(ctx));
	sid = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	if (sid == -EEXIST)
		drop(LT_DROP_STACK_COLLISIONS);
	else if (sid < 0)
		drop(LT_DROP_STACK_ERRORS);
	sk->tgid = tgid;
	sk->stack_id = sid;
	sk->caller = caller;
}

static __always_inline bool tgid_wanted(__u32 tgid)
{
	if (tgid == self_tgid)
		return false;
	if (!filter_tgid)
		return true;
	return bpf_map_lookup_elem(&targets, &tgid) != NULL;
}

#endif /* LT_COMMON_BPF_H */
