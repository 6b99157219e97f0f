// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Per-site sampled history and the growing/stable/shrinking/new rule. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "trend.h"

static double slope_of(const int64_t *s, int m)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0;

	if (m < 2)
		return 0;
	for (int i = 0; i < m; i++) {
		sx += i;
		sy += (double)s[i];
		sxx += (double)i * i;
		sxy += (double)i * (double)s[i];
	}
	return (m * sxy - sx * sy) / (m * sxx - sx * sx);
}

enum lt_trend trend__classify(const int64_t *samples, int n)
{
	int m = n < TREND_WINDOW ? n : TREND_WINDOW;
	const int64_t *w = samples + (n - m);
	double mean = 0, rise, thresh;

	bool up = true, down = true;

	if (n < TREND_MIN_SAMPLES)
		return LT_TREND_NEW;
	/*
	 * A site that rose at every sample of the window is a leak however
	 * large it is: a steady leak grows by the same amount each second
	 * while its size keeps growing, so a size-relative threshold alone
	 * would call it stable after a few minutes.
	 */
	for (int i = 1; i < m; i++) {
		up &= w[i] > w[i - 1];
		down &= w[i] < w[i - 1];
	}
	if (up)
		return LT_TREND_GROWING;
	if (down)
		return LT_TREND_SHRINKING;
	for (int i = 0; i < m; i++)
		mean += (double)w[i];
	mean /= m;
	rise = slope_of(w, m) * (m - 1);
	thresh = fmax(TREND_NOISE_MIN, TREND_NOISE_FRAC * fabs(mean));
	if (rise > thresh)
		return LT_TREND_GROWING;
	if (rise < -thresh)
		return LT_TREND_SHRINKING;
	return LT_TREND_STABLE;
}

struct trend_ent {
	struct lt_site_id key;
	bool used;
	uint64_t last_seq;
	int n;				/* samples ever taken */
	int64_t ring[TREND_WINDOW];	/* last samples, ring[n % W] is the next slot */
	int64_t reported;		/* bytes at the previous report */
	bool have_reported;
};

struct trend_tab {
	struct trend_ent *e;
	size_t cap, used;
};

static uint64_t key_hash(const struct lt_site_id *k)
{
	uint64_t h = (uint64_t)k->tgid * 0x9e3779b97f4a7c15ULL;

	h ^= k->stack * 0xc2b2ae3d27d4eb4fULL;
	h ^= k->caller * 0x165667b19e3779f9ULL;
	h ^= k->anc * 0x27d4eb2f165667c5ULL;
	h ^= h >> 29;
	return h;
}

static bool key_eq(const struct lt_site_id *a, const struct lt_site_id *b)
{
	return a->tgid == b->tgid && a->stack == b->stack && a->caller == b->caller &&
	       a->err == b->err && a->anc == b->anc;
}

struct trend_tab *trend_tab__new(void)
{
	struct trend_tab *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cap = 256;
	t->e = calloc(t->cap, sizeof(*t->e));
	if (!t->e) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

void trend_tab__free(struct trend_tab *t)
{
	if (!t)
		return;
	free(t->e);
	free(t);
}

static struct trend_ent *find(struct trend_tab *t, const struct lt_site_id *k, bool create)
{
	size_t i = key_hash(k) & (t->cap - 1);

	for (;;) {
		struct trend_ent *e = &t->e[i];

		if (!e->used) {
			if (!create)
				return NULL;
			break;
		}
		if (key_eq(&e->key, k))
			return e;
		i = (i + 1) & (t->cap - 1);
	}
	if ((t->used + 1) * 2 > t->cap) {
		struct trend_ent *old = t->e;
		size_t ocap = t->cap;

		t->e = calloc(ocap * 2, sizeof(*t->e));
		if (!t->e) {
			t->e = old;
			return NULL;
		}
		t->cap = ocap * 2;
		t->used = 0;
		for (size_t j = 0; j < ocap; j++) {
			if (!old[j].used)
				continue;
			struct trend_ent *n = find(t, &old[j].key, true);

			*n = old[j];
		}
		free(old);
		return find(t, k, true);
	}
	t->used++;
	t->e[i].used = true;
	t->e[i].key = *k;
	return &t->e[i];
}

static void push(struct trend_ent *e, int64_t v)
{
	e->ring[e->n % TREND_WINDOW] = v;
	e->n++;
}

int trend_tab__sample(struct trend_tab *t, const struct lt_site_id *k, int64_t bytes, uint64_t seq)
{
	struct trend_ent *e = find(t, k, true);

	if (!e)
		return -ENOMEM;
	if (e->last_seq == seq && e->n)
		return 0;
	e->last_seq = seq;
	push(e, bytes);
	return 0;
}

void trend_tab__end_round(struct trend_tab *t, uint64_t seq)
{
	for (size_t i = 0; i < t->cap; i++) {
		struct trend_ent *e = &t->e[i];

		if (e->used && e->last_seq != seq && e->n) {
			e->last_seq = seq;
			push(e, 0);
		}
	}
}

/* The window in time order. Returns the number of samples copied. */
static int window(const struct trend_ent *e, int64_t *w)
{
	int m = e->n < TREND_WINDOW ? e->n : TREND_WINDOW;

	for (int i = 0; i < m; i++)
		w[i] = e->ring[(e->n - m + i) % TREND_WINDOW];
	return m;
}

enum lt_trend trend_tab__trend(struct trend_tab *t, const struct lt_site_id *k)
{
	struct trend_ent *e = find(t, k, false);
	int64_t w[TREND_WINDOW];
	int m;

	if (!e || e->n < TREND_MIN_SAMPLES)
		return LT_TREND_NEW;
	m = window(e, w);
	return trend__classify(w, m);
}

double trend_tab__slope(struct trend_tab *t, const struct lt_site_id *k)
{
	struct trend_ent *e = find(t, k, false);
	int64_t w[TREND_WINDOW];

	if (!e)
		return 0;
	return slope_of(w, window(e, w));
}

int64_t trend_tab__delta(struct trend_tab *t, const struct lt_site_id *k, int64_t bytes, bool commit)
{
	struct trend_ent *e = find(t, k, true);
	int64_t d;

	if (!e)
		return bytes;
	d = e->have_reported ? bytes - e->reported : bytes;
	if (commit) {
		e->reported = bytes;
		e->have_reported = true;
	}
	return d;
}
