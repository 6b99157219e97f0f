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
 */
#ifndef LT_PPROF_H
#define LT_PPROF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "report.h"

/* Encode R's heap profile, uncompressed, into a malloc'd buffer. 0 or -errno. */
int pprof__encode_heap(const struct lt_report *r, uint8_t **buf, size_t *len);

/* gzip BUF into F (one gzip member). 0 or -errno. */
int pprof__gzip(FILE *f, const uint8_t *buf, size_t len);

/* Write R's heap profile, gzip-compressed, to F. 0 or -errno. */
int pprof__write(FILE *f, const struct lt_report *r);

/*
 * Name of the KIND profile beside PATH: PATH without a trailing ".pb.gz",
 * then ".KIND.pb.gz". 0, or -ENAMETOOLONG when it does not fit in LEN.
 */
int pprof__sibling(const char *path, const char *kind, char *out, size_t len);

/*
 * Write the heap profile to PATH, and the threads and timers profiles to
 * their siblings when the report has those sections. Every file is
 * replaced whole (sink__replace), never seen half-written. 0 or -errno
 * (a message is printed).
 */
int pprof__write_files(const char *path, const struct lt_report *r);

#endif /* LT_PPROF_H */
