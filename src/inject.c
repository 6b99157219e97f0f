// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --inject: the held state of one target. inject__start stops every
 * thread, maps the sampler (inject_map.c), writes its control block and
 * trampolines, and replaces each hooked function's first bytes by a
 * `jmp rel32` into the sampler; a function some thread is executing the
 * first bytes of is tried again after a millisecond, a few times, and then
 * left to a uprobe. A heartbeat thread writes the TSC into the control
 * block; the sampler goes inert when it stops (leaktrace killed).
 * inject__undo puts the original bytes back and checks them byte for byte.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>
#include "inject.h"
#include "log.h"
#include "sampler_abi.h"
#include "sampler_blob.h"

#define TRIES 8			/* stops before a busy function is left to a uprobe */
#define HEARTBEAT_MS 200
#define HEARTBEAT_TIMEOUT_S 3

struct hooked {
	struct inject_fn *fn;
	struct detour d;
	int slot;
	bool in;		/* our jmp is in place */
};

struct inject {
	struct inj_proc p;
	int held_tid;
	char path[256];
	uint64_t base;
	struct hooked *h;
	int nh;
	pthread_t hb;
	bool hb_running;
	atomic_bool hb_stop;
	bool undone;
};

static uint64_t tramp_of(const struct inject *in, int slot)
{
	return in->base + LT_SMP_TEXT + (uint64_t)slot * LT_SMP_TRAMP_SLOT;
}

static uint64_t ctl_addr(const struct inject *in)
{
	return in->base + LT_SMP_TEXT + LT_SMP_TRAMP;
}

/* TSC ticks per second, measured over 20 ms. */
static double tsc_hz(void)
{
	struct timespec a, b;
	uint64_t ta, tb;

	clock_gettime(CLOCK_MONOTONIC, &a);
	ta = __rdtsc();
	usleep(20000);
	tb = __rdtsc();
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(tb - ta) / ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
}

static void *heartbeat(void *arg)
{
	struct inject *in = arg;
	uint64_t at = ctl_addr(in) + offsetof(struct lt_smp_ctl, hb_tsc);

	while (!atomic_load(&in->hb_stop)) {
		uint64_t now = __rdtsc();

		if (inj__write(&in->p, at, &now, sizeof(now)))
			break;	/* the target is gone */
		usleep(HEARTBEAT_MS * 1000);
	}
	return NULL;
}

/* Plan every detour against the real trampolines; those that cannot be made say why. */
static void plan_all(struct inject *in)
{
	for (int i = 0; i < in->nh; i++) {
		struct hooked *h = &in->h[i];

		if (h->fn->why[0])
			continue;
		if (detour__plan(h->fn->code, h->fn->len, h->fn->entry, tramp_of(in, h->slot), &h->d,
				 h->fn->why, sizeof(h->fn->why)))
			continue;
	}
}

/*
 * Are the live bytes those of the file (no other tool's breakpoint)? A
 * jmp into this sampler's text is ours, left by a leaktrace that was
 * killed: it is taken over (and undone at the end like the others).
 */
static bool pristine(struct inject *in, struct hooked *h)
{
	uint8_t live[DETOUR_MAX_DISPLACED];
	int32_t rel;
	uint64_t to;

	if (inj__read(&in->p, h->d.patch, live, h->d.ndisp))
		return false;
	if (memcmp(live, h->d.orig, h->d.ndisp) == 0)
		return true;
	if (live[0] != 0xe9 || memcmp(live + DETOUR_PATCH, h->d.orig + DETOUR_PATCH, h->d.ndisp - DETOUR_PATCH))
		return false;
	memcpy(&rel, live + 1, 4);
	to = h->d.patch + DETOUR_PATCH + (int64_t)rel;
	if (to < in->base || to >= in->base + LT_SMP_TEXT)
		return false;
	lt_info(1, "--inject: pid %d: %s still has the detour of an earlier leaktrace; taken over\n", in->p.pid,
		h->fn->sym);
	return true;
}

/*
 * A block an allocation function's uprobe records is not in the sampler's
 * set: a detoured free would never tell of it. So when one allocation
 * function keeps its uprobe, the frees keep theirs too (every free then
 * traps, and each block's free is seen).
 */
static void frees_follow(struct inject *in)
{
	const char *alloc = NULL;

	for (int i = 0; i < in->nh && !alloc; i++)
		if (in->h[i].fn->kind != LT_SMP_FREE && !in->h[i].in && in->h[i].fn->why[0])
			alloc = in->h[i].fn->sym;
	for (int i = 0; alloc && i < in->nh; i++) {
		struct hooked *h = &in->h[i];

		if (h->fn->kind == LT_SMP_FREE && !h->in && !h->fn->why[0])
			snprintf(h->fn->why, sizeof(h->fn->why),
				 "%s keeps a uprobe, so the frees do too (its blocks are not in the sampler's set)",
				 alloc);
	}
}

/* Write H's trampoline and jump; false (H's why says it) when it cannot. */
static bool put_detour(struct inject *in, struct hooked *h)
{
	uint8_t jmp[DETOUR_PATCH], back[DETOUR_PATCH];

	if (!pristine(in, h)) {
		snprintf(h->fn->why, sizeof(h->fn->why), "its first bytes differ from its file (another tool's breakpoint?)");
		return false;
	}
	if (detour__jump(&h->d, in->base + lt_smp_hook_off[h->slot], jmp)) {
		snprintf(h->fn->why, sizeof(h->fn->why), "the sampler is out of jmp reach");
		return false;
	}
	if (inj__write(&in->p, tramp_of(in, h->slot), h->d.tramp, h->d.ntramp) ||
	    inj__write(&in->p, h->d.patch, jmp, DETOUR_PATCH) ||
	    inj__read(&in->p, h->d.patch, back, DETOUR_PATCH) || memcmp(back, jmp, DETOUR_PATCH)) {
		snprintf(h->fn->why, sizeof(h->fn->why), "cannot write its detour");
		return false;
	}
	h->in = true;
	h->fn->injected = true;
	return true;
}

/*
 * With every thread stopped: control block, trampolines, detours; the
 * allocation functions first, then the frees (frees_follow). Functions done.
 */
static int place(struct inject *in, bool reused, double hz, const struct inject_opts *o)
{
	struct lt_smp_ctl ctl;
	int n = 0;

	memset(&ctl, 0, sizeof(ctl));
	if (reused && inj__read(&in->p, ctl_addr(in), &ctl, sizeof(ctl)) == 0 && ctl.magic == LT_SMP_MAGIC) {
		uint64_t gen = ctl.generation + 1;

		memset(&ctl, 0, sizeof(ctl));	/* the counters are this inject's */
		ctl.generation = gen;
	} else {
		memset(&ctl, 0, sizeof(ctl));
	}
	ctl.magic = LT_SMP_MAGIC;
	ctl.active = 0;
	ctl.dead = 0;
	ctl.hb_tsc = __rdtsc();
	ctl.hb_timeout = (uint64_t)(hz * HEARTBEAT_TIMEOUT_S);
	ctl.rate = o->rate;
	ctl.seed = o->seed;
	memset(ctl.kind, 0, sizeof(ctl.kind));
	for (int i = 0; i < in->nh; i++) {
		struct hooked *h = &in->h[i];

		ctl.fn[h->slot] = h->fn->entry;
		ctl.kind[h->slot] = h->fn->kind;
	}
	if (inj__write(&in->p, ctl_addr(in), &ctl, sizeof(ctl)))
		return -EIO;
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			frees_follow(in);
		for (int i = 0; i < in->nh; i++) {
			struct hooked *h = &in->h[i];

			if ((h->fn->kind == LT_SMP_FREE) != (pass == 1) || h->fn->why[0] || h->in)
				continue;
			n += put_detour(in, h);
		}
	}
	ctl.active = 1;
	if (inj__write(&in->p, ctl_addr(in) + offsetof(struct lt_smp_ctl, active), &ctl.active, 4))
		return -EIO;
	return n;
}

/* Functions whose displaced bytes some thread is executing now. */
static int busy(struct inject *in, bool mark)
{
	int n = 0;

	for (int i = 0; i < in->nh; i++) {
		struct hooked *h = &in->h[i];
		uint64_t t = tramp_of(in, h->slot);

		if (h->fn->why[0] || h->in)
			continue;
		if (inj__pc_in(&in->p, h->d.patch + 1, h->d.patch + h->d.ndisp) ||
		    inj__pc_in(&in->p, t, t + LT_SMP_TRAMP_SLOT)) {
			n++;
			if (mark)
				snprintf(h->fn->why, sizeof(h->fn->why),
					 "a thread stayed inside its first %d bytes through %d tries", h->d.ndisp, TRIES);
		}
	}
	return n;
}

struct inject *inject__start(int pid, struct inject_fn *fn, int nfn, const struct inject_opts *o)
{
	struct inject *in = calloc(1, sizeof(*in));
	uint64_t lo = UINT64_MAX, hi = 0;
	char why[256] = "";
	bool reused = false;
	double hz = tsc_hz();
	int err, n = 0;

	if (!in)
		return NULL;
	in->held_tid = o->held_tid;
	in->p.mem = -1;
	if (nfn > LT_SMP_MAX_HOOKS)
		nfn = LT_SMP_MAX_HOOKS;
	in->h = calloc(nfn ? nfn : 1, sizeof(*in->h));
	if (!in->h)
		goto fail_nomem;
	for (int i = 0; i < nfn; i++) {
		fn[i].injected = false;
		fn[i].why[0] = 0;
		in->h[in->nh].fn = &fn[i];
		in->h[in->nh].slot = in->nh;
		in->nh++;
		if (fn[i].lib_lo < lo)
			lo = fn[i].lib_lo;
		if (fn[i].lib_hi > hi)
			hi = fn[i].lib_hi;
	}
	if ((err = inj__blob_file(in->path, sizeof(in->path)))) {
		lt_err("--inject: cannot write the sampler file under /run/leaktrace: %s\n", strerror(-err));
		goto fail;
	}
	if (inj__open(&in->p, pid, why, sizeof(why))) {
		lt_err("--inject: pid %d: %s\n", pid, why);
		goto fail;
	}
	for (int attempt = 0; attempt < TRIES; attempt++) {
		if ((err = inj__stop(&in->p, in->held_tid, why, sizeof(why)))) {
			lt_err("--inject: pid %d: %s\n", pid, why);
			goto fail;
		}
		if (!in->base) {
			if ((err = inj__map(&in->p, in->path, lo, hi, &in->base, &reused, why, sizeof(why)))) {
				inj__resume(&in->p);
				lt_err("--inject: pid %d: %s\n", pid, why);
				goto fail;
			}
			plan_all(in);
		}
		if (busy(in, attempt == TRIES - 1) && attempt < TRIES - 1) {
			lt_info(1, "--inject: pid %d: a thread is inside the bytes to patch; trying again in 1 ms\n", pid);
			inj__resume(&in->p);
			usleep(1000);
			continue;
		}
		n = place(in, reused, hz, o);
		inj__resume(&in->p);
		break;
	}
	if (n < 0) {
		lt_err("--inject: pid %d: cannot write the sampler's control block\n", pid);
		goto fail;
	}
	for (int i = 0; i < in->nh; i++)
		if (!in->h[i].in)
			lt_warn("--inject: pid %d: %s at 0x%llx not detoured: %s; a uprobe traces it instead\n", pid,
				in->h[i].fn->sym, (unsigned long long)in->h[i].fn->entry, in->h[i].fn->why);
	lt_info(1, "--inject: pid %d: sampler at 0x%llx (%s%s), %d of %d functions detoured\n", pid,
		(unsigned long long)in->base, in->path, reused ? ", mapped earlier" : "", n, in->nh);
	if (pthread_create(&in->hb, NULL, heartbeat, in) == 0)
		in->hb_running = true;
	return in;
fail_nomem:
	errno = ENOMEM;
fail:
	inj__close(&in->p);
	free(in->h);
	free(in);
	errno = EIO;
	return NULL;
}

const char *inject__path(const struct inject *in)
{
	return in->path;
}

int inject__pid(const struct inject *in)
{
	return in->p.pid;
}

bool inject__counters(struct inject *in, uint64_t *sampled, uint64_t *set_full, uint64_t *threads_full)
{
	struct lt_smp_ctl ctl;

	if (inj__read(&in->p, ctl_addr(in), &ctl, sizeof(ctl)) || ctl.magic != LT_SMP_MAGIC)
		return false;
	*sampled = ctl.sampled;
	*set_full = ctl.set_full;
	*threads_full = ctl.threads_full;
	return true;
}

int inject__undo(struct inject *in)
{
	char why[256] = "";
	uint32_t off = 0;
	int restored = 0, bad = 0, err;

	if (in->undone)
		return 0;
	in->undone = true;
	if (in->hb_running) {
		atomic_store(&in->hb_stop, true);
		pthread_join(in->hb, NULL);
		in->hb_running = false;
	}
	if ((err = inj__stop(&in->p, in->held_tid, why, sizeof(why)))) {
		if (err == -ESRCH)
			return 0;	/* the target is gone */
		lt_err("--inject: pid %d: cannot stop it to undo the detours: %s\n", in->p.pid, why);
		return err;
	}
	inj__write(&in->p, ctl_addr(in) + offsetof(struct lt_smp_ctl, active), &off, 4);
	for (int i = 0; i < in->nh; i++) {
		struct hooked *h = &in->h[i];
		uint8_t live[DETOUR_MAX_DISPLACED], jmp[DETOUR_PATCH];

		if (!h->in)
			continue;
		detour__jump(&h->d, in->base + lt_smp_hook_off[h->slot], jmp);
		if (inj__read(&in->p, h->d.patch, live, h->d.ndisp) || memcmp(live, jmp, DETOUR_PATCH)) {
			lt_err("--inject: pid %d: %s's first bytes changed since the inject; left as they are\n",
			       in->p.pid, h->fn->sym);
			bad++;
			continue;
		}
		if (inj__write(&in->p, h->d.patch, h->d.orig, DETOUR_PATCH) ||
		    inj__read(&in->p, h->d.patch, live, h->d.ndisp) || memcmp(live, h->d.orig, h->d.ndisp)) {
			lt_err("--inject: pid %d: %s: the original bytes did not read back\n", in->p.pid, h->fn->sym);
			bad++;
			continue;
		}
		h->in = false;
		restored++;
	}
	inj__resume(&in->p);
	lt_info(1, "--inject: pid %d: %d detours undone, the original bytes checked%s\n", in->p.pid, restored,
		bad ? "; some were not" : "");
	return bad ? -EIO : 0;
}

void inject__free(struct inject *in)
{
	if (!in)
		return;
	inject__undo(in);
	inj__close(&in->p);
	free(in->h);
	free(in);
}
