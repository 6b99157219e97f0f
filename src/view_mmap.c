// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The mmap section (--mmap): v[0] bytes of anonymous mappings still
 * mapped, v[1] mappings with something left (regions); rate in bytes per
 * second. Pure.
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
	fprintf(f, "MMAP: %" PRId64 " bytes (%s) of anonymous mappings in %" PRId64 " regions, %s%s since the last report; ",
		s->tot[0], b1, s->tot[1], s->delta >= 0 ? "+" : "", b2);
	text_sites(f, s);
	fputc('\n', f);
}

static void text_site(FILE *f, const struct lt_section *sec, const struct lt_site *s, int i)
{
	char b1[32];

	(void)sec;
	fmt_bytes(b1, sizeof(b1), s->v[0]);
	fprintf(f, "  #%d %" PRId64 " bytes (%s) in %" PRId64 " region%s, %s%" PRId64 " since last, %s",
		i + 1, s->v[0], b1, s->v[1], s->v[1] == 1 ? "" : "s", s->delta >= 0 ? "+" : "", s->delta,
		trend__name(s->trend));
	if (s->oldest_age_s >= 0)
		fprintf(f, ", oldest %.1f s", s->oldest_age_s);
	fprintf(f, " — pid %d (%s)%s\n", s->pid, s->comm, s->truncated ? " [stack truncated]" : "");
}

static void json_head(FILE *f, const struct lt_section *s)
{
	fprintf(f, "\"bytes\":%" PRId64 ",\"regions\":%" PRId64 ",\"delta_bytes\":%" PRId64 ",", s->tot[0],
		s->tot[1], s->delta);
}

static void json_site(FILE *f, const struct lt_site *s)
{
	fprintf(f, "\"bytes\":%" PRId64 ",\"regions\":%" PRId64 ",\"delta_bytes\":%" PRId64 ",\"oldest_age_s\":",
		s->v[0], s->v[1], s->delta);
	json_age(f, s->oldest_age_s);
	fputc(',', f);
}

static const struct lt_pprof_desc pprof = {
	.sibling = "mmap", .nvalues = 2,
	.values = { { "regions", "count", 1 }, { "mapped_space", "bytes", 0 } },
	.period_type = "space", .period_unit = "bytes", .default_type = "mapped_space",
};

const struct lt_view lt_view_mmap = {
	.key = "mmap", .by_sort_key = true, .nsort = 2, .drop_empty = true, .folded_value = 0, .pprof = &pprof,
	.text_head = text_head, .text_site = text_site, .json_head = json_head, .json_site = json_site,
};
