/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where to put a uprobe inside a function so that the kernel emulates the
 * probed instruction instead of single-stepping it (docs/design.md, "Probes"; "Uprobe cost
 * and placement"). Pure code: decodes bytes with capstone, no root.
 *
 * The kernel emulates: push reg, jmp/jcc/call (rel8/rel32), and the
 * one-byte nop 0x90. Nothing else (not 0f 1f nops, not endbr64).
 *
 * Rules, walking forward from the function entry:
 *   - a candidate may be ON a branch (jmp/jcc/call/ret), never past one;
 *   - never past an instruction that writes rsp (push/pop/sub rsp/call...)
 *     or rdi, rsi, rdx, rcx (argument registers), so that at the probe the
 *     arguments and [rsp] (the return address) are those of the entry;
 *     a push is a candidate itself, but nothing after it is;
 *   - never at a branch target: no branch anywhere in the function body
 *     (or the scanned window) may jump to the candidate offset or between
 *     the entry and it (a loop back to +3 would re-fire the probe);
 *   - never past an instruction capstone cannot decode, or past a
 *     rip-relative write / any instruction whose effect is unknown.
 * Offset 0 is always safe.
 */
#ifndef LT_PROBEOFF_H
#define LT_PROBEOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROBEOFF_MAX 8

struct probe_choice {
	int n;				/* number of candidates */
	uint32_t off[PROBEOFF_MAX];	/* byte offsets from the function entry, best first */
	bool emulated[PROBEOFF_MAX];	/* the kernel emulates the instruction at off[i] */
	char why[PROBEOFF_MAX][96];	/* e.g. "je at +3 (emulated)", "push %r12 at +0 (emulated)",
					   "test at +0 (single-stepped: no emulated instruction before a barrier)" */
};

/*
 * CODE holds the function's bytes (LEN: the symbol size, or fewer if the
 * symbol is huge; pass at least 64 bytes when available). Fills *pc with
 * every safe offset: emulated ones first (in address order), then the
 * safe non-emulated ones (offset 0 first). n >= 1 always (offset 0).
 * Returns 0, or -EINVAL for bad arguments.
 */
int probe_choose(const uint8_t *code, size_t len, struct probe_choice *pc);

/*
 * If the function is just a jump to another place (optional endbr64, then
 * jmp rel8/rel32), returns 1 and sets *target to FUNC_VADDR-relative
 * absolute target vaddr; 0 otherwise. Used to skip _Znam → _Znwm and
 * operator delete → free, which the target's own probe catches.
 */
int probe_is_tail_jump(const uint8_t *code, size_t len, uint64_t func_vaddr, uint64_t *target);

#endif /* LT_PROBEOFF_H */
