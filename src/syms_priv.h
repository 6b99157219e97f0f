/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The insides of struct syms, shared by syms.c (modules from the process's
 * maps, lifetime) and symres.c (interned strings, the result cache,
 * resolution with libdw). Nothing else includes it.
 */
#ifndef LT_SYMS_PRIV_H
#define LT_SYMS_PRIV_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* asprintf, strndup */
#endif
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "gobin.h"
#include "procimg.h"
#include "procmaps.h"
#include "syms.h"

/* libstdc++ */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

#define UNKNOWN_MODULE "[unknown]"
#define DEBUGINFO_PATH ":.debug:/usr/lib/debug"

#define MAX_SEGS 16

/* One loaded ELF image: which file, where. */
struct image {
	struct file_id id;	/* path interned, as in maps (also the Dwfl module name) */
	uint64_t bias;
	uint64_t low, high;	/* [low, high) spanned by its PT_LOADs */
	int nsegs;		/* -1: too many PT_LOADs to keep */
	struct {
		uint64_t vaddr;	/* PAGE_DOWN(p_vaddr) */
		uint64_t off;	/* its mmap offset: p_offset - PAGE_OFF(p_vaddr) */
		uint64_t fend;	/* p_offset + p_filesz */
	} seg[MAX_SEGS];
};

struct syms_mod {
	Dwfl_Module *dm;
	struct image img;	/* low, high: the Dwfl module's range */
	const char *ident;	/* interned cache identity */
	bool is_exe, is_interp;
	struct gobin *go;	/* a Go executable: symbolized from its .gopclntab */
};

/* An image found in the current maps, not reported yet. */
struct cand {
	int fd;
	struct image img;
	bool x;			/* some mapping of it is executable */
};

struct cframe {
	const char *func;
	const char *file;
	uint64_t offset;
	int line;
	bool inlined;
};

struct cache_ent {
	struct cache_ent *next;
	const char *ident;
	uint64_t off;
	bool retaddr;
	int n;
	struct cframe fr[];
};

struct strset {
	char **slot;
	size_t cap, cnt;
};

/*
 * Interned strings and symbolization results are shared by every struct
 * syms of the process: with many targets mapping the same libc, each
 * (module, offset) is symbolized once, not once per target (libdwfl's
 * first lookup in a module costs tens of milliseconds). Entries are keyed
 * by the module's identity (build-id, else path and inode), so they hold
 * for any process that maps the same file. Never freed: reports copy what
 * they print, and leaktrace is single-threaded where it symbolizes.
 */
struct syms_shared {
	struct strset strs;
	struct cache_ent **bucket;
	size_t nbuckets, ncached;
};

extern struct syms_shared syms_shared;

struct syms {
	int pid;
	Dwfl *dwfl;
	Dwfl_Callbacks cb;
	char *debuginfo_path;
	char debuginfo_buf[sizeof(DEBUGINFO_PATH)];

	struct syms_mod **mods;
	int nmods, capmods;

	struct syms_shared *c;	/* strings and results, shared by every struct syms */

	/* main executable and dynamic loader, as (dev, inode, path) */
	bool have_exe, have_interp;
	struct file_id exe, interp;	/* paths interned */
};

/* symres.c: STR interned in the strings every struct syms shares. NULL on ENOMEM. */
const char *syms_intern(struct syms *s, const char *str);
/* syms.c: free a module (not its interned strings). */
void syms_mod_free(struct syms_mod *m);
/* syms.c: the module mapping ADDR, or NULL. */
struct syms_mod *syms_mod_at(struct syms *s, uint64_t addr);

#endif /* LT_SYMS_PRIV_H */
