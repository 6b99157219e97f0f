// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The fds section: v[0] fds open; counts: open by kind (file, tcp, udp,
 * unix, pipe, eventfd, epoll, other); label: one path or address (the
 * oldest fd's). extra[0]: RLIMIT_NOFILE of the process nearest its limit,
 * extra[1]: fds from before the attach, extra[2]: fds open in all,
 * extra[3]: fds not seen made; procs: each process's v[0] fds open in
 * all, v[1] its RLIMIT_NOFILE, v[2] from before the attach, v[3] not seen
 * made; note: how closes are seen. Pure.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "report.h"
#include "trackers.h"

/* "1,013" */
static void fmt_count(char *buf, size_t len, int64_t v)
{
	char digits[32];
	size_t n, o = 0;

	snprintf(digits, sizeof(digits), "%" PRId64, v < 0 ? -v : v);
	n = strlen(digits);
	if (v < 0 && o + 1 < len)
		buf[o++] = '-';
	for (size_t i = 0; i < n && o + 2 < len; i++) {
		buf[o++] = digits[i];
		if ((n - i - 1) % 3 == 0 && i + 1 < n)
			buf[o++] = ',';
	}
	buf[o] = 0;
}

static void text_limit(FILE *f, int64_t limit)
{
	char b[32];

	if (limit == INT64_MAX) {
		fputs("unlimited", f);
	} else if (limit > 0) {
		fmt_count(b, sizeof(b), limit);
		fputs(b, f);
	} else {
		fputs("?", f);
	}
}

static void text_head(FILE *f, const struct lt_report *r, const struct lt_section *s)
{
	(void)r;
	fprintf(f, "FDS: %" PRId64 " open from tracked creation sites, %s%" PRId64 " since the last report; ",
		s->tot[0], s->delta >= 0 ? "+" : "", s->delta);
	text_sites(f, s);
	if (s->note)
		fprintf(f, "; closes seen by %s", s->note);
	fputc('\n', f);
	for (int i = 0; i < s->nprocs; i++) {
		const struct lt_proc *p = &s->procs[i];
		char b[32];

		fmt_count(b, sizeof(b), p->v[0]);
		fprintf(f, "  pid %d (%s): %s of ", p->pid, p->comm, b);
		text_limit(f, p->v[1]);
		fprintf(f, " fds open (RLIMIT_NOFILE), %" PRId64 " from before the attach, %" PRId64
			" not seen made\n", p->v[2], p->v[3]);
	}
}

static void text_site(FILE *f, const struct lt_section *sec, const struct lt_site *s, int i)
{
	bool first = true;

	(void)sec;
	fprintf(f, "  #%d %" PRId64 " open (", i + 1, s->v[0]);
	for (int k = 0; k < s->ncounts; k++) {
		if (!s->counts[k].n)
			continue;
		fprintf(f, "%s%s %" PRId64, first ? "" : ", ", s->counts[k].name, s->counts[k].n);
		first = false;
	}
	fprintf(f, "%s), %s%" PRId64 " since last, %s", first ? "?" : "", s->delta >= 0 ? "+" : "",
		s->delta, trend__name(s->trend));
	if (s->oldest_age_s >= 0)
		fprintf(f, ", oldest %.1f s", s->oldest_age_s);
	if (s->label)
		fprintf(f, ", e.g. %s", s->label);
	fprintf(f, " — pid %d (%s)%s\n", s->pid, s->comm, s->truncated ? " [stack truncated]" : "");
}

static void json_limit(FILE *f, int64_t limit)
{
	if (limit > 0 && limit != INT64_MAX)
		fprintf(f, "%" PRId64, limit);
	else
		fputs("null", f);
}

static void json_head(FILE *f, const struct lt_section *s)
{
	fprintf(f, "\"open\":%" PRId64 ",\"delta\":%" PRId64 ",\"preexisting\":%" PRId64 ",\"limit\":",
		s->tot[0], s->delta, s->extra[1]);
	json_limit(f, s->extra[0]);
	fprintf(f, ",\"total_open\":%" PRId64 ",\"untracked\":%" PRId64 ",\"processes\":[", s->extra[2],
		s->extra[3]);
	for (int i = 0; i < s->nprocs; i++) {
		const struct lt_proc *p = &s->procs[i];

		fprintf(f, "%s{\"pid\":%d,\"comm\":", i ? "," : "", p->pid);
		json_str(f, p->comm);
		fprintf(f, ",\"open\":%" PRId64 ",\"limit\":", p->v[0]);
		json_limit(f, p->v[1]);
		fprintf(f, ",\"preexisting\":%" PRId64 ",\"untracked\":%" PRId64 "}", p->v[2], p->v[3]);
	}
	fputs("],", f);
}

static void json_site(FILE *f, const struct lt_site *s)
{
	static const char *const kinds[] = { "file", "tcp", "udp", "unix", "pipe", "eventfd", "epoll", "other" };

	fprintf(f, "\"open\":%" PRId64 ",\"kinds\":{", s->v[0]);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		int64_t n = 0;

		for (int c = 0; c < s->ncounts; c++)
			if (strcmp(s->counts[c].name, kinds[k]) == 0)
				n = s->counts[c].n;
		fprintf(f, "%s\"%s\":%" PRId64, k ? "," : "", kinds[k], n);
	}
	fputs("},\"example\":", f);
	json_str(f, s->label);
	fprintf(f, ",\"delta\":%" PRId64 ",\"oldest_age_s\":", s->delta);
	json_age(f, s->oldest_age_s);
	fputc(',', f);
}

static int labels(const struct lt_site *s, struct lt_label *out, int max)
{
	int n = 0;

	if (s->label && n < max)
		out[n++] = (struct lt_label){ .key = "example", .str = s->label };
	for (int k = 0; k < s->ncounts && n < max; k++)
		if (s->counts[k].n)
			out[n++] = (struct lt_label){ .key = s->counts[k].name, .num = s->counts[k].n,
						      .unit = "count" };
	return n;
}

static const struct lt_pprof_desc pprof = {
	.sibling = "fds", .labels = labels, .nvalues = 1,
	.values = { { "open", "count", 0 } },
	.period_type = "fds", .period_unit = "count", .default_type = "open",
};

const struct lt_view lt_view_fds = {
	.key = "fds", .by_sort_key = true, .nsort = 1, .drop_empty = true, .folded_value = 0, .pprof = &pprof,
	.text_head = text_head, .text_site = text_site, .json_head = json_head, .json_site = json_site,
};
