/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * pprof output: gzip-compressed profile.proto (github.com/google/pprof,
 * proto/profile.proto), hand-encoded, compressed with zlib.
 *
 * The heap profile has the sample types of Go's heap profiles that apply
 * to outstanding memory: inuse_objects/count and inuse_space/bytes
 * (default inuse_space), period_type space/bytes, period 1. One sample per
 * memory site, values [allocs, bytes], location ids innermost first. One
 * Location per frame address; the inlined frames at that address are its
 * Line entries, innermost first, the containing function last. Samples
 * carry the labels pid (number), comm and trend (strings).
 *
 * Threads and timers get profiles of their own, in sibling files:
 * pprof__sibling("heap.pb.gz", "threads") is "heap.threads.pb.gz".
 *
 * The threads profile: one sample per thread creation site, values
 * [threads, live, exited_unjoined, stack_reservation] (sample types
 * threads/count = live + exited_unjoined, the default; live/count;
 * exited_unjoined/count; stack_reservation/bytes), period_type
 * threads/count, period 1. Locations are the creation stack; the start
 * routine is the string label start_routine (not a frame: it does not run
 * on that stack), and libc's own threads have the label libc_internal=true.
 *
 * The timers profile: one sample per timer creation site, values
 * [open, periodic] (open/count, the default; periodic/count), period_type
 * timers/count, period 1, labels kind ("timerfd" or "posix") and
 * interval_ns (number, num_unit "nanoseconds"; 0 when none re-arms).
 *
 * Samples of every profile carry the labels pid, comm and trend.
 */
#ifndef LT_PPROF_H
#define LT_PPROF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "report.h"

/* Encode R's heap profile, uncompressed, into a malloc'd buffer. 0 or -errno. */
int pprof__encode_heap(const struct lt_report *r, uint8_t **buf, size_t *len);

/* The same for the threads and the timers profiles. */
int pprof__encode_threads(const struct lt_report *r, uint8_t **buf, size_t *len);
int pprof__encode_timers(const struct lt_report *r, uint8_t **buf, size_t *len);

/* gzip BUF into F (one gzip member). 0 or -errno. */
int pprof__gzip(FILE *f, const uint8_t *buf, size_t len);

/* Write R's heap, threads or timers profile, gzip-compressed, to F. 0 or -errno. */
int pprof__write(FILE *f, const struct lt_report *r);
int pprof__write_threads(FILE *f, const struct lt_report *r);
int pprof__write_timers(FILE *f, const struct lt_report *r);

/*
 * Name of the KIND profile beside PATH: PATH without a trailing ".pb.gz",
 * then ".KIND.pb.gz". 0, or -ENAMETOOLONG when it does not fit in LEN.
 */
int pprof__sibling(const char *path, const char *kind, char *out, size_t len);

/*
 * Write each profile whose section the report has: the heap profile to
 * PATH (when r->has_mem), the threads and timers profiles to their
 * siblings (r->has_threads, r->has_timers). A section that is off gets no
 * file. Every file is replaced whole (sink__replace), never seen
 * half-written; one that fails does not stop the others. 0 or the first
 * -errno (each failure printed).
 */
int pprof__write_files(const char *path, const struct lt_report *r);

#endif /* LT_PPROF_H */
