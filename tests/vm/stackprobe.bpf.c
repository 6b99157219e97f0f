// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * stackprobe: what the kernel's user stack holds at a uprobe at a function
 * entry, next to the return address at [rsp]. Diagnostic for tests/vm: does
 * this kernel put the immediate caller into the stack (6.11+ does it for
 * functions that start with push %rbp) or not? And with a return probe
 * pending (stackret), does the [uprobes] trampoline show in later stacks?
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define SP_DEPTH 8

struct hit {
	__u64 ip;		/* the probed address */
	__u64 ret;		/* [rsp]: the return address */
	__s64 n;		/* bpf_get_stack() result (bytes, or -errno) */
	__u64 ips[SP_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct hit);
	__uint(max_entries, 16);
} hits SEC(".maps");

SEC("uprobe")
int BPF_KPROBE(stackprobe)
{
	__u32 k = (__u32)bpf_get_attach_cookie(ctx);
	struct hit *h = bpf_map_lookup_elem(&hits, &k);

	if (!h || h->ip)	/* the first hit only */
		return 0;
	h->n = bpf_get_stack(ctx, h->ips, sizeof(h->ips), BPF_F_USER_STACK);
	bpf_probe_read_user(&h->ret, sizeof(h->ret), (void *)PT_REGS_SP(ctx));
	h->ip = PT_REGS_IP(ctx);
	return 0;
}

/* Only there to be pending: its trampoline replaces the return address. */
SEC("uretprobe")
int BPF_KRETPROBE(stackret)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
