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
/* Is PID a kernel thread (PF_KTHREAD in /proc/PID/stat)? */
bool util__kernel_thread(int pid);
const char *util__basename(const char *path);
/*
 * The capabilities leaktrace lacks, from the text of /proc/PID/status (its
 * CapEff line) and the kernel's cap_last_cap (-1: unknown): CAP_BPF and
 * CAP_PERFMON (or CAP_SYS_ADMIN, which grants both), CAP_SYS_PTRACE, and
 * CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE (/proc/PID/map_files). Writes
 * their names, comma separated, to OUT. Returns how many are missing, or
 * -EINVAL without a CapEff line.
 */
int util__missing_caps(const char *status, int last_cap, char *out, size_t len);
/* At start: 0, or -EPERM after one stderr line naming what is missing. */
int util__check_caps(void);

#endif
