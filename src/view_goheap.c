// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The Go heap section (Go programs): the runtime's own heap profile, one
 * site per allocation stack, scaled as pprof scales it: v[0] in-use bytes,
 * v[1] in-use objects, v[2] bytes and v[3] objects allocated since the
 * start; num: the object size the runtime's bucket counts. "In use" is as
 * of the last completed GC, as in pprof. extra[0]: the sampling rate
 * (runtime.MemProfileRate) of the first Go process that samples, the
 * profile's period; extra[1]: Go processes read; extra[2]: microseconds
 * the reads of the report took; extra[3]: processes whose profiling is
 * off. The overview (ovs, GOV_*) says per process where its memory went.
 * Pure.
 */
#include <inttypes.h>
#include "report.h"
#include "trackers.h"

static void bytes_or(char *b, size_t n, int64_t v, const char *unknown)
{
	if (v < 0)
		snprintf(b, n, "%s", unknown);
	else
		fmt_bytes(b, n, v);
}

static void text_overview(FILE *f, const struct lt_overview *o)
{
	char heap[32], sys[32], stk[32], c[48], rss[32];

	fprintf(f, "  pid %d (%s) %s: ", o->pid, o->comm, o->tag[0] ? o->tag : "Go");
	if (o->f[GOV_MEMSTATS]) {
		bytes_or(heap, sizeof(heap), o->f[GOV_HEAP_INUSE], "?");
		bytes_or(sys, sizeof(sys), o->f[GOV_HEAP_SYS], "?");
		bytes_or(stk, sizeof(stk), o->f[GOV_STACKS], "?");
		fprintf(f, "Go heap in use %s of %s from the OS, goroutine stacks %s, ", heap, sys, stk);
	}
	bytes_or(c, sizeof(c), o->f[GOV_C_HEAP], "not tracked");
	bytes_or(rss, sizeof(rss), o->f[GOV_RSS], "?");
	fprintf(f, "C heap %s, RSS %s", c, rss);
	if (o->f[GOV_MEMSTATS]) {
		fprintf(f, "; %" PRId64 " GC%s", o->f[GOV_NUM_GC], o->f[GOV_NUM_GC] == 1 ? "" : "s");
		if (o->f[GOV_LAST_GC_AGE_MS] >= 0)
			fprintf(f, ", the last %.1f s ago", o->f[GOV_LAST_GC_AGE_MS] / 1000.0);
	}
	fputc('\n', f);
	if (o->note[0])
		fprintf(f, "    %s\n", o->note);
}

static void text_head(FILE *f, const struct lt_report *r, const struct lt_section *s)
{
	char b0[32], b2[32], bd[32], rate[32];

	(void)r;
	fmt_bytes(b0, sizeof(b0), s->tot[0]);
	fmt_bytes(b2, sizeof(b2), s->tot[2]);
	fmt_bytes(bd, sizeof(bd), s->delta);
	fmt_bytes(rate, sizeof(rate), s->extra[0]);
	fprintf(f, "GO HEAP: %s in use in %" PRId64 " objects (as of the last GC), %s allocated since the start, "
		"%s%s since the last report; the runtime's heap profile, ", b0, s->tot[1], b2,
		s->delta >= 0 ? "+" : "", bd);
	if (s->extra[0] > 0)
		fprintf(f, "sampled every %s and scaled as pprof does; ", rate);
	else
		fprintf(f, "not sampling; ");
	text_sites(f, s);
	fprintf(f, "; read in %.1f ms\n", s->extra[2] / 1000.0);
	for (int i = 0; i < s->novs; i++)
		text_overview(f, &s->ovs[i]);
}

static void text_site(FILE *f, const struct lt_section *sec, const struct lt_site *s, int i)
{
	char b0[32], bd[32], b2[32], sz[32];

	(void)sec;
	fmt_bytes(b0, sizeof(b0), s->v[0]);
	fmt_bytes(bd, sizeof(bd), s->delta);
	fmt_bytes(b2, sizeof(b2), s->v[2]);
	fmt_bytes(sz, sizeof(sz), (int64_t)s->num);
	fprintf(f, "  #%d %s in use in %" PRId64 " object%s of %s, %s%s since last, %s; %s in %" PRId64
		" allocated since the start — pid %d (%s)%s\n", i + 1, b0, s->v[1], s->v[1] == 1 ? "" : "s", sz,
		s->delta >= 0 ? "+" : "", bd, trend__name(s->trend), b2, s->v[3], s->pid, s->comm,
		s->truncated ? " [stack truncated]" : "");
}

/* A byte count, or null when unknown (< 0). */
static void json_bytes(FILE *f, const char *key, int64_t v)
{
	if (v < 0)
		fprintf(f, ",\"%s\":null", key);
	else
		fprintf(f, ",\"%s\":%" PRId64, key, v);
}

static void json_overview(FILE *f, const struct lt_overview *o)
{
	bool ms = o->f[GOV_MEMSTATS];

	fprintf(f, "{\"pid\":%d,\"comm\":", o->pid);
	json_str(f, o->comm);
	fputs(",\"go_version\":", f);
	json_str(f, o->tag[0] ? o->tag : NULL);
	fprintf(f, ",\"rate\":%" PRId64 ",\"profiling\":%s,\"profile_inuse_bytes\":%" PRId64
		",\"profile_inuse_objects\":%" PRId64, o->f[GOV_RATE], o->f[GOV_PROFILING] ? "true" : "false",
		o->f[GOV_PROFILE_BYTES], o->f[GOV_PROFILE_OBJECTS]);
	json_bytes(f, "heap_inuse_bytes", ms ? o->f[GOV_HEAP_INUSE] : -1);
	json_bytes(f, "heap_sys_bytes", ms ? o->f[GOV_HEAP_SYS] : -1);
	json_bytes(f, "stacks_inuse_bytes", ms ? o->f[GOV_STACKS] : -1);
	json_bytes(f, "num_gc", ms ? o->f[GOV_NUM_GC] : -1);
	fputs(",\"last_gc_age_s\":", f);
	json_age(f, ms && o->f[GOV_LAST_GC_AGE_MS] >= 0 ? o->f[GOV_LAST_GC_AGE_MS] / 1000.0 : -1);
	json_bytes(f, "c_heap_bytes", o->f[GOV_C_HEAP]);
	json_bytes(f, "rss_bytes", o->f[GOV_RSS]);
	fputs(",\"note\":", f);
	json_str(f, o->note[0] ? o->note : NULL);
	fputc('}', f);
}

static void json_head(FILE *f, const struct lt_section *s)
{
	if (s->novs)
		fprintf(f, "\"pid\":%d,", s->ovs[0].pid);
	else
		fputs("\"pid\":null,", f);
	fprintf(f, "\"rate\":%" PRId64 ",\"inuse_bytes\":%" PRId64 ",\"inuse_objects\":%" PRId64
		",\"alloc_bytes\":%" PRId64 ",\"alloc_objects\":%" PRId64 ",\"delta_bytes\":%" PRId64
		",\"read_ms\":%.3f,\"processes\":[", s->extra[0], s->tot[0], s->tot[1], s->tot[2], s->tot[3],
		s->delta, s->extra[2] / 1000.0);
	for (int i = 0; i < s->novs; i++) {
		fputs(i ? "," : "", f);
		json_overview(f, &s->ovs[i]);
	}
	fputs("],", f);
}

static void json_site(FILE *f, const struct lt_site *s)
{
	fprintf(f, "\"inuse_bytes\":%" PRId64 ",\"inuse_objects\":%" PRId64 ",\"alloc_bytes\":%" PRId64
		",\"alloc_objects\":%" PRId64 ",\"object_size\":%" PRIu64 ",\"delta_bytes\":%" PRId64 ",",
		s->v[0], s->v[1], s->v[2], s->v[3], s->num, s->delta);
}

static int labels(const struct lt_site *s, struct lt_label *out, int max)
{
	if (max < 1)
		return 0;
	/* as runtime/pprof labels its heap samples */
	out[0] = (struct lt_label){ .key = "bytes", .num = (int64_t)s->num, .unit = "bytes" };
	return 1;
}

/* Go's own heap profile: the four sample types in its order, period space/bytes = the rate. */
static const struct lt_pprof_desc pprof = {
	.sibling = "goheap", .labels = labels, .nvalues = 4,
	.values = { { "alloc_objects", "count", 3 }, { "alloc_space", "bytes", 2 },
		    { "inuse_objects", "count", 1 }, { "inuse_space", "bytes", 0 } },
	.period_type = "space", .period_unit = "bytes", .period_extra = 1, .default_type = "inuse_space",
};

const struct lt_view lt_view_goheap = {
	.key = "go_heap", .nsort = 2, .folded_value = 0, .pprof = &pprof,
	.text_head = text_head, .text_site = text_site, .json_head = json_head, .json_site = json_site,
};
