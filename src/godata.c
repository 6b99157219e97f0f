// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A Go executable's runtime data symbols (see gobin.h): from .symtab when
 * it has one, else from the code of small runtime functions that use
 * them, disassembled with capstone (their RIP-relative references). Also
 * the code scan golayout.c takes the memstats stride from.
 */
#include <capstone/capstone.h>

#include "gobin_priv.h"

#define MAX_CODE_SCAN	16384	/* bytes of one function disassembled */
#define MAX_REFS	64

static const char *const sym_names[GOBIN_SYM__MAX] = {
	[GOBIN_SYM_ALLGS] = "runtime.allgs",
	[GOBIN_SYM_ALLGLEN] = "runtime.allglen",
	[GOBIN_SYM_ALLGPTR] = "runtime.allgptr",
	[GOBIN_SYM_ALLP] = "runtime.allp",
	[GOBIN_SYM_MBUCKETS] = "runtime.mbuckets",
	[GOBIN_SYM_MPROFCYCLE] = "runtime.mProfCycle",
	[GOBIN_SYM_MEMPROFILERATE] = "runtime.MemProfileRate",
	[GOBIN_SYM_BUCKHASH] = "runtime.buckhash",
	[GOBIN_SYM_BUILDVERSION] = "runtime.buildVersion",
	[GOBIN_SYM_WAITREASONSTRINGS] = "runtime.waitReasonStrings",
	[GOBIN_SYM_FIRSTMODULEDATA] = "runtime.firstmoduledata",
	[GOBIN_SYM_FINGRUNNING] = "runtime.fingRunning",
	[GOBIN_SYM_MEMSTATS] = "runtime.memstats",
	[GOBIN_SYM_DISABLEMEMPROF] = "runtime.disableMemoryProfiling",
};

const char *gobin__sym_name(enum gobin_sym which)
{
	return (unsigned)which < GOBIN_SYM__MAX ? sym_names[which] : NULL;
}

/*
 * RIP-relative data references of function NAME, in code order, distinct,
 * only those into writable segments (variables). Also the first immediate
 * of a cmp (for the waitReasonStrings bound). Returns the count or -errno.
 */
static int code_refs(struct gobin *g, const char *name, uint64_t *refs, int max, int64_t *first_cmp)
{
	uint64_t entry, end, addr;
	const uint8_t *code;
	size_t len;
	cs_insn *insn;
	csh h;
	int n = 0;

	if (first_cmp)
		*first_cmp = -1;
	if (gobin__func_lookup(g, name, &entry, &end))
		return -ENOENT;
	len = end - entry > MAX_CODE_SCAN ? MAX_CODE_SCAN : end - entry;
	code = vaddr_file(g, entry, len);
	if (!code)
		return -EINVAL;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return -ENOTSUP;
	if (cs_option(h, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK || !(insn = cs_malloc(h))) {
		cs_close(&h);
		return -ENOMEM;
	}
	addr = entry;
	while (addr < entry + len && n < max) {
		const uint8_t *p = code + (addr - entry);
		size_t left = entry + len - addr;
		uint64_t a = addr;
		const cs_x86 *x;

		if (!cs_disasm_iter(h, &p, &left, &a, insn)) {
			addr++;
			continue;
		}
		x = &insn->detail->x86;
		for (int i = 0; i < x->op_count && n < max; i++) {
			const cs_x86_op *op = &x->operands[i];
			uint64_t t;
			bool dup = false;

			if (first_cmp && *first_cmp < 0 && insn->id == X86_INS_CMP &&
			    op->type == X86_OP_IMM)
				*first_cmp = op->imm;
			if (op->type != X86_OP_MEM || op->mem.base != X86_REG_RIP ||
			    op->mem.index != X86_REG_INVALID)
				continue;
			t = a + (uint64_t)op->mem.disp;
			if (!is_writable(g, t))
				continue;
			for (int k = 0; k < n; k++)
				dup |= refs[k] == t;
			if (!dup)
				refs[n++] = t;
		}
		addr = a;
	}
	cs_free(insn, 1);
	cs_close(&h);
	return n;
}

/* Does function NAME multiply by the immediate IMM (imul r, r/m, imm)? */
bool gobin_code_has_imul(struct gobin *g, const char *name, int64_t imm)
{
	uint64_t entry, end, addr;
	const uint8_t *code;
	size_t len;
	cs_insn *insn;
	bool found = false;
	csh h;

	if (gobin__func_lookup(g, name, &entry, &end))
		return false;
	len = end - entry > MAX_CODE_SCAN ? MAX_CODE_SCAN : end - entry;
	code = vaddr_file(g, entry, len);
	if (!code || cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return false;
	if (cs_option(h, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK || !(insn = cs_malloc(h))) {
		cs_close(&h);
		return false;
	}
	addr = entry;
	while (addr < entry + len && !found) {
		const uint8_t *p = code + (addr - entry);
		size_t left = entry + len - addr;
		uint64_t a = addr;
		const cs_x86 *x;

		if (!cs_disasm_iter(h, &p, &left, &a, insn)) {
			addr++;
			continue;
		}
		x = &insn->detail->x86;
		if (insn->id == X86_INS_IMUL)
			for (int i = 0; i < x->op_count; i++)
				if (x->operands[i].type == X86_OP_IMM && x->operands[i].imm == imm)
					found = true;
		addr = a;
	}
	cs_free(insn, 1);
	cs_close(&h);
	return found;
}

static bool has_ref(const uint64_t *refs, int n, uint64_t v)
{
	for (int i = 0; i < n; i++)
		if (refs[i] == v)
			return true;
	return false;
}

/* First reference X that is a slice: X+8 (and X+16 when NEED_CAP) referenced too. */
static int slice_ref(const uint64_t *refs, int n, bool need_cap, uint64_t *out)
{
	for (int i = 0; i < n; i++)
		if (has_ref(refs, n, refs[i] + 8) && (!need_cap || has_ref(refs, n, refs[i] + 16))) {
			*out = refs[i];
			return 0;
		}
	return -ENOENT;
}

/*
 * runtime.memstats from the references of runtime.gcMarkTermination, which
 * writes memstats.last_gc_unix, pause_ns[], pause_end[], numgc and
 * pause_total_ns (go1.19.8: memstats+3592, +3608 (lea), +5656 (lea),
 * +7704, +3600). With the table's offsets of those fields, every reference
 * votes for base = ref - offset; the base that at least three distinct
 * fields agree on wins. goproc checks it on live memory
 * (pause_end[(numgc-1) % 256] == last_gc_unix).
 */
static int find_memstats(struct gobin *g, uint64_t *out)
{
	struct go_mstats_layout L;
	uint64_t refs[256], best = 0;
	int n, offs[5], best_votes = 0;

	if (gobin__mstats_layout(g, &L))
		return -ENOENT;
	offs[0] = L.last_gc_unix;
	offs[1] = L.pause_total_ns;
	offs[2] = L.pause_ns;
	offs[3] = L.pause_end;
	offs[4] = L.numgc;
	n = code_refs(g, "runtime.gcMarkTermination", refs, 256, NULL);
	if (n <= 0)
		return n < 0 ? n : -ENOENT;
	for (int i = 0; i < n; i++) {
		for (int f = 0; f < 5; f++) {
			uint64_t base = refs[i] - (uint64_t)offs[f];
			int votes = 0;

			for (int k = 0; k < 5; k++)
				votes += has_ref(refs, n, base + (uint64_t)offs[k]);
			if (votes > best_votes) {
				best_votes = votes;
				best = base;
			}
		}
	}
	if (best_votes < 3)
		return -ENOENT;
	*out = best;
	return 0;
}

static int find_code_sym(struct gobin *g, enum gobin_sym which, uint64_t *out)
{
	uint64_t refs[MAX_REFS], v;
	int64_t bound = -1;
	int n;

	switch (which) {
	case GOBIN_SYM_ALLGLEN:
	case GOBIN_SYM_ALLGPTR:
		/* atomicAllG(): allglen, then allgptr */
		n = code_refs(g, "runtime.forEachGRace", refs, MAX_REFS, NULL);
		if (n < 2 || refs[0] == refs[1])
			return n < 0 ? n : -ENOENT;
		*out = refs[which == GOBIN_SYM_ALLGLEN ? 0 : 1];
		return 0;
	case GOBIN_SYM_ALLGS:
		n = code_refs(g, "runtime.allgadd", refs, MAX_REFS, NULL);
		return n < 0 ? n : slice_ref(refs, n, true, out);
	case GOBIN_SYM_ALLP:
		n = code_refs(g, "runtime.gcMarkTinyAllocs", refs, MAX_REFS, NULL);
		if (n > 0 && slice_ref(refs, n, false, out) == 0)
			return 0;
		return n < 0 ? n : -ENOENT;
	case GOBIN_SYM_MBUCKETS:
		n = code_refs(g, "runtime.mProf_FlushLocked", refs, MAX_REFS, NULL);
		break;
	case GOBIN_SYM_MPROFCYCLE:
		n = code_refs(g, "runtime.mProf_Flush", refs, MAX_REFS, NULL);
		break;
	case GOBIN_SYM_BUCKHASH:
		n = code_refs(g, "runtime.stkbucket", refs, MAX_REFS, NULL);
		break;
	case GOBIN_SYM_FINGRUNNING:
		n = code_refs(g, "runtime.isSystemGoroutine", refs, MAX_REFS, NULL);
		break;
	case GOBIN_SYM_MEMPROFILERATE:
		/*
		 * The reference whose initial value is 512 KiB when the file
		 * has one; else the second (go1.19.8 and go1.26.5: mcache0,
		 * then MemProfileRate; in 1.19 it is initialized at run time,
		 * in .noptrbss).
		 */
		n = code_refs(g, "runtime.profilealloc", refs, MAX_REFS, NULL);
		for (int i = 0; i < n; i++)
			if (!gobin__read_ptr(g, refs[i], &v) && v == 512 * 1024) {
				*out = refs[i];
				return 0;
			}
		if (n >= 2 && !vaddr_file(g, refs[1], 8)) {
			*out = refs[1];
			return 0;
		}
		return n < 0 ? n : -ENOENT;
	case GOBIN_SYM_MEMSTATS:
		return find_memstats(g, out);
	case GOBIN_SYM_WAITREASONSTRINGS:
		n = code_refs(g, "runtime.waitReason.String", refs, MAX_REFS, &bound);
		if (n > 0 && bound > 0 && bound < 256)
			g->wr_count = (int)bound;
		break;
	default:
		return -ENOENT;
	}
	if (n <= 0)
		return n < 0 ? n : -ENOENT;
	*out = refs[0];
	return 0;
}

int gobin__data_sym_code(struct gobin *g, enum gobin_sym which, uint64_t *vaddr)
{
	if (!g || !vaddr || (unsigned)which >= GOBIN_SYM__MAX)
		return -EINVAL;
	return find_code_sym(g, which, vaddr);
}

int gobin__data_sym(struct gobin *g, enum gobin_sym which, uint64_t *vaddr)
{
	uint64_t v, size = 0;
	int err;

	if (!g || !vaddr || (unsigned)which >= GOBIN_SYM__MAX)
		return -EINVAL;
	if (g->sym_state[which] == 1) {
		*vaddr = g->sym[which];
		return 0;
	}
	if (g->sym_state[which] == 2)
		return -ENOENT;
	if (gobin_symtab_lookup(g, sym_names[which], &v, &size) ||
	    (which == GOBIN_SYM_FINGRUNNING &&
	     gobin_symtab_lookup(g, "runtime.fingStatus", &v, &size))) {
		g->sym_src[which] = "symtab";
		if (which == GOBIN_SYM_WAITREASONSTRINGS && size / 16 && size / 16 < 256)
			g->wr_count = (int)(size / 16);
	} else {
		err = find_code_sym(g, which, &v);
		if (err) {
			g->sym_state[which] = 2;
			return err;
		}
		g->sym_src[which] = "code";
	}
	if (!seg_of(g, v)) {
		g->sym_state[which] = 2;
		return -ENOENT;
	}
	g->sym[which] = v;
	g->sym_state[which] = 1;
	*vaddr = v;
	return 0;
}

const char *gobin__data_sym_source(struct gobin *g, enum gobin_sym which)
{
	uint64_t v;

	if (!g || (unsigned)which >= GOBIN_SYM__MAX || gobin__data_sym(g, which, &v))
		return NULL;
	return g->sym_src[which];
}

int gobin__waitreason_count(struct gobin *g)
{
	uint64_t v;

	if (!g)
		return 0;
	if (!g->wr_count) {
		gobin__data_sym(g, GOBIN_SYM_WAITREASONSTRINGS, &v);
		if (!g->wr_count) {	/* the symbol said nothing: take the code's bound */
			uint64_t refs[MAX_REFS];
			int64_t bound = -1;

			code_refs(g, "runtime.waitReason.String", refs, MAX_REFS, &bound);
			if (bound > 0 && bound < 256)
				g->wr_count = (int)bound;
		}
	}
	return g->wr_count;
}
