/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The in-process sampler's layout, shared by the freestanding sampler
 * (sampler/sampler.c, sampler/hooks.S) and leaktrace's injector
 * (src/inject_*.c). See README, "--inject".
 *
 * The sampler is one region of the target's address space:
 *   [0, TEXT)              the sampler file's text, R-X, file-backed (uprobes sit on it)
 *   [TEXT, TEXT+TRAMP)     trampolines, anonymous R-X: one slot per hook, holding the
 *                          hooked function's displaced first instructions and a jump back
 *   [TEXT+TRAMP, +DATA)    anonymous RW: the control block, the per-thread countdowns, the
 *                          set of sampled pointers and a counting filter of it (a byte per
 *                          hash of a pointer: 0 means no sampled block hashes there)
 * The text reaches the others RIP-relatively, so the three are mapped
 * next to one another, in a gap within rel32 reach of the hooked library.
 */
#ifndef LT_SAMPLER_ABI_H
#define LT_SAMPLER_ABI_H

#ifndef __ASSEMBLER__
#include <stdint.h>
#endif

#define LT_SMP_MAGIC		0x31706d73746cULL	/* "ltsmp1" */
#define LT_SMP_TEXT		0x2000		/* text bytes mapped (file padded to this) */
#define LT_SMP_TRAMP		0x1000
#define LT_SMP_TRAMP_SLOT	64		/* bytes per trampoline */
#define LT_SMP_MAX_HOOKS	32		/* stubs lt_hook_0 .. lt_hook_31 */
#define LT_SMP_THREADS		4096		/* per-thread countdown slots (a power of 2) */
#define LT_SMP_SET		(1 << 17)	/* sampled-pointer set slots (a power of 2) */
#define LT_SMP_PROBES		64		/* probes of either table before giving up */
#define LT_SMP_CTL_SIZE		0x1000
#define LT_SMP_NEST_WINDOW	512		/* bytes of stack between an operator new and its malloc */
#define LT_SMP_FILTER		(1 << 18)	/* counters of sampled pointers per hash: a free's quick "no" */
#define LT_SMP_DATA		(LT_SMP_CTL_SIZE + LT_SMP_THREADS * 32 + LT_SMP_SET * 8 + LT_SMP_FILTER)
#define LT_SMP_REGION		(LT_SMP_TEXT + LT_SMP_TRAMP + LT_SMP_DATA)

/* Offsets the entry stubs' fast path reads (checked in sampler.c). */
#define LT_SMP_CTL_KIND		304	/* kind[] */
#define LT_SMP_CTL_GENERATION	456
#define LT_SMP_CTL_LIVE		464
#define LT_SMP_KIND_MALLOC	1
#define LT_SMP_KIND_FREE	7

#ifndef __ASSEMBLER__
/* What a hooked function is (which arguments carry the size and pointers). */
enum lt_smp_kind {
	LT_SMP_NONE = 0,
	LT_SMP_MALLOC,		/* (size): malloc, valloc, pvalloc, operator new */
	LT_SMP_CALLOC,		/* (n, size) */
	LT_SMP_REALLOC,		/* (ptr, size) */
	LT_SMP_REALLOC_VIA_MALLOC,	/* glibc: realloc(NULL, n) tail-jumps to the hooked malloc */
	LT_SMP_ALIGNED,		/* (align, size): aligned_alloc, memalign */
	LT_SMP_POSIX_MEMALIGN,	/* (memptr, align, size) -> 0 */
	LT_SMP_FREE,		/* (ptr, ...): free, cfree, operator delete */
	LT_SMP_NEW,		/* (size): operator new; the malloc it calls is not counted again */
};

/* The control block at the start of the data pages. leaktrace writes it while the target is stopped. */
struct lt_smp_ctl {
	uint64_t magic;
	uint32_t active;	/* 0: every hook goes straight to its original (leaktrace sets 1) */
	uint32_t dead;		/* the sampler saw the heartbeat stop */
	uint64_t hb_tsc;	/* leaktrace's rdtsc at its last heartbeat */
	uint64_t hb_timeout;	/* TSC ticks without a heartbeat after which the sampler goes inert */
	uint64_t rate;		/* mean bytes between samples (R) */
	uint64_t seed;
	uint64_t fn[LT_SMP_MAX_HOOKS];	/* the hooked function's entry (reported with each event) */
	uint32_t kind[LT_SMP_MAX_HOOKS];	/* enum lt_smp_kind */
	/* counters (the sampler's, read by leaktrace) */
	uint64_t sampled;	/* events fired */
	uint64_t set_full;	/* sampled blocks the set had no room for (not reported) */
	uint64_t threads_full;	/* threads that share a countdown slot */
	uint64_t generation;	/* leaktrace bumps it at each inject */
	uint64_t live;		/* pointers in the set */
	uint64_t heartbeat_stops;	/* times the sampler went inert on its own */
};

struct lt_smp_thread {
	uint64_t tp;		/* the thread pointer (%fs:0); 0: free */
	int64_t left;		/* bytes until the next sample */
	uint64_t rng;
	uint32_t busy;		/* 1: inside a sampled call, nested hooked calls pass through;
				 * else 0 or an operator new's mark for the malloc it calls
				 * (sampler.c) */
	uint32_t gen;
};

/*
 * The event functions' arguments (System V registers):
 *   lt_event_alloc(ptr rdi, size rsi, weight rdx, old rcx, fn r8, walk_sp r9)
 *     at the event the stack and callee-saved registers are those of the
 *     hooked function's entry: walk from ip = fn. walk_sp, when not 0:
 *     the stack is that of an operator new's entry further up (the block
 *     of a sampled new, allocated by the malloc it called): walk from there.
 *     weight: the sampled block's estimate in bytes, size / (1 - e^(-size/R)), rounded.
 *     old: realloc's old block when it was sampled and is now gone, else 0.
 *     ptr 0: only OLD went (realloc(p, 0)).
 *   lt_event_free(ptr rdi)
 */
#endif

#endif /* LT_SAMPLER_ABI_H */
