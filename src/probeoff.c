// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Uprobe placement inside a function (see probeoff.h).
 *
 * Two passes over the code with capstone (x86-64, detail on):
 *   1. a linear sweep of the whole buffer collects every direct branch
 *      target (jmp/jcc/call/loop/jrcxz/xbegin with an immediate); the
 *      lowest target above 0 bounds the walk;
 *   2. a walk from the entry: every instruction reached is a candidate
 *      (the probe fires before it executes), and the walk stops after the
 *      first "barrier": a branch, a write to rsp or to rdi/rsi/rdx/rcx (any
 *      sub-register), a memory write, a locked instruction, or any
 *      instruction not on the short list of ones whose effects capstone
 *      reports reliably. Undecodable, trapping and privileged instructions
 *      and branch targets stop the walk before them.
 *
 * Whether the kernel emulates an instruction is decided from its bytes,
 * with the same rules as arch/x86/kernel/uprobes.c (push_setup_xol_ops,
 * branch_setup_xol_ops), restricted to what was measured on 6.18 (docs/design.md, "Probes").
 *
 * Limits: indirect branches (jump tables) and branches from outside the
 * buffer (other functions, .cold parts) cannot be seen. The walk stops
 * at the first barrier, so in practice candidates lie within the first
 * few instructions, where neither occurs in compiled code.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <capstone/capstone.h>

#include "probeoff.h"

#define WALK_MAX_INSNS	32

struct cand {
	uint32_t off;
	bool emulated;
	char why[96];
};

static bool is_endbr(const uint8_t *c, size_t len)
{
	return len >= 4 && c[0] == 0xf3 && c[1] == 0x0f && c[2] == 0x1e &&
	       (c[3] == 0xfa || c[3] == 0xfb);
}

static bool insn_in_group(const cs_insn *insn, uint8_t grp)
{
	const cs_detail *d = insn->detail;
	int i;

	for (i = 0; i < d->groups_count; i++)
		if (d->groups[i] == grp)
			return true;
	return false;
}

static bool is_branch(const cs_insn *insn)
{
	switch (insn->id) {
	case X86_INS_LOOP:
	case X86_INS_LOOPE:
	case X86_INS_LOOPNE:
	case X86_INS_JCXZ:
	case X86_INS_JECXZ:
	case X86_INS_JRCXZ:
	case X86_INS_XBEGIN:
		return true;
	default:
		break;
	}
	return insn_in_group(insn, X86_GRP_JUMP) || insn_in_group(insn, X86_GRP_CALL) ||
	       insn_in_group(insn, X86_GRP_RET) || insn_in_group(insn, X86_GRP_BRANCH_RELATIVE) ||
	       insn_in_group(insn, X86_GRP_IRET);
}

/* Instructions never to probe, nor walk past. */
static bool is_forbidden(const cs_insn *insn)
{
	switch (insn->id) {
	case X86_INS_INT:
	case X86_INS_INT1:
	case X86_INS_INT3:
	case X86_INS_INTO:
	case X86_INS_UD0:
	case X86_INS_UD2:
	case X86_INS_UD2B:
	case X86_INS_HLT:
	case X86_INS_SYSCALL:
	case X86_INS_SYSENTER:
	case X86_INS_SYSEXIT:
	case X86_INS_SYSRET:
		return true;
	default:
		break;
	}
	return insn_in_group(insn, X86_GRP_INT) || insn_in_group(insn, X86_GRP_IRET) ||
	       insn_in_group(insn, X86_GRP_PRIVILEGE);
}

/*
 * Instructions whose full effect is their explicit operands plus what
 * cs_regs_access() reports. Anything else ends the walk (after it).
 */
static bool is_walkable(unsigned int id)
{
	switch (id) {
	case X86_INS_NOP:
	case X86_INS_ENDBR64:
	case X86_INS_ENDBR32:
	case X86_INS_TEST:
	case X86_INS_CMP:
	case X86_INS_MOV:
	case X86_INS_MOVABS:
	case X86_INS_MOVZX:
	case X86_INS_MOVSX:
	case X86_INS_MOVSXD:
	case X86_INS_LEA:
	case X86_INS_ADD:
	case X86_INS_SUB:
	case X86_INS_AND:
	case X86_INS_OR:
	case X86_INS_XOR:
	case X86_INS_INC:
	case X86_INS_DEC:
	case X86_INS_NEG:
	case X86_INS_NOT:
	case X86_INS_SHL:
	case X86_INS_SAL:
	case X86_INS_SHR:
	case X86_INS_SAR:
	case X86_INS_ROL:
	case X86_INS_ROR:
	case X86_INS_BT:
	case X86_INS_CDQE:
	case X86_INS_CMOVA:
	case X86_INS_CMOVAE:
	case X86_INS_CMOVB:
	case X86_INS_CMOVBE:
	case X86_INS_CMOVE:
	case X86_INS_CMOVG:
	case X86_INS_CMOVGE:
	case X86_INS_CMOVL:
	case X86_INS_CMOVLE:
	case X86_INS_CMOVNE:
	case X86_INS_CMOVNO:
	case X86_INS_CMOVNP:
	case X86_INS_CMOVNS:
	case X86_INS_CMOVO:
	case X86_INS_CMOVP:
	case X86_INS_CMOVS:
	case X86_INS_SETA:
	case X86_INS_SETAE:
	case X86_INS_SETB:
	case X86_INS_SETBE:
	case X86_INS_SETE:
	case X86_INS_SETG:
	case X86_INS_SETGE:
	case X86_INS_SETL:
	case X86_INS_SETLE:
	case X86_INS_SETNE:
	case X86_INS_SETNO:
	case X86_INS_SETNP:
	case X86_INS_SETNS:
	case X86_INS_SETO:
	case X86_INS_SETP:
	case X86_INS_SETS:
		return true;
	default:
		return false;
	}
}

/* rsp and the argument registers, any width. */
static bool is_guarded_reg(unsigned int r)
{
	switch (r) {
	case X86_REG_RSP: case X86_REG_ESP: case X86_REG_SP: case X86_REG_SPL:
	case X86_REG_RDI: case X86_REG_EDI: case X86_REG_DI: case X86_REG_DIL:
	case X86_REG_RSI: case X86_REG_ESI: case X86_REG_SI: case X86_REG_SIL:
	case X86_REG_RDX: case X86_REG_EDX: case X86_REG_DX: case X86_REG_DL: case X86_REG_DH:
	case X86_REG_RCX: case X86_REG_ECX: case X86_REG_CX: case X86_REG_CL: case X86_REG_CH:
		return true;
	default:
		return false;
	}
}

static bool writes_guarded(csh h, const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;
	cs_regs rd, wr;
	uint8_t nrd = 0, nwr = 0, i;

	if (cs_regs_access(h, insn, rd, &nrd, wr, &nwr) != CS_ERR_OK)
		return true;
	for (i = 0; i < nwr; i++)
		if (is_guarded_reg(wr[i]))
			return true;
	for (i = 0; i < x->op_count; i++)
		if (x->operands[i].type == X86_OP_REG && (x->operands[i].access & CS_AC_WRITE) &&
		    is_guarded_reg(x->operands[i].reg))
			return true;
	return false;
}

static bool writes_memory(const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;
	uint8_t i;

	for (i = 0; i < x->op_count; i++)
		if (x->operands[i].type == X86_OP_MEM && (x->operands[i].access & CS_AC_WRITE))
			return true;
	return false;
}

static bool is_push_reg(const uint8_t *c, size_t n)
{
	if (n == 1)
		return c[0] >= 0x50 && c[0] <= 0x57;
	/* the kernel takes exactly one REX prefix, 0x41 (r8..r15) */
	return n == 2 && c[0] == 0x41 && c[1] >= 0x50 && c[1] <= 0x57;
}

/* jmp/jcc/call with a rel8/rel32 immediate, as branch_setup_xol_ops() takes them. */
static bool is_emulated_branch(const uint8_t *c, size_t n)
{
	size_t p = 0;

	/* bnd (f2) and branch hint (2e, 3e) prefixes; never 66 */
	while (p < n && (c[p] == 0xf2 || c[p] == 0x2e || c[p] == 0x3e))
		p++;
	if (p >= n)
		return false;
	switch (c[p]) {
	case 0xeb:
		return n - p == 2;
	case 0xe8:
	case 0xe9:
		return n - p == 5;
	case 0x0f:
		return n - p == 6 && c[p + 1] >= 0x80 && c[p + 1] <= 0x8f;
	default:
		return c[p] >= 0x70 && c[p] <= 0x7f && n - p == 2;
	}
}

static bool is_emulated(const cs_insn *insn)
{
	const uint8_t *c = insn->bytes;
	size_t n = insn->size;

	if (n == 1 && c[0] == 0x90)
		return true;
	return is_push_reg(c, n) || is_emulated_branch(c, n);
}

/* Lowest direct branch target in (0, len), or len if none. */
static size_t lowest_branch_target(csh h, const uint8_t *code, size_t len, cs_insn *insn)
{
	size_t lowest = len, pos = 0;

	while (pos < len) {
		const uint8_t *p = code + pos;
		size_t left = len - pos;
		uint64_t addr = pos;
		const cs_x86 *x;
		uint8_t i;

		if (!cs_disasm_iter(h, &p, &left, &addr, insn)) {
			pos++;		/* resync after a byte capstone rejects */
			continue;
		}
		pos = (size_t)addr;
		if (!is_branch(insn))
			continue;
		x = &insn->detail->x86;
		for (i = 0; i < x->op_count; i++) {
			uint64_t t = (uint64_t)x->operands[i].imm;

			if (x->operands[i].type != X86_OP_IMM)
				continue;
			if (t > 0 && t < lowest)
				lowest = (size_t)t;
		}
	}
	return lowest;
}

static void describe(csh h, const cs_insn *insn, bool emulated, struct cand *c)
{
	const cs_x86 *x = &insn->detail->x86;
	const char *name = cs_insn_name(h, insn->id);

	if (!name)
		name = insn->mnemonic;
	if (insn->id == X86_INS_PUSH && x->op_count == 1 && x->operands[0].type == X86_OP_REG)
		snprintf(c->why, sizeof(c->why), "push %%%s at +0x%x (%s)",
			 cs_reg_name(h, x->operands[0].reg), c->off,
			 emulated ? "emulated" : "single-stepped");
	else
		snprintf(c->why, sizeof(c->why), "%s at +0x%x (%s)", name, c->off,
			 emulated ? "emulated" : "single-stepped");
}

/* Walk from the entry; returns the number of candidates, *stop says why it ended. */
static int walk(csh h, const uint8_t *code, size_t len, size_t limit, cs_insn *insn,
		struct cand *cands, int max, const char **stop)
{
	size_t off = 0;
	int n = 0, steps;

	*stop = "end of code";
	for (steps = 0; steps < WALK_MAX_INSNS && n < max; steps++) {
		const uint8_t *p = code + off;
		size_t left = len - off;
		uint64_t addr = off;
		struct cand *c;
		bool emu, barrier;

		if (off >= len)
			return n;
		if (off > 0 && off >= limit) {
			*stop = "branch target";
			return n;
		}
		if (!cs_disasm_iter(h, &p, &left, &addr, insn)) {
			if (is_endbr(code + off, len - off)) {
				/* a capstone without endbr64: it is a hint nop */
				c = &cands[n++];
				c->off = (uint32_t)off;
				c->emulated = false;
				snprintf(c->why, sizeof(c->why), "endbr64 at +0x%x (single-stepped)",
					 c->off);
				off += 4;
				continue;
			}
			*stop = "undecodable";
			return n;
		}
		if (is_forbidden(insn)) {
			*stop = "trapping instruction";
			return n;
		}
		emu = is_emulated(insn);
		/* a barrier is a candidate itself, but nothing after it is */
		barrier = is_branch(insn) || insn->id == X86_INS_PUSH || !is_walkable(insn->id) ||
			  insn->detail->x86.prefix[0] == X86_PREFIX_LOCK ||
			  writes_guarded(h, insn) || writes_memory(insn);

		c = &cands[n++];
		c->off = (uint32_t)off;
		c->emulated = emu;
		describe(h, insn, emu, c);
		if (barrier) {
			*stop = "barrier";
			return n;
		}
		off = (size_t)addr;
	}
	return n;
}

int probe_choose(const uint8_t *code, size_t len, struct probe_choice *pc)
{
	struct cand cands[PROBEOFF_MAX * 2];
	const char *stop = "no code";
	cs_insn *insn = NULL;
	size_t limit;
	csh h = 0;
	int n = 0, i;

	if (!pc || (!code && len))
		return -EINVAL;
	memset(pc, 0, sizeof(*pc));
	if (len > UINT32_MAX)
		len = UINT32_MAX;

	if (len) {
		if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK) {
			stop = "capstone unavailable";
			goto fallback;
		}
		if (cs_option(h, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK ||
		    !(insn = cs_malloc(h))) {
			stop = "capstone unavailable";
			goto fallback;
		}
		limit = lowest_branch_target(h, code, len, insn);
		n = walk(h, code, len, limit, insn, cands, (int)(sizeof(cands) / sizeof(cands[0])),
			 &stop);
	}

fallback:
	if (!n) {
		/* offset 0 is always safe: nothing has run yet */
		cands[0].off = 0;
		cands[0].emulated = false;
		snprintf(cands[0].why, sizeof(cands[0].why), "+0x0 (single-stepped: %s)", stop);
		n = 1;
	}
	/* The walk starts at 0 and goes up: cands[] is in address order, cands[0] is +0. */

	/* Emulated ones first, in address order (the walk is in address order). */
	for (i = 0; i < n && pc->n < PROBEOFF_MAX; i++) {
		if (!cands[i].emulated)
			continue;
		/* keep the last slot for offset 0 when it is not emulated */
		if (pc->n == PROBEOFF_MAX - 1 && !cands[0].emulated)
			break;
		pc->off[pc->n] = cands[i].off;
		pc->emulated[pc->n] = true;
		memcpy(pc->why[pc->n], cands[i].why, sizeof(pc->why[0]));
		pc->n++;
	}
	/* Then the single-stepped ones, offset 0 (cands[0]) first. */
	for (i = 0; i < n && pc->n < PROBEOFF_MAX; i++) {
		if (cands[i].emulated)
			continue;
		pc->off[pc->n] = cands[i].off;
		pc->emulated[pc->n] = false;
		memcpy(pc->why[pc->n], cands[i].why, sizeof(pc->why[0]));
		pc->n++;
	}

	if (insn)
		cs_free(insn, 1);
	if (h)
		cs_close(&h);
	return 0;
}

int probe_is_tail_jump(const uint8_t *code, size_t len, uint64_t func_vaddr, uint64_t *target)
{
	size_t p = 0;

	if (!code || !target)
		return 0;
	if (is_endbr(code, len))
		p = 4;
	if (p + 2 <= len && code[p] == 0xeb) {
		*target = func_vaddr + p + 2 + (int64_t)(int8_t)code[p + 1];
		return 1;
	}
	if (p + 5 <= len && code[p] == 0xe9) {
		int32_t rel;

		memcpy(&rel, code + p + 1, sizeof(rel));
		*target = func_vaddr + p + 5 + (int64_t)rel;
		return 1;
	}
	return 0;
}
