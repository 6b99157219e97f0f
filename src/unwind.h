/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Unwind tables for the BPF DWARF unwinder, built from a module's
 * .eh_frame with elfutils libdw (.debug_frame when there is no .eh_frame).
 *
 * A table is a list of rows sorted by pc, each holding from its pc to the
 * next row's: how to find the CFA, and where the caller's rbp is (the
 * return address is always at CFA - 8 on x86-64). Pcs no FDE covers get a
 * LT_UW_NONE row, which the unwinder walks with frame pointers. Rows the
 * unwinder cannot follow are LT_UW_BAD. Pure: reads one file, no root.
 */
#ifndef LT_UNWIND_H
#define LT_UNWIND_H

#include <stdbool.h>
#include <stdint.h>
#include "leaktrace.h"

struct unwind_table {
	struct lt_urow *rows;	/* sorted by pc; pc relative to vaddr_lo */
	uint32_t nrows;
	uint64_t vaddr_lo;	/* page-aligned lowest executable vaddr */
	uint64_t vaddr_hi;	/* end of the highest executable segment */
	uint32_t *pages;	/* npages + 1: pages[p] = last row with pc <= p << LT_UW_PAGE_SHIFT */
	uint32_t npages;
	/* what was found, for -v */
	uint32_t nfde;		/* FDEs (functions) */
	uint32_t nfde_fp;	/* FDEs whose CFA moves to rbp somewhere: frame-pointer code */
	uint32_t nbad;		/* rows the unwinder cannot follow */
	const char *source;	/* ".eh_frame", ".debug_frame", or "none" */
	bool go;		/* a Go executable: frame pointers everywhere */
	/* the PT_LOADs, to turn a mapping's file offset into a vaddr */
	struct unwind_seg { uint64_t off, vaddr, filesz; bool x; } seg[16];
	int nseg;
};

/* Build the table of the ELF file open at FD. 0, or -errno (the table is then empty). */
int unwind__build(int fd, struct unwind_table *ut);
void unwind__free(struct unwind_table *ut);

/* Load bias (address - vaddr) of an executable mapping of file offset OFF at START. 0, or -ENOENT. */
int unwind__bias(const struct unwind_table *ut, uint64_t off, uint64_t start, uint64_t *bias);

/* Does most of the module's code keep a frame pointer? */
bool unwind__has_fp(const struct unwind_table *ut);

/* The row covering module-relative PC (vaddr - vaddr_lo), or NULL. Mirrors the BPF lookup. */
const struct lt_urow *unwind__find(const struct unwind_table *ut, uint64_t vaddr);

#endif /* LT_UNWIND_H */
