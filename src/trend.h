/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Trend of a site from its outstanding bytes, sampled once a second.
 *
 * Rule (also stated in README): with fewer than TREND_MIN_SAMPLES samples a
 * site is "new". A window of the last TREND_WINDOW samples that rises
 * (falls) at every sample is "growing" ("shrinking"). Otherwise take the
 * least-squares slope of the last
 * TREND_WINDOW samples; the change it predicts across the window is
 * "growing" when it exceeds the noise threshold, "shrinking" when it is
 * below minus the threshold, and "stable" otherwise. The threshold is
 * TREND_NOISE_FRAC of the window's mean size, and at least
 * TREND_NOISE_MIN bytes.
 */
#ifndef LT_TREND_H
#define LT_TREND_H

#include <stdint.h>
#include "report.h"

#define TREND_WINDOW		5
#define TREND_MIN_SAMPLES	3
#define TREND_NOISE_FRAC	0.02
#define TREND_NOISE_MIN		64.0

/* Classify a series (oldest first). N is the total samples ever taken. */
enum lt_trend trend__classify(const int64_t *samples, int n);

/* Per-site history, keyed by (tgid, stack id, caller). */
struct trend_tab;

struct trend_tab *trend_tab__new(void);
void trend_tab__free(struct trend_tab *t);	/* NULL is a no-op */
/* Record one sample for a site (creates it). SEQ is the sampling round. */
int trend_tab__sample(struct trend_tab *t, const struct lt_site_id *k, int64_t bytes, uint64_t seq);
/* After a sampling round, sites not seen in round SEQ get a 0 sample. */
void trend_tab__end_round(struct trend_tab *t, uint64_t seq);
enum lt_trend trend_tab__trend(struct trend_tab *t, const struct lt_site_id *k);
/* Bytes at the previous report (0 if unknown), and remember BYTES for the next. */
int64_t trend_tab__delta(struct trend_tab *t, const struct lt_site_id *k, int64_t bytes, bool commit);
/* Latest growth rate in bytes per sample (least-squares slope), for --sort growth. */
double trend_tab__slope(struct trend_tab *t, const struct lt_site_id *k);

#endif /* LT_TREND_H */
