/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Diagnostics, in one style (bpftool's p_err/p_info): every line on stderr
 * starts with "leaktrace: ". Data goes to stdout, never here. Pure modules
 * (parsers, writers, the report model) never print: they return -errno and
 * their caller says what failed.
 */
#ifndef LT_LOG_H
#define LT_LOG_H

/* -v level: 1 progress, 2 libbpf's messages, 3 the verifier log. */
extern int lt_verbose;

/* An error: "leaktrace: MSG". */
void lt_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A warning: "leaktrace: warning: MSG". */
void lt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Progress and debug output, shown at -v LEVEL and above. */
void lt_info(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* LT_LOG_H */
