// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Owner of the maps and settings every tracker shares (bpf/maps.bpf.h and
 * bpf/unwind.bpf.h declare them; this file defines them), and the
 * programs that serve every tracker: a process's exec and, with --follow,
 * its forks.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "leaktrace.h"
#define LT_COMMON_OWNER
#include "common.bpf.h"
#include "timers.bpf.h"

/* An exec: user space drops the old image's records of every tracker (see `execs`). */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(lt_proc_exec, struct task_struct *p)
{
	__u32 tgid = p->tgid;
	__u64 now = bpf_ktime_get_ns();

	bpf_map_update_elem(&execs, &tgid, &now, BPF_ANY);
	/* Its mappings are gone: frame pointers until user space loads the new ones. */
	bpf_map_delete_elem(&uw_tgid, &tgid);
	return 0;
}

/*
 * --follow: a traced process's fork is traced too, from its first
 * instruction (fires in the parent, before the child runs). Records the
 * child inherited stay the parent's: they are keyed by the parent's tgid.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(lt_follow_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	__u32 *slot;
	__u8 one = 1;

	if (ctgid == ptgid || !bpf_map_lookup_elem(&targets, &ptgid))
		return 0;
	bpf_map_update_elem(&targets, &ctgid, &one, BPF_ANY);
	/* The child maps what the parent maps: it unwinds with the parent's table. */
	slot = bpf_map_lookup_elem(&uw_tgid, &ptgid);
	if (slot)
		bpf_map_update_elem(&uw_tgid, &ctgid, slot, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
