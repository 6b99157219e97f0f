// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * floor: attach empty BPF programs at exactly the probes leaktrace would
 * use for PID (same plan: src/plan.c's plan__live, same offsets, same
 * attach method: uprobe_multi links when the kernel has them, bound to the
 * pid), and hold them until SIGINT/SIGTERM or until the target exits.
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
#include "opts.h"
#include "plan.h"
#include "umulti.h"
#include "util.h"

static volatile sig_atomic_t stop;
static int verbose;
static bool multi;
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

/* Attach one probe on its own (perf-event link or a one-offset multi link). */
static int attach_one(struct lt_plan *plan, struct lt_probe *pr, bool ret, int pid)
{
	const char *path = plan->mods[pr->mod].open_path;
	uint64_t off = pr->file_off + pr->choice.off[pr->cur], cookie = pr->func;
	struct bpf_program *prog = ret ? skel->progs.floor_return : skel->progs.floor_entry;

	if (multi) {
		int fd = umulti__attach(bpf_program__fd(prog), path, &off, &cookie, 1, pid, ret);

		return fd < 0 ? fd : 0;	/* fd kept open until exit */
	} else {
		LIBBPF_OPTS(bpf_uprobe_opts, o, .bpf_cookie = cookie, .retprobe = ret);
		struct bpf_link *l = bpf_program__attach_uprobe_opts(prog, pid, path, off, &o);

		return l ? 0 : -errno;	/* link kept until exit */
	}
}

/* As leaktrace's tracer.c: on EINVAL (a stale probe of another tracer), the next safe offset. */
static int attach_single(struct lt_plan *plan, struct lt_probe *pr, bool with_ret, int pid)
{
	int err;

	for (;;) {
		err = attach_one(plan, pr, false, pid);
		if (err != -EINVAL || pr->cur + 1 >= pr->choice.n)
			break;
		fprintf(stderr, "floor: EINVAL on %s+0x%x, trying +0x%x\n", pr->sym,
			pr->choice.off[pr->cur], pr->choice.off[pr->cur + 1]);
		pr->cur++;
	}
	if (!err && with_ret && pr->ret)
		err = attach_one(plan, pr, true, pid);
	if (err)
		fprintf(stderr, "floor: cannot attach %s in %s: %s\n", pr->sym,
			plan->mods[pr->mod].path, strerror(-err));
	return err;
}

static int attach_module(struct lt_plan *plan, int m, bool with_ret, int pid, int *nret)
{
	uint64_t offs[64], cookies[64], roffs[64], rcookies[64];
	int idx[64], k = 0, nr = 0, n = 0;

	for (int i = 0; i < plan->nprobes && k < 64; i++)
		if (plan->probes[i].mod == m)
			idx[k++] = i;
	if (!k)
		return 0;
	if (multi && k > 1) {
		for (int i = 0; i < k; i++) {
			const struct lt_probe *pr = &plan->probes[idx[i]];

			offs[i] = pr->file_off + pr->choice.off[pr->cur];
			cookies[i] = pr->func;
			if (with_ret && pr->ret) {
				roffs[nr] = offs[i];
				rcookies[nr++] = pr->func;
			}
		}
		int efd = umulti__attach(bpf_program__fd(skel->progs.floor_entry),
					 plan->mods[m].open_path, offs, cookies, k, pid, false);
		if (efd >= 0) {
			int rfd = nr ? umulti__attach(bpf_program__fd(skel->progs.floor_return),
						      plan->mods[m].open_path, roffs, rcookies, nr, pid, true) : 0;
			if (rfd >= 0) {
				*nret += nr;
				return k;
			}
			close(efd);
		}
		nr = 0;
	}
	for (int i = 0; i < k; i++) {
		struct lt_probe *pr = &plan->probes[idx[i]];

		if (attach_single(plan, pr, with_ret, pid) == 0) {
			n++;
			nr += with_ret && pr->ret;
		} else if (pr->func == LT_FN_MALLOC || pr->func == LT_FN_FREE) {
			return -1;
		}
	}
	*nret += nr;
	return n;
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
	bool with_ret = false;
	int pid = 0, c, err, n = 0, nret = 0;

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
	multi = umulti__supported() && !getenv("LEAKTRACE_NO_UPROBE_MULTI");
	if (multi) {
		bpf_program__set_expected_attach_type(skel->progs.floor_entry, LT_BPF_TRACE_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(skel->progs.floor_return, LT_BPF_TRACE_UPROBE_MULTI);
	}
	err = floor_bpf__load(skel);
	if (err) {
		fprintf(stderr, "floor: cannot load the BPF programs: %s\n", strerror(-err));
		return 1;
	}
	for (int m = 0; m < plan.nmods; m++) {
		int k = attach_module(&plan, m, with_ret, pid, &nret);

		if (k < 0)
			return 1;
		n += k;
	}
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
	floor_bpf__destroy(skel);	/* the multi-link fds close at exit */
	plan__free(&plan);
	return 0;
}
