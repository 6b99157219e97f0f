// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * exiter: leaks N blocks of 4321 bytes from leak_before_exit(), then exits
 * with status 0 about 0.5 s later, with the blocks still outstanding.
 *
 *   exiter [N]              "READY <pid>", wait for SIGUSR1, leak, "DONE",
 *                           sleep 0.5 s, exit 0.
 *   exiter --no-wait [N]    no handshake and no output at all: leak at once,
 *                           sleep 0.5 s, exit 0 (for leaktrace -c).
 * N defaults to 4 (1..64): 4 x 4321 = 17284 bytes.
 *
 * Build:  cc -O2 -g -fno-omit-frame-pointer -fno-builtin \
 *            -fno-optimize-sibling-calls exiter.c -o exiter
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

#define EXIT_BLOCK	4321
#define MAX_BLOCKS	64

void *keep[MAX_BLOCKS];	/* not static: never optimized away */

NOINLINE void leak_before_exit(int n)
{
	for (int i = 0; i < n; i++)
		keep[i] = malloc(EXIT_BLOCK); /* LEAK:leak_before_exit */
}

int main(int argc, char **argv)
{
	struct timespec half = { 0, 500000000L };
	int no_wait = 0, n = 4;
	sigset_t set;
	int sig;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--no-wait") == 0) {
			no_wait = 1;
		} else {
			n = atoi(argv[i]);
			if (n < 1 || n > MAX_BLOCKS) {
				fprintf(stderr, "exiter: bad count %s\n", argv[i]);
				return 2;
			}
		}
	}

	if (!no_wait) {
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigprocmask(SIG_BLOCK, &set, NULL);
		printf("READY %d\n", (int)getpid());
		fflush(stdout);
		if (sigwait(&set, &sig))
			return 1;
	}

	leak_before_exit(n);

	if (!no_wait) {
		printf("DONE\n");
		fflush(stdout);
	}
	nanosleep(&half, NULL);
	return 0;
}
