// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --inject: a stopped process. Every thread is seized and interrupted
 * (again until no new thread appears); a signal that arrives instead of
 * the stop is kept and handed back when the thread goes on. System calls
 * run in the target by pointing a stopped thread at a `syscall`
 * instruction of its own text and single-stepping it, with orig_rax = -1
 * (no restart of the call the thread was in) and every register restored
 * afterwards, so that an interrupted call restarts. Code is written through
 * /proc/PID/mem, which the tracer may write on read-only text.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include "inject.h"
#include "procmaps.h"

int inj__open(struct inj_proc *p, int pid, char *why, size_t wlen)
{
	char path[64];

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	p->mem = open(path, O_RDWR | O_CLOEXEC);
	if (p->mem < 0) {
		int err = errno;

		snprintf(why, wlen, "cannot open %s: %s", path, strerror(err));
		return -err;
	}
	return 0;
}

int inj__read(struct inj_proc *p, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = pread(p->mem, buf, len, (off_t)addr);

	return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

int inj__write(struct inj_proc *p, uint64_t addr, const void *buf, size_t len)
{
	ssize_t n = pwrite(p->mem, buf, len, (off_t)addr);

	return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

static struct inj_thread *find(struct inj_proc *p, int tid)
{
	for (int i = 0; i < p->n; i++)
		if (p->th[i].tid == tid)
			return &p->th[i];
	return NULL;
}

static const char *ptrace_hint(void)
{
	FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "r");
	int scope = 0;

	if (f) {
		if (fscanf(f, "%d", &scope) != 1)
			scope = 0;
		fclose(f);
	}
	if (scope >= 3)
		return " (kernel.yama.ptrace_scope is 3: no process may be traced)";
	return " (another tracer, seccomp or an LSM forbids it)";
}

/* Wait for TID's interrupt stop; a signal that comes first is kept. 0, or -ESRCH when it is gone. */
static int wait_stop(struct inj_thread *t)
{
	for (int tries = 0; tries < 64; tries++) {
		int st;

		if (waitpid(t->tid, &st, __WALL) != t->tid)
			return -ESRCH;
		if (WIFEXITED(st) || WIFSIGNALED(st))
			return -ESRCH;
		if (!WIFSTOPPED(st))
			continue;
		if ((st >> 16) == PTRACE_EVENT_STOP)
			return 0;
		if ((st >> 16) == 0 && !t->sig)
			t->sig = WSTOPSIG(st);	/* a signal-delivery stop: hand it back later */
		/* on to the interrupt stop */
		if (ptrace(PTRACE_CONT, t->tid, NULL, NULL))
			return -ESRCH;
	}
	return -EAGAIN;
}

/* Seize and stop every thread not stopped yet. New ones found, or -errno. */
static int stop_round(struct inj_proc *p, char *why, size_t wlen)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int added = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", p->pid);
	d = opendir(path);
	if (!d) {
		snprintf(why, wlen, "the process is gone");
		return -ESRCH;
	}
	while ((de = readdir(d))) {
		int tid = atoi(de->d_name);
		struct inj_thread *t;

		if (tid <= 0 || find(p, tid))
			continue;
		if (p->n == p->cap) {
			int cap = p->cap ? p->cap * 2 : 16;
			struct inj_thread *n = realloc(p->th, cap * sizeof(*n));

			if (!n) {
				closedir(d);
				return -ENOMEM;
			}
			p->th = n;
			p->cap = cap;
		}
		t = &p->th[p->n];
		memset(t, 0, sizeof(*t));
		t->tid = tid;
		if (ptrace(PTRACE_SEIZE, tid, NULL, NULL)) {
			int err = errno;

			if (err == ESRCH)
				continue;	/* it exited */
			/* -c's command: leaktrace traces it already */
			if (err == EPERM && ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) == 0) {
				t->ours = true;
				if (wait_stop(t))
					continue;
				p->n++;
				added++;
				continue;
			}
			closedir(d);
			snprintf(why, wlen, "cannot ptrace thread %d: %s%s", tid, strerror(err),
				 err == EPERM ? ptrace_hint() : "");
			return -err;
		}
		if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) || wait_stop(t)) {
			ptrace(PTRACE_DETACH, tid, NULL, NULL);
			continue;	/* it exited meanwhile */
		}
		p->n++;
		added++;
	}
	closedir(d);
	return added;
}

int inj__stop(struct inj_proc *p, int held_tid, char *why, size_t wlen)
{
	int n;

	p->n = 0;
	if (held_tid) {
		p->cap = 16;
		p->th = realloc(p->th, p->cap * sizeof(*p->th));
		if (!p->th)
			return -ENOMEM;
		memset(&p->th[0], 0, sizeof(p->th[0]));
		p->th[0].tid = held_tid;
		p->th[0].held = true;
		p->n = 1;
	}
	do {
		n = stop_round(p, why, wlen);
		if (n < 0) {
			inj__resume(p);
			return n;
		}
	} while (n > 0);
	if (p->n == 0) {
		snprintf(why, wlen, "the process is gone");
		return -ESRCH;
	}
	for (int i = 0; i < p->n; i++)
		if (ptrace(PTRACE_GETREGS, p->th[i].tid, NULL, &p->th[i].regs)) {
			snprintf(why, wlen, "cannot read the registers of thread %d: %s", p->th[i].tid,
				 strerror(errno));
			inj__resume(p);
			return -ESRCH;
		}
	return 0;
}

void inj__resume(struct inj_proc *p)
{
	for (int i = 0; i < p->n; i++)
		if (p->th[i].ours)
			ptrace(PTRACE_CONT, p->th[i].tid, NULL, (void *)(long)p->th[i].sig);
		else if (!p->th[i].held)
			ptrace(PTRACE_DETACH, p->th[i].tid, NULL, (void *)(long)p->th[i].sig);
	p->n = 0;
}

void inj__close(struct inj_proc *p)
{
	if (p->n)
		inj__resume(p);
	if (p->mem > 0)
		close(p->mem);
	p->mem = -1;
	free(p->th);
	p->th = NULL;
	p->cap = 0;
}

bool inj__pc_in(const struct inj_proc *p, uint64_t lo, uint64_t hi)
{
	for (int i = 0; i < p->n; i++)
		if (p->th[i].regs.rip >= lo && p->th[i].regs.rip < hi)
			return true;
	return false;
}

/* A `syscall` (0f 05) in an executable mapping of the target: any two such bytes will do. */
static int find_syscall(struct inj_proc *p)
{
	struct proc_maps *m = procmaps__read(p->pid);
	int err = -ENOENT;

	if (!m)
		return -errno;
	for (int i = 0; i < m->n && err; i++) {
		const struct map_entry *e = &m->e[i];
		uint8_t buf[65536];
		uint64_t len = e->end - e->start;

		if (!e->x || !e->path[0] || e->path[0] == '[')
			continue;
		if (len > sizeof(buf))
			len = sizeof(buf);
		if (inj__read(p, e->start, buf, len))
			continue;
		for (uint64_t k = 0; k + 1 < len; k++)
			if (buf[k] == 0x0f && buf[k + 1] == 0x05) {
				p->syscall_insn = e->start + k;
				err = 0;
				break;
			}
	}
	procmaps__free(m);
	return err;
}

long inj__syscall(struct inj_proc *p, long nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
		  uint64_t a5, uint64_t a6)
{
	struct inj_thread *t = &p->th[0];
	struct user_regs_struct r = t->regs;
	long ret = -EIO;
	int err;

	if (!p->syscall_insn && (err = find_syscall(p)))
		return err;
	r.rax = nr;
	r.orig_rax = (unsigned long long)-1;
	r.rdi = a1;
	r.rsi = a2;
	r.rdx = a3;
	r.r10 = a4;
	r.r8 = a5;
	r.r9 = a6;
	r.rip = p->syscall_insn;
	if (ptrace(PTRACE_SETREGS, t->tid, NULL, &r))
		return -errno;
	for (int tries = 0; tries < 16; tries++) {
		struct user_regs_struct now;
		int st;

		if (ptrace(PTRACE_SINGLESTEP, t->tid, NULL, NULL) || waitpid(t->tid, &st, __WALL) != t->tid) {
			ret = -ESRCH;
			break;
		}
		if (!WIFSTOPPED(st)) {
			ret = -ESRCH;
			break;
		}
		if (ptrace(PTRACE_GETREGS, t->tid, NULL, &now)) {
			ret = -errno;
			break;
		}
		if (now.rip == p->syscall_insn + 2) {
			ret = (long)now.rax;
			break;
		}
		/* a signal came before the step: keep it, step again */
		if ((st >> 16) == 0 && WSTOPSIG(st) != SIGTRAP && !t->sig)
			t->sig = WSTOPSIG(st);
	}
	if (ptrace(PTRACE_SETREGS, t->tid, NULL, &t->regs))
		return -ESRCH;
	return ret;
}
