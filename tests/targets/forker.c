// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * forker: a process that forks. After SIGUSR1 the parent leaks 2 x 1000 B
 * from parent_leak() and 1 x 777 B from inherited() before fork(); the
 * child leaks 3 x 555 B from child_leak() and frees its copy of the
 * inherited block; the parent prints "DONE" once the child has leaked.
 *
 * Protocol: "READY <pid>", wait for SIGUSR1, "CHILD <pid>", "DONE", block.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define NI __attribute__((noinline))

void *keep[8];

NI void parent_leak(int i)
{
	keep[i] = malloc(1000); /* LEAK:parent_leak */
}

NI void *inherited(void)
{
	return malloc(777); /* LEAK:inherited */
}

NI void child_leak(int i)
{
	keep[i] = malloc(555); /* LEAK:child_leak */
}

int main(void)
{
	int fds[2];
	sigset_t set;
	pid_t pid;
	void *inh;
	int sig;
	char b;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (pipe(fds))
		return 1;
	printf("READY %d\n", (int)getpid());
	fflush(stdout);
	if (sigwait(&set, &sig))
		return 1;
	parent_leak(0);
	parent_leak(1);
	inh = inherited();
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		for (int i = 2; i < 5; i++)
			child_leak(i);
		free(inh);	/* the child's copy: it was never the child's block */
		if (write(fds[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	if (read(fds[0], &b, 1) != 1)
		return 1;
	printf("CHILD %d\nDONE\n", (int)pid);
	fflush(stdout);
	for (;;)
		pause();
}
