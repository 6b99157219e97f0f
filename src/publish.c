// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A report as --serve's documents (see publish.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"
#include "pprof.h"
#include "publish.h"
#include "serve.h"

/*
 * Which metric family a section's values feed, by the section's JSON key:
 * its tracker (leaktrace_growing_sites{tracker}), and which of its values
 * are the process's numbers, in the order fields() lists them (-1: none).
 */
static const struct {
	const char *key;
	enum metrics_tracker tracker;
	int v[2];
} families[] = {
	{ "memory", METRICS_MEMORY, { 0, 1 } },		/* bytes, allocations */
	{ "threads", METRICS_THREADS, { 2, 1 } },	/* live, exited-unjoined */
	{ "timers", METRICS_TIMERS, { 0, -1 } },	/* open */
	{ "fds", METRICS_FDS, { 0, -1 } },
	{ "goroutines", METRICS_GOROUTINES, { 0, -1 } },
	{ "go_heap", METRICS_GO_HEAP, { 0, -1 } },	/* in-use bytes */
	{ "mmap", METRICS_MMAP, { -1, -1 } },
};

static int family_of(const struct lt_section *sec)
{
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (!strcmp(families[i].key, sec->view->key))
			return (int)i;
	return -1;
}

/* Where a process's numbers of tracker T go in its row. */
static void fields(struct lt_metrics_proc *p, enum metrics_tracker t, int64_t *x[2])
{
	x[0] = x[1] = NULL;
	switch (t) {
	case METRICS_MEMORY:
		x[0] = &p->outstanding_bytes;
		x[1] = &p->outstanding_allocations;
		break;
	case METRICS_THREADS:
		x[0] = &p->threads_live;
		x[1] = &p->threads_exited_unjoined;
		break;
	case METRICS_TIMERS:
		x[0] = &p->timers_open;
		break;
	case METRICS_FDS:
		x[0] = &p->fds_open;
		break;
	case METRICS_GOROUTINES:
		x[0] = &p->goroutines;
		break;
	case METRICS_GO_HEAP:
		x[0] = &p->go_heap_inuse_bytes;
		break;
	default:
		break;
	}
}

/* Add a site's or a process's values V (GROWING: a growing site) of family F to row P. */
static void add_values(struct lt_metrics_proc *p, int f, const int64_t *v, bool growing)
{
	int64_t *x[2];

	fields(p, families[f].tracker, x);
	for (int k = 0; k < 2; k++)
		if (x[k] && families[f].v[k] >= 0)
			*x[k] += v[families[f].v[k]];
	p->growing_sites[families[f].tracker] += growing;
}

struct rows {
	struct lt_metrics_proc *p;
	int n;
	struct lt_metrics_proc other;
	bool has_other;
};

static struct lt_metrics_proc *row_of(struct rows *rows, int pid)
{
	for (int i = 0; i < rows->n; i++)
		if (rows->p[i].pid == pid)
			return &rows->p[i];
	return rows->has_other ? &rows->other : NULL;
}

static void add_row(struct rows *rows, int pid, const char *comm)
{
	struct lt_metrics_proc *p = &rows->p[rows->n++];

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->comm = comm;
}

/*
 * The rows: one per target; with -a, the top processes of the section
 * grouped by process, and "other" for everything else.
 */
static int make_rows(const struct lt_report *r, struct rows *rows)
{
	const struct lt_section *by_proc = NULL;
	int max = r->ntargets + 1;

	for (int k = 0; k < r->nsecs; k++)
		if (r->secs[k].procs) {
			by_proc = &r->secs[k];
			max += by_proc->nprocs;
		}
	rows->p = calloc(max, sizeof(*rows->p));
	if (!rows->p)
		return -ENOMEM;
	if (r->system_wide) {
		rows->has_other = true;
		rows->other.comm = "other";
		for (int i = 0; by_proc && i < by_proc->nprocs; i++)
			add_row(rows, by_proc->procs[i].pid, by_proc->procs[i].comm);
	} else {
		for (int i = 0; i < r->ntargets; i++)
			add_row(rows, r->targets[i].pid, r->targets[i].comm);
	}
	return 0;
}

int publish__metrics(const struct lt_report *r, const struct publish_info *pi, char **out, size_t *len)
{
	struct lt_metrics_drop drops[LT_DROP__MAX];
	struct lt_metrics m = { .drops = drops, .ndrops = LT_DROP__MAX,
				.reports_total = pi->reports_total, .report_duration_s = pi->duration_s,
				.version = pi->version };
	struct rows rows = {};
	int err = make_rows(r, &rows);

	if (err)
		return err;
	for (int k = 0; k < r->nsecs; k++) {
		const struct lt_section *sec = &r->secs[k];
		int f = family_of(sec);

		if (f < 0)
			continue;
		m.has[families[f].tracker] = true;
		if (sec->procs) {
			/* grouped by process: the processes' totals hold the sites -a left out */
			for (int i = 0; i < sec->nprocs_total; i++) {
				struct lt_metrics_proc *p = row_of(&rows, sec->procs[i].pid);

				if (p)
					add_values(p, f, sec->procs[i].v, false);
			}
			for (int i = 0; i < sec->nsites; i++) {
				struct lt_metrics_proc *p = row_of(&rows, sec->sites[i].pid);

				if (p)
					p->growing_sites[families[f].tracker] += sec->sites[i].trend == LT_TREND_GROWING;
			}
			continue;
		}
		for (int i = 0; i < sec->nsites_total; i++) {
			struct lt_metrics_proc *p = row_of(&rows, sec->sites[i].pid);

			if (p)
				add_values(p, f, sec->sites[i].v, sec->sites[i].trend == LT_TREND_GROWING);
		}
	}
	for (int d = 0; d < LT_DROP__MAX; d++)
		drops[d] = (struct lt_metrics_drop){ drop__name(d), r->drops[d] };
	m.procs = rows.p;
	m.nprocs = rows.n;
	m.other = rows.has_other ? &rows.other : NULL;
	err = metrics__render(&m, out, len);
	free(rows.p);
	return err;
}

const char *publish__pprof_path(const struct lt_section *sec, char *buf, size_t len)
{
	const char *kind = sec->view->pprof && sec->view->pprof->sibling ? sec->view->pprof->sibling : "heap";

	snprintf(buf, len, "/debug/pprof/%s", kind);
	return buf;
}

/* What WRITE writes, as a malloc'd buffer added to SNAP at PATH. */
static int add_doc(struct serve_snapshot *snap, const char *path, const char *type,
		   int (*write)(FILE *f, const void *arg), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int err;

	if (!f)
		return -errno;
	err = write(f, arg);
	if (fclose(f) && !err)
		err = -EIO;
	if (err) {
		free(buf);
		return err;
	}
	return serve_snapshot__add(snap, path, type, NULL, buf, len);
}

struct section_doc {
	const struct lt_report *r;
	const struct lt_section *sec;
};

static int write_profile(FILE *f, const void *arg)
{
	const struct section_doc *d = arg;

	return pprof__write_section(f, d->r, d->sec, NULL);
}

static int write_json(FILE *f, const void *arg)
{
	return output__json(f, arg);
}

struct serve_snapshot *publish__snapshot(const struct lt_report *r, const struct publish_info *pi)
{
	struct serve_snapshot *snap = serve_snapshot__new();
	char *metrics = NULL, path[64];
	size_t mlen = 0;
	int err;

	if (!snap)
		return NULL;
	err = publish__metrics(r, pi, &metrics, &mlen);
	if (!err)
		err = serve_snapshot__add(snap, SERVE_PATH_METRICS, SERVE_TYPE_METRICS, NULL, metrics, mlen);
	for (int k = 0; !err && k < r->nsecs; k++) {
		struct section_doc d = { r, &r->secs[k] };

		if (r->secs[k].view->pprof)
			err = add_doc(snap, publish__pprof_path(&r->secs[k], path, sizeof(path)),
				      SERVE_TYPE_PPROF, write_profile, &d);
	}
	if (!err)
		err = add_doc(snap, SERVE_PATH_REPORT_JSON, SERVE_TYPE_JSON, write_json, r);
	if (err) {
		serve_snapshot__free(snap);
		errno = -err;
		return NULL;
	}
	return snap;
}
