// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * spawner: after SIGUSR1, runs N (default 500) short-lived children one
 * after another; each mallocs 100 B from child_malloc() and exits without
 * freeing. Protocol: "READY <pid>", wait for SIGUSR1, "DONE", block.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

void *sink;

__attribute__((noinline)) void child_malloc(void)
{
	sink = malloc(100); /* LEAK:child_malloc */
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 500;
	sigset_t set;
	int sig;

	if (argc > 1 && argv[1][0] == '-') {
		child_malloc();
		return 0;
	}

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("READY %d\n", (int)getpid());
	fflush(stdout);
	if (sigwait(&set, &sig))
		return 1;
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0) {
			/* a fresh image, as a real short-lived process has */
			execl("/proc/self/exe", "spawner-child", "--child", (char *)NULL);
			_exit(127);
		}
		printf("CHILD %d\n", (int)pid);
		waitpid(pid, NULL, 0);
	}
	printf("DONE\n");
	fflush(stdout);
	for (;;)
		pause();
}
