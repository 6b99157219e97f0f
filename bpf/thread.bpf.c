// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Thread tracker: threads made by pthread_create that are still running
 * (live) or that ended but were never joined or detached (their stack
 * stays mapped). Joined, and detached-then-exited, threads are forgotten.
 *
 * Records are keyed by (tgid, pthread_t): unlike TIDs, which the kernel
 * reuses as soon as a thread exits, a pthread_t is unique among a
 * process's live and unjoined threads. tid2pt maps a live thread's TID to
 * its pthread_t for the exit tracepoint.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "leaktrace.h"
#include "common.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lt_thread_key);
	__type(value, struct lt_thread);
	__uint(max_entries, 1 << 16);
} threads SEC(".maps");

/* live thread's tid -> pthread_t; 0 while its pthread_create has not returned */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1 << 16);
} tid2pt SEC(".maps");

/* child tid -> exit time, for a thread that ended before pthread_create returned */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1024);
} early_exit SEC(".maps");

/* calling tid -> pthread_t being joined */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4096);
} tjoin SEC(".maps");

/* (tgid, pthread_attr_t *) -> what the attribute says */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct lt_attr_key);
	__type(value, struct lt_attr_val);
	__uint(max_entries, 4096);
} tattr SEC(".maps");

static __always_inline void on_create(struct pt_regs *ctx, __u32 tid, __u32 tgid)
{
	struct lt_tcreate c = {};
	struct lt_attr_key ak = { .tgid = tgid, .attr = PT_REGS_PARM2(ctx) };
	struct lt_attr_val *av;

	take_site(ctx, tgid, &c.site);
	c.thread_ptr = PT_REGS_PARM1(ctx);
	c.start_routine = PT_REGS_PARM3(ctx);
	c.ts = bpf_ktime_get_ns();
	if (ak.attr) {
		av = bpf_map_lookup_elem(&tattr, &ak);
		if (av) {
			c.detached = av->detached;
			c.stacksize = av->stacksize;
		}
	}
	bpf_map_update_elem(&tcreate, &tid, &c, BPF_ANY);
}

static __always_inline void on_detach(__u32 tgid, __u64 th)
{
	struct lt_thread_key k = { .tgid = tgid, .pthread = th };
	struct lt_thread *t = bpf_map_lookup_elem(&threads, &k);

	if (!t)
		return;
	if (t->state == LT_THREAD_EXITED)
		bpf_map_delete_elem(&threads, &k);	/* exited and now released: done */
	else
		t->detached = 1;			/* forgotten when it exits */
}

static __always_inline void attr_set(__u32 tgid, __u64 attr, int which, __u64 v)
{
	struct lt_attr_key k = { .tgid = tgid, .attr = attr };
	struct lt_attr_val zero = {}, *a;

	a = bpf_map_lookup_elem(&tattr, &k);
	if (!a) {
		bpf_map_update_elem(&tattr, &k, &zero, BPF_NOEXIST);
		a = bpf_map_lookup_elem(&tattr, &k);
		if (!a)
			return;
	}
	if (which == LT_FN_ATTR_SETDETACHSTATE)
		a->detached = v == 1;	/* PTHREAD_CREATE_DETACHED */
	else
		a->stacksize = v;
}

SEC("uprobe")
int BPF_KPROBE(lt_thread_entry)
{
	__u32 func = bpf_get_attach_cookie(ctx) & 0xff;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, tgid = id >> 32;

	if (!tgid_wanted(tgid))
		return 0;
	switch (func) {
	case LT_FN_PTHREAD_CREATE:
		on_create(ctx, tid, tgid);
		break;
	case LT_FN_PTHREAD_JOIN: {
		__u64 th = PT_REGS_PARM1(ctx);

		bpf_map_update_elem(&tjoin, &tid, &th, BPF_ANY);
		break;
	}
	case LT_FN_PTHREAD_DETACH:
		on_detach(tgid, PT_REGS_PARM1(ctx));
		break;
	case LT_FN_ATTR_INIT: {
		struct lt_attr_key k = { .tgid = tgid, .attr = PT_REGS_PARM1(ctx) };

		bpf_map_delete_elem(&tattr, &k);
		break;
	}
	case LT_FN_ATTR_SETDETACHSTATE:
	case LT_FN_ATTR_SETSTACKSIZE:
		attr_set(tgid, PT_REGS_PARM1(ctx), func, PT_REGS_PARM2(ctx));
		break;
	}
	return 0;
}

static __always_inline void create_returned(__u32 tid, __u32 tgid, long ret)
{
	struct lt_tcreate *c = bpf_map_lookup_elem(&tcreate, &tid);
	struct lt_thread_key k = { .tgid = tgid };
	struct lt_thread t = {};
	__u64 *exited;
	__u32 child;

	if (!c)
		return;
	child = c->child_tid;
	if (ret != 0 || !child || bpf_probe_read_user(&k.pthread, sizeof(k.pthread), (void *)c->thread_ptr)) {
		if (child)
			bpf_map_delete_elem(&tid2pt, &child);
		bpf_map_delete_elem(&tcreate, &tid);
		return;
	}
	t.site = c->site;
	t.start_routine = c->start_routine;
	t.start_ns = c->ts;
	t.stacksize = c->stacksize;
	t.tid = child;
	t.detached = c->detached;
	t.state = LT_THREAD_LIVE;
	bpf_map_delete_elem(&tcreate, &tid);

	exited = bpf_map_lookup_elem(&early_exit, &child);
	if (exited) {
		/* it already ran to its end */
		t.state = LT_THREAD_EXITED;
		t.exit_ns = *exited;
		bpf_map_delete_elem(&early_exit, &child);
		bpf_map_delete_elem(&tid2pt, &child);
		if (t.detached)
			return;
	} else {
		bpf_map_update_elem(&tid2pt, &child, &k.pthread, BPF_ANY);
	}
	/* pthread_t values repeat once a thread is joined: overwrite */
	if (bpf_map_update_elem(&threads, &k, &t, BPF_ANY))
		drop(LT_DROP_THREADS_UNTRACKED);
}

SEC("uretprobe")
int BPF_KRETPROBE(lt_thread_return)
{
	__u32 func = bpf_get_attach_cookie(ctx) & 0xff;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, tgid = id >> 32;
	long ret = PT_REGS_RC(ctx);

	if (!tgid_wanted(tgid))
		return 0;
	if (func == LT_FN_PTHREAD_CREATE) {
		create_returned(tid, tgid, ret);
	} else if (func == LT_FN_PTHREAD_JOIN) {
		__u64 *th = bpf_map_lookup_elem(&tjoin, &tid);
		struct lt_thread_key k = { .tgid = tgid };

		if (!th)
			return 0;
		k.pthread = *th;
		bpf_map_delete_elem(&tjoin, &tid);
		/* only a join that returned 0 reaped it (tryjoin: EBUSY, timedjoin: ETIMEDOUT) */
		if ((int)ret == 0)
			bpf_map_delete_elem(&threads, &k);
	}
	return 0;
}

/* Fires in the parent, before the child can run: the child's TID for the in-flight create. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(lt_thread_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptid = parent->pid, ctid = child->pid;
	struct lt_tcreate *c;
	__u64 pending = 0;

	if (child->tgid != parent->tgid)
		return 0;	/* a new process, not a thread */
	c = bpf_map_lookup_elem(&tcreate, &ptid);
	if (!c)
		return 0;
	c->child_tid = ctid;
	if (bpf_map_update_elem(&tid2pt, &ctid, &pending, BPF_ANY))
		drop(LT_DROP_THREADS_UNTRACKED);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(lt_thread_exit, struct task_struct *p)
{
	__u32 tid = p->pid;
	__u64 *pt = bpf_map_lookup_elem(&tid2pt, &tid), now;
	struct lt_thread_key k = { .tgid = p->tgid };
	struct lt_thread *t;

	if (!pt)
		return 0;
	now = bpf_ktime_get_ns();
	if (*pt == 0) {
		/* pthread_create has not returned yet */
		bpf_map_update_elem(&early_exit, &tid, &now, BPF_ANY);
		bpf_map_delete_elem(&tid2pt, &tid);
		return 0;
	}
	k.pthread = *pt;
	bpf_map_delete_elem(&tid2pt, &tid);
	t = bpf_map_lookup_elem(&threads, &k);
	if (!t || t->tid != tid)
		return 0;	/* joined already (the joiner can wake before this tracepoint) */
	if (t->detached) {
		bpf_map_delete_elem(&threads, &k);
		return 0;
	}
	t->state = LT_THREAD_EXITED;
	t->exit_ns = now;
	return 0;
}
