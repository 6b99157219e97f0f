/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A process image: one snapshot of a process's address space, read once
 * per tick (a report, an attach, an exec) and handed to every module that
 * needs it: the symbolizer (syms__refresh), the unwind-table loader
 * (uwload__sync), the planner (plan__resolve_addrs) and the lookup of the
 * uretprobe trampoline. Besides the mappings (/proc/PID/maps) it holds the
 * identity of the executable (/proc/PID/exe) and where the kernel put the
 * [uprobes] page.
 */
#ifndef LT_PROCIMG_H
#define LT_PROCIMG_H

#include <stdbool.h>
#include <stdint.h>
#include "procmaps.h"

/* What a mapped file is: the same file is the same (device, inode) and path. */
struct file_id {
	uint32_t dev_major, dev_minor;
	uint64_t inode;
	const char *path;
};

struct proc_image {
	int pid;
	uint64_t tick;			/* the caller's tick it was read at */
	struct proc_maps *maps;
	uint64_t xol_start, xol_end;	/* [uprobes] (uretprobe trampolines), 0 if none */
	uint64_t exe_dev, exe_inode;	/* stat of /proc/PID/exe; 0 when unknown */
	bool zombie;			/* no mappings: the process is exiting */
};

/* Read PID's image at TICK. NULL + errno (ENOENT/ESRCH: no such process). */
struct proc_image *procimg__read(int pid, uint64_t tick);
void procimg__free(struct proc_image *img);	/* NULL is a no-op */

/* The file identity of mapping E. */
struct file_id procimg__file_id(const struct map_entry *e);
bool file_id__same(const struct file_id *a, const struct file_id *b);
/* Is ADDR in the [uprobes] page? */
bool procimg__in_xol(const struct proc_image *img, uint64_t addr);

#endif /* LT_PROCIMG_H */
