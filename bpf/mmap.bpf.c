// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mmap tracker (--mmap): anonymous mappings a traced program makes, by
 * (tgid, start), at their creation site.
 *
 * The stack comes from a uprobe on libc's mmap (probed at its first jne,
 * emulated) or, without one, from the user registers at the sys_exit. A
 * mapping made inside a tracked allocator call (the memory tracker's
 * in-flight map: glibc's arenas and large blocks, jemalloc's chunks) or
 * inside pthread_create (the thread's stack: the thread tracker's) is
 * recorded as `skip`: it owns its addresses but is no site.
 *
 * BPF keeps only what is O(1): a munmap or mremap that starts at a
 * record's start shrinks, moves or deletes it. Everything else (a munmap
 * in the middle, or one spanning several mappings) is left to user space,
 * which lays the records over /proc/PID/maps: the newest record owns an
 * address, and only what is still mapped counts (src/track_mmap.c). A
 * record changed here is one that existed before the syscall began, so a
 * mapping another thread made in the freed range meanwhile is not taken
 * for it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "leaktrace.h"
#include "common.bpf.h"

#define MAP_ANONYMOUS		0x20
#define MREMAP_DONTUNMAP	4
#define PAGE_MASK_LT		4095ULL

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lt_mmap_key);
	__type(value, struct lt_mmap);
	__uint(max_entries, 1 << 18);
} mmaps SEC(".maps");

/* tid -> libc's mmap called, its syscall not returned yet */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, struct lt_fdcreate);
	__uint(max_entries, 8192);
} mmcreate SEC(".maps");

/* tid -> when its munmap or mremap began */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 8192);
} mmenter SEC(".maps");

static __always_inline __u64 page_up(__u64 len)
{
	return (len + PAGE_MASK_LT) & ~PAGE_MASK_LT;
}

/* Is this thread inside a tracked allocator call or a pthread_create? */
static __always_inline bool inside_tracked_call(__u32 tid)
{
	struct lt_inflight *inf = bpf_map_lookup_elem(&inflight, &tid);

	return (inf && inf->depth > 0) || bpf_map_lookup_elem(&tcreate, &tid);
}

/* libc's mmap(addr, len, prot, flags, fd, off): the creation site of an anonymous mapping. */
SEC("uprobe")
int BPF_KPROBE(lt_mmap_entry)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, tgid = id >> 32;
	struct lt_fdcreate c = { .func = LT_FN_MMAP };

	if (!tgid_wanted(tgid) || !(PT_REGS_PARM4(ctx) & MAP_ANONYMOUS))
		return 0;
	c.skip = inside_tracked_call(tid);
	if (!c.skip)
		take_site(ctx, tgid, &c.site);
	bpf_map_update_elem(&mmcreate, &tid, &c, BPF_ANY);
	return 0;
}

static __always_inline bool is_addr(long ret)
{
	return (unsigned long)ret < (unsigned long)-4095L;
}

/* Put record R at START with LEN bytes. */
static __always_inline void put(__u32 tgid, __u64 start, __u64 len, const struct lt_mmap *r)
{
	struct lt_mmap_key k = { .tgid = tgid, .start = start };
	struct lt_mmap v = *r;

	v.len = len;
	if (bpf_map_update_elem(&mmaps, &k, &v, BPF_ANY))
		drop(LT_DROP_MMAPS_UNTRACKED);
}

SEC("tracepoint/syscalls/sys_exit_mmap")
int lt_mmap_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, tgid = id >> 32;
	struct pt_regs *regs;
	struct lt_fdcreate *c;
	struct lt_mmap_key k = { .tgid = tgid };
	struct lt_mmap r = {}, *old;
	__u64 flags;

	if (!tgid_traced(tgid))
		return 0;
	c = bpf_map_lookup_elem(&mmcreate, &tid);
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	flags = BPF_CORE_READ(regs, r10);	/* the syscall's fourth argument */
	if (!is_addr(ctx->ret) || !(flags & MAP_ANONYMOUS))
		goto out;
	k.start = ctx->ret;
	r.len = page_up(BPF_CORE_READ(regs, si));
	r.created_ns = bpf_ktime_get_ns();
	if (c) {
		r.skip = c->skip;
		r.site = c->site;
	} else {
		r.skip = inside_tracked_call(tid);
		if (!r.skip)
			take_site_sys(ctx, tgid, &r.site);
	}
	/* MAP_FIXED over the start of a recorded mapping: what is left of it stays its own */
	old = bpf_map_lookup_elem(&mmaps, &k);
	if (old && old->len > r.len)
		put(tgid, k.start + r.len, old->len - r.len, old);
	put(tgid, k.start, r.len, &r);
out:
	if (c)
		bpf_map_delete_elem(&mmcreate, &tid);
	return 0;
}

static __always_inline void entered(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	__u64 now = bpf_ktime_get_ns();

	if (tgid_traced(id >> 32))
		bpf_map_update_elem(&mmenter, &tid, &now, BPF_ANY);
}

/* When the current thread's munmap or mremap began (0: not traced); forgets it. */
static __always_inline __u64 entered_at(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *t = bpf_map_lookup_elem(&mmenter, &tid), ns;

	if (!t)
		return 0;
	ns = *t;
	bpf_map_delete_elem(&mmenter, &tid);
	return ns;
}

SEC("tracepoint/syscalls/sys_enter_munmap")
int lt_munmap_enter(struct trace_event_raw_sys_enter *ctx)
{
	entered();
	return 0;
}

/* munmap(addr, len) from a record's start: the record loses that much (or goes). */
SEC("tracepoint/syscalls/sys_exit_munmap")
int lt_munmap_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 since = entered_at();
	struct pt_regs *regs;
	struct lt_mmap_key k = { .tgid = bpf_get_current_pid_tgid() >> 32 };
	struct lt_mmap *r, copy;
	__u64 len;

	if (!since || ctx->ret != 0)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	k.start = BPF_CORE_READ(regs, di);
	len = page_up(BPF_CORE_READ(regs, si));
	r = bpf_map_lookup_elem(&mmaps, &k);
	if (!r || r->created_ns > since)
		return 0;
	copy = *r;
	bpf_map_delete_elem(&mmaps, &k);
	if (len < copy.len)
		put(k.tgid, k.start + len, copy.len - len, &copy);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mremap")
int lt_mremap_enter(struct trace_event_raw_sys_enter *ctx)
{
	entered();
	return 0;
}

/*
 * mremap(old, oldlen, newlen, flags, new) of a record's start: the record
 * follows (in place, or to the new address with what is left behind kept
 * at its old place). A part from the middle of a mapping is not followed.
 */
SEC("tracepoint/syscalls/sys_exit_mremap")
int lt_mremap_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 since = entered_at();
	struct pt_regs *regs;
	struct lt_mmap_key k = { .tgid = bpf_get_current_pid_tgid() >> 32 };
	struct lt_mmap *r, copy;
	__u64 oldlen, newlen, flags;

	if (!since || !is_addr(ctx->ret))
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	k.start = BPF_CORE_READ(regs, di);
	oldlen = page_up(BPF_CORE_READ(regs, si));
	newlen = page_up(BPF_CORE_READ(regs, dx));
	flags = BPF_CORE_READ(regs, r10);
	r = bpf_map_lookup_elem(&mmaps, &k);
	if (!r || r->created_ns > since)
		return 0;
	copy = *r;
	if ((__u64)ctx->ret == k.start) {
		/* in place: the whole mapping grew or shrank (a prefix: /proc settles the rest) */
		if (oldlen >= copy.len || newlen > copy.len)
			r->len = newlen;
		return 0;
	}
	if (!(flags & MREMAP_DONTUNMAP) && oldlen) {
		bpf_map_delete_elem(&mmaps, &k);
		if (oldlen < copy.len)
			put(k.tgid, k.start + oldlen, copy.len - oldlen, &copy);
	}
	put(k.tgid, (__u64)ctx->ret, newlen, &copy);
	return 0;
}
