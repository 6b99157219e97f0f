// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The timers section: v[0] open, v[1] periodic; label: the kind
 * ("timerfd", "posix"); num: the interval of the periodic ones in ns;
 * num2: timerfd expirations not yet read (-1: unknown); note: how closes
 * are seen. Pure.
 */
#include <inttypes.h>
#include "report.h"
#include "trackers.h"

static void text_head(FILE *f, const struct lt_report *r, const struct lt_section *s)
{
	(void)r;
	fprintf(f, "TIMERS: %" PRId64 " open; ", s->tot[0]);
	text_sites(f, s);
	if (s->note)
		fprintf(f, "; closes seen by %s", s->note);
	fprintf(f, "\n");
}

static void text_site(FILE *f, const struct lt_section *sec, const struct lt_site *s, int i)
{
	(void)sec;
	fprintf(f, "  #%d %" PRId64 " open %s (%s%" PRId64 " since last), %s, %" PRId64 " periodic",
		i + 1, s->v[0], s->label ? s->label : "?", s->delta >= 0 ? "+" : "", s->delta,
		trend__name(s->trend), s->v[1]);
	if (s->num)
		fprintf(f, " every %.3f s", s->num / 1e9);
	if (s->num2 >= 0)
		fprintf(f, ", %" PRId64 " unread expirations", s->num2);
	if (s->oldest_age_s >= 0)
		fprintf(f, ", oldest %.1f s", s->oldest_age_s);
	fprintf(f, " — pid %d (%s)%s\n", s->pid, s->comm, s->truncated ? " [stack truncated]" : "");
}

static void json_head(FILE *f, const struct lt_section *s)
{
	fprintf(f, "\"open\":%" PRId64 ",", s->tot[0]);
}

static void json_site(FILE *f, const struct lt_site *s)
{
	fprintf(f, "\"open\":%" PRId64 ",\"kind\":", s->v[0]);
	json_str(f, s->label);
	fprintf(f, ",\"periodic\":%" PRId64 ",\"interval_ns\":%" PRIu64 ",\"delta\":%" PRId64
		",\"expirations\":", s->v[1], s->num, s->delta);
	if (s->num2 >= 0)
		fprintf(f, "%" PRId64, s->num2);
	else
		fputs("null", f);
	fputs(",\"oldest_age_s\":", f);
	json_age(f, s->oldest_age_s);
	fputc(',', f);
}

static int labels(const struct lt_site *s, struct lt_label *out, int max)
{
	int n = 0;

	if (s->label && n < max)
		out[n++] = (struct lt_label){ .key = "kind", .str = s->label };
	if (n < max)
		out[n++] = (struct lt_label){ .key = "interval_ns", .num = (int64_t)s->num,
					      .unit = "nanoseconds" };
	return n;
}

static const struct lt_pprof_desc pprof = {
	.sibling = "timers", .labels = labels, .nvalues = 2,
	.values = { { "open", "count", 0 }, { "periodic", "count", 1 } },
	.period_type = "timers", .period_unit = "count", .default_type = "open",
};

const struct lt_view lt_view_timers = {
	.key = "timers", .nsort = 1, .folded_value = -1, .pprof = &pprof,
	.text_head = text_head, .text_site = text_site, .json_head = json_head, .json_site = json_site,
};
