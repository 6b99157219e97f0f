// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * floor: attach empty BPF programs at exactly the probes leaktrace would
 * use for PID (same plan: src/plan.c's plan__live, same offsets, same
 * attach method: uprobe_multi links when the kernel has them, bound to the
 * pid, through src/attach.c as leaktrace does), and hold them until
 * SIGINT/SIGTERM or until the target exits.
 *
 *   floor -p PID [--ret] [-v]
 *
 * The plan is leaktrace's default one (trackers mem and threads).
 * Entry-only by default. --ret also attaches an empty return program where
 * leaktrace has a return probe (malloc, calloc, realloc, ...).
 * Prints "floor: ready: N probes (M return probes)" on stderr once attached.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "floor.skel.h"
#include "attach.h"
#include "kfeatures.h"
#include "umulti.h"
#include "log.h"
#include "opts.h"
#include "plan.h"
#include "util.h"

static volatile sig_atomic_t stop;
static int verbose;
static struct floor_bpf *skel;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && verbose < 2)
		return 0;
	if (level != LIBBPF_DEBUG && verbose < 1)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* The empty programs, for every tracker's probes alike (src/attach.h). */
static struct bpf_program *floor_prog(void *ctx, enum lt_tracker tracker, bool ret)
{
	bool with_ret = *(bool *)ctx;

	(void)tracker;
	if (ret)
		return with_ret ? skel->progs.floor_return : NULL;
	return skel->progs.floor_entry;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "ret", no_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_signal };
	struct lt_plan plan;
	struct attach *att;
	bool with_ret = false, multi;
	int pid = 0, c, err, n, nret = 0;

	while ((c = getopt_long(argc, argv, "p:rv", lopts, NULL)) != -1) {
		switch (c) {
		case 'p': pid = atoi(optarg); break;
		case 'r': with_ret = true; break;
		case 'v': verbose++; break;
		default:
			fprintf(stderr, "usage: floor -p PID [--ret] [-v]\n");
			return 2;
		}
	}
	if (pid <= 0) {
		fprintf(stderr, "usage: floor -p PID [--ret] [-v]\n");
		return 2;
	}
	lt_verbose = verbose;
	libbpf_set_print(print_fn);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* leaktrace's default trackers (src/cli.c): mem and threads */
	err = plan__live(pid, NULL, LT_TRACK_MEM | LT_TRACK_THREADS | LT_TRACK_TIMERS, &plan);
	if (err) {
		fprintf(stderr, "floor: no probe plan for pid %d: %s\n", pid, strerror(-err));
		return 1;
	}
	skel = floor_bpf__open();
	if (!skel) {
		fprintf(stderr, "floor: cannot open the BPF object\n");
		return 1;
	}
	multi = kfeatures__uprobe_multi();
	if (multi) {
		bpf_program__set_expected_attach_type(skel->progs.floor_entry, LT_BPF_TRACE_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(skel->progs.floor_return, LT_BPF_TRACE_UPROBE_MULTI);
	}
	err = floor_bpf__load(skel);
	if (err) {
		fprintf(stderr, "floor: cannot load the BPF programs: %s\n", strerror(-err));
		return 1;
	}
	/* attached exactly as leaktrace attaches them: the same module, the same fallbacks */
	att = attach__new(multi, false, floor_prog, &with_ret);
	if (!att) {
		fprintf(stderr, "floor: out of memory\n");
		return 1;
	}
	n = attach__plan(att, pid, &plan, false);
	if (n < 0)
		return 1;
	for (int i = 0; i < plan.nprobes; i++)
		nret += with_ret && plan.probes[i].ret && plan.probes[i].attached;
	for (int i = 0; verbose && i < plan.nprobes; i++) {
		const struct lt_probe *pr = &plan.probes[i];

		fprintf(stderr, "floor: %s %s +0x%x (%s)%s\n", pr->sym, plan.mods[pr->mod].path,
			pr->choice.off[pr->cur], pr->choice.why[pr->cur],
			with_ret && pr->ret ? " + return" : "");
	}
	fprintf(stderr, "floor: ready: %d probes (%d return probes) on pid %d, %s\n", n, nret, pid,
		multi ? "uprobe_multi links" : "perf-event links");

	while (!stop && kill(pid, 0) == 0) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	attach__free(att);
	floor_bpf__destroy(skel);
	plan__free(&plan);
	return 0;
}
