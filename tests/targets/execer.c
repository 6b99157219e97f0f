// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * execer: leaks, then replaces its image with exec, and leaks again.
 *
 *   execer [PROG]       "READY <pid>", wait for SIGUSR1, leak N_BEFORE x
 *                       SZ_BEFORE from before_exec(), then exec PROG (default:
 *                       this program, as /proc/self/exe names it) with the single
 *                       argument --after.
 *   execer --after      leak N_AFTER x SZ_AFTER from after_exec(), print
 *                       "DONE", block forever.
 *
 * tests/targets/execed.c is the other program, with the same --after mode.
 * DONE is written with write(2): stdio would allocate its buffer.
 *
 * Build:  cc -O2 -g -fno-omit-frame-pointer -fno-builtin \
 *            -fno-optimize-sibling-calls execer.c -o execer
 * Keep the sizes in sync with tests/integration/test_faults.py.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noipa))
#endif

#define N_BEFORE	3	/* before_exec: 3 x 1717 = 5151 */
#define SZ_BEFORE	1717
#define N_AFTER		2	/* after_exec: 2 x 2929 = 5858 */
#define SZ_AFTER	2929

void *keep[N_BEFORE > N_AFTER ? N_BEFORE : N_AFTER];	/* not static */

NOINLINE void before_exec(void)
{
	for (int i = 0; i < N_BEFORE; i++)
		keep[i] = malloc(SZ_BEFORE); /* LEAK:before_exec */
}

NOINLINE void after_exec(void)
{
	for (int i = 0; i < N_AFTER; i++)
		keep[i] = malloc(SZ_AFTER); /* LEAK:after_exec */
}

int main(int argc, char **argv)
{
	char self[4096];
	const char *prog = self;
	ssize_t n;
	sigset_t set;
	int sig;

	if (argc > 1 && strcmp(argv[1], "--after") == 0) {
		after_exec();
		if (write(1, "DONE\n", 5) != 5)
			return 1;
		for (;;)
			pause();
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = 0;	/* the real path: comm stays "execer" */
	if (argc > 1)
		prog = argv[1];

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("READY %d\n", (int)getpid());
	fflush(stdout);
	if (sigwait(&set, &sig))
		return 1;

	before_exec();
	execl(prog, prog, "--after", (char *)NULL);
	perror("execer: exec");
	return 1;
}
