// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * profile.proto, hand-encoded (no protobuf library), gzip'ed with zlib.
 * Field numbers from github.com/google/pprof proto/profile.proto.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "pprof.h"
#include "version.h"

/* Profile */
#define P_SAMPLE_TYPE	1
#define P_SAMPLE	2
#define P_MAPPING	3
#define P_LOCATION	4
#define P_FUNCTION	5
#define P_STRING_TABLE	6
#define P_TIME_NANOS	9
#define P_DURATION	10
#define P_PERIOD_TYPE	11
#define P_PERIOD	12
#define P_COMMENT	13
#define P_DEFAULT_TYPE	14
/* ValueType */
#define VT_TYPE		1
#define VT_UNIT		2
/* Sample */
#define S_LOCATION_ID	1
#define S_VALUE		2
#define S_LABEL		3
/* Label */
#define L_KEY		1
#define L_STR		2
#define L_NUM		3
#define L_NUM_UNIT	4
/* Mapping */
#define M_ID		1
#define M_START		2
#define M_LIMIT		3
#define M_OFFSET	4
#define M_FILENAME	5
#define M_BUILD_ID	6
#define M_HAS_FUNCTIONS	7
#define M_HAS_FILENAMES	8
#define M_HAS_LINES	9
#define M_HAS_INLINE	10
/* Location */
#define LOC_ID		1
#define LOC_MAPPING	2
#define LOC_ADDRESS	3
#define LOC_LINE	4
/* Line */
#define LN_FUNCTION	1
#define LN_LINE		2
/* Function */
#define F_ID		1
#define F_NAME		2
#define F_SYSTEM_NAME	3
#define F_FILENAME	4

#define WT_VARINT	0
#define WT_LEN		2

#define TRUNCATED_NAME	"[truncated]"
#define MAX_VALUES	4	/* sample values per profile, at most */

/* ---- encoding ---- */

struct pbuf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

static void pb_raw(struct pbuf *b, const void *d, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t nc = b->cap ? b->cap : 256;
		uint8_t *np;

		while (nc < b->len + n)
			nc *= 2;
		np = realloc(b->p, nc);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
	if (n)
		memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void pb_varint(struct pbuf *b, uint64_t v)
{
	uint8_t tmp[10];
	int n = 0;

	do {
		tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	pb_raw(b, tmp, n);
}

static void pb_key(struct pbuf *b, int field, int wt)
{
	pb_varint(b, (uint64_t)field << 3 | wt);
}

/* A scalar; zero is the default and is left out, as proto3 does. */
static void pb_uint(struct pbuf *b, int field, uint64_t v)
{
	if (!v)
		return;
	pb_key(b, field, WT_VARINT);
	pb_varint(b, v);
}

static void pb_bytes(struct pbuf *b, int field, const void *d, size_t n)
{
	pb_key(b, field, WT_LEN);
	pb_varint(b, n);
	pb_raw(b, d, n);
}

/* Append message M as FIELD of B, and empty M for reuse. */
static void pb_msg(struct pbuf *b, int field, struct pbuf *m)
{
	pb_bytes(b, field, m->p, m->len);
	b->oom |= m->oom;
	m->len = 0;
	m->oom = false;
}

static void pb_packed(struct pbuf *b, int field, const uint64_t *v, int n, struct pbuf *tmp)
{
	if (!n)
		return;
	for (int i = 0; i < n; i++)
		pb_varint(tmp, v[i]);
	pb_msg(b, field, tmp);
}

static void pb_free(struct pbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- tables ---- */

static uint64_t hash_bytes(const void *d, size_t n)
{
	const uint8_t *p = d;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h ^ (h >> 31);
}

/* Interned strings: index 0 is "", as profile.proto requires. */
struct strtab {
	char **s;
	uint32_t n, cap;
	uint32_t *slot;		/* index + 1, 0 = empty */
	uint32_t nslot;		/* power of two */
};

/* Tuple -> id. */
struct tent {
	uint64_t k[3];
	uint32_t v;		/* 0 = empty */
};

struct ttab {
	struct tent *e;
	size_t cap, used;
};

static uint32_t *ttab_get(struct ttab *t, const uint64_t k[3], bool *oom)
{
	size_t i;

	if ((t->used + 1) * 2 > t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 256;
		struct tent *ne = calloc(nc, sizeof(*ne));

		if (!ne) {
			*oom = true;
			return NULL;
		}
		for (size_t j = 0; j < t->cap; j++) {
			if (!t->e[j].v)
				continue;
			i = hash_bytes(t->e[j].k, sizeof(t->e[j].k)) & (nc - 1);
			while (ne[i].v)
				i = (i + 1) & (nc - 1);
			ne[i] = t->e[j];
		}
		free(t->e);
		t->e = ne;
		t->cap = nc;
	}
	i = hash_bytes(k, 3 * sizeof(uint64_t)) & (t->cap - 1);
	while (t->e[i].v) {
		if (!memcmp(t->e[i].k, k, 3 * sizeof(uint64_t)))
			return &t->e[i].v;
		i = (i + 1) & (t->cap - 1);
	}
	memcpy(t->e[i].k, k, 3 * sizeof(uint64_t));
	t->used++;
	return &t->e[i].v;	/* 0: new, the caller sets it */
}

struct mapping {
	uint64_t id;
	int pid;
	uint64_t file, build_id;	/* string ids */
	uint64_t bias, lo, hi;		/* addr - module_off; lowest and highest address seen */
};

struct builder {
	struct strtab st;
	struct ttab funcs, locs, maps;
	struct pbuf samples, locations, functions;
	/* scratch, one per message kind, as they nest */
	struct pbuf fn_msg, loc_msg, line_msg, smp_msg, lab_msg, pk_msg, misc_msg;
	struct mapping *map;
	size_t nmap, mapcap;
	uint64_t nfuncs, nlocs;
	uint64_t *ids;
	int nids, idcap;
	int64_t main_map;	/* index in map[] to list first, -1: none */
	bool oom;
};

static uint64_t str_id(struct builder *b, const char *s)
{
	struct strtab *t = &b->st;
	uint32_t i;

	if (!s)
		s = "";
	if ((t->n + 1) * 2 > t->nslot) {
		uint32_t ns = t->nslot ? t->nslot * 2 : 256;
		uint32_t *nsl = calloc(ns, sizeof(*nsl));

		if (!nsl) {
			b->oom = true;
			return 0;
		}
		for (uint32_t j = 0; j < t->n; j++) {
			i = hash_bytes(t->s[j], strlen(t->s[j])) & (ns - 1);
			while (nsl[i])
				i = (i + 1) & (ns - 1);
			nsl[i] = j + 1;
		}
		free(t->slot);
		t->slot = nsl;
		t->nslot = ns;
	}
	i = hash_bytes(s, strlen(s)) & (t->nslot - 1);
	while (t->slot[i]) {
		if (!strcmp(t->s[t->slot[i] - 1], s))
			return t->slot[i] - 1;
		i = (i + 1) & (t->nslot - 1);
	}
	if (t->n == t->cap) {
		uint32_t nc = t->cap ? t->cap * 2 : 256;
		char **nsv = realloc(t->s, nc * sizeof(*nsv));

		if (!nsv) {
			b->oom = true;
			return 0;
		}
		t->s = nsv;
		t->cap = nc;
	}
	t->s[t->n] = strdup(s);
	if (!t->s[t->n]) {
		b->oom = true;
		return 0;
	}
	t->slot[i] = ++t->n;
	return t->n - 1;
}

static bool builder_init(struct builder *b)
{
	memset(b, 0, sizeof(*b));
	b->main_map = -1;
	str_id(b, "");
	return !b->oom;
}

static void builder_free(struct builder *b)
{
	for (uint32_t i = 0; i < b->st.n; i++)
		free(b->st.s[i]);
	free(b->st.s);
	free(b->st.slot);
	free(b->funcs.e);
	free(b->locs.e);
	free(b->maps.e);
	pb_free(&b->samples);
	pb_free(&b->locations);
	pb_free(&b->functions);
	pb_free(&b->fn_msg);
	pb_free(&b->loc_msg);
	pb_free(&b->line_msg);
	pb_free(&b->smp_msg);
	pb_free(&b->lab_msg);
	pb_free(&b->pk_msg);
	pb_free(&b->misc_msg);
	free(b->map);
	free(b->ids);
}

static uint64_t function_id(struct builder *b, const char *name, const char *file)
{
	uint64_t k[3] = { str_id(b, name), str_id(b, name), str_id(b, file) };
	uint32_t *v = ttab_get(&b->funcs, k, &b->oom);

	if (!v)
		return 0;
	if (!*v) {
		*v = (uint32_t)++b->nfuncs;
		pb_uint(&b->fn_msg, F_ID, *v);
		pb_uint(&b->fn_msg, F_NAME, k[0]);
		pb_uint(&b->fn_msg, F_SYSTEM_NAME, k[1]);
		pb_uint(&b->fn_msg, F_FILENAME, k[2]);
		pb_msg(&b->functions, P_FUNCTION, &b->fn_msg);
	}
	return *v;
}

static bool real_module(const char *m)
{
	return m && *m && strcmp(m, "[unknown]") != 0;
}

/* The mapping (index in map[]) of frame FR in PID, or -1. */
static int64_t mapping_of(struct builder *b, int pid, const struct lt_frame *fr)
{
	uint64_t k[3], bias;
	uint32_t *v;
	struct mapping *m;

	if (!real_module(fr->module) || fr->module_off > fr->addr)
		return -1;
	bias = fr->addr - fr->module_off;
	k[0] = (uint64_t)(uint32_t)pid;
	k[1] = str_id(b, fr->module);
	k[2] = bias;
	v = ttab_get(&b->maps, k, &b->oom);
	if (!v)
		return -1;
	if (!*v) {
		if (b->nmap == b->mapcap) {
			size_t nc = b->mapcap ? b->mapcap * 2 : 16;
			struct mapping *nm = realloc(b->map, nc * sizeof(*nm));

			if (!nm) {
				b->oom = true;
				return -1;
			}
			b->map = nm;
			b->mapcap = nc;
		}
		m = &b->map[b->nmap++];
		memset(m, 0, sizeof(*m));
		m->id = b->nmap;
		m->pid = pid;
		m->file = k[1];
		m->build_id = fr->build_id ? str_id(b, fr->build_id) : 0;
		m->bias = bias;
		m->lo = m->hi = fr->addr;
		*v = (uint32_t)m->id;
	}
	m = &b->map[*v - 1];
	if (fr->addr < m->lo)
		m->lo = fr->addr;
	if (fr->addr > m->hi)
		m->hi = fr->addr;
	if (!m->build_id && fr->build_id)
		m->build_id = str_id(b, fr->build_id);
	return (int64_t)*v - 1;
}

/*
 * The Location of the frames G[0..n-1]: one address, the inlined frames
 * innermost first, the containing function last.
 */
static uint64_t location_id(struct builder *b, int pid, const struct lt_frame *g, int n)
{
	uint64_t k[3] = { (uint64_t)(uint32_t)pid, g[0].addr, 0 };
	uint32_t *v = ttab_get(&b->locs, k, &b->oom);
	int64_t mi;

	if (!v)
		return 0;
	if (*v)
		return *v;
	*v = (uint32_t)++b->nlocs;
	mi = mapping_of(b, pid, &g[n - 1]);
	pb_uint(&b->loc_msg, LOC_ID, *v);
	if (mi >= 0)
		pb_uint(&b->loc_msg, LOC_MAPPING, b->map[mi].id);
	pb_uint(&b->loc_msg, LOC_ADDRESS, g[0].addr);
	for (int i = 0; i < n; i++) {
		if (!g[i].func)
			continue;
		pb_uint(&b->line_msg, LN_FUNCTION, function_id(b, g[i].func, g[i].file));
		pb_uint(&b->line_msg, LN_LINE, g[i].line > 0 ? (uint64_t)g[i].line : 0);
		pb_msg(&b->loc_msg, LOC_LINE, &b->line_msg);
	}
	pb_msg(&b->locations, P_LOCATION, &b->loc_msg);
	return *v;
}

/* The pseudo-frame at the root of a stack whose walk stopped early. */
static uint64_t truncated_id(struct builder *b)
{
	uint64_t k[3] = { UINT64_MAX, 0, 1 };
	uint32_t *v = ttab_get(&b->locs, k, &b->oom);

	if (!v)
		return 0;
	if (!*v) {
		*v = (uint32_t)++b->nlocs;
		pb_uint(&b->loc_msg, LOC_ID, *v);
		pb_uint(&b->line_msg, LN_FUNCTION, function_id(b, TRUNCATED_NAME, NULL));
		pb_msg(&b->loc_msg, LOC_LINE, &b->line_msg);
		pb_msg(&b->locations, P_LOCATION, &b->loc_msg);
	}
	return *v;
}

static void push_id(struct builder *b, uint64_t id)
{
	if (!id)
		return;
	if (b->nids == b->idcap) {
		int nc = b->idcap ? b->idcap * 2 : 64;
		uint64_t *ni = realloc(b->ids, nc * sizeof(*ni));

		if (!ni) {
			b->oom = true;
			return;
		}
		b->ids = ni;
		b->idcap = nc;
	}
	b->ids[b->nids++] = id;
}

static void label_str(struct builder *b, const char *key, const char *val)
{
	pb_uint(&b->lab_msg, L_KEY, str_id(b, key));
	pb_uint(&b->lab_msg, L_STR, str_id(b, val));
	pb_msg(&b->smp_msg, S_LABEL, &b->lab_msg);
}

/* A numeric label; UNIT (NULL: none) is its num_unit, which pprof scales by. */
static void label_num(struct builder *b, const char *key, int64_t val, const char *unit)
{
	pb_uint(&b->lab_msg, L_KEY, str_id(b, key));
	pb_uint(&b->lab_msg, L_NUM, (uint64_t)val);
	if (unit)
		pb_uint(&b->lab_msg, L_NUM_UNIT, str_id(b, unit));
	pb_msg(&b->smp_msg, S_LABEL, &b->lab_msg);
}

/*
 * Start a sample: STACK innermost first, then VALUES. Consecutive frames at
 * one address whose earlier ones are inlined make one Location. Labels of
 * the caller's own may follow (label_str, label_num); sample_end() ends it.
 */
static void sample_begin(struct builder *b, int pid, const struct lt_frame *stack, int nstack,
			 bool truncated, const int64_t *values, int nvalues)
{
	uint64_t v[MAX_VALUES];

	b->nids = 0;
	for (int i = 0; i < nstack;) {
		int j = i;

		while (j + 1 < nstack && stack[j].inlined && stack[j + 1].addr == stack[i].addr)
			j++;
		push_id(b, location_id(b, pid, &stack[i], j - i + 1));
		/* the frame of main's module is listed first (pprof's main binary) */
		if (b->main_map < 0 && stack[j].func && !strcmp(stack[j].func, "main"))
			b->main_map = mapping_of(b, pid, &stack[j]);
		i = j + 1;
	}
	if (truncated)
		push_id(b, truncated_id(b));
	pb_packed(&b->smp_msg, S_LOCATION_ID, b->ids, b->nids, &b->pk_msg);
	if (nvalues > MAX_VALUES)
		nvalues = MAX_VALUES;
	for (int i = 0; i < nvalues; i++)
		v[i] = (uint64_t)values[i];
	pb_packed(&b->smp_msg, S_VALUE, v, nvalues, &b->pk_msg);
}

/* The labels every sample has (pid, comm, trend), and the sample is done. */
static void sample_end(struct builder *b, int pid, const char *comm, const char *trend)
{
	label_num(b, "pid", pid, NULL);
	if (comm && *comm)
		label_str(b, "comm", comm);
	if (trend)
		label_str(b, "trend", trend);
	pb_msg(&b->samples, P_SAMPLE, &b->smp_msg);
}

static void value_type(struct builder *b, struct pbuf *out, int field, const char *type, const char *unit)
{
	pb_uint(&b->misc_msg, VT_TYPE, str_id(b, type));
	pb_uint(&b->misc_msg, VT_UNIT, str_id(b, unit));
	pb_msg(out, field, &b->misc_msg);
}

static void encode_mapping(struct builder *b, struct pbuf *out, const struct mapping *m)
{
	uint64_t lo = m->lo & ~0xfffULL, hi = (m->hi | 0xfffULL) + 1;

	if (lo < m->bias)
		lo = m->bias;
	pb_uint(&b->misc_msg, M_ID, m->id);
	pb_uint(&b->misc_msg, M_START, lo);
	pb_uint(&b->misc_msg, M_LIMIT, hi);
	pb_uint(&b->misc_msg, M_OFFSET, lo - m->bias);
	pb_uint(&b->misc_msg, M_FILENAME, m->file);
	pb_uint(&b->misc_msg, M_BUILD_ID, m->build_id);
	/* symbolized already: pprof must not look for the binaries */
	pb_uint(&b->misc_msg, M_HAS_FUNCTIONS, 1);
	pb_uint(&b->misc_msg, M_HAS_FILENAMES, 1);
	pb_uint(&b->misc_msg, M_HAS_LINES, 1);
	pb_uint(&b->misc_msg, M_HAS_INLINE, 1);
	pb_msg(out, P_MAPPING, &b->misc_msg);
}

/* Everything but the samples, then the samples: the whole Profile message. */
static int finish(struct builder *b, const struct lt_pprof_desc *d, const struct lt_report *r,
		  const struct lt_section *sec, uint8_t **buf, size_t *len)
{
	int64_t period = d->period;
	struct pbuf out = {};
	char comment[96];
	uint64_t comment_id, default_id;

	snprintf(comment, sizeof(comment), "leaktrace %s, report %d%s", LT_VERSION, r->number,
		 r->final ? " (final)" : "");
	comment_id = str_id(b, comment);
	default_id = str_id(b, d->default_type);
	for (int i = 0; i < d->nvalues; i++)
		value_type(b, &out, P_SAMPLE_TYPE, d->values[i].type, d->values[i].unit);
	pb_raw(&out, b->samples.p, b->samples.len);
	if (b->main_map >= 0)
		encode_mapping(b, &out, &b->map[b->main_map]);
	for (size_t i = 0; i < b->nmap; i++)
		if ((int64_t)i != b->main_map)
			encode_mapping(b, &out, &b->map[i]);
	pb_raw(&out, b->locations.p, b->locations.len);
	pb_raw(&out, b->functions.p, b->functions.len);
	pb_uint(&out, P_TIME_NANOS, (uint64_t)r->wall.tv_sec * 1000000000ULL + (uint64_t)r->wall.tv_nsec);
	pb_uint(&out, P_DURATION, r->elapsed_s > 0 ? (uint64_t)(r->elapsed_s * 1e9) : 0);
	value_type(b, &out, P_PERIOD_TYPE, d->period_type, d->period_unit);
	if (sec && d->period_extra > 0 && d->period_extra <= (int)(sizeof(sec->extra) / sizeof(sec->extra[0])) &&
	    sec->extra[d->period_extra - 1] > 0)
		period = sec->extra[d->period_extra - 1];
	pb_uint(&out, P_PERIOD, period > 0 ? (uint64_t)period : 1);
	pb_key(&out, P_COMMENT, WT_VARINT);
	pb_varint(&out, comment_id);
	pb_uint(&out, P_DEFAULT_TYPE, default_id);
	/* the string table last: every string is known by now */
	for (uint32_t i = 0; i < b->st.n; i++)
		pb_bytes(&out, P_STRING_TABLE, b->st.s[i], strlen(b->st.s[i]));
	if (out.oom || b->oom || b->samples.oom || b->locations.oom || b->functions.oom) {
		pb_free(&out);
		return -ENOMEM;
	}
	*buf = out.p;
	*len = out.len;
	return 0;
}

/* One sample per shown site: the values the profile names, the view's labels, then pid, comm, trend. */
static void add_samples(struct builder *b, const struct lt_section *sec, const struct lt_pprof_desc *d)
{
	for (int i = 0; sec && i < sec->nsites; i++) {
		const struct lt_site *s = &sec->sites[i];
		struct lt_label labels[8];
		int64_t v[MAX_VALUES];
		int n = d->nvalues < MAX_VALUES ? d->nvalues : MAX_VALUES, nl;

		for (int k = 0; k < n; k++)
			v[k] = d->values[k].v >= 0 && d->values[k].v < LT_SITE_VALUES ? s->v[d->values[k].v] : 0;
		sample_begin(b, s->pid, s->stack, s->nstack, s->truncated, v, n);
		nl = d->labels ? d->labels(s, labels, 8) : 0;
		for (int k = 0; k < nl; k++) {
			if (labels[k].str)
				label_str(b, labels[k].key, labels[k].str);
			else
				label_num(b, labels[k].key, labels[k].num, labels[k].unit);
		}
		sample_end(b, s->pid, s->comm, trend__name(s->trend));
	}
}

int pprof__encode(const struct lt_report *r, const struct lt_section *sec, const struct lt_pprof_desc *d,
		  uint8_t **buf, size_t *len)
{
	struct builder b;
	int err;

	*buf = NULL;
	*len = 0;
	if (!d && sec)
		d = sec->view->pprof;
	if (!d)
		return -EINVAL;
	if (!builder_init(&b)) {
		builder_free(&b);
		return -ENOMEM;
	}
	add_samples(&b, sec, d);
	err = finish(&b, d, r, sec, buf, len);
	builder_free(&b);
	return err;
}

int pprof__gzip(FILE *f, const uint8_t *buf, size_t len)
{
	z_stream zs = {};
	uint8_t out[16384];
	int zr;

	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	zs.next_in = (Bytef *)buf;
	zs.avail_in = (uInt)len;
	do {
		zs.next_out = out;
		zs.avail_out = sizeof(out);
		zr = deflate(&zs, Z_FINISH);
		if (zr == Z_STREAM_ERROR)
			break;
		if (fwrite(out, 1, sizeof(out) - zs.avail_out, f) != sizeof(out) - zs.avail_out) {
			deflateEnd(&zs);
			return -EIO;
		}
	} while (zr != Z_STREAM_END);
	deflateEnd(&zs);
	if (zr != Z_STREAM_END)
		return -EIO;
	fflush(f);
	return ferror(f) ? -EIO : 0;
}

int pprof__write_section(FILE *f, const struct lt_report *r, const struct lt_section *sec,
			 const struct lt_pprof_desc *d)
{
	uint8_t *buf;
	size_t len;
	int err;

	err = pprof__encode(r, sec, d, &buf, &len);
	if (err)
		return err;
	err = pprof__gzip(f, buf, len);
	free(buf);
	return err;
}

const struct lt_section *pprof__main_section(const struct lt_report *r)
{
	for (int i = 0; i < r->nsecs; i++)
		if (r->secs[i].view->pprof && !r->secs[i].view->pprof->sibling)
			return &r->secs[i];
	return NULL;
}

int pprof__write(FILE *f, const struct lt_report *r)
{
	const struct lt_section *sec = pprof__main_section(r);

	for (int i = 0; !sec && i < r->nsecs; i++)
		if (r->secs[i].view->pprof)
			sec = &r->secs[i];
	return sec ? pprof__write_section(f, r, sec, NULL) : -ENOENT;
}

int pprof__sibling(const char *path, const char *kind, char *out, size_t len)
{
	static const char ext[] = ".pb.gz";
	size_t n = strlen(path), e = sizeof(ext) - 1;
	int k;

	if (n >= e && strcmp(path + n - e, ext) == 0)
		n -= e;
	k = snprintf(out, len, "%.*s.%s%s", (int)n, path, kind, ext);
	return k < 0 || (size_t)k >= len ? -ENAMETOOLONG : 0;
}
