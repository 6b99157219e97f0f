// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Report writers: text for people, JSON Lines for tools (the contract in
 * docs/design.md, "JSON"), folded stacks for flame graphs. pprof is in
 * pprof.c. Written once for every section: a section's view writes what
 * is its own (src/view_*.c), the writers everything else.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "report.h"

static void fmt_time(char *buf, size_t len, const struct timespec *ts)
{
	struct tm tm;

	gmtime_r(&ts->tv_sec, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void text_frame(FILE *f, const struct lt_frame *fr);

void text_frames(FILE *f, const struct lt_frame *st, int n)
{
	for (int i = 0; i < n; i++)
		text_frame(f, &st[i]);
}

static void text_frame(FILE *f, const struct lt_frame *fr)
{
	fprintf(f, "        ");
	if (fr->func)
		fprintf(f, "%s+0x%" PRIx64, fr->func, fr->offset);
	else if (fr->module && fr->module[0] == '/')	/* for addr2line on a debug build */
		fprintf(f, "%s+0x%" PRIx64, strrchr(fr->module, '/') + 1, fr->module_off);
	else
		fprintf(f, "0x%" PRIx64, fr->addr);
	if (fr->file && fr->line)
		fprintf(f, " (%s:%d)", fr->file, fr->line);
	if (fr->inlined)
		fprintf(f, " [inlined]");
	fprintf(f, " [%s]\n", fr->module ? fr->module : "unknown");
}

/* The -a line before the first site of each top process. */
static void text_proc_line(FILE *f, const struct lt_section *sec, int i)
{
	const struct lt_site *s = &sec->sites[i];

	if (!sec->procs || !sec->view->text_proc || (i > 0 && sec->sites[i - 1].pid == s->pid))
		return;
	for (int p = 0; p < sec->nprocs; p++)
		if (sec->procs[p].pid == s->pid)
			sec->view->text_proc(f, &sec->procs[p], p, sec->nprocs_total);
}

int output__text(FILE *f, const struct lt_report *r)
{
	char when[32];
	bool any = false;
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

	for (int k = 0; k < r->nsecs; k++) {
		const struct lt_section *sec = &r->secs[k];

		sec->view->text_head(f, r, sec);
		for (i = 0; i < sec->nsites; i++) {
			text_proc_line(f, sec, i);
			sec->view->text_site(f, sec, &sec->sites[i], i);
			text_frames(f, sec->sites[i].stack, sec->sites[i].nstack);
			if (sec->view->text_after)
				sec->view->text_after(f, &sec->sites[i]);
		}
	}

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

void json_frames(FILE *f, const char *key, const struct lt_frame *st, int n)
{
	fprintf(f, "\"%s\":[", key);
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

static void json_section(FILE *f, const struct lt_section *sec)
{
	fprintf(f, ",\"%s\":{", sec->view->key);
	if (sec->view->json_head)
		sec->view->json_head(f, sec);
	fprintf(f, "\"sites_total\":%d,\"sites\":[", sec->nsites_total);
	for (int i = 0; i < sec->nsites; i++) {
		const struct lt_site *s = &sec->sites[i];

		fprintf(f, "%s{\"pid\":%d,\"comm\":", i ? "," : "", s->pid);
		json_str(f, s->comm);
		fputc(',', f);
		if (sec->view->json_site)
			sec->view->json_site(f, s);
		fprintf(f, "\"trend\":\"%s\",", trend__name(s->trend));
		json_frames(f, "stack", s->stack, s->nstack);
		fprintf(f, ",\"truncated\":%s}", s->truncated ? "true" : "false");
	}
	fputs("]}", f);
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

	/* -a: the top processes of the section grouped by process */
	for (int k = 0; k < r->nsecs; k++) {
		const struct lt_section *sec = &r->secs[k];

		if (!sec->procs || !sec->view->json_proc)
			continue;
		fprintf(f, ",\"processes_total\":%d,\"processes\":[", sec->nprocs_total);
		for (i = 0; i < sec->nprocs; i++) {
			fprintf(f, "%s{\"pid\":%d,\"comm\":", i ? "," : "", sec->procs[i].pid);
			json_str(f, sec->procs[i].comm);
			fputc(',', f);
			sec->view->json_proc(f, &sec->procs[i]);
			fputc('}', f);
		}
		fputc(']', f);
		break;
	}
	for (int k = 0; k < r->nsecs; k++)
		json_section(f, &r->secs[k]);

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
 * One line per site: "comm;outer;...;inner VALUE", frames outermost
 * first, "??" for a frame without a function name. Inlined frames are
 * frames of their own. A stack whose walk stopped early gets "[truncated]"
 * as its outermost frame, so that it does not pose as a whole stack.
 * Sites whose value is 0 are left out (they add nothing to a flame graph).
 *
 * One section per output: a flame graph has one unit, and counts among
 * bytes would be slivers that distort every percentage. sink.c writes the
 * other sections' lines to sibling files.
 */
int output__folded_section(FILE *f, const struct lt_report *r, const struct lt_section *sec)
{
	(void)r;
	for (int i = 0; sec && sec->view->folded_value >= 0 && i < sec->nsites; i++) {
		const struct lt_site *s = &sec->sites[i];
		int64_t v = s->v[sec->view->folded_value];

		if (v <= 0)
			continue;
		folded_name(f, s->comm);
		if (s->truncated)
			fputs(";[truncated]", f);
		for (int j = s->nstack - 1; j >= 0; j--) {
			fputc(';', f);
			folded_name(f, s->stack[j].func);
		}
		fprintf(f, " %" PRId64 "\n", v);
	}
	fflush(f);
	return ferror(f) ? -EIO : 0;
}

int output__folded(FILE *f, const struct lt_report *r)
{
	for (int k = 0; k < r->nsecs; k++)
		if (r->secs[k].view->folded_value >= 0)
			return output__folded_section(f, r, &r->secs[k]);
	return output__folded_section(f, r, NULL);
}
