/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The tracker interface, and the table of trackers (src/trackers.c, in
 * report order). A tracker is:
 *   - its view: how its section is written (src/view_<name>.c, pure);
 *   - its source of records: BPF programs (bpf/<name>.bpf.c) and maps, or
 *     a snapshot it reads from the target itself;
 *   - its collector (src/track_<name>.c): those records -> generic sites
 *     (pid, id, values, age), for the once-a-second sample and for reports.
 * Trends, deltas, sorting, top-N, -a grouping, stacks and symbolization,
 * and every writer are the engine's (collect.c, assemble.c, output.c,
 * pprof.c), the same for every tracker. Adding a tracker is one row of
 * the table and files of its own. See docs/design.md, "Trackers".
 */
#ifndef LT_TRACKERS_H
#define LT_TRACKERS_H

#include <stdbool.h>
#include <stdint.h>
#include "report.h"

#define LT_TRACKERS_MAX	8

/* The views. */
extern const struct lt_view lt_view_memory;
extern const struct lt_view lt_view_threads;
extern const struct lt_view lt_view_timers;
extern const struct lt_view lt_view_fds;
extern const struct lt_view lt_view_mmap;
extern const struct lt_view lt_view_goroutines;
extern const struct lt_view lt_view_goheap;

/* The Go heap section's overview of a process (lt_overview.f[]); a byte count < 0: unknown. */
enum {
	GOV_RATE,		/* runtime.MemProfileRate */
	GOV_PROFILING,		/* 1: the linker kept memory profiling in */
	GOV_PROFILE_BYTES,	/* in use, as the heap profile has it (scaled) */
	GOV_PROFILE_OBJECTS,
	GOV_MEMSTATS,		/* 1: the fields below from memstats were read and checked */
	GOV_HEAP_INUSE,		/* MemStats.HeapInuse */
	GOV_HEAP_SYS,		/* MemStats.HeapSys */
	GOV_STACKS,		/* MemStats.StackInuse: goroutine stacks */
	GOV_NUM_GC,
	GOV_LAST_GC_AGE_MS,	/* -1: no GC yet */
	GOV_C_HEAP,		/* bytes outstanding from malloc (the memory tracker); -1: not tracked */
	GOV_RSS,
};

/* lt_site.flags of a thread site: libc started the thread for itself. */
#define LT_THREAD_LIBC_INTERNAL	(1u << 0)

struct tracer;
struct target;
struct site_set;
struct u64_vec;
struct bpf_program;

struct tracker {
	const char *name;		/* as --track spells it */
	unsigned track;			/* the LT_TRACK_* bit that turns it on */
	const struct lt_view *view;
	int plan_tracker;		/* enum lt_tracker of its uprobes in probe plans; -1: none */
	bool keep_dead;			/* a gone target keeps the sites it had while it lived */
	bool by_process;		/* -a: its section lists the top processes */
	bool go_only;			/* its section only when a Go program is traced (or with -a) */
	bool needs_no_probes;		/* its tracepoints serve a target without its uprobes too */
	/* Between open and load: map sizes, which programs load. */
	void (*configure)(struct tracer *t);
	/* The program of its entry (RET: return) uprobes; NULL: none. */
	struct bpf_program *(*prog)(struct tracer *t, bool ret);
	/* Its tracepoints and hooks, once its first probe is in. 0 or -errno, printed. */
	int (*attach)(struct tracer *t);
	/* A target's first watch (what existed before the attach). */
	void (*watch)(struct tracer *t, struct target *tg);
	/* TG exec'ed at EXEC_NS (bpf_ktime_get_ns): drop its old image's records. */
	void (*exec)(struct tracer *t, struct target *tg, uint64_t exec_ns);
	/* -a: delete the records of the tgids in DEAD. */
	void (*gc)(struct tracer *t, const struct u64_vec *dead);
	/* -a: the stack ids its records refer to. */
	void (*stack_refs)(struct tracer *t, struct u64_vec *refs);
	/* -a: the tgids of its records (they become targets). */
	void (*discover)(struct tracer *t, struct u64_vec *tgids);
	/*
	 * Its sites now: pid, id, v[], oldest_ns, addr (collectors allocate
	 * nothing per site). REPORT: for a report, not the once-a-second
	 * sample (may check /proc, scan records for ages). 0 or -errno.
	 */
	int (*collect)(struct tracer *t, struct site_set *ss, bool report);
	/*
	 * The section's own totals (extra[], note, drops), and what its shown
	 * sites need beyond their stacks (labels, flags). Runs after sorting,
	 * top-N and stacks.
	 */
	void (*finish)(struct tracer *t, struct lt_section *sec, struct lt_report *r);
	/*
	 * S's creation stack when it is not a BPF stack (id.stack, id.caller):
	 * return addresses, innermost first, into ADDRS. The count; *COMPLETE
	 * when nothing is missing at its root.
	 */
	int (*raw_stack)(struct tracer *t, const struct lt_site *s, uint64_t *addrs, int max, bool *complete);
	/* Free this tracker's state of a target (target__state) when that needs more than free(). */
	void (*target_free)(void *priv);
	void (*free)(struct tracer *t);
};

extern const struct tracker lt_tracker_mem, lt_tracker_threads, lt_tracker_timers, lt_tracker_fds,
	lt_tracker_mmap, lt_tracker_goroutines, lt_tracker_goheap;

/* The table, in report order. */
extern const struct tracker *const lt_trackers[];
extern const int lt_ntrackers;

/* The views of the trackers TRACK turns on, in report order. Returns how many. */
int trackers__views(unsigned track, const struct lt_view **out, int max);

#endif /* LT_TRACKERS_H */
