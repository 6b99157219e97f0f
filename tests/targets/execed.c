// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * execed: the program tests/targets/execer execs into (execer PATH/execed).
 *
 *   execed --after      leak N_AFTER x SZ_AFTER from after_exec(), print
 *                       "DONE" with write(2), block forever.
 *
 * The same sizes as execer's --after mode, from another file.
 * Build:  cc -O2 -g -fno-omit-frame-pointer -fno-builtin \
 *            -fno-optimize-sibling-calls execed.c -o execed
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noipa))
#endif

#define N_AFTER		2	/* after_exec: 2 x 2929 = 5858 */
#define SZ_AFTER	2929

void *keep[N_AFTER];	/* not static */

NOINLINE void after_exec(void)
{
	for (int i = 0; i < N_AFTER; i++)
		keep[i] = malloc(SZ_AFTER); /* LEAK:after_exec */
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--after") != 0)
		return 2;
	after_exec();
	if (write(1, "DONE\n", 5) != 5)
		return 1;
	for (;;)
		pause();
}
