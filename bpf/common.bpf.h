/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* BPF-only helpers shared by the trackers. */
#ifndef LT_COMMON_BPF_H
#define LT_COMMON_BPF_H

#include "leaktrace.h"

#ifndef EEXIST
#define EEXIST 17
#endif

/* Set by user space between open and load. */
const volatile bool filter_tgid = false;	/* probes attached with pid = -1: check `targets` */
const volatile __u32 self_tgid = 0;		/* leaktrace itself, never traced */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, LT_DROP__MAX);
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u8);
	__uint(max_entries, LT_MAX_TARGETS);
} targets SEC(".maps");

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

static __always_inline bool tgid_wanted(__u32 tgid)
{
	if (tgid == self_tgid)
		return false;
	if (!filter_tgid)
		return true;
	return bpf_map_lookup_elem(&targets, &tgid) != NULL;
}

#endif /* LT_COMMON_BPF_H */
