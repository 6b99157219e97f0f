// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The memory section: v[0] outstanding bytes, v[1] outstanding
 * allocations; rate in bytes per second. extra[0]: the sampling rate
 * (mean bytes between samples; 0: exact), note: who samples ("bpf",
 * "in-process"); when sampling, bytes and counts are estimates and the
 * pprof period is the rate, as in Go's heap profiles. Pure.
 */
#include <inttypes.h>
#include "report.h"
#include "trackers.h"

static void text_head(FILE *f, const struct lt_report *r, const struct lt_section *s)
{
	char b1[32], b2[32];

	(void)r;
	fmt_bytes(b1, sizeof(b1), s->tot[0]);
	fmt_bytes(b2, sizeof(b2), s->delta);
	fprintf(f, "MEMORY: %" PRId64 " bytes (%s) outstanding in %" PRId64
		" allocations, %s%s since the last report; ", s->tot[0], b1, s->tot[1],
		s->delta >= 0 ? "+" : "", b2);
	text_sites(f, s);
	if (s->extra[0] > 0) {
		fmt_bytes(b1, sizeof(b1), s->extra[0]);
		fprintf(f, "; sampled (%s), one allocation per %" PRId64 " bytes (%s) on average: "
			"bytes and counts are estimates", s->note ? s->note : "bpf", s->extra[0], b1);
	}
	fputc('\n', f);
}

static void text_site(FILE *f, const struct lt_section *sec, const struct lt_site *s, int i)
{
	char b1[32];

	(void)sec;
	fmt_bytes(b1, sizeof(b1), s->v[0]);
	fprintf(f, "  #%d %" PRId64 " bytes (%s) in %" PRId64 " allocation%s, %s%" PRId64
		" since last, %s", i + 1, s->v[0], b1, s->v[1], s->v[1] == 1 ? "" : "s",
		s->delta >= 0 ? "+" : "", s->delta, trend__name(s->trend));
	if (s->oldest_age_s >= 0)
		fprintf(f, ", oldest %.1f s", s->oldest_age_s);
	fprintf(f, " — pid %d (%s)%s\n", s->pid, s->comm, s->truncated ? " [stack truncated]" : "");
}

static void text_proc(FILE *f, const struct lt_proc *p, int i, int n)
{
	char b1[32];

	fmt_bytes(b1, sizeof(b1), p->v[0]);
	fprintf(f, " PROCESS %d/%d: pid %d (%s), %s outstanding in %" PRId64
		" allocations, %s%" PRId64 " bytes since last\n", i + 1, n, p->pid, p->comm, b1,
		p->v[1], p->delta >= 0 ? "+" : "", p->delta);
}

static void json_proc(FILE *f, const struct lt_proc *p)
{
	fprintf(f, "\"bytes\":%" PRId64 ",\"allocs\":%" PRId64 ",\"delta_bytes\":%" PRId64,
		p->v[0], p->v[1], p->delta);
}

static void json_head(FILE *f, const struct lt_section *s)
{
	fprintf(f, "\"outstanding_bytes\":%" PRId64 ",\"outstanding_allocs\":%" PRId64
		",\"delta_bytes\":%" PRId64 ",", s->tot[0], s->tot[1], s->delta);
	if (s->extra[0] > 0) {
		fprintf(f, "\"sampling\":{\"rate\":%" PRId64 ",\"source\":", s->extra[0]);
		json_str(f, s->note ? s->note : "bpf");
		fputs("},", f);
	}
}

static void json_site(FILE *f, const struct lt_site *s)
{
	fprintf(f, "\"bytes\":%" PRId64 ",\"allocs\":%" PRId64 ",\"delta_bytes\":%" PRId64
		",\"oldest_age_s\":", s->v[0], s->v[1], s->delta);
	json_age(f, s->oldest_age_s);
	fprintf(f, ",\"bytes_per_s\":%.1f,", s->rate);
}

/* Go's heap profiles' sample types that apply to outstanding memory. */
static const struct lt_pprof_desc pprof = {
	.values = { { "inuse_objects", "count", 1 }, { "inuse_space", "bytes", 0 } }, .nvalues = 2,
	.period_type = "space", .period_unit = "bytes", .period_extra = 1, .default_type = "inuse_space",
};

const struct lt_view lt_view_memory = {
	.key = "memory", .by_sort_key = true, .nsort = 2, .drop_empty = true, .folded_value = 0,
	.text_head = text_head, .text_site = text_site, .text_proc = text_proc,
	.json_head = json_head, .json_site = json_site, .json_proc = json_proc, .pprof = &pprof,
};
