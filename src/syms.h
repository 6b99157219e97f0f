/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Symbolizer for one process's address space, built on elfutils libdwfl.
 *
 * - Modules come from /proc/PID/maps; each file is opened through
 *   /proc/PID/map_files/<start>-<end> (works for deleted binaries and
 *   containers), falling back to /proc/PID/root/<path>. The open fds are
 *   kept, so symbols stay right after the process exits.
 * - Function + offset from the symbol tables, file:line and inlined frames
 *   from DWARF (build-id, .gnu_debuglink and /usr/lib/debug are searched
 *   through dwfl's standard find_debuginfo callbacks).
 * - C++ names are demangled with __cxa_demangle.
 * - Results are cached per (module build-id or path, file-relative address).
 */
#ifndef LT_SYMS_H
#define LT_SYMS_H

#include <stdbool.h>
#include <stdint.h>

struct syms;

struct sym_frame {
	uint64_t addr;		/* the address asked for */
	const char *func;	/* demangled; NULL if unknown. Owned by syms */
	uint64_t offset;	/* addr - function start (for inlined frames: of the containing function) */
	const char *file;	/* source file basename-or-path as DWARF gives it; NULL if unknown */
	int line;		/* 0 if unknown */
	const char *module;	/* path of the mapped file as in /proc/PID/maps; "[unknown]" */
	uint64_t module_off;	/* file-relative vaddr within module (for module+0xoff) */
	bool inlined;		/* this frame was inlined into the next one */
};

struct proc_maps;

/* Snapshot PID's mappings. NULL + errno (ESRCH when the process is gone). */
struct syms *syms__new(int pid);
/* The same from MAPS, PID's mappings read by the caller (a process image). */
struct syms *syms__new_maps(int pid, const struct proc_maps *maps);
/* Add the modules mapped since, from MAPS. 0, or -errno (ESRCH: no mappings left). */
int syms__update(struct syms *s, const struct proc_maps *maps);
/* Re-read /proc/PID/maps and add modules mapped since. 0, or -errno (ESRCH once the process is gone; the existing modules stay usable). */
int syms__refresh(struct syms *s);
void syms__free(struct syms *s);	/* NULL is a no-op */

/*
 * Symbolize one return address or ip. Source lines are looked up at
 * addr - 1 when IS_RETADDR (a return address points after the call).
 * Writes the inline chain innermost first (inlined = true for all but the
 * last), then the containing function. Returns the number of frames
 * written (>= 1 for any address; an address in no module gives one frame
 * with func NULL and module "[unknown]"), or -errno.
 * Pointers stay valid until syms__free().
 */
int syms__resolve(struct syms *s, uint64_t addr, bool is_retaddr,
		  struct sym_frame *out, int max);

/* Path of the module mapping ADDR, or NULL. */
const char *syms__module(struct syms *s, uint64_t addr);
/* Path of the main executable (the mapping of /proc/PID/exe). */
const char *syms__exe(struct syms *s);
/* Does ADDR fall in a mapping of the main executable? */
bool syms__in_exe(struct syms *s, uint64_t addr);
/* Does ADDR fall in a mapping of the dynamic loader (PT_INTERP of the exe)? */
bool syms__in_interp(struct syms *s, uint64_t addr);

#endif /* LT_SYMS_H */
