/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one header shared by the BPF programs and user space.
 * Fixed-width fields only; padding is explicit and checked.
 */
#ifndef LEAKTRACE_H
#define LEAKTRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define LT_MAX_STACK_DEPTH	127	/* perf_event_max_stack default */
#define LT_INFLIGHT_DEPTH	4	/* nested tracked calls per thread (a power of 2) */
#define LT_INFLIGHT_MASK	(LT_INFLIGHT_DEPTH - 1)
#define LT_MAX_TARGETS		1024	/* tgids in the tgid filter map */

/*
 * Tracked functions. The uprobe's bpf_cookie carries one of these, so one
 * BPF program serves every address a function is probed at.
 */
enum lt_func {
	LT_FN_MALLOC = 1,
	LT_FN_CALLOC,
	LT_FN_REALLOC,
	LT_FN_REALLOCARRAY,
	LT_FN_POSIX_MEMALIGN,
	LT_FN_ALIGNED_ALLOC,	/* also memalign: (align, size) */
	LT_FN_VALLOC,
	LT_FN_PVALLOC,
	LT_FN_FREE,
	LT_FN_NEW,		/* operator new / new[] and variants: size in rdi */
	LT_FN_DELETE,		/* operator delete / delete[] and variants: ptr in rdi */
	LT_FN_START,		/* the executable's entry point: constructors of libraries are done */
	/* threads */
	LT_FN_PTHREAD_CREATE,
	LT_FN_PTHREAD_JOIN,	/* join, tryjoin_np, timedjoin_np, clockjoin_np: (pthread_t, ...) -> 0 */
	LT_FN_PTHREAD_DETACH,
	LT_FN_ATTR_INIT,
	LT_FN_ATTR_SETDETACHSTATE,
	LT_FN_ATTR_SETSTACKSIZE,
	/* timers */
	LT_FN_TIMERFD_CREATE,
	LT_FN_TIMER_CREATE,
	/* Go timers (entry only: never a uretprobe in Go code) */
	LT_FN_GO_START_TIMER,	/* time.startTimer(*runtimeTimer) <= 1.22: the timer in RAX */
	LT_FN_GO_NEW_TIMER,	/* runtime.newTimer(when, period, f, arg, c) >= 1.23: arg's data in RSI */
	LT_FN_GO_NEWPROC,	/* runtime.newproc(fn): the creator's stack (--go-ancestry) */
	LT_FN_GO_RUNQPUT,	/* runtime.runqput(pp, gp, next): the new g, in RBX */
	/* fds: the libc wrapper of each way to make an fd (its syscall's family, enum lt_fd_sys) */
	LT_FN_FD_OPEN,		/* open, open64, openat, openat64, creat, creat64 */
	LT_FN_FD_SOCKET,
	LT_FN_FD_SOCKETPAIR,
	LT_FN_FD_ACCEPT,	/* accept, accept4 */
	LT_FN_FD_PIPE,		/* pipe, pipe2 */
	LT_FN_FD_EVENTFD,
	LT_FN_FD_EPOLL,		/* epoll_create, epoll_create1 */
	LT_FN_FD_SIGNALFD,
	LT_FN_FD_INOTIFY,	/* inotify_init, inotify_init1 */
	LT_FN_FD_MEMFD,
	LT_FN_FD_DUP,		/* dup (dup2, dup3 and fcntl(F_DUPFD) are seen at their syscalls only) */
	/* mmap */
	LT_FN_MMAP,
	LT_FN__MAX,
};

/* Drop and anomaly counters, indexes into the `drops` array map. */
enum lt_drop {
	LT_DROP_ALLOCS_UNTRACKED = 0,	/* allocation map full */
	LT_DROP_STACK_COLLISIONS,	/* two stacks, one key: 0 with 64-bit frame hashes (kept for the JSON contract) */
	LT_DROP_STACK_ERRORS,		/* bpf_get_stack() failed, or the stacks map is full */
	LT_DROP_MISSED_RETURNS,		/* stale in-flight entry found */
	LT_DROP_INFLIGHT_FULL,		/* nesting deeper than LT_INFLIGHT_DEPTH */
	LT_DROP_SITES_FULL,		/* site totals map full */
	LT_DROP_RINGBUF_LOST,		/* ring buffer full */
	LT_DROP_UNMATCHED_RETURNS,	/* return with no in-flight entry */
	LT_DROP_THREADS_UNTRACKED,	/* thread map full */
	LT_DROP_TIMERS_UNTRACKED,	/* timer map full */
	LT_DROP_TIMER_MISMATCH,		/* /proc fdinfo disagrees with a tracked timerfd (user space) */
	LT_DROP_FDS_UNTRACKED,		/* fd map full, or a dup'ed file's fd list full */
	LT_DROP_FD_MISMATCH,		/* /proc/PID/fd disagrees with a tracked fd (user space) */
	LT_DROP_MMAPS_UNTRACKED,	/* mapping map full */
	LT_DROP_SAMPLER_SET_FULL,	/* --inject: sampled blocks the in-process set had no room for (user space) */
	LT_DROP__MAX,
};

/*
 * Site: where an allocation was made. Keyed by the stack AND the caller ip.
 * A stack is identified by a 64-bit hash of its frames (the key of the
 * `stacks` map), so two different stacks never share an entry the way
 * bpf_get_stackid()'s buckets do.
 */
struct lt_site_key {
	__u32 tgid;
	__s32 stack_err;	/* 0, or -errno: no stack (then stack == 0) */
	__u64 stack;		/* hash of the frames: key of `stacks` */
	__u64 caller;		/* return address at [rsp] at the outermost entry */
};
_Static_assert(sizeof(struct lt_site_key) == 24, "lt_site_key layout");

/*
 * Weights: with sampling (--sample R) a recorded block stands for
 * w_bytes = size / (1 - e^(-size/R)) bytes and w_count = w_bytes / size
 * blocks; exact mode records every block with w_bytes = size, w_count = 1.
 * Counts are fixed point, in units of 1/LT_W_ONE of a block.
 */
#define LT_W_SHIFT		16
#define LT_W_ONE		(1ULL << LT_W_SHIFT)
#define LT_SAMPLE_MAX		(1ULL << 30)	/* the largest --sample rate */

struct lt_site_val {
	__s64 bytes;		/* outstanding bytes (estimated: the sum of w_bytes) */
	__s64 allocs;		/* outstanding allocations, in units of 1/LT_W_ONE (the sum of w_count) */
	__u64 total_allocs;	/* blocks ever recorded at this site (sampled ones, when sampling) */
	__u64 first_ns;		/* bpf_ktime_get_ns() of the first allocation */
};
_Static_assert(sizeof(struct lt_site_val) == 32, "lt_site_val layout");

struct lt_alloc_key {
	__u32 tgid;
	__u32 pad;
	__u64 addr;
};
_Static_assert(sizeof(struct lt_alloc_key) == 16, "lt_alloc_key layout");

struct lt_alloc_val {
	__u64 size;		/* requested bytes */
	__u64 ts_ns;
	struct lt_site_key site;
	__u64 w_bytes;		/* what it added to its site's bytes (see LT_W_ONE) */
	__u64 w_count;		/* what it added to its site's allocs, in 1/LT_W_ONE */
};
_Static_assert(sizeof(struct lt_alloc_val) == 56, "lt_alloc_val layout");

/* One tracked call between its entry and its return. */
struct lt_inflight_ent {
	__u64 sp;		/* rsp at entry (points at the return address) */
	__u64 size;		/* requested bytes */
	__u64 arg;		/* realloc: old ptr; posix_memalign: memptr */
	__u64 caller;
	__u64 stack;
	__s32 stack_err;
	__u32 func;		/* enum lt_func */
	__u32 has_ret;		/* a return probe will pop this entry */
	__u32 pad;
};
_Static_assert(sizeof(struct lt_inflight_ent) == 56, "lt_inflight_ent layout");

struct lt_inflight {
	__u32 depth;
	__u32 pad;
	struct lt_inflight_ent ent[LT_INFLIGHT_DEPTH];
};
_Static_assert(sizeof(struct lt_inflight) == 8 + 56 * LT_INFLIGHT_DEPTH, "lt_inflight layout");

/* A thread made by a tracked pthread_create. */
enum lt_thread_state { LT_THREAD_LIVE = 1, LT_THREAD_EXITED = 2 };

struct lt_thread_key {
	__u32 tgid;
	__u32 pad;
	__u64 pthread;		/* pthread_t: unique among a process's live and unjoined threads */
};
_Static_assert(sizeof(struct lt_thread_key) == 16, "lt_thread_key layout");

struct lt_thread {
	struct lt_site_key site;
	__u64 start_routine;
	__u64 start_ns;
	__u64 exit_ns;
	__u64 stacksize;	/* from pthread_attr_setstacksize; 0: the default */
	__u32 tid;
	__u32 state;		/* enum lt_thread_state */
	__u32 detached;
	__u32 pad;
};
_Static_assert(sizeof(struct lt_thread) == 72, "lt_thread layout");

/* A pthread_create between its entry and its return. */
struct lt_tcreate {
	struct lt_site_key site;
	__u64 thread_ptr;	/* pthread_t *, written by pthread_create */
	__u64 start_routine;
	__u64 stacksize;
	__u64 ts;
	__u32 child_tid;	/* from sched_process_fork */
	__u32 detached;
};
_Static_assert(sizeof(struct lt_tcreate) == 64, "lt_tcreate layout");

struct lt_attr_key {
	__u32 tgid;
	__u32 pad;
	__u64 attr;
};

struct lt_attr_val {
	__u64 stacksize;
	__u32 detached;
	__u32 pad;
};

/* Timers: a timerfd (by fd) or a POSIX timer (by kernel timer id); Go's, read from its runtime. */
enum lt_timer_kind {
	LT_TIMER_FD = 1, LT_TIMER_POSIX = 2,
	LT_TIMER_GO_TIMER = 3, LT_TIMER_GO_TICKER = 4, LT_TIMER_GO_AFTERFUNC = 5,
};

/*
 * --go-ancestry: a goroutine's creation stacks, its own `go` statement's
 * first, then its creator's, and so on (bounded). Keyed by (tgid, g).
 */
#define LT_GO_ANC_DEPTH		4

struct lt_go_anc {
	__u32 n;		/* sites[0..n) */
	__u32 pad;
	struct lt_site_key sites[LT_GO_ANC_DEPTH];
};
_Static_assert(sizeof(struct lt_go_anc) == 8 + 24 * LT_GO_ANC_DEPTH, "lt_go_anc layout");

/* A newproc between its entry and the runqput of its new g, by tid. */
struct lt_go_newproc {
	__u64 creator;		/* the creating goroutine's g (R14 in ABIInternal code) */
	struct lt_site_key site;
};
_Static_assert(sizeof(struct lt_go_newproc) == 32, "lt_go_newproc layout");

/*
 * A record's creation site in a Go program with --go-ancestry: the site,
 * and the ancestry of the goroutine that made it (a key of go_anc_hashes;
 * 0: none known).
 */
struct lt_go_site {
	struct lt_site_key site;
	__u64 anc;
};
_Static_assert(sizeof(struct lt_go_site) == 32, "lt_go_site layout");

/* A Go timer's creation site, by (tgid, the timer's key: its address, or its arg from 1.23). */
struct lt_go_timer_key {
	__u32 tgid;
	__u32 pad;
	__u64 ptr;
};
_Static_assert(sizeof(struct lt_go_timer_key) == 16, "lt_go_timer_key layout");

/* How timerfd and fd closes are seen (rodata `release_hook`). */
enum lt_release_hook { LT_HOOK_TRACEPOINT = 0, LT_HOOK_KPROBE = 1, LT_HOOK_FENTRY = 2 };

struct lt_timer_key {
	__u32 tgid;
	__u32 kind;		/* enum lt_timer_kind */
	__u64 id;		/* fd, or kernel timer id */
};
_Static_assert(sizeof(struct lt_timer_key) == 16, "lt_timer_key layout");

struct lt_timer {
	struct lt_site_key site;
	__u64 created_ns;
	__u64 interval_ns;	/* 0: one-shot (or never armed) */
	__u64 value_ns;		/* first expiry as last armed */
	__u64 file;		/* struct file * of a timerfd (for the release hooks) */
	__u32 clock;
	__u32 flags;		/* timerfd_create flags */
	__u32 armed;
	__u32 cloexec;		/* closed by a successful exec */
};
_Static_assert(sizeof(struct lt_timer) == 72, "lt_timer layout");

/* A timerfd_create / timer_create between the wrapper's entry and the sys_exit. */
struct lt_tmcreate {
	struct lt_site_key site;
	__u64 idptr;		/* timer_create: kernel_timer_t * given to the syscall */
	__u32 kind;
	__u32 clock;
	__u32 flags;
	__u32 pad;
};
_Static_assert(sizeof(struct lt_tmcreate) == 48, "lt_tmcreate layout");

/*
 * File descriptors: every fd a traced process makes, by (tgid, fd). The
 * kind is what BPF knows at the creation; user space reads the exact kind
 * and the path or addresses from /proc at a report.
 */
enum lt_fd_kind {
	LT_FDK_UNKNOWN = 0,	/* a dup of an fd from before the attach: /proc tells */
	LT_FDK_FILE,
	LT_FDK_TCP,
	LT_FDK_UDP,
	LT_FDK_UNIX,
	LT_FDK_PIPE,
	LT_FDK_EVENTFD,
	LT_FDK_EPOLL,
	LT_FDK_OTHER,
	LT_FDK__MAX,
};

struct lt_fd_key {
	__u32 tgid;
	__s32 fd;
};
_Static_assert(sizeof(struct lt_fd_key) == 8, "lt_fd_key layout");

struct lt_fd {
	struct lt_site_key site;
	__u64 created_ns;
	__u64 file;		/* struct file * (the release hooks; 0 with the tracepoints) */
	__u64 files;		/* struct files_struct * of its table (the release hooks) */
	__u64 ino;		/* its inode: /proc/PID/fd/N must still lead to it */
	__u32 dev;		/* its superblock's s_dev (kernel encoding: major << 20 | minor) */
	__u16 kind;		/* enum lt_fd_kind */
	__u16 cloexec;		/* closed by a successful exec */
	__u64 anc;		/* --go-ancestry: the making goroutine's ancestry hash (0: none) */
};
_Static_assert(sizeof(struct lt_fd) == 72, "lt_fd layout");

/* Tracked fds of one struct file in one fd table (dup'ed fds share the file). */
#define LT_FD_DUPS	4

struct lt_ffile_key {
	__u64 files;		/* struct files_struct * (filp_close's owner id) */
	__u64 file;		/* struct file * */
};
_Static_assert(sizeof(struct lt_ffile_key) == 16, "lt_ffile_key layout");

struct lt_ffile {
	__u32 tgid;
	__s32 fd[LT_FD_DUPS];	/* -1: a free slot */
	__u32 pad;
};
_Static_assert(sizeof(struct lt_ffile) == 24, "lt_ffile layout");

/* A wrapper's call between its uprobe and its syscall's exit (also mmap's). */
struct lt_fdcreate {
	struct lt_site_key site;
	__u32 func;		/* enum lt_func: the syscall family it waits for */
	__u32 skip;		/* mmap: inside an allocator or pthread_create: not a site */
};
_Static_assert(sizeof(struct lt_fdcreate) == 32, "lt_fdcreate layout");

/*
 * Anonymous mappings (--mmap), by (tgid, start). BPF keeps exact munmap
 * and mremap matches up to date; user space lays the records over
 * /proc/PID/maps (the newest record owns an address), so a partial munmap
 * leaves the rest of a mapping at its site.
 */
struct lt_mmap_key {
	__u32 tgid;
	__u32 pad;
	__u64 start;
};
_Static_assert(sizeof(struct lt_mmap_key) == 16, "lt_mmap_key layout");

struct lt_mmap {
	struct lt_site_key site;	/* stack 0 and caller 0 with `skip`: not a site */
	__u64 len;		/* bytes, page-rounded */
	__u64 created_ns;
	__u32 skip;		/* made inside an allocator call or pthread_create: owns its addresses, shown nowhere */
	__u32 pad;
};
_Static_assert(sizeof(struct lt_mmap) == 48, "lt_mmap layout");

/*
 * DWARF unwinding (--stacks dwarf|auto). User space turns each module's
 * .eh_frame into rows sorted by pc; BPF walks the stack with them.
 */
#define LT_UW_MAPS		64	/* executable mappings per process (a power of 2) */
#define LT_UW_MAPS_BITS		6
#define LT_UW_PAGE_SHIFT	8	/* the page index: one entry per 256 bytes of text (a few rows each) */
#define LT_UW_ROW_SEARCH	9	/* binary-search steps within a page: up to 256 rows (one per byte) */
#define LT_UW_NO_MOD		0xffffffffu	/* a mapping without a table: frame pointers */
#define LT_STACK_COMPLETE	((__u64)-1)	/* last "frame" of a walk that reached the outermost frame */
#define LT_UW_SYS_ONLY		(1u << 31)	/* uw_tgid: the tables walk only the fd and mmap syscalls' stacks */

/* How a row finds the CFA (canonical frame address = rsp before the call). */
enum lt_uw_cfa {
	LT_UW_NONE = 0,		/* no CFI covers this pc: frame-pointer step */
	LT_UW_RSP,		/* CFA = rsp + cfa_off */
	LT_UW_RBP,		/* CFA = rbp + cfa_off */
	LT_UW_PLT,		/* .plt: CFA = rsp + cfa_off + ((pc & 15) >= rbp_off ? 8 : 0) */
	LT_UW_SIGNAL,		/* __restore_rt: registers in the ucontext at rsp */
	LT_UW_END,		/* return address undefined: the outermost frame */
	LT_UW_BAD,		/* a rule the unwinder cannot follow: the walk stops, truncated */
};

/* Where the caller's rbp is. */
enum lt_uw_rbp {
	LT_UW_RBP_SAME = 0,	/* unchanged */
	LT_UW_RBP_SAVED,	/* at CFA + rbp_off */
	LT_UW_RBP_LOST,		/* not recoverable */
};

struct lt_urow {
	__u32 pc;		/* vaddr - module vaddr_lo: the row holds from here to the next row */
	__s32 cfa_off;
	__s16 rbp_off;
	__u8 cfa;		/* enum lt_uw_cfa */
	__u8 rbp;		/* enum lt_uw_rbp */
};
_Static_assert(sizeof(struct lt_urow) == 12, "lt_urow layout");

/* One module's slice of the row and page arrays. */
struct lt_umod {
	__u64 vaddr_lo;		/* page-aligned ELF vaddr the rows and pages count from */
	__u32 row_start;	/* absolute index of its first row */
	__u32 nrows;
	__u32 page_start;	/* absolute index of its page 0; npages + 1 entries */
	__u32 npages;
};
_Static_assert(sizeof(struct lt_umod) == 24, "lt_umod layout");

/* One executable mapping of a process. */
struct lt_umap {
	__u64 start, end;	/* [start, end) */
	__u64 bias;		/* address - ELF vaddr */
	__u32 mod;		/* index into uw_mods, or LT_UW_NO_MOD */
	__u32 pad;
};
_Static_assert(sizeof(struct lt_umap) == 32, "lt_umap layout");

/* A process's executable mappings, sorted by start. */
struct lt_uproc {
	__u32 n;
	__u32 pad;
	struct lt_umap m[LT_UW_MAPS];
};

/* bpf_cookie layout: low 8 bits func, bit 8 "this is a return probe". */
#define LT_COOKIE_RET		(1u << 8)
#define LT_COOKIE_HAS_RET	(1u << 9)	/* the entry has a matching return probe */

#endif /* LEAKTRACE_H */
