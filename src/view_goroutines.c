// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The goroutines section (Go programs): v[0] live goroutines of a creation
 * site (the `go` statement, gopc, and the start function); label: the start
 * function as pprof names it; counts: how many wait for what ("chan
 * receive", "select", "IO wait"...) or are running, runnable or in a
 * syscall; oldest_age_s: the longest wait; stack2: the most common stack
 * of its goroutines where they are blocked. extra[0]: goroutines in all,
 * as runtime.NumGoroutine counts them; extra[1]: the runtime's own (never
 * attributed to a site); extra[2]: Go processes read; extra[3]: with
 * --go-ancestry, goroutines made since the attach whose ancestry is not
 * known (evicted or missed); extra[4]: microseconds the snapshots of the
 * report took. Pure.
 */
#include <inttypes.h>
#include <string.h>
#include "report.h"
#include "trackers.h"

/* A `go` statement compiles to a closure: caller.funcN (gowrapN from Go 1.22). */
static bool is_wrapper(const char *name)
{
	const char *dot = name ? strrchr(name, '.') : NULL;

	return dot && (!strncmp(dot + 1, "func", 4) || !strncmp(dot + 1, "gowrap", 6));
}

static void text_head(FILE *f, const struct lt_report *r, const struct lt_section *s)
{
	(void)r;
	fprintf(f, "GOROUTINES: %" PRId64 " in %" PRId64 " Go process%s (as runtime.NumGoroutine counts them), "
		"%" PRId64 " more of the runtime's own; ", s->extra[0], s->extra[2],
		s->extra[2] == 1 ? "" : "es", s->extra[1]);
	text_sites(f, s);
	fprintf(f, "; read in %.1f ms", s->extra[4] / 1000.0);
	if (s->extra[3])
		fprintf(f, "; %" PRId64 " made since the attach without their ancestry", s->extra[3]);
	fputc('\n', f);
}

static void text_site(FILE *f, const struct lt_section *sec, const struct lt_site *s, int i)
{
	(void)sec;
	fprintf(f, "  #%d %" PRId64 " goroutine%s (%s%" PRId64 " since last), %s, start %s", i + 1, s->v[0],
		s->v[0] == 1 ? "" : "s", s->delta >= 0 ? "+" : "", s->delta, trend__name(s->trend),
		s->label ? s->label : "?");
	if (is_wrapper(s->label))
		fprintf(f, " (the closure a go statement compiles to)");
	for (int k = 0; k < s->ncounts; k++)
		fprintf(f, "%s %" PRId64 " %s", k ? "," : ";", s->counts[k].n, s->counts[k].name);
	if (s->oldest_age_s >= 0)
		fprintf(f, ", oldest wait %.1f s", s->oldest_age_s);
	fprintf(f, " — pid %d (%s)%s\n", s->pid, s->comm, s->truncated ? " [stack truncated]" : "");
}

/* The creation site's frames come first (the engine's); where they block after. */
static void text_after(FILE *f, const struct lt_site *s)
{
	if (!s->nstack2)
		return;
	fprintf(f, "      blocked in:\n");
	text_frames(f, s->stack2, s->nstack2);
}

/* -a: a Go process among the top ones by growth. */
static void text_proc(FILE *f, const struct lt_proc *p, int i, int n)
{
	fprintf(f, " GO PROCESS %d/%d: pid %d (%s), %" PRId64 " goroutines, %s%" PRId64 " since last\n",
		i + 1, n, p->pid, p->comm, p->v[0], p->delta >= 0 ? "+" : "", p->delta);
}

static void json_head(FILE *f, const struct lt_section *s)
{
	fprintf(f, "\"total\":%" PRId64 ",\"runtime\":%" PRId64 ",\"processes\":%" PRId64
		",\"ancestry_lost\":%" PRId64 ",\"read_ms\":%.3f,", s->extra[0], s->extra[1], s->extra[2],
		s->extra[3], s->extra[4] / 1000.0);
	if (s->procs) {
		/* -a: the top Go processes by growth */
		fprintf(f, "\"top_processes\":[");
		for (int i = 0; i < s->nprocs; i++) {
			fprintf(f, "%s{\"pid\":%d,\"comm\":", i ? "," : "", s->procs[i].pid);
			json_str(f, s->procs[i].comm);
			fprintf(f, ",\"goroutines\":%" PRId64 ",\"delta\":%" PRId64 "}", s->procs[i].v[0],
				s->procs[i].delta);
		}
		fputs("],", f);
	}
}

static void json_site(FILE *f, const struct lt_site *s)
{
	fprintf(f, "\"count\":%" PRId64 ",\"delta\":%" PRId64 ",\"start_func\":", s->v[0], s->delta);
	json_str(f, s->label);
	fprintf(f, ",\"start_func_is_go_wrapper\":%s,\"states\":{", is_wrapper(s->label) ? "true" : "false");
	for (int k = 0; k < s->ncounts; k++) {
		fputs(k ? "," : "", f);
		json_str(f, s->counts[k].name);
		fprintf(f, ":%" PRId64, s->counts[k].n);
	}
	fputs("},\"oldest_wait_s\":", f);
	json_age(f, s->oldest_age_s);
	fputc(',', f);
	json_frames(f, "blocked_stack", s->stack2, s->nstack2);
	fputc(',', f);
}

static int labels(const struct lt_site *s, struct lt_label *out, int max)
{
	int n = 0;

	if (s->label && n < max)
		out[n++] = (struct lt_label){ .key = "start_func", .str = s->label };
	if (s->ncounts && n < max)	/* the most common state */
		out[n++] = (struct lt_label){ .key = "state", .str = s->counts[0].name };
	return n;
}

/* Go's own goroutine profiles: goroutine/count. */
static const struct lt_pprof_desc pprof = {
	.sibling = "goroutine", .labels = labels, .nvalues = 1,
	.values = { { "goroutine", "count", 0 } },
	.period_type = "goroutine", .period_unit = "count", .default_type = "goroutine",
};

const struct lt_view lt_view_goroutines = {
	.key = "goroutines", .nsort = 1, .folded_value = 0, .pprof = &pprof,
	.text_head = text_head, .text_site = text_site, .text_after = text_after, .text_proc = text_proc,
	.json_head = json_head, .json_site = json_site,
};
