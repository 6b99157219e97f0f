// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * churn: THREADS threads (argv[1], default 2) that malloc, calloc,
 * realloc, posix_memalign and free in a tight loop, filling every block
 * with a pattern and checking it before the free: a corrupted block, a
 * calloc block that is not zero or a failed call aborts (exit 134). For
 * --inject's faults (tests/integration/test_inject.py): the threads spend
 * most of their time inside the allocator, often in its first bytes.
 *
 * Protocol: print "READY <pid>" and churn until killed. Every second it
 * prints "ROUNDS <n>" (loops done by all threads), so that a test sees it
 * go on.
 *
 * Build:  cc -O2 -g -fno-omit-frame-pointer -fno-builtin \
 *            -fno-optimize-sibling-calls -pthread churn.c -o churn
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_ulong rounds;

static void fill(unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i += 61)
		p[i] = v;
	p[n - 1] = v;
}

static void check(const unsigned char *p, size_t n, unsigned char v, int last)
{
	for (size_t i = 0; i < n; i += 61)
		if (p[i] != v)
			abort();
	if (last && p[n - 1] != v)
		abort();
}

static void *churn(void *arg)
{
	unsigned seed = (unsigned)(unsigned long)arg * 7919 + 1;
	void *keep[64] = { 0 };
	size_t size[64] = { 0 };

	for (;;) {
		int i = rand_r(&seed) % 64;
		size_t n = 1 + rand_r(&seed) % 4000;
		unsigned char v = (unsigned char)(i + 1);
		void *p = NULL;

		if (keep[i]) {
			check(keep[i], size[i], v, 1);
			if (rand_r(&seed) % 4 == 0) {
				p = realloc(keep[i], n);
				if (!p)
					abort();
				check(p, n < size[i] ? n : size[i], v, n >= size[i]);
				keep[i] = p;
				size[i] = n;
				fill(p, n, v);
				continue;
			}
			free(keep[i]);
			keep[i] = NULL;
		}
		switch (rand_r(&seed) % 3) {
		case 0:
			p = malloc(n);
			break;
		case 1:
			p = calloc(1, n);
			if (p)
				check(p, n, 0, 1);
			break;
		default:
			if (posix_memalign(&p, 64, n))
				p = NULL;
			break;
		}
		if (!p)
			abort();
		fill(p, n, v);
		keep[i] = p;
		size[i] = n;
		atomic_fetch_add(&rounds, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("READY %d\n", (int)getpid());
	for (int i = 0; i < n; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, churn, (void *)(unsigned long)i))
			return 1;
	}
	for (;;) {
		sleep(1);
		printf("ROUNDS %lu\n", (unsigned long)atomic_load(&rounds));
	}
}
