// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * many: makes exactly N_BLOCKS live malloc(SZ_BLOCK) allocations after the
 * attach, from hold_many(), and nothing else (for --max-allocs).
 *
 * Protocol: print "READY <pid>", wait for SIGUSR1, allocate, print "DONE",
 * then block forever. READY is printed with printf before the attach, so
 * the stdout buffer (glibc's only allocation here) already exists when
 * DONE is printed: after the attach the program calls malloc exactly
 * N_BLOCKS times and free never. The pointers are kept in a static array.
 *
 * Build:  cc -O2 -g -fno-omit-frame-pointer -fno-builtin \
 *            -fno-optimize-sibling-calls many.c -o many
 * Keep N_BLOCKS and SZ_BLOCK in sync with tests/integration/test_faults.py.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noipa))
#endif

#define N_BLOCKS	5000
#define SZ_BLOCK	64

void *keep[N_BLOCKS];	/* not static: never optimized away */

NOINLINE void hold_many(void)
{
	for (int i = 0; i < N_BLOCKS; i++)
		keep[i] = malloc(SZ_BLOCK); /* LEAK:hold_many */
}

int main(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);

	printf("READY %d\n", (int)getpid());
	fflush(stdout);
	if (sigwait(&set, &sig))
		return 1;

	hold_many();

	printf("DONE\n");	/* the buffer exists: no allocation */
	fflush(stdout);
	for (;;)
		pause();
}
