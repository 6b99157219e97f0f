// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The thread tracker's collector (BPF side: bpf/thread.bpf.c). A site is
 * a creation stack: its threads still running (live) and those that ended
 * but were never joined or detached (exited-unjoined). /proc tells how
 * many threads run in all, and which existed before the attach.
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "syms.h"
#include "tracer_priv.h"
#include "util.h"

/* Per target. */
struct thread_state {
	int total_live;		/* its threads in /proc, at the last look while it lived */
	int preexisting;	/* of them, from before the attach */
	uint64_t default_stack;	/* RLIMIT_STACK: glibc's default thread stack size */
};

static struct thread_state *state(struct tracer *t, struct target *tg)
{
	return target__state(tg, t, &lt_tracker_threads, sizeof(struct thread_state));
}

static struct bpf_program *prog(struct tracer *t, bool ret)
{
	return ret ? t->skel->progs.lt_thread_return : t->skel->progs.lt_thread_entry;
}

/* sched_process_fork gives a new thread's TID; sched_process_exit its end. */
static int attach(struct tracer *t)
{
	int err = attach__prog(t->att, t->skel->progs.lt_thread_fork);

	return err ? err : attach__prog(t->att, t->skel->progs.lt_thread_exit);
}

/* Count PID's threads; with TID2PT_FD, also those no tracked create made (pre-existing). */
static int count_tasks(int pid, int tid2pt_fd, int *preexisting)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	if (preexisting)
		*preexisting = 0;
	while ((d = readdir(dir))) {
		__u32 tid = strtoul(d->d_name, NULL, 10);
		__u64 pt;

		if (!tid)
			continue;
		n++;
		if (preexisting && bpf_map_lookup_elem(tid2pt_fd, &tid, &pt))
			(*preexisting)++;
	}
	closedir(dir);
	return n;
}

static uint64_t rlimit_stack(int pid)
{
	char path[64], *text, *line;
	uint64_t v = 8 << 20;

	snprintf(path, sizeof(path), "/proc/%d/limits", pid);
	text = util__read_file(path, NULL);
	if (!text)
		return v;
	line = strstr(text, "Max stack size");
	if (line) {
		line += strlen("Max stack size");
		line += strspn(line, " ");
		if (strncmp(line, "unlimited", 9) != 0)
			v = strtoull(line, NULL, 10);
	}
	free(text);
	return v;
}

static void watch(struct tracer *t, struct target *tg)
{
	struct thread_state *st = state(t, tg);
	int pre = 0, n;

	if (!st)
		return;
	n = count_tasks(tg->pid, bpf_map__fd(t->skel->maps.tid2pt), &pre);
	if (n >= 0) {
		st->preexisting = pre;
		st->total_live = n;
	}
	st->default_stack = rlimit_stack(tg->pid);
}

static void exec(struct tracer *t, struct target *tg, uint64_t ns)
{
	map__delete_before(bpf_map__fd(t->skel->maps.threads), sizeof(struct lt_thread_key),
			   sizeof(struct lt_thread), tg->pid, ns, offsetof(struct lt_thread, start_ns));
}

static void gc(struct tracer *t, const struct u64_vec *dead)
{
	map__delete_tgids(bpf_map__fd(t->skel->maps.threads), sizeof(struct lt_thread_key), dead);
}

static void stack_refs(struct tracer *t, struct u64_vec *refs)
{
	map__collect_u64(bpf_map__fd(t->skel->maps.threads), sizeof(struct lt_thread_key),
			 sizeof(struct lt_thread), false, offsetof(struct lt_thread, site.stack), refs);
}

/* One thread into its site: v[0] all, v[1] exited-unjoined, v[2] live, v[3] stack bytes. */
static void add_thread(const void *key, const void *val, void *arg)
{
	const struct lt_thread_key *k = key;
	const struct lt_thread *th = val;
	struct collect_ctx *c = arg;
	struct target *tg = tracer__find(c->t, k->tgid);
	struct lt_site_id id = site_id_of(&th->site);
	struct thread_state *st;
	struct lt_site *s;

	if (!tg || !target__alive(tg))
		return;
	s = site_set__get(c->ss, &id, 0);
	if (!s) {
		c->err = -ENOMEM;
		return;
	}
	if (!s->v[0])
		s->addr = th->start_routine;	/* the first thread's */
	s->v[0]++;
	s->v[th->state == LT_THREAD_EXITED ? 1 : 2]++;
	if (!s->oldest_ns || th->start_ns < s->oldest_ns)
		s->oldest_ns = th->start_ns;
	st = state(c->t, tg);
	s->v[3] += th->stacksize ? th->stacksize : st ? st->default_stack : 0;
}

static int collect(struct tracer *t, struct site_set *ss, bool report)
{
	for (int i = 0; i < t->ntg; i++) {
		struct thread_state *st = state(t, t->tg[i]);
		int n;

		if (!st || !target__alive(t->tg[i]))
			continue;
		n = count_tasks(t->tg[i]->pid, -1, NULL);
		if (n >= 0)
			st->total_live = n;
	}
	return collect__map(t, bpf_map__fd(t->skel->maps.threads), sizeof(struct lt_thread_key),
			    sizeof(struct lt_thread), add_thread, ss, report);
}

/* Threads that libc starts for itself: the creating call comes from libc. */
static bool libc_internal(struct target *tg, uint64_t caller)
{
	const char *m = tg && tg->syms ? syms__module(tg->syms, caller) : NULL;
	const char *b = m ? util__basename(m) : "";

	return strncmp(b, "libc.so", 7) == 0 || strncmp(b, "libc-", 5) == 0 ||
	       strncmp(b, "libpthread", 10) == 0;
}

static void finish(struct tracer *t, struct lt_section *sec, struct lt_report *r)
{
	(void)r;
	for (int i = 0; i < t->ntg; i++) {
		struct thread_state *st = state(t, t->tg[i]);

		if (!st)
			continue;
		sec->extra[0] += t->tg[i]->exited ? 0 : st->total_live;
		sec->extra[1] += st->preexisting;
	}
	/* symbolize only what is shown */
	for (int i = 0; i < sec->nsites; i++) {
		struct lt_site *s = &sec->sites[i];
		struct target *tg = tracer__find(t, s->pid);
		struct sym_frame sf[4];
		int nf;

		if (libc_internal(tg, s->id.caller))
			s->flags |= LT_THREAD_LIBC_INTERNAL;
		if (!tg || !tg->syms || !s->addr)
			continue;
		nf = syms__resolve(tg->syms, s->addr, false, sf, 4);
		if (nf > 0 && sf[nf - 1].func)
			s->label = strdup(sf[nf - 1].func);
	}
}

const struct tracker lt_tracker_threads = {
	.name = "threads",
	.track = LT_TRACK_THREADS,
	.view = &lt_view_threads,
	.plan_tracker = LT_TRACKER_THREADS,
	.keep_dead = true,
	.prog = prog,
	.attach = attach,
	.watch = watch,
	.exec = exec,
	.gc = gc,
	.stack_refs = stack_refs,
	.collect = collect,
	.finish = finish,
};
