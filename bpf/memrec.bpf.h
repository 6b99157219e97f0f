/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The memory tracker's records, for every program that makes them: the
 * uprobes of bpf/alloc.bpf.c, and an in-process sampler's events. A block
 * is recorded with a weight (see LT_W_ONE in leaktrace.h): exact mode
 * records size bytes and one block; a sampled block stands for
 * w_bytes = size / (1 - e^(-size/R)) bytes and w_bytes / size blocks
 * (lt_weight). A free subtracts exactly what its block added.
 *
 * The maps `allocs` and `sites` are in bpf/maps.bpf.h (owned by
 * bpf/common.bpf.c), so any program file of the object can include this.
 */
#ifndef LT_MEMREC_BPF_H
#define LT_MEMREC_BPF_H

#include "maps.bpf.h"
#include "sample_tab.h"

/* Forget a tracked block: subtract its weights from its site. A miss (untracked) costs one lookup. */
static __always_inline void lt_mem_forget(__u32 tgid, __u64 addr)
{
	struct lt_alloc_key key = { .tgid = tgid, .addr = addr };
	struct lt_alloc_val *v;
	struct lt_site_val *s;

	v = bpf_map_lookup_elem(&allocs, &key);
	if (!v)
		return;	/* unknown pointer: from before the attach, untracked or unsampled */
	s = bpf_map_lookup_elem(&sites, &v->site);
	if (s) {
		__sync_fetch_and_sub(&s->bytes, v->w_bytes);
		__sync_fetch_and_sub(&s->allocs, v->w_count);
	}
	bpf_map_delete_elem(&allocs, &key);
}

static __always_inline struct lt_site_val *lt_mem_site_get(struct lt_site_key *sk, __u64 now)
{
	struct lt_site_val *s, init = { .first_ns = now };

	s = bpf_map_lookup_elem(&sites, sk);
	if (s)
		return s;
	bpf_map_update_elem(&sites, sk, &init, BPF_NOEXIST);
	return bpf_map_lookup_elem(&sites, sk);
}

/*
 * Record the block ADDR of TGID: SIZE requested bytes, weighing W_BYTES
 * bytes and W_COUNT / LT_W_ONE blocks, made at SITE. A realloc of a
 * tracked block passes the old block's record in OLD: the block keeps its
 * original site and age (SITE is then unused). A full map is a drop.
 */
static __always_inline void lt_mem_record(__u32 tgid, __u64 addr, __u64 size, __u64 w_bytes,
					  __u64 w_count, const struct lt_site_key *site,
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
	val.w_bytes = w_bytes;
	val.w_count = w_count;

	s = lt_mem_site_get(&val.site, now);
	if (!s) {
		drop(LT_DROP_SITES_FULL);
		drop(LT_DROP_ALLOCS_UNTRACKED);
		return;
	}
	err = bpf_map_update_elem(&allocs, &key, &val, BPF_NOEXIST);
	if (err == -EEXIST) {
		/* The address came back without a free we saw: drop the stale block. */
		lt_mem_forget(tgid, addr);
		err = bpf_map_update_elem(&allocs, &key, &val, BPF_NOEXIST);
	}
	if (err) {
		drop(LT_DROP_ALLOCS_UNTRACKED);
		return;
	}
	__sync_fetch_and_add(&s->bytes, w_bytes);
	__sync_fetch_and_add(&s->allocs, w_count);
	__sync_fetch_and_add(&s->total_allocs, 1);
}

/*
 * The weights of a block of SIZE bytes sampled at mean interval RATE:
 * w_bytes = RATE * g(SIZE / RATE), g(x) = x / (1 - e^-x), from a table
 * (bpf/sample_tab.h) with linear interpolation, within 1e-5; w_count =
 * w_bytes / SIZE in 1/LT_W_ONE. RATE <= 1 (or 0: exact): SIZE and one.
 * RATE <= LT_SAMPLE_MAX.
 */
static __always_inline void lt_weight(__u64 size, __u64 rate, __u64 *w_bytes, __u64 *w_count)
{
	__u64 x, i, frac, g, lo, hi;

	if (rate <= 1 || size >= LT_G_X_MAX * rate) {
		*w_bytes = size;
		*w_count = LT_W_ONE;
		return;
	}
	if (rate > LT_SAMPLE_MAX)
		rate = LT_SAMPLE_MAX;
	x = (size << 24) / rate;		/* size / rate in Q24, < 24 << 24 */
	i = x >> 18;				/* table step 1/64 */
	frac = x & ((1 << 18) - 1);
	if (i > LT_G_TAB_N - 2)
		i = LT_G_TAB_N - 2;
	lo = lt_g_tab[i];
	hi = lt_g_tab[i + 1];
	g = lo + (((hi - lo) * frac) >> 18);	/* Q26; g is increasing */
	*w_bytes = (rate * g) >> 26;
	if (*w_bytes < size)
		*w_bytes = size;
	*w_count = size ? (*w_bytes << LT_W_SHIFT) / size : LT_W_ONE;
}

/*
 * -ln(u) in Q24 for a uniform RAND (32 bits): u = (2 RAND + 1) / 2^33,
 * never 0 or 1. log2 from a table of its mantissa's top 8 bits with
 * linear interpolation (within 3e-6), so the mean of R * -ln(u) is R
 * within 1e-5.
 */
static __always_inline __u64 lt_neg_ln_q24(__u32 rand)
{
	__u64 v = 2 * (__u64)rand + 1, t = v, m, f, rem, lo, hi, l2, n = 0;

	if (t >> 32) { t >>= 32; n += 32; }
	if (t >> 16) { t >>= 16; n += 16; }
	if (t >> 8) { t >>= 8; n += 8; }
	if (t >> 4) { t >>= 4; n += 4; }
	if (t >> 2) { t >>= 2; n += 2; }
	if (t >> 1) { n += 1; }
	/* v < 2^33: bit n is its top bit; put it at bit 40 */
	if (n > 32)
		n = 32;
	m = v << (40 - n);
	f = (m >> 32) & 0xff;
	rem = m & 0xffffffffULL;
	lo = lt_log2_tab[f];
	hi = lt_log2_tab[f + 1];
	l2 = (n << 24) + lo + (((hi - lo) * rem) >> 32);	/* log2(v), Q24 */
	/* -ln(u) = ln 2 * (33 - log2 v); ln 2 in Q32 */
	return (((33ULL << 24) - l2) * 2977044472ULL) >> 32;
}

#endif /* LT_MEMREC_BPF_H */
