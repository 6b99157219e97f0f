// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "util.h"

int lt_verbose;

char *util__read_file(const char *path, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = NULL, *nb;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	buf = malloc(cap);
	if (!buf)
		goto out_nomem;
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			nb = realloc(buf, cap * 2);
			if (!nb)
				goto out_nomem;
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			free(buf);
			close(fd);
			errno = err;
			return NULL;
		}
		if (r == 0)
			break;
		n += r;
	}
	close(fd);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;

out_nomem:
	free(buf);
	close(fd);
	errno = ENOMEM;
	return NULL;
}

void util__comm(int pid, char *buf, size_t len)
{
	char path[64], *s;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	s = util__read_file(path, NULL);
	if (!s) {
		snprintf(buf, len, "?");
		return;
	}
	s[strcspn(s, "\n")] = 0;
	snprintf(buf, len, "%s", s);
	free(s);
}

double util__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

bool util__pid_alive(int pid)
{
	char path[64], *s, *p;
	bool alive;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	s = util__read_file(path, NULL);
	if (!s)
		return false;
	p = strrchr(s, ')');
	alive = p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
	free(s);
	return alive;
}

const char *util__basename(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

void util__log(int level, const char *fmt, ...)
{
	va_list ap;

	if (lt_verbose < level)
		return;
	va_start(ap, fmt);
	fputs("leaktrace: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}
