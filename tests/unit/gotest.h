/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Helpers shared by test_gobin.c, test_goproc.c and test_goheap.c: where
 * the Go test targets are (tests/targets/go/bin, built by `make targets`;
 * LT_GO_BIN overrides), their "// LINE:name" markers, the esbuild package
 * (`npm pack @esbuild/linux-x64`, cached under .output/esbuild/), and a
 * child process whose output is waited on (targets print READY, DONE...).
 */
#ifndef LT_GOTEST_H
#define LT_GOTEST_H

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

static inline const char *gotest__bindir(void)
{
	const char *e = getenv("LT_GO_BIN");

	return e ? e : "tests/targets/go/bin";
}

/* Path of a built Go target, or NULL (and a skip reason) when it is not built. */
static inline const char *gotest__bin(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", gotest__bindir(), name);
	if (access(buf, X_OK)) {
		test__skip("Go test targets not built (make targets needs golang-go)");
		return NULL;
	}
	return buf;
}

/* Line of "// LINE:NAME" in tests/targets/go/PROG/main.go, or 0. */
static inline int gotest__line(const char *prog, const char *name)
{
	char path[512], line[1024], tag[128];
	int n = 0, found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/../%s/main.go", gotest__bindir(), prog);
	snprintf(tag, sizeof(tag), "// LINE:%s", name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *p;

		n++;
		p = strstr(line, tag);
		if (p && (p[strlen(tag)] == '\n' || p[strlen(tag)] == ' ' || !p[strlen(tag)])) {
			found = n;
			break;
		}
	}
	fclose(f);
	return found;
}

/* esbuild's binary (npm pack, cached in .output/esbuild), or NULL with a skip reason. */
static inline const char *gotest__esbuild(char *buf, size_t len)
{
	const char *out = getenv("OUTPUT") ? getenv("OUTPUT") : ".output";
	char *r;

	snprintf(buf, len, "%s/esbuild/package/bin/esbuild", out);
	if (!access(buf, X_OK))
		return buf;
	r = test__run_cmd("mkdir -p '%s/esbuild' && cd '%s/esbuild' && "
			  "timeout 120 npm pack --silent @esbuild/linux-x64@0.28.2 2>/dev/null | tail -n 1 | "
			  "xargs -r tar xzf && ls package/bin/esbuild", out, out);
	free(r);
	if (access(buf, X_OK)) {
		test__skip("npm pack @esbuild/linux-x64 failed (no npm registry?)");
		return NULL;
	}
	return buf;
}

static inline bool gotest__ends_with(const char *s, const char *suffix)
{
	size_t a = s ? strlen(s) : 0, b = strlen(suffix);

	return s && a >= b && !strcmp(s + a - b, suffix);
}

static inline double gotest__now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

struct gotest_child {
	pid_t pid;
	int out;	/* its stdout (or stderr) */
	int in;		/* its stdin */
	char buf[65536];
	size_t len;
};

/* Start ARGV with its stdout (or stderr) on a pipe; ENV ("K=V" or NULL) is added to its environment. */
static inline bool gotest__child_start(struct gotest_child *c, char *const argv[], bool stderr_pipe,
				       const char *env)
{
	int o[2], i[2];

	memset(c, 0, sizeof(*c));
	if (pipe2(o, O_CLOEXEC) || pipe2(i, O_CLOEXEC))
		return false;
	c->pid = fork();
	if (c->pid < 0)
		return false;
	if (!c->pid) {
		int null = open("/dev/null", O_WRONLY);

		if (env)
			putenv((char *)env);
		dup2(i[0], 0);
		dup2(stderr_pipe ? null : o[1], 1);
		dup2(stderr_pipe ? o[1] : null, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(o[1]);
	close(i[0]);
	c->out = o[0];
	c->in = i[1];
	return true;
}

/* Wait until the output contains WHAT (after what was consumed); false on timeout or EOF. */
static inline bool gotest__child_wait(struct gotest_child *c, const char *what, int timeout_ms)
{
	double end = gotest__now_ms() + timeout_ms;

	for (;;) {
		struct pollfd pfd = { c->out, POLLIN, 0 };
		char *p;
		ssize_t n;

		c->buf[c->len] = 0;
		p = strstr(c->buf, what);
		if (p) {
			size_t used = (size_t)(p - c->buf) + strlen(what);

			memmove(c->buf, c->buf + used, c->len - used + 1);
			c->len -= used;
			return true;
		}
		if (gotest__now_ms() >= end ||
		    poll(&pfd, 1, (int)(end - gotest__now_ms()) + 1) <= 0)
			return false;
		if (c->len + 1 >= sizeof(c->buf)) {	/* keep the tail */
			memmove(c->buf, c->buf + c->len / 2, c->len - c->len / 2);
			c->len -= c->len / 2;
		}
		n = read(c->out, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		if (n <= 0)
			return false;
		c->len += (size_t)n;
	}
}

static inline void gotest__child_stop(struct gotest_child *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	if (c->out > 0)
		close(c->out);
	if (c->in > 0)
		close(c->in);
	c->pid = 0;
}

#endif /* LT_GOTEST_H */
