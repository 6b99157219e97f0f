/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --inject: the in-process sampler put into a running process (README,
 * "--inject"). The jobs, one file each:
 *   inject_detour.c  which bytes a detour displaces, and their relocation
 *                    into a trampoline (capstone; pure code)
 *   inject_ptrace.c  stopping every thread, remote system calls, /proc/PID/mem
 *   inject_map.c     the sampler file, and its mapping in the target
 *   inject.c         the held state: inject, heartbeat, undo with a byte check
 */
#ifndef LT_INJECT_H
#define LT_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

/* ---- detours (inject_detour.c) ---- */

#define DETOUR_PATCH 5		/* jmp rel32 */
#define DETOUR_MAX_DISPLACED 32

struct detour {
	uint64_t entry;		/* the function's entry */
	uint64_t patch;		/* where the jmp goes (after an endbr64) */
	int ndisp;		/* bytes of whole instructions displaced (>= DETOUR_PATCH) */
	uint8_t orig[DETOUR_MAX_DISPLACED];	/* the original bytes at patch */
	uint8_t tramp[64];	/* the relocated instructions, then a jump back */
	int ntramp;
};

/*
 * Plan a detour of the function at ENTRY whose first LEN bytes are CODE
 * (the whole function when its size is known), with its trampoline at
 * TRAMP. 0, or -EINVAL with the reason in WHY: an entry that is not
 * pristine (int3, jmp), an instruction that cannot be moved (ret, an
 * indirect jump, loop/jrcxz/xbegin), a branch of the function into the
 * bytes to displace, or a RIP-relative operand out of reach.
 */
int detour__plan(const uint8_t *code, size_t len, uint64_t entry, uint64_t tramp, struct detour *d,
		 char *why, size_t wlen);
/* The jmp rel32 from D's patch to STUB (DETOUR_PATCH bytes). -ERANGE: out of reach. */
int detour__jump(const struct detour *d, uint64_t stub, uint8_t out[DETOUR_PATCH]);

/* ---- a stopped process (inject_ptrace.c) ---- */

struct inj_thread {
	int tid;
	int sig;		/* a signal that came instead of the stop: handed back at resume */
	bool held;		/* stopped by the caller (-c): not seized, not detached here */
	bool ours;		/* traced by leaktrace already (-c's command): interrupted, then continued */
	struct user_regs_struct regs;
};

struct inj_proc {
	int pid;
	int mem;		/* /proc/PID/mem, O_RDWR */
	struct inj_thread *th;
	int n, cap;
	uint64_t syscall_insn;	/* a `syscall` (0f 05) in the target's text */
};

/* Open PID's memory. 0 or -errno (WHY: a sentence). */
int inj__open(struct inj_proc *p, int pid, char *why, size_t wlen);
/*
 * Stop every thread (PTRACE_SEIZE + PTRACE_INTERRUPT, until no new thread
 * appears); HELD_TID (or 0) is a thread already stopped by the caller. 0
 * or -errno with WHY (ptrace forbidden: ptrace_scope, seccomp, an LSM).
 */
int inj__stop(struct inj_proc *p, int held_tid, char *why, size_t wlen);
/* Let every thread go on, each with the signal it had. */
void inj__resume(struct inj_proc *p);
void inj__close(struct inj_proc *p);
int inj__read(struct inj_proc *p, uint64_t addr, void *buf, size_t len);
int inj__write(struct inj_proc *p, uint64_t addr, const void *buf, size_t len);
/* A system call run by the stopped thread 0, its registers restored. The result (or -errno). */
long inj__syscall(struct inj_proc *p, long nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
		  uint64_t a5, uint64_t a6);
/* Is any thread's pc in [lo, hi)? */
bool inj__pc_in(const struct inj_proc *p, uint64_t lo, uint64_t hi);

/* ---- the sampler file and its mapping (inject_map.c) ---- */

/* Write the sampler file under /run/leaktrace/ once (root-owned, renamed into place). 0 or -errno. */
int inj__blob_file(char *path, size_t len);
/*
 * Map the sampler at a free gap within rel32 reach of [LO, HI) (every
 * hooked library), or find it mapped already (an earlier inject; its
 * tables are cleared). *BASE gets its address. The process is stopped.
 * 0 or -errno with WHY.
 */
int inj__map(struct inj_proc *p, const char *path, uint64_t lo, uint64_t hi, uint64_t *base,
	     bool *reused, char *why, size_t wlen);

/* ---- the held state (inject.c) ---- */

struct inject;

struct inject_fn {
	const char *sym;
	uint64_t entry;		/* runtime address */
	const uint8_t *code;	/* the function's bytes from its file */
	size_t len;
	uint32_t kind;		/* enum lt_smp_kind */
	uint64_t lib_lo, lib_hi;	/* the library's mapped range */
	bool injected;		/* out: detoured (else: use a uprobe) */
	char why[160];		/* out: why not */
};

struct inject_opts {
	uint64_t rate;
	uint64_t seed;
	int held_tid;		/* -c: the stopped command */
};

/*
 * Put the sampler into PID and detour the functions FN (each gets
 * injected, or why). NULL + errno with one line printed when nothing
 * could be done.
 */
struct inject *inject__start(int pid, struct inject_fn *fn, int nfn, const struct inject_opts *o);
const char *inject__path(const struct inject *in);
int inject__pid(const struct inject *in);
/* The sampler's counters (sampled, set_full, threads_full); false when the target is gone. */
bool inject__counters(struct inject *in, uint64_t *sampled, uint64_t *set_full, uint64_t *threads_full);
/*
 * Undo: the original bytes back, checked byte for byte. Returns 0, or
 * -errno with one line printed. The sampler stays mapped, inert.
 */
int inject__undo(struct inject *in);
void inject__free(struct inject *in);	/* undoes first when still in */

#endif /* LT_INJECT_H */
