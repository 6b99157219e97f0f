// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * continuous: leaks 100 bytes every 10 ms, forever, from drip().
 *
 * Protocol: print "READY <pid>", wait for SIGUSR1, drip once, print "DONE"
 * (meaning: leaking has started), then keep dripping until killed.
 * With --no-wait: print "READY <pid>" and start dripping at once.
 *
 * Build:  cc -O2 -g -fno-omit-frame-pointer -fno-builtin \
 *            -fno-optimize-sibling-calls continuous.c -o continuous
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noipa))
#endif

#define DRIP_SIZE	100
#define DRIP_PERIOD_NS	10000000L	/* 10 ms */

static void *volatile last;

NOINLINE void drip(void)
{
	last = malloc(DRIP_SIZE); /* LEAK:drip */
}

int main(int argc, char **argv)
{
	int no_wait = argc > 1 && strcmp(argv[1], "--no-wait") == 0;
	struct timespec ts = { 0, DRIP_PERIOD_NS };
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);

	printf("READY %d\n", (int)getpid());
	fflush(stdout);
	if (!no_wait) {
		if (sigwait(&set, &sig))
			return 1;
		drip();
		printf("DONE\n");
		fflush(stdout);
		nanosleep(&ts, NULL);
	}
	for (;;) {
		drip();
		nanosleep(&ts, NULL);
	}
}
