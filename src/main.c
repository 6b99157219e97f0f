// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* leaktrace: main loop, modes (-p, -c), signals, report schedule. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wordexp.h>
#include "opts.h"
#include "plan.h"
#include "report.h"
#include "sink.h"
#include "tracer.h"
#include "util.h"

extern char **environ;

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* SIGCHLD only has to interrupt the wait; the loop reaps. */
static void on_sigchld(int sig)
{
	(void)sig;
}

/* Every site of the report counts, also those that -T leaves out. */
static bool any_growing(const struct lt_report *r)
{
	for (int i = 0; i < r->nsites_total; i++)
		if (r->sites[i].trend == LT_TREND_GROWING)
			return true;
	return false;
}

/* Resolve CMD's argv[0] through PATH the way execvp would. */
static int resolve_cmd(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save;

	if (strchr(name, '/')) {
		snprintf(out, len, "%s", name);
		return access(out, X_OK) ? -errno : 0;
	}
	copy = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = copy ? strtok_r(copy, ":", &save) : NULL; dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", dir, name);
		if (access(out, X_OK) == 0) {
			free(copy);
			return 0;
		}
	}
	free(copy);
	return -ENOENT;
}

static const char *plan_error(int err)
{
	switch (err) {
	case -ENOENT: return "no malloc to hook in its executable or libraries (a Go or stripped static binary?)";
	case -ESRCH: return "no such process";
	case -EACCES: return "permission denied reading its maps or files";
	default: return strerror(-err);
	}
}

struct child {
	pid_t pid;
	int go_fd;	/* write end: one byte releases the exec */
	int status;
	bool reaped;
	bool traced;	/* ptrace-seized: stops at exec and exit */
	bool execed;
};

/* Fork CMD held before its exec; the probes go in before it runs. */
static int spawn_held(const char *exe, char **argv, struct child *c)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (pid == 0) {
		char b;
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		close(fds[1]);
		if (read(fds[0], &b, 1) != 1)
			_exit(126);
		execve(exe, argv, environ);
		_exit(127);
	}
	close(fds[0]);
	c->pid = pid;
	c->go_fd = fds[1];
	c->reaped = false;
	/*
	 * Stop it at exec and at exit, so that its mappings are read while
	 * they exist, however short-lived the command. PTRACE_SEIZE does not
	 * stop it, and if leaktrace dies the kernel detaches it.
	 */
	c->traced = ptrace(PTRACE_SEIZE, pid, NULL,
			   (void *)(long)(PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT)) == 0;
	if (!c->traced)
		util__log(1, "cannot ptrace the command (%s): a very short-lived command may lose its symbols\n",
			  strerror(errno));
	return 0;
}

/*
 * Reap or resume the command. Exec and exit stops refresh its symbols;
 * signal stops pass the signal on untouched, but for the SIGSTOP the
 * unwinder sends when it needs the command's new mappings.
 */
static void poll_child(struct tracer *t, struct child *c)
{
	int st;
	pid_t r;

	while (!c->reaped && (r = waitpid(c->pid, &st, WNOHANG | __WALL)) == c->pid) {
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			c->reaped = true;
			c->status = st;
			tracer__target_exited(t, c->pid);
			break;
		}
		if (!WIFSTOPPED(st))
			continue;
		switch (st >> 16) {
		case PTRACE_EVENT_EXEC:
			c->execed = true;
			tracer__watch(t, c->pid);
			tracer__arm_unwind_stop(t, c->pid);
			ptrace(PTRACE_CONT, c->pid, NULL, NULL);
			break;
		case PTRACE_EVENT_EXIT:
			tracer__watch(t, c->pid);
			ptrace(PTRACE_DETACH, c->pid, NULL, NULL);
			break;
		case PTRACE_EVENT_STOP:
			ptrace(PTRACE_CONT, c->pid, NULL, NULL);
			break;
		default:
			if (WSTOPSIG(st) == SIGSTOP && tracer__unwind_stop(t, c->pid)) {
				ptrace(PTRACE_CONT, c->pid, NULL, NULL);	/* ours: swallow it */
				break;
			}
			ptrace(PTRACE_CONT, c->pid, NULL, (void *)(long)WSTOPSIG(st));
			break;
		}
	}
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

int main(int argc, char **argv)
{
	struct lt_opts o;
	struct tracer *t = NULL;
	struct child child = { .pid = -1, .go_fd = -1 };
	struct sinks *out = NULL;
	wordexp_t we = {};
	bool have_we = false;
	int ret = 1, err, nreports = 0, nprobes = 0;
	double start, next_sample, next_report, deadline = 0;
	bool leak_seen = false, verified = false;
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, orig;

	err = cli__parse(argc, argv, &o);
	if (err)
		return err < 0 ? 0 : err;
	lt_verbose = o.verbose;
	raise_nofile();
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* CapEff: not root, or root without some capability; one line naming what is missing */
	if (util__check_caps())
		goto out;
	for (int i = 0; i < o.npids; i++) {
		if (!util__pid_alive(o.pids[i])) {
			fprintf(stderr, "leaktrace: no such process: %d\n", o.pids[i]);
			goto out;
		}
	}

	/* Signals are blocked except while we wait, so none is lost between checks. */
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

	out = sinks__open(&o);
	if (!out)
		goto out;

	t = tracer__new(&o);
	if (!t)
		goto out;

	if (o.command) {
		char exe[PATH_MAX];
		struct lt_plan plan;

		if (wordexp(o.command, &we, WRDE_NOCMD | WRDE_UNDEF) || we.we_wordc == 0) {
			fprintf(stderr, "leaktrace: cannot parse the command '%s'\n", o.command);
			ret = 2;
			goto out;
		}
		have_we = true;
		err = resolve_cmd(we.we_wordv[0], exe, sizeof(exe));
		if (err) {
			fprintf(stderr, "leaktrace: cannot run '%s': %s\n", we.we_wordv[0], strerror(-err));
			goto out;
		}
		err = plan__predict(exe, o.allocator, o.track, &plan);
		if (err == -ENOENT && plan.no_malloc && plan.nprobes > 0) {
			fprintf(stderr, "leaktrace: warning: %s: %s; tracing threads and timers only\n",
				exe, plan_error(err));
			err = 0;
		}
		if (err) {
			fprintf(stderr, "leaktrace: %s: %s\n", exe, plan_error(err));
			plan__free(&plan);
			goto out;
		}
		err = spawn_held(exe, we.we_wordv, &child);
		if (err) {
			fprintf(stderr, "leaktrace: cannot start '%s': %s\n", exe, strerror(-err));
			plan__free(&plan);
			goto out;
		}
		err = tracer__attach(t, child.pid, &plan);
		plan__free(&plan);
		if (err < 0)
			goto out;
		nprobes = err;
	} else if (o.all) {
		err = tracer__attach_system(t, true);
		if (err < 0)
			goto out;
		nprobes = err;
	} else {
		for (int i = 0; i < o.npids; i++) {
			struct lt_plan plan;
			char comm[16];

			err = plan__live(o.pids[i], o.allocator, o.track, &plan);
			util__comm(o.pids[i], comm, sizeof(comm));
			if (err == -ENOENT && plan.no_malloc && plan.nprobes > 0) {
				fprintf(stderr, "leaktrace: warning: pid %d (%s): %s; tracing threads and timers only\n",
					o.pids[i], comm, plan_error(err));
				err = 0;
			}
			if (err) {
				if (!util__pid_alive(o.pids[i]))
					fprintf(stderr, "leaktrace: pid %d exited during attach\n", o.pids[i]);
				else
					fprintf(stderr, "leaktrace: pid %d (%s): %s\n", o.pids[i], comm, plan_error(err));
				plan__free(&plan);
				goto out;
			}
			err = tracer__attach(t, o.pids[i], &plan);
			plan__free(&plan);
			if (err < 0)
				goto out;
			nprobes += err;
			err = tracer__watch(t, o.pids[i]);
			if (err) {
				fprintf(stderr, "leaktrace: pid %d exited during attach\n", o.pids[i]);
				goto out;
			}
		}
	}

	if (o.command) {
		fprintf(stderr, "leaktrace: ready: tracing '%s' (pid %d), %d probes\n", o.command, child.pid, nprobes);
		if (write(child.go_fd, "x", 1) != 1) {
			fprintf(stderr, "leaktrace: cannot release the command: %s\n", strerror(errno));
			goto out;
		}
		close(child.go_fd);
		child.go_fd = -1;
	} else if (o.all) {
		fprintf(stderr, "leaktrace: ready: tracing every process (system-wide), %d probes\n", nprobes);
	} else {
		fprintf(stderr, "leaktrace: ready: tracing");
		for (int i = 0; i < o.npids; i++) {
			char comm[16];

			util__comm(o.pids[i], comm, sizeof(comm));
			fprintf(stderr, "%s pid %d (%s)", i ? "," : "", o.pids[i], comm);
		}
		fprintf(stderr, ", %d probes\n", nprobes);
	}

	start = util__now();
	next_sample = start + 1;
	next_report = o.once ? 0 : start + o.interval;
	if (o.once)
		deadline = start + o.once;

	for (;;) {
		double now = util__now(), wake = next_sample;
		struct timespec ts;
		bool final = false, all_gone = true;
		int alive = 0;

		if (next_report && next_report < wake)
			wake = next_report;
		if (deadline && deadline < wake)
			wake = deadline;
		if (wake - now > 0.1)
			wake = now + 0.1;	/* poll target liveness every 100 ms */
		if (wake > now) {
			ts.tv_sec = (time_t)(wake - now);
			ts.tv_nsec = (long)((wake - now - ts.tv_sec) * 1e9);
			ppoll(NULL, 0, &ts, &orig);
		}
		now = util__now();

		/* -c: symbolize the command once it has exec'ed, then verify the prediction */
		if (child.pid > 0 && !child.reaped) {
			poll_child(t, &child);
			if (!child.traced && !child.execed && !child.reaped) {
				/* no ptrace: notice the exec by the image changing */
				char link[64], path[PATH_MAX], self[PATH_MAX];
				ssize_t n, sn;

				snprintf(link, sizeof(link), "/proc/%d/exe", child.pid);
				n = readlink(link, path, sizeof(path) - 1);
				sn = readlink("/proc/self/exe", self, sizeof(self) - 1);
				if (n > 0 && sn > 0) {
					path[n] = self[sn] = 0;
					if (strcmp(path, self) != 0) {
						child.execed = true;
						tracer__watch(t, child.pid);
					}
				}
			}
			if (child.execed && !verified && !child.reaped && now - start > 0.5) {
				tracer__verify_plan(t, child.pid);
				verified = true;
			}
		}

		if (o.command) {
			if (!child.reaped)
				alive++;
		}
		/* -p targets, and with --follow their children (the command's too) */
		alive += tracer__alive(t);
		all_gone = alive == 0 && !o.all;

		if (now >= next_sample) {
			if (o.all)
				tracer__attach_system(t, false);	/* files mapped since */
			tracer__sample(t);
			next_sample += 1;
			if (next_sample < now)
				next_sample = now + 1;
		}
		if (stop_signal || all_gone || (deadline && now >= deadline))
			final = true;
		if (!final && next_report && now >= next_report) {
			struct lt_report r;

			nreports++;
			final = o.count && nreports >= o.count;
			if (tracer__report(t, &r, final) == 0) {
				sinks__emit(out, &r);
				leak_seen = any_growing(&r);
			}
			report__free_sites(&r);
			free(r.targets);
			next_report += o.interval;
			if (final)
				break;
			continue;
		}
		if (final) {
			struct lt_report r;

			if (all_gone)
				util__log(1, "the target exited; printing the final report\n");
			tracer__sample(t);
			if (tracer__report(t, &r, true) == 0) {
				sinks__emit(out, &r);
				leak_seen = any_growing(&r);
			}
			report__free_sites(&r);
			free(r.targets);
			break;
		}
	}
	ret = (o.fail_on_leak && leak_seen) ? 3 : 0;

out:
	tracer__free(t);
	if (child.pid > 0 && !child.reaped) {
		if (child.go_fd >= 0) {
			/* never released: it must not run untraced */
			kill(child.pid, SIGKILL);
			close(child.go_fd);
			waitpid(child.pid, NULL, 0);
		}
	}
	if (have_we)
		wordfree(&we);
	sinks__close(out);
	cli__free(&o);
	return ret;
}
