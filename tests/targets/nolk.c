// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nolk: allocates all the time and frees everything it allocates.
 *
 * Every 10 ms work() builds a small working set (malloc, calloc, realloc)
 * and frees it again before returning; scratch() holds one block at a time.
 * Nothing is outstanding between rounds, so a leak checker must find no
 * growing site. A once-a-second sample may land inside work() and see part
 * of the working set; each site then holds at most 40 bytes, so that such a
 * blip stays under the trend rule's 64-byte floor (a window of samples
 * ranging over R bytes has a least-squares rise of at most 1.2 R).
 *
 * Protocol: as continuous.c: print "READY <pid>", wait for SIGUSR1, run one
 * round, print "DONE", then run rounds until killed. With --no-wait, start
 * the rounds at once.
 *
 * Build:  cc -O2 -g -fno-omit-frame-pointer -fno-builtin \
 *            -fno-optimize-sibling-calls nolk.c -o nolk
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

#define WORK_BLOCKS	4	/* 2 malloc + 2 calloc, 12 bytes each after realloc */
#define PERIOD_NS	10000000L	/* 10 ms */

static void *volatile sink;

/* One block of 40 bytes at a time. */
NOINLINE void scratch(void)
{
	char *p = malloc(40);

	if (p) {
		memset(p, 1, 40);
		sink = p;
		free(p);
	}
}

NOINLINE void work(void)
{
	void *blk[WORK_BLOCKS];

	/* short-lived: allocated and freed within microseconds */
	for (int i = 0; i < WORK_BLOCKS; i++)
		blk[i] = (i & 1) ? calloc(2, 4) : malloc(8);
	for (int i = 0; i < WORK_BLOCKS; i++) {
		void *n = realloc(blk[i], 12);

		if (n)
			blk[i] = n;
	}
	for (int i = 0; i < WORK_BLOCKS; i++)
		free(blk[i]);
	scratch();
}

int main(int argc, char **argv)
{
	int no_wait = argc > 1 && strcmp(argv[1], "--no-wait") == 0;
	struct timespec ts = { 0, PERIOD_NS };
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
		work();
		printf("DONE\n");
		fflush(stdout);
	}
	for (;;) {
		work();
		nanosleep(&ts, NULL);
	}
}
