// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fpalloc: an executable with its own allocator, for the caller-frame
 * tests (issue 8). It defines malloc, free, calloc, realloc, posix_memalign,
 * aligned_alloc, memalign, valloc, pvalloc and malloc_usable_size over a
 * bump arena (free keeps the memory), so the executable is the first
 * definer of every allocator function. malloc starts with `push %rbp`
 * (frame pointers), where the kernel adds the caller to the stack itself
 * at an entry probe: leaktrace must not add it a second time.
 *
 *   3 x malloc(321), never freed              fp_leak
 *   2 x posix_memalign(64, 1000), never freed fp_memalign_leak
 *       (posix_memalign calls malloc: the inner entry comes while
 *        posix_memalign's return probe is pending)
 *   2 x realloc(NULL, 222), never freed       fp_realloc_leak
 *       (realloc(NULL, n) calls malloc the same way)
 *   5 x malloc(555), freed                    fp_freed
 *   1 x malloc(77), never freed               fp_pending
 *       This malloc starts the allocator's trim machinery from inside
 *       malloc, while malloc's return probe is pending: start_trim makes
 *       a periodic (1 s) timerfd and a thread (start routine trim_thread)
 *       that blocks forever. Both creation stacks pass through malloc's
 *       return address, which a pending uretprobe has replaced with the
 *       [uprobes] trampoline.
 *
 * Every leaking function is called from run_set, which main calls.
 * Protocol: "READY <pid>", wait for SIGUSR1, "DONE", block.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define NI __attribute__((noinline))
#define API __attribute__((noinline, used, visibility("default")))

/* ------------------------------------------------------------ allocator */

#define ARENA_SIZE (32u << 20)
#define HDR 16		/* before every block: its requested size */

static char arena[ARENA_SIZE] __attribute__((aligned(4096)));
static atomic_size_t arena_used;
static atomic_int trim_armed;	/* set by fp_pending: the next malloc starts trimming */
static atomic_ulong nfree;

/* A block of n bytes aligned to align (a power of two, >= 16); NULL when full. */
static NI void *arena_alloc(size_t n, size_t align)
{
	size_t need, off, start;
	uintptr_t p;

	if (n > ARENA_SIZE || align > ARENA_SIZE / 2) {
		errno = ENOMEM;
		return NULL;
	}
	need = (n + HDR + align + 15) & ~(size_t)15;
	off = atomic_fetch_add(&arena_used, need);
	if (off + need > ARENA_SIZE) {
		errno = ENOMEM;
		return NULL;
	}
	start = (uintptr_t)arena + off + HDR;
	p = (start + align - 1) & ~(uintptr_t)(align - 1);
	*(size_t *)(p - HDR) = n;
	return (void *)p;
}

static NI void *trim_thread(void *a)
{
	(void)a;
	for (;;)
		pause();
	return NULL;
}

/* Called from inside malloc: a periodic trim timer and a trim thread. */
NI void start_trim(void)
{
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	pthread_t t;
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC); /* LEAK:start_trim_timer */

	if (fd < 0 || timerfd_settime(fd, 0, &its, NULL)) {
		perror("fpalloc: trim timer");
		_exit(1);
	}
	if (pthread_create(&t, NULL, trim_thread, NULL)) { /* LEAK:start_trim_thread */
		fputs("fpalloc: pthread_create failed\n", stderr);
		_exit(1);
	}
}

API void *malloc(size_t n)
{
	void *p = arena_alloc(n, 16);

	if (atomic_load(&trim_armed) && atomic_exchange(&trim_armed, 0))
		start_trim();
	return p;
}

API void free(void *p)
{
	if (p)
		atomic_fetch_add(&nfree, 1);	/* a bump arena keeps the memory */
}

API void *calloc(size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return arena_alloc(total, 16);	/* the arena is never reused: already zero */
}

API size_t malloc_usable_size(void *p)
{
	return p ? *(size_t *)((char *)p - HDR) : 0;
}

API void *realloc(void *old, size_t n)
{
	size_t had;
	char *p;

	if (!old)
		return malloc(n);	/* a call, not a jump: -fno-optimize-sibling-calls */
	if (!n) {
		free(old);
		return NULL;
	}
	had = malloc_usable_size(old);
	if (n <= had) {
		*(size_t *)((char *)old - HDR) = n;
		return old;
	}
	p = arena_alloc(n, 16);
	if (!p)
		return NULL;
	for (size_t i = 0; i < had; i++)
		p[i] = ((char *)old)[i];
	return p;
}

static int bad_align(size_t align)
{
	return !align || (align & (align - 1));
}

API int posix_memalign(void **out, size_t align, size_t n)
{
	uintptr_t raw, p;

	if (bad_align(align) || align % sizeof(void *))
		return EINVAL;
	if (align < 16)
		align = 16;
	/* through malloc: a nested tracked call */
	raw = (uintptr_t)malloc(n + align + HDR);
	if (!raw)
		return ENOMEM;
	p = (raw + HDR + align - 1) & ~(uintptr_t)(align - 1);
	*(size_t *)(p - HDR) = n;
	*out = (void *)p;
	return 0;
}

API void *aligned_alloc(size_t align, size_t n)
{
	if (bad_align(align)) {
		errno = EINVAL;
		return NULL;
	}
	return arena_alloc(n, align < 16 ? 16 : align);
}

API void *memalign(size_t align, size_t n)
{
	return aligned_alloc(align, n);
}

API void *valloc(size_t n)
{
	return arena_alloc(n, 4096);
}

API void *pvalloc(size_t n)
{
	return arena_alloc((n + 4095) & ~(size_t)4095, 4096);
}

/* ------------------------------------------------------------ leaks */

static void *volatile keep[32];
static int nkeep;

static void hold(void *p)
{
	if (!p) {
		fputs("fpalloc: out of memory\n", stderr);
		_exit(1);
	}
	keep[nkeep++ % 32] = p;
}

NI void fp_leak(void)
{
	hold(malloc(321)); /* LEAK:fp_leak */
}

NI void fp_memalign_leak(void)
{
	void *p = NULL;

	if (posix_memalign(&p, 64, 1000)) /* LEAK:fp_memalign_leak */
		p = NULL;
	hold(p);
}

NI void fp_realloc_leak(void)
{
	hold(realloc(NULL, 222)); /* LEAK:fp_realloc_leak */
}

NI void fp_freed(void)
{
	void *p = malloc(555);

	hold(p);
	free(p);
}

NI void fp_pending(void)
{
	atomic_store(&trim_armed, 1);
	hold(malloc(77)); /* LEAK:fp_pending */
}

NI void run_set(void)
{
	for (int i = 0; i < 3; i++)
		fp_leak();
	for (int i = 0; i < 2; i++)
		fp_memalign_leak();
	for (int i = 0; i < 2; i++)
		fp_realloc_leak();
	for (int i = 0; i < 5; i++)
		fp_freed();
	fp_pending();
}

int main(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);	/* trim_thread inherits it */
	printf("READY %d\n", (int)getpid());
	fflush(stdout);
	if (sigwait(&set, &sig))
		return 1;
	run_set();
	printf("DONE\n");
	fflush(stdout);
	for (;;)
		pause();
}
