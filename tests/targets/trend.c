// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * trend: a capped cache and a steady leak, one step a second.
 *
 * Each step: cache_fill() adds CACHE_STEP bytes to a cache for the first
 * CACHE_STEPS steps, then the cache stays as it is (held, never freed);
 * leak_step() leaks LEAK_STEP bytes, every step.
 *
 * Protocol: print "READY <pid>", wait for SIGUSR1, take step 0 and print
 * "DONE", then take step i at i seconds after SIGUSR1 (CLOCK_MONOTONIC,
 * absolute, so steps do not drift), printing "STEP i" after each, forever.
 *
 * Build:  cc -O2 -g -fno-omit-frame-pointer -fno-builtin \
 *            -fno-optimize-sibling-calls trend.c -o trend
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#if defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noipa))
#endif

#define CACHE_STEP	10240	/* bytes added to the cache per step */
#define CACHE_STEPS	5	/* steps 0..4 fill it; then it is full */
#define LEAK_STEP	3000	/* bytes leaked per step */

static void *volatile cache[CACHE_STEPS];
static void *volatile last_leak;

NOINLINE void cache_fill(int step)
{
	if (step < CACHE_STEPS)
		cache[step] = malloc(CACHE_STEP); /* LEAK:cache_fill */
}

NOINLINE void leak_step(void)
{
	last_leak = malloc(LEAK_STEP); /* LEAK:leak_step */
}

int main(void)
{
	struct timespec t0, at;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);

	printf("READY %d\n", (int)getpid());
	fflush(stdout);
	if (sigwait(&set, &sig))
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int step = 0;; step++) {
		at = t0;
		at.tv_sec += step;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL))
			;
		cache_fill(step);
		leak_step();
		if (step == 0)
			printf("DONE\n");
		printf("STEP %d\n", step);
		fflush(stdout);
	}
}
