/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Probe plan: which file defines each tracked function for a process (per
 * symbol, in the process's lookup order: the executable, LD_PRELOAD, then
 * DT_NEEDED breadth-first), and where in that function the probe sits.
 * No libbpf here: src/attach.c attaches what the plan lists and holds the links.
 */
#ifndef LT_PLAN_H
#define LT_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include "leaktrace.h"
#include "probeoff.h"

struct elf_file;

struct lt_module {
	char *path;		/* as the process sees it */
	char *open_path;	/* what leaktrace opens and attaches to */
	struct elf_file *ef;
	uint64_t dev, inode;	/* 0 when unknown */
	bool is_exe;
};

enum lt_probe_flags {
	LT_PF_RET = 1 << 0,		/* also a return probe */
	LT_PF_REQUIRED = 1 << 1,	/* without it nothing can be tracked */
	LT_PF_SKIP_GLIBC = 1 << 2,	/* glibc's version calls another tracked function */
	LT_PF_NEW = 1 << 3,		/* operator new: return probe only where new calls no tracked function */
	LT_PF_ALL_VERSIONS = 1 << 4,	/* probe every version's address (timer_create has two) */
	LT_PF_STACK_ONLY = 1 << 5,	/* only takes the creation stack: left out with --stacks dwarf */
};

enum lt_tracker { LT_TRACKER_MEM, LT_TRACKER_THREADS, LT_TRACKER_TIMERS, LT_TRACKER_FDS, LT_TRACKER_MMAP,
		  LT_TRACKER__MAX };

struct lt_probe {
	const char *sym;	/* tracked name (static string) */
	enum lt_func func;
	enum lt_tracker tracker;	/* which BPF programs serve it */
	bool ret;		/* attach a return probe too */
	int mod;		/* index into plan->mods */
	uint64_t vaddr;		/* function entry vaddr in the module */
	uint64_t file_off;	/* file offset of the function entry */
	struct probe_choice choice;
	int cur;		/* index of the offset in use */
	uint64_t addr;		/* runtime address of the probe in the target, 0 if unknown */
	bool attached;
	bool shared;		/* shared mode: attached once for another target's plan */
};

struct lt_plan {
	int pid;
	struct lt_module *mods;
	int nmods;
	struct lt_probe *probes;
	int nprobes;
	char missing[256];	/* tracked functions that no module defines */
	bool no_malloc;		/* memory was asked for, but nothing defines malloc */
	struct plan_file {	/* -a: files seen that define nothing tracked */
		uint64_t dev, inode;
	} *skipped;
	int nskipped;
};

/*
 * Plan for a running process from /proc/PID/maps (files opened via
 * map_files). TRACK: enum lt_track bits. Returns 0; -ENOENT when memory is
 * tracked and nothing defines malloc (p->no_malloc is set and the other
 * trackers' probes are planned all the same), or another -errno.
 */
int plan__live(int pid, const char *allocator, unsigned track, struct lt_plan *p);
/* Is M glibc's malloc (libc.so, or a static binary's)? tcmalloc defines __libc_malloc too, not __libc_start_main. */
bool plan__is_glibc(const struct lt_module *m);
/* Is M libstdc++ (the library, or linked into a static binary), whose operator new calls malloc? */
bool plan__is_libstdcxx(const struct lt_module *m);
/*
 * The fd and mmap syscalls' tracepoints walk whole stacks from the
 * registers the syscall saved, with the unwind tables: their wrappers'
 * uprobes, which only take the stack, are planned only where there are no
 * tables (-a). See plan.c.
 */
void plan__set_stack_probes(bool on);
bool plan__stack_probes(void);
/*
 * Plan for EXE before it runs: resolve its interpreter's search the way
 * ld.so would (LD_PRELOAD, LD_LIBRARY_PATH, RUNPATH, ld.so.conf, default
 * dirs), with the environment of process ENV_PID (one stopped at its
 * exec), or leaktrace's own when ENV_PID is 0 (the command it forks).
 */
int plan__predict(const char *exe, int env_pid, const char *allocator, unsigned track, struct lt_plan *p);
/* -a: add every file in use that defines tracked functions (see plan.c). */
int plan__system(struct lt_plan *p, unsigned track, int self);
struct proc_maps;
/* Runtime addresses of the probes, from the process's maps. */
void plan__resolve_addrs(struct lt_plan *p, const struct proc_maps *maps);
void plan__free(struct lt_plan *p);
/* Close the plan's ELF files once its probes are attached (mods[].ef = NULL). */
void plan__release_files(struct lt_plan *p);
/* Find the probe for the same (file, offset) in another plan, or NULL. */
struct lt_probe *plan__find_same(struct lt_plan *p, const struct lt_plan *other, const struct lt_probe *pr);

#endif
