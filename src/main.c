// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* leaktrace: the command line, the checks before anything loads, signals; then a session. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include "log.h"
#include "opts.h"
#include "session.h"
#include "util.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* SIGCHLD only has to interrupt the wait; the session reaps. */
static void on_sigchld(int sig)
{
	(void)sig;
}

/*
 * Every target keeps its mapped files open for symbols, and each probe
 * is an fd on older kernels: with many targets the default soft limit
 * (1024) is too low. Take the hard limit.
 */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Each -p PID: there, and a process with user space. 0, or 1 with one line printed. */
static int check_pids(const struct lt_opts *o)
{
	for (int i = 0; i < o->npids; i++) {
		if (!util__pid_alive(o->pids[i])) {
			lt_err("no such process: %d\n", o->pids[i]);
			return 1;
		}
		if (util__kernel_thread(o->pids[i])) {
			char comm[16];

			util__comm(o->pids[i], comm, sizeof(comm));
			lt_err("pid %d (%s) is a kernel thread: it has no user space to trace\n", o->pids[i], comm);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, orig;
	struct lt_opts o;
	int ret;

	ret = cli__parse(argc, argv, &o);
	if (ret)
		return ret < 0 ? 0 : ret;
	lt_verbose = o.verbose;
	raise_nofile();
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* CapEff: not root, or root without some capability; one line naming what is missing */
	if (util__check_caps() || check_pids(&o)) {
		cli__free(&o);
		return 1;
	}

	/* Signals are blocked except while the session waits, so none is lost between checks. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &orig);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_sigchld;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	ret = session__run(&o, &stop_signal, &orig);
	cli__free(&o);
	return ret;
}
