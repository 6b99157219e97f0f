// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * inpatch: a thread held inside the first bytes of glibc's malloc, for
 * --inject's "a thread is inside the bytes to patch" path
 * (tests/integration/test_inject.py).
 *
 * glibc 2.36's malloc starts with push %r12; push %rbp; push %rbx. The
 * thread calls malloc with its stack pointer placed so that the first push
 * writes the last word of a present page and the second the first word of
 * a missing page watched by a userfaultfd: it stops at malloc+2, inside the
 * bytes a detour would overwrite, until this program resolves the page.
 *
 *   inpatch [--retry] [--exit]
 *   "READY <pid>", then "STUCK" once the thread is held.
 *   default: the page is resolved at SIGUSR1 (held through every try of an
 *            inject: malloc is left to a uprobe);
 *   --retry: the page is resolved at the thread's second fault, i.e. once a
 *            ptrace stop has interrupted the first and it ran again (a
 *            later try of the inject finds it gone).
 *   Then, after SIGUSR1: the thread's block freed, leak_after() leaks
 *   N_LEAK x SZ_LEAK bytes, balanced() allocates and frees N_BAL blocks;
 *   "DONE"; block forever (or return with --exit).
 *
 * Exit status 2 with "NO-UFFD <errno>" on stdout: no userfaultfd here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noipa))
#endif

#define N_LEAK	100	/* leak_after: 100 x 4000 B = 400,000 B */
#define SZ_LEAK	4000
#define N_BAL	500	/* balanced: 500 x 3000 B, each freed */
#define SZ_BAL	3000
#define PAGES	16	/* the held thread's stack: page HELD missing, the rest present */
#define HELD	14

static char *stack;
static void *held_block;
void *keep[N_LEAK];	/* not static: the stores must stay */
static void *volatile sink;

/* Call FN(N) with rsp = SP at the call (16-aligned), back on our own stack after. */
static void *call_on(void *(*fn)(size_t), size_t n, uintptr_t sp)
{
	void *ret;

	__asm__ volatile("mov %%rsp, %%r12\n\t"
			 "mov %[sp], %%rsp\n\t"
			 "call *%[fn]\n\t"
			 "mov %%r12, %%rsp\n\t"
			 : "=a"(ret), "+D"(n)
			 : [fn] "b"(fn), [sp] "r"(sp)
			 : "r12", "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "memory", "cc",
			   "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
			   "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	return ret;
}

static void *held_thread(void *arg)
{
	/* entry rsp = the present page's first word + 8: push %r12 lands there, push %rbp below it */
	uintptr_t sp = (uintptr_t)stack + (HELD + 1) * 4096 + 16;

	(void)arg;
	held_block = call_on(malloc, 100, sp);
	return NULL;
}

NOINLINE static void leak_after(void)
{
	for (int i = 0; i < N_LEAK; i++) {
		keep[i] = malloc(SZ_LEAK); /* LEAK:leak_after */
		memset(keep[i], 1, 1);
	}
}

NOINLINE static void balanced(void)
{
	for (int i = 0; i < N_BAL; i++) {
		void *p = malloc(SZ_BAL);

		sink = p;
		free(p);
	}
}

/* The next page fault of the userfaultfd (blocks). 0, or -1. */
static int next_fault(int uffd)
{
	struct uffd_msg msg;

	for (;;) {
		ssize_t n = read(uffd, &msg, sizeof(msg));

		if (n == (ssize_t)sizeof(msg) && msg.event == UFFD_EVENT_PAGEFAULT)
			return 0;
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -1;
	}
}

int main(int argc, char **argv)
{
	bool retry = false, exit_after = false;
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	struct uffdio_zeropage zp;
	sigset_t set;
	pthread_t th;
	int uffd, sig;

	for (int i = 1; i < argc; i++) {
		retry |= strcmp(argv[i], "--retry") == 0;
		exit_after |= strcmp(argv[i], "--exit") == 0;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	free(malloc(1));	/* this thread's arena before anything is held */

	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api)) {
		printf("NO-UFFD %d\n", errno);
		return 2;
	}
	stack = mmap(NULL, PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (stack == MAP_FAILED)
		return 1;
	for (int i = 0; i < PAGES; i++)
		if (i != HELD)
			stack[i * 4096] = 1;
	reg.range.start = (uintptr_t)stack + HELD * 4096;
	reg.range.len = 4096;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		printf("NO-UFFD %d\n", errno);
		return 2;
	}
	printf("READY %d\n", (int)getpid());
	fflush(stdout);
	if (pthread_create(&th, NULL, held_thread, NULL) || next_fault(uffd))
		return 1;
	printf("STUCK\n");
	fflush(stdout);
	if (retry && next_fault(uffd))	/* it ran again: a ptrace stop interrupted the first */
		return 1;
	if (!retry && sigwait(&set, &sig))
		return 1;
	zp.range = reg.range;
	zp.mode = 0;
	if (ioctl(uffd, UFFDIO_ZEROPAGE, &zp) && errno != EEXIST)
		return 1;
	if (retry && sigwait(&set, &sig))
		return 1;
	pthread_join(th, NULL);
	free(held_block);
	leak_after();
	balanced();
	printf("DONE\n");
	fflush(stdout);
	if (exit_after)
		return 0;
	for (;;)
		pause();
}
