// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * serve_fixture LISTEN [ALLOW]: serve a fixed report the way --serve will,
 * for real clients (tests/integration/test_serve.py: promtool, a Prometheus
 * server, go tool pprof). Not a test itself.
 *
 * Prints "READY <port>" once it listens. Each SIGUSR1 publishes the next
 * generation G (the first is 1) and prints "PUBLISHED <G>". SIGINT or
 * SIGTERM: exit 0. The documents of generation G:
 *
 * The documents are publish__snapshot() of a -a report (src/publish.c),
 * the same code as --serve:
 *
 *   /metrics  memory, threads and timers on;
 *             pid 42 "server": outstanding 4350*G bytes in 6*G allocations,
 *                 threads 7 live and 5 exited-unjoined, 29 timers open,
 *                 growing sites memory 1, threads 1, timers 0;
 *             pid 7, comm FIXTURE_ODD_COMM: 100 bytes in 1 allocation, 0 timers;
 *             other (pid 99): 5000 bytes in 50 allocations;
 *             drops: every drop__name(i) with value i; reports_total G;
 *             report duration 0.0125 s
 *   /debug/pprof/heap     load_dataset 4000*G bytes in 4*G allocations
 *                         (called by main), parse_config 350 bytes in 7
 *   /debug/pprof/threads  start_worker, 12 threads (7 live)
 *   /debug/pprof/timers   arm_ticker, 29 open
 *   /report.json          output__json() of the same report
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "publish.h"
#include "report.h"
#include "serve.h"
#include "trackers.h"
#include "version.h"

#define FIXTURE_ODD_COMM "we\"ird\\x\ny\xff"

#define EXE "/usr/bin/server"
#define BASE 0x555500000000ULL

static struct lt_frame *stack2(uint64_t off, const char *func, const char *file, int line, int mline)
{
	struct lt_frame *st = calloc(2, sizeof(*st));

	st[0] = (struct lt_frame){ .addr = BASE + off, .func = strdup(func), .file = strdup(file),
				   .line = line, .module = strdup(EXE), .module_off = off };
	st[1] = (struct lt_frame){ .addr = BASE + 0x1500, .func = strdup("main"), .file = strdup("job.c"),
				   .line = mline, .module = strdup(EXE), .module_off = 0x1500 };
	return st;
}

static void site(struct lt_site *s, int pid, const char *comm, int64_t v0, int64_t v1, enum lt_trend trend)
{
	s->pid = pid;
	snprintf(s->comm, sizeof(s->comm), "%s", comm);
	s->v[0] = v0;
	s->v[1] = v1;
	s->trend = trend;
	s->oldest_age_s = 9.5;
	s->nstack = 2;
}

/* -a: pids 42 and 7 are the top processes, 99 is "other". */
static void fill_report(struct lt_report *r, int gen)
{
	static struct lt_target tg[3] = { { .pid = 42, .comm = "server" }, { .pid = 7 }, { .pid = 99, .comm = "big" } };
	struct lt_section *mem, *thr, *tim;

	snprintf(tg[1].comm, sizeof(tg[1].comm), "%s", FIXTURE_ODD_COMM);
	*r = (struct lt_report){ .number = gen, .elapsed_s = 10.0 * gen, .system_wide = true,
				 .wall = { .tv_sec = 1700000000 + 10 * gen }, .targets = tg, .ntargets = 3 };
	for (int i = 0; i < LT_DROP__MAX; i++)
		r->drops[i] = i;

	mem = report__add_section(r, &lt_view_memory);
	section__alloc_sites(mem, 3);
	site(&mem->sites[0], 42, "server", 4000 * gen, 4 * gen, LT_TREND_GROWING);
	mem->sites[0].stack = stack2(0x1234, "load_dataset", "job.c", 42, 80);
	site(&mem->sites[1], 42, "server", 350, 7, LT_TREND_STABLE);
	mem->sites[1].stack = stack2(0x2000, "parse_config", "conf.c", 7, 81);
	site(&mem->sites[2], 7, FIXTURE_ODD_COMM, 100, 1, LT_TREND_STABLE);
	mem->sites[2].stack = stack2(0x2100, "odd_alloc", "odd.c", 3, 82);
	mem->nsites_total = 4;		/* pid 99's site is not shown */
	mem->tot[0] = 4350 * gen + 100 + 5000;
	mem->tot[1] = 6 * gen + 1 + 50;
	mem->procs = calloc(3, sizeof(*mem->procs));
	mem->procs[0] = (struct lt_proc){ .pid = 42, .comm = "server", .v = { 4350 * gen, 6 * gen },
					  .delta = 4000, .nsites = 2 };
	mem->procs[1] = (struct lt_proc){ .pid = 7, .v = { 100, 1 }, .nsites = 1 };
	snprintf(mem->procs[1].comm, sizeof(mem->procs[1].comm), "%s", FIXTURE_ODD_COMM);
	mem->procs[2] = (struct lt_proc){ .pid = 99, .comm = "big", .v = { 5000, 50 } };
	mem->nprocs = 2;
	mem->nprocs_total = 3;

	thr = report__add_section(r, &lt_view_threads);
	section__alloc_sites(thr, 1);
	site(&thr->sites[0], 42, "server", 12, 5, LT_TREND_GROWING);
	thr->sites[0].v[2] = 7;
	thr->sites[0].v[3] = 12 * 8388608LL;
	thr->sites[0].label = strdup("worker_main");
	thr->sites[0].stack = stack2(0x3000, "start_worker", "pool.c", 17, 83);

	tim = report__add_section(r, &lt_view_timers);
	section__alloc_sites(tim, 1);
	site(&tim->sites[0], 42, "server", 29, 25, LT_TREND_STABLE);
	tim->sites[0].label = strdup("timerfd");
	tim->sites[0].num = 1000000000;
	tim->sites[0].stack = stack2(0x4000, "arm_ticker", "tick.c", 5, 84);
}

static int publish(struct serve *s, int gen)
{
	struct publish_info pi = { .reports_total = gen, .duration_s = 0.0125, .version = LT_VERSION };
	struct serve_snapshot *snap;
	struct lt_report r;

	fill_report(&r, gen);
	snap = publish__snapshot(&r, &pi);
	report__free_sites(&r);
	return snap ? serve__publish(s, snap) : -errno;
}

int main(int argc, char **argv)
{
	struct serve *s;
	char err[256];
	sigset_t set;
	int sig, gen = 1, ret;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: serve_fixture [ADDR:]PORT [ALLOW]\n");
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);

	s = serve__new(argv[1], argc > 2 ? argv[2] : NULL, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "serve_fixture: %s\n", err);
		return 1;
	}
	ret = publish(s, gen);
	if (ret) {
		fprintf(stderr, "serve_fixture: publish: %s\n", strerror(-ret));
		serve__free(s);
		return 1;
	}
	printf("READY %d\n", serve__port(s));
	fflush(stdout);
	while (!sigwait(&set, &sig) && sig == SIGUSR1) {
		ret = publish(s, ++gen);
		if (ret) {
			fprintf(stderr, "serve_fixture: publish: %s\n", strerror(-ret));
			break;
		}
		printf("PUBLISHED %d\n", gen);
		fflush(stdout);
	}
	serve__free(s);
	return ret ? 1 : 0;
}
