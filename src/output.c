// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Report writers: text for people, JSON Lines for tools (DESIGN §4 contract),
 * folded stacks for flame graphs. pprof is in pprof.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "report.h"

const char *trend__name(enum lt_trend t)
{
	switch (t) {
	case LT_TREND_GROWING: return "growing";
	case LT_TREND_STABLE: return "stable";
	case LT_TREND_SHRINKING: return "shrinking";
	default: return "new";
	}
}

/* Names as the JSON contract spells them; the first four are contract. */
const char *drop__name(int idx)
{
	static const char *const names[LT_DROP__MAX] = {
		[LT_DROP_ALLOCS_UNTRACKED] = "allocs_untracked",
		[LT_DROP_STACK_COLLISIONS] = "stack_collisions",
		[LT_DROP_STACK_ERRORS] = "stack_errors",
		[LT_DROP_MISSED_RETURNS] = "missed_returns",
		[LT_DROP_INFLIGHT_FULL] = "inflight_full",
		[LT_DROP_SITES_FULL] = "sites_full",
		[LT_DROP_RINGBUF_LOST] = "ringbuf_lost",
		[LT_DROP_UNMATCHED_RETURNS] = "unmatched_returns",
		[LT_DROP_THREADS_UNTRACKED] = "threads_untracked",
		[LT_DROP_TIMERS_UNTRACKED] = "timers_untracked",
		[LT_DROP_TIMER_MISMATCH] = "timer_mismatch",
	};

	return idx >= 0 && idx < LT_DROP__MAX ? names[idx] : "unknown";
}

void report__free_frames(struct lt_frame *st, int n)
{
	for (int j = 0; j < n; j++) {
		free(st[j].func);
		free(st[j].file);
		free(st[j].module);
		free(st[j].build_id);
	}
	free(st);
}

void report__free_sites(struct lt_report *r)
{
	for (int i = 0; i < r->nsites; i++)
		report__free_frames(r->sites[i].stack, r->sites[i].nstack);
	free(r->sites);
	r->sites = NULL;
	r->nsites = 0;
	for (int i = 0; i < r->ntsites; i++) {
		report__free_frames(r->tsites[i].stack, r->tsites[i].nstack);
		free(r->tsites[i].start_routine);
	}
	free(r->tsites);
	r->tsites = NULL;
	r->ntsites = 0;
	for (int i = 0; i < r->nmsites; i++)
		report__free_frames(r->msites[i].stack, r->msites[i].nstack);
	free(r->msites);
	r->msites = NULL;
	r->nmsites = 0;
	free(r->procs);
	r->procs = NULL;
	r->nprocs = 0;
}

static int timer_cmp(const void *pa, const void *pb)
{
	const struct lt_timer_site *a = pa, *b = pb;

	if (a->open != b->open)
		return b->open - a->open;
	if (a->pid != b->pid)
		return a->pid - b->pid;
	return a->key.caller < b->key.caller ? -1 : a->key.caller > b->key.caller;
}

void report__sort_timers(struct lt_timer_site *sites, int n)
{
	qsort(sites, n, sizeof(*sites), timer_cmp);
}

static int thread_cmp(const void *pa, const void *pb)
{
	const struct lt_thread_site *a = pa, *b = pb;
	int ca = a->live + a->exited_unjoined, cb = b->live + b->exited_unjoined;

	if (ca != cb)
		return cb - ca;
	if (a->exited_unjoined != b->exited_unjoined)
		return b->exited_unjoined - a->exited_unjoined;
	if (a->pid != b->pid)
		return a->pid - b->pid;
	return a->key.caller < b->key.caller ? -1 : a->key.caller > b->key.caller;
}

void report__sort_threads(struct lt_thread_site *sites, int n)
{
	qsort(sites, n, sizeof(*sites), thread_cmp);
}

static enum lt_sort sort_key;

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? 1 : a > b ? -1 : 0;	/* descending */
}

static int site_cmp(const void *pa, const void *pb)
{
	const struct lt_mem_site *a = pa, *b = pb;
	int c = 0;

	switch (sort_key) {
	case LT_SORT_GROWTH:
		/* the change since the last report, then the sampled rate */
		c = cmp_i64(a->delta_bytes, b->delta_bytes);
		if (!c)
			c = a->rate < b->rate ? 1 : a->rate > b->rate ? -1 : 0;
		break;
	case LT_SORT_AGE:
		c = a->oldest_age_s < b->oldest_age_s ? 1 : a->oldest_age_s > b->oldest_age_s ? -1 : 0;
		break;
	default:
		break;
	}
	if (!c)
		c = cmp_i64(a->bytes, b->bytes);
	if (!c)
		c = cmp_i64(a->allocs, b->allocs);
	if (!c)
		c = a->pid - b->pid;
	if (!c && a->nstack && b->nstack)
		c = a->stack[0].addr < b->stack[0].addr ? -1 : a->stack[0].addr > b->stack[0].addr;
	return c;
}

void report__sort(struct lt_mem_site *sites, int n, enum lt_sort key)
{
	sort_key = key;
	qsort(sites, n, sizeof(*sites), site_cmp);
}

static void fmt_bytes(char *buf, size_t len, int64_t b)
{
	uint64_t m = b < 0 ? 0 - (uint64_t)b : (uint64_t)b;	/* INT64_MIN too */
	double v = (double)m;
	const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%s%" PRIu64 " B", b < 0 ? "-" : "", m);
	else
		snprintf(buf, len, "%s%.1f %s", b < 0 ? "-" : "", v, unit[u]);
}

static void fmt_time(char *buf, size_t len, const struct timespec *ts)
{
	struct tm tm;

	gmtime_r(&ts->tv_sec, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void text_frame(FILE *f, const struct lt_frame *fr)
{
	fprintf(f, "        ");
	if (fr->func)
		fprintf(f, "%s+0x%" PRIx64, fr->func, fr->offset);
	else
		fprintf(f, "0x%" PRIx64, fr->addr);
	if (fr->file && fr->line)
		fprintf(f, " (%s:%d)", fr->file, fr->line);
	if (fr->inlined)
		fprintf(f, " [inlined]");
	fprintf(f, " [%s]\n", fr->module ? fr->module : "unknown");
}

int output__text(FILE *f, const struct lt_report *r)
{
	char when[32], b1[32], b2[32];
	int i;

	fmt_time(when, sizeof(when), &r->wall);
	fprintf(f, "leaktrace report %d%s at %s, %.1f s traced;", r->number,
		r->final ? " (final)" : "", when, r->elapsed_s);
	if (r->system_wide)
		fprintf(f, " system-wide, %d processes seen", r->ntargets);
	else
		for (i = 0; i < r->ntargets; i++)
			fprintf(f, " pid %d (%s)%s", r->targets[i].pid, r->targets[i].comm,
				r->targets[i].exited ? " [exited]" : "");
	fprintf(f, "\n");

	if (r->has_mem) {
		fmt_bytes(b1, sizeof(b1), r->mem_bytes);
		fmt_bytes(b2, sizeof(b2), r->mem_delta_bytes);
		fprintf(f, "MEMORY: %" PRId64 " bytes (%s) outstanding in %" PRId64
			" allocations, %s%s since the last report; %d site%s",
			r->mem_bytes, b1, r->mem_allocs, r->mem_delta_bytes >= 0 ? "+" : "", b2,
			r->nsites_total, r->nsites_total == 1 ? "" : "s");
		if (r->nsites < r->nsites_total)
			fprintf(f, ", top %d shown", r->nsites);
		fprintf(f, "\n");
		for (i = 0; i < r->nsites; i++) {
			const struct lt_mem_site *s = &r->sites[i];

			for (int p = 0; r->procs && p < r->nprocs; p++) {
				if (r->procs[p].pid == s->pid && (i == 0 || r->sites[i - 1].pid != s->pid)) {
					fmt_bytes(b1, sizeof(b1), r->procs[p].bytes);
					fprintf(f, " PROCESS %d/%d: pid %d (%s), %s outstanding in %" PRId64
						" allocations, %s%" PRId64 " bytes since last\n", p + 1, r->nprocs_total,
						r->procs[p].pid, r->procs[p].comm, b1, r->procs[p].allocs,
						r->procs[p].delta_bytes >= 0 ? "+" : "", r->procs[p].delta_bytes);
				}
			}
			fmt_bytes(b1, sizeof(b1), s->bytes);
			fprintf(f, "  #%d %" PRId64 " bytes (%s) in %" PRId64 " allocation%s, %s%" PRId64
				" since last, %s", i + 1, s->bytes, b1, s->allocs, s->allocs == 1 ? "" : "s",
				s->delta_bytes >= 0 ? "+" : "", s->delta_bytes, trend__name(s->trend));
			if (s->oldest_age_s >= 0)
				fprintf(f, ", oldest %.1f s", s->oldest_age_s);
			fprintf(f, " — pid %d (%s)%s\n", s->pid, s->comm,
				s->truncated ? " [stack truncated]" : "");
			for (int j = 0; j < s->nstack; j++)
				text_frame(f, &s->stack[j]);
		}
	}

	if (r->has_threads) {
		fprintf(f, "THREADS: %d live and %d exited-unjoined from tracked creation sites; %d threads running in all, %d of them from before the attach; %d site%s",
			r->threads_live, r->threads_exited_unjoined, r->threads_total_live,
			r->threads_preexisting, r->ntsites_total, r->ntsites_total == 1 ? "" : "s");
		if (r->ntsites < r->ntsites_total)
			fprintf(f, ", top %d shown", r->ntsites);
		fprintf(f, "\n");
		for (i = 0; i < r->ntsites; i++) {
			const struct lt_thread_site *s = &r->tsites[i];

			fmt_bytes(b1, sizeof(b1), (int64_t)s->stack_bytes);
			fprintf(f, "  #%d %d live, %d exited-unjoined (%s%d since last), %s, start routine %s, stacks ~%s",
				i + 1, s->live, s->exited_unjoined, s->delta >= 0 ? "+" : "", s->delta,
				trend__name(s->trend), s->start_routine ? s->start_routine : "?", b1);
			if (s->oldest_age_s >= 0)
				fprintf(f, ", oldest %.1f s", s->oldest_age_s);
			fprintf(f, " — pid %d (%s)%s%s\n", s->pid, s->comm,
				s->libc_internal ? " [libc internal]" : "",
				s->truncated ? " [stack truncated]" : "");
			for (int j = 0; j < s->nstack; j++)
				text_frame(f, &s->stack[j]);
		}
	}

	if (r->has_timers) {
		fprintf(f, "TIMERS: %d open; %d site%s", r->timers_open, r->nmsites_total,
			r->nmsites_total == 1 ? "" : "s");
		if (r->nmsites < r->nmsites_total)
			fprintf(f, ", top %d shown", r->nmsites);
		if (r->hooks)
			fprintf(f, "; closes seen by %s", r->hooks);
		fprintf(f, "\n");
		for (i = 0; i < r->nmsites; i++) {
			const struct lt_timer_site *s = &r->msites[i];

			fprintf(f, "  #%d %d open %s (%s%d since last), %s, %d periodic",
				i + 1, s->open, s->kind, s->delta >= 0 ? "+" : "", s->delta,
				trend__name(s->trend), s->periodic);
			if (s->interval_ns)
				fprintf(f, " every %.3f s", s->interval_ns / 1e9);
			if (s->expirations >= 0)
				fprintf(f, ", %" PRId64 " unread expirations", s->expirations);
			if (s->oldest_age_s >= 0)
				fprintf(f, ", oldest %.1f s", s->oldest_age_s);
			fprintf(f, " — pid %d (%s)%s\n", s->pid, s->comm, s->truncated ? " [stack truncated]" : "");
			for (int j = 0; j < s->nstack; j++)
				text_frame(f, &s->stack[j]);
		}
	}

	bool any = false;

	for (i = 0; i < LT_DROP__MAX; i++)
		any |= r->drops[i] != 0;
	if (any) {
		fprintf(f, "DROPS:");
		for (i = 0; i < LT_DROP__MAX; i++)
			if (r->drops[i])
				fprintf(f, " %s=%" PRIu64, drop__name(i), r->drops[i]);
		fprintf(f, "\n");
	}
	fprintf(f, "\n");
	fflush(f);
	return ferror(f) ? -EIO : 0;
}

static void json_str(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (c < 0x20)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	fprintf(f, "%.3f", v);
}

static void json_stack(FILE *f, const struct lt_frame *st, int n)
{
	fputs("\"stack\":[", f);
	for (int j = 0; j < n; j++) {
		const struct lt_frame *fr = &st[j];

		fprintf(f, "%s{\"addr\":\"0x%" PRIx64 "\",\"func\":", j ? "," : "", fr->addr);
		json_str(f, fr->func);
		fprintf(f, ",\"offset\":%" PRIu64 ",\"file\":", fr->offset);
		json_str(f, fr->file);
		if (fr->line)
			fprintf(f, ",\"line\":%d", fr->line);
		else
			fputs(",\"line\":null", f);
		fputs(",\"module\":", f);
		json_str(f, fr->module);
		fprintf(f, ",\"module_offset\":%" PRIu64 ",\"inlined\":%s}", fr->module_off,
			fr->inlined ? "true" : "false");
	}
	fputc(']', f);
}

int output__json(FILE *f, const struct lt_report *r)
{
	char when[32];
	int i;

	fmt_time(when, sizeof(when), &r->wall);
	fprintf(f, "{\"version\":1,\"time\":\"%s\",\"elapsed_s\":", when);
	json_num(f, r->elapsed_s);
	fprintf(f, ",\"report\":%d,\"final\":%s,\"targets\":[", r->number, r->final ? "true" : "false");
	for (i = 0; i < r->ntargets; i++) {
		fprintf(f, "%s{\"pid\":%d,\"comm\":", i ? "," : "", r->targets[i].pid);
		json_str(f, r->targets[i].comm);
		fprintf(f, ",\"exited\":%s}", r->targets[i].exited ? "true" : "false");
	}
	fputc(']', f);

	if (r->procs) {
		fprintf(f, ",\"processes_total\":%d,\"processes\":[", r->nprocs_total);
		for (i = 0; i < r->nprocs; i++) {
			fprintf(f, "%s{\"pid\":%d,\"comm\":", i ? "," : "", r->procs[i].pid);
			json_str(f, r->procs[i].comm);
			fprintf(f, ",\"bytes\":%" PRId64 ",\"allocs\":%" PRId64 ",\"delta_bytes\":%" PRId64 "}",
				r->procs[i].bytes, r->procs[i].allocs, r->procs[i].delta_bytes);
		}
		fputc(']', f);
	}
	if (r->has_mem) {
		fprintf(f, ",\"memory\":{\"outstanding_bytes\":%" PRId64 ",\"outstanding_allocs\":%" PRId64
			",\"delta_bytes\":%" PRId64 ",\"sites_total\":%d,\"sites\":[",
			r->mem_bytes, r->mem_allocs, r->mem_delta_bytes, r->nsites_total);
		for (i = 0; i < r->nsites; i++) {
			const struct lt_mem_site *s = &r->sites[i];

			fprintf(f, "%s{\"pid\":%d,\"comm\":", i ? "," : "", s->pid);
			json_str(f, s->comm);
			fprintf(f, ",\"bytes\":%" PRId64 ",\"allocs\":%" PRId64 ",\"delta_bytes\":%" PRId64
				",\"oldest_age_s\":", s->bytes, s->allocs, s->delta_bytes);
			if (s->oldest_age_s >= 0)
				json_num(f, s->oldest_age_s);
			else
				fputs("null", f);
			fprintf(f, ",\"trend\":\"%s\",\"bytes_per_s\":%.1f,", trend__name(s->trend), s->rate);
			json_stack(f, s->stack, s->nstack);
			fprintf(f, ",\"truncated\":%s}", s->truncated ? "true" : "false");
		}
		fputs("]}", f);
	}

	if (r->has_threads) {
		fprintf(f, ",\"threads\":{\"live\":%d,\"exited_unjoined\":%d,\"total_live\":%d,\"preexisting\":%d,\"sites_total\":%d,\"sites\":[",
			r->threads_live, r->threads_exited_unjoined, r->threads_total_live,
			r->threads_preexisting, r->ntsites_total);
		for (i = 0; i < r->ntsites; i++) {
			const struct lt_thread_site *s = &r->tsites[i];

			fprintf(f, "%s{\"pid\":%d,\"comm\":", i ? "," : "", s->pid);
			json_str(f, s->comm);
			fprintf(f, ",\"live\":%d,\"exited_unjoined\":%d,\"delta\":%d,\"start_routine\":",
				s->live, s->exited_unjoined, s->delta);
			json_str(f, s->start_routine);
			fputs(",\"oldest_age_s\":", f);
			if (s->oldest_age_s >= 0)
				json_num(f, s->oldest_age_s);
			else
				fputs("null", f);
			fprintf(f, ",\"stack_bytes\":%" PRIu64 ",\"libc_internal\":%s,\"trend\":\"%s\",",
				s->stack_bytes, s->libc_internal ? "true" : "false", trend__name(s->trend));
			json_stack(f, s->stack, s->nstack);
			fprintf(f, ",\"truncated\":%s}", s->truncated ? "true" : "false");
		}
		fputs("]}", f);
	}

	if (r->has_timers) {
		fprintf(f, ",\"timers\":{\"open\":%d,\"sites_total\":%d,\"sites\":[", r->timers_open,
			r->nmsites_total);
		for (i = 0; i < r->nmsites; i++) {
			const struct lt_timer_site *s = &r->msites[i];

			fprintf(f, "%s{\"pid\":%d,\"comm\":", i ? "," : "", s->pid);
			json_str(f, s->comm);
			fprintf(f, ",\"open\":%d,\"kind\":\"%s\",\"periodic\":%d,\"interval_ns\":%" PRIu64
				",\"delta\":%d,\"expirations\":", s->open, s->kind, s->periodic, s->interval_ns, s->delta);
			if (s->expirations >= 0)
				fprintf(f, "%" PRId64, s->expirations);
			else
				fputs("null", f);
			fputs(",\"oldest_age_s\":", f);
			if (s->oldest_age_s >= 0)
				json_num(f, s->oldest_age_s);
			else
				fputs("null", f);
			fprintf(f, ",\"trend\":\"%s\",", trend__name(s->trend));
			json_stack(f, s->stack, s->nstack);
			fprintf(f, ",\"truncated\":%s}", s->truncated ? "true" : "false");
		}
		fputs("]}", f);
	}

	fprintf(f, ",\"maps\":{\"allocs\":%" PRId64 ",\"sites\":%" PRId64 ",\"stacks\":%" PRId64 "}",
		r->map_allocs, r->map_sites, r->map_stacks);
	fputs(",\"drops\":{", f);
	for (i = 0; i < LT_DROP__MAX; i++)
		fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", drop__name(i), r->drops[i]);
	fputc('}', f);
	if (r->hooks) {
		fputs(",\"hooks\":", f);
		json_str(f, r->hooks);
	}
	fputs("}\n", f);
	fflush(f);
	return ferror(f) ? -EIO : 0;
}

/* A frame name for folded output: ';' separates frames and '\n' lines. */
static void folded_name(FILE *f, const char *s)
{
	if (!s || !*s) {
		fputs("??", f);
		return;
	}
	for (; *s; s++) {
		char c = *s;

		if (c == ';')
			c = ':';
		else if (c == '\n' || c == '\r')
			c = ' ';
		fputc(c, f);
	}
}

/*
 * One line per memory site: "comm;outer;...;inner bytes", frames outermost
 * first, "??" for a frame without a function name. Inlined frames are frames
 * of their own. A stack whose walk stopped early gets "[truncated]" as its
 * outermost frame, so that it does not pose as a whole stack. Sites holding
 * no bytes are left out (they add nothing to a flame graph).
 *
 * Memory only: a flame graph has one unit, and thread or timer counts among
 * bytes would be slivers that distort every percentage (and the lines would
 * no longer add up to outstanding_bytes). Threads and timers are in the
 * pprof sibling profiles (a flame graph with go tool pprof -http) and in
 * JSON. Without the memory tracker the output is empty.
 */
int output__folded(FILE *f, const struct lt_report *r)
{
	if (r->has_mem) {
		for (int i = 0; i < r->nsites; i++) {
			const struct lt_mem_site *s = &r->sites[i];

			if (s->bytes <= 0)
				continue;
			folded_name(f, s->comm);
			if (s->truncated)
				fputs(";[truncated]", f);
			for (int j = s->nstack - 1; j >= 0; j--) {
				fputc(';', f);
				folded_name(f, s->stack[j].func);
			}
			fprintf(f, " %" PRId64 "\n", s->bytes);
		}
	}
	fflush(f);
	return ferror(f) ? -EIO : 0;
}
