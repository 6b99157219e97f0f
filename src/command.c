// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* -c: start the command held, release it traced, follow its execs (see command.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>
#include "command.h"
#include "inject_tracer.h"
#include "log.h"
#include "tracer.h"

extern char **environ;

#define SHEBANG_DEPTH	4	/* as the kernel's binfmt_script allows */

/* NAME through PATH the way execvp would. */
static int find_program(const char *name, char *out, size_t len)
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

/* The first bytes of FILE. Bytes read, or -errno. */
static ssize_t head_of(const char *file, char *buf, size_t len)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len);
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

int command__resolve(const char *name, char *path, size_t plen, char *elf, size_t elen,
		     char *why, size_t wlen)
{
	char cur[PATH_MAX], buf[256];
	int err = find_program(name, path, plen);

	if (err) {
		snprintf(why, wlen, "%s", strerror(-err));
		return err;
	}
	snprintf(cur, sizeof(cur), "%s", path);
	for (int depth = 0; depth <= SHEBANG_DEPTH; depth++) {
		ssize_t n = head_of(cur, buf, sizeof(buf) - 1);
		char *interp, *arg, *nl;

		if (n < 0) {
			snprintf(why, wlen, "%s: %s", cur, strerror((int)-n));
			return (int)n;
		}
		buf[n] = 0;
		if (n >= 4 && memcmp(buf, "\177ELF", 4) == 0) {
			snprintf(elf, elen, "%s", cur);
			return 0;
		}
		if (n < 2 || buf[0] != '#' || buf[1] != '!') {
			snprintf(why, wlen, "%s is neither an ELF executable nor a #! script", cur);
			return -ENOEXEC;
		}
		nl = strchr(buf, '\n');
		if (nl)
			*nl = 0;
		interp = buf + 2 + strspn(buf + 2, " \t");
		arg = interp + strcspn(interp, " \t");
		if (*arg) {
			*arg++ = 0;
			arg += strspn(arg, " \t");
			arg[strcspn(arg, " \t")] = 0;
		}
		if (!*interp) {
			snprintf(why, wlen, "%s: an empty #! line", cur);
			return -ENOEXEC;
		}
		if (access(interp, X_OK)) {
			err = -errno;
			snprintf(why, wlen, "%s: its interpreter %s: %s", cur, interp, strerror(-err));
			return err;
		}
		/*
		 * The kernel runs the interpreter. "#!/usr/bin/env NAME" then
		 * execs NAME: that exec stops the command too and is planned
		 * then; what runs first is env.
		 */
		snprintf(cur, sizeof(cur), "%s", interp);
	}
	snprintf(why, wlen, "%s: #! interpreters nested deeper than %d", path, SHEBANG_DEPTH);
	return -ELOOP;
}

int command__prepare(struct command *c, const char *cmdline)
{
	char why[PATH_MAX + 128];
	int err;

	memset(c, 0, sizeof(*c));
	c->pid = -1;
	c->go_fd = -1;
	if (!cmdline[strspn(cmdline, " \t\n")]) {
		lt_err("-c: the command is empty\n");
		return 2;
	}
	if (wordexp(cmdline, &c->we, WRDE_NOCMD | WRDE_UNDEF) || c->we.we_wordc == 0) {
		lt_err("cannot parse the command '%s'\n", cmdline);
		return 2;
	}
	c->have_we = true;
	err = command__resolve(c->we.we_wordv[0], c->path, sizeof(c->path), c->elf, sizeof(c->elf),
			       why, sizeof(why));
	if (err) {
		lt_err("cannot run '%s': %s\n", c->we.we_wordv[0], why);
		return 1;
	}
	if (strcmp(c->path, c->elf))
		lt_info(1, "'%s' is a script: %s runs it\n", c->path, c->elf);
	return 0;
}

int command__spawn(struct command *c)
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
		execve(c->path, c->we.we_wordv, environ);
		_exit(127);
	}
	close(fds[0]);
	c->pid = pid;
	c->go_fd = fds[1];
	c->reaped = false;
	/*
	 * Stop it at every exec and at exit, so that each program gets its
	 * probes before it runs and its mappings are read while they exist,
	 * however short-lived the command.
	 */
	c->traced = ptrace(PTRACE_SEIZE, pid, NULL,
			   (void *)(long)(PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT)) == 0;
	if (!c->traced)
		lt_info(1, "cannot ptrace the command (%s): a very short-lived command may lose its symbols, a wrapper's program its first allocations\n",
			strerror(errno));
	return 0;
}

int command__release(struct command *c)
{
	if (write(c->go_fd, "x", 1) != 1) {
		lt_err("cannot release the command: %s\n", strerror(errno));
		return -EIO;
	}
	close(c->go_fd);
	c->go_fd = -1;
	return 0;
}

/* Without ptrace: notice the exec by the image changing from leaktrace's own. */
static void notice_exec(struct command *c, struct tracer *t)
{
	char link[64], path[PATH_MAX], self[PATH_MAX];
	ssize_t n, sn;

	snprintf(link, sizeof(link), "/proc/%d/exe", c->pid);
	n = readlink(link, path, sizeof(path) - 1);
	sn = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0 && sn > 0) {
		path[n] = self[sn] = 0;
		if (strcmp(path, self) != 0) {
			c->execed = true;
			tracer__watch(t, c->pid);
		}
	}
}

void command__poll(struct command *c, struct tracer *t, double elapsed)
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
			c->verified = false;
			c->exec_at = elapsed;
			tracer__exec_stop(t, c->pid);
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
			if (WSTOPSIG(st) == SIGTRAP && inject__trap(t, c->pid)) {
				ptrace(PTRACE_CONT, c->pid, NULL, NULL);	/* --inject's entry breakpoint */
				break;
			}
			if (WSTOPSIG(st) == SIGSTOP && tracer__unwind_stop(t, c->pid)) {
				ptrace(PTRACE_CONT, c->pid, NULL, NULL);	/* ours: swallow it */
				break;
			}
			ptrace(PTRACE_CONT, c->pid, NULL, (void *)(long)WSTOPSIG(st));
			break;
		}
	}
	if (c->reaped)
		return;
	if (!c->traced && !c->execed)
		notice_exec(c, t);
	/* the prediction against the real maps, once the program has mapped its libraries */
	if (c->execed && !c->verified && elapsed - c->exec_at > 0.5) {
		tracer__verify_plan(t, c->pid);
		c->verified = true;
	}
}

bool command__running(const struct command *c)
{
	return c->pid > 0 && !c->reaped;
}

void command__cleanup(struct command *c)
{
	if (c->pid > 0 && !c->reaped && c->go_fd >= 0) {
		/* never released: it must not run untraced */
		kill(c->pid, SIGKILL);
		close(c->go_fd);
		waitpid(c->pid, NULL, 0);
	}
	if (c->have_we)
		wordfree(&c->we);
	c->have_we = false;
}
