/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * pprof output: gzip-compressed profile.proto (github.com/google/pprof,
 * proto/profile.proto), hand-encoded, compressed with zlib. A pure
 * encoder: sink.c owns the files.
 *
 * One profile per section whose view has one (struct lt_pprof_desc): one
 * sample per shown site, with the values the description names (the
 * memory section: inuse_objects/count and inuse_space/bytes, default
 * inuse_space, period_type space/bytes, as Go's heap profiles), location
 * ids innermost first. One Location per frame address; the inlined frames
 * at that address are its Line entries, innermost first, the containing
 * function last. A stack whose walk stopped early gets a "[truncated]"
 * root frame. Every sample carries the labels pid (number), comm and trend
 * (strings), then the view's own (the threads profile: start_routine and
 * libc_internal; the timers profile: kind and interval_ns).
 *
 * The memory profile goes to the file -o names; the others to siblings:
 * pprof__sibling("heap.pb.gz", "threads") is "heap.threads.pb.gz".
 */
#ifndef LT_PPROF_H
#define LT_PPROF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "report.h"

/*
 * Encode SEC's profile (D, or SEC's view's when D is NULL; SEC NULL: no
 * samples), uncompressed, into a malloc'd buffer. 0 or -errno.
 */
int pprof__encode(const struct lt_report *r, const struct lt_section *sec, const struct lt_pprof_desc *d,
		  uint8_t **buf, size_t *len);
/* gzip BUF into F (one gzip member). 0 or -errno. */
int pprof__gzip(FILE *f, const uint8_t *buf, size_t len);
/* The same profile, gzip-compressed, to F. 0 or -errno. */
int pprof__write_section(FILE *f, const struct lt_report *r, const struct lt_section *sec,
			 const struct lt_pprof_desc *d);
/* The section whose profile goes to the file -o names (memory), or NULL. */
const struct lt_section *pprof__main_section(const struct lt_report *r);
/* That profile (else the first section's that has one) to F. 0, -ENOENT (no profile), or -errno. */
int pprof__write(FILE *f, const struct lt_report *r);

/*
 * Name of the KIND profile beside PATH: PATH without a trailing ".pb.gz",
 * then ".KIND.pb.gz". 0, or -ENAMETOOLONG when it does not fit in LEN.
 */
int pprof__sibling(const char *path, const char *kind, char *out, size_t len);

#endif /* LT_PPROF_H */
