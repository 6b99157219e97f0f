/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A live Go process's runtime state, read from outside: goroutines (with
 * their blocked stacks) and the timers of the per-P heaps (the heap
 * profile and memstats: goheap.h). No ptrace stop, no endpoint in it; the
 * target runs on. Nothing is ever written into the target, with one
 * opt-in exception: goproc__set_memprofile_rate (below), which stores one
 * word, runtime.MemProfileRate.
 *
 * What it reads: the executable through gobin (version, symbols, layout);
 * the load bias from /proc/PID/maps; then, with batched process_vm_readv
 * (up to 1024 iovecs a call), `allglen` before `allgptr`, the g pointers,
 * `allgptr` again (the array moves as it grows: retry), every g (one iovec
 * each, only the bytes up to the last field used), `allp` and each P's
 * timers. All memory reads go through struct gomem_ops, so the parsers
 * run on a fake image too (tests/fuzz/fuzz_gomem.c).
 *
 * Validation: a layout (DWARF, else the per-version table) is trusted only
 * if a live snapshot passes: allgs[0].goid == 1, goids distinct, every live
 * g's status in range, its start PC a function entry, its creation PC
 * inside text, its stack bounds ordered and its saved sched.g == itself
 * when parked. If the table fails, the layout is calibrated on live memory
 * alone (the same checks pick the offsets); if that fails too, open fails
 * with one error text naming the Go version and the check. Every later
 * snapshot applies the same checks; a failed one (a torn read while the
 * target changes) is retried a bounded number of times, then reported as
 * an error, never as unvalidated numbers.
 *
 * Cost (measured here, go1.19.8, 2 vCPUs): a snapshot of 100,000 parked
 * goroutines takes 48-70 ms (about 0.5 us each: one 320-byte iovec per g,
 * 1024 per process_vm_readv, plus a cached start-PC lookup); 37 goroutines
 * 0.06-0.1 ms. tests/unit/test_goproc.c prints it. A blocked stack is one
 * more read of the used part of that goroutine's stack.
 */
#ifndef LT_GOPROC_H
#define LT_GOPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gobin.h"

struct goproc;

/* One range to read from the target. err: 0, or -EFAULT when unreadable. */
struct gomem_iov {
	uint64_t addr;
	void *buf;
	size_t len;
	int err;
};

/*
 * The memory reader: fill every iov (setting each err); 0, or -errno when
 * the target is gone (-ESRCH). WRITE (may be NULL: then nothing can be
 * written) stores LEN bytes at ADDR: 0 or -errno; only
 * goproc__set_memprofile_rate calls it.
 */
struct gomem_ops {
	int (*readv)(void *ctx, struct gomem_iov *iov, int n);
	void *ctx;
	int (*write)(void *ctx, uint64_t addr, const void *buf, size_t len);
};

/*
 * Open PID. NULL + errno, and ERR (if given) says why in one line, e.g.
 * "go1.21.3: no layout passed the live checks (startpc not a function
 * entry for 12 of 40 goroutines)". ENOEXEC: not a Go program.
 */
struct goproc *goproc__open(int pid, char *err, size_t errlen);

/*
 * For tests and fuzzing: a target described by hand. GB may be NULL: then
 * TEXT_LO/TEXT_HI bound the text and any 16-byte aligned address in it
 * counts as a function entry. LAYOUT and SYMS (runtime addresses indexed
 * by enum gobin_sym, 0 = unknown) override what gobin says when given.
 * GB is borrowed (not freed by goproc__free).
 */
struct goproc_target {
	struct gobin *gb;
	uint64_t bias;
	const struct go_layout *layout;
	const uint64_t *syms;
	uint64_t text_lo, text_hi;
	int go_minor;		/* when GB is NULL */
	bool no_calibrate;
};
struct goproc *goproc__open_mem(const struct goproc_target *t, const struct gomem_ops *ops,
				char *err, size_t errlen);
void goproc__free(struct goproc *p);	/* NULL is a no-op */

struct gobin *goproc__gobin(struct goproc *p);
uint64_t goproc__bias(const struct goproc *p);
const struct go_layout *goproc__layout(const struct goproc *p);
/* The target's pid (0 for goproc__open_mem). */
int goproc__pid(const struct goproc *p);
/* The binary's Go minor version (19 for go1.19.8). */
int goproc__go_minor(const struct goproc *p);
/* Runtime address of a runtime variable (0 when not located). */
uint64_t goproc__sym(const struct goproc *p, enum gobin_sym which);
/* Runtime text range [lo, hi) as the function table covers it. */
void goproc__text(const struct goproc *p, uint64_t *lo, uint64_t *hi);
/* Set the text goproc__error() returns (for goheap.c, which reads through this goproc). */
void goproc__set_error(struct goproc *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Read target memory through the reader (batched; see struct gomem_ops). 0 or -errno. */
int goproc__readv(struct goproc *p, struct gomem_iov *iov, int n);

enum go_status {
	GO_IDLE = 0, GO_RUNNABLE = 1, GO_RUNNING = 2, GO_SYSCALL = 3, GO_WAITING = 4,
	GO_MORIBUND = 5, GO_DEAD = 6, GO_ENQUEUE = 7, GO_COPYSTACK = 8, GO_PREEMPTED = 9,
	GO_LEAKED = 10,	/* 1.26 */
};
const char *goproc__status_name(uint32_t status);

struct go_g {
	uint64_t addr;			/* the runtime.g in the target */
	uint64_t goid, parent_goid;	/* parent_goid 0 before 1.21 */
	uint32_t status;		/* scan bit (0x1000) stripped */
	uint8_t waitreason;
	const char *waitreason_str;	/* the binary's own string; NULL if unknown; owned by goproc */
	int64_t waitsince;
	uint64_t gopc, startpc;		/* runtime addresses (subtract goproc__bias for gobin) */
	uint64_t sched_pc, sched_sp, sched_bp;
	uint64_t stack_lo, stack_hi;
	bool system;			/* not counted by runtime.NumGoroutine */
};

struct go_snapshot {
	int n;			/* live goroutines in g[] (dead ones skipped) */
	struct go_g *g;
	uint64_t allglen;	/* entries of allgs at the time */
	int ndead, nsystem, nuser;	/* nuser == runtime.NumGoroutine() */
	int retries;		/* torn reads retried */
};

/*
 * Take a validated snapshot. 0, or -errno (-ESRCH target gone, -EAGAIN
 * torn reads past the retry bound, -EINVAL validation failed; then
 * goproc__error() says which check).
 */
int goproc__snapshot(struct goproc *p, struct go_snapshot *s);
void go_snapshot__free(struct go_snapshot *s);	/* frees s->g; s itself is the caller's */
const char *goproc__error(const struct goproc *p);

/*
 * Frame-pointer walk of a goroutine that is not running, from its saved
 * sched (pc, sp, bp), bounded by its stack: PCS[0] = sched.pc, then the
 * return addresses (runtime addresses). Returns the count (0 for a running
 * goroutine), -EAGAIN when the goroutine ran between the snapshot and the
 * stack read (its frames are not the snapshot's), or -errno.
 */
int goproc__stack(struct goproc *p, const struct go_g *g, uint64_t *pcs, int max);

enum go_timer_kind {
	GO_TIMER_OTHER,		/* runtime timers (time.Sleep's goroutineReady, ...) */
	GO_TIMER_TIMER,		/* time.NewTimer / time.After: f == time.sendTime, period 0 */
	GO_TIMER_TICKER,	/* time.NewTicker: f == time.sendTime, period > 0 */
	GO_TIMER_AFTERFUNC,	/* time.AfterFunc: f == time.goFunc, fn = the user's func */
};
const char *goproc__timer_kind_name(enum go_timer_kind k);

struct go_timer {
	uint64_t addr;		/* the runtime timer */
	enum go_timer_kind kind;
	int p;			/* index in allp */
	int64_t when, period;
	uint64_t f;		/* code address of the timer function */
	uint64_t arg;		/* the arg interface's data word */
	uint64_t fn;		/* AFTERFUNC: code address of the user's func */
	uint32_t status;	/* <= 1.22 status, 1.23+ state bits */
};

/*
 * Live timers in the per-P heaps. 1.19-1.22: every started timer; from
 * 1.23 a channel timer (Timer, Ticker) is in a heap only while a goroutine
 * waits on its channel, unless the binary's DefaultGODEBUG has
 * asynctimerchan=1 (gobin__asynctimerchan); AfterFunc timers always are.
 * *OUT is malloc'ed. 0, -EOPNOTSUPP (no p.timers offset for this
 * version), -EAGAIN (torn reads), -errno.
 */
int goproc__timers(struct goproc *p, struct go_timer **out, int *n);

/*
 * THE ONLY WRITE INTO THE TARGET, opt-in: store RATE into
 * runtime.MemProfileRate (an int) with process_vm_writev, so that the
 * runtime samples one allocation per RATE bytes from its next sampled
 * allocation on (each P re-reads the rate at its next malloc; a program
 * whose rate was 0, memory profiling disabled by the linker, starts
 * sampling at its first allocation). Allocations made before are not in
 * the profile. The word is read first and must hold a plausible rate
 * (0 to 2^31-1), then written, then read back. *OLD (optional) gets the
 * previous rate. 0, -ENOENT (MemProfileRate not located: refused),
 * -EINVAL (RATE < 0, or the word does not look like a rate: refused),
 * -EOPNOTSUPP (no write op), -errno.
 */
int goproc__set_memprofile_rate(struct goproc *p, int64_t rate, int64_t *old);

#endif /* LT_GOPROC_H */
