// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A tracing session, from attach to the final report (see session.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "command.h"
#include "gobin.h"
#include "log.h"
#include "plan.h"
#include "publish.h"
#include "report.h"
#include "serve.h"
#include "session.h"
#include "sink.h"
#include "tracer.h"
#include "trackers.h"
#include "util.h"
#include "version.h"

struct session {
	const struct lt_opts *o;
	struct tracer *t;
	struct sinks *out;
	struct command cmd;
	struct serve *srv;	/* --serve */
	int nreports;
	uint64_t reports_total;
	bool leak_seen;
};

static const char *plan_error(int err)
{
	switch (err) {
	case -ENOENT: return "no malloc to hook in its executable or libraries (a Go or stripped static binary?)";
	case -ESRCH: return "no such process";
	case -EACCES: return "permission denied reading its maps or files";
	default: return strerror(-err);
	}
}

/* Is EXE a Go program (its goroutines are read from its runtime, no probe needed)? */
static bool is_go(const char *exe)
{
	struct gobin *g = gobin__open(exe);

	gobin__free(g);
	return g != NULL;
}

/*
 * A plan's error: a target with no malloc can still have its threads and
 * timers traced (a warning, and go on), and a Go program its goroutines
 * and Go timers; else one line. WHO names it, EXE is its program.
 */
static int plan_ok(int err, struct lt_plan *plan, const char *who, const char *exe)
{
	if (err == -ENOENT && plan->no_malloc && is_go(exe)) {
		lt_info(1, "%s: a Go program%s: its goroutines and Go timers are read from its runtime\n",
			who, plan->nprobes ? "" : " with no C allocator");
		return 0;
	}
	if (err == -ENOENT && plan->no_malloc && plan->nprobes > 0) {
		lt_warn("%s: %s; tracing threads and timers only\n", who, plan_error(err));
		return 0;
	}
	if (err)
		lt_err("%s: %s\n", who, plan_error(err));
	return err;
}

/* -c: plan the program the command runs first, fork it held, attach. Probes, or -errno/exit status. */
static int attach_command(struct session *s)
{
	struct lt_plan plan;
	int err;

	err = command__prepare(&s->cmd, s->o->command);
	if (err)
		return -err;	/* its exit status */
	err = plan__predict(s->cmd.elf, 0, s->o->allocator, s->o->track, &plan);
	if (plan_ok(err, &plan, s->cmd.elf, s->cmd.elf)) {
		plan__free(&plan);
		return -1;
	}
	err = command__spawn(&s->cmd);
	if (err) {
		lt_err("cannot start '%s': %s\n", s->cmd.path, strerror(-err));
		plan__free(&plan);
		return -1;
	}
	err = tracer__attach(s->t, s->cmd.pid, &plan);
	plan__free(&plan);
	return err < 0 ? -1 : err;
}

static int attach_pids(struct session *s)
{
	int n = 0;

	for (int i = 0; i < s->o->npids; i++) {
		int pid = s->o->pids[i], err;
		struct lt_plan plan;
		char comm[16], who[64], exe[64];

		err = plan__live(pid, s->o->allocator, s->o->track, &plan);
		util__comm(pid, comm, sizeof(comm));
		snprintf(who, sizeof(who), "pid %d (%s)", pid, comm);
		snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
		if (err && !util__pid_alive(pid)) {
			lt_err("pid %d exited during attach\n", pid);
			plan__free(&plan);
			return -1;
		}
		if (s->o->go_memprofile_rate && !is_go(exe)) {
			lt_err("%s is not a Go program: --go-memprofile-rate has no runtime.MemProfileRate to set\n", who);
			plan__free(&plan);
			return -2;
		}
		if (plan_ok(err, &plan, who, exe)) {
			plan__free(&plan);
			return -1;
		}
		err = tracer__attach(s->t, pid, &plan);
		plan__free(&plan);
		if (err < 0)
			return -1;
		n += err;
		if (tracer__watch(s->t, pid)) {
			lt_err("pid %d exited during attach\n", pid);
			return -1;
		}
	}
	return n;
}

static void ready_line(struct session *s, int nprobes)
{
	if (s->o->command) {
		lt_info(0, "ready: tracing '%s' (pid %d), %d probes\n", s->o->command, s->cmd.pid, nprobes);
	} else if (s->o->all) {
		lt_info(0, "ready: tracing every process (system-wide), %d probes\n", nprobes);
	} else {
		char line[4096];
		size_t off = 0;

		for (int i = 0; i < s->o->npids && off < sizeof(line); i++) {
			char comm[16];

			util__comm(s->o->pids[i], comm, sizeof(comm));
			off += snprintf(line + off, sizeof(line) - off, "%s pid %d (%s)", i ? "," : "",
					s->o->pids[i], comm);
		}
		lt_info(0, "ready: tracing%s, %d probes\n", line, nprobes);
	}
}

/* --serve: the report's documents replace the served ones (never waits for a client). */
static void serve_report(struct session *s, const struct lt_report *r, double duration)
{
	struct publish_info pi = { .reports_total = s->reports_total, .duration_s = duration,
				   .version = LT_VERSION };
	struct serve_snapshot *snap;

	if (!s->srv)
		return;
	snap = publish__snapshot(r, &pi);
	if (!snap || serve__publish(s->srv, snap))
		lt_err("--serve: cannot publish report %d: %s\n", r->number, strerror(errno));
}

/* A report to every output; the last one's growing sites decide --fail-on-leak. */
static void emit_report(struct session *s, bool final)
{
	double t0 = util__now();
	struct lt_report r;

	if (tracer__report(s->t, &r, final) == 0) {
		s->reports_total++;
		sinks__emit(s->out, &r);
		serve_report(s, &r, util__now() - t0);
		s->leak_seen = report__any_growing(&r);
	}
	report__free_sites(&r);
	free(r.targets);
}

/* --serve: listen before anything is attached, so that a port in use stops nothing half-made. */
static int start_serving(struct session *s)
{
	char err[256];

	if (!s->o->serve)
		return 0;
	s->srv = serve__new(s->o->serve, s->o->serve_allow, err, sizeof(err));
	if (!s->srv) {
		lt_err("%s\n", err);
		return -1;
	}
	if (!serve__is_loopback(s->srv))
		lt_warn("--serve %s: not a loopback address, and there is no authentication; --serve-allow restricts who may connect\n",
			serve__addr(s->srv));
	lt_info(1, "serving http://%s/metrics, /debug/pprof/heap, /report.json\n", serve__addr(s->srv));
	return 0;
}

static void wait_until(double wake, const sigset_t *waitmask)
{
	double now = util__now();
	struct timespec ts;

	if (wake - now > 0.1)
		wake = now + 0.1;	/* poll target liveness every 100 ms */
	if (wake <= now)
		return;
	ts.tv_sec = (time_t)(wake - now);
	ts.tv_nsec = (long)((wake - now - ts.tv_sec) * 1e9);
	ppoll(NULL, 0, &ts, waitmask);
}

static void loop(struct session *s, volatile sig_atomic_t *stop, const sigset_t *waitmask)
{
	const struct lt_opts *o = s->o;
	double start = util__now(), next_sample = start + 1, deadline = o->once ? start + o->once : 0;
	double next_report = o->once ? 0 : start + o->interval;

	for (;;) {
		double now, wake = next_sample;
		bool final;
		int alive;

		if (next_report && next_report < wake)
			wake = next_report;
		if (deadline && deadline < wake)
			wake = deadline;
		wait_until(wake, waitmask);
		now = util__now();

		if (command__running(&s->cmd))
			command__poll(&s->cmd, s->t, now - start);
		/* -p targets, and with --follow their children (the command's too) */
		alive = tracer__alive(s->t) + (command__running(&s->cmd) ? 1 : 0);
		if (now >= next_sample) {
			if (o->all)
				tracer__attach_system(s->t, false);	/* files mapped since */
			tracer__sample(s->t);
			next_sample += 1;
			if (next_sample < now)
				next_sample = now + 1;
		}
		final = *stop || (alive == 0 && !o->all) || (deadline && now >= deadline);
		if (final) {
			if (alive == 0 && !o->all)
				lt_info(1, "the target exited; printing the final report\n");
			tracer__sample(s->t);
		} else if (next_report && now >= next_report) {
			s->nreports++;
			final = o->count && s->nreports >= o->count;
			next_report += o->interval;
		} else {
			continue;
		}
		emit_report(s, final);
		if (final)
			return;
	}
}

int session__run(const struct lt_opts *o, volatile sig_atomic_t *stop, const sigset_t *waitmask)
{
	const struct lt_view *views[LT_TRACKERS_MAX];
	struct session s = { .o = o, .cmd = { .pid = -1, .go_fd = -1 } };
	int nviews = trackers__views(o->track, views, LT_TRACKERS_MAX), n, ret = 1;

	s.out = sinks__open(o, views, nviews);
	if (!s.out)
		return 1;
	if (start_serving(&s))
		goto out;
	s.t = tracer__new(o);
	if (!s.t)
		goto out;
	if (o->command)
		n = attach_command(&s);
	else if (o->all)
		n = tracer__attach_system(s.t, true);
	else
		n = attach_pids(&s);
	if (n < 0) {
		ret = n == -2 ? 2 : 1;
		goto out;
	}
	ready_line(&s, n);
	if (o->command && command__release(&s.cmd))
		goto out;
	loop(&s, stop, waitmask);
	ret = o->fail_on_leak && s.leak_seen ? 3 : 0;
out:
	tracer__free(s.t);
	command__cleanup(&s.cmd);
	serve__free(s.srv);
	sinks__close(s.out);
	return ret;
}
