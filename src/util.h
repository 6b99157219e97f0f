/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef LT_UTIL_H
#define LT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Read a whole file (e.g. under /proc). NUL-terminated; *len excludes the NUL. NULL + errno. */
char *util__read_file(const char *path, size_t *len);
/* /proc/PID/comm without the newline; "?" if unreadable. */
void util__comm(int pid, char *buf, size_t len);
/* Seconds on CLOCK_MONOTONIC. */
double util__now(void);
/* Does the process exist (and is it not a zombie)? */
bool util__pid_alive(int pid);
const char *util__basename(const char *path);
/* Verbosity for util__log. */
extern int lt_verbose;
void util__log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
