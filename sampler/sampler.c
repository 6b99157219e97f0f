// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The in-process sampler's decisions (freestanding: no libc, no TLS, no
 * loader; built with -ffreestanding -nostdlib into a flat text file). The
 * entry stubs are in hooks.S, the layout in sampler_abi.h.
 *
 * Sampling is that of --sample: a byte countdown per thread (keyed by the
 * thread pointer, %fs:0), drawn from an exponential distribution of mean R;
 * the allocation that takes the countdown to 0 or below is sampled, and
 * weighs size / (1 - e^(-size/R)) bytes. A sampled block's address goes
 * into a lock-free set, so that its free is told to leaktrace; every
 * other free returns to the original at once.
 */
#include "sampler_abi.h"

#define HIDDEN __attribute__((visibility("hidden")))

/* Placed by sampler.ld at fixed offsets after the text. */
extern struct lt_smp_ctl lt_ctl HIDDEN;
extern struct lt_smp_thread lt_threads[LT_SMP_THREADS] HIDDEN;
extern uint64_t lt_set[LT_SMP_SET] HIDDEN;
extern uint8_t lt_filter[LT_SMP_FILTER] HIDDEN;

/* The frame lt_common (hooks.S) builds. */
struct lt_call {
	uint64_t a[4];		/* rdi, rsi, rdx, rcx at the entry */
	uint64_t slot;
	uint64_t ret;		/* the original's rax */
	uint64_t ev[6];		/* the event's arguments */
	uint64_t size;
	uint64_t flags;
	struct lt_smp_thread *t;
	uint64_t walk_sp;	/* the stack to walk from, when not the entry's (0) */
};
_Static_assert(sizeof(struct lt_call) <= 128, "lt_call fits lt_common's frame");

enum { F_NEW = 1, F_OLD = 2 };

#define OFF(f) __builtin_offsetof(struct lt_smp_ctl, f)
_Static_assert(OFF(kind) == LT_SMP_CTL_KIND, "kind offset");
_Static_assert(OFF(generation) == LT_SMP_CTL_GENERATION, "generation offset");
_Static_assert(OFF(live) == LT_SMP_CTL_LIVE, "live offset");
_Static_assert(LT_SMP_KIND_MALLOC == LT_SMP_MALLOC && LT_SMP_KIND_FREE == LT_SMP_FREE, "kinds");
_Static_assert(__builtin_offsetof(struct lt_smp_thread, busy) == 24 &&
	       __builtin_offsetof(struct lt_smp_thread, gen) == 28 && sizeof(struct lt_smp_thread) == 32,
	       "thread slot layout");
#define TOMB 1ULL
/*
 * lt_smp_thread.busy: 1 inside a sampled call; else 0 or the mark an
 * operator new leaves for the malloc it calls: its entry sp's low half
 * (8 mod 16 at an entry, so the low 4 bits are free) with MARK_* in them.
 */
#define BUSY_SAMPLED 1u
#define MARK_BITS 0xfu
#define MARK_UNSAMPLED 2u
#define MARK_SAMPLED 3u

int lt_decide(struct lt_call *c) HIDDEN;
int lt_after(struct lt_call *c) HIDDEN;

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static inline uint64_t thread_pointer(void)
{
	uint64_t tp;

	__asm__("mov %%fs:0, %0" : "=r"(tp));
	return tp;
}

static inline uint64_t cas(uint64_t *p, uint64_t old, uint64_t new)
{
	return __atomic_compare_exchange_n(p, &old, new, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) ? 1 : 0;
}

/* ln(x) for x > 0: x = m 2^e with m in [sqrt(1/2), sqrt(2)), then the atanh series. */
static double ln(double x)
{
	union { double d; uint64_t u; } v = { .d = x };
	int e = (int)((v.u >> 52) & 0x7ff) - 1023;
	double m, s, s2, sum = 0, term;

	v.u = (v.u & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
	m = v.d;
	if (m > 1.4142135623730951) {
		m /= 2;
		e++;
	}
	s = (m - 1) / (m + 1);
	s2 = s * s;
	term = s;
	for (int k = 1; k < 40; k += 2) {
		sum += term / k;
		term *= s2;
	}
	return 2 * sum + e * 0.6931471805599453;
}

/* e^x for x <= 0. */
static double expneg(double x)
{
	union { double d; uint64_t u; } v;
	double r, sum = 1, term = 1;
	int k;

	if (x < -700)
		return 0;
	k = (int)(x / 0.6931471805599453 - 0.5);	/* x = k ln2 + r, |r| <= ln2 / 2 or so */
	r = x - k * 0.6931471805599453;
	for (int i = 1; i < 25; i++) {
		term *= r / i;
		sum += term;
	}
	v.u = (uint64_t)(k + 1023) << 52;	/* 2^k (k >= -1022 here) */
	return sum * v.d;
}

static uint64_t next_rng(struct lt_smp_thread *t)
{
	uint64_t x = t->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	t->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Bytes to the next sample: an exponential draw of mean R. */
static int64_t draw(struct lt_smp_thread *t)
{
	double u = (double)(next_rng(t) >> 11) * (1.0 / 9007199254740992.0);	/* [0, 1) */
	double x = -ln(1 - u) * (double)lt_ctl.rate;

	if (x > 4e18)
		x = 4e18;
	return (int64_t)x + 1;
}

static void thread_init(struct lt_smp_thread *t, uint64_t tp)
{
	t->rng = (lt_ctl.seed ^ (tp * 0x9E3779B97F4A7C15ULL)) | 1;
	t->gen = (uint32_t)lt_ctl.generation;
	t->busy = 0;
	t->left = draw(t);
}

/* This thread's countdown slot (a shared one when the table is full). */
static struct lt_smp_thread *thread_slot(void)
{
	uint64_t tp = thread_pointer();
	uint64_t h = (tp * 0x9E3779B97F4A7C15ULL) >> (64 - 12);
	struct lt_smp_thread *t;

	for (int i = 0; i < LT_SMP_PROBES; i++) {
		t = &lt_threads[(h + i) & (LT_SMP_THREADS - 1)];
		if (t->tp == tp)
			goto found;
		if (t->tp == 0 && cas(&t->tp, 0, tp)) {
			thread_init(t, tp);
			return t;
		}
	}
	t = &lt_threads[h & (LT_SMP_THREADS - 1)];
	t->tp = tp;
	__atomic_fetch_add(&lt_ctl.threads_full, 1, __ATOMIC_RELAXED);
found:
	if (t->gen != (uint32_t)lt_ctl.generation)
		thread_init(t, tp);
	return t;
}

static inline uint64_t set_hash(uint64_t p)
{
	return ((p >> 4) * 0x9E3779B97F4A7C15ULL) >> (64 - 17);
}

/* The filter's counter of P: hooks.S computes the same hash for a free's fast path. */
static inline uint8_t *filter_of(uint64_t p)
{
	return &lt_filter[((p >> 4) * 0x9E3779B97F4A7C15ULL) >> (64 - 18)];
}

static int set_add(uint64_t p)
{
	uint64_t h = set_hash(p);
	uint8_t *f = filter_of(p);

	/* counted before it is in the set, so that a free never misses it */
	if (__atomic_add_fetch(f, 1, __ATOMIC_ACQ_REL) == 0) {
		__atomic_sub_fetch(f, 1, __ATOMIC_ACQ_REL);	/* 255 pointers on one counter: give up */
		__atomic_fetch_add(&lt_ctl.set_full, 1, __ATOMIC_RELAXED);
		return 0;
	}

	for (int i = 0; i < LT_SMP_PROBES; i++) {
		uint64_t *e = &lt_set[(h + i) & (LT_SMP_SET - 1)], v = __atomic_load_n(e, __ATOMIC_RELAXED);

		if ((v == 0 || v == TOMB) && cas(e, v, p)) {
			__atomic_fetch_add(&lt_ctl.live, 1, __ATOMIC_RELAXED);
			return 1;
		}
	}
	__atomic_sub_fetch(f, 1, __ATOMIC_ACQ_REL);
	__atomic_fetch_add(&lt_ctl.set_full, 1, __ATOMIC_RELAXED);
	return 0;
}

/* Find P; with TAKE, remove it. 1 when it was there. */
static int set_find(uint64_t p, int take)
{
	uint64_t h = set_hash(p);

	for (int i = 0; i < LT_SMP_PROBES; i++) {
		uint64_t *e = &lt_set[(h + i) & (LT_SMP_SET - 1)], v = __atomic_load_n(e, __ATOMIC_RELAXED);

		if (v == 0)
			return 0;
		if (v == p) {
			if (!take)
				return 1;
			if (cas(e, p, TOMB)) {
				__atomic_fetch_sub(&lt_ctl.live, 1, __ATOMIC_RELAXED);
				__atomic_sub_fetch(filter_of(p), 1, __ATOMIC_ACQ_REL);
				return 1;
			}
			return 0;	/* another thread took it: a double free */
		}
	}
	return 0;
}

/* Is leaktrace still there? Checked only when a call is sampled. */
static int alive(void)
{
	uint64_t now = rdtsc(), hb = __atomic_load_n(&lt_ctl.hb_tsc, __ATOMIC_RELAXED);

	if (!lt_ctl.hb_timeout || (int64_t)(now - hb) <= (int64_t)lt_ctl.hb_timeout)
		return 1;
	lt_ctl.active = 0;
	lt_ctl.dead = 1;
	__atomic_fetch_add(&lt_ctl.heartbeat_stops, 1, __ATOMIC_RELAXED);
	return 0;
}

/*
 * Is the call in C sampled? 0: no (go to the original), 1: a sampled
 * allocation (or a realloc of a sampled block), 2: the free of a sampled block.
 */
int lt_decide(struct lt_call *c)
{
	uint32_t kind = lt_ctl.kind[c->slot & (LT_SMP_MAX_HOOKS - 1)];
	uint64_t sp = (uint64_t)c + 136;	/* the hooked function's entry rsp (lt_common: push, sub 128) */
	uint64_t size, old = 0;
	struct lt_smp_thread *t;
	int sampled = 0;

	switch (kind) {
	case LT_SMP_FREE:
		if (!c->a[0] || !__atomic_load_n(&lt_ctl.live, __ATOMIC_RELAXED) || !set_find(c->a[0], 0))
			return 0;	/* not a sampled block: the common case, without the thread's slot */
		t = thread_slot();
		if (t->busy == BUSY_SAMPLED)
			return 0;	/* inside a sampled realloc: it reports the old block */
		return set_find(c->a[0], 1) ? 2 : 0;
	case LT_SMP_MALLOC: case LT_SMP_NEW:
		size = c->a[0];
		break;
	case LT_SMP_CALLOC:
		if (__builtin_mul_overflow(c->a[0], c->a[1], &size))
			return 0;
		break;
	case LT_SMP_REALLOC_VIA_MALLOC:
		if (!c->a[0])
			return 0;	/* the hooked malloc sees it */
		/* fall through */
	case LT_SMP_REALLOC:
		size = c->a[1];
		old = c->a[0];
		break;
	case LT_SMP_ALIGNED:
		size = c->a[1];
		break;
	case LT_SMP_POSIX_MEMALIGN:
		size = c->a[2];
		break;
	default:
		return 0;
	}
	t = thread_slot();
	if (t->busy == BUSY_SAMPLED)
		return 0;	/* nested in a sampled call of this thread */
	c->walk_sp = 0;
	if (t->busy) {
		/* an operator new of this thread went on to its original: is this its allocation? */
		uint32_t mark = t->busy, new_sp = (mark & ~MARK_BITS) | 8, depth = new_sp - (uint32_t)sp;
		/* called from inside the new: deeper than its entry (by a return address at least) */
		int nested = depth >= 8 && depth < LT_SMP_NEST_WINDOW &&
			     (kind == LT_SMP_MALLOC || kind == LT_SMP_NEW || kind == LT_SMP_ALIGNED ||
			      kind == LT_SMP_POSIX_MEMALIGN);

		if (!nested) {
			t->busy = 0;	/* a stale mark */
		} else if (kind == LT_SMP_NEW) {
			return 0;	/* new (nothrow) calling new: the mark stays for the malloc */
		} else if ((mark & MARK_BITS) == MARK_UNSAMPLED) {
			t->busy = 0;
			return 0;	/* counted at the new */
		} else {
			/* the sampled new's block: recorded here, walked from the new's entry */
			t->busy = 0;
			c->walk_sp = sp + depth;
			c->flags = F_NEW;
			if (!alive())
				return 0;
			c->size = size;
			c->t = t;
			t->busy = BUSY_SAMPLED;
			return 1;
		}
	}
	if (size) {
		t->left -= (int64_t)size;
		if (t->left <= 0) {
			t->left = draw(t);
			sampled = 1;
		}
	}
	c->flags = 0;
	if (sampled)
		c->flags |= F_NEW;
	if (old && __atomic_load_n(&lt_ctl.live, __ATOMIC_RELAXED) && set_find(old, 0))
		c->flags |= F_OLD;
	if (kind == LT_SMP_NEW) {
		/*
		 * operator new goes on to its original without a frame of ours
		 * (it throws std::bad_alloc, and no unwinder knows this text):
		 * the malloc it calls counts nothing more, and records the
		 * block when the new was sampled.
		 */
		t->busy = ((uint32_t)sp & ~MARK_BITS) | (c->flags && alive() ? MARK_SAMPLED : MARK_UNSAMPLED);
		return 0;
	}
	if (!c->flags || !alive())
		return 0;
	c->size = size;
	c->t = t;
	t->busy = BUSY_SAMPLED;
	return 1;
}

/* After the original of a sampled call: note the block; 1 when the event is to fire. */
int lt_after(struct lt_call *c)
{
	uint32_t slot = c->slot & (LT_SMP_MAX_HOOKS - 1), kind = lt_ctl.kind[slot];
	uint64_t ptr = c->ret, old = 0, size = c->size, w;
	double r = (double)lt_ctl.rate;

	c->t->busy = 0;
	if (kind == LT_SMP_POSIX_MEMALIGN)
		ptr = c->ret == 0 ? *(uint64_t *)c->a[0] : 0;
	if ((c->flags & F_OLD) && (ptr || size == 0) && set_find(c->a[0], 1))
		old = c->a[0];
	/* a sampled block that realloc moved stays sampled */
	if (ptr && !set_add(ptr))
		ptr = 0;
	if (!ptr && !old)
		return 0;
	w = size;
	if (size && r > 0)
		w = (uint64_t)((double)size / (1 - expneg(-(double)size / r)) + 0.5);
	c->ev[0] = ptr;
	c->ev[1] = size;
	c->ev[2] = w;
	c->ev[3] = old;
	c->ev[4] = lt_ctl.fn[slot];
	c->ev[5] = c->walk_sp;
	__atomic_fetch_add(&lt_ctl.sampled, 1, __ATOMIC_RELAXED);
	return 1;
}
