/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A Go executable's own tables, read from the file (x86-64 ELF, Go 1.18 to
 * 1.26). Pure: no ptrace, no root, never prints.
 *
 * What it reads:
 * - the version: `.go.buildinfo` (also the module info and its
 *   DefaultGODEBUG), else `runtime.buildVersion` (a {ptr, len} string in
 *   data; esbuild 0.28.2 is go1.26.5 with no .go.buildinfo at all);
 * - `.gopclntab` (`.data.rel.ro.gopclntab` in PIE builds; magic 0xfffffff0
 *   for 1.18/1.19, 0xfffffff1 from 1.20, older magics refused with
 *   EPROTONOSUPPORT): functions, names, entry/end, file:line of a pc and the
 *   inlined frames (FUNCDATA_InlTree + PCDATA_InlTreeIndex; the inline tree
 *   entry is 20 bytes in 1.18/1.19 and 16 bytes from 1.20);
 * - moduledata (`.go.module` section, `runtime.firstmoduledata`, or a scan
 *   of data for a pointer to the pclntab header; in PIE the pointers are
 *   R_X86_64_RELATIVE addends): the text base when the pclntab header's
 *   textStart is 0 (1.26) and the funcdata base `gofunc`;
 * - runtime data symbols: `.symtab` when present, else the RIP-relative
 *   references of small runtime functions found in pclntab (capstone);
 * - structure offsets: DWARF (libdw) when the file has it, else a
 *   per-version table (see golayout.c for which entries were measured on a
 *   real binary); the table is a hint that goproc checks on live memory.
 *
 * Validation: everything in the file is untrusted. Every offset, count and
 * varint is bounds-checked against the section it points into; the
 * function table must be sorted; a corrupt file gives -EINVAL (or a NULL
 * frame name), never a crash, a hang or a frame from outside the table.
 *
 * Cost: open maps the file and checks the function table once (about 1 ms
 * for 20k functions); a resolve is a binary search plus one pass over at
 * most three pc tables of one function (microseconds); a data symbol found
 * from code disassembles one function once and is cached.
 */
#ifndef LT_GOBIN_H
#define LT_GOBIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gobin;

/*
 * Open a Go executable. The fd is not kept (the file is mapped).
 * NULL + errno: ENOEXEC not a Go x86-64 ELF executable; EPROTONOSUPPORT a Go
 * version or pclntab format not handled (before 1.18); EINVAL corrupt.
 * gobin__open_mem copies BUF (for tests and fuzzing); it never reads DWARF
 * through a file descriptor.
 */
struct gobin *gobin__open_fd(int fd, const char *name);
struct gobin *gobin__open(const char *path);
struct gobin *gobin__open_mem(const void *buf, size_t len, const char *name);
void gobin__free(struct gobin *g);		/* NULL is a no-op */
/* Why the last open failed, in words ("" when it did not). Thread-local. */
const char *gobin__last_error(void);

const char *gobin__name(const struct gobin *g);
/* "go1.19.8", "go1.26.5"; "" when unknown (then version_cmp treats it as 0.0). */
const char *gobin__version(const struct gobin *g);
/* Where the version came from: "buildinfo", "symtab", "data scan" or "none". */
const char *gobin__version_source(const struct gobin *g);
/* <0, 0, >0 as the binary's Go version is older, equal (major.minor), newer. */
int gobin__version_cmp(const struct gobin *g, int major, int minor);
void gobin__version_nums(const struct gobin *g, int *major, int *minor, int *patch);
/* The module info text of .go.buildinfo ("path\t...\nmod\t...\nbuild\t..."), or NULL. */
const char *gobin__modinfo(const struct gobin *g);
/* DefaultGODEBUG from the module info (NULL when the binary has none). */
const char *gobin__default_godebug(const struct gobin *g);
/* DefaultGODEBUG contains asynctimerchan=1. */
bool gobin__asynctimerchan(const struct gobin *g);
bool gobin__is_pie(const struct gobin *g);
/* Link-time address mapped at file offset 0 (the first PT_LOAD's vaddr - offset): bias = mapping start - this. */
uint64_t gobin__load_base(const struct gobin *g);
/* Text range [start, end) as the function table covers it (link-time vaddrs). */
void gobin__text(const struct gobin *g, uint64_t *start, uint64_t *end);
uint32_t gobin__pclntab_magic(const struct gobin *g);
int gobin__nfuncs(const struct gobin *g);
bool gobin__has_dwarf(const struct gobin *g);
bool gobin__has_symtab(const struct gobin *g);

struct gobin_frame {
	uint64_t pc;		/* the address asked for */
	const char *func;	/* NULL if unknown; owned by gobin */
	uint64_t entry;		/* entry of the containing (not inlined) function */
	const char *file;	/* NULL if unknown; owned by gobin */
	int line;		/* 0 if unknown */
	bool inlined;		/* inlined into the next frame */
};

/*
 * Symbolize VADDR (link-time address; subtract the load bias first). Like
 * syms__resolve: the inline chain innermost first (inlined = true), then
 * the containing function; IS_RETADDR looks lines and inlining up at
 * vaddr - 1. Returns the number of frames written (>= 1 when VADDR is
 * inside a function), 0 when VADDR is in no function, or -errno.
 */
int gobin__resolve(struct gobin *g, uint64_t vaddr, bool is_retaddr,
		   struct gobin_frame *out, int max);
/* Name of the function containing VADDR, or NULL. */
const char *gobin__func_name(struct gobin *g, uint64_t vaddr);
bool gobin__is_func_entry(struct gobin *g, uint64_t vaddr);
/* Entry and end of the function NAME (exact match). 0 or -ENOENT. */
int gobin__func_lookup(struct gobin *g, const char *name, uint64_t *entry, uint64_t *end);
/* Entry/end of the function containing VADDR. 0 or -ENOENT. */
int gobin__func_at(struct gobin *g, uint64_t vaddr, uint64_t *entry, uint64_t *end);

enum gobin_sym {
	GOBIN_SYM_ALLGS,		/* runtime.allgs: []*g */
	GOBIN_SYM_ALLGLEN,		/* runtime.allglen: uintptr */
	GOBIN_SYM_ALLGPTR,		/* runtime.allgptr: **g */
	GOBIN_SYM_ALLP,			/* runtime.allp: []*p */
	GOBIN_SYM_MBUCKETS,		/* runtime.mbuckets: *bucket */
	GOBIN_SYM_MPROFCYCLE,		/* runtime.mProfCycle: u32 cycle<<1 | flushed */
	GOBIN_SYM_MEMPROFILERATE,	/* runtime.MemProfileRate: int */
	GOBIN_SYM_BUCKHASH,		/* runtime.buckhash: *buckhashArray */
	GOBIN_SYM_BUILDVERSION,		/* runtime.buildVersion: string */
	GOBIN_SYM_WAITREASONSTRINGS,	/* runtime.waitReasonStrings: [N]string */
	GOBIN_SYM_FIRSTMODULEDATA,	/* runtime.firstmoduledata */
	GOBIN_SYM_FINGRUNNING,		/* runtime.fingRunning (1.19: bool; 1.21+: fingStatus u32) */
	GOBIN_SYM_MEMSTATS,		/* runtime.memstats (type mstats) */
	GOBIN_SYM_DISABLEMEMPROF,	/* runtime.disableMemoryProfiling: bool (.symtab only) */
	GOBIN_SYM__MAX
};

const char *gobin__sym_name(enum gobin_sym which);
/*
 * Link-time address of a runtime variable: .symtab when present, else
 * found from code (see godata.c). 0, -ENOENT (not found or not
 * plausible), -EINVAL.
 */
int gobin__data_sym(struct gobin *g, enum gobin_sym which, uint64_t *vaddr);
/* The code finder alone, ignoring .symtab (tests cross-check it against .symtab). */
int gobin__data_sym_code(struct gobin *g, enum gobin_sym which, uint64_t *vaddr);
/* The way data_sym found it: "symtab", "code", "scan", "section" or NULL. */
const char *gobin__data_sym_source(struct gobin *g, enum gobin_sym which);
/* Element count of waitReasonStrings (from the symbol size, or the code's bound). 0 if unknown. */
int gobin__waitreason_count(struct gobin *g);

/*
 * Offsets of the runtime structures goproc reads (bytes; -1 when the
 * field does not exist in that version or is unknown).
 */
struct go_layout {
	char source[48];	/* "dwarf", "table go1.19 (measured)", "calibrated" ... */
	int g_stack_lo, g_stack_hi;
	int g_sched_sp, g_sched_pc, g_sched_g, g_sched_bp;	/* absolute in g */
	int g_atomicstatus, g_goid, g_waitsince, g_waitreason;
	int g_parentgoid, g_gopc, g_startpc;
	int g_size;		/* bytes goproc reads per g (>= last field + 8) */
	/* timers: 1.19-1.22 p.timers is []*timer; 1.23+ p.timers.heap is []timerWhen */
	int p_timers;		/* the slice header in p */
	bool timers_heap;	/* elements are timerWhen{*timer, when} (16 B) */
	int timer_when, timer_period, timer_f, timer_arg, timer_status;	/* status: u32 (<=1.22) or state u8 (1.23+) */
	bool timer_state_u8;	/* 1.23+: state bits heaped 1, modified 2, zombie 4 */
};

/*
 * The layout for this binary: from DWARF when the file has it (0), else
 * the per-version table (0, source names the table), else -ENOENT. Either
 * way it must be checked on live memory before use (goproc does).
 */
int gobin__layout(struct gobin *g, struct go_layout *out);
/* The per-version table entry for MAJOR.MINOR. 0 or -ENOENT. */
int gobin__layout_table(int major, int minor, struct go_layout *out);

/*
 * Offsets in runtime.memstats (type mstats) and in one heapStatsDelta of
 * its consistent heap stats, memstats.heapStats.stats[3] (bytes; -1 when
 * unknown). What goproc__memstats reads (see goheap.h).
 */
struct go_mstats_layout {
	char source[48];	/* "dwarf", "table go1.19 (measured)" ... */
	int heapstats;		/* memstats.heapStats.stats[0] */
	int delta_size;		/* sizeof(heapStatsDelta), the stride of stats[] */
	int d_committed, d_released, d_inheap, d_instacks, d_inworkbufs;
	int d_inptrscalarbits;	/* -1 from 1.25 (no GC programs) */
	int stacks_sys, mspan_sys, mcache_sys, buckhash_sys, gcmisc_sys, other_sys;
	int last_gc_unix, pause_total_ns, pause_ns, pause_end, numgc, numforcedgc;
	int size;		/* bytes to read from memstats: through numforcedgc */
};

/*
 * The memstats layout: DWARF when the file has it, else the per-version
 * table (0), else -ENOENT. goproc__memstats checks it on live memory.
 */
int gobin__mstats_layout(struct gobin *g, struct go_mstats_layout *out);
int gobin__mstats_layout_table(int major, int minor, struct go_mstats_layout *out);

/*
 * Whether the linker kept runtime.MemProfile (<= 1.22) or
 * runtime.memProfileInternal (1.23+) in the binary. It sets
 * runtime.disableMemoryProfiling exactly when that function is
 * unreachable (cmd/link's deadcode; not when dynamically linking Go), so
 * false means memory profiling is off: MemProfileRate starts at 0.
 */
bool gobin__has_memprofile(struct gobin *g);

/*
 * Read LEN bytes of the file's initialized contents at link-time VADDR
 * (pointer-sized words at relocated addresses come from the relocation
 * addend in PIE). 0, or -EFAULT when not all of it is file-backed.
 */
int gobin__read(const struct gobin *g, uint64_t vaddr, void *buf, size_t len);
int gobin__read_ptr(const struct gobin *g, uint64_t vaddr, uint64_t *val);

#endif /* LT_GOBIN_H */
