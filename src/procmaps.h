/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* /proc/PID/maps parser (pure: parses text, fuzzable), and the files behind the mappings. */
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
/*
 * Open the regular file behind mapping E of PID, read-only: through
 * /proc/PID/map_files (deleted files, containers), else /proc/PID/root/PATH.
 * fd, or -errno (-ENOEXEC: not a regular file).
 */
int procmaps__open(int pid, const struct map_entry *e);
/* True for a mapping backed by a regular file (path starts with '/'). */
bool procmaps__is_file(const struct map_entry *e);

#endif /* LT_PROCMAPS_H */
