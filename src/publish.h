/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What --serve serves for a report (src/serve.h): the documents of one
 * snapshot, built from the report model. Pure but for the allocations.
 *
 *   /metrics                 Prometheus text (src/metrics.h): one row per
 *                            target; with -a the top processes of the
 *                            sections grouped by process, and "other"
 *   /debug/pprof/heap        the memory section's profile, the same bytes
 *                            as --format pprof writes
 *   /debug/pprof/<sibling>   every other section's profile (threads,
 *                            timers, goroutine, ...)
 *   /report.json             the JSON line of --format json
 */
#ifndef LT_PUBLISH_H
#define LT_PUBLISH_H

#include <stddef.h>
#include <stdint.h>
#include "report.h"

struct serve_snapshot;

struct publish_info {
	uint64_t reports_total;	/* reports made since the start */
	double duration_s;	/* how long the last one took; < 0: none yet */
	const char *version;
};

/* The metrics of R. 0 or -errno; *OUT malloc'd. */
int publish__metrics(const struct lt_report *r, const struct publish_info *pi, char **out, size_t *len);
/* Every document of R, in a new snapshot. NULL + errno. */
struct serve_snapshot *publish__snapshot(const struct lt_report *r, const struct publish_info *pi);
/* The path SEC's profile is served at ("/debug/pprof/heap"), in BUF. */
const char *publish__pprof_path(const struct lt_section *sec, char *buf, size_t len);

#endif /* LT_PUBLISH_H */
