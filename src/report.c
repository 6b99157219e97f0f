// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The report model: sections, their sites, sorting, names. Pure. */
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
		[LT_DROP_FDS_UNTRACKED] = "fds_untracked",
		[LT_DROP_FD_MISMATCH] = "fd_mismatch",
		[LT_DROP_MMAPS_UNTRACKED] = "mmaps_untracked",
		[LT_DROP_SAMPLER_SET_FULL] = "sampler_set_full",
	};

	return idx >= 0 && idx < LT_DROP__MAX && names[idx] ? names[idx] : "unknown";
}

struct lt_section *report__section(const struct lt_report *r, const struct lt_view *view)
{
	for (int i = 0; i < r->nsecs; i++)
		if (r->secs[i].view == view)
			return &r->secs[i];
	return NULL;
}

struct lt_section *report__add_section(struct lt_report *r, const struct lt_view *view)
{
	struct lt_section *n = realloc(r->secs, (r->nsecs + 1) * sizeof(*n));

	if (!n)
		return NULL;
	r->secs = n;
	n = &r->secs[r->nsecs++];
	memset(n, 0, sizeof(*n));
	n->view = view;
	return n;
}

int section__alloc_sites(struct lt_section *sec, int n)
{
	sec->sites = calloc(n > 0 ? n : 1, sizeof(*sec->sites));
	if (!sec->sites)
		return -ENOMEM;
	sec->nsites = sec->nsites_total = n;
	return 0;
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

void site__free(struct lt_site *s)
{
	report__free_frames(s->stack, s->nstack);
	report__free_frames(s->stack2, s->nstack2);
	s->stack = s->stack2 = NULL;
	s->nstack = s->nstack2 = 0;
	for (int i = 0; i < s->ncounts; i++)
		free(s->counts[i].name);
	free(s->counts);
	s->counts = NULL;
	s->ncounts = 0;
	free(s->label);
	s->label = NULL;
}

void report__free_sites(struct lt_report *r)
{
	for (int i = 0; i < r->nsecs; i++) {
		struct lt_section *sec = &r->secs[i];

		/* sites past nsites (top-N) own nothing: stacks are built for the shown ones */
		for (int j = 0; j < sec->nsites; j++)
			site__free(&sec->sites[j]);
		free(sec->sites);
		free(sec->procs);
		free(sec->ovs);
	}
	free(r->secs);
	r->secs = NULL;
	r->nsecs = 0;
}

bool report__any_growing(const struct lt_report *r)
{
	for (int i = 0; i < r->nsecs; i++)
		for (int j = 0; j < r->secs[i].nsites_total; j++)
			if (r->secs[i].sites[j].trend == LT_TREND_GROWING)
				return true;
	return false;
}

static int cmp_desc(int64_t a, int64_t b)
{
	return a < b ? 1 : a > b ? -1 : 0;
}

static int cmp_desc_d(double a, double b)
{
	return a < b ? 1 : a > b ? -1 : 0;
}

struct sort_ctx {
	const struct lt_view *view;
	enum lt_sort key;
};

static int site_cmp(const void *pa, const void *pb, void *arg)
{
	const struct lt_site *a = pa, *b = pb;
	const struct sort_ctx *c = arg;
	int r = 0;

	if (c->view->by_sort_key) {
		if (c->key == LT_SORT_GROWTH) {
			/* the change since the last report, then the sampled rate */
			r = cmp_desc(a->delta, b->delta);
			if (!r)
				r = cmp_desc_d(a->rate, b->rate);
		} else if (c->key == LT_SORT_AGE) {
			r = cmp_desc_d(a->oldest_age_s, b->oldest_age_s);
		}
	}
	for (int i = 0; !r && i < c->view->nsort && i < LT_SITE_VALUES; i++)
		r = cmp_desc(a->v[i], b->v[i]);
	if (!r)
		r = a->pid - b->pid;
	if (!r)
		r = a->id.caller < b->id.caller ? -1 : a->id.caller > b->id.caller;
	return r;
}

void section__sort(struct lt_section *sec, enum lt_sort key)
{
	struct sort_ctx c = { sec->view, key };

	qsort_r(sec->sites, sec->nsites, sizeof(*sec->sites), site_cmp, &c);
}

void fmt_bytes(char *buf, size_t len, int64_t b)
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

void text_sites(FILE *f, const struct lt_section *s)
{
	fprintf(f, "%d site%s", s->nsites_total, s->nsites_total == 1 ? "" : "s");
	if (s->nsites < s->nsites_total)
		fprintf(f, ", top %d shown", s->nsites);
}

void json_str(FILE *f, const char *s)
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

void json_num(FILE *f, double v)
{
	fprintf(f, "%.3f", v);
}

void json_age(FILE *f, double age_s)
{
	if (age_s >= 0)
		json_num(f, age_s);
	else
		fputs("null", f);
}
