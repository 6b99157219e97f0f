// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The threads section: v[0] threads (live + exited-unjoined), v[1]
 * exited-unjoined, v[2] live, v[3] their estimated stack reservation in
 * bytes; label: the start routine; flags: LT_THREAD_LIBC_INTERNAL.
 * extra[0]: threads running in all, extra[1]: from before the attach. Pure.
 */
#include <inttypes.h>
#include "report.h"
#include "trackers.h"

static void text_head(FILE *f, const struct lt_report *r, const struct lt_section *s)
{
	(void)r;
	fprintf(f, "THREADS: %" PRId64 " live and %" PRId64 " exited-unjoined from tracked creation sites; %" PRId64
		" threads running in all, %" PRId64 " of them from before the attach; ",
		s->tot[2], s->tot[1], s->extra[0], s->extra[1]);
	text_sites(f, s);
	fputc('\n', f);
}

static void text_site(FILE *f, const struct lt_section *sec, const struct lt_site *s, int i)
{
	char b1[32];

	(void)sec;
	fmt_bytes(b1, sizeof(b1), s->v[3]);
	fprintf(f, "  #%d %" PRId64 " live, %" PRId64 " exited-unjoined (%s%" PRId64 " since last), %s, start routine %s, stacks ~%s",
		i + 1, s->v[2], s->v[1], s->delta >= 0 ? "+" : "", s->delta,
		trend__name(s->trend), s->label ? s->label : "?", b1);
	if (s->oldest_age_s >= 0)
		fprintf(f, ", oldest %.1f s", s->oldest_age_s);
	fprintf(f, " — pid %d (%s)%s%s\n", s->pid, s->comm,
		s->flags & LT_THREAD_LIBC_INTERNAL ? " [libc internal]" : "",
		s->truncated ? " [stack truncated]" : "");
}

static void json_head(FILE *f, const struct lt_section *s)
{
	fprintf(f, "\"live\":%" PRId64 ",\"exited_unjoined\":%" PRId64 ",\"total_live\":%" PRId64
		",\"preexisting\":%" PRId64 ",", s->tot[2], s->tot[1], s->extra[0], s->extra[1]);
}

static void json_site(FILE *f, const struct lt_site *s)
{
	fprintf(f, "\"live\":%" PRId64 ",\"exited_unjoined\":%" PRId64 ",\"delta\":%" PRId64
		",\"start_routine\":", s->v[2], s->v[1], s->delta);
	json_str(f, s->label);
	fputs(",\"oldest_age_s\":", f);
	json_age(f, s->oldest_age_s);
	fprintf(f, ",\"stack_bytes\":%" PRId64 ",\"libc_internal\":%s,", s->v[3],
		s->flags & LT_THREAD_LIBC_INTERNAL ? "true" : "false");
}

/*
 * The start routine is a label, not a frame: it does not run on the
 * creation stack.
 */
static int labels(const struct lt_site *s, struct lt_label *out, int max)
{
	int n = 0;

	if (s->label && n < max)
		out[n++] = (struct lt_label){ .key = "start_routine", .str = s->label };
	if ((s->flags & LT_THREAD_LIBC_INTERNAL) && n < max)
		out[n++] = (struct lt_label){ .key = "libc_internal", .str = "true" };
	return n;
}

static const struct lt_pprof_desc pprof = {
	.sibling = "threads", .labels = labels, .nvalues = 4,
	.values = { { "threads", "count", 0 }, { "live", "count", 2 },
		    { "exited_unjoined", "count", 1 }, { "stack_reservation", "bytes", 3 } },
	.period_type = "threads", .period_unit = "count", .default_type = "threads",
};

const struct lt_view lt_view_threads = {
	.key = "threads", .nsort = 2, .folded_value = -1, .pprof = &pprof,
	.text_head = text_head, .text_site = text_site, .json_head = json_head, .json_site = json_site,
};
