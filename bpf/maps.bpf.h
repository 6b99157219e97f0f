/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The maps, settings and small helpers every tracker shares. bpftool gen
 * object links the tracker files; bpf/common.bpf.c defines LT_COMMON_OWNER
 * and owns them, the others see externs (see docs/design.md, "BPF").
 */
#ifndef LT_MAPS_BPF_H
#define LT_MAPS_BPF_H

#include "leaktrace.h"

#ifndef EEXIST
#define EEXIST 17
#endif
#ifndef ENOENT
#define ENOENT 2
#endif

#ifdef LT_COMMON_OWNER
#define LT_SHARED
#else
#define LT_SHARED extern
#endif

/* Set by user space between open and load. */
#ifdef LT_COMMON_OWNER
const volatile bool go_ancestry = false;	/* --go-ancestry */
const volatile bool filter_tgid = false;	/* probes attached with pid = -1: check `targets` */
const volatile bool has_excludes = false;	/* -a --exclude-comm: check `excluded` */
const volatile __u32 self_tgid = 0;		/* leaktrace itself, never traced */
const volatile __u32 release_hook = LT_HOOK_TRACEPOINT;	/* how timerfd and fd closes are seen */
const volatile __u64 sample_rate = 0;		/* --sample R: mean bytes between samples; 0: exact */
const volatile __u64 sample_seed = 0;		/* --sample-seed N + 1; 0: bpf_get_prandom_u32() */
const volatile bool timer_sys_shared = false;	/* the fd tracker's sys_exit serves the timers too */
#else
extern const volatile bool go_ancestry;
extern const volatile bool filter_tgid;
extern const volatile bool has_excludes;
extern const volatile __u32 self_tgid;
extern const volatile __u32 release_hook;
extern const volatile __u64 sample_rate;
extern const volatile __u64 sample_seed;
extern const volatile bool timer_sys_shared;
#endif

/*
 * The memory tracker's records (bpf/memrec.bpf.h writes them): outstanding
 * blocks by (tgid, address), and per-site totals by (tgid, stack, caller).
 * Shared, so that another program file (an in-process sampler's events)
 * records into the same report.
 */
LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lt_alloc_key);
	__type(value, struct lt_alloc_val);
	__uint(max_entries, 1 << 20);	/* --max-allocs, set before load */
} allocs SEC(".maps");

LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lt_site_key);
	__type(value, struct lt_site_val);
	__uint(max_entries, 1 << 16);
} sites SEC(".maps");

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

/*
 * The memory tracker's calls in flight, keyed by tid (bpf/alloc.bpf.c).
 * LRU: a thread that dies mid-call never pins an entry. Shared: --mmap
 * leaves out the mappings an allocator call makes (bpf/mmap.bpf.c).
 */
LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, struct lt_inflight);
	__uint(max_entries, 8192);
} inflight SEC(".maps");

/* calling tid -> in-flight pthread_create (bpf/thread.bpf.c; --mmap leaves its stack out) */
LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, struct lt_tcreate);
	__uint(max_entries, 4096);
} tcreate SEC(".maps");

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

/*
 * tgid -> bpf_ktime_get_ns() of its last successful exec (bpf/common.bpf.c).
 * The old image's records went with it and no release will ever come for
 * them: user space drops that process's records from before this time.
 */
LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4096);
} execs SEC(".maps");

/*
 * --go-ancestry (bpf/goroutine.bpf.c fills them; sized by user space, 1
 * entry each without it): (tgid, g) -> the goroutine's creation stacks, and
 * a hash of such an ancestry -> the ancestry, for the records of other
 * trackers made inside a goroutine (user space appends it to their stacks).
 */
LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct lt_go_timer_key);	/* (tgid, g) */
	__type(value, struct lt_go_anc);
	__uint(max_entries, 1);
} go_anc SEC(".maps");

LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u64);
	__type(value, struct lt_go_anc);
	__uint(max_entries, 1);
} go_anc_hashes SEC(".maps");

/* Go programs traced with --go-ancestry: tgid -> where g is in the thread's TLS (fs + off) */
LT_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __s64);
	__uint(max_entries, LT_MAX_TARGETS);
} go_tls SEC(".maps");

/*
 * Syscall tracepoints fire for every process: those that make records on
 * their own (fds, --mmap) look the tgid up in `targets` (user space puts
 * every target there) unless -a traces every process.
 */
#ifdef LT_COMMON_OWNER
const volatile bool trace_all = false;		/* -a */
#else
extern const volatile bool trace_all;
#endif

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

/* Is TGID traced? For the syscall tracepoints (see trace_all). */
static __always_inline bool tgid_traced(__u32 tgid)
{
	if (tgid == self_tgid)
		return false;
	if (trace_all)
		return !has_excludes || bpf_map_lookup_elem(&excluded, &tgid) == NULL;
	return bpf_map_lookup_elem(&targets, &tgid) != NULL;
}

#endif /* LT_MAPS_BPF_H */
