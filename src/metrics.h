/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Prometheus metrics of a report, in the text exposition format 0.0.4
 * (served as "text/plain; version=0.0.4"). Pure: no I/O, no libbpf; the
 * caller fills struct lt_metrics from its report.
 *
 * The metric names are a contract (dashboards rely on them, docs/fleet.md
 * lists them). One series per process (and thread state, and tracker),
 * never per stack:
 *
 *   leaktrace_outstanding_bytes{pid,comm}            gauge   memory
 *   leaktrace_outstanding_allocations{pid,comm}      gauge   memory
 *   leaktrace_growing_sites{pid,comm,tracker}        gauge   every tracker on
 *   leaktrace_threads{pid,comm,state}                gauge   threads; state is
 *                                                            "live" or "exited_unjoined"
 *   leaktrace_timers_open{pid,comm}                  gauge   timers
 *   leaktrace_fds_open{pid,comm}                     gauge   fds
 *   leaktrace_goroutines{pid,comm}                   gauge   goroutines
 *   leaktrace_go_heap_inuse_bytes{pid,comm}          gauge   go_heap
 *   leaktrace_drops_total{kind}                      counter
 *   leaktrace_reports_total                          counter
 *   leaktrace_report_duration_seconds                gauge
 *   leaktrace_build_info{version}                    gauge, always 1
 *
 * A family whose tracker is off (has[] false) is left out, # HELP and
 * # TYPE lines included. tracker="..." takes the names of
 * metrics__tracker_name(). Label values are escaped as the format says
 * (\\, \" and \n); bytes that are not UTF-8 (a comm can hold anything)
 * become U+FFFD, since Prometheus rejects a scrape with invalid UTF-8.
 */
#ifndef LT_METRICS_H
#define LT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum metrics_tracker {
	METRICS_MEMORY,		/* "memory": C heap (malloc and friends) */
	METRICS_THREADS,	/* "threads" */
	METRICS_TIMERS,		/* "timers" */
	METRICS_FDS,		/* "fds" */
	METRICS_GOROUTINES,	/* "goroutines" */
	METRICS_GO_HEAP,	/* "go_heap" */
	METRICS_MMAP,		/* "mmap" (only leaktrace_growing_sites) */
	METRICS__NTRACKERS,
};

/*
 * One process. Every count is for this process alone. A value < 0 means
 * "does not apply to this process" (e.g. goroutines of a C program under -a)
 * and gives no series for it; a tracker that is off gives none anyway.
 */
struct lt_metrics_proc {
	int pid;				/* not used for the "other" row */
	const char *comm;			/* any bytes; NULL is "" */
	int64_t outstanding_bytes;		/* memory */
	int64_t outstanding_allocations;	/* memory */
	int64_t growing_sites[METRICS__NTRACKERS]; /* sites whose trend is "growing" */
	int64_t threads_live;			/* threads */
	int64_t threads_exited_unjoined;	/* threads */
	int64_t timers_open;			/* timers */
	int64_t fds_open;			/* fds */
	int64_t goroutines;			/* goroutines */
	int64_t go_heap_inuse_bytes;		/* go_heap */
};

struct lt_metrics_drop {
	const char *kind;	/* drop__name(i) of src/output.c, e.g. "ringbuf_lost" */
	uint64_t value;		/* since leaktrace started */
};

struct lt_metrics {
	bool has[METRICS__NTRACKERS];	/* which trackers are on */
	const struct lt_metrics_proc *procs;	/* in the order wanted (e.g. -a's top list) */
	int nprocs;
	/*
	 * -a: everything outside procs, summed, shown as pid="other",
	 * comm="other". NULL: no such row.
	 */
	const struct lt_metrics_proc *other;
	const struct lt_metrics_drop *drops;	/* every counter, zeros included */
	int ndrops;
	uint64_t reports_total;
	double report_duration_s;	/* how long the last report took; < 0 or NaN: none yet */
	const char *version;		/* LT_VERSION */
};

/* "memory", "threads", ... ; NULL for a value out of range. */
const char *metrics__tracker_name(enum metrics_tracker t);

/*
 * Render M. *OUT is malloc'd (the caller frees it), NUL-terminated, and
 * *LEN bytes long without the NUL. 0, -EINVAL (M, OUT or LEN NULL, a
 * count < 0, or a count > 0 with its array NULL), or -ENOMEM; *OUT and
 * *LEN are left alone on error.
 */
int metrics__render(const struct lt_metrics *m, char **out, size_t *len);

#endif /* LT_METRICS_H */
