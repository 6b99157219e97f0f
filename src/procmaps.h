/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* /proc/PID/maps parser. Pure: parses text, no root, fuzzable. */
#ifndef LT_PROCMAPS_H
#define LT_PROCMAPS_H

#include <stdbool.h>
#include <stdint.h>

struct map_entry {
	uint64_t start, end;	/* [start, end) */
	uint64_t offset;	/* file offset of start */
	uint32_t dev_major, dev_minor;
	uint64_t inode;
	bool r, w, x, p;	/* perms; p = private */
	bool deleted;		/* path ended in " (deleted)" (suffix removed from path) */
	char *path;		/* "" for anonymous; "[heap]", "[stack]", ... kept as is */
};

struct proc_maps {
	int n;
	struct map_entry *e;	/* sorted by start, as the kernel prints them */
};

/* Parse the text of a maps file. NULL + errno (EINVAL on malformed input). */
struct proc_maps *procmaps__parse(const char *text, size_t len);
/* Read and parse /proc/PID/maps. NULL + errno (ENOENT/ESRCH: no such process). */
struct proc_maps *procmaps__read(int pid);
void procmaps__free(struct proc_maps *m);	/* NULL is a no-op */
/* Entry containing ADDR, or NULL. Binary search. */
const struct map_entry *procmaps__find(const struct proc_maps *m, uint64_t addr);
/* True for a mapping backed by a regular file (path starts with '/'). */
bool procmaps__is_file(const struct map_entry *e);

#endif /* LT_PROCMAPS_H */
