/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The report model: what one report says, independent of BPF and of the
 * output format. Built by the tracer, written by output.c.
 */
#ifndef LT_REPORT_H
#define LT_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include "leaktrace.h"
#include "opts.h"

struct lt_frame {
	uint64_t addr;
	char *func;		/* NULL if unknown */
	uint64_t offset;
	char *file;		/* NULL if unknown */
	int line;		/* 0 if unknown */
	char *module;
	uint64_t module_off;
	bool inlined;
	char *build_id;		/* module's GNU build-id as lowercase hex; NULL if unknown */
};

enum lt_trend { LT_TREND_NEW, LT_TREND_GROWING, LT_TREND_STABLE, LT_TREND_SHRINKING };

struct lt_mem_site {
	struct lt_site_key key;	/* BPF site key, for the collector */
	int pid;
	char comm[16];
	int64_t bytes;
	int64_t allocs;
	int64_t delta_bytes;
	double oldest_age_s;	/* < 0: unknown */
	double rate;		/* bytes per second over the trend window (least squares) */
	enum lt_trend trend;
	struct lt_frame *stack;
	int nstack;
	bool truncated;
	bool before_start;	/* first block made before the executable's entry point ran */
};

struct lt_thread_site {
	struct lt_site_key key;
	int pid;
	char comm[16];
	int live;
	int exited_unjoined;
	int delta;		/* change of live + exited_unjoined since the last report */
	double oldest_age_s;
	uint64_t start_addr;	/* the start routine's address in the process */
	char *start_routine;	/* symbolized; NULL if unknown */
	uint64_t stack_bytes;	/* estimated stack reservation of these threads */
	enum lt_trend trend;
	struct lt_frame *stack;
	int nstack;
	bool truncated;
	bool libc_internal;	/* created by libc itself (timer helper, aio, getaddrinfo_a) */
};

struct lt_timer_site {
	struct lt_site_key key;
	int pid;
	char comm[16];
	const char *kind;	/* "timerfd" or "posix" (static string) */
	int open;
	int periodic;		/* how many of them re-arm themselves */
	int delta;		/* change of open since the last report */
	uint64_t interval_ns;	/* of the periodic ones (the first seen); 0 if none */
	int64_t expirations;	/* timerfd ticks not yet read, from /proc fdinfo; -1 unknown */
	double oldest_age_s;
	enum lt_trend trend;
	struct lt_frame *stack;
	int nstack;
	bool truncated;
};

/* -a: a process's memory totals, for the top-processes list. */
struct lt_proc {
	int pid;
	char comm[16];
	int64_t bytes, allocs, delta_bytes;
	int nsites;		/* its sites in the report (after -T) */
};

struct lt_target {
	int pid;
	char comm[16];
	bool exited;
};

struct lt_report {
	int number;		/* 1-based */
	bool final;
	double elapsed_s;
	struct timespec wall;	/* CLOCK_REALTIME at the report */
	struct lt_target *targets;
	int ntargets;

	bool has_mem;
	int64_t mem_bytes, mem_allocs, mem_delta_bytes;
	struct lt_mem_site *sites;	/* sorted, top-N applied */
	int nsites;
	int nsites_total;		/* before top-N */

	struct lt_proc *procs;		/* -a: top processes by growth; NULL otherwise */
	int nprocs, nprocs_total;

	bool has_threads;
	int threads_live, threads_exited_unjoined;
	int threads_total_live;		/* every thread of the targets, from /proc */
	int threads_preexisting;	/* existed before the attach: not attributed */
	struct lt_thread_site *tsites;	/* sorted by count, top-N applied */
	int ntsites, ntsites_total;

	bool has_timers;
	int timers_open;
	struct lt_timer_site *msites;	/* sorted by count, top-N applied */
	int nmsites, nmsites_total;

	/* what leaktrace's own maps hold now (allocations, sites, stacks) */
	int64_t map_allocs, map_sites, map_stacks;
	bool system_wide;

	uint64_t drops[LT_DROP__MAX];
	const char *hooks;		/* short description of the hooks in use */
};

/* Free the sites of every section (not r->targets). */
void report__free_sites(struct lt_report *r);
void report__free_frames(struct lt_frame *st, int n);
void report__sort_threads(struct lt_thread_site *sites, int n);
void report__sort_timers(struct lt_timer_site *sites, int n);

/* Sort sites by KEY, most significant first. */
void report__sort(struct lt_mem_site *sites, int n, enum lt_sort key);

/* Writers. Return 0 or -errno. */
int output__text(FILE *f, const struct lt_report *r);
int output__json(FILE *f, const struct lt_report *r);
/* Folded stacks (flamegraph.pl, speedscope): "comm;outer;...;inner bytes" per site. */
int output__folded(FILE *f, const struct lt_report *r);

const char *trend__name(enum lt_trend t);
const char *drop__name(int idx);

#endif /* LT_REPORT_H */
