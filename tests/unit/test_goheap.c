// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for src/goheap.c: the heap profile and memstats of live Go
 * processes (children of this test) against the programs' own numbers,
 * taken while nothing moves them:
 * - goheap writes its heap profile at debug=1 (raw numbers, every stack's
 *   PCs) and as the proto (scaled like pprof does, runtime frames hidden)
 *   after two runtime.GC() and debug.SetGCPercent(-1): from then on the
 *   profile cannot change (no mark termination, no PostSweep), so a read
 *   at any later moment must give the same records; its
 *   runtime.ReadMemStats is written at SIGUSR2, between two reads of ours;
 * - gonoprof never references runtime.MemProfile: profiling off until
 *   goproc__set_memprofile_rate;
 * - esbuild (go1.26.5, stripped): buckets validated, memstats consistent.
 * Plus the scaling against values printed by Go's own scaleHeapSample, and
 * corrupted fake images that must be refused.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include "gobin.h"
#include "goheap.h"
#include "goproc.h"
#include "gotest.h"
#include "test.h"

static char *slurp(const char *path, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (!fstat(fd, &st) && (buf = malloc((size_t)st.st_size + 1))) {
		if (read(fd, buf, (size_t)st.st_size) != st.st_size) {
			free(buf);
			buf = NULL;
		} else {
			buf[st.st_size] = 0;
			if (len)
				*len = (size_t)st.st_size;
		}
	}
	close(fd);
	return buf;
}

static struct goproc *open_or_skip(int pid)
{
	char err[256];
	struct goproc *p = goproc__open(pid, err, sizeof(err));

	if (!p && errno == EPERM) {
		test__skip("process_vm_readv not permitted (needs CAP_SYS_PTRACE or Yama scope <= 1)");
		return NULL;
	}
	if (!p)
		fprintf(stderr, "    goproc__open: %s\n", err);
	ASSERT_OK_PTR(p, "goproc__open");
	return p;
}

/* ---------------------------------------------------------------------- */
/* records keyed by (stack, object size), summed                         */

struct agg {
	char *key;		/* " 0x4bc247 0x4bd171 ..." then "/size" */
	int64_t v[4];		/* inuse objects, inuse bytes, alloc objects, alloc bytes */
	int n;
};

struct aggs {
	struct agg *a;
	int n, cap;
	bool sorted;
};

static void aggs_add(struct aggs *s, const char *key, const int64_t v[4])
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->a = realloc(s->a, s->cap * sizeof(*s->a));
	}
	s->a[s->n].key = strdup(key);
	memcpy(s->a[s->n].v, v, sizeof(s->a[0].v));
	s->a[s->n].n = 1;
	s->n++;
	s->sorted = false;
}

static int agg_cmp(const void *a, const void *b)
{
	return strcmp(((const struct agg *)a)->key, ((const struct agg *)b)->key);
}

/* Sort and merge equal keys. */
static void aggs_merge(struct aggs *s)
{
	int k = 0;

	qsort(s->a, s->n, sizeof(*s->a), agg_cmp);
	for (int i = 0; i < s->n; i++) {
		if (k && !strcmp(s->a[k - 1].key, s->a[i].key)) {
			for (int j = 0; j < 4; j++)
				s->a[k - 1].v[j] += s->a[i].v[j];
			s->a[k - 1].n += s->a[i].n;
			free(s->a[i].key);
			continue;
		}
		s->a[k++] = s->a[i];
	}
	s->n = k;
	s->sorted = true;
}

static const struct agg *aggs_get(const struct aggs *s, const char *key)
{
	struct agg k = { (char *)key };

	return bsearch(&k, s->a, s->n, sizeof(*s->a), agg_cmp);
}

static void aggs_free(struct aggs *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->a[i].key);
	free(s->a);
	memset(s, 0, sizeof(*s));
}

static void stack_key(char *buf, size_t len, const uint64_t *stk, int n, int64_t bsize)
{
	size_t o = 0;

	buf[0] = 0;
	for (int i = 0; i < n && o + 24 < len; i++)
		o += snprintf(buf + o, len - o, " %#llx", (unsigned long long)stk[i]);
	snprintf(buf + o, len - o, "/%lld", (long long)bsize);
}

/* debug=1: "heap profile: A: B [C: D] @ heap/2R", then "A: B [C: D] @ pcs" per record. */
static bool parse_text(const char *text, struct aggs *out, int64_t tot[4], int64_t *rate2)
{
	const char *p = text;

	if (sscanf(p, "heap profile: %lld: %lld [%lld: %lld] @ heap/%lld", (long long *)&tot[0],
		   (long long *)&tot[1], (long long *)&tot[2], (long long *)&tot[3],
		   (long long *)rate2) != 5)
		return false;
	while ((p = strchr(p, '\n'))) {
		long long a, b, c, d;
		const char *at, *nl;
		char key[2048];
		int64_t v[4];
		int n;

		p++;
		/* a record line starts with a digit (sscanf would skip blank lines) */
		if (*p < '0' || *p > '9' ||
		    sscanf(p, "%lld: %lld [%lld: %lld] @%n", &a, &b, &c, &d, &n) != 4)
			continue;
		at = p + n - 1;
		nl = strchr(at, '\n');
		if (!nl || nl - at > 1500)
			return false;
		v[0] = a;
		v[1] = b;
		v[2] = c;
		v[3] = d;
		snprintf(key, sizeof(key), "%.*s/%lld", (int)(nl - at - 1), at + 1, c ? d / c : 0);
		aggs_add(out, key, v);
	}
	aggs_merge(out);
	return true;
}

/* ---------------------------------------------------------------------- */
/* the proto (gzipped profile.proto)                                      */

struct psample {
	uint64_t loc0;		/* first location id */
	int nlocs;
	int64_t v[4];		/* alloc objects, alloc bytes, inuse objects, inuse bytes (scaled) */
	int64_t bytes;		/* the "bytes" label, 0 if none */
	int64_t label_key;
};

struct pproto {
	struct psample *s;
	int n, cap;
	int64_t period;
	uint64_t *loc_id, *loc_addr;
	int nloc, loc_cap;
	char **str;
	int nstr, str_cap;
};

static bool pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
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

/* Next field: number, wire type, then *V (varint) or [*P, *P + *LEN) (bytes). */
static bool pb_field(const uint8_t **p, const uint8_t *end, uint64_t *num, int *wt, uint64_t *v,
		     const uint8_t **data, uint64_t *len)
{
	uint64_t tag;

	if (!pb_varint(p, end, &tag))
		return false;
	*num = tag >> 3;
	*wt = (int)(tag & 7);
	if (*wt == 0)
		return pb_varint(p, end, v);
	if (*wt == 2) {
		if (!pb_varint(p, end, len) || *len > (uint64_t)(end - *p))
			return false;
		*data = *p;
		*p += *len;
		return true;
	}
	if (*wt == 1 && end - *p >= 8) {
		memcpy(v, *p, 8);
		*p += 8;
		return true;
	}
	return false;
}

/* Packed or single varints of a repeated field into OUT (up to MAX); returns the count added. */
static int pb_repeated(int wt, uint64_t v, const uint8_t *d, uint64_t len, uint64_t *out, int max)
{
	int n = 0;

	if (wt == 0) {
		if (max > 0)
			out[n++] = v;
		return n;
	}
	for (const uint8_t *q = d, *e = d + len; q < e && n < max;)
		if (!pb_varint(&q, e, &out[n++]))
			return n - 1;
	return n;
}

static bool parse_sample(struct pproto *pp, const uint8_t *p, const uint8_t *end)
{
	struct psample s = { 0 };
	uint64_t num, v, len, vals[8];
	const uint8_t *d;
	int wt, nv = 0;

	while (p < end) {
		if (!pb_field(&p, end, &num, &wt, &v, &d, &len))
			return false;
		if (num == 1) {
			uint64_t ids[64];
			int k = pb_repeated(wt, v, d, len, ids, 64);

			if (k > 0 && !s.nlocs)
				s.loc0 = ids[0];
			s.nlocs += k;
		} else if (num == 2) {
			nv += pb_repeated(wt, v, d, len, vals + nv, 8 - nv);
		} else if (num == 3 && wt == 2) {
			const uint8_t *q = d, *e = d + len;

			while (q < e) {
				uint64_t n2, v2, l2;
				const uint8_t *d2;
				int w2;

				if (!pb_field(&q, e, &n2, &w2, &v2, &d2, &l2))
					return false;
				if (n2 == 1)
					s.label_key = (int64_t)v2;
				else if (n2 == 3)
					s.bytes = (int64_t)v2;
			}
		}
	}
	if (nv != 4)
		return false;
	for (int i = 0; i < 4; i++)
		s.v[i] = (int64_t)vals[i];
	if (pp->n == pp->cap) {
		pp->cap = pp->cap ? 2 * pp->cap : 256;
		pp->s = realloc(pp->s, pp->cap * sizeof(*pp->s));
	}
	pp->s[pp->n++] = s;
	return true;
}

static bool parse_proto(const char *path, struct pproto *pp)
{
	gzFile z = gzopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	const uint8_t *p, *end;
	bool ok = true;
	int k;

	memset(pp, 0, sizeof(*pp));
	if (!z)
		return false;
	do {
		if (cap - len < 65536) {
			cap = cap ? 2 * cap : 1 << 20;
			buf = realloc(buf, cap);
		}
		k = gzread(z, buf + len, (unsigned)(cap - len));
		if (k > 0)
			len += (size_t)k;
	} while (k > 0);
	gzclose(z);
	p = buf;
	end = buf + len;
	while (ok && p < end) {
		uint64_t num, v, l;
		const uint8_t *d;
		int wt;

		if (!pb_field(&p, end, &num, &wt, &v, &d, &l)) {
			ok = false;
			break;
		}
		if (num == 2 && wt == 2) {
			ok = parse_sample(pp, d, d + l);
		} else if (num == 4 && wt == 2) {
			const uint8_t *q = d, *e = d + l;
			uint64_t id = 0, addr = 0;

			while (q < e) {
				uint64_t n2, v2, l2;
				const uint8_t *d2;
				int w2;

				if (!pb_field(&q, e, &n2, &w2, &v2, &d2, &l2)) {
					ok = false;
					break;
				}
				if (n2 == 1)
					id = v2;
				else if (n2 == 3)
					addr = v2;
			}
			if (pp->nloc == pp->loc_cap) {
				pp->loc_cap = pp->loc_cap ? 2 * pp->loc_cap : 256;
				pp->loc_id = realloc(pp->loc_id, pp->loc_cap * sizeof(uint64_t));
				pp->loc_addr = realloc(pp->loc_addr, pp->loc_cap * sizeof(uint64_t));
			}
			pp->loc_id[pp->nloc] = id;
			pp->loc_addr[pp->nloc++] = addr;
		} else if (num == 6 && wt == 2) {
			if (pp->nstr == pp->str_cap) {
				pp->str_cap = pp->str_cap ? 2 * pp->str_cap : 256;
				pp->str = realloc(pp->str, pp->str_cap * sizeof(char *));
			}
			pp->str[pp->nstr++] = strndup((const char *)d, l);
		} else if (num == 12 && wt == 0) {
			pp->period = (int64_t)v;
		}
	}
	free(buf);
	return ok;
}

static uint64_t proto_loc_addr(const struct pproto *pp, uint64_t id)
{
	if (id >= 1 && id <= (uint64_t)pp->nloc && pp->loc_id[id - 1] == id)	/* ids are 1..n in order */
		return pp->loc_addr[id - 1];
	for (int i = 0; i < pp->nloc; i++)
		if (pp->loc_id[i] == id)
			return pp->loc_addr[i];
	return 0;
}

static void proto_free(struct pproto *pp)
{
	for (int i = 0; i < pp->nstr; i++)
		free(pp->str[i]);
	free(pp->str);
	free(pp->s);
	free(pp->loc_id);
	free(pp->loc_addr);
	memset(pp, 0, sizeof(*pp));
}

/* ---------------------------------------------------------------------- */
/* comparisons                                                            */

/* Every stack of the debug=1 text against ours: raw numbers, summed by (stack, object size). */
static int compare_text(const struct go_heap *h, const char *text, const char *what)
{
	struct aggs theirs = { 0 }, ours = { 0 };
	int64_t tot[4] = { 0 }, sum[4] = { 0 }, rate2 = 0;
	int compared = 0, bad = 0;
	char key[2048];

	if (!ASSERT_TRUE(parse_text(text, &theirs, tot, &rate2), "parse the debug=1 profile"))
		return 0;
	for (int i = 0; i < h->n; i++) {
		const struct go_heap_rec *r = &h->r[i];
		int64_t v[4] = { r->inuse_objects, r->inuse_bytes, r->alloc_objects, r->alloc_bytes };

		stack_key(key, sizeof(key), r->stk, r->nstk, r->alloc_objects ? (int64_t)r->size : 0);
		aggs_add(&ours, key, v);
		for (int j = 0; j < 4; j++)
			sum[j] += v[j];
	}
	aggs_merge(&ours);
	for (int i = 0; i < theirs.n; i++) {
		const struct agg *t = &theirs.a[i], *o = aggs_get(&ours, t->key);

		compared++;
		if (!o) {
			if (bad++ < 5)
				TEST_FAIL_("%s: their stack %s is not among ours", what, t->key);
			continue;
		}
		if (memcmp(o->v, t->v, sizeof(o->v))) {
			if (bad++ < 5)
				TEST_FAIL_("%s: stack %s: ours %lld: %lld [%lld: %lld], theirs %lld: %lld [%lld: %lld] (n %d %d)",
					   what, t->key, (long long)o->v[0], (long long)o->v[1],
					   (long long)o->v[2], (long long)o->v[3], (long long)t->v[0],
					   (long long)t->v[1], (long long)t->v[2], (long long)t->v[3], o->n, t->n);
		}
	}
	for (int i = 0; i < ours.n; i++) {	/* ours beyond theirs: buckets made after the dump, all 0 */
		const struct agg *o = &ours.a[i];

		if (!aggs_get(&theirs, o->key) && (o->v[0] || o->v[1] || o->v[2] || o->v[3]) && bad++ < 5)
			TEST_FAIL_("%s: our stack %s (%lld: %lld [%lld: %lld]) is not in the profile", what,
				   o->key, (long long)o->v[0], (long long)o->v[1], (long long)o->v[2],
				   (long long)o->v[3]);
	}
	ASSERT_EQ(bad, 0, "stacks that differ from the program's debug=1 profile");
	for (int j = 0; j < 4; j++)
		ASSERT_EQ(sum[j], tot[j], "totals equal the profile's header");
	ASSERT_EQ(rate2, 2 * h->rate, "the rate in the header (2 * MemProfileRate)");
	aggs_free(&theirs);
	aggs_free(&ours);
	return bad ? -1 : compared;
}

/*
 * The proto's samples are MemProfile's records in list order, the list
 * being newest first: they are our last N records (buckets made after
 * the proto come first). Each: the "bytes" label is the object size, the
 * four scaled values equal ours, and the first location is the first
 * frame pprof shows (stk[skip]) as a call address (return PC - 1).
 */
static int compare_proto(const struct go_heap *h, const char *path, const char *what, int *loc_ok)
{
	struct pproto pp;
	int bad = 0, base;

	*loc_ok = 0;
	if (!ASSERT_TRUE(parse_proto(path, &pp), "parse the proto"))
		return 0;
	ASSERT_EQ(pp.period, h->rate, "the proto's period is the rate in force");
	base = h->n - pp.n;
	if (!ASSERT_GE(base, 0, "we have at least the proto's records")) {
		proto_free(&pp);
		return -1;
	}
	for (int i = 0; i < pp.n; i++) {
		const struct psample *s = &pp.s[i];
		const struct go_heap_rec *r = &h->r[base + i];
		int64_t ours[4] = { r->alloc_objects_scaled, r->alloc_bytes_scaled, r->inuse_objects_scaled,
				    r->inuse_bytes_scaled };
		int64_t bsize = r->alloc_objects ? r->alloc_bytes / r->alloc_objects : 0;
		uint64_t a0 = proto_loc_addr(&pp, s->loc0);

		if (s->bytes != bsize || (bsize && (uint64_t)bsize != r->size)) {
			if (bad++ < 5)
				TEST_FAIL_("%s: sample %d: bytes label %lld, ours %lld (size %llu)", what, i,
					   (long long)s->bytes, (long long)bsize, (unsigned long long)r->size);
			continue;
		}
		if (memcmp(ours, s->v, sizeof(ours))) {
			if (bad++ < 5)
				TEST_FAIL_("%s: sample %d (size %llu): ours %lld %lld %lld %lld, theirs %lld %lld %lld %lld",
					   what, i, (unsigned long long)r->size, (long long)ours[0],
					   (long long)ours[1], (long long)ours[2], (long long)ours[3],
					   (long long)s->v[0], (long long)s->v[1], (long long)s->v[2],
					   (long long)s->v[3]);
			continue;
		}
		if (r->nstk && a0 == r->stk[r->skip] - 1)
			(*loc_ok)++;
		else if (bad++ < 5)
			TEST_FAIL_("%s: sample %d: first location 0x%llx, our first shown frame 0x%llx (skip %d of %d)",
				   what, i, (unsigned long long)a0,
				   (unsigned long long)(r->nstk ? r->stk[r->skip] : 0), r->skip, r->nstk);
	}
	ASSERT_EQ(bad, 0, "proto samples that differ from ours");
	base = pp.n;
	proto_free(&pp);
	return bad ? -1 : base;
}

/* Records of SIZE (0: any) whose first shown frame is FUNC at main.go:LINE of PROG, summed. */
static void site_sum(struct goproc *p, const struct go_heap *h, const char *prog, const char *func,
		     int line, uint64_t size, int64_t v[4], int64_t vs[4])
{
	char file[256];

	snprintf(file, sizeof(file), "%s/main.go", prog);
	memset(v, 0, 4 * sizeof(*v));
	memset(vs, 0, 4 * sizeof(*vs));
	for (int i = 0; i < h->n; i++) {
		const struct go_heap_rec *r = &h->r[i];
		struct gobin_frame fr[16];
		int n;

		if (!r->nstk || (size && r->size != size))
			continue;
		n = gobin__resolve(goproc__gobin(p), r->stk[r->skip] - goproc__bias(p), true, fr, 16);
		if (n <= 0 || !fr[0].func || strcmp(fr[0].func, func) || fr[0].line != line ||
		    !gotest__ends_with(fr[0].file, file))
			continue;
		v[0] += r->inuse_objects;
		v[1] += r->inuse_bytes;
		v[2] += r->alloc_objects;
		v[3] += r->alloc_bytes;
		vs[0] += r->inuse_objects_scaled;
		vs[1] += r->inuse_bytes_scaled;
		vs[2] += r->alloc_objects_scaled;
		vs[3] += r->alloc_bytes_scaled;
	}
}

/* PREFIX.stats: "Name value" lines. */
static long long stat_get(const char *text, const char *name)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "%s ", name);
	for (p = text; (p = strstr(p, pat)); p++)
		if (p == text || p[-1] == '\n')
			return strtoll(p + strlen(pat), NULL, 10);
	return -1;
}

/*
 * memstats against the program's runtime.ReadMemStats: at SIGUSR2 it
 * takes them and stops itself; ours are read while it is stopped. Its
 * other goroutines and the runtime's background work (the scavenger, a
 * new span or stack, a bucket at rate 1) can still move a field in the
 * microseconds between its ReadMemStats and the stop: then the round is
 * taken again (up to 8), and every field must be equal in one round.
 */
static int compare_memstats(struct goproc *p, struct gotest_child *c, const char *prefix)
{
	struct {
		const char *name;
		size_t off;
	} f[] = {
#define F(n, m) { n, offsetof(struct go_memstats, m) }
		F("Sys", sys), F("HeapSys", heap_sys), F("HeapIdle", heap_idle),
		F("HeapInuse", heap_inuse), F("HeapReleased", heap_released),
		F("StackInuse", stack_inuse), F("StackSys", stack_sys), F("MSpanSys", mspan_sys),
		F("MCacheSys", mcache_sys), F("BuckHashSys", buckhash_sys), F("GCSys", gc_sys),
		F("OtherSys", other_sys), F("LastGC", last_gc_ns), F("PauseTotalNs", pause_total_ns),
#undef F
	};
	const int nf = (int)(sizeof(f) / sizeof(f[0])) + 2;
	char path[700], diff[512] = "";
	struct go_memstats a;
	int exact = 0, round;

	snprintf(path, sizeof(path), "%s.stats", prefix);
	for (round = 1; round <= 8 && exact < nf; round++) {
		char *text;
		int st = 0;
		size_t o = 0;

		kill(c->pid, SIGUSR2);
		if (!ASSERT_EQ(waitpid(c->pid, &st, WUNTRACED), c->pid, "the program stops itself") ||
		    !ASSERT_TRUE(WIFSTOPPED(st), "stopped"))
			return -1;
		if (!ASSERT_EQ(goproc__memstats(p, &a), 0, "memstats")) {
			fprintf(stderr, "    %s\n", goproc__error(p));
			kill(c->pid, SIGCONT);
			return -1;
		}
		kill(c->pid, SIGCONT);
		if (!ASSERT_TRUE(gotest__child_wait(c, "STATS", 10000), "STATS"))
			return -1;
		text = slurp(path, NULL);
		if (!ASSERT_OK_PTR(text, "the program's MemStats"))
			return -1;
		exact = (a.num_gc == stat_get(text, "NumGC")) +
			(a.num_forced_gc == stat_get(text, "NumForcedGC"));
		diff[0] = 0;
		for (int i = 0; i < nf - 2; i++) {
			long long va = (long long)*(uint64_t *)((char *)&a + f[i].off), t = stat_get(text, f[i].name);

			if (va == t)
				exact++;
			else if (o < sizeof(diff) - 80)
				o += snprintf(diff + o, sizeof(diff) - o, " %s ours %lld theirs %lld;", f[i].name, va, t);
		}
		free(text);
	}
	if (!ASSERT_EQ(exact, nf, "MemStats fields equal in one round"))
		fprintf(stderr, "      last round:%s\n", diff);
	ASSERT_GE(a.rss, a.heap_inuse / 4, "RSS read");
	printf("    memstats (%s): %d of %d MemStats fields equal to its ReadMemStats (round %d); HeapInuse %llu, Sys %llu, NumGC %u, RSS %llu\n",
	       a.source, exact, nf, round - 1, (unsigned long long)a.heap_inuse,
	       (unsigned long long)a.sys, a.num_gc, (unsigned long long)a.rss);
	return exact;
}

/* ---------------------------------------------------------------------- */
/* goheap: rate 1 and the default rate, plain, stripped, PIE              */

static bool start_goheap(struct gotest_child *c, char *const argv[], const char *env, int timeout_ms)
{
	if (!ASSERT_TRUE(gotest__child_start(c, argv, false, env), "start goheap"))
		return false;
	if (!ASSERT_TRUE(gotest__child_wait(c, "READY", 10000), "READY"))
		return false;
	kill(c->pid, SIGUSR1);
	return ASSERT_TRUE(gotest__child_wait(c, "DONE", timeout_ms), "DONE");
}

static void check_goheap(const char *variant, int rate)
{
	char bin[512], dir[] = "/tmp/lt-goheap.XXXXXX", prefix[600], path[640], rate_s[16], *text = NULL,
	     *r;
	struct goproc *p = NULL;
	struct gotest_child c = { 0 };
	struct go_heap h = { 0 };
	int64_t v[4], vs[4];
	int nstacks, nproto, loc_ok = 0;
	double t0, dt;

	if (!gotest__bin(variant, bin, sizeof(bin)) || !ASSERT_OK_PTR(mkdtemp(dir), "mkdtemp"))
		return;
	snprintf(prefix, sizeof(prefix), "%s/p", dir);
	snprintf(rate_s, sizeof(rate_s), "%d", rate);
	{
		char *argv[] = { bin, "-rate", rate_s, "-out", prefix, NULL };

		if (!start_goheap(&c, argv, NULL, 30000))
			goto out;
	}
	p = open_or_skip(c.pid);
	if (!p)
		goto out;
	t0 = gotest__now_ms();
	if (!ASSERT_EQ(goproc__heap(p, &h, GO_HEAP_INUSE_ZERO), 0, "goproc__heap")) {
		fprintf(stderr, "    %s\n", goproc__error(p));
		goto out;
	}
	dt = gotest__now_ms() - t0;
	ASSERT_TRUE(h.enabled, "profiling enabled (the program references MemProfile)");
	ASSERT_EQ(h.rate, rate ? rate : 512 * 1024, "MemProfileRate");
	ASSERT_FALSE(h.all_futures, "cycles published (two GCs ran)");
	ASSERT_EQ(h.n, h.nbuckets, "every bucket is a record with GO_HEAP_INUSE_ZERO");
	snprintf(path, sizeof(path), "%s.txt", prefix);
	text = slurp(path, NULL);
	if (!ASSERT_OK_PTR(text, "debug=1 profile"))
		goto out;
	nstacks = compare_text(&h, text, variant);
	snprintf(path, sizeof(path), "%s.pb.gz", prefix);
	nproto = compare_proto(&h, path, variant, &loc_ok);
	if (rate == 1) {
		site_sum(p, &h, "goheap", "main.keepBig", gotest__line("goheap", "keep-big"), 65536, v, vs);
		ASSERT_TRUE(v[0] == 30 && v[1] == 30 * 65536 && v[2] == 30 && v[3] == 30 * 65536,
			    "keepBig: 30 objects of 64 KiB in use, 30 allocated");
		site_sum(p, &h, "goheap", "main.capped", gotest__line("goheap", "map-value"), 1024, v, vs);
		ASSERT_TRUE(v[0] == 20 && v[1] == 20 * 1024 && v[2] == 1000 && v[3] == 1000 * 1024,
			    "capped: 20 values (1024-byte class) in use of 1000 allocated");
		site_sum(p, &h, "goheap", "main.temporaries", gotest__line("goheap", "temp"), 4096, v, vs);
		ASSERT_TRUE(v[0] == 0 && v[1] == 0 && v[2] == 2000 && v[3] == 2000 * 4096,
			    "temporaries: none in use, 2000 of 4 KiB allocated");
	} else {
		site_sum(p, &h, "goheap", "main.keepBig", gotest__line("goheap", "keep-big"), 65536, v, vs);
		printf("    %s: keepBig at the default rate: %lld of 30 sampled in use, %lld scaled (pprof's estimate)\n",
		       variant, (long long)v[0], (long long)vs[0]);
	}
	printf("    %s rate %lld: %d records, every one of %d stacks of the debug=1 profile equal (raw), %d proto samples equal (scaled; first location = stk[skip] - 1 for %d); read in %.2f ms, %d retries\n",
	       variant, (long long)h.rate, h.n, nstacks, nproto, loc_ok, dt, h.retries);
	compare_memstats(p, &c, prefix);
out:
	free(text);
	go_heap__free(&h);
	goproc__free(p);
	gotest__child_stop(&c);
	r = getenv("LT_KEEP") ? NULL : test__run_cmd("rm -rf '%s'", dir);
	free(r);
}

static void test_goheap_rate1(void)
{
	check_goheap("goheap", 1);
}

static void test_goheap_rate1_stripped(void)
{
	check_goheap("goheap_stripped", 1);
}

static void test_goheap_rate1_pie(void)
{
	check_goheap("goheap_pie", 1);
}

static void test_goheap_default_rate(void)
{
	check_goheap("goheap", 0);
}

static void test_goheap_default_rate_stripped(void)
{
	check_goheap("goheap_stripped", 0);
}

static void test_goheap_default_rate_pie(void)
{
	check_goheap("goheap_pie", 0);
}

/*
 * GOGC=off: no cycle is ever published, so MemProfile adds all three
 * futures. Read before the program takes its own profile (which moves
 * them into active for good), then compare the three sites with it.
 */
static void test_goheap_no_gc(void)
{
	char bin[512], dir[] = "/tmp/lt-goheap.XXXXXX", prefix[600], path[640], *text = NULL, *r;
	struct goproc *p = NULL;
	struct gotest_child c = { 0 };
	struct go_heap h = { 0 };
	struct go_memstats m;
	struct aggs theirs = { 0 };
	int64_t tot[4], rate2;
	int sites = 0;
	struct {
		const char *func, *line;
	} s[] = { { "main.keepBig", "keep-big" }, { "main.capped", "map-value" },
		  { "main.temporaries", "temp" } };

	if (!gotest__bin("goheap", bin, sizeof(bin)) || !ASSERT_OK_PTR(mkdtemp(dir), "mkdtemp"))
		return;
	snprintf(prefix, sizeof(prefix), "%s/p", dir);
	{
		char *argv[] = { bin, "-nogc", "-out", prefix, NULL };

		if (!ASSERT_TRUE(gotest__child_start(&c, argv, false, "GOGC=off"), "start goheap -nogc") ||
		    !ASSERT_TRUE(gotest__child_wait(&c, "READY", 10000), "READY"))
			goto out;
	}
	kill(c.pid, SIGUSR1);
	if (!ASSERT_TRUE(gotest__child_wait(&c, "ALLOCATED", 30000), "ALLOCATED"))
		goto out;
	p = open_or_skip(c.pid);
	if (!p)
		goto out;
	if (!ASSERT_EQ(goproc__heap(p, &h, GO_HEAP_INUSE_ZERO), 0, "goproc__heap")) {
		fprintf(stderr, "    %s\n", goproc__error(p));
		goto out;
	}
	ASSERT_TRUE(h.all_futures, "no cycle published: all three futures added");
	ASSERT_EQ(goproc__memstats(p, &m), 0, "memstats");
	ASSERT_EQ(m.num_gc, 0, "no GC ran (GOGC=off)");
	kill(c.pid, SIGUSR1);
	if (!ASSERT_TRUE(gotest__child_wait(&c, "DONE", 30000), "DONE"))
		goto out;
	snprintf(path, sizeof(path), "%s.txt", prefix);
	text = slurp(path, NULL);
	if (!ASSERT_OK_PTR(text, "debug=1 profile") ||
	    !ASSERT_TRUE(parse_text(text, &theirs, tot, &rate2), "parse"))
		goto out;
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		int64_t v[4], vs[4], t[4] = { 0 };
		int line = gotest__line("goheap", s[i].line);

		site_sum(p, &h, "goheap", s[i].func, line, 0, v, vs);
		for (int k = 0; k < h.n; k++) {	/* theirs, for the same stacks */
			const struct go_heap_rec *rr = &h.r[k];
			struct gobin_frame fr[16];
			char key[2048];
			const struct agg *a;
			int n;

			if (!rr->nstk)
				continue;
			n = gobin__resolve(goproc__gobin(p), rr->stk[rr->skip] - goproc__bias(p), true, fr, 16);
			if (n <= 0 || !fr[0].func || strcmp(fr[0].func, s[i].func) || fr[0].line != line)
				continue;
			stack_key(key, sizeof(key), rr->stk, rr->nstk,
				  rr->alloc_objects ? (int64_t)rr->size : 0);
			a = aggs_get(&theirs, key);
			for (int j = 0; a && j < 4; j++)
				t[j] += a->v[j];
		}
		if (ASSERT_TRUE(!memcmp(v, t, sizeof(v)) && v[2] > 0, s[i].func))
			sites++;
		else
			fprintf(stderr, "      ours %lld: %lld [%lld: %lld], theirs %lld: %lld [%lld: %lld]\n",
				(long long)v[0], (long long)v[1], (long long)v[2], (long long)v[3],
				(long long)t[0], (long long)t[1], (long long)t[2], (long long)t[3]);
	}
	printf("    GOGC=off: %d records read with all futures added; %d of 3 sites equal to the program's own profile taken after; NumGC 0\n",
	       h.n, sites);
out:
	aggs_free(&theirs);
	free(text);
	go_heap__free(&h);
	goproc__free(p);
	gotest__child_stop(&c);
	r = getenv("LT_KEEP") ? NULL : test__run_cmd("rm -rf '%s'", dir);
	free(r);
}

/*
 * The profile moving all the time: 4 KiB temporaries and a forced GC every
 * 20 ms (mark termination, flush, PostSweep). Every read must either
 * succeed with records that pass the checks, where the kept sites stay
 * exact, or fail as a whole; the retries are counted.
 */
static void test_goheap_churn(void)
{
	char bin[512], dir[] = "/tmp/lt-goheap.XXXXXX", prefix[600], *r;
	struct goproc *p = NULL;
	struct gotest_child c = { 0 };
	int reads = 0, ok = 0, retries = 0, failed = 0, cycles = 0, exact = 0;
	uint32_t first_cycle = 0, last_cycle = 0;
	double t0;

	if (!gotest__bin("goheap_stripped", bin, sizeof(bin)) || !ASSERT_OK_PTR(mkdtemp(dir), "mkdtemp"))
		return;
	snprintf(prefix, sizeof(prefix), "%s/p", dir);
	{
		char *argv[] = { bin, "-rate", "1", "-churn", "-out", prefix, NULL };

		if (!start_goheap(&c, argv, NULL, 30000))
			goto out;
	}
	p = open_or_skip(c.pid);
	if (!p)
		goto out;
	for (t0 = gotest__now_ms(); gotest__now_ms() - t0 < 3000 && reads < 300; usleep(5000)) {
		struct go_heap h;
		int64_t v[4], vs[4];
		int err = goproc__heap(p, &h, GO_HEAP_INUSE_ZERO);

		reads++;
		if (err) {
			failed++;
			ASSERT_EQ(err, -EAGAIN, "a read that fails says the profile kept changing");
			ASSERT_TRUE(h.r == NULL && h.n == 0, "and returns nothing");
			continue;
		}
		ok++;
		retries += h.retries;
		if (ok == 1)
			first_cycle = h.cycle;
		last_cycle = h.cycle;
		site_sum(p, &h, "goheap", "main.keepBig", gotest__line("goheap", "keep-big"), 65536, v, vs);
		exact += ASSERT_TRUE(v[0] == 30 && v[2] == 30, "keepBig: 30 of 64 KiB in use at every read");
		site_sum(p, &h, "goheap", "main.capped", gotest__line("goheap", "map-value"), 1024, v, vs);
		ASSERT_TRUE(v[0] == 20 && v[2] == 1000, "capped: 20 of 1000 at every read");
		for (int i = 0; i < h.n; i++)
			ASSERT_TRUE(h.r[i].inuse_objects >= 0 && h.r[i].inuse_objects <= h.r[i].alloc_objects &&
				    h.r[i].alloc_bytes == h.r[i].alloc_objects * (int64_t)h.r[i].size,
				    "every record passes the checks");
		go_heap__free(&h);
	}
	cycles = (int)(last_cycle - first_cycle);
	ASSERT_GE(ok, reads * 9 / 10, "nine reads in ten succeed");
	ASSERT_GE(cycles, 10, "GC cycles during the reads");
	printf("    under churn (a forced GC every 20 ms): %d reads, %d succeeded (keepBig exact at %d), %d walks retried, %d gave up; %d GC cycles went by\n",
	       reads, ok, exact, retries, failed, cycles);
out:
	goproc__free(p);
	gotest__child_stop(&c);
	r = getenv("LT_KEEP") ? NULL : test__run_cmd("rm -rf '%s'", dir);
	free(r);
}

/* ---------------------------------------------------------------------- */
/* profiling off, then the opt-in write                                   */

static bool stack_has_func(struct goproc *p, const struct go_heap_rec *r, const char *func)
{
	for (int i = 0; i < r->nstk; i++) {
		const char *n = gobin__func_name(goproc__gobin(p), r->stk[i] - goproc__bias(p));

		if (n && !strcmp(n, func))
			return true;
	}
	return false;
}

static void check_nopprof(const char *variant)
{
	char bin[512], *argv[] = { bin, NULL };
	struct goproc *p = NULL;
	struct gotest_child c = { 0 };
	struct go_heap h = { 0 };
	int64_t old = -1, after_in = 0, after_bytes = 0;
	int before = 0;

	if (!gotest__bin(variant, bin, sizeof(bin)))
		return;
	if (!ASSERT_TRUE(gotest__child_start(&c, argv, false, NULL), "start gonoprof") ||
	    !ASSERT_TRUE(gotest__child_wait(&c, "READY", 10000), "READY"))
		goto out;
	kill(c.pid, SIGUSR1);
	if (!ASSERT_TRUE(gotest__child_wait(&c, "BEFORE", 10000), "BEFORE"))
		goto out;
	p = open_or_skip(c.pid);
	if (!p)
		goto out;
	ASSERT_FALSE(gobin__has_memprofile(goproc__gobin(p)), "runtime.MemProfile not linked");
	if (!ASSERT_EQ(goproc__heap(p, &h, GO_HEAP_INUSE_ZERO), 0, "goproc__heap"))
		goto out;
	ASSERT_FALSE(h.enabled, "profiling off");
	ASSERT_EQ(h.rate, 0, "MemProfileRate 0");
	ASSERT_EQ(h.nbuckets, 0, "no bucket");
	if (gobin__has_symtab(goproc__gobin(p))) {
		uint64_t a;
		uint8_t flag = 0;
		struct gomem_iov iov = { 0, &flag, 1, 0 };

		if (ASSERT_EQ(gobin__data_sym(goproc__gobin(p), GOBIN_SYM_DISABLEMEMPROF, &a), 0,
			      "disableMemoryProfiling in .symtab")) {
			iov.addr = a + goproc__bias(p);
			ASSERT_EQ(goproc__readv(p, &iov, 1), 0, "read it");
			ASSERT_EQ(flag, 1, "runtime.disableMemoryProfiling is true");
		}
	}
	go_heap__free(&h);
	if (!ASSERT_EQ(goproc__set_memprofile_rate(p, 4096, &old), 0, "goproc__set_memprofile_rate")) {
		fprintf(stderr, "    %s\n", goproc__error(p));
		goto out;
	}
	ASSERT_EQ(old, 0, "the rate was 0");
	kill(c.pid, SIGUSR1);
	if (!ASSERT_TRUE(gotest__child_wait(&c, "AFTER", 10000), "AFTER"))
		goto out;
	if (!ASSERT_EQ(goproc__heap(p, &h, 0), 0, "goproc__heap after the write"))
		goto out;
	ASSERT_EQ(h.rate, 4096, "MemProfileRate now 4096");
	for (int i = 0; i < h.n; i++) {
		if (stack_has_func(p, &h.r[i], "main.before"))
			before++;
		if (h.r[i].size == 65536 && stack_has_func(p, &h.r[i], "main.after")) {
			after_in += h.r[i].inuse_objects_scaled;
			after_bytes += h.r[i].inuse_bytes_scaled;
		}
	}
	ASSERT_EQ(before, 0, "nothing from before the write");
	/* 64 KiB at rate 4096: each sampled with probability 1 - e^-16, scaled by 1.0000001 */
	ASSERT_EQ(after_in, 25, "the 25 objects of 64 KiB kept after the write");
	ASSERT_EQ(after_bytes, 25 * 65536, "their bytes");
	printf("    %s: profiling off (rate 0, no bucket); after writing 4096: %d records, main.after %lld in use (%lld bytes)\n",
	       variant, h.n, (long long)after_in, (long long)after_bytes);
out:
	go_heap__free(&h);
	goproc__free(p);
	gotest__child_stop(&c);
}

static void test_goheap_nopprof(void)
{
	check_nopprof("gonoprof");
}

static void test_goheap_nopprof_stripped(void)
{
	check_nopprof("gonoprof_stripped");
}

static void test_goheap_nopprof_pie(void)
{
	check_nopprof("gonoprof_pie");
}

/* ---------------------------------------------------------------------- */
/* 30,000 stacks                                                          */

static void test_goheap_30k(void)
{
	char bin[512], dir[] = "/tmp/lt-goheap.XXXXXX", prefix[600], path[640], *text = NULL, *r;
	struct goproc *p = NULL;
	struct gotest_child c = { 0 };
	struct go_heap h = { 0 };
	double best = 1e9, best_noskip = 1e9, worst = 0;
	int nstacks, leaf_line = gotest__line("goheap", "stack-leaf"), leaves = 0;

	if (!gotest__bin("goheap_stripped", bin, sizeof(bin)) || !ASSERT_OK_PTR(mkdtemp(dir), "mkdtemp"))
		return;
	snprintf(prefix, sizeof(prefix), "%s/p", dir);
	{
		char *argv[] = { bin, "-rate", "1", "-stacks", "30000", "-out", prefix, NULL };

		if (!start_goheap(&c, argv, NULL, 120000))
			goto out;
	}
	p = open_or_skip(c.pid);
	if (!p)
		goto out;
	for (int k = 0; k < 5; k++) {
		struct go_heap t;
		double t0 = gotest__now_ms(), dt;

		if (!ASSERT_EQ(goproc__heap(p, &t, GO_HEAP_NO_SKIP | GO_HEAP_INUSE_ZERO), 0, "heap"))
			goto out;
		dt = gotest__now_ms() - t0;
		best_noskip = dt < best_noskip ? dt : best_noskip;
		go_heap__free(&t);
		t0 = gotest__now_ms();
		if (!ASSERT_EQ(goproc__heap(p, &t, GO_HEAP_INUSE_ZERO), 0, "heap"))
			goto out;
		dt = gotest__now_ms() - t0;
		best = dt < best ? dt : best;
		worst = dt > worst ? dt : worst;
		if (k == 4)
			h = t;
		else
			go_heap__free(&t);
	}
	for (int i = 0; i < h.n; i++) {
		struct gobin_frame fr[4];
		const struct go_heap_rec *rr = &h.r[i];
		int n = rr->nstk ? gobin__resolve(goproc__gobin(p), rr->stk[rr->skip] - goproc__bias(p), true,
						 fr, 4) : 0;

		leaves += n > 0 && fr[0].line == leaf_line && fr[0].func && !strcmp(fr[0].func, "main.step") &&
			  rr->inuse_objects == 1 && rr->inuse_bytes == 48;
	}
	ASSERT_GE(leaves, 30000, "30,000 stacks at the leaf, one 48-byte object in use each");
	snprintf(path, sizeof(path), "%s.txt", prefix);
	text = slurp(path, NULL);
	if (!ASSERT_OK_PTR(text, "debug=1 profile"))
		goto out;
	nstacks = compare_text(&h, text, "30k");
	printf("    %d buckets (%d leaf stacks of main.step): read in %.1f ms best, %.1f ms worst of 5 with pprof's frame hiding, %.1f ms without (goal < 50 ms); %d stacks equal to the debug=1 profile\n",
	       h.nbuckets, leaves, best, worst, best_noskip, nstacks);
	ASSERT_TRUE(best < 50, "30k buckets under 50 ms");
out:
	free(text);
	go_heap__free(&h);
	goproc__free(p);
	gotest__child_stop(&c);
	r = getenv("LT_KEEP") ? NULL : test__run_cmd("rm -rf '%s'", dir);
	free(r);
}

/* ---------------------------------------------------------------------- */
/* esbuild (go1.26.5, stripped, static)                                   */

static void test_goheap_esbuild(void)
{
	char bin[512], dir[] = "/tmp/lt-esbuild.XXXXXX", entry[600], out_arg[600], *r;
	struct goproc *p = NULL;
	struct gotest_child c = { 0 };
	struct go_heap h = { 0 };
	struct go_memstats m = { 0 };
	int64_t largest = 0;

	if (!gotest__esbuild(bin, sizeof(bin)) || !ASSERT_OK_PTR(mkdtemp(dir), "mkdtemp"))
		return;
	/* a bundle big enough to make the runtime collect a few times, with --watch to keep it alive */
	r = test__run_cmd("cd '%s' && for i in $(seq 1 400); do printf 'export const v%%d = [%%s];\\n' $i \"$(seq -s, 1 300)\"; done > big.js && "
			  "printf 'import * as b from \"./big.js\"; console.log(Object.keys(b).length);\\n' > app.js", dir);
	free(r);
	snprintf(entry, sizeof(entry), "%s/app.js", dir);
	snprintf(out_arg, sizeof(out_arg), "--outfile=%s/out.js", dir);
	{
		char *argv[] = { bin, entry, "--bundle", out_arg, "--watch=forever", NULL };

		if (!ASSERT_TRUE(gotest__child_start(&c, argv, true, NULL), "start esbuild --watch") ||
		    !ASSERT_TRUE(gotest__child_wait(&c, "build finished", 30000), "first build"))
			goto out;
	}
	p = open_or_skip(c.pid);
	if (!p)
		goto out;
	ASSERT_STREQ(gobin__version(goproc__gobin(p)), "go1.26.5", "version");
	if (!ASSERT_EQ(goproc__heap(p, &h, GO_HEAP_INUSE_ZERO), 0, "goproc__heap")) {
		fprintf(stderr, "    %s\n", goproc__error(p));
		goto out;
	}
	if (!ASSERT_EQ(goproc__memstats(p, &m), 0, "goproc__memstats")) {
		fprintf(stderr, "    %s\n", goproc__error(p));
		goto out;
	}
	ASSERT_TRUE(h.enabled, "profiling enabled (esbuild links runtime/pprof)");
	ASSERT_EQ(h.rate, 512 * 1024, "the default rate");
	ASSERT_GE(h.n, 1, "records");
	for (int i = 0; i < h.n; i++)
		largest = h.r[i].nstk > largest ? h.r[i].nstk : largest;
	ASSERT_GE(m.num_gc, 1, "esbuild collected (the live check of pause_end against last_gc_unix ran)");
	ASSERT_TRUE(m.heap_inuse > 0 && m.heap_inuse <= m.heap_sys && m.heap_sys <= m.sys,
		    "HeapInuse <= HeapSys <= Sys");
	ASSERT_TRUE(m.stack_inuse > 0 && m.stack_inuse <= m.stack_sys, "StackInuse <= StackSys");
	/* the profile is a sample as of the last GC; pprof's estimate must be of the heap's order */
	ASSERT_TRUE(h.inuse_bytes_scaled >= 0 && (uint64_t)h.inuse_bytes_scaled <= 4 * m.heap_inuse,
		    "scaled in-use bytes within 4x HeapInuse");
	ASSERT_TRUE((uint64_t)h.alloc_bytes <= (uint64_t)h.alloc_bytes_scaled, "scaling only grows");
	ASSERT_TRUE(m.rss >= m.heap_inuse / 2, "RSS covers most of the heap in use");
	printf("    esbuild go1.26.5: %d records validated (%d buckets, deepest stack %lld, cycle %u%s), pprof's in-use estimate %lld bytes, %lld allocated; memstats (%s): HeapInuse %llu, HeapSys %llu, Sys %llu, StackInuse %llu, NumGC %u, RSS %llu\n",
	       h.n, h.nbuckets, (long long)largest, h.cycle, h.all_futures ? ", no GC yet" : "",
	       (long long)h.inuse_bytes_scaled, (long long)h.alloc_bytes_scaled, m.source,
	       (unsigned long long)m.heap_inuse, (unsigned long long)m.heap_sys,
	       (unsigned long long)m.sys, (unsigned long long)m.stack_inuse, m.num_gc,
	       (unsigned long long)m.rss);
out:
	go_heap__free(&h);
	goproc__free(p);
	gotest__child_stop(&c);
	r = getenv("LT_KEEP") ? NULL : test__run_cmd("rm -rf '%s'", dir);
	free(r);
}

/* ---------------------------------------------------------------------- */
/* scaling: the values Go's own scaleHeapSample gives                    */

static void test_goheap_scale(void)
{
	/* count, bytes, rate, then scaleHeapSample's results (go1.19.8, math.Exp) */
	static const int64_t want[][5] = {
		{ 30, 1966080, 524288, 255, 16732154 },
		{ 1, 8192, 524288, 64, 528394 },
		{ 3, 72, 524288, 65537, 1572900 },
		{ 20, 20480, 524288, 10250, 10496003 },
		{ 2000, 8192000, 524288, 257001, 1052677333 },
		{ 1, 1048576, 524288, 1, 1212696 },
		{ 7, 336, 4096, 600, 28840 },
		{ 25, 1638400, 4096, 25, 1638400 },
		{ 5, 5760, 2, 5, 5760 },
		{ 1, 16, 1, 1, 16 },
		{ 0, 0, 524288, 0, 0 },
		{ -3, -48, 524288, -98305, -1572888 },
		{ 123456, 3950592, 524288, 2022764832, 64728474644 },
		{ 1, 1099511627776, 524288, 1, 1099511627776 },
	};
	int ok = 0;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int64_t c, b;

		go_heap__scale(want[i][0], want[i][1], want[i][2], &c, &b);
		ok += ASSERT_EQ(c, want[i][3], "scaled count") && ASSERT_EQ(b, want[i][4], "scaled bytes");
	}
	printf("    %d of %zu cases equal to Go's scaleHeapSample\n", ok, sizeof(want) / sizeof(want[0]));
}

/* ---------------------------------------------------------------------- */
/* a fake target: every check refuses a corrupt bucket                    */

#define FBASE	0x10000ull
#define FSIZE	0x10000
#define FG	(FBASE + 0x400)		/* the one g */
#define FCYC	(FBASE + 0x28)
#define FMB	(FBASE + 0x30)
#define FRATE	(FBASE + 0x38)
#define FB0	(FBASE + 0x8000)	/* buckets */

struct fimg {
	uint8_t d[FSIZE];
};

static int fimg_readv(void *ctx, struct gomem_iov *iov, int n)
{
	const struct fimg *m = ctx;

	for (int i = 0; i < n; i++) {
		uint64_t a = iov[i].addr;

		if (a < FBASE || a - FBASE > FSIZE || iov[i].len > FSIZE - (a - FBASE)) {
			iov[i].err = -EFAULT;
			continue;
		}
		memcpy(iov[i].buf, m->d + (a - FBASE), iov[i].len);
		iov[i].err = 0;
	}
	return 0;
}

static int fimg_write(void *ctx, uint64_t a, const void *buf, size_t len)
{
	struct fimg *m = ctx;

	if (a < FBASE || a - FBASE > FSIZE || len > FSIZE - (a - FBASE))
		return -EFAULT;
	memcpy(m->d + (a - FBASE), buf, len);
	return 0;
}

static void w64(struct fimg *m, uint64_t a, uint64_t v)
{
	memcpy(m->d + (a - FBASE), &v, 8);
}

static uint64_t mix(const uint64_t *stk, int n, uint64_t size)
{
	uint64_t h = 0;

	for (int i = 0; i < n; i++) {
		h += stk[i];
		h += h << 10;
		h ^= h >> 6;
	}
	h += size;
	h += h << 10;
	h ^= h >> 6;
	h += h << 3;
	h ^= h >> 11;
	return h;
}

/* A bucket at A: STK, SIZE, then active/future counts (allocs, frees per cycle). */
static void fbucket(struct fimg *m, uint64_t a, uint64_t allnext, const uint64_t *stk, int n, uint64_t size,
		    const uint64_t cnt[4][2])
{
	w64(m, a, 0);
	w64(m, a + 8, allnext);
	w64(m, a + 16, 1);
	w64(m, a + 24, mix(stk, n, size));
	w64(m, a + 32, size);
	w64(m, a + 40, (uint64_t)n);
	for (int i = 0; i < n; i++)
		w64(m, a + 48 + 8 * i, stk[i]);
	for (int c = 0; c < 4; c++) {
		uint64_t r = a + 48 + 8 * n + 32 * c;

		w64(m, r, cnt[c][0]);
		w64(m, r + 8, cnt[c][1]);
		w64(m, r + 16, cnt[c][0] * size);
		w64(m, r + 24, cnt[c][1] * size);
	}
}

/* The go1.19 g of fuzz_gomem's seed, one goroutine; the heap: two buckets at cycle 4. */
static void fimg_init(struct fimg *m)
{
	static const uint64_t s1[] = { 0x400110, 0x400220, 0x400330 }, s2[] = { 0x400440, 0x400330 };
	static const uint64_t c1[4][2] = { { 10, 3 }, { 0, 0 }, { 5, 1 }, { 7, 0 } };
	static const uint64_t c2[4][2] = { { 0, 0 }, { 2, 0 }, { 0, 0 }, { 0, 0 } };
	uint64_t lo = FBASE + 0x1000, hi = FBASE + 0x1400, sp = hi - 0x100;

	memset(m, 0, sizeof(*m));
	w64(m, FBASE, 1);			/* allglen */
	w64(m, FBASE + 8, FBASE + 0x100);	/* allgptr */
	w64(m, FBASE + 0x100, FG);
	w64(m, FG, lo);
	w64(m, FG + 8, hi);
	w64(m, FG + 56, sp);
	w64(m, FG + 64, 0x400123);
	w64(m, FG + 72, FG);
	w64(m, FG + 104, sp + 0x20);
	w64(m, FG + 144, 4);			/* waiting */
	w64(m, FG + 152, 1);			/* goid */
	w64(m, FG + 296, 0x400400);		/* gopc */
	w64(m, FG + 312, 0x400800);		/* startpc */
	w64(m, FCYC, 4 << 1 | 1);		/* cycle 4, flushed: C % 3 = 1 */
	w64(m, FRATE, 512 * 1024);
	w64(m, FMB, FB0 + 0x200);		/* newest first */
	fbucket(m, FB0 + 0x200, FB0, s2, 2, 16, c2);
	fbucket(m, FB0, 0, s1, 3, 65536, c1);
}

static struct goproc *fimg_open(struct fimg *m, bool writable, bool rate_known)
{
	static uint64_t syms[GOBIN_SYM__MAX];
	static struct go_layout l;
	struct goproc_target t = { 0 };
	struct gomem_ops ops = { fimg_readv, m, writable ? fimg_write : NULL };
	char err[256];

	gobin__layout_table(1, 19, &l);
	syms[GOBIN_SYM_ALLGLEN] = FBASE;
	syms[GOBIN_SYM_ALLGPTR] = FBASE + 8;
	syms[GOBIN_SYM_MBUCKETS] = FMB;
	syms[GOBIN_SYM_MPROFCYCLE] = FCYC;
	syms[GOBIN_SYM_MEMPROFILERATE] = rate_known ? FRATE : 0;
	t.layout = &l;
	t.syms = syms;
	t.text_lo = 0x400000;
	t.text_hi = 0x500000;
	t.go_minor = 19;
	t.no_calibrate = true;
	return goproc__open_mem(&t, &ops, err, sizeof(err));
}

static void test_goheap_fake(void)
{
	static struct fimg m;
	struct goproc *p;
	struct go_heap h;
	int refused = 0, total = 0;
	struct {
		const char *what;
		uint64_t addr, val, addr2, val2;
	} bad[] = {
		{ "type 2 (block)", FB0 + 16, 2 },
		{ "nstk 33", FB0 + 40, 33 },
		{ "size 0", FB0 + 32, 0 },
		{ "hash", FB0 + 24, 12345 },
		{ "PC outside the text", FB0 + 48, 0x600000 },
		{ "alloc_bytes != allocs * size", FB0 + 48 + 24 + 16, 7 },
		{ "free_bytes != frees * size", FB0 + 48 + 24 + 24, 65535 },
		{ "active frees > allocs", FB0 + 48 + 24 + 8, 11, FB0 + 48 + 24 + 24, 11 * 65536 },
		{ "reported frees > allocs", FB0 + 48 + 24 + 64 + 8, 13, FB0 + 48 + 24 + 64 + 24, 13 * 65536 },
		{ "count above 2^48", FB0 + 48 + 24 + 96, 1ull << 50, FB0 + 48 + 24 + 96 + 16, 1ull << 62 },
		{ "misaligned allnext", FB0 + 0x200 + 8, FB0 + 4 },
		{ "a loop", FB0 + 8, FB0 + 0x200 },
		{ "allnext unreadable", FB0 + 8, 0x900000 },
		{ "cycle out of range", FCYC, 0xffffffff },
		{ "rate negative", FRATE, (uint64_t)-5 },
	};

	fimg_init(&m);
	p = fimg_open(&m, false, true);
	if (!ASSERT_OK_PTR(p, "open the fake target"))
		return;
	if (ASSERT_EQ(goproc__heap(p, &h, GO_HEAP_INUSE_ZERO), 0, "heap of the fake")) {
		/* C % 3 = 1 -> future[1]: bucket 1 active {10,3} + {5,1}; bucket 2 {0,0} + {0,0} */
		ASSERT_EQ(h.n, 2, "two records with inuse_zero");
		ASSERT_EQ(h.cycle, 4, "cycle");
		ASSERT_FALSE(h.all_futures, "a cycle was published");
		if (h.n == 2) {
			ASSERT_EQ(h.r[1].alloc_objects, 15, "allocs = active + future[C % 3]");
			ASSERT_EQ(h.r[1].inuse_objects, 11, "in use");
			ASSERT_EQ(h.r[1].inuse_bytes, 11 * 65536, "in-use bytes");
			ASSERT_EQ(h.r[0].alloc_objects, 0, "the new bucket's future[0] is not reported");
		}
		go_heap__free(&h);
	}
	ASSERT_EQ(goproc__heap(p, &h, 0), 0, "heap without inuse_zero");
	ASSERT_EQ(h.n, 1, "the all-zero record left out");
	go_heap__free(&h);

	/* no cycle published (active and future[C % 3] empty everywhere): all three futures */
	for (int k = 0; k < 4; k++) {
		w64(&m, FB0 + 48 + 24 + 8 * k, 0);	/* active */
		w64(&m, FB0 + 48 + 24 + 64 + 8 * k, 0);	/* future[1] */
	}
	if (ASSERT_EQ(goproc__heap(p, &h, GO_HEAP_INUSE_ZERO), 0, "heap, no cycle published")) {
		ASSERT_TRUE(h.all_futures, "all futures");
		if (h.n == 2) {
			ASSERT_EQ(h.r[1].alloc_objects, 7, "future[2] counted");
			ASSERT_EQ(h.r[0].alloc_objects, 2, "future[0] counted");
		}
		go_heap__free(&h);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t saved;
		int err;

		fimg_init(&m);
		memcpy(&saved, m.d + (bad[i].addr - FBASE), 8);
		w64(&m, bad[i].addr, bad[i].val);
		if (bad[i].addr2)
			w64(&m, bad[i].addr2, bad[i].val2);
		err = goproc__heap(p, &h, GO_HEAP_INUSE_ZERO);
		total++;
		if (ASSERT_TRUE(err < 0, bad[i].what))
			refused++;
		else
			go_heap__free(&h);
		ASSERT_EQ(h.n, 0, "no record on an error");
		ASSERT_TRUE(h.r == NULL, "nothing returned on an error");
	}
	fimg_init(&m);
	ASSERT_EQ(goproc__set_memprofile_rate(p, 4096, NULL), -EOPNOTSUPP, "no write op: refused");
	printf("    fake target: records as MemProfile computes them; %d of %d corruptions refused (%s)\n",
	       refused, total, goproc__error(p));
	goproc__free(p);

	/* the one write: refused without the symbol or on a word that is no rate */
	p = fimg_open(&m, true, false);
	if (ASSERT_OK_PTR(p, "open, MemProfileRate not located")) {
		ASSERT_EQ(goproc__set_memprofile_rate(p, 4096, NULL), -ENOENT, "not located: refused");
		ASSERT_EQ(goproc__heap(p, &h, 0), -ENOENT, "no heap profile either");
		goproc__free(p);
	}
	p = fimg_open(&m, true, true);
	if (ASSERT_OK_PTR(p, "open, writable")) {
		int64_t old = 0, now = 0;

		ASSERT_EQ(goproc__set_memprofile_rate(p, -1, NULL), -EINVAL, "a negative rate: refused");
		ASSERT_EQ(goproc__set_memprofile_rate(p, 4096, &old), 0, "written");
		ASSERT_EQ(old, 512 * 1024, "the old rate");
		memcpy(&now, m.d + (FRATE - FBASE), 8);
		ASSERT_EQ(now, 4096, "the word now");
		w64(&m, FRATE, 1ull << 40);
		ASSERT_EQ(goproc__set_memprofile_rate(p, 4096, NULL), -EINVAL, "a word that is no rate: refused");
		memcpy(&now, m.d + (FRATE - FBASE), 8);
		ASSERT_EQ(now, 1ll << 40, "and left alone");
		goproc__free(p);
	}
}

static const struct test_case tests[] = {
	TEST_CASE(test_goheap_scale),
	TEST_CASE(test_goheap_fake),
	TEST_CASE(test_goheap_rate1),
	TEST_CASE(test_goheap_rate1_stripped),
	TEST_CASE(test_goheap_rate1_pie),
	TEST_CASE(test_goheap_default_rate),
	TEST_CASE(test_goheap_default_rate_stripped),
	TEST_CASE(test_goheap_default_rate_pie),
	TEST_CASE(test_goheap_no_gc),
	TEST_CASE(test_goheap_churn),
	TEST_CASE(test_goheap_nopprof),
	TEST_CASE(test_goheap_nopprof_stripped),
	TEST_CASE(test_goheap_nopprof_pie),
	TEST_CASE(test_goheap_30k),
	TEST_CASE(test_goheap_esbuild),
};

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	return test__main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
