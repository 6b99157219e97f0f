// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * leaktrace benchmark workload: malloc/free pairs of mixed sizes, six
 * frames deep, in 1 or more threads.
 *
 *   workload [-t THREADS] [-n PAIRS] [-r REPS]      timed pairs
 *   workload -H COUNT                               hold COUNT live blocks
 *
 * Handshake: the threads are created and warmed up (arena, tcache) first;
 * then it prints "READY <pid>" and waits for a byte on stdin or SIGUSR1,
 * so that the tracer attaches before anything is timed.
 *
 * Pairs mode: REPS times, every thread runs PAIRS malloc+free pairs (each
 * one frees the oldest block of a 64-slot ring and mallocs a new one).
 * Each repetition prints "rep <i> ns_per_pair <x> wall_ns <w>", where x is
 * the wall time of the repetition divided by PAIRS: the time one pair takes
 * as seen by each thread (with 2 threads, 2 pairs are in flight at once).
 *
 * Hold mode: mallocs COUNT blocks (16-256 B) and keeps them, prints
 * "HELD <count> <ns>", then waits for stdin to close (or SIGTERM/SIGINT).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RING 64
#define NOINLINE __attribute__((noinline))
/* keeps the calls real calls (no tail call, no merging of the levels) */
#define BARRIER() __asm__ volatile("" ::: "memory")

static const size_t sizes[] = { 16, 24, 32, 40, 48, 64, 80, 96, 128, 160, 200, 256,
				384, 512, 768, 1024, 1500, 2048, 4096, 8192, 16384, 32768 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static volatile sig_atomic_t go_signal;
static uint64_t npairs = 200000;
static int nreps = 3;
static pthread_barrier_t start_bar, end_bar;

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

static inline uint32_t xorshift(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

/* Six frames between the loop and the allocator: level1 .. level6. */
NOINLINE static void *level6(void *old, size_t size)
{
	void *p;

	free(old);
	p = malloc(size);
	if (p)
		*(volatile char *)p = 1;
	BARRIER();
	return p;
}

NOINLINE static void *level5(void *old, size_t size)
{
	void *p = level6(old, size);

	BARRIER();
	return p;
}

NOINLINE static void *level4(void *old, size_t size)
{
	void *p = level5(old, size);

	BARRIER();
	return p;
}

NOINLINE static void *level3(void *old, size_t size)
{
	void *p = level4(old, size);

	BARRIER();
	return p;
}

NOINLINE static void *level2(void *old, size_t size)
{
	void *p = level3(old, size);

	BARRIER();
	return p;
}

NOINLINE static void *level1(void *old, size_t size)
{
	void *p = level2(old, size);

	BARRIER();
	return p;
}

struct worker {
	pthread_t th;
	int id;
	void *ring[RING];
	uint32_t rng;
};

/* N pairs: free the block in the slot, malloc a new one of a mixed size. */
static void run_pairs(struct worker *w, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		unsigned slot = i % RING;
		uint32_t r = xorshift(&w->rng);
		/* mostly small blocks, as real programs: 3/4 from the first 12 sizes */
		size_t size = (r & 3) ? sizes[(r >> 2) % 12] : sizes[(r >> 2) % NSIZES];

		w->ring[slot] = level1(w->ring[slot], size);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	run_pairs(w, 20000);	/* warm-up: arena, tcache, page faults */
	pthread_barrier_wait(&start_bar);	/* warmed up */
	for (int rep = 0; rep < nreps; rep++) {
		pthread_barrier_wait(&start_bar);
		run_pairs(w, npairs);
		pthread_barrier_wait(&end_bar);
	}
	return NULL;
}

/* Block until a byte on stdin or SIGUSR1. */
static void wait_go(void)
{
	sigset_t usr1, old;
	fd_set fds;
	char b;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &old);
	while (!go_signal) {
		int r;

		FD_ZERO(&fds);
		FD_SET(0, &fds);
		r = pselect(1, &fds, NULL, NULL, NULL, &old);
		if (r > 0) {
			if (read(0, &b, 1) <= 0)
				break;	/* EOF also releases */
			break;
		}
		if (r < 0 && errno != EINTR)
			break;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

NOINLINE static void *hold6(size_t size)
{
	void *p = malloc(size);

	if (p)
		*(volatile char *)p = 1;
	BARRIER();
	return p;
}
NOINLINE static void *hold5(size_t s) { void *p = hold6(s); BARRIER(); return p; }
NOINLINE static void *hold4(size_t s) { void *p = hold5(s); BARRIER(); return p; }
NOINLINE static void *hold3(size_t s) { void *p = hold4(s); BARRIER(); return p; }
NOINLINE static void *hold2(size_t s) { void *p = hold3(s); BARRIER(); return p; }
NOINLINE static void *hold1(size_t s) { void *p = hold2(s); BARRIER(); return p; }

static int hold_mode(uint64_t count)
{
	void **blocks = calloc(count, sizeof(void *));
	uint32_t rng = 12345;
	uint64_t t0, t1;
	char b;

	if (!blocks) {
		perror("calloc");
		return 1;
	}
	printf("READY %d\n", getpid());
	fflush(stdout);
	wait_go();
	t0 = now_ns();
	for (uint64_t i = 0; i < count; i++)
		blocks[i] = hold1(sizes[xorshift(&rng) % 12]);
	t1 = now_ns();
	printf("HELD %llu %llu\n", (unsigned long long)count, (unsigned long long)(t1 - t0));
	fflush(stdout);
	/* hold until stdin closes or a signal ends us */
	while (read(0, &b, 1) > 0)
		;
	for (uint64_t i = 0; i < count; i++)
		free(blocks[i]);
	free(blocks);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: workload [-t THREADS] [-n PAIRS] [-r REPS] | workload -H COUNT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct worker *w;
	uint64_t hold = 0;
	int nthreads = 1, c;

	while ((c = getopt(argc, argv, "t:n:r:H:")) != -1) {
		switch (c) {
		case 't': nthreads = atoi(optarg); break;
		case 'n': npairs = strtoull(optarg, NULL, 0); break;
		case 'r': nreps = atoi(optarg); break;
		case 'H': hold = strtoull(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (nthreads < 1 || nthreads > 64 || nreps < 1 || npairs < 1)
		usage();
	sigaction(SIGUSR1, &sa, NULL);
	if (hold)
		return hold_mode(hold);

	w = calloc(nthreads, sizeof(*w));
	if (!w)
		return 1;
	pthread_barrier_init(&start_bar, NULL, nthreads + 1);
	pthread_barrier_init(&end_bar, NULL, nthreads + 1);
	for (int i = 0; i < nthreads; i++) {
		w[i].id = i;
		w[i].rng = 2463534242u + 7919u * i;
		if (pthread_create(&w[i].th, NULL, worker_main, &w[i])) {
			perror("pthread_create");
			return 1;
		}
	}
	pthread_barrier_wait(&start_bar);	/* all warmed up */
	printf("READY %d\n", getpid());
	fflush(stdout);
	wait_go();

	for (int rep = 0; rep < nreps; rep++) {
		uint64_t t0, t1;

		t0 = now_ns();
		pthread_barrier_wait(&start_bar);
		pthread_barrier_wait(&end_bar);
		t1 = now_ns();
		printf("rep %d ns_per_pair %.1f wall_ns %llu\n", rep, (double)(t1 - t0) / npairs,
		       (unsigned long long)(t1 - t0));
		fflush(stdout);
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(w[i].th, NULL);
	printf("DONE\n");
	fflush(stdout);
	return 0;
}
