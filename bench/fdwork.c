// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * leaktrace fd and mmap micro-benchmark workload (bench/fds.py): each
 * operation made and released N times, four frames deep.
 *
 *   fdwork [-n N] [-r REPS] [OP...]    OP: open socket pipe eventfd mmap getppid (default: all)
 *
 * getppid makes nothing: it is what every other syscall of every process
 * pays for the fd tracker's program at raw_syscalls:sys_exit.
 *
 * Handshake as bench/workload.c: "READY <pid>", then a byte on stdin or
 * SIGUSR1. Each repetition of each op prints
 *   op <name> rep <i> ns <x>
 * where x is the wall time of N make+release pairs divided by N.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define BARRIER() __asm__ volatile("" ::: "memory")

static volatile sig_atomic_t go_signal;

static void on_usr1(int sig)
{
	(void)sig;
	go_signal = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

NOINLINE static void op_open(void)
{
	int fd = open("/dev/null", O_RDONLY);

	if (fd >= 0)
		close(fd);
	BARRIER();
}

NOINLINE static void op_socket(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd >= 0)
		close(fd);
	BARRIER();
}

NOINLINE static void op_pipe(void)
{
	int p[2];

	if (pipe(p) == 0) {
		close(p[0]);
		close(p[1]);
	}
	BARRIER();
}

NOINLINE static void op_eventfd(void)
{
	int fd = eventfd(0, 0);

	if (fd >= 0)
		close(fd);
	BARRIER();
}

NOINLINE static void op_mmap(void)
{
	void *p = mmap(NULL, 64 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p != MAP_FAILED)
		munmap(p, 64 << 10);
	BARRIER();
}

NOINLINE static void op_getppid(void)
{
	syscall(SYS_getppid);
	BARRIER();
}

static const struct {
	const char *name;
	void (*fn)(void);
} ops[] = {
	{ "open", op_open }, { "socket", op_socket }, { "pipe", op_pipe },
	{ "eventfd", op_eventfd }, { "mmap", op_mmap }, { "getppid", op_getppid },
};

/* Three more frames between the loop and the operation. */
NOINLINE static void level3(void (*fn)(void))
{
	fn();
	BARRIER();
}

NOINLINE static void level2(void (*fn)(void))
{
	level3(fn);
	BARRIER();
}

NOINLINE static void level1(void (*fn)(void), long n)
{
	for (long i = 0; i < n; i++)
		level2(fn);
	BARRIER();
}

int main(int argc, char **argv)
{
	long n = 20000;
	int reps = 3, opt, first;
	char c;

	while ((opt = getopt(argc, argv, "n:r:")) != -1) {
		if (opt == 'n')
			n = atol(optarg);
		else if (opt == 'r')
			reps = atoi(optarg);
		else
			return 2;
	}
	first = optind;
	signal(SIGUSR1, on_usr1);
	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
		level1(ops[k].fn, 100);	/* warm up */
	printf("READY %d\n", (int)getpid());
	fflush(stdout);
	while (!go_signal && read(0, &c, 1) < 0)
		;
	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		bool want = first >= argc;

		for (int a = first; a < argc; a++)
			want |= strcmp(argv[a], ops[k].name) == 0;
		if (!want)
			continue;
		for (int r = 0; r < reps; r++) {
			uint64_t t0 = now_ns();

			level1(ops[k].fn, n);
			printf("op %s rep %d ns %.1f\n", ops[k].name, r, (double)(now_ns() - t0) / n);
			fflush(stdout);
		}
	}
	printf("END\n");
	fflush(stdout);
	return 0;
}
