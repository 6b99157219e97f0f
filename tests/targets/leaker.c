// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * leaker: leaks an exactly known number of requested bytes through every
 * allocation function leaktrace tracks, each from its own named function,
 * and frees as many other blocks through the same functions from functions
 * named freed_<fn>, which must never show up in a report.
 *
 * Protocol: print "READY <pid>", wait for SIGUSR1, allocate, print "DONE",
 * then block forever (or return from main with --exit).
 * Nothing else is ever printed to stdout.
 *
 * Build:  cc -O2 -g -fno-omit-frame-pointer -fno-builtin \
 *            -fno-optimize-sibling-calls -pthread leaker.c -o leaker
 * Variants: -DNO_PVALLOC (for jemalloc, which has no pvalloc) and -static.
 *
 * Every allocation call that leaks ends with a marker comment LEAK:<name>,
 * from which the integration tests compute the expected source line.
 * Keep the sizes in sync with LEAKER_EXPECT in tests/integration/harness.py.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
/* noipa: no inlining, cloning (.isra/.constprop) or identical-code folding */
#define NOINLINE __attribute__((noinline, noipa))
#endif

/* Leaked: count x requested size, per named function. */
#define N_MALLOC	3	/* malloc(1001)               -> 3003 */
#define SZ_MALLOC	1001
#define N_CALLOC	4	/* calloc(3, 111) = 333       -> 1332 */
#define CALLOC_NMEMB	3
#define CALLOC_SIZE	111
#define SZ_GROW0	1111	/* grow_origin: malloc(1111) */
#define SZ_GROW1	2222	/* grow_realloc: realloc x3 */
#define SZ_GROW2	3333
#define SZ_GROW3	4447	/* one block of 4447 remains */
#define N_REALLOC_NULL	2	/* realloc(NULL, 1237)        -> 2474 */
#define SZ_REALLOC_NULL	1237
#define N_REALLOCARRAY	2	/* reallocarray(NULL, 7, 191) = 1337 -> 2674 */
#define RA_NMEMB	7
#define RA_SIZE		191
#define N_POSIX_MEMALIGN 3	/* posix_memalign(64, 1500)   -> 4500 */
#define SZ_POSIX_MEMALIGN 1500
#define N_ALIGNED_ALLOC	2	/* aligned_alloc(128, 1664)   -> 3328 */
#define SZ_ALIGNED_ALLOC 1664
#define N_MEMALIGN	3	/* memalign(32, 1760)         -> 5280 */
#define SZ_MEMALIGN	1760
#define N_VALLOC	2	/* valloc(1800)               -> 3600 */
#define SZ_VALLOC	1800
#define N_PVALLOC	2	/* pvalloc(1900)              -> 3800 (requested) */
#define SZ_PVALLOC	1900
#define SZ_REALLOC_FAIL	1234	/* leak_realloc_fail_orig: 1 x 1234 */
#define N_THREADS	10	/* thread_first_malloc: malloc(2345) -> 23450 */
#define SZ_THREAD	2345

/* Not static, so that no store (or allocation) is optimized away. */
void *keep_malloc[N_MALLOC];
void *keep_calloc[N_CALLOC];
void *keep_grow;
void *keep_realloc_null[N_REALLOC_NULL];
void *keep_reallocarray[N_REALLOCARRAY];
void *keep_posix_memalign[N_POSIX_MEMALIGN];
void *keep_aligned_alloc[N_ALIGNED_ALLOC];
void *keep_memalign[N_MEMALIGN];
void *keep_valloc[N_VALLOC];
#ifndef NO_PVALLOC
void *keep_pvalloc[N_PVALLOC];
#endif
void *keep_realloc_fail;
void *keep_thread[N_THREADS];

/* Stores through this keep freed blocks "used" even without -fno-builtin. */
static void *volatile sink;
static volatile size_t huge_size = SIZE_MAX / 2;

/* ---- malloc ---- */
NOINLINE void leak_malloc(void)
{
	for (int i = 0; i < N_MALLOC; i++)
		keep_malloc[i] = malloc(SZ_MALLOC); /* LEAK:leak_malloc */
}

NOINLINE void freed_malloc(void)
{
	void *p[N_MALLOC];

	for (int i = 0; i < N_MALLOC; i++)
		sink = p[i] = malloc(SZ_MALLOC + 2);
	for (int i = 0; i < N_MALLOC; i++)
		free(p[i]);
	free(NULL);	/* a no-op by definition */
}

/* ---- calloc ---- */
NOINLINE void leak_calloc(void)
{
	for (int i = 0; i < N_CALLOC; i++)
		keep_calloc[i] = calloc(CALLOC_NMEMB, CALLOC_SIZE); /* LEAK:leak_calloc */
}

NOINLINE void freed_calloc(void)
{
	void *p[N_CALLOC];

	for (int i = 0; i < N_CALLOC; i++)
		sink = p[i] = calloc(CALLOC_NMEMB, CALLOC_SIZE + 2);
	for (int i = 0; i < N_CALLOC; i++)
		free(p[i]);
}

/* ---- realloc: one block grown three times and kept ---- */
static void *pin;

/* A small block right behind the grown one, so realloc cannot grow in place. */
NOINLINE void freed_pin_hold(void)
{
	sink = pin = malloc(64);
}

NOINLINE void freed_pin_release(void)
{
	free(pin);
	pin = NULL;
}

NOINLINE void *grow_origin(void)
{
	return malloc(SZ_GROW0); /* LEAK:grow_origin */
}

NOINLINE void *grow_realloc(void *p)
{
	static const size_t sizes[3] = { SZ_GROW1, SZ_GROW2, SZ_GROW3 };

	for (int i = 0; i < 3; i++)
		p = realloc(p, sizes[i]); /* LEAK:grow_realloc */
	return p;
}

NOINLINE void leak_realloc_grow(void)
{
	void *p = grow_origin();

	freed_pin_hold();
	keep_grow = grow_realloc(p);
	freed_pin_release();
}

NOINLINE void freed_realloc(void)
{
	void *p = malloc(1113);

	p = realloc(p, 2229);
	p = realloc(p, 3339);
	sink = p = realloc(p, 4451);
	free(p);
}

/* realloc(p, 0) frees p in glibc; other allocators may return a new block. */
NOINLINE void freed_realloc_zero(void)
{
	void *p = malloc(1005);
	void *q;

	sink = p;
	q = realloc(p, 0);
	if (q)
		free(q);
}

/* ---- realloc(NULL, n) behaves as malloc(n), counted once ---- */
NOINLINE void leak_realloc_null(void)
{
	for (int i = 0; i < N_REALLOC_NULL; i++)
		keep_realloc_null[i] = realloc(NULL, SZ_REALLOC_NULL); /* LEAK:leak_realloc_null */
}

NOINLINE void freed_realloc_null(void)
{
	void *p[N_REALLOC_NULL];

	for (int i = 0; i < N_REALLOC_NULL; i++)
		sink = p[i] = realloc(NULL, SZ_REALLOC_NULL + 2);
	for (int i = 0; i < N_REALLOC_NULL; i++)
		free(p[i]);
}

/* ---- reallocarray (glibc: -> realloc -> malloc), counted once ---- */
NOINLINE void leak_reallocarray(void)
{
	for (int i = 0; i < N_REALLOCARRAY; i++)
		keep_reallocarray[i] = reallocarray(NULL, RA_NMEMB, RA_SIZE); /* LEAK:leak_reallocarray */
}

NOINLINE void freed_reallocarray(void)
{
	void *p[N_REALLOCARRAY];

	for (int i = 0; i < N_REALLOCARRAY; i++)
		sink = p[i] = reallocarray(NULL, RA_NMEMB, RA_SIZE + 2);
	for (int i = 0; i < N_REALLOCARRAY; i++)
		free(p[i]);
}

/* ---- posix_memalign ---- */
NOINLINE void leak_posix_memalign(void)
{
	for (int i = 0; i < N_POSIX_MEMALIGN; i++)
		if (posix_memalign(&keep_posix_memalign[i], 64, SZ_POSIX_MEMALIGN)) /* LEAK:leak_posix_memalign */
			abort();
}

NOINLINE void freed_posix_memalign(void)
{
	void *p[N_POSIX_MEMALIGN];

	for (int i = 0; i < N_POSIX_MEMALIGN; i++)
		if (posix_memalign(&p[i], 64, SZ_POSIX_MEMALIGN + 2))
			abort();
	for (int i = 0; i < N_POSIX_MEMALIGN; i++) {
		sink = p[i];
		free(p[i]);
	}
}

/* ---- aligned_alloc ---- */
NOINLINE void leak_aligned_alloc(void)
{
	for (int i = 0; i < N_ALIGNED_ALLOC; i++)
		keep_aligned_alloc[i] = aligned_alloc(128, SZ_ALIGNED_ALLOC); /* LEAK:leak_aligned_alloc */
}

NOINLINE void freed_aligned_alloc(void)
{
	void *p[N_ALIGNED_ALLOC];

	for (int i = 0; i < N_ALIGNED_ALLOC; i++)
		sink = p[i] = aligned_alloc(128, SZ_ALIGNED_ALLOC + 128);
	for (int i = 0; i < N_ALIGNED_ALLOC; i++)
		free(p[i]);
}

/* ---- memalign ---- */
NOINLINE void leak_memalign(void)
{
	for (int i = 0; i < N_MEMALIGN; i++)
		keep_memalign[i] = memalign(32, SZ_MEMALIGN); /* LEAK:leak_memalign */
}

NOINLINE void freed_memalign(void)
{
	void *p[N_MEMALIGN];

	for (int i = 0; i < N_MEMALIGN; i++)
		sink = p[i] = memalign(32, SZ_MEMALIGN + 2);
	for (int i = 0; i < N_MEMALIGN; i++)
		free(p[i]);
}

/* ---- valloc ---- */
NOINLINE void leak_valloc(void)
{
	for (int i = 0; i < N_VALLOC; i++)
		keep_valloc[i] = valloc(SZ_VALLOC); /* LEAK:leak_valloc */
}

NOINLINE void freed_valloc(void)
{
	void *p[N_VALLOC];

	for (int i = 0; i < N_VALLOC; i++)
		sink = p[i] = valloc(SZ_VALLOC + 2);
	for (int i = 0; i < N_VALLOC; i++)
		free(p[i]);
}

/* ---- pvalloc (glibc only: Debian's jemalloc does not export it) ---- */
#ifndef NO_PVALLOC
NOINLINE void leak_pvalloc(void)
{
	for (int i = 0; i < N_PVALLOC; i++)
		keep_pvalloc[i] = pvalloc(SZ_PVALLOC); /* LEAK:leak_pvalloc */
}

NOINLINE void freed_pvalloc(void)
{
	void *p[N_PVALLOC];

	for (int i = 0; i < N_PVALLOC; i++)
		sink = p[i] = pvalloc(SZ_PVALLOC + 2);
	for (int i = 0; i < N_PVALLOC; i++)
		free(p[i]);
}
#endif

/* ---- a failed realloc keeps the old block ---- */
NOINLINE void *realloc_fail_try(void *p)
{
	return realloc(p, huge_size);	/* fails: ENOMEM */
}

NOINLINE void leak_realloc_fail_orig(void)
{
	void *p = malloc(SZ_REALLOC_FAIL); /* LEAK:leak_realloc_fail_orig */
	void *q = realloc_fail_try(p);

	if (q)			/* cannot happen; keep whatever we have */
		p = q;
	keep_realloc_fail = p;
}

/* ---- threads: the first malloc of each new thread leaks ---- */
static pthread_barrier_t thread_barrier;

NOINLINE void *thread_first_malloc(void)
{
	return malloc(SZ_THREAD); /* LEAK:thread_first_malloc */
}

NOINLINE void freed_thread_malloc(void)
{
	void *p = malloc(SZ_THREAD + 2);

	sink = p;
	free(p);
}

static void *thread_main(void *arg)
{
	intptr_t i = (intptr_t)arg;

	keep_thread[i] = thread_first_malloc();
	freed_thread_malloc();
	/* keep all threads alive together, so each needs an arena of its own */
	pthread_barrier_wait(&thread_barrier);
	return NULL;
}

NOINLINE void run_threads(void)
{
	pthread_t tid[N_THREADS];

	pthread_barrier_init(&thread_barrier, NULL, N_THREADS);
	for (intptr_t i = 0; i < N_THREADS; i++)
		if (pthread_create(&tid[i], NULL, thread_main, (void *)i))
			abort();
	for (int i = 0; i < N_THREADS; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&thread_barrier);
}

static void run_all(void)
{
	/* freed first, so that leaks reuse freed addresses */
	freed_malloc();
	leak_malloc();
	freed_calloc();
	leak_calloc();
	freed_realloc();
	freed_realloc_zero();
	leak_realloc_grow();
	freed_realloc_null();
	leak_realloc_null();
	freed_reallocarray();
	leak_reallocarray();
	freed_posix_memalign();
	leak_posix_memalign();
	freed_aligned_alloc();
	leak_aligned_alloc();
	freed_memalign();
	leak_memalign();
	freed_valloc();
	leak_valloc();
#ifndef NO_PVALLOC
	freed_pvalloc();
	leak_pvalloc();
#endif
	leak_realloc_fail_orig();
	run_threads();
}

int main(int argc, char **argv)
{
	int exit_after = argc > 1 && strcmp(argv[1], "--exit") == 0;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);	/* threads inherit the mask */

	printf("READY %d\n", (int)getpid());
	fflush(stdout);
	if (sigwait(&set, &sig))
		return 1;

	run_all();

	printf("DONE\n");
	fflush(stdout);
	if (exit_after)
		return 0;
	for (;;)
		pause();
}
