// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * FD tracker: every file descriptor a traced process makes, by (tgid, fd),
 * at its creation site.
 *
 * Creation: the sys_exit tracepoint of each syscall that makes an fd gives
 * the fd (or the two of pipe/socketpair from the user's array). The stack
 * comes from a uprobe on the libc wrapper when one ran (the `fdcreate`
 * entry of the thread): a syscall-tracepoint stack walked with frame
 * pointers loses the wrapper's caller. Otherwise (raw syscalls, libc's
 * internal paths, --stacks dwarf) the tracepoint walks the stack itself
 * from the user registers the syscall saved (take_site_sys).
 *
 * Release: an fd ends when its slot in the fd table stops holding the
 * struct file it was made with. With fentry or kprobe on the per-fd close
 * of every path (filp_flush where the kernel has it: close(2) calls it
 * directly since 6.8ish, and filp_close calls it; else filp_close: close,
 * close_range, dup2/dup3 onto an fd, exec of a CLOEXEC fd), the fds of that
 * (table, file) whose slot changed are gone. Without those hooks, the
 * sys_exits of close and close_range and the exec tracepoint check the
 * slots of the fds they may have closed; dup2/dup3 onto a tracked fd
 * replaces its record. The process's exit is left to user space (its
 * sites stay as they were while it lived). Timerfds are the timer
 * tracker's: timerfd_create is not hooked here.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "leaktrace.h"
#include "common.bpf.h"
#include "timers.bpf.h"

#define PF_EXITING		0x00000004
#define F_DUPFD			0
#define F_DUPFD_CLOEXEC		1030

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lt_fd_key);
	__type(value, struct lt_fd);
	__uint(max_entries, 1 << 18);
} fds SEC(".maps");

/* (fd table, struct file) -> its tracked fds: the release hooks' index */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lt_ffile_key);
	__type(value, struct lt_ffile);
	__uint(max_entries, 1 << 18);
} ffiles SEC(".maps");

/* tid -> a wrapper's call whose syscall has not returned yet */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, struct lt_fdcreate);
	__uint(max_entries, 8192);
} fdcreate SEC(".maps");

/* The user registers the current syscall saved (its arguments: di, si, dx, r10, r8, r9). */
static __always_inline struct pt_regs *user_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/* ---- records ---- */

/* Take FD out of the (table, file) index of record R. */
static __always_inline void unindex(const struct lt_fd *r, int fd)
{
	struct lt_ffile_key fk = { .files = r->files, .file = r->file };
	struct lt_ffile *ff;
	bool empty = true;

	if (!r->files)
		return;
	ff = bpf_map_lookup_elem(&ffiles, &fk);
	if (!ff)
		return;
	for (int i = 0; i < LT_FD_DUPS; i++) {
		if (ff->fd[i] == fd)
			ff->fd[i] = -1;
		empty &= ff->fd[i] < 0;
	}
	if (empty)
		bpf_map_delete_elem(&ffiles, &fk);
}

static __always_inline void forget_fd(struct lt_fd_key *k)
{
	struct lt_fd *r = bpf_map_lookup_elem(&fds, k);

	if (!r)
		return;
	unindex(r, k->fd);
	bpf_map_delete_elem(&fds, k);
}

/* Add FD to the (table, file) index. */
static __always_inline void index_fd(__u32 tgid, __u64 files, __u64 file, int fd)
{
	struct lt_ffile_key fk = { .files = files, .file = file };
	struct lt_ffile *ff = bpf_map_lookup_elem(&ffiles, &fk);
	struct lt_ffile init = { .tgid = tgid, .fd = { fd, -1, -1, -1 } };

	if (!ff) {
		if (bpf_map_update_elem(&ffiles, &fk, &init, BPF_NOEXIST) == 0)
			return;
		ff = bpf_map_lookup_elem(&ffiles, &fk);
		if (!ff) {
			drop(LT_DROP_FDS_UNTRACKED);
			return;
		}
	}
	for (int i = 0; i < LT_FD_DUPS; i++)
		if (ff->fd[i] == fd)
			return;
	for (int i = 0; i < LT_FD_DUPS; i++) {
		if (ff->fd[i] < 0) {
			ff->fd[i] = fd;
			return;
		}
	}
	/* more dups of one file than the index holds: its close is left to the /proc check */
	drop(LT_DROP_FDS_UNTRACKED);
}

/* Record FD, made now at site SK. KIND: what the syscall says (0: /proc will tell). */
static __always_inline void add_fd(__u32 tgid, int fd, const struct lt_site_key *sk, __u16 kind)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct files_struct *files = BPF_CORE_READ(task, files);
	struct fdtable *fdt = BPF_CORE_READ(files, fdt);
	struct lt_fd_key k = { .tgid = tgid, .fd = fd };
	struct lt_fd r = {};
	struct file *f;

	if (fd < 0)
		return;
	/* an fd number made again: the old record's end was not seen (a close the hooks missed) */
	forget_fd(&k);
	f = (struct file *)slot_file(fdt, fd);
	r.site = *sk;
	r.created_ns = bpf_ktime_get_ns();
	r.file = (__u64)f;
	r.kind = kind;
	r.anc = go_anc_of(tgid);	/* a Go program's socket: the goroutine's ancestry follows its stack */
	if (f) {
		r.ino = BPF_CORE_READ(f, f_inode, i_ino);
		r.dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	}
	if (release_hook != LT_HOOK_TRACEPOINT && f)
		r.files = (__u64)files;
	if (bpf_map_update_elem(&fds, &k, &r, BPF_ANY)) {
		drop(LT_DROP_FDS_UNTRACKED);
		return;
	}
	if (r.files)
		index_fd(tgid, r.files, r.file, fd);
}

/*
 * The site of what the current syscall of family FUNC (enum lt_func)
 * made: the wrapper's, when its uprobe ran for this call; else walked
 * here. Consumes the wrapper's entry either way.
 */
static __always_inline void made_site(void *ctx, __u32 func, __u32 tgid, struct lt_site_key *sk)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct lt_fdcreate *c = bpf_map_lookup_elem(&fdcreate, &tid);

	if (c && c->func == func) {
		*sk = c->site;
		bpf_map_delete_elem(&fdcreate, &tid);
		return;
	}
	if (c)	/* a wrapper whose syscall never came (failed early): not this one's */
		bpf_map_delete_elem(&fdcreate, &tid);
	take_site_sys(ctx, tgid, sk);
}

/* A wrapper that failed: forget its entry. */
static __always_inline void made_nothing(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&fdcreate, &tid);
}

/*
 * What a syscall of family FUNC made: the fd in RET, or with ARR (pipe,
 * pipe2, socketpair) the two in the user's int[2] there.
 */
static __always_inline void fd_exit(void *ctx, long ret, __u32 func, __u16 kind, __u64 arr)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct lt_site_key sk;
	int fd[2] = { (int)ret, -1 };

	if (!tgid_traced(tgid))
		return;
	if (ret < 0 || (arr && bpf_probe_read_user(fd, sizeof(fd), (void *)arr))) {
		made_nothing();
		return;
	}
	made_site(ctx, func, tgid, &sk);
	add_fd(tgid, fd[0], &sk, kind);
	if (arr)
		add_fd(tgid, fd[1], &sk, kind);
}

/* ---- the wrappers' uprobes: the creation stack ---- */

SEC("uprobe")
int BPF_KPROBE(lt_fd_entry)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, tgid = id >> 32;
	struct lt_fdcreate c = {};

	if (!tgid_wanted(tgid))
		return 0;
	c.func = bpf_get_attach_cookie(ctx) & 0xff;
	take_site(ctx, tgid, &c.site);
	bpf_map_update_elem(&fdcreate, &tid, &c, BPF_ANY);
	return 0;
}

/* ---- release without the hooks: check the slots a syscall may have emptied ---- */

/* Forget K's record if its slot in FDT no longer holds its file. */
static __always_inline void check_slot(struct fdtable *fdt, struct lt_fd_key *k)
{
	struct lt_fd *r = bpf_map_lookup_elem(&fds, k);

	if (r && slot_file(fdt, k->fd) != r->file)
		forget_fd(k);
}

struct slots_ctx {
	struct fdtable *fdt;
	__u32 tgid;
	__s32 first, last;	/* fds in [first, last] */
};

static long slots_cb(struct bpf_map *map, struct lt_fd_key *k, struct lt_fd *r, struct slots_ctx *sc)
{
	struct lt_fd_key key = *k;

	if (k->tgid != sc->tgid || k->fd < sc->first || k->fd > sc->last)
		return 0;
	if (slot_file(sc->fdt, k->fd) != r->file) {
		unindex(r, k->fd);
		bpf_map_delete_elem(map, &key);
	}
	return 0;
}

/* close(fd): forget its record if its slot no longer holds its file. */
static __always_inline void closed_one(__u32 tgid, int fd)
{
	struct lt_fd_key k = { .tgid = tgid, .fd = fd };

	check_slot(cur_fdt(), &k);
}

/* close_range(first, last, flags): CLOSE_RANGE_CLOEXEC closes nothing, and the slots say so. */
static __always_inline void closed_range(__u32 tgid, unsigned int first, unsigned int last)
{
	struct slots_ctx sc = { .tgid = tgid, .fdt = cur_fdt() };

	sc.first = first > 0x7fffffff ? 0x7fffffff : first;
	sc.last = last > 0x7fffffff ? 0x7fffffff : last;
	bpf_for_each_map_elem(&fds, slots_cb, &sc, 0);
}

/*
 * ---- every syscall's exit: what makes an fd, and (without the hooks) close ----
 *
 * raw_syscalls:sys_exit (tp_btf), told apart by number (x86_64,
 * asm/unistd_64.h). One link, where 33 per-syscall tracepoints would each
 * cost a grace period to detach, one after another under the kernel's
 * event_mutex (60 ms each here: 2 s at every exit), and build a perf
 * record at each fd syscall. Every syscall of every process runs it (as
 * security agents' raw_syscalls probes do): most leave at the switch,
 * before any map lookup, for about 100 ns on this VM (README,
 * "Performance").
 */

SEC("tp_btf/sys_exit")
int BPF_PROG(lt_fd_sys_exit, struct pt_regs *sregs, long ret)
{
	struct pt_regs *regs;
	__u32 func = LT_FN__MAX;	/* no wrapper is probed for it */
	__u16 kind = LT_FDK_UNKNOWN;
	__u64 arr = 0, tgid;
	long cmd;

	if (timer_sys_shared)
		timer_sys_exit(sregs->orig_ax, sregs, ret);
	switch (sregs->orig_ax) {
	case NR_close:
		/* Linux frees the fd even when close() reports EINTR: the slot tells */
		tgid = bpf_get_current_pid_tgid() >> 32;
		if (release_hook == LT_HOOK_TRACEPOINT && tgid_traced(tgid))
			closed_one(tgid, (int)sregs->di);
		return 0;
	case NR_close_range:
		tgid = bpf_get_current_pid_tgid() >> 32;
		if (release_hook == LT_HOOK_TRACEPOINT && ret == 0 && tgid_traced(tgid))
			closed_range(tgid, sregs->di, sregs->si);
		return 0;
	case NR_open:
	case NR_openat:
	case NR_openat2:
	case NR_creat:
	case NR_open_by_handle_at:
		func = LT_FN_FD_OPEN;
		kind = LT_FDK_FILE;
		break;
	case NR_socket:
		func = LT_FN_FD_SOCKET;
		break;
	case NR_accept:
	case NR_accept4:
		func = LT_FN_FD_ACCEPT;
		break;
	case NR_eventfd:
	case NR_eventfd2:
		func = LT_FN_FD_EVENTFD;
		kind = LT_FDK_EVENTFD;
		break;
	case NR_epoll_create:
	case NR_epoll_create1:
		func = LT_FN_FD_EPOLL;
		kind = LT_FDK_EPOLL;
		break;
	case NR_signalfd:
	case NR_signalfd4:
		func = LT_FN_FD_SIGNALFD;
		kind = LT_FDK_OTHER;
		break;
	case NR_inotify_init:
	case NR_inotify_init1:
		func = LT_FN_FD_INOTIFY;
		kind = LT_FDK_OTHER;
		break;
	case NR_memfd_create:
		func = LT_FN_FD_MEMFD;
		kind = LT_FDK_FILE;
		break;
	case NR_dup:
		func = LT_FN_FD_DUP;
		break;
	case NR_fcntl:
		/* fcntl(fd, F_DUPFD or F_DUPFD_CLOEXEC, min): the other commands make nothing */
		regs = user_regs();
		cmd = BPF_CORE_READ(regs, si);
		if (cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC)
			return 0;
		break;
	case NR_pipe:
	case NR_pipe2:
		/* the user's int[2]: pipe(fds), pipe2(fds, flags) */
		func = LT_FN_FD_PIPE;
		kind = LT_FDK_PIPE;
		arr = BPF_CORE_READ(user_regs(), di);
		break;
	case NR_socketpair:
		/* socketpair(domain, type, protocol, int sv[2]): the fourth argument is in r10 */
		func = LT_FN_FD_SOCKETPAIR;
		arr = BPF_CORE_READ(user_regs(), r10);
		break;
	case NR_pidfd_open:
	case NR_userfaultfd:
	case NR_fanotify_init:
	case NR_perf_event_open:
	case NR_io_uring_setup:
	case NR_memfd_secret:
		kind = LT_FDK_OTHER;
		break;
	case NR_dup2:
	case NR_dup3:
	case NR_pidfd_getfd:
		break;
	default:
		return 0;
	}
	fd_exit(ctx, ret, func, kind, arr);
	return 0;
}

/* A successful exec closed the CLOEXEC fds (before this tracepoint). */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(lt_fd_exec, struct task_struct *p)
{
	struct slots_ctx sc = { .tgid = p->tgid, .first = 0, .last = 0x7fffffff };

	if (release_hook != LT_HOOK_TRACEPOINT || !tgid_traced(sc.tgid))
		return 0;
	sc.fdt = cur_fdt();
	bpf_for_each_map_elem(&fds, slots_cb, &sc, 0);
	return 0;
}

/* ---- release with the hooks: the per-fd close of every path, by (table, file) ---- */

static __always_inline void file_closed(struct file *file, void *owner)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct lt_ffile_key fk = { .files = (__u64)owner, .file = (__u64)file };
	struct files_struct *files = owner;
	struct fdtable *fdt;
	struct lt_ffile *ff;
	bool empty = true;

	/* the process's exit: user space keeps its sites as they were while it lived */
	if (task->flags & PF_EXITING)
		return;
	ff = bpf_map_lookup_elem(&ffiles, &fk);
	if (!ff)
		return;
	fdt = BPF_CORE_READ(files, fdt);
	for (int i = 0; i < LT_FD_DUPS; i++) {
		struct lt_fd_key k = { .tgid = ff->tgid, .fd = ff->fd[i] };
		struct lt_fd *r;

		if (k.fd < 0)
			continue;
		/* the closed fd's slot was emptied (or refilled by dup2) before this call */
		if (slot_file(fdt, k.fd) == (__u64)file) {
			empty = false;
			continue;
		}
		r = bpf_map_lookup_elem(&fds, &k);
		if (r && r->file == (__u64)file)
			bpf_map_delete_elem(&fds, &k);
		ff->fd[i] = -1;
	}
	if (empty)
		bpf_map_delete_elem(&ffiles, &fk);
}

SEC("fentry/filp_close")
int BPF_PROG(lt_fd_close_fentry, struct file *file, void *owner)
{
	file_closed(file, owner);
	return 0;
}

SEC("fentry/filp_flush")
int BPF_PROG(lt_fd_flush_fentry, struct file *file, void *owner)
{
	file_closed(file, owner);
	return 0;
}

SEC("kprobe/filp_close")
int BPF_KPROBE(lt_fd_close_kprobe, struct file *file, void *owner)
{
	file_closed(file, owner);
	return 0;
}

SEC("kprobe/filp_flush")
int BPF_KPROBE(lt_fd_flush_kprobe, struct file *file, void *owner)
{
	file_closed(file, owner);
	return 0;
}
