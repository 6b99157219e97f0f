// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reading the BPF maps (one iteration helper for every map), the
 * once-a-second sample that trends are computed from, and a tracker's
 * sites, with the last ones of targets that are gone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tracer_priv.h"
#include "trend.h"
#include "util.h"

#define KEY_MAX	64	/* bytes of the largest map key */
#define VAL_MAX	128	/* bytes of the largest map value read one by one */

uint64_t ktime_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

struct lt_site *site_set__add(struct site_set *ss)
{
	if (ss->n == ss->cap) {
		int nc = ss->cap ? ss->cap * 2 : 64;
		struct lt_site *n = realloc(ss->s, nc * sizeof(*n));

		if (!n)
			return NULL;
		ss->s = n;
		ss->cap = nc;
	}
	memset(&ss->s[ss->n], 0, sizeof(ss->s[0]));
	return &ss->s[ss->n++];
}

struct lt_site *site_set__get(struct site_set *ss, const struct lt_site_id *id, uint64_t tag)
{
	struct lt_site *s;

	for (int i = 0; i < ss->n; i++) {
		s = &ss->s[i];
		if (s->id.tgid == id->tgid && s->id.stack == id->stack && s->id.err == id->err &&
		    s->id.caller == id->caller && s->id.anc == id->anc && s->tag == tag)
			return s;
	}
	s = site_set__add(ss);
	if (s) {
		s->pid = id->tgid;
		s->id = *id;
		s->tag = tag;
	}
	return s;
}

struct lt_site_id site_id_of(const struct lt_site_key *k)
{
	struct lt_site_id id = { k->tgid, k->stack_err, k->stack, k->caller, 0 };

	return id;
}

int collect__map(struct tracer *t, int fd, size_t key_size, size_t val_size, map_fn fn,
		 struct site_set *ss, bool report)
{
	struct collect_ctx c = { t, ss, report, 0 };
	int err = map__for_each(fd, key_size, val_size, fn, &c);

	return err ? err : c.err;
}

void site_set__free(struct site_set *ss)
{
	free(ss->s);
	memset(ss, 0, sizeof(*ss));
}

int u64_vec__push(struct u64_vec *vec, uint64_t x)
{
	if (vec->n == vec->cap) {
		int nc = vec->cap ? vec->cap * 2 : 64;
		uint64_t *n = realloc(vec->v, nc * sizeof(*n));

		if (!n)
			return -ENOMEM;
		vec->v = n;
		vec->cap = nc;
	}
	vec->v[vec->n++] = x;
	return 0;
}

bool u64_vec__has(const struct u64_vec *vec, uint64_t x)
{
	for (int i = 0; i < vec->n; i++)
		if (vec->v[i] == x)
			return true;
	return false;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void u64_vec__sort(struct u64_vec *vec)
{
	if (vec->n)
		qsort(vec->v, vec->n, sizeof(*vec->v), u64_cmp);
}

bool u64_vec__sorted_has(const struct u64_vec *vec, uint64_t x)
{
	return vec->n && bsearch(&x, vec->v, vec->n, sizeof(*vec->v), u64_cmp) != NULL;
}

void u64_vec__free(struct u64_vec *vec)
{
	free(vec->v);
	memset(vec, 0, sizeof(*vec));
}

/* One by one, for maps (and kernels) without batch lookups. */
static int for_each_slow(int fd, size_t key_size, size_t val_size, map_fn fn, void *ctx)
{
	char key[KEY_MAX], next[KEY_MAX], val[VAL_MAX];
	void *prev = NULL;

	if (key_size > KEY_MAX || val_size > VAL_MAX)
		return -E2BIG;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		if (bpf_map_lookup_elem(fd, next, val) == 0)
			fn(next, val, ctx);
		memcpy(key, next, key_size);
		prev = key;
	}
	return 0;
}

int map__for_each(int fd, size_t key_size, size_t val_size, map_fn fn, void *ctx)
{
	enum { BATCH = 4096 };
	char *keys = malloc(BATCH * key_size), *vals = malloc(BATCH * val_size);
	uint64_t in_batch = 0, out_batch = 0;
	bool first = true, done = false;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (!done) {
		__u32 count = BATCH;
		LIBBPF_OPTS(bpf_map_batch_opts, bo);

		err = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, keys, vals, &count, &bo);
		if (err) {
			err = -errno;
			if (err == -EINVAL && first) {	/* no batch ops for this map */
				err = for_each_slow(fd, key_size, val_size, fn, ctx);
				goto out;
			}
			if (err != -ENOENT)
				goto out;
			err = 0;
			done = true;
		}
		first = false;
		in_batch = out_batch;
		for (__u32 i = 0; i < count; i++)
			fn(keys + i * key_size, vals + i * val_size, ctx);
		if (count == 0 && !done)
			break;
	}
out:
	free(keys);
	free(vals);
	return err;
}

int64_t map__count(int fd, size_t key_size)
{
	char key[KEY_MAX], next[KEY_MAX];
	void *prev = NULL;
	int64_t n = 0;

	while (key_size <= KEY_MAX && bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, key_size);
		prev = key;
		n++;
	}
	return n;
}

/* Delete each key PRED says, walking with get_next_key (a deleted key's successor is still found). */
static void delete_if(int fd, size_t key_size, size_t val_size,
		      bool (*pred)(const void *key, const void *val, const void *ctx), const void *ctx)
{
	char key[KEY_MAX], next[KEY_MAX], val[VAL_MAX];
	void *prev = NULL;

	if (key_size > KEY_MAX || val_size > VAL_MAX)
		return;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		if ((!val_size || bpf_map_lookup_elem(fd, next, val) == 0) && pred(next, val, ctx)) {
			bpf_map_delete_elem(fd, next);
			continue;	/* prev still valid: the next key after it */
		}
		memcpy(key, next, key_size);
		prev = key;
	}
}

static uint32_t key_tgid(const void *key)
{
	uint32_t tgid;

	memcpy(&tgid, key, sizeof(tgid));
	return tgid;
}

static bool tgid_dead(const void *key, const void *val, const void *ctx)
{
	(void)val;
	return u64_vec__has(ctx, key_tgid(key));
}

void map__delete_tgids(int fd, size_t key_size, const struct u64_vec *dead)
{
	delete_if(fd, key_size, 0, tgid_dead, dead);
}

struct value_tgid_ctx {
	size_t off;
	const struct u64_vec *dead;
};

static bool value_tgid_dead(const void *key, const void *val, const void *ctx)
{
	const struct value_tgid_ctx *c = ctx;
	uint32_t tgid;

	(void)key;
	memcpy(&tgid, (const char *)val + c->off, sizeof(tgid));
	return u64_vec__has(c->dead, tgid);
}

void map__delete_by_value_u32(int fd, size_t key_size, size_t val_size, size_t off,
			      const struct u64_vec *dead)
{
	struct value_tgid_ctx c = { off, dead };

	delete_if(fd, key_size, val_size, value_tgid_dead, &c);
}

struct before_ctx {
	uint32_t tgid;
	uint64_t ns;
	size_t off;
};

static bool made_before(const void *key, const void *val, const void *ctx)
{
	const struct before_ctx *b = ctx;
	uint64_t ts;

	memcpy(&ts, (const char *)val + b->off, sizeof(ts));
	return key_tgid(key) == b->tgid && ts < b->ns;
}

void map__delete_before(int fd, size_t key_size, size_t val_size, uint32_t tgid, uint64_t ns, size_t ts_off)
{
	struct before_ctx b = { tgid, ns, ts_off };

	delete_if(fd, key_size, val_size, made_before, &b);
}

struct u64_at {
	struct u64_vec *vec;
	bool in_key;
	size_t off;
};

static void push_u64_at(const void *key, const void *val, void *ctx)
{
	struct u64_at *a = ctx;
	uint64_t x;

	memcpy(&x, (const char *)(a->in_key ? key : val) + a->off, sizeof(x));
	u64_vec__push(a->vec, x);
}

void map__collect_u64(int fd, size_t key_size, size_t val_size, bool in_key, size_t off, struct u64_vec *vec)
{
	struct u64_at a = { vec, in_key, off };

	map__for_each(fd, key_size, val_size, push_u64_at, &a);
}

struct tk_slot *tracer__slot(struct tracer *t, const struct tracker *tk)
{
	for (int i = 0; i < t->ntk; i++)
		if (t->tk[i].tk == tk)
			return &t->tk[i];
	return NULL;
}

void *tracer__state(struct tracer *t, const struct tracker *tk, size_t size)
{
	struct tk_slot *s = tracer__slot(t, tk);

	if (s && !s->priv)
		s->priv = calloc(1, size);
	return s ? s->priv : NULL;
}

void *target__state(struct target *tg, struct tracer *t, const struct tracker *tk, size_t size)
{
	struct tk_slot *s = tracer__slot(t, tk);
	int k = s ? (int)(s - t->tk) : -1;

	if (k < 0)
		return NULL;
	if (!tg->priv[k])
		tg->priv[k] = calloc(1, size);
	return tg->priv[k];
}

/*
 * keep_dead trackers: a target's sites are what the tracker says while it
 * lives, and stay as they were last seen when it is gone: at a process's
 * death all its threads end and its fds close, which says nothing about
 * which ones leaked.
 */
static int keep_last(struct tracer *t, int k, struct site_set *ss)
{
	struct site_set out = {};
	int err = 0;

	for (int i = 0; i < t->ntg && !err; i++) {
		struct target *tg = t->tg[i];
		struct site_set *last = &tg->last[k];

		if (t->o->all && tg->exited) {
			last->n = 0;	/* -a: a process that is gone loses its state */
			continue;
		}
		if (target__alive(tg)) {
			last->n = 0;
			for (int j = 0; j < ss->n; j++) {
				struct lt_site *s;

				if (ss->s[j].pid != tg->pid)
					continue;
				s = site_set__add(last);
				if (!s)
					return -ENOMEM;
				*s = ss->s[j];
			}
		}
		for (int j = 0; j < last->n; j++) {
			struct lt_site *s = site_set__add(&out);

			if (!s) {
				err = -ENOMEM;
				break;
			}
			*s = last->s[j];
		}
	}
	site_set__free(ss);
	*ss = out;
	return err;
}

int collect__sites(struct tracer *t, int k, struct site_set *ss, bool report)
{
	const struct tracker *tk = t->tk[k].tk;
	int err = tk->collect(t, ss, report);

	if (!err && tk->keep_dead)
		err = keep_last(t, k, ss);
	return err;
}

int tracer__sample(struct tracer *t)
{
	/*
	 * -a: once a second, not at every liveness poll: both scan whole maps,
	 * and the stack GC's two passes must be far apart (see there)
	 */
	if (t->o->all) {
		system__discover(t);
		system__gc(t);
	}
	for (int k = 0; k < t->ntk; k++) {
		struct tk_slot *slot = &t->tk[k];
		struct site_set ss = {};

		slot->seq++;
		collect__sites(t, k, &ss, false);
		for (int i = 0; i < ss.n; i++)
			if (ss.s[i].v[0] > 0 || ss.s[i].v[1] > 0)
				trend_tab__sample(slot->trend, &ss.s[i].id, ss.s[i].v[0], slot->seq);
		trend_tab__end_round(slot->trend, slot->seq);
		site_set__free(&ss);
	}
	return 0;
}
