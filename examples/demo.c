// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * demo: a small "service" with the classic slow leak.
 *
 * Every 200 ms a scheduler tick reloads a dataset: load_dataset() mallocs a
 * fresh 48 KiB buffer and the old one is never freed. Next to it,
 * handle_request() serves a few requests per tick and frees everything it
 * allocates, so it must not show up as a leak.
 *
 *   ./demo [SECONDS]     run for SECONDS (default: until killed)
 *
 *   cc -O2 -g -fno-omit-frame-pointer -o examples/demo examples/demo.c
 *   sudo ./leaktrace -c './examples/demo 30' 5
 *
 * After a few reports, load_dataset (demo.c) is the top site, its trend is
 * "growing" and it gains about 240 KiB per second.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TICK_NS		200000000L	/* 200 ms */
#define DATASET_SIZE	(48 * 1024)
#define REQS_PER_TICK	5

struct dataset {
	unsigned long version;
	size_t len;
	unsigned char *rows;
};

static struct dataset current;

/* The leak: the previous dataset's rows are dropped without free(). */
__attribute__((noinline)) void load_dataset(unsigned long version)
{
	unsigned char *rows = malloc(DATASET_SIZE); /* LEAK:load_dataset */

	if (!rows)
		return;
	for (size_t i = 0; i < DATASET_SIZE; i++)
		rows[i] = (unsigned char)(i * 31 + version);
	current.version = version;
	current.len = DATASET_SIZE;
	current.rows = rows;		/* BUG: old current.rows leaks */
}

/* Well behaved: everything it allocates is freed before it returns. */
__attribute__((noinline)) uint64_t handle_request(unsigned long id)
{
	size_t len = 256 + (id % 7) * 64;
	char *req = malloc(len);
	char *resp;
	uint64_t sum = 0;

	if (!req)
		return 0;
	snprintf(req, len, "GET /item/%lu", id);
	resp = strdup(req);
	for (size_t i = 0; resp && resp[i]; i++)
		sum += (unsigned char)resp[i];
	if (current.rows)
		sum += current.rows[id % current.len];
	free(resp);
	free(req);
	return sum;
}

int main(int argc, char **argv)
{
	struct timespec tick = { 0, TICK_NS };
	long seconds = argc > 1 ? atol(argv[1]) : 0;
	long ticks = seconds > 0 ? seconds * 5 : -1;
	unsigned long id = 0, version = 0;
	uint64_t total = 0;

	printf("demo: pid %d, tick 200 ms%s\n", (int)getpid(),
	       seconds > 0 ? "" : ", until killed");
	fflush(stdout);
	while (ticks < 0 || ticks-- > 0) {
		load_dataset(++version);
		for (int i = 0; i < REQS_PER_TICK; i++)
			total += handle_request(id++);
		nanosleep(&tick, NULL);
	}
	printf("demo: served %lu requests (checksum %llu)\n", id,
	       (unsigned long long)total);
	return 0;
}
