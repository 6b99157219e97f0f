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
 *   /metrics  memory, threads and timers on;
 *             pid 42 "server": outstanding 4350*G bytes in 6*G allocations,
 *                 threads 7 live and 5 exited-unjoined, 29 timers open,
 *                 growing sites memory 1, threads 1, timers 0;
 *             pid 7, comm FIXTURE_ODD_COMM: 100 bytes in 1 allocation;
 *             other: 5000 bytes in 50 allocations;
 *             drops: every drop__name(i) with value i; reports_total G;
 *             report duration 0.0125 s
 *   /debug/pprof/heap     pprof__write(): load_dataset 4000*G bytes in 4*G
 *                         allocations (called by main), parse_config 350 bytes in 7
 *   /debug/pprof/threads  pprof__write_threads(): start_worker, 7 live
 *   /report.json          output__json() of the same report
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"
#include "pprof.h"
#include "report.h"
#include "serve.h"
#include "version.h"

#define FIXTURE_ODD_COMM "we\"ird\\x\ny\xff"

#define EXE "/usr/bin/server"
#define BASE 0x555500000000ULL

static struct lt_frame frame(uint64_t off, const char *func, const char *file, int line)
{
	return (struct lt_frame){ .addr = BASE + off, .func = (char *)func, .file = (char *)file,
				  .line = line, .module = (char *)EXE, .module_off = off };
}

static void fill_report(struct lt_report *r, int gen)
{
	static struct lt_target tg = { .pid = 42, .comm = "server" };
	static struct lt_frame st0[2], st1[2], tst[2];
	static struct lt_mem_site sites[2];
	static struct lt_thread_site tsites[1];

	st0[0] = frame(0x1234, "load_dataset", "job.c", 42);
	st0[1] = frame(0x1500, "main", "job.c", 80);
	st1[0] = frame(0x2000, "parse_config", "conf.c", 7);
	st1[1] = frame(0x1500, "main", "job.c", 81);
	tst[0] = frame(0x3000, "start_worker", "pool.c", 17);
	tst[1] = frame(0x1500, "main", "job.c", 82);

	sites[0] = (struct lt_mem_site){ .pid = 42, .bytes = 4000 * gen, .allocs = 4 * gen,
					 .delta_bytes = 4000, .oldest_age_s = 9.5,
					 .trend = LT_TREND_GROWING, .stack = st0, .nstack = 2 };
	sites[1] = (struct lt_mem_site){ .pid = 42, .bytes = 350, .allocs = 7, .oldest_age_s = 9.5,
					 .trend = LT_TREND_STABLE, .stack = st1, .nstack = 2 };
	strcpy(sites[0].comm, "server");
	strcpy(sites[1].comm, "server");
	tsites[0] = (struct lt_thread_site){ .pid = 42, .live = 7, .stack_bytes = 7 * 8388608ULL,
					     .start_routine = (char *)"worker_main",
					     .trend = LT_TREND_GROWING, .stack = tst, .nstack = 2 };
	strcpy(tsites[0].comm, "server");

	*r = (struct lt_report){
		.number = gen, .elapsed_s = 10.0 * gen,
		.wall = { .tv_sec = 1700000000 + 10 * gen },
		.targets = &tg, .ntargets = 1,
		.has_mem = true, .mem_bytes = sites[0].bytes + sites[1].bytes,
		.mem_allocs = sites[0].allocs + sites[1].allocs,
		.sites = sites, .nsites = 2, .nsites_total = 2,
		.has_threads = true, .threads_live = 7, .tsites = tsites, .ntsites = 1,
		.ntsites_total = 1,
	};
}

/* What WRITE writes for R, as a malloc'd buffer. */
static int write_mem(int (*write)(FILE *, const struct lt_report *), const struct lt_report *r,
		     char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	int err;

	if (!f)
		return -errno;
	err = write(f, r);
	if (fclose(f) && !err)
		err = -EIO;
	if (err) {
		free(*buf);
		*buf = NULL;
	}
	return err;
}

static int render_metrics(int gen, char **out, size_t *len)
{
	struct lt_metrics_proc procs[2] = {}, other = {};
	struct lt_metrics_drop drops[LT_DROP__MAX];
	struct lt_metrics m = {
		.has = { [METRICS_MEMORY] = true, [METRICS_THREADS] = true, [METRICS_TIMERS] = true },
		.procs = procs, .nprocs = 2, .other = &other,
		.drops = drops, .ndrops = LT_DROP__MAX,
		.reports_total = gen, .report_duration_s = 0.0125, .version = LT_VERSION,
	};

	procs[0] = (struct lt_metrics_proc){
		.pid = 42, .comm = "server", .outstanding_bytes = 4350 * gen,
		.outstanding_allocations = 6 * gen, .growing_sites = { 1, 1, 0 },
		.threads_live = 7, .threads_exited_unjoined = 5, .timers_open = 29,
	};
	procs[1] = (struct lt_metrics_proc){
		.pid = 7, .comm = FIXTURE_ODD_COMM, .outstanding_bytes = 100,
		.outstanding_allocations = 1, .timers_open = -1,
	};
	other = (struct lt_metrics_proc){ .outstanding_bytes = 5000, .outstanding_allocations = 50 };
	for (int i = 0; i < LT_DROP__MAX; i++)
		drops[i] = (struct lt_metrics_drop){ drop__name(i), i };
	return metrics__render(&m, out, len);
}

static int publish(struct serve *s, int gen)
{
	struct serve_snapshot *snap = serve_snapshot__new();
	struct lt_report r;
	char *buf = NULL;
	size_t len = 0;
	int err;

	if (!snap)
		return -errno;
	fill_report(&r, gen);
	err = render_metrics(gen, &buf, &len);
	if (!err)
		err = serve_snapshot__add(snap, SERVE_PATH_METRICS, SERVE_TYPE_METRICS, NULL, buf, len);
	if (!err)
		err = write_mem(pprof__write, &r, &buf, &len);
	if (!err)
		err = serve_snapshot__add(snap, SERVE_PATH_HEAP, SERVE_TYPE_PPROF, NULL, buf, len);
	if (!err)
		err = write_mem(pprof__write_threads, &r, &buf, &len);
	if (!err)
		err = serve_snapshot__add(snap, SERVE_PATH_THREADS, SERVE_TYPE_PPROF, NULL, buf, len);
	if (!err)
		err = write_mem(output__json, &r, &buf, &len);
	if (!err)
		err = serve_snapshot__add(snap, SERVE_PATH_REPORT_JSON, SERVE_TYPE_JSON, NULL, buf, len);
	if (err) {
		serve_snapshot__free(snap);
		return err;
	}
	return serve__publish(s, snap);
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
