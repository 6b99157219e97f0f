// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --inject's detours: the whole instructions a `jmp rel32` at a function's
 * entry displaces, relocated into a trampoline that ends in a jump back.
 * Relative branches are re-targeted (as rel32), RIP-relative operands
 * re-based; what cannot move is refused with a reason. Pure code (capstone).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <capstone/capstone.h>
#include "inject.h"

static bool fits32(int64_t v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

static void put32(uint8_t *p, int32_t v)
{
	memcpy(p, &v, 4);
}

static bool is_branch_group(const cs_insn *in, int group)
{
	for (int i = 0; i < in->detail->groups_count; i++)
		if (in->detail->groups[i] == group)
			return true;
	return false;
}

/* The target of a direct relative branch, or 0. */
static uint64_t rel_target(const cs_insn *in)
{
	const cs_x86 *x = &in->detail->x86;

	if (!is_branch_group(in, CS_GRP_JUMP) && !is_branch_group(in, CS_GRP_CALL))
		return 0;
	if (x->op_count == 1 && x->operands[0].type == X86_OP_IMM)
		return (uint64_t)x->operands[0].imm;
	return 0;
}

static int refuse(char *why, size_t wlen, const char *fmt, const cs_insn *in, uint64_t entry)
{
	snprintf(why, wlen, fmt, in->mnemonic, in->op_str, (unsigned long long)(in->address - entry));
	return -EINVAL;
}

/* Relocate one displaced instruction to AT in the trampoline. Bytes written, or -EINVAL. */
static int relocate(const cs_insn *in, uint64_t at, uint8_t *out, size_t room, uint64_t entry,
		    char *why, size_t wlen)
{
	const cs_x86 *x = &in->detail->x86;
	uint64_t target = rel_target(in);

	switch (in->id) {
	case X86_INS_RET: case X86_INS_RETF: case X86_INS_LOOP: case X86_INS_LOOPE: case X86_INS_LOOPNE:
	case X86_INS_JRCXZ: case X86_INS_JECXZ: case X86_INS_XBEGIN: case X86_INS_INT3: case X86_INS_INT:
	case X86_INS_UD2:
		return refuse(why, wlen, "%s %s at +%llu cannot be moved", in, entry);
	default:
		break;
	}
	if ((is_branch_group(in, CS_GRP_JUMP) || is_branch_group(in, CS_GRP_CALL)) && !target)
		return refuse(why, wlen, "an indirect branch (%s %s) at +%llu", in, entry);
	if (target) {
		int n = in->id == X86_INS_JMP ? 5 : in->id == X86_INS_CALL ? 5 : 6;
		int64_t rel = (int64_t)(target - (at + n));

		if ((size_t)n > room)
			return refuse(why, wlen, "no room to move %s %s at +%llu", in, entry);
		if (!fits32(rel))
			return refuse(why, wlen, "%s %s at +%llu: its target is out of rel32 reach", in, entry);
		if (in->id == X86_INS_JMP) {
			out[0] = 0xe9;
		} else if (in->id == X86_INS_CALL) {
			out[0] = 0xe8;
		} else {
			/* jcc: rel8 (7x) or rel32 (0f 8x); the condition is the low nibble */
			uint8_t op = in->bytes[0] == 0x0f ? in->bytes[1] : in->bytes[0];

			if ((op & 0xf0) != 0x70 && (op & 0xf0) != 0x80)
				return refuse(why, wlen, "%s %s at +%llu cannot be moved", in, entry);
			out[0] = 0x0f;
			out[1] = 0x80 | (op & 0x0f);
		}
		put32(out + n - 4, (int32_t)rel);
		return n;
	}
	if ((size_t)in->size > room)
		return refuse(why, wlen, "no room to move %s %s at +%llu", in, entry);
	memcpy(out, in->bytes, in->size);
	for (int i = 0; i < x->op_count; i++) {
		if (x->operands[i].type != X86_OP_MEM || x->operands[i].mem.base != X86_REG_RIP)
			continue;
		if (x->encoding.disp_offset == 0 || x->encoding.disp_size != 4)
			return refuse(why, wlen, "%s %s at +%llu: an odd RIP-relative encoding", in, entry);
		/* the same displacement from the new place: the target moves by (old - new) */
		int64_t disp = x->operands[i].mem.disp + (int64_t)(in->address - at);

		if (!fits32(disp))
			return refuse(why, wlen, "%s %s at +%llu: its RIP-relative operand is out of reach", in, entry);
		put32(out + x->encoding.disp_offset, (int32_t)disp);
	}
	return in->size;
}

int detour__plan(const uint8_t *code, size_t len, uint64_t entry, uint64_t tramp, struct detour *d,
		 char *why, size_t wlen)
{
	static const uint8_t endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };
	size_t skip = 0, off;
	uint64_t addr;
	csh h;
	cs_insn *in;
	int err = 0;

	memset(d, 0, sizeof(*d));
	if (len >= 4 && memcmp(code, endbr64, 4) == 0)
		skip = 4;
	if (len < skip + DETOUR_PATCH) {
		snprintf(why, wlen, "the function is shorter than a jmp");
		return -EINVAL;
	}
	if (code[skip] == 0xcc || code[skip] == 0xe9 || code[skip] == 0xeb) {
		snprintf(why, wlen, "its entry is not pristine (starts with %02x: a breakpoint or a jump)", code[skip]);
		return -EINVAL;
	}
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK) {
		snprintf(why, wlen, "capstone cannot start");
		return -EINVAL;
	}
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	in = cs_malloc(h);
	d->entry = entry;
	d->patch = entry + skip;
	/* the displaced instructions */
	{
		const uint8_t *p = code + skip;
		size_t left = len - skip;

		addr = d->patch;
		while (d->ndisp < DETOUR_PATCH) {
			int n;

			if (!cs_disasm_iter(h, &p, &left, &addr, in)) {
				snprintf(why, wlen, "cannot decode the instruction at +%llu",
					 (unsigned long long)(addr - entry));
				err = -EINVAL;
				goto out;
			}
			if (in->id == X86_INS_JMP && d->ndisp == 0) {
				snprintf(why, wlen, "it starts with a jump (%s %s)", in->mnemonic, in->op_str);
				err = -EINVAL;
				goto out;
			}
			n = relocate(in, tramp + d->ntramp, d->tramp + d->ntramp,
				     sizeof(d->tramp) - 14 - d->ntramp, entry, why, wlen);
			if (n < 0) {
				err = n;
				goto out;
			}
			d->ntramp += n;
			d->ndisp += in->size;
			if (d->ndisp < DETOUR_PATCH && (in->id == X86_INS_JMP || in->id == X86_INS_RET)) {
				snprintf(why, wlen, "the function ends (%s) within the bytes to patch", in->mnemonic);
				err = -EINVAL;
				goto out;
			}
		}
	}
	memcpy(d->orig, code + skip, d->ndisp);
	/* back: jmp *0(%rip); .quad patch + ndisp */
	{
		uint8_t *t = d->tramp + d->ntramp;
		uint64_t back = d->patch + d->ndisp;

		t[0] = 0xff;
		t[1] = 0x25;
		put32(t + 2, 0);
		memcpy(t + 6, &back, 8);
		d->ntramp += 14;
	}
	/* no branch of the function may land inside the displaced bytes (after their first) */
	off = 0;
	{
		const uint8_t *p = code;
		size_t left = len;

		addr = entry;
		while (left > 0) {
			uint64_t tg;

			if (!cs_disasm_iter(h, &p, &left, &addr, in)) {
				/* data or padding: resync one byte on */
				p++;
				left--;
				addr++;
				continue;
			}
			tg = rel_target(in);
			if (tg > d->patch && tg < d->patch + (uint64_t)d->ndisp) {
				snprintf(why, wlen, "a branch at +%llu (%s %s) lands inside the bytes to patch",
					 (unsigned long long)(in->address - entry), in->mnemonic, in->op_str);
				err = -EINVAL;
				goto out;
			}
			off++;
		}
	}
out:
	cs_free(in, 1);
	cs_close(&h);
	return err;
}

int detour__jump(const struct detour *d, uint64_t stub, uint8_t out[DETOUR_PATCH])
{
	int64_t rel = (int64_t)(stub - (d->patch + DETOUR_PATCH));

	if (!fits32(rel))
		return -ERANGE;
	out[0] = 0xe9;
	put32(out + 1, (int32_t)rel);
	return 0;
}
