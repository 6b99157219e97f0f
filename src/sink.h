/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where reports go: one sink per --format item, paired with the -o list by
 * cli__parse() (struct lt_out). A sink is stdout, a stream (text or json to
 * a file without %n: opened and truncated once, each report appended), or
 * a file replaced whole at each report (folded and pprof, and any format
 * whose file name has %n, which becomes the report number).
 */
#ifndef LT_SINK_H
#define LT_SINK_H

#include <stdbool.h>
#include <stdio.h>
#include "opts.h"
#include "report.h"

typedef int (*report_writer)(FILE *f, const struct lt_report *r);

/* The writer of one format (pprof: the heap profile to a stream). */
report_writer sink__writer(enum lt_format fmt);
const char *sink__format_name(enum lt_format fmt);

/* Does the file name template have the %n placeholder? */
bool sink__has_n(const char *tmpl);
/* TMPL with every "%n" replaced by N. 0, or -ENAMETOOLONG. */
int sink__expand(const char *tmpl, int n, char *out, size_t len);

/*
 * Open PATH for a stream of reports: created or truncated, never through a
 * symlink, and only a regular file owned by the caller. NULL with one line
 * printed.
 */
FILE *sink__open(const char *path);

/*
 * Replace PATH with what WRITE writes for R: a temporary file beside it,
 * renamed over it, so a reader never sees half a report. An existing PATH
 * must be a regular file owned by the caller. 0 or -errno, one line printed.
 */
int sink__replace(const char *path, report_writer write, const struct lt_report *r);
typedef int (*sink_fn)(FILE *f, const void *arg);
int sink__replace_with(const char *path, sink_fn write, const void *arg);

/*
 * Name of the KIND file beside PATH: PATH without a trailing EXT, then
 * ".KIND" EXT. 0, or -ENAMETOOLONG when it does not fit in LEN.
 */
int sink__sibling(const char *path, const char *kind, const char *ext, char *out, size_t len);

/*
 * pprof and folded files (FMT): the first section to PATH (pprof: the
 * memory profile), every other section that has one to its sibling
 * ("heap.pb.gz" -> "heap.threads.pb.gz", "x.folded" -> "x.goroutines.folded").
 * A section that is off gets no file. Every file is replaced whole, never
 * seen half-written; one that fails does not stop the others. 0 or the
 * first -errno (each failure printed).
 */
int sink__write_sections(const char *path, enum lt_format fmt, const struct lt_report *r);

/*
 * Can PATH (a template: checked for report 1) be replaced later? Its
 * directory must be writable; an existing file must be a regular file owned
 * by the caller. 0, or -errno with one line printed.
 */
int sink__check(const char *tmpl);

struct sinks;

/*
 * Open every output of O (streams opened, the rest checked, pprof and
 * folded siblings of the sections of VIEWS too). NULL, one line printed.
 */
struct sinks *sinks__open(const struct lt_opts *o, const struct lt_view *const *views, int nviews);
/* Write R to every output. 0, or the first -errno (each failure printed). */
int sinks__emit(struct sinks *s, const struct lt_report *r);
void sinks__close(struct sinks *s);	/* NULL is a no-op */

#endif /* LT_SINK_H */
