/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Parsed command line. Pure data; filled by cli__parse(). */
#ifndef LT_OPTS_H
#define LT_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#define LT_MAX_PIDS 1024

enum lt_format {
	LT_FMT_TEXT = 1 << 0,
	LT_FMT_JSON = 1 << 1,
	LT_FMT_FOLDED = 1 << 2,
	LT_FMT_PPROF = 1 << 3,
};

#define LT_MAX_FORMATS 4

/* One output: a --format item and where it goes (-o item, or stdout). */
struct lt_out {
	enum lt_format format;
	char *path;		/* NULL: stdout; may hold %n (the report number) */
};

enum lt_sort { LT_SORT_SIZE, LT_SORT_GROWTH, LT_SORT_AGE };

enum lt_hooks { LT_HOOKS_AUTO, LT_HOOKS_FENTRY, LT_HOOKS_KPROBE, LT_HOOKS_TRACEPOINT };

/* How creation stacks are walked. */
enum lt_stacks { LT_STACKS_AUTO, LT_STACKS_FP, LT_STACKS_DWARF };

enum lt_track {
	LT_TRACK_MEM = 1 << 0,
	LT_TRACK_THREADS = 1 << 1,
	LT_TRACK_TIMERS = 1 << 2,
	LT_TRACK_GOROUTINES = 1 << 3,
	LT_TRACK_GOHEAP = 1 << 4,
	LT_TRACK_FDS = 1 << 5,
	LT_TRACK_MMAP = 1 << 6,
};

/* The trackers whose syscall-tracepoint stacks are walked with the unwind tables in every --stacks mode. */
#define LT_TRACK_SYS_WALKS (LT_TRACK_FDS | LT_TRACK_MMAP)

/* -a samples at this rate unless --exact (Go's MemProfileRate, jemalloc's default) */
#define LT_SAMPLE_ALL_DEFAULT (512 * 1024)

/* --track's default (--mmap adds LT_TRACK_MMAP) */
#define LT_TRACK_DEFAULT (LT_TRACK_MEM | LT_TRACK_THREADS | LT_TRACK_TIMERS | LT_TRACK_FDS | \
			  LT_TRACK_GOROUTINES | LT_TRACK_GOHEAP)

struct lt_opts {
	int pids[LT_MAX_PIDS];
	int npids;
	char *command;		/* -c */
	bool all;		/* -a */
	double interval;	/* seconds between reports */
	long count;		/* number of periodic reports; 0 = until stopped */
	double once;		/* --once SECS; 0 = off */
	int top;		/* -T; 0 = all */
	bool top_set;		/* -T was given */
	enum lt_sort sort;
	double min_age;
	uint64_t min_size, max_size;
	unsigned formats;	/* enum lt_format bits */
	char *output;		/* -o as given */
	struct lt_out outs[LT_MAX_FORMATS];	/* --format items in order, paired with -o */
	int nouts;
	unsigned track;		/* enum lt_track bits */
	char *allocator;	/* --allocator PATH */
	uint64_t max_allocs;
	uint32_t max_stacks;
	bool fail_on_leak;
	bool follow;		/* -f: trace the targets' forks too */
	bool force;		/* -a on a kernel known to kill seccomp-filtered services */
	int top_procs;		/* -a: processes in a report */
	char *exclude_comm;	/* -a: comma-separated comm names to leave out */
	bool mmap;		/* --mmap: track anonymous mappings too (LT_TRACK_MMAP) */
	enum lt_hooks hooks;	/* how timerfd and fd closes are seen */
	enum lt_stacks stacks;	/* --stacks */
	char *serve;		/* --serve [ADDR:]PORT */
	char *serve_allow;	/* --serve-allow CIDR[,CIDR...] */
	bool format_set;	/* --format was given */
	bool go_ancestry;	/* --go-ancestry */
	int64_t go_memprofile_rate;	/* --go-memprofile-rate; 0: not given */
	uint64_t sample;	/* --sample R: mean bytes between sampled allocations; 0: exact (-a: 512 KiB) */
	bool sample_set;	/* --sample was given */
	bool exact;		/* --exact: no sampling (-a) */
	uint64_t sample_seed;	/* --sample-seed N */
	bool sample_seed_set;
	int verbose;
};

/*
 * Parse argv into *o. Returns 0, or the exit status to use: 2 for a usage
 * error (one line already printed on stderr), or -1 when --help/--version
 * printed and the program should exit 0.
 */
int cli__parse(int argc, char **argv, struct lt_opts *o);
void cli__free(struct lt_opts *o);

#endif /* LT_OPTS_H */
