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
#include "log.h"


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

bool util__kernel_thread(int pid)
{
	char path[64], *s, *p;
	unsigned long flags = 0;
	bool kthread = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	s = util__read_file(path, NULL);
	if (!s)
		return false;
	/* after "pid (comm) ": state ppid pgrp session tty_nr tpgid flags */
	p = strrchr(s, ')');
	if (p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) == 1)
		kthread = (flags & 0x00200000UL) != 0;	/* PF_KTHREAD */
	free(s);
	return kthread;
}

const char *util__basename(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Capability numbers (linux/capability.h), for kernels' headers that lack the newer ones. */
#define LT_CAP_SYS_PTRACE		19
#define LT_CAP_SYS_ADMIN		21
#define LT_CAP_PERFMON			38
#define LT_CAP_BPF			39
#define LT_CAP_CHECKPOINT_RESTORE	40

static void add_name(char *out, size_t len, const char *name, int *n)
{
	size_t o = strlen(out);

	snprintf(out + o, len - o, "%s%s", *n ? ", " : "", name);
	(*n)++;
}

int util__missing_caps(const char *status, int last_cap, char *out, size_t len)
{
	const char *p = NULL;
	unsigned long long eff;
	char *end;
	bool admin;
	int n = 0;

	if (!out || !len)
		return -EINVAL;
	out[0] = 0;
	if (status && strncmp(status, "CapEff:", 7) == 0)
		p = status + 7;
	else if (status && (p = strstr(status, "\nCapEff:")))
		p += 8;
	if (!p)
		return -EINVAL;
	p += strspn(p, " \t");
	errno = 0;
	eff = strtoull(p, &end, 16);
	if (end == p || errno || (*end && *end != '\n'))
		return -EINVAL;
#define HAS(c) (((eff >> (c)) & 1) != 0)
	admin = HAS(LT_CAP_SYS_ADMIN);
	if (last_cap < 0)
		last_cap = LT_CAP_CHECKPOINT_RESTORE;	/* unknown: a current kernel */
	/* CAP_SYS_ADMIN also grants what CAP_BPF and CAP_PERFMON do (bpf_capable(), perfmon_capable()). */
	if (last_cap >= LT_CAP_BPF) {
		if (!HAS(LT_CAP_BPF) && !admin)
			add_name(out, len, "CAP_BPF", &n);
		if (!HAS(LT_CAP_PERFMON) && !admin)
			add_name(out, len, "CAP_PERFMON", &n);
	}
	if (!HAS(LT_CAP_SYS_PTRACE))
		add_name(out, len, "CAP_SYS_PTRACE", &n);
	/* /proc/PID/map_files: CAP_SYS_ADMIN, or CAP_CHECKPOINT_RESTORE since 5.9 */
	if (!admin && (last_cap < LT_CAP_CHECKPOINT_RESTORE || !HAS(LT_CAP_CHECKPOINT_RESTORE)))
		add_name(out, len, last_cap < LT_CAP_CHECKPOINT_RESTORE ? "CAP_SYS_ADMIN" :
			 "CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE", &n);
#undef HAS
	return n;
}

#define WHY_CAPS "CAP_BPF and CAP_PERFMON load the programs and probes, CAP_SYS_PTRACE reads other processes, " \
	"CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE opens /proc/PID/map_files"

int util__check_caps(void)
{
	char missing[160], *status = util__read_file("/proc/self/status", NULL), *last;
	int n, last_cap = -1;

	last = util__read_file("/proc/sys/kernel/cap_last_cap", NULL);
	if (last)
		last_cap = atoi(last);
	free(last);
	n = util__missing_caps(status, last_cap, missing, sizeof(missing));
	free(status);
	if (n < 0 && geteuid() != 0)
		snprintf(missing, sizeof(missing), "capabilities it cannot check (no CapEff line in /proc/self/status)");
	else if (n <= 0)
		return 0;
	if (geteuid() != 0)
		lt_err("not root, and missing %s: run as root, or grant them (%s)\n",
			missing, WHY_CAPS);
	else
		lt_err("root, but missing %s (dropped from this process's capabilities): %s\n",
			missing, WHY_CAPS);
	return -EPERM;
}
