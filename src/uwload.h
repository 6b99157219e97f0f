/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Loads unwind tables into the BPF maps and tells BPF which processes are
 * walked with them. A module's table is built once (keyed by dev/inode)
 * and shared by every process that maps it; each process gets a slot with
 * its executable mappings.
 */
#ifndef LT_UWLOAD_H
#define LT_UWLOAD_H

#include <stdbool.h>
#include "opts.h"

struct leaktrace_bpf;
struct proc_image;
struct uwload;

/*
 * Size the unwinder's maps for MODE (SYS: the fd and mmap syscalls' stacks
 * are walked with the tables whatever MODE says); call between open and load.
 */
void uwload__size_maps(struct leaktrace_bpf *skel, enum lt_stacks mode, bool sys);
/* NULL when MODE is fp and not SYS (nothing to do), or on ENOMEM. */
struct uwload *uwload__new(struct leaktrace_bpf *skel, enum lt_stacks mode, bool sys);
/*
 * Bring the mapping table of IMG's process up to date: load the tables of
 * modules mapped since, and decide (auto) whether it is walked with them.
 * 0, or -errno.
 */
int uwload__sync(struct uwload *u, const struct proc_image *img);
/* Up to MAX processes whose walk met code outside their table, to sync. Returns how many. */
int uwload__missed(struct uwload *u, int *pids, int max);
/*
 * -c: the command PID, held at its exec, stops itself (SIGSTOP) at the
 * first allocation whose allocator is not in its table yet.
 */
void uwload__arm_stop(struct uwload *u, int pid);
/* Was PID's SIGSTOP ours? Then sync its tables, and resume it without the signal. */
bool uwload__take_stop(struct uwload *u, int pid);
/* PID is gone: free its slot. */
void uwload__forget(struct uwload *u, int pid);
/* Is PID walked with tables? */
bool uwload__uses_tables(struct uwload *u, int pid);
void uwload__free(struct uwload *u);	/* NULL is a no-op */

#endif
