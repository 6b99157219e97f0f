// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Prometheus text format 0.0.4 of a report's per-process totals (metrics.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"

/* ---- a growable string; the first failure sticks and is returned at the end ---- */

struct buf {
	char *p;
	size_t len, cap;
	int err;
};

static int buf_reserve(struct buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->err)
		return b->err;
	if (b->len + more + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		return b->err = -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static void buf_put(struct buf *b, const char *s, size_t n)
{
	if (buf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void buf_puts(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (buf_reserve(b, 128))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = -EINVAL;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (buf_reserve(b, n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += n;
}

/*
 * Length of the UTF-8 sequence at S (N bytes left), or 0 if it is not a
 * valid one (overlong forms, surrogates and values past U+10FFFF included).
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned int c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A label value: \ " and newline escaped, invalid UTF-8 bytes as U+FFFD. */
static void buf_label_value(struct buf *b, const char *v)
{
	const unsigned char *s = (const unsigned char *)(v ? v : "");
	size_t n = strlen((const char *)s);

	while (n) {
		size_t k = utf8_len(s, n);

		if (!k) {
			buf_puts(b, "\xef\xbf\xbd");
			k = 1;
		} else if (*s == '\\') {
			buf_puts(b, "\\\\");
		} else if (*s == '"') {
			buf_puts(b, "\\\"");
		} else if (*s == '\n') {
			buf_puts(b, "\\n");
		} else {
			buf_put(b, (const char *)s, k);
		}
		s += k;
		n -= k;
	}
}

/* ---- the families ---- */

const char *metrics__tracker_name(enum metrics_tracker t)
{
	static const char *const names[METRICS__NTRACKERS] = {
		[METRICS_MEMORY] = "memory",
		[METRICS_THREADS] = "threads",
		[METRICS_TIMERS] = "timers",
		[METRICS_FDS] = "fds",
		[METRICS_GOROUTINES] = "goroutines",
		[METRICS_GO_HEAP] = "go_heap",
		[METRICS_MMAP] = "mmap",
	};

	return (int)t >= 0 && t < METRICS__NTRACKERS ? names[t] : NULL;
}

static void family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{pid="..",comm=".." (and EXTRA, a ready label list) } value */
static void proc_series(struct buf *b, const char *name, const struct lt_metrics_proc *p,
			bool other, const char *extra, int64_t value)
{
	buf_puts(b, name);
	if (other) {
		buf_puts(b, "{pid=\"other\",comm=\"other\"");
	} else {
		buf_printf(b, "{pid=\"%d\",comm=\"", p->pid);
		buf_label_value(b, p->comm);
		buf_puts(b, "\"");
	}
	if (extra)
		buf_printf(b, ",%s", extra);
	buf_printf(b, "} %" PRId64 "\n", value);
}

/* Rows are the procs, then "other" if there is one. */
static int nrows(const struct lt_metrics *m)
{
	return m->nprocs + (m->other ? 1 : 0);
}

static const struct lt_metrics_proc *row(const struct lt_metrics *m, int i, bool *other)
{
	*other = i == m->nprocs;
	return *other ? m->other : &m->procs[i];
}

static void gauge_per_proc(struct buf *b, const struct lt_metrics *m, const char *name,
			   const char *help, size_t off)
{
	family(b, name, "gauge", help);
	for (int i = 0; i < nrows(m); i++) {
		bool other;
		const struct lt_metrics_proc *p = row(m, i, &other);
		int64_t v = *(const int64_t *)((const char *)p + off);

		if (v >= 0)
			proc_series(b, name, p, other, NULL, v);
	}
}

static bool any_tracker(const struct lt_metrics *m)
{
	for (int t = 0; t < METRICS__NTRACKERS; t++)
		if (m->has[t])
			return true;
	return false;
}

static void double_value(struct buf *b, double v)
{
	if (isnan(v))
		buf_puts(b, "NaN");
	else if (isinf(v))
		buf_puts(b, v > 0 ? "+Inf" : "-Inf");
	else
		buf_printf(b, "%.9g", v);
}

int metrics__render(const struct lt_metrics *m, char **out, size_t *len)
{
	struct buf b = {};

	if (!m || !out || !len || m->nprocs < 0 || m->ndrops < 0 ||
	    (m->nprocs && !m->procs) || (m->ndrops && !m->drops))
		return -EINVAL;

	if (m->has[METRICS_MEMORY]) {
		gauge_per_proc(&b, m, "leaktrace_outstanding_bytes",
			       "Bytes allocated on the C heap and not freed (requested sizes).",
			       offsetof(struct lt_metrics_proc, outstanding_bytes));
		gauge_per_proc(&b, m, "leaktrace_outstanding_allocations",
			       "C heap allocations not freed.",
			       offsetof(struct lt_metrics_proc, outstanding_allocations));
	}

	if (any_tracker(m)) {
		family(&b, "leaktrace_growing_sites", "gauge",
		       "Sites whose trend is growing, per tracker.");
		for (int i = 0; i < nrows(m); i++) {
			bool other;
			const struct lt_metrics_proc *p = row(m, i, &other);

			for (int t = 0; t < METRICS__NTRACKERS; t++) {
				char extra[32];

				if (!m->has[t] || p->growing_sites[t] < 0)
					continue;
				snprintf(extra, sizeof(extra), "tracker=\"%s\"", metrics__tracker_name(t));
				proc_series(&b, "leaktrace_growing_sites", p, other, extra,
					    p->growing_sites[t]);
			}
		}
	}

	if (m->has[METRICS_THREADS]) {
		family(&b, "leaktrace_threads", "gauge",
		       "Threads created since the attach and not done: live, or exited and not joined.");
		for (int i = 0; i < nrows(m); i++) {
			bool other;
			const struct lt_metrics_proc *p = row(m, i, &other);

			if (p->threads_live >= 0)
				proc_series(&b, "leaktrace_threads", p, other, "state=\"live\"",
					    p->threads_live);
			if (p->threads_exited_unjoined >= 0)
				proc_series(&b, "leaktrace_threads", p, other,
					    "state=\"exited_unjoined\"", p->threads_exited_unjoined);
		}
	}

	if (m->has[METRICS_TIMERS])
		gauge_per_proc(&b, m, "leaktrace_timers_open", "Timers created and not deleted.",
			       offsetof(struct lt_metrics_proc, timers_open));
	if (m->has[METRICS_FDS])
		gauge_per_proc(&b, m, "leaktrace_fds_open", "File descriptors opened and not closed.",
			       offsetof(struct lt_metrics_proc, fds_open));
	if (m->has[METRICS_GOROUTINES])
		gauge_per_proc(&b, m, "leaktrace_goroutines", "Goroutines of the Go process.",
			       offsetof(struct lt_metrics_proc, goroutines));
	if (m->has[METRICS_GO_HEAP])
		gauge_per_proc(&b, m, "leaktrace_go_heap_inuse_bytes", "Bytes in use on the Go heap.",
			       offsetof(struct lt_metrics_proc, go_heap_inuse_bytes));

	family(&b, "leaktrace_drops_total", "counter",
	       "Events leaktrace could not record, by kind (see the report's drop counters).");
	for (int i = 0; i < m->ndrops; i++) {
		buf_puts(&b, "leaktrace_drops_total{kind=\"");
		buf_label_value(&b, m->drops[i].kind);
		buf_printf(&b, "\"} %" PRIu64 "\n", m->drops[i].value);
	}

	family(&b, "leaktrace_reports_total", "counter", "Reports made since leaktrace started.");
	buf_printf(&b, "leaktrace_reports_total %" PRIu64 "\n", m->reports_total);

	if (!isnan(m->report_duration_s) && m->report_duration_s >= 0) {
		family(&b, "leaktrace_report_duration_seconds", "gauge",
		       "How long the last report took to make.");
		buf_puts(&b, "leaktrace_report_duration_seconds ");
		double_value(&b, m->report_duration_s);
		buf_puts(&b, "\n");
	}

	family(&b, "leaktrace_build_info", "gauge", "leaktrace's version, as a label; always 1.");
	buf_puts(&b, "leaktrace_build_info{version=\"");
	buf_label_value(&b, m->version);
	buf_puts(&b, "\"} 1\n");

	if (b.err) {
		free(b.p);
		return b.err;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}
