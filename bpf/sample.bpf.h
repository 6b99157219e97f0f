/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Sampled mode (--sample R), for bpf/alloc.bpf.c: byte-weighted Poisson
 * sampling, as Go's MemProfileRate, tcmalloc and jemalloc do it. Each
 * thread counts down the bytes to its next sample, drawn from an
 * exponential distribution of mean R; an allocation of SIZE bytes that
 * reaches the end of the countdown is sampled, and the count starts anew.
 * By memorylessness each block is sampled on its own with probability
 * 1 - e^(-SIZE/R), and bpf/memrec.bpf.h weighs it by the inverse.
 *
 * The countdown lives in task storage (no hash lookup). A call that calls
 * another probed function (operator new -> malloc, glibc's realloc(NULL,
 * n) -> jmp malloc) decides for both: the inner call follows it, and its
 * bytes are not counted twice.
 */
#ifndef LT_SAMPLE_BPF_H
#define LT_SAMPLE_BPF_H

#include "memrec.bpf.h"

struct lt_sample_state {
	__s64 left;		/* bytes before the next sample */
	__u64 rng;		/* xorshift64* state (--sample-seed) */
	__u64 outer_sp;		/* sp of a call whose inner call follows its decision; 0: none */
	__u64 outer_ret;	/* its return address ([sp]), for realloc(NULL) */
	__u32 outer_func;
	__u32 outer_sampled;
	__u32 init;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct lt_sample_state);
} sample_state SEC(".maps");

/* The stack distance within which a call is inside the outer one (operator new's frame is 16 bytes). */
#define LT_SAMPLE_NEST_WINDOW	512

static __always_inline __u32 sample_rand(struct lt_sample_state *st)
{
	__u64 x = st->rng;

	if (!sample_seed)
		return bpf_get_prandom_u32();
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	st->rng = x;
	return (x * 0x2545F4914F6CDD1DULL) >> 32;
}

/* Bytes to the next sample: R * -ln(u), exponential with mean R. */
static __always_inline __s64 sample_draw(struct lt_sample_state *st)
{
	__u64 rate = sample_rate > LT_SAMPLE_MAX ? LT_SAMPLE_MAX : sample_rate;

	return (rate * lt_neg_ln_q24(sample_rand(st))) >> 24;
}

/* Does the inner call FUNC at SP follow the outer call of ST? Consumes the mark. */
static __always_inline bool sample_nested(struct lt_sample_state *st, __u32 func, __u64 sp)
{
	__u64 osp = st->outer_sp, ret = 0;

	st->outer_sp = 0;
	if (func != LT_FN_MALLOC && func != LT_FN_NEW)
		return false;
	if (st->outer_func == LT_FN_NEW)
		return sp <= osp && osp - sp < LT_SAMPLE_NEST_WINDOW;
	/* realloc(NULL, n): a tail jump, so the same sp and return address (a sampled one's is the trampoline) */
	if (sp != osp || func != LT_FN_MALLOC)
		return false;
	if (st->outer_sampled)
		return true;
	bpf_probe_read_user(&ret, sizeof(ret), (void *)sp);
	return ret == st->outer_ret;
}

/*
 * Is this allocation of SIZE bytes by FUNC (ARG: realloc's old pointer)
 * at SP sampled? sample_rate 1 samples every one.
 */
static __always_inline bool sample_take(__u32 func, __u64 size, __u64 arg, __u64 sp)
{
	struct lt_sample_state *st;
	bool take;

	st = bpf_task_storage_get(&sample_state, bpf_get_current_task_btf(), 0,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st) {
		drop(LT_DROP_ALLOCS_UNTRACKED);
		return false;
	}
	if (!st->init) {
		/* splitmix64 of the seed: every thread starts from the same state */
		__u64 z = sample_seed * 0x9E3779B97F4A7C15ULL;

		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
		st->rng = (z ^ (z >> 31)) | 1;
		st->init = 1;
		st->left = sample_draw(st);
	}
	if (st->outer_sp && sample_nested(st, func, sp))
		return st->outer_sampled;
	if (sample_rate <= 1) {
		take = true;
	} else if ((__u64)st->left < size) {
		take = true;
		st->left = sample_draw(st);
	} else {
		take = false;
		st->left -= size;
	}
	if (func == LT_FN_NEW || (func == LT_FN_REALLOC && !arg)) {
		st->outer_sp = sp;
		st->outer_func = func;
		st->outer_sampled = take;
		st->outer_ret = 0;
		if (func == LT_FN_REALLOC && !take)
			bpf_probe_read_user(&st->outer_ret, sizeof(st->outer_ret), (void *)sp);
	}
	return take;
}

#endif /* LT_SAMPLE_BPF_H */
