// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pprof, folded and the output sinks, fed a synthetic report. The profile is
 * read back with a small protobuf decoder written here from profile.proto,
 * independent of the encoder.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "pprof.h"
#include "report.h"
#include "sink.h"
#include "test.h"
#include "trackers.h"

/* ---- a synthetic report ---- */

static struct lt_frame fr(uint64_t addr, const char *func, const char *file, int line,
			  const char *mod, uint64_t mod_off, bool inlined)
{
	struct lt_frame f = { .addr = addr, .line = line, .module_off = mod_off, .inlined = inlined };

	f.func = func ? strdup(func) : NULL;
	f.file = file ? strdup(file) : NULL;
	f.module = strdup(mod);
	return f;
}

#define EXE "/usr/bin/server"
#define LIBC "/lib/libc.so.6"
#define BASE 0x555500000000ULL

/*
 * site 0: 300 B / 3 allocs, load_dataset <- parse (inlined into) main <- __libc_start_main
 * site 1: 4000 B / 1 alloc, an unknown frame, truncated
 * site 2: 50 B / 2 allocs, load_dataset <- worker;with;semicolons (same first address as site 0)
 */
static struct lt_site *mem_site(struct lt_section *sec, int i, int64_t bytes, int64_t allocs,
				enum lt_trend trend)
{
	struct lt_site *s = &sec->sites[i];

	s->pid = 42;
	s->v[0] = bytes;
	s->v[1] = allocs;
	s->trend = trend;
	strcpy(s->comm, "server");
	return s;
}

static void fill(struct lt_report *r, struct lt_target *tg)
{
	struct lt_section *sec;
	struct lt_site *s;

	memset(r, 0, sizeof(*r));
	r->number = 4;
	r->final = false;
	r->elapsed_s = 12.5;
	r->wall.tv_sec = 1700000000;
	r->wall.tv_nsec = 123;
	tg->pid = 42;
	strcpy(tg->comm, "server");
	r->targets = tg;
	r->ntargets = 1;
	sec = report__add_section(r, &lt_view_memory);
	section__alloc_sites(sec, 3);
	sec->tot[0] = 4350;
	sec->tot[1] = 6;

	s = mem_site(sec, 0, 300, 3, LT_TREND_GROWING);
	s->stack = calloc(4, sizeof(*s->stack));
	s->stack[0] = fr(BASE + 0x1234, "load_dataset", "job.c", 42, EXE, 0x1234, false);
	s->stack[1] = fr(BASE + 0x1500, "parse", "parse.h", 7, EXE, 0x1500, true);
	s->stack[2] = fr(BASE + 0x1500, "main", "job.c", 80, EXE, 0x1500, false);
	s->stack[3] = fr(0x7f0000029d90ULL, "__libc_start_main", NULL, 0, LIBC, 0x29d90, false);
	s->stack[3].build_id = strdup("0123abcd");
	s->nstack = 4;

	s = mem_site(sec, 1, 4000, 1, LT_TREND_STABLE);
	s->truncated = true;
	s->stack = calloc(1, sizeof(*s->stack));
	s->stack[0] = fr(0xdead0, NULL, NULL, 0, "[unknown]", 0xdead0, false);
	s->nstack = 1;

	s = mem_site(sec, 2, 50, 2, LT_TREND_NEW);
	s->stack = calloc(2, sizeof(*s->stack));
	s->stack[0] = fr(BASE + 0x1234, "load_dataset", "job.c", 42, EXE, 0x1234, false);
	s->stack[1] = fr(BASE + 0x2000, "worker;with;semicolons", "job.c", 99, EXE, 0x2000, false);
	s->nstack = 2;
}

/*
 * Thread sites: 7 live threads of start_worker (start routine worker_main),
 * truncated below main; 5 exited-unjoined of spawn_helper, no start routine
 * known, made by libc.
 */
static void fill_threads(struct lt_report *r)
{
	struct lt_section *sec = report__add_section(r, &lt_view_threads);
	struct lt_site *s;

	section__alloc_sites(sec, 2);
	sec->tot[0] = 12;
	sec->tot[1] = 5;
	sec->tot[2] = 7;

	s = &sec->sites[0];
	*s = (struct lt_site){ .pid = 42, .v = { 7, 0, 7, 7 * 8388608LL }, .trend = LT_TREND_GROWING,
			       .truncated = true };
	strcpy(s->comm, "server");
	s->label = strdup("worker_main");
	s->stack = calloc(2, sizeof(*s->stack));
	s->stack[0] = fr(BASE + 0x3000, "start_worker", "pool.c", 17, EXE, 0x3000, false);
	s->stack[1] = fr(BASE + 0x1500, "main", "job.c", 81, EXE, 0x1500, false);
	s->nstack = 2;

	s = &sec->sites[1];
	*s = (struct lt_site){ .pid = 42, .v = { 5, 5, 0, 5 * 65536LL }, .trend = LT_TREND_NEW,
			       .flags = LT_THREAD_LIBC_INTERNAL };
	strcpy(s->comm, "server");
	s->stack = calloc(1, sizeof(*s->stack));
	s->stack[0] = fr(BASE + 0x3100, "spawn_helper", "pool.c", 30, EXE, 0x3100, false);
	s->nstack = 1;
}

/* Timer sites: 25 periodic timerfds of 1 s (arm_ticker), 4 one-shot POSIX timers (arm_once). */
static void fill_timers(struct lt_report *r)
{
	struct lt_section *sec = report__add_section(r, &lt_view_timers);
	struct lt_site *s;

	section__alloc_sites(sec, 2);
	sec->tot[0] = 29;

	s = &sec->sites[0];
	*s = (struct lt_site){ .pid = 42, .v = { 25, 25 }, .num = 1000000000, .num2 = -1,
			       .trend = LT_TREND_STABLE };
	strcpy(s->comm, "server");
	s->label = strdup("timerfd");
	s->stack = calloc(1, sizeof(*s->stack));
	s->stack[0] = fr(BASE + 0x4000, "arm_ticker", "tick.c", 5, EXE, 0x4000, false);
	s->nstack = 1;

	s = &sec->sites[1];
	*s = (struct lt_site){ .pid = 42, .v = { 4, 0 }, .num2 = -1, .trend = LT_TREND_NEW };
	strcpy(s->comm, "server");
	s->label = strdup("posix");
	s->stack = calloc(1, sizeof(*s->stack));
	s->stack[0] = fr(BASE + 0x4100, "arm_once", "tick.c", 9, EXE, 0x4100, false);
	s->nstack = 1;
}

/*
 * A report with only the sections of R whose views are in ONLY (a tracker
 * that is off has no section). Shares R's sites: free R, never it.
 */
static struct lt_report only(const struct lt_report *r, const struct lt_view *a, const struct lt_view *b)
{
	struct lt_report o = *r;

	o.secs = calloc(r->nsecs ? r->nsecs : 1, sizeof(*o.secs));
	o.nsecs = 0;
	for (int i = 0; i < r->nsecs; i++)
		if (r->secs[i].view == a || r->secs[i].view == b)
			o.secs[o.nsecs++] = r->secs[i];
	return o;
}

/* The encoders of each section's profile. */
typedef int (*encoder)(const struct lt_report *r, uint8_t **buf, size_t *len);

static int encode_view(const struct lt_report *r, const struct lt_view *v, uint8_t **buf, size_t *len)
{
	return pprof__encode(r, report__section(r, v), v->pprof, buf, len);
}

static int encode_heap(const struct lt_report *r, uint8_t **buf, size_t *len)
{
	return encode_view(r, &lt_view_memory, buf, len);
}

static int encode_threads(const struct lt_report *r, uint8_t **buf, size_t *len)
{
	return encode_view(r, &lt_view_threads, buf, len);
}

static int encode_timers(const struct lt_report *r, uint8_t **buf, size_t *len)
{
	return encode_view(r, &lt_view_timers, buf, len);
}

/* ---- a decoder for what we need of profile.proto ---- */

#define MAXN 64

struct d_line { uint64_t fn; int64_t line; };
struct d_loc { uint64_t id, mapping, address; struct d_line line[8]; int nline; };
struct d_fn { uint64_t id, name, sys, file; };
struct d_map { uint64_t id, start, limit, offset, file, build_id; bool has_fn, has_file, has_line, has_inl; };
struct d_label { uint64_t key, str, num_unit; int64_t num; };
struct d_sample { uint64_t loc[16]; int nloc; int64_t val[4]; int nval; struct d_label label[8]; int nlabel; };
struct d_vt { uint64_t type, unit; };

struct d_prof {
	struct d_vt st[4];
	int nst;
	struct d_sample sample[MAXN];
	int nsample;
	struct d_map map[MAXN];
	int nmap;
	struct d_loc loc[MAXN];
	int nloc;
	struct d_fn fn[MAXN];
	int nfn;
	char *str[256];
	int nstr;
	int64_t time_nanos, duration, period, default_type;
	struct d_vt period_type;
	uint64_t comment[4];
	int ncomment;
	bool bad;
};

struct field {
	int num, wt;
	uint64_t v;
	const uint8_t *p;
	size_t n;
};

static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int s = 0; s < 64 && *p < end; s += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* Next field of [*p, end); false at the end or on garbage (sets *bad). */
static bool next(const uint8_t **p, const uint8_t *end, struct field *f, bool *bad)
{
	uint64_t key;

	if (*p >= end)
		return false;
	if (!varint(p, end, &key))
		goto bad;
	f->num = (int)(key >> 3);
	f->wt = (int)(key & 7);
	if (f->wt == 0) {
		if (!varint(p, end, &f->v))
			goto bad;
	} else if (f->wt == 2) {
		if (!varint(p, end, &f->v) || f->v > (uint64_t)(end - *p))
			goto bad;
		f->p = *p;
		f->n = f->v;
		*p += f->n;
	} else {
		goto bad;
	}
	return true;
bad:
	*bad = true;
	return false;
}

/* Packed or not: append the varints of F to V. */
static void repeated(const struct field *f, void *out, int *n, int max, bool is64)
{
	const uint8_t *p = f->p, *end = f->p + f->n;
	uint64_t v;

	if (f->wt == 0) {
		if (*n < max)
			((uint64_t *)out)[(*n)++] = f->v;
		return;
	}
	while (p < end && varint(&p, end, &v) && *n < max)
		((uint64_t *)out)[(*n)++] = v;
	(void)is64;
}

static void decode_vt(const struct field *m, struct d_vt *vt, bool *bad)
{
	const uint8_t *p = m->p, *end = m->p + m->n;
	struct field f;

	while (next(&p, end, &f, bad)) {
		if (f.num == 1) vt->type = f.v;
		if (f.num == 2) vt->unit = f.v;
	}
}

static void decode(const uint8_t *buf, size_t len, struct d_prof *d)
{
	const uint8_t *p = buf, *end = buf + len;
	struct field f, g, h;

	memset(d, 0, sizeof(*d));
	while (next(&p, end, &f, &d->bad)) {
		const uint8_t *q = f.p, *qe = f.p + f.n;

		switch (f.num) {
		case 1:
			if (d->nst < 4)
				decode_vt(&f, &d->st[d->nst++], &d->bad);
			break;
		case 2: {
			struct d_sample *s = &d->sample[d->nsample < MAXN ? d->nsample++ : MAXN - 1];

			while (next(&q, qe, &g, &d->bad)) {
				if (g.num == 1)
					repeated(&g, s->loc, &s->nloc, 16, true);
				if (g.num == 2)
					repeated(&g, s->val, &s->nval, 4, true);
				if (g.num == 3 && s->nlabel < 8) {
					struct d_label *l = &s->label[s->nlabel++];
					const uint8_t *r = g.p, *re = g.p + g.n;

					while (next(&r, re, &h, &d->bad)) {
						if (h.num == 1) l->key = h.v;
						if (h.num == 2) l->str = h.v;
						if (h.num == 3) l->num = (int64_t)h.v;
						if (h.num == 4) l->num_unit = h.v;
					}
				}
			}
			break;
		}
		case 3: {
			struct d_map *m = &d->map[d->nmap < MAXN ? d->nmap++ : MAXN - 1];

			while (next(&q, qe, &g, &d->bad)) {
				switch (g.num) {
				case 1: m->id = g.v; break;
				case 2: m->start = g.v; break;
				case 3: m->limit = g.v; break;
				case 4: m->offset = g.v; break;
				case 5: m->file = g.v; break;
				case 6: m->build_id = g.v; break;
				case 7: m->has_fn = g.v; break;
				case 8: m->has_file = g.v; break;
				case 9: m->has_line = g.v; break;
				case 10: m->has_inl = g.v; break;
				}
			}
			break;
		}
		case 4: {
			struct d_loc *l = &d->loc[d->nloc < MAXN ? d->nloc++ : MAXN - 1];

			while (next(&q, qe, &g, &d->bad)) {
				if (g.num == 1) l->id = g.v;
				if (g.num == 2) l->mapping = g.v;
				if (g.num == 3) l->address = g.v;
				if (g.num == 4 && l->nline < 8) {
					struct d_line *ln = &l->line[l->nline++];
					const uint8_t *r = g.p, *re = g.p + g.n;

					while (next(&r, re, &h, &d->bad)) {
						if (h.num == 1) ln->fn = h.v;
						if (h.num == 2) ln->line = (int64_t)h.v;
					}
				}
			}
			break;
		}
		case 5: {
			struct d_fn *fn = &d->fn[d->nfn < MAXN ? d->nfn++ : MAXN - 1];

			while (next(&q, qe, &g, &d->bad)) {
				if (g.num == 1) fn->id = g.v;
				if (g.num == 2) fn->name = g.v;
				if (g.num == 3) fn->sys = g.v;
				if (g.num == 4) fn->file = g.v;
			}
			break;
		}
		case 6:
			if (f.wt == 2 && d->nstr < 256)
				d->str[d->nstr++] = strndup((const char *)f.p, f.n);
			else
				d->bad = true;
			break;
		case 9: d->time_nanos = (int64_t)f.v; break;
		case 10: d->duration = (int64_t)f.v; break;
		case 11: decode_vt(&f, &d->period_type, &d->bad); break;
		case 12: d->period = (int64_t)f.v; break;
		case 13: repeated(&f, d->comment, &d->ncomment, 4, true); break;
		case 14: d->default_type = (int64_t)f.v; break;
		}
	}
}

static void d_free(struct d_prof *d)
{
	for (int i = 0; i < d->nstr; i++)
		free(d->str[i]);
}

static const char *S(const struct d_prof *d, uint64_t i)
{
	return i < (uint64_t)d->nstr ? d->str[i] : "<bad string index>";
}

static const struct d_loc *loc_by_id(const struct d_prof *d, uint64_t id)
{
	for (int i = 0; i < d->nloc; i++)
		if (d->loc[i].id == id)
			return &d->loc[i];
	return NULL;
}

static const struct d_fn *fn_by_id(const struct d_prof *d, uint64_t id)
{
	for (int i = 0; i < d->nfn; i++)
		if (d->fn[i].id == id)
			return &d->fn[i];
	return NULL;
}

static const struct d_map *map_by_id(const struct d_prof *d, uint64_t id)
{
	for (int i = 0; i < d->nmap; i++)
		if (d->map[i].id == id)
			return &d->map[i];
	return NULL;
}

/* Function name of line J of the location with id ID ("" when none). */
static const char *line_fn(const struct d_prof *d, uint64_t id, int j)
{
	const struct d_loc *l = loc_by_id(d, id);
	const struct d_fn *f;

	if (!l || j >= l->nline)
		return "";
	f = fn_by_id(d, l->line[j].fn);
	return f ? S(d, f->name) : "<no function>";
}

static const char *label_of(const struct d_prof *d, const struct d_sample *s, const char *key,
			    int64_t *num)
{
	for (int i = 0; i < s->nlabel; i++) {
		if (strcmp(S(d, s->label[i].key), key) == 0) {
			if (num)
				*num = s->label[i].num;
			return S(d, s->label[i].str);
		}
	}
	return NULL;
}


static bool encode_with(encoder enc, struct lt_report *r, struct d_prof *d)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	memset(d, 0, sizeof(*d));
	if (!ASSERT_EQ(enc(r, &buf, &len), 0, "encode"))
		return false;
	decode(buf, len, d);
	free(buf);
	return ASSERT_FALSE(d->bad, "decodes");
}

static bool encode(struct lt_report *r, struct d_prof *d)
{
	return encode_with(encode_heap, r, d);
}

/* The label KEY of S is a string label with value WANT. */
static void check_str_label(const struct d_prof *d, const struct d_sample *s, const char *key,
			    const char *want)
{
	const char *got = label_of(d, s, key, NULL);

	if (ASSERT_OK_PTR(got, key))
		ASSERT_STREQ(got, want, key);
}

/* ---- tests ---- */

static void test_header(void)
{
	struct lt_report r;
	struct lt_target tg;
	struct d_prof d;

	fill(&r, &tg);
	if (!encode(&r, &d))
		goto out;
	ASSERT_TRUE(d.nstr > 0 && d.str[0][0] == 0, "string_table[0] is empty");
	if (ASSERT_EQ(d.nst, 2, "sample types")) {
		ASSERT_STREQ(S(&d, d.st[0].type), "inuse_objects", "type 0");
		ASSERT_STREQ(S(&d, d.st[0].unit), "count", "unit 0");
		ASSERT_STREQ(S(&d, d.st[1].type), "inuse_space", "type 1");
		ASSERT_STREQ(S(&d, d.st[1].unit), "bytes", "unit 1");
	}
	ASSERT_STREQ(S(&d, d.period_type.type), "space", "period type");
	ASSERT_STREQ(S(&d, d.period_type.unit), "bytes", "period unit");
	ASSERT_EQ(d.period, 1, "period");
	ASSERT_STREQ(S(&d, (uint64_t)d.default_type), "inuse_space", "default sample type");
	ASSERT_EQ(d.time_nanos, 1700000000LL * 1000000000LL + 123, "time_nanos");
	ASSERT_EQ(d.duration, 12500000000LL, "duration_nanos");
	if (ASSERT_EQ(d.ncomment, 1, "comments"))
		ASSERT_TRUE(strstr(S(&d, d.comment[0]), "report 4") != NULL, "comment names the report");
out:
	d_free(&d);
	report__free_sites(&r);
}

static void test_samples_and_stacks(void)
{
	struct lt_report r;
	struct lt_target tg;
	struct d_prof d;
	int64_t pid = 0;

	fill(&r, &tg);
	if (!encode(&r, &d))
		goto out;
	if (!ASSERT_EQ(d.nsample, 3, "one sample per site"))
		goto out;

	/* site 0: values [allocs, bytes]; 3 locations: the inlined pair is one */
	struct d_sample *s = &d.sample[0];

	ASSERT_EQ(s->nval, 2, "values");
	ASSERT_EQ(s->val[0], 3, "inuse_objects");
	ASSERT_EQ(s->val[1], 300, "inuse_space");
	if (ASSERT_EQ(s->nloc, 3, "locations of site 0")) {
		const struct d_loc *l0 = loc_by_id(&d, s->loc[0]), *l1 = loc_by_id(&d, s->loc[1]);

		ASSERT_STREQ(line_fn(&d, s->loc[0], 0), "load_dataset", "innermost first");
		if (ASSERT_OK_PTR(l0, "location 0")) {
			ASSERT_EQ(l0->address, BASE + 0x1234, "address");
			ASSERT_EQ(l0->nline, 1, "one line");
			ASSERT_EQ(l0->line[0].line, 42, "line number");
		}
		if (ASSERT_OK_PTR(l1, "location 1")) {
			ASSERT_EQ(l1->nline, 2, "inlined frame + containing function in one Location");
			ASSERT_STREQ(line_fn(&d, s->loc[1], 0), "parse", "inlined function first");
			ASSERT_STREQ(line_fn(&d, s->loc[1], 1), "main", "then the caller it is inlined into");
			ASSERT_EQ(l1->line[1].line, 80, "main's line");
		}
		ASSERT_STREQ(line_fn(&d, s->loc[2], 0), "__libc_start_main", "outermost last");
	}
	ASSERT_STREQ(label_of(&d, s, "trend", NULL), "growing", "trend label");
	ASSERT_STREQ(label_of(&d, s, "comm", NULL), "server", "comm label");
	label_of(&d, s, "pid", &pid);
	ASSERT_EQ(pid, 42, "pid label");

	/* site 1: unknown frame (a Location without lines), then the truncation marker */
	s = &d.sample[1];
	ASSERT_EQ(s->val[1], 4000, "site 1 bytes");
	if (ASSERT_EQ(s->nloc, 2, "locations of site 1")) {
		const struct d_loc *l = loc_by_id(&d, s->loc[0]);

		if (ASSERT_OK_PTR(l, "unknown location")) {
			ASSERT_EQ(l->nline, 0, "no line for an unknown frame");
			ASSERT_EQ(l->address, 0xdead0, "its address");
			ASSERT_EQ(l->mapping, 0, "no mapping for [unknown]");
		}
		ASSERT_STREQ(line_fn(&d, s->loc[1], 0), "[truncated]", "truncation marker at the root");
	}

	/* site 2: the same first address shares the Location */
	s = &d.sample[2];
	if (ASSERT_EQ(s->nloc, 2, "locations of site 2"))
		ASSERT_EQ(s->loc[0], d.sample[0].loc[0], "shared Location for one address");

	/* ids are unique and every reference resolves */
	for (int i = 0; i < d.nloc; i++) {
		for (int j = 0; j < i; j++)
			ASSERT_NEQ(d.loc[i].id, d.loc[j].id, "unique location ids");
		for (int j = 0; j < d.loc[i].nline; j++)
			ASSERT_OK_PTR(fn_by_id(&d, d.loc[i].line[j].fn), "line's function exists");
		if (d.loc[i].mapping)
			ASSERT_OK_PTR(map_by_id(&d, d.loc[i].mapping), "location's mapping exists");
	}
	ASSERT_EQ(d.nloc, 6, "locations: 3 + unknown + marker + worker");
out:
	d_free(&d);
	report__free_sites(&r);
}

static void test_functions_and_mappings(void)
{
	struct lt_report r;
	struct lt_target tg;
	struct d_prof d;
	int nload = 0;

	fill(&r, &tg);
	if (!encode(&r, &d))
		goto out;
	for (int i = 0; i < d.nfn; i++) {
		const struct d_fn *f = &d.fn[i];

		ASSERT_STREQ(S(&d, f->sys), S(&d, f->name), "system_name");
		if (!strcmp(S(&d, f->name), "load_dataset")) {
			nload++;
			ASSERT_STREQ(S(&d, f->file), "job.c", "filename");
		}
		if (!strcmp(S(&d, f->name), "__libc_start_main"))
			ASSERT_STREQ(S(&d, f->file), "", "no file: empty string");
	}
	ASSERT_EQ(nload, 1, "functions are shared");
	if (!ASSERT_EQ(d.nmap, 2, "mappings: exe and libc"))
		goto out;
	/* the module of main() is listed first: pprof's main binary */
	ASSERT_STREQ(S(&d, d.map[0].file), EXE, "first mapping");
	ASSERT_EQ(d.map[0].start, BASE + 0x1000, "start, page-aligned");
	ASSERT_EQ(d.map[0].limit, BASE + 0x3000, "limit, page-aligned");
	ASSERT_EQ(d.map[0].offset, 0x1000, "file offset of start");
	ASSERT_EQ(d.map[0].build_id, 0, "no build id known");
	ASSERT_TRUE(d.map[0].has_fn && d.map[0].has_file && d.map[0].has_line && d.map[0].has_inl,
		    "symbolized flags");
	ASSERT_STREQ(S(&d, d.map[1].file), LIBC, "second mapping");
	ASSERT_STREQ(S(&d, d.map[1].build_id), "0123abcd", "build id");
	ASSERT_EQ(d.map[1].start, 0x7f0000029000ULL, "libc start");
	ASSERT_EQ(d.map[1].offset, 0x29000, "libc offset");
out:
	d_free(&d);
	report__free_sites(&r);
}

static void test_empty_report(void)
{
	struct lt_report r = { .number = 1 };
	struct d_prof d;

	report__add_section(&r, &lt_view_memory);
	if (encode(&r, &d)) {
		ASSERT_EQ(d.nsample, 0, "no samples");
		ASSERT_EQ(d.nst, 2, "sample types still there");
	}
	d_free(&d);
	report__free_sites(&r);
}

/* pprof__write gzips exactly what encode_heap encodes. */
static void test_gzip_roundtrip(void)
{
	struct lt_report r;
	struct lt_target tg;
	char path[] = "/tmp/lt-pprof-XXXXXX";
	uint8_t *raw = NULL, back[65536];
	size_t rawlen = 0;
	int fd = mkstemp(path), n;
	FILE *f;
	gzFile gz;

	if (!ASSERT_TRUE(fd >= 0, "mkstemp"))
		return;
	fill(&r, &tg);
	f = fdopen(fd, "w");
	ASSERT_EQ(pprof__write(f, &r), 0, "pprof__write");
	fclose(f);
	ASSERT_EQ(encode_heap(&r, &raw, &rawlen), 0, "encode");

	f = fopen(path, "rb");
	if (ASSERT_OK_PTR(f, "reopen")) {
		unsigned char magic[2] = { 0, 0 };

		ASSERT_EQ(fread(magic, 1, 2, f), 2, "read magic");
		ASSERT_TRUE(magic[0] == 0x1f && magic[1] == 0x8b, "gzip magic");
		fclose(f);
	}
	gz = gzopen(path, "rb");
	if (ASSERT_OK_PTR(gz, "gzopen")) {
		n = gzread(gz, back, sizeof(back));
		ASSERT_EQ(n, rawlen, "decompressed length");
		ASSERT_TRUE(n == (int)rawlen && !memcmp(back, raw, rawlen), "decompressed bytes");
		gzclose(gz);
	}
	free(raw);
	unlink(path);
	report__free_sites(&r);
}

static int sibling(const char *path, const char *kind, char *out, size_t len)
{
	return sink__sibling(path, kind, ".pb.gz", out, len);
}

static void test_sibling_names(void)
{
	char out[64];

	ASSERT_EQ(sibling("heap.pb.gz", "threads", out, sizeof(out)), 0, "fits");
	ASSERT_STREQ(out, "heap.threads.pb.gz", ".pb.gz stripped");
	sibling("/d/heap.pb.gz", "timers", out, sizeof(out));
	ASSERT_STREQ(out, "/d/heap.timers.pb.gz", "with a directory");
	sibling("heap.prof", "threads", out, sizeof(out));
	ASSERT_STREQ(out, "heap.prof.threads.pb.gz", "other names: appended");
	sibling("x.gz", "timers", out, sizeof(out));
	ASSERT_STREQ(out, "x.gz.timers.pb.gz", ".gz alone is not .pb.gz");
	sibling("heap.3.pb.gz", "threads", out, sizeof(out));
	ASSERT_STREQ(out, "heap.3.threads.pb.gz", "after %n expansion");
	ASSERT_EQ(sibling("heap.pb.gz", "threads", out, 10), -ENAMETOOLONG, "too long");
}

static void test_threads_profile(void)
{
	struct lt_report r;
	struct lt_target tg;
	struct d_prof d;
	static const char *types[][2] = {
		{ "threads", "count" }, { "live", "count" },
		{ "exited_unjoined", "count" }, { "stack_reservation", "bytes" },
	};
	int64_t pid = 0;

	fill(&r, &tg);
	fill_threads(&r);
	if (!encode_with(encode_threads, &r, &d))
		goto out;
	if (ASSERT_EQ(d.nst, 4, "sample types")) {
		for (int i = 0; i < 4; i++) {
			ASSERT_STREQ(S(&d, d.st[i].type), types[i][0], "type");
			ASSERT_STREQ(S(&d, d.st[i].unit), types[i][1], "unit");
		}
	}
	ASSERT_STREQ(S(&d, (uint64_t)d.default_type), "threads", "default sample type");
	ASSERT_STREQ(S(&d, d.period_type.type), "threads", "period type");
	ASSERT_STREQ(S(&d, d.period_type.unit), "count", "period unit");
	ASSERT_EQ(d.period, 1, "period");
	ASSERT_EQ(d.time_nanos, 1700000000LL * 1000000000LL + 123, "time_nanos");
	if (ASSERT_EQ(d.ncomment, 1, "comments"))
		ASSERT_TRUE(strstr(S(&d, d.comment[0]), "report 4") != NULL, "comment names the report");
	if (!ASSERT_EQ(d.nsample, 2, "one sample per thread site, no memory sample"))
		goto out;

	struct d_sample *s = &d.sample[0];

	if (ASSERT_EQ(s->nval, 4, "values")) {
		ASSERT_EQ(s->val[0], 7, "threads = live + exited_unjoined");
		ASSERT_EQ(s->val[1], 7, "live");
		ASSERT_EQ(s->val[2], 0, "exited_unjoined");
		ASSERT_EQ(s->val[3], 7 * 8388608LL, "stack_reservation");
	}
	if (ASSERT_EQ(s->nloc, 3, "creation stack + [truncated]")) {
		ASSERT_STREQ(line_fn(&d, s->loc[0], 0), "start_worker", "innermost first");
		ASSERT_STREQ(line_fn(&d, s->loc[1], 0), "main", "then its caller");
		ASSERT_STREQ(line_fn(&d, s->loc[2], 0), "[truncated]", "truncation marker");
	}
	check_str_label(&d, s, "start_routine", "worker_main");
	ASSERT_TRUE(label_of(&d, s, "libc_internal", NULL) == NULL, "no libc_internal label");
	check_str_label(&d, s, "comm", "server");
	check_str_label(&d, s, "trend", "growing");
	label_of(&d, s, "pid", &pid);
	ASSERT_EQ(pid, 42, "pid label");

	s = &d.sample[1];
	if (ASSERT_EQ(s->nval, 4, "values")) {
		ASSERT_EQ(s->val[0], 5, "threads");
		ASSERT_EQ(s->val[1], 0, "live");
		ASSERT_EQ(s->val[2], 5, "exited_unjoined");
		ASSERT_EQ(s->val[3], 5 * 65536LL, "stack_reservation");
	}
	if (ASSERT_EQ(s->nloc, 1, "creation stack"))
		ASSERT_STREQ(line_fn(&d, s->loc[0], 0), "spawn_helper", "creating function");
	ASSERT_TRUE(label_of(&d, s, "start_routine", NULL) == NULL, "no start_routine when unknown");
	check_str_label(&d, s, "libc_internal", "true");
	check_str_label(&d, s, "trend", "new");
	if (ASSERT_EQ(d.nmap, 1, "one mapping: the executable"))
		ASSERT_STREQ(S(&d, d.map[0].file), EXE, "mapping file");
out:
	d_free(&d);
	report__free_sites(&r);
}

static void test_timers_profile(void)
{
	struct lt_report r;
	struct lt_target tg;
	struct d_prof d;
	int64_t num = -1;

	fill(&r, &tg);
	fill_timers(&r);
	if (!encode_with(encode_timers, &r, &d))
		goto out;
	if (ASSERT_EQ(d.nst, 2, "sample types")) {
		ASSERT_STREQ(S(&d, d.st[0].type), "open", "type 0");
		ASSERT_STREQ(S(&d, d.st[0].unit), "count", "unit 0");
		ASSERT_STREQ(S(&d, d.st[1].type), "periodic", "type 1");
		ASSERT_STREQ(S(&d, d.st[1].unit), "count", "unit 1");
	}
	ASSERT_STREQ(S(&d, (uint64_t)d.default_type), "open", "default sample type");
	ASSERT_STREQ(S(&d, d.period_type.type), "timers", "period type");
	ASSERT_STREQ(S(&d, d.period_type.unit), "count", "period unit");
	ASSERT_EQ(d.period, 1, "period");
	if (!ASSERT_EQ(d.nsample, 2, "one sample per timer site, no memory sample"))
		goto out;

	struct d_sample *s = &d.sample[0];

	if (ASSERT_EQ(s->nval, 2, "values")) {
		ASSERT_EQ(s->val[0], 25, "open");
		ASSERT_EQ(s->val[1], 25, "periodic");
	}
	if (ASSERT_EQ(s->nloc, 1, "creation stack"))
		ASSERT_STREQ(line_fn(&d, s->loc[0], 0), "arm_ticker", "creating function");
	check_str_label(&d, s, "kind", "timerfd");
	check_str_label(&d, s, "trend", "stable");
	ASSERT_TRUE(label_of(&d, s, "interval_ns", &num) != NULL, "interval_ns label");
	ASSERT_EQ(num, 1000000000, "interval_ns");
	for (int i = 0; i < s->nlabel; i++)
		if (!strcmp(S(&d, s->label[i].key), "interval_ns"))
			ASSERT_STREQ(S(&d, s->label[i].num_unit), "nanoseconds", "interval_ns unit");

	s = &d.sample[1];
	if (ASSERT_EQ(s->nval, 2, "values")) {
		ASSERT_EQ(s->val[0], 4, "open");
		ASSERT_EQ(s->val[1], 0, "periodic");
	}
	check_str_label(&d, s, "kind", "posix");
	num = -1;
	ASSERT_TRUE(label_of(&d, s, "interval_ns", &num) != NULL, "interval_ns label");
	ASSERT_EQ(num, 0, "interval_ns of a one-shot site");
out:
	d_free(&d);
	report__free_sites(&r);
}

/* The gzip file PATH holds exactly what ENC encodes for R. */
static void check_gz_file(const char *path, encoder enc, struct lt_report *r)
{
	static uint8_t back[65536];
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	gzFile gz;
	int n;

	if (!ASSERT_EQ(enc(r, &raw, &rawlen), 0, "encode"))
		return;
	gz = gzopen(path, "rb");
	if (ASSERT_OK_PTR(gz, path)) {
		n = gzread(gz, back, sizeof(back));
		ASSERT_EQ(n, rawlen, "decompressed length");
		ASSERT_TRUE(n == (int)rawlen && !memcmp(back, raw, rawlen), "decompressed bytes");
		gzclose(gz);
	}
	free(raw);
}

static bool exists(const char *dir, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static int count_files(const char *dir)
{
	char cmd[160];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A %s | wc -l", dir);
	p = popen(cmd, "r");
	if (p) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

/* sink__write_sections: one pprof file per section that is on, siblings named by sink__sibling. */
static void test_write_files(void)
{
	struct lt_report r;
	struct lt_target tg;
	char dir[] = "/tmp/lt-pprof-files-XXXXXX", path[128], cmd[160];

	if (!ASSERT_OK_PTR(mkdtemp(dir), "mkdtemp"))
		return;
	fill(&r, &tg);
	fill_threads(&r);
	fill_timers(&r);

	snprintf(path, sizeof(path), "%s/heap.pb.gz", dir);
	ASSERT_EQ(sink__write_sections(path, LT_FMT_PPROF, &r), 0, "every section");
	ASSERT_EQ(count_files(dir), 3, "three files, no temporary left");
	check_gz_file(path, encode_heap, &r);
	snprintf(path, sizeof(path), "%s/heap.threads.pb.gz", dir);
	check_gz_file(path, encode_threads, &r);
	snprintf(path, sizeof(path), "%s/heap.timers.pb.gz", dir);
	check_gz_file(path, encode_timers, &r);

	/* --track threads: only the threads profile; other names get .threads.pb.gz appended */
	struct lt_report t = only(&r, &lt_view_threads, NULL);

	snprintf(path, sizeof(path), "%s/only.prof", dir);
	ASSERT_EQ(sink__write_sections(path, LT_FMT_PPROF, &t), 0, "threads only");
	free(t.secs);
	ASSERT_TRUE(exists(dir, "only.prof.threads.pb.gz"), "threads profile written");
	ASSERT_FALSE(exists(dir, "only.prof"), "no heap profile without the memory tracker");
	ASSERT_FALSE(exists(dir, "only.prof.timers.pb.gz"), "no timers profile without timers");
	ASSERT_EQ(count_files(dir), 4, "one more file");

	/* a sibling that is a symlink is refused; the others are still written */
	snprintf(path, sizeof(path), "%s/heap.timers.pb.gz", dir);
	snprintf(cmd, sizeof(cmd), "%s/link.timers.pb.gz", dir);
	ASSERT_EQ(symlink(path, cmd), 0, "symlink");
	snprintf(path, sizeof(path), "%s/link.pb.gz", dir);
	ASSERT_EQ(sink__write_sections(path, LT_FMT_PPROF, &r), -EPERM, "refuses a symlinked sibling");
	ASSERT_TRUE(exists(dir, "link.pb.gz") && exists(dir, "link.threads.pb.gz"),
		    "the other profiles are written");

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ASSERT_EQ(system(cmd), 0, "cleanup");
	report__free_sites(&r);
}

/* sinks__open checks the siblings of a pprof file for the trackers that are on. */
static void test_sinks_check_siblings(void)
{
	char dir[] = "/tmp/lt-sinks-XXXXXX", path[128], link[128], cmd[160];
	const struct lt_view *views[LT_TRACKERS_MAX];
	struct lt_opts o;
	struct sinks *ss;

	if (!ASSERT_OK_PTR(mkdtemp(dir), "mkdtemp"))
		return;
	memset(&o, 0, sizeof(o));
	snprintf(path, sizeof(path), "%s/heap.%%n.pb.gz", dir);
	o.nouts = 1;
	o.outs[0].format = LT_FMT_PPROF;
	o.outs[0].path = path;
	o.track = LT_TRACK_MEM | LT_TRACK_THREADS | LT_TRACK_TIMERS;
	ss = sinks__open(&o, views, trackers__views(o.track, views, LT_TRACKERS_MAX));
	ASSERT_OK_PTR(ss, "open: nothing in the way");
	sinks__close(ss);

	snprintf(link, sizeof(link), "%s/heap.1.timers.pb.gz", dir);
	ASSERT_EQ(symlink("/etc/passwd", link), 0, "symlink");
	ss = sinks__open(&o, views, trackers__views(o.track, views, LT_TRACKERS_MAX));
	ASSERT_TRUE(ss == NULL, "refused: the timers profile of report 1 is a symlink");
	sinks__close(ss);
	o.track = LT_TRACK_MEM | LT_TRACK_THREADS;
	ss = sinks__open(&o, views, trackers__views(o.track, views, LT_TRACKERS_MAX));
	ASSERT_OK_PTR(ss, "accepted: timers are not tracked");
	sinks__close(ss);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ASSERT_EQ(system(cmd), 0, "cleanup");
}

static void test_expand_n(void)
{
	char out[64];

	ASSERT_TRUE(sink__has_n("heap.%n.pb.gz"), "has %n");
	ASSERT_FALSE(sink__has_n("heap.pb.gz"), "has no %n");
	ASSERT_FALSE(sink__has_n("100%.txt"), "a lone % is not %n");
	ASSERT_EQ(sink__expand("heap.%n.pb.gz", 12, out, sizeof(out)), 0, "expand");
	ASSERT_STREQ(out, "heap.12.pb.gz", "report number");
	sink__expand("r%n-%n", 3, out, sizeof(out));
	ASSERT_STREQ(out, "r3-3", "every %n");
	sink__expand("50%x%", 3, out, sizeof(out));
	ASSERT_STREQ(out, "50%x%", "other % sequences kept");
	ASSERT_EQ(sink__expand("abcdef%n", 123, out, 8), -ENAMETOOLONG, "too long");
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	static char buf[8192];
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void test_folded(void)
{
	struct lt_report r;
	struct lt_target tg;
	char path[] = "/tmp/lt-folded-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;

	if (!ASSERT_TRUE(fd >= 0, "mkstemp"))
		return;
	fill(&r, &tg);
	fill_threads(&r);
	fill_timers(&r);
	f = fdopen(fd, "w");
	ASSERT_EQ(output__folded(f, &r), 0, "output__folded");
	fclose(f);
	ASSERT_STREQ(slurp(path),
		     "server;__libc_start_main;main;parse;load_dataset 300\n"
		     "server;[truncated];?? 4000\n"
		     "server;worker:with:semicolons;load_dataset 50\n",
		     "folded lines: outermost first, ?? for unknown, ';' replaced, memory only");
	/* without the memory tracker: nothing (threads and timers are not folded) */
	struct lt_report t = only(&r, &lt_view_threads, &lt_view_timers);

	f = fopen(path, "w");
	if (ASSERT_OK_PTR(f, "reopen")) {
		ASSERT_EQ(output__folded(f, &t), 0, "output__folded without memory");
		fclose(f);
		ASSERT_STREQ(slurp(path), "", "empty without the memory tracker");
	}
	free(t.secs);
	unlink(path);
	report__free_sites(&r);
}

/* sink__replace: whole files, the temporary removed, never through a symlink. */
static void test_replace(void)
{
	struct lt_report r;
	struct lt_target tg;
	char dir[] = "/tmp/lt-sink-XXXXXX", path[128], link[128], cmd[160];
	struct stat st;

	if (!ASSERT_OK_PTR(mkdtemp(dir), "mkdtemp"))
		return;
	fill(&r, &tg);
	snprintf(path, sizeof(path), "%s/out.folded", dir);
	ASSERT_EQ(sink__check(path), 0, "check: new file in a writable dir");
	ASSERT_EQ(sink__replace(path, output__folded, &r), 0, "first write");
	r.secs[0].sites[0].v[0] = 301;
	ASSERT_EQ(sink__replace(path, output__folded, &r), 0, "rewrite");
	ASSERT_TRUE(strstr(slurp(path), "load_dataset 301\n") && !strstr(slurp(path), " 300\n"),
		    "replaced, not appended");
	ASSERT_EQ(stat(path, &st), 0, "stat");
	ASSERT_EQ(st.st_mode & 0777, 0644, "mode 0644");

	snprintf(link, sizeof(link), "%s/link", dir);
	ASSERT_EQ(symlink(path, link), 0, "symlink");
	ASSERT_EQ(sink__replace(link, output__folded, &r), -EPERM, "refuses a symlink");
	ASSERT_EQ(sink__check(link), -EPERM, "check refuses a symlink");
	FILE *f = sink__open(path);

	if (ASSERT_OK_PTR(f, "open a regular file"))
		fclose(f);
	ASSERT_TRUE(sink__open(link) == NULL, "open refuses a symlink");
	snprintf(path, sizeof(path), "%s/nodir/x", dir);
	ASSERT_TRUE(sink__check(path) < 0, "check: missing directory");

	snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 2", dir);
	ASSERT_EQ(system(cmd), 0, "no temporary file left");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ASSERT_EQ(system(cmd), 0, "cleanup");
	report__free_sites(&r);
}

static const struct test_case tests[] = {
	TEST_CASE(test_header),
	TEST_CASE(test_samples_and_stacks),
	TEST_CASE(test_functions_and_mappings),
	TEST_CASE(test_empty_report),
	TEST_CASE(test_gzip_roundtrip),
	TEST_CASE(test_sibling_names),
	TEST_CASE(test_threads_profile),
	TEST_CASE(test_timers_profile),
	TEST_CASE(test_write_files),
	TEST_CASE(test_sinks_check_siblings),
	TEST_CASE(test_expand_n),
	TEST_CASE(test_folded),
	TEST_CASE(test_replace),
};

int main(int argc, char **argv)
{
	return test__main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
