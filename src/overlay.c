// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The mmap tracker's records laid over the address space (see overlay.h). Pure. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include "overlay.h"

static int rec_cmp(const void *pa, const void *pb)
{
	const struct ov_rec *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->created_ns < b->created_ns ? -1 : a->created_ns > b->created_ns;
}

/* Bytes of [a, b) inside the mapped ranges. */
static uint64_t mapped_len(const struct ov_range *m, int n, uint64_t a, uint64_t b)
{
	int lo = 0, hi = n;
	uint64_t sum = 0;

	/* the first range that ends after a */
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (m[mid].end <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (int i = lo; i < n && m[i].start < b; i++) {
		uint64_t s = m[i].start > a ? m[i].start : a, e = m[i].end < b ? m[i].end : b;

		if (e > s)
			sum += e - s;
	}
	return sum;
}

struct piece {
	uint64_t s, e;
};

/* Take [s, e) out of the N pieces in P (room for N + 1). Returns the new count. */
static int cut(struct piece *p, int n, uint64_t s, uint64_t e)
{
	for (int i = 0; i < n; i++) {
		if (e <= p[i].s || s >= p[i].e)
			continue;
		if (s <= p[i].s && e >= p[i].e) {	/* all of it */
			p[i--] = p[--n];
		} else if (s > p[i].s && e < p[i].e) {	/* a hole: two pieces */
			p[n].s = e;
			p[n].e = p[i].e;
			p[i].e = s;
			n++;
		} else if (s <= p[i].s) {
			p[i].s = e;
		} else {
			p[i].e = s;
		}
	}
	return n;
}

/* Is record J newer than record I (the same time: the later in order)? */
static bool newer(const struct ov_rec *r, int j, int i)
{
	return r[j].created_ns > r[i].created_ns || (r[j].created_ns == r[i].created_ns && j > i);
}

int overlay__bytes(struct ov_rec *recs, int n, const struct ov_range *mapped, int n_mapped)
{
	uint64_t *maxend;
	struct piece *p;

	if (n <= 0)
		return 0;
	qsort(recs, n, sizeof(*recs), rec_cmp);
	maxend = malloc(n * sizeof(*maxend));
	p = malloc((n + 2) * sizeof(*p));
	if (!maxend || !p) {
		free(maxend);
		free(p);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		uint64_t e = recs[i].start + recs[i].len;

		maxend[i] = i && maxend[i - 1] > e ? maxend[i - 1] : e;
	}
	for (int i = 0; i < n; i++) {
		uint64_t s = recs[i].start, e = s + recs[i].len;
		int np = 1;

		p[0].s = s;
		p[0].e = e;
		/* records that start before it and may reach into it */
		for (int j = i - 1; j >= 0 && maxend[j] > s && np; j--)
			if (recs[j].start + recs[j].len > s && newer(recs, j, i))
				np = cut(p, np, recs[j].start, recs[j].start + recs[j].len);
		/* records that start inside it */
		for (int j = i + 1; j < n && recs[j].start < e && np; j++)
			if (newer(recs, j, i))
				np = cut(p, np, recs[j].start, recs[j].start + recs[j].len);
		recs[i].bytes = 0;
		for (int k = 0; k < np; k++)
			recs[i].bytes += mapped_len(mapped, n_mapped, p[k].s, p[k].e);
	}
	free(maxend);
	free(p);
	return 0;
}
