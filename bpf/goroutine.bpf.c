// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The goroutine tracker's BPF part: --go-ancestry only (the goroutines
 * themselves are read from the Go runtime's memory by user space).
 *
 * A goroutine records only the one PC of its `go` statement (gopc); the
 * stack that led there is lost (golang/go#16894). At the entry of
 * runtime.newproc the stack is still the creator's: take it, with the
 * creator's g (R14 in ABIInternal code). newproc then runs, on the system
 * stack of the same thread, newproc1 and runqput(pp, newg, next): at
 * runqput's entry the new g is in RBX, and the pending newproc of this
 * thread binds the stack to it, followed by the creator's own ancestry,
 * to LT_GO_ANC_DEPTH levels. Entry probes only: a uretprobe in Go code
 * would corrupt the goroutine stacks the runtime moves.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "leaktrace.h"
#include "common.bpf.h"

/* tid -> a newproc waiting for its runqput */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, struct lt_go_newproc);
	__uint(max_entries, 4096);
} go_newproc SEC(".maps");

/* A new g, and the ancestry that comes with it: built off the program stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lt_go_anc);
	__uint(max_entries, 1);
} go_anc_scratch SEC(".maps");

static __always_inline int on_newproc(struct pt_regs *ctx, __u32 tid, __u32 tgid)
{
	struct lt_go_newproc np = { .creator = ctx->r14 };

	take_site(ctx, tgid, &np.site);
	bpf_map_update_elem(&go_newproc, &tid, &np, BPF_ANY);
	return 0;
}

static __always_inline int on_runqput(struct pt_regs *ctx, __u32 tid, __u32 tgid)
{
	struct lt_go_newproc *np = bpf_map_lookup_elem(&go_newproc, &tid);
	struct lt_go_timer_key k = { .tgid = tgid }, ck = { .tgid = tgid };
	struct lt_go_anc *a, *parent;
	__u32 zero = 0;

	if (!np)
		return 0;	/* a runqput of another kind: a goroutine made ready */
	a = bpf_map_lookup_elem(&go_anc_scratch, &zero);
	if (!a) {
		bpf_map_delete_elem(&go_newproc, &tid);
		return 0;
	}
	k.ptr = ctx->bx;
	ck.ptr = np->creator;
	a->n = 1;
	a->sites[0] = np->site;
	parent = bpf_map_lookup_elem(&go_anc, &ck);
	if (parent) {
		for (int i = 0; i < LT_GO_ANC_DEPTH - 1; i++) {
			if (i >= parent->n)
				break;
			a->sites[i + 1] = parent->sites[i];
			a->n = i + 2;
		}
	}
	if (bpf_map_update_elem(&go_anc, &k, a, BPF_ANY))
		drop(LT_DROP_THREADS_UNTRACKED);
	bpf_map_delete_elem(&go_newproc, &tid);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(lt_go_sched)
{
	__u32 func = bpf_get_attach_cookie(ctx) & 0xff;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, tgid = id >> 32;

	if (!tgid_wanted(tgid))
		return 0;
	if (func == LT_FN_GO_NEWPROC)
		return on_newproc(ctx, tid, tgid);
	return on_runqput(ctx, tid, tgid);
}
