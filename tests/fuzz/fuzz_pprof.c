// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The report writers on reports built from arbitrary bytes: pprof (every
 * section's profile), JSON, text and folded.
 *
 * - Every pprof profile must be well-formed protobuf (wire types 0 and 2
 *   only, lengths inside their message, the Profile's message fields
 *   well-formed one level down), start its string table with "", and have
 *   one Sample per shown site; pprof__write_section's output must gunzip
 *   to exactly pprof__encode's bytes.
 * - The JSON line must be one syntactically valid JSON object ending in a
 *   newline.
 * Strings (function, file, module names, comm) are arbitrary bytes, NUL
 * excepted: they come from the symbol tables of the traced binaries.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pprof.h"
#include "report.h"
#include "trackers.h"
#include "fuzz.h"

struct pp_in {
	const uint8_t *p;
	size_t n;
};

static uint64_t pp_u(struct pp_in *in, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++) {
		v <<= 8;
		if (in->n) {
			v |= *in->p++;
			in->n--;
		}
	}
	return v;
}

/* A string of up to 63 bytes without NUL, or NULL (length byte 0xff). */
static char *pp_str(struct pp_in *in)
{
	unsigned int len = (unsigned int)pp_u(in, 1);
	char *s;

	if (len == 0xff)
		return NULL;
	len &= 63;
	s = malloc(len + 1);
	if (!s)
		return NULL;
	for (unsigned int i = 0; i < len; i++) {
		s[i] = (char)pp_u(in, 1);
		if (!s[i])
			s[i] = '?';
	}
	s[len] = 0;
	return s;
}

static void pp_comm(struct pp_in *in, char comm[16])
{
	char *s = pp_str(in);

	snprintf(comm, 16, "%s", s ? s : "");
	free(s);
}

static double pp_age(struct pp_in *in)
{
	uint64_t v = pp_u(in, 4);

	return v == 0xffffffff ? -1 : v / 1000.0;
}

static int pp_stack(struct pp_in *in, struct lt_frame **out)
{
	int n = (int)(pp_u(in, 1) % 40);
	uint64_t addr = pp_u(in, 8);
	struct lt_frame *st = calloc(n ? n : 1, sizeof(*st));

	if (!st) {
		*out = NULL;
		return 0;
	}
	for (int i = 0; i < n; i++) {
		uint8_t how = (uint8_t)pp_u(in, 1);
		struct lt_frame *f = &st[i];

		/* the next address: the same (inlined chains), nearby or anywhere */
		if (how & 1)
			addr = how & 2 ? pp_u(in, 8) : addr + pp_u(in, 2);
		f->addr = addr;
		f->func = pp_str(in);
		f->offset = pp_u(in, 2);
		f->file = how & 4 ? pp_str(in) : NULL;
		f->line = (int)pp_u(in, 2);
		f->module = how & 8 ? pp_str(in) : strdup("[unknown]");
		f->module_off = how & 16 ? pp_u(in, 8) : addr - (pp_u(in, 1) << 12);
		f->inlined = how & 32;
		f->build_id = how & 64 ? pp_str(in) : NULL;
	}
	*out = st;
	return n;
}

/* A site of a section: the view's values, its own fields, a stack. */
static void pp_site(struct pp_in *in, struct lt_site *s)
{
	s->pid = (int)pp_u(in, 4);
	pp_comm(in, s->comm);
	for (int v = 0; v < LT_SITE_VALUES; v++)
		s->v[v] = (int64_t)pp_u(in, v ? 4 : 8);
	s->delta = (int64_t)pp_u(in, 8);
	s->rate = (double)(int32_t)pp_u(in, 4);
	s->oldest_age_s = pp_age(in);
	s->trend = (enum lt_trend)(pp_u(in, 1) % 4);
	s->label = pp_str(in);
	s->num = pp_u(in, 8);
	s->num2 = (int64_t)pp_u(in, 8);
	s->flags = (uint32_t)pp_u(in, 1);
	s->truncated = pp_u(in, 1) & 1;
	s->nstack = pp_stack(in, &s->stack);
}

/* One section per tracker the flags turn on, sites and totals from the bytes. */
static void pp_section(struct pp_in *in, struct lt_report *r, const struct lt_view *view, int max)
{
	struct lt_section *sec = report__add_section(r, view);
	int n = (int)(pp_u(in, 1) % max);

	if (!sec || section__alloc_sites(sec, n))
		return;
	for (int v = 0; v < LT_SITE_VALUES; v++)
		sec->tot[v] = (int64_t)pp_u(in, 8);
	sec->delta = (int64_t)pp_u(in, 8);
	sec->extra[0] = (int64_t)pp_u(in, 2);
	sec->extra[1] = (int64_t)pp_u(in, 2);
	for (int i = 0; i < n; i++)
		pp_site(in, &sec->sites[i]);
	sec->nsites_total = n + (int)pp_u(in, 1);
}

static struct lt_report *pp_report(struct pp_in *in)
{
	static const char *const hooks[] = { NULL, "tracepoints", "fentry on timerfd_release" };
	struct lt_report *r = calloc(1, sizeof(*r));
	uint8_t flags;

	if (!r)
		return NULL;
	flags = (uint8_t)pp_u(in, 1);
	r->number = (int)pp_u(in, 2);
	r->final = flags & 1;
	r->elapsed_s = pp_u(in, 4) / 1000.0;
	r->wall.tv_sec = (time_t)pp_u(in, 4);
	r->wall.tv_nsec = (long)(pp_u(in, 4) % 1000000000);
	r->ntargets = (int)(pp_u(in, 1) % 4);
	r->targets = calloc(r->ntargets + 1, sizeof(*r->targets));
	for (int i = 0; r->targets && i < r->ntargets; i++) {
		r->targets[i].pid = (int)pp_u(in, 4);
		pp_comm(in, r->targets[i].comm);
		r->targets[i].exited = pp_u(in, 1) & 1;
	}
	if (!r->targets)
		r->ntargets = 0;
	r->hooks = hooks[pp_u(in, 1) % 3];
	for (int d = 0; d < LT_DROP__MAX; d++)
		r->drops[d] = pp_u(in, 1) == 0xff ? pp_u(in, 8) : 0;
	if (flags & 2)
		pp_section(in, r, &lt_view_memory, 24);
	if (flags & 4)
		pp_section(in, r, &lt_view_threads, 8);
	if (flags & 8)
		pp_section(in, r, &lt_view_timers, 8);
	return r;
}

static void pp_free(struct lt_report *r)
{
	report__free_sites(r);
	free(r->targets);
	free(r);
}

/* ---- protobuf wire format ---- */

static int pb_varint(const uint8_t *p, size_t n, size_t *pos, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		uint8_t b;

		if (*pos >= n)
			return -1;
		b = p[(*pos)++];
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return -1;
}

/*
 * Walk one message; DEPTH > 0 also walks the LEN fields IS_MSG says are
 * messages. Counts the fields numbered COUNT_FIELD in *count. 0 or -1.
 */
static int pb_walk(const uint8_t *p, size_t n, int depth, uint64_t is_msg, int count_field,
		   int *count, size_t *first_str_len)
{
	size_t pos = 0;

	while (pos < n) {
		uint64_t key, v;

		if (pb_varint(p, n, &pos, &key) || (key >> 3) == 0)
			return -1;
		if ((int)(key >> 3) == count_field)
			(*count)++;
		switch (key & 7) {
		case 0:
			if (pb_varint(p, n, &pos, &v))
				return -1;
			break;
		case 2:
			if (pb_varint(p, n, &pos, &v) || v > n - pos)
				return -1;
			if ((key >> 3) == 6 && first_str_len && *first_str_len == SIZE_MAX)
				*first_str_len = v;
			if (depth > 0 && (key >> 3) < 64 && (is_msg >> (key >> 3) & 1) &&
			    pb_walk(p + pos, v, 0, 0, 0, count, NULL))
				return -1;
			pos += v;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

/* Profile fields that are messages: sample_type, sample, mapping, location, function, period_type. */
#define PROFILE_MSGS ((1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 11))

static void pp_check_profile(const uint8_t *buf, size_t len, int nsamples)
{
	size_t first = SIZE_MAX;
	int samples = 0;

	FUZZ_CHECK(pb_walk(buf, len, 1, PROFILE_MSGS, 2, &samples, &first) == 0);
	FUZZ_CHECK(first == 0);			/* string_table[0] == "" */
	FUZZ_CHECK(samples == nsamples);
}

static void pp_check_gzip(const uint8_t *gz, size_t gzlen, const uint8_t *raw, size_t rawlen)
{
	z_stream zs = { 0 };
	uint8_t *out = malloc(rawlen + 1);
	int zr;

	if (!out)
		return;
	FUZZ_CHECK(inflateInit2(&zs, 15 + 16) == Z_OK);
	zs.next_in = (Bytef *)gz;
	zs.avail_in = (uInt)gzlen;
	zs.next_out = out;
	zs.avail_out = (uInt)rawlen + 1;
	zr = inflate(&zs, Z_FINISH);
	FUZZ_CHECK(zr == Z_STREAM_END);
	FUZZ_CHECK(zs.total_out == rawlen);
	FUZZ_CHECK(zs.avail_in == 0);		/* one member, nothing after it */
	FUZZ_CHECK(rawlen == 0 || memcmp(out, raw, rawlen) == 0);
	inflateEnd(&zs);
	free(out);
}

/* ---- JSON syntax ---- */

struct pp_json {
	const char *p, *end;
	int depth;
};

static void js_ws(struct pp_json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int js_lit(struct pp_json *j, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n))
		return -1;
	j->p += n;
	return 0;
}

static int js_string(struct pp_json *j)
{
	if (j->p >= j->end || *j->p != '"')
		return -1;
	for (j->p++; j->p < j->end; j->p++) {
		unsigned char c = (unsigned char)*j->p;

		if (c == '"') {
			j->p++;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			if (++j->p >= j->end)
				return -1;
			if (*j->p == 'u') {
				for (int i = 0; i < 4; i++)
					if (++j->p >= j->end || !strchr("0123456789abcdefABCDEF", *j->p) || !*j->p)
						return -1;
			} else if (!strchr("\"\\/bfnrt", *j->p) || !*j->p) {
				return -1;
			}
		}
	}
	return -1;
}

static int js_number(struct pp_json *j)
{
	const char *s = j->p;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return -1;
	if (*j->p == '0')
		j->p++;
	else
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return -1;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	return j->p > s ? 0 : -1;
}

static int js_value(struct pp_json *j)
{
	int err = 0;

	js_ws(j);
	if (j->p >= j->end || ++j->depth > 64)
		return -1;
	switch (*j->p) {
	case '{':
	case '[': {
		char close = *j->p == '{' ? '}' : ']';
		bool obj = close == '}';

		j->p++;
		js_ws(j);
		if (j->p < j->end && *j->p == close) {
			j->p++;
			break;
		}
		for (;;) {
			if (obj) {
				js_ws(j);
				if (js_string(j))
					return -1;
				js_ws(j);
				if (j->p >= j->end || *j->p++ != ':')
					return -1;
			}
			if (js_value(j))
				return -1;
			js_ws(j);
			if (j->p >= j->end)
				return -1;
			if (*j->p == ',') {
				j->p++;
				continue;
			}
			if (*j->p++ != close)
				return -1;
			break;
		}
		break;
	}
	case '"':
		err = js_string(j);
		break;
	case 't':
		err = js_lit(j, "true");
		break;
	case 'f':
		err = js_lit(j, "false");
		break;
	case 'n':
		err = js_lit(j, "null");
		break;
	default:
		err = js_number(j);
	}
	j->depth--;
	return err;
}

static void pp_check_json(const char *s, size_t n)
{
	struct pp_json j = { s, s + n, 0 };

	FUZZ_CHECK(n > 0 && s[0] == '{' && s[n - 1] == '\n');
	FUZZ_CHECK(memchr(s, '\n', n) == s + n - 1);	/* JSON Lines: one line */
	FUZZ_CHECK(js_value(&j) == 0);
	js_ws(&j);
	FUZZ_CHECK(j.p == j.end);
}

/* Every section's profile: well-formed, one sample per shown site, and the gzip'ed one the same. */
static void pp_profile(const struct lt_report *r, const struct lt_section *sec)
{
	uint8_t *raw = NULL;
	char *gz = NULL;
	size_t rawlen = 0, gzlen = 0;
	FILE *f;
	int err;

	err = pprof__encode(r, sec, NULL, &raw, &rawlen);
	if (err) {
		FUZZ_CHECK(err == -ENOMEM);
		return;
	}
	pp_check_profile(raw, rawlen, sec->nsites);
	f = open_memstream(&gz, &gzlen);
	if (f) {
		err = pprof__write_section(f, r, sec, NULL);
		fclose(f);
		if (!err)
			pp_check_gzip((const uint8_t *)gz, gzlen, raw, rawlen);
		free(gz);
	}
	free(raw);
}

static void pp_text(const struct lt_report *r, int (*wr)(FILE *, const struct lt_report *), bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return;
	FUZZ_CHECK(wr(f, r) == 0);
	fclose(f);
	if (json)
		pp_check_json(buf, len);
	free(buf);
}

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	struct pp_in in = { data, size };
	struct lt_report *r = pp_report(&in);

	if (!r)
		return 0;
	for (int i = 0; i < r->nsecs; i++)
		if (r->secs[i].view->pprof)
			pp_profile(r, &r->secs[i]);
	pp_text(r, output__json, true);
	pp_text(r, output__text, false);
	pp_text(r, output__folded, false);
	pp_free(r);
	return 0;
}
