// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cbleak: leaks from a qsort comparator. glibc's qsort (built without frame
 * pointers) sits between the leaking callback and the code that called
 * qsort, so a frame-pointer walk loses the frames on the far side of libc.
 *
 * Protocol: print "READY <pid>", wait for SIGUSR1, sort, print "DONE", then
 * block forever. Leaks N_CB blocks of SZ_CB bytes from cmp_leaky (the line
 * marked LEAK:cmp_leaky); keep in sync with tests/integration/test_stacks.py.
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

#define N_CB	5
#define SZ_CB	1500	/* 5 x 1500 = 7500 B */
#define N_VALUES 64

void *keep[N_CB];
static int nleak;

NOINLINE int cmp_leaky(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	if (nleak < N_CB) {
		keep[nleak] = malloc(SZ_CB); /* LEAK:cmp_leaky */
		nleak++;
	}
	return (x > y) - (x < y);
}

NOINLINE void sort_numbers(void)
{
	int v[N_VALUES];

	for (int i = 0; i < N_VALUES; i++)
		v[i] = (i * 37) % N_VALUES;
	qsort(v, N_VALUES, sizeof(v[0]), cmp_leaky);
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
	sort_numbers();
	printf("DONE\n");
	fflush(stdout);
	for (;;)
		pause();
}
