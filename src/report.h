/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The report model: what one report says, independent of BPF and of the
 * output format. A report is a list of sections, one per tracker that is
 * on, in the order of the tracker table (src/trackers.c). A section is a
 * list of generic sites; its view (struct lt_view, one per tracker, in
 * src/view_*.c) says what the site's values mean and how each format
 * writes them. The writers (src/output.c, src/pprof.c) are written once,
 * for every view. See docs/design.md, "Report model".
 *
 * Pure: no libbpf, no I/O but the writers'. Unit tests build reports by
 * hand.
 */
#ifndef LT_REPORT_H
#define LT_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include "leaktrace.h"	/* LT_DROP__MAX */
#include "opts.h"

struct lt_frame {
	uint64_t addr;
	char *func;		/* NULL if unknown */
	uint64_t offset;
	char *file;		/* NULL if unknown */
	int line;		/* 0 if unknown */
	char *module;
	uint64_t module_off;	/* file-relative address in module */
	bool inlined;
	char *build_id;		/* module's GNU build-id as lowercase hex; NULL if unknown */
};

enum lt_trend { LT_TREND_NEW, LT_TREND_GROWING, LT_TREND_STABLE, LT_TREND_SHRINKING };

#define LT_SITE_VALUES	4

/*
 * A site's identity, for trends and the last tie-break of a sort: the
 * process, and what the tracker keys its sites by (for the BPF trackers,
 * a hash of the creation stack and the caller's address).
 */
struct lt_site_id {
	uint32_t tgid;
	int32_t err;		/* BPF trackers: 0, or -errno when the stack could not be taken */
	uint64_t stack;
	uint64_t caller;
	uint64_t anc;		/* Go, --go-ancestry: the creating goroutine's ancestry (0: none) */
};

/* One count of a breakdown (goroutine states, fd kinds). */
struct lt_count {
	char *name;
	int64_t n;
};

/*
 * A site: where the things a tracker counts were made. v[] is what the
 * view says it is (memory: bytes, allocations); v[0] is the amount that
 * trends, deltas and the default sort follow.
 */
struct lt_site {
	int pid;
	char comm[16];
	int64_t v[LT_SITE_VALUES];
	int64_t delta;		/* change of v[0] since the last report */
	double rate;		/* v[0] per second over the trend window (least squares) */
	double oldest_age_s;	/* < 0: unknown */
	enum lt_trend trend;
	char *label;		/* view-defined string (start routine, kind); owned, may be NULL */
	uint64_t num;		/* view-defined number (a timer's interval) */
	int64_t num2;		/* view-defined number (unread expirations; -1: unknown) */
	uint32_t flags;		/* view-defined bits */
	struct lt_count *counts;	/* view-defined breakdown; owned */
	int ncounts;
	struct lt_frame *stack;	/* innermost first */
	int nstack;
	bool truncated;		/* the walk stopped before the stack's root */
	struct lt_frame *stack2;	/* view-defined second stack (goroutines: where they block); owned */
	int nstack2;

	/* the collector's, never written out */
	struct lt_site_id id;
	uint64_t oldest_ns;	/* bpf_ktime_get_ns() of the oldest thing; 0: unknown */
	uint64_t tag;		/* tracker-defined part of the identity (a timer's kind) */
	uint64_t addr;		/* tracker-defined code address (a thread's start routine) */
	bool before_start;	/* made before the executable's entry point ran (-c) */
};

/* -a: a process's totals in a section that is grouped by process. */
struct lt_proc {
	int pid;
	char comm[16];
	int64_t v[LT_SITE_VALUES];
	int64_t delta;
	int nsites;		/* its sites in the report (after -T) */
};

/*
 * A process's overview in a section (Go heap: where its memory went). f[]
 * is view-defined; note: a line the view shows with it ("" none).
 */
#define LT_OVERVIEW_FIELDS	14
struct lt_overview {
	int pid;
	char comm[16];
	int64_t f[LT_OVERVIEW_FIELDS];
	char tag[32];		/* view-defined (Go: the version) */
	char note[200];
};

struct lt_section;
struct lt_report;

/* A pprof label of a sample: a string, or a number with an optional unit. */
struct lt_label {
	const char *key;
	const char *str;	/* NULL: a number */
	int64_t num;
	const char *unit;
};

/* A pprof profile of a section's sites. */
struct lt_pprof_desc {
	const char *sibling;	/* NULL: the file -o names; else "heap.SIBLING.pb.gz" beside it */
	struct { const char *type, *unit; int v; } values[LT_SITE_VALUES];	/* v: index into site v[] */
	int nvalues;
	const char *period_type, *period_unit;
	int64_t period;		/* 0: 1 */
	int period_extra;	/* > 0: the period is the section's extra[period_extra - 1] (when > 0) */
	const char *default_type;
	/* the view's own labels of a site (pid, comm and trend are added for every site) */
	int (*labels)(const struct lt_site *s, struct lt_label *out, int max);
};

/*
 * What a tracker's section looks like. The text and JSON callbacks write
 * only what is the view's own; the writers add the rest (the frames, pid,
 * comm, trend, truncated, sites_total).
 */
struct lt_view {
	const char *key;		/* the JSON key ("memory") */
	/* sorting: --sort (size, growth, age) applies, or by v[0..nsort) only */
	bool by_sort_key;
	int nsort;			/* values compared before pid and caller */
	bool drop_empty;		/* leave out sites whose v[0] and v[1] are <= 0 */
	/* text: the section's headline; a site's line (without its frames) */
	void (*text_head)(FILE *f, const struct lt_report *r, const struct lt_section *s);
	void (*text_site)(FILE *f, const struct lt_section *s, const struct lt_site *site, int i);
	/* after a site's frames (NULL: nothing): a second stack */
	void (*text_after)(FILE *f, const struct lt_site *site);
	/* -a: the line introducing a process's sites, and a process in "processes" */
	void (*text_proc)(FILE *f, const struct lt_proc *p, int i, int n);
	void (*json_proc)(FILE *f, const struct lt_proc *p);
	/* JSON: fields of the section object before "sites_total", and of a site before "trend" */
	void (*json_head)(FILE *f, const struct lt_section *s);
	void (*json_site)(FILE *f, const struct lt_site *site);
	/* folded: which value a line carries (-1: the view has no folded lines) */
	int folded_value;
	const struct lt_pprof_desc *pprof;	/* NULL: no profile */
};

struct lt_section {
	const struct lt_view *view;
	struct lt_site *sites;	/* sorted, top-N applied */
	int nsites;
	int nsites_total;	/* before top-N */
	int64_t tot[LT_SITE_VALUES];	/* sums of v[] over every site, top-N or not */
	int64_t delta;		/* change of tot[0] since the last report */
	int64_t extra[6];	/* view-defined totals (threads: running in all, pre-existing) */
	const char *note;	/* view-defined (timers: how closes are seen); static */
	/*
	 * -a: the top processes, by growth (by_process trackers); else the
	 * view's own per-process totals (fds: open in all, RLIMIT_NOFILE); NULL
	 */
	struct lt_proc *procs;
	int nprocs, nprocs_total;
	struct lt_overview *ovs;	/* per-process overview (view-defined); owned */
	int novs;
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
	bool system_wide;

	struct lt_section *secs;	/* one per tracker that is on, in tracker-table order */
	int nsecs;

	/* what leaktrace's own maps hold now (allocations, sites, stacks) */
	int64_t map_allocs, map_sites, map_stacks;
	uint64_t drops[LT_DROP__MAX];
	const char *hooks;		/* short description of the hooks in use */
};

/* The section with VIEW, or NULL when that tracker is off. */
struct lt_section *report__section(const struct lt_report *r, const struct lt_view *view);
/* Append a section for VIEW. NULL on ENOMEM. */
struct lt_section *report__add_section(struct lt_report *r, const struct lt_view *view);
/* Room for N sites in SEC (zeroed; nsites = nsites_total = N). 0 or -ENOMEM. */
int section__alloc_sites(struct lt_section *sec, int n);
/* Free every section and its sites (not r->targets). */
void report__free_sites(struct lt_report *r);
void report__free_frames(struct lt_frame *st, int n);
void site__free(struct lt_site *s);
/* Sort SEC's sites as its view says, KEY where --sort applies; most significant first. */
void section__sort(struct lt_section *sec, enum lt_sort key);
/* Does any site of the report (top-N or not) grow? */
bool report__any_growing(const struct lt_report *r);

/* Writers. Return 0 or -errno. */
int output__text(FILE *f, const struct lt_report *r);
int output__json(FILE *f, const struct lt_report *r);
/*
 * Folded stacks (flamegraph.pl, speedscope): "comm;outer;...;inner VALUE"
 * per site of SEC (NULL: the first section that has folded lines).
 */
int output__folded(FILE *f, const struct lt_report *r);
int output__folded_section(FILE *f, const struct lt_report *r, const struct lt_section *sec);

const char *trend__name(enum lt_trend t);
const char *drop__name(int idx);

/* Helpers for the views' writers. */
void text_frames(FILE *f, const struct lt_frame *st, int n);	/* one frame a line, indented */
void json_frames(FILE *f, const char *key, const struct lt_frame *st, int n);	/* "key":[...] */
void fmt_bytes(char *buf, size_t len, int64_t b);	/* "1.2 MiB" */
void text_sites(FILE *f, const struct lt_section *s);	/* "N sites[, top K shown]" */
void json_str(FILE *f, const char *s);			/* a JSON string, or null */
void json_num(FILE *f, double v);			/* %.3f */
void json_age(FILE *f, double age_s);			/* a number, or null when < 0 */

#endif /* LT_REPORT_H */
