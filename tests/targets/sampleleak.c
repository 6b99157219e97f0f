// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sampleleak: known leaks at five sites of very different block sizes, for
 * the sampled mode's accuracy test (tests/integration/test_sample.py), plus
 * balanced churn that must never show up:
 *
 *   leak_kb     10,000 x 1,000 B     10,000,000 B
 *   leak_100k      100 x 100 KiB     10,240,000 B
 *   leak_64      1,000 x 64 B            64,000 B
 *   leak_1m         50 x 1 MiB       52,428,800 B
 *   leak_24     20,000 x 24 B           480,000 B
 *   churn       every size above and more, each freed at once (or soon)
 *
 * SCALE (argv[1], default 1) divides every count, for the 6.1 VM's slower
 * runs. Allocates, then exits (run it with -c). Prints nothing.
 * Keep the table in sync with LEAKS in test_sample.py.
 */
#include <stdlib.h>
#include <string.h>

#if defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noipa))
#endif

static void *volatile sink;
static int scale = 1;

/* Touch the block so that nothing is optimized away; keep the pointer reachable. */
static void keep(void *p, void **list, int i)
{
	if (p)
		memset(p, 1, 1);
	list[i] = p;
}

#define LEAKER(name, count, size)				\
	NOINLINE static void name(void **list)			\
	{							\
		for (int i = 0; i < (count) / scale; i++)	\
			keep(malloc(size), list, i);		\
	}

LEAKER(leak_kb, 10000, 1000)
LEAKER(leak_100k, 100, 100 * 1024)
LEAKER(leak_64, 1000, 64)
LEAKER(leak_1m, 50, 1024 * 1024)
LEAKER(leak_24, 20000, 24)

/* Balanced churn: 5,000 blocks a call of every size class above and some others, all freed. */
NOINLINE static void churn(void)
{
	static const size_t sizes[] = { 24, 64, 1000, 4096, 100 * 1024, 1024 * 1024, 200, 33000 };
	void *ring[16] = { 0 };

	for (int i = 0; i < 5000 / scale; i++) {
		size_t sz = sizes[i % 8];
		int slot = i % 16;

		free(ring[slot]);
		ring[slot] = malloc(sz);
		sink = ring[slot];
	}
	for (int i = 0; i < 16; i++)
		free(ring[i]);
}

int main(int argc, char **argv)
{
	static void *kb[10000], *k100[100], *b64[1000], *m1[50], *b24[20000];

	if (argc > 1)
		scale = atoi(argv[1]) > 0 ? atoi(argv[1]) : 1;
	churn();
	leak_kb(kb);
	churn();
	leak_100k(k100);
	leak_64(b64);
	churn();
	leak_1m(m1);
	leak_24(b24);
	churn();
	sink = kb[0];
	return 0;
}
