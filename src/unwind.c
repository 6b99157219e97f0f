// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * .eh_frame -> unwind rows, through libdw. libdw runs the CFA programs
 * (dwarf_cfi_addrframe); this file only finds the FDEs, asks libdw for the
 * rule at each row, and reduces each rule to what the BPF unwinder does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <dwarf.h>
#include <gelf.h>
#include <elfutils/libdw.h>
#include "unwind.h"

#define REG_RBP	6
#define REG_RSP	7
#define REG_RA	16

struct fde {
	uint64_t lo, hi;
	bool signal;
};

struct cie_info {
	uint64_t off;
	uint8_t enc;		/* FDE pointer encoding (DW_EH_PE_*) */
	bool signal;		/* 'S': a signal trampoline */
};

/* Read one DW_EH_PE-encoded value at P; FIELD is its vaddr (for pcrel). 0 on failure. */
static bool read_enc(uint8_t enc, const uint8_t **p, const uint8_t *end, uint64_t field,
		     uint64_t *out)
{
	const uint8_t *q = *p;
	uint64_t v;
	size_t n;

	if (enc == DW_EH_PE_omit)
		return false;
	switch (enc & 0x0f) {
	case DW_EH_PE_absptr:
	case DW_EH_PE_udata8:
	case DW_EH_PE_sdata8:
		n = 8;
		break;
	case DW_EH_PE_udata4:
	case DW_EH_PE_sdata4:
		n = 4;
		break;
	case DW_EH_PE_udata2:
	case DW_EH_PE_sdata2:
		n = 2;
		break;
	default:
		return false;	/* uleb128/sleb128 never appear as FDE pointers in practice */
	}
	if ((size_t)(end - q) < n)
		return false;
	if (n == 8) {
		memcpy(&v, q, 8);
	} else if (n == 4) {
		uint32_t u;

		memcpy(&u, q, 4);
		v = (enc & 0x08) ? (uint64_t)(int64_t)(int32_t)u : u;
	} else {
		uint16_t u;

		memcpy(&u, q, 2);
		v = (enc & 0x08) ? (uint64_t)(int64_t)(int16_t)u : u;
	}
	switch (enc & 0x70) {
	case DW_EH_PE_absptr:
		break;
	case DW_EH_PE_pcrel:
		v += field;
		break;
	default:
		return false;	/* datarel/textrel/funcrel: not used for x86-64 FDEs */
	}
	*p = q + n;
	*out = v;
	return true;
}

/* The FDE encoding and 'S' flag of the CIE at OFF. */
static int cie_lookup(const unsigned char *ident, Elf_Data *data, bool eh, uint64_t off,
		      struct cie_info **cache, int *ncache, struct cie_info *out)
{
	Dwarf_CFI_Entry e;
	Dwarf_Off next;
	struct cie_info ci = { .off = off, .enc = DW_EH_PE_absptr };
	struct cie_info *nc;

	for (int i = 0; i < *ncache; i++) {
		if ((*cache)[i].off == off) {
			*out = (*cache)[i];
			return 0;
		}
	}
	if (dwarf_next_cfi(ident, data, eh, off, &next, &e) != 0 || !dwarf_cfi_cie_p(&e))
		return -EINVAL;
	if (e.cie.augmentation && e.cie.augmentation[0] == 'z') {
		const uint8_t *d = e.cie.augmentation_data;
		const uint8_t *dend = d ? d + e.cie.augmentation_data_size : NULL;

		for (const char *a = e.cie.augmentation + 1; *a && d; a++) {
			uint64_t skip;

			switch (*a) {
			case 'R':
				if (d >= dend)
					return -EINVAL;
				ci.enc = *d++;
				break;
			case 'L':
				d++;
				break;
			case 'P':
				if (d >= dend)
					return -EINVAL;
				{
					uint8_t penc = *d++;

					if (!read_enc(penc & 0x7f, &d, dend, 0, &skip))
						return -EINVAL;
				}
				break;
			case 'S':
				ci.signal = true;
				break;
			default:
				break;	/* 'B' and friends carry no data we use */
			}
		}
	}
	nc = realloc(*cache, (*ncache + 1) * sizeof(*nc));
	if (!nc)
		return -ENOMEM;
	*cache = nc;
	nc[(*ncache)++] = ci;
	*out = ci;
	return 0;
}

static int fde_cmp(const void *a, const void *b)
{
	const struct fde *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Every FDE's [lo, hi), sorted. */
static int list_fdes(Elf *elf, Elf_Data *data, uint64_t sec_addr, bool eh, struct fde **out, int *nout)
{
	const unsigned char *ident = (const unsigned char *)elf_getident(elf, NULL);
	struct cie_info *cies = NULL;
	struct fde *f = NULL;
	int ncies = 0, n = 0, cap = 0, err = 0;
	Dwarf_Off off = 0, next;

	if (!ident)
		return -EINVAL;
	for (;;) {
		Dwarf_CFI_Entry e;
		struct cie_info ci;
		const uint8_t *p;
		uint64_t lo, len;
		int r = dwarf_next_cfi(ident, data, eh, off, &next, &e);

		if (r != 0)
			break;	/* 1: the end; -1: a malformed tail, keep what came before */
		off = next;
		if (dwarf_cfi_cie_p(&e))
			continue;
		if (cie_lookup(ident, data, eh, e.fde.CIE_pointer, &cies, &ncies, &ci))
			continue;
		p = e.fde.start;
		if (!read_enc(ci.enc, &p, e.fde.end, sec_addr + (uint64_t)(p - (const uint8_t *)data->d_buf), &lo) ||
		    !read_enc(ci.enc & 0x0f, &p, e.fde.end, 0, &len))
			continue;
		if (!lo || !len)
			continue;	/* discarded section */
		if (n == cap) {
			struct fde *nf;

			cap = cap ? cap * 2 : 1024;
			nf = realloc(f, cap * sizeof(*nf));
			if (!nf) {
				err = -ENOMEM;
				break;
			}
			f = nf;
		}
		f[n].lo = lo;
		f[n].hi = lo + len;
		f[n].signal = ci.signal;
		n++;
	}
	free(cies);
	if (err) {
		free(f);
		return err;
	}
	qsort(f, n, sizeof(*f), fde_cmp);
	*out = f;
	*nout = n;
	return 0;
}

/* cfa + K for an expression [DW_OP_call_frame_cfa, (const K, plus | plus_uconst K)]. */
static bool cfa_plus(const Dwarf_Op *ops, size_t nops, int64_t *k)
{
	if (nops < 1 || ops[0].atom != DW_OP_call_frame_cfa)
		return false;
	if (nops == 1) {
		*k = 0;
		return true;
	}
	if (nops == 2 && ops[1].atom == DW_OP_plus_uconst) {
		*k = (int64_t)ops[1].number;
		return true;
	}
	if (nops == 3 && ops[2].atom == DW_OP_plus &&
	    (ops[1].atom == DW_OP_consts || ops[1].atom == DW_OP_constu ||
	     (ops[1].atom >= DW_OP_const1u && ops[1].atom <= DW_OP_const8s))) {
		*k = (int64_t)ops[1].number;
		return true;
	}
	if (nops == 3 && ops[2].atom == DW_OP_minus && ops[1].atom == DW_OP_constu) {
		*k = -(int64_t)ops[1].number;
		return true;
	}
	return false;
}

/* DW_OP_bregN / DW_OP_bregx: register + offset (libdw gives def_cfa as bregx). */
static bool breg(const Dwarf_Op *op, int *reg, int64_t *off)
{
	if (op->atom >= DW_OP_breg0 && op->atom <= DW_OP_breg31) {
		*reg = op->atom - DW_OP_breg0;
		*off = (int64_t)op->number;
		return true;
	}
	if (op->atom == DW_OP_bregx) {
		*reg = (int)op->number;
		*off = (int64_t)op->number2;
		return true;
	}
	return false;
}

/* binutils' .plt CFA: rsp + N + ((rip & 15) >= K) << 3. */
static bool plt_expr(const Dwarf_Op *ops, size_t nops, int32_t *n, int16_t *k)
{
	if (nops != 9 || ops[0].atom != DW_OP_breg7 || ops[1].atom != DW_OP_breg16 ||
	    ops[2].atom != DW_OP_lit15 || ops[3].atom != DW_OP_and ||
	    ops[4].atom < DW_OP_lit0 || ops[4].atom > DW_OP_lit31 || ops[5].atom != DW_OP_ge ||
	    ops[6].atom != DW_OP_lit3 || ops[7].atom != DW_OP_shl || ops[8].atom != DW_OP_plus)
		return false;
	*n = (int32_t)ops[0].number;
	*k = (int16_t)(ops[4].atom - DW_OP_lit0);
	return true;
}

/* Reduce libdw's rule at one row to an lt_urow (pc left to the caller). */
static void classify(Dwarf_Frame *fr, bool signal, struct lt_urow *r)
{
	Dwarf_Op mem[3], *ops = NULL;
	size_t nops = 0;
	int64_t k;
	int reg;

	memset(r, 0, sizeof(*r));
	if (signal) {
		r->cfa = LT_UW_SIGNAL;
		return;
	}
	/* the return address */
	if (dwarf_frame_register(fr, REG_RA, mem, &ops, &nops) != 0) {
		r->cfa = LT_UW_BAD;
		return;
	}
	if (nops == 0 && ops) {
		r->cfa = LT_UW_END;	/* undefined: _start, clone3's child */
		return;
	}
	if (!cfa_plus(ops, nops, &k) || k != -8) {
		r->cfa = LT_UW_BAD;
		return;
	}
	/* the CFA */
	if (dwarf_frame_cfa(fr, &ops, &nops) != 0 || nops == 0) {
		r->cfa = LT_UW_BAD;
		return;
	}
	if (nops == 1 && breg(&ops[0], &reg, &k) && (reg == REG_RSP || reg == REG_RBP) &&
	    k == (int32_t)k) {
		r->cfa = reg == REG_RSP ? LT_UW_RSP : LT_UW_RBP;
		r->cfa_off = (int32_t)k;
	} else if (plt_expr(ops, nops, &r->cfa_off, &r->rbp_off)) {
		r->cfa = LT_UW_PLT;
		return;	/* rbp untouched in a PLT stub */
	} else {
		r->cfa = LT_UW_BAD;
		return;
	}
	/* the caller's rbp */
	ops = NULL;
	nops = 0;
	if (dwarf_frame_register(fr, REG_RBP, mem, &ops, &nops) != 0) {
		r->rbp = LT_UW_RBP_LOST;
	} else if (nops == 0) {
		r->rbp = ops ? LT_UW_RBP_LOST : LT_UW_RBP_SAME;
	} else if (cfa_plus(ops, nops, &k) && k >= INT16_MIN && k <= INT16_MAX) {
		r->rbp = LT_UW_RBP_SAVED;
		r->rbp_off = (int16_t)k;
	} else {
		r->rbp = LT_UW_RBP_LOST;
	}
}

static bool same_rule(const struct lt_urow *a, const struct lt_urow *b)
{
	return a->cfa == b->cfa && a->cfa_off == b->cfa_off && a->rbp == b->rbp &&
	       a->rbp_off == b->rbp_off;
}

struct rowbuf {
	struct lt_urow *r;
	uint32_t n, cap;
};

/* Append a row at module-relative PC, merged into the previous one when the rule is the same. */
static int push_row(struct rowbuf *b, uint64_t pc, const struct lt_urow *rule)
{
	struct lt_urow *r;

	if (b->n && same_rule(&b->r[b->n - 1], rule))
		return 0;
	if (b->n && b->r[b->n - 1].pc == pc) {
		b->r[b->n - 1] = *rule;	/* an empty range: the later rule wins */
		b->r[b->n - 1].pc = (uint32_t)pc;
		if (b->n > 1 && same_rule(&b->r[b->n - 2], rule))
			b->n--;
		return 0;
	}
	if (b->n == b->cap) {
		uint32_t nc = b->cap ? b->cap * 2 : 4096;

		r = realloc(b->r, nc * sizeof(*r));
		if (!r)
			return -ENOMEM;
		b->r = r;
		b->cap = nc;
	}
	r = &b->r[b->n++];
	*r = *rule;
	r->pc = (uint32_t)pc;
	return 0;
}

/* The rows of one FDE [lo, hi), clipped to the text. */
static int fde_rows(Dwarf_CFI *cfi, const struct fde *f, struct unwind_table *ut, struct rowbuf *b)
{
	uint64_t addr = f->lo;
	bool fp = false;
	int err;

	while (addr < f->hi) {
		Dwarf_Frame *fr = NULL;
		Dwarf_Addr start, end;
		bool sig = false;
		struct lt_urow row;

		if (dwarf_cfi_addrframe(cfi, addr, &fr) != 0 || !fr) {
			memset(&row, 0, sizeof(row));
			row.cfa = LT_UW_BAD;
			ut->nbad++;
			err = push_row(b, addr - ut->vaddr_lo, &row);
			if (err)
				return err;
			break;	/* the rest of this FDE stays BAD up to the next row */
		}
		dwarf_frame_info(fr, &start, &end, &sig);
		classify(fr, sig || f->signal, &row);
		free(fr);
		if (row.cfa == LT_UW_BAD)
			ut->nbad++;
		if (row.cfa == LT_UW_RBP)
			fp = true;
		err = push_row(b, addr - ut->vaddr_lo, &row);
		if (err)
			return err;
		if (end <= addr || end > f->hi)
			break;
		addr = end;
	}
	if (fp)
		ut->nfde_fp++;
	return 0;
}

static Elf_Scn *find_section(Elf *elf, const char *name, GElf_Shdr *sh)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, sh) || sh->sh_type == SHT_NOBITS)
			continue;
		n = elf_strptr(elf, shstrndx, sh->sh_name);
		if (n && strcmp(n, name) == 0)
			return scn;
	}
	return NULL;
}

/* The executable PT_LOADs' vaddr range. */
static int text_range(Elf *elf, struct unwind_table *ut, uint64_t *lo, uint64_t *hi)
{
	size_t n;

	*lo = UINT64_MAX;
	*hi = 0;
	if (elf_getphdrnum(elf, &n) != 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (ut->nseg < (int)(sizeof(ut->seg) / sizeof(ut->seg[0]))) {
			ut->seg[ut->nseg].off = ph.p_offset;
			ut->seg[ut->nseg].vaddr = ph.p_vaddr;
			ut->seg[ut->nseg].filesz = ph.p_filesz;
			ut->seg[ut->nseg].x = ph.p_flags & PF_X;
			ut->nseg++;
		}
		if (!(ph.p_flags & PF_X))
			continue;
		if (ph.p_vaddr < *lo)
			*lo = ph.p_vaddr;
		if (ph.p_vaddr + ph.p_memsz > *hi)
			*hi = ph.p_vaddr + ph.p_memsz;
	}
	if (*lo >= *hi)
		return -ENOEXEC;
	*lo &= ~((1ULL << LT_UW_PAGE_SHIFT) - 1);
	if (*hi - *lo > UINT32_MAX)
		return -E2BIG;
	return 0;
}

static int build_pages(struct unwind_table *ut)
{
	uint64_t span = ut->vaddr_hi - ut->vaddr_lo;
	uint32_t np = (uint32_t)((span + (1ULL << LT_UW_PAGE_SHIFT) - 1) >> LT_UW_PAGE_SHIFT);
	uint32_t r = 0;

	ut->pages = calloc(np + 1, sizeof(*ut->pages));
	if (!ut->pages)
		return -ENOMEM;
	ut->npages = np;
	for (uint32_t p = 0; p <= np; p++) {
		uint64_t at = (uint64_t)p << LT_UW_PAGE_SHIFT;

		while (r + 1 < ut->nrows && ut->rows[r + 1].pc <= at)
			r++;
		ut->pages[p] = r;
	}
	return 0;
}

int unwind__build(int fd, struct unwind_table *ut)
{
	struct rowbuf b = {};
	struct fde *f = NULL;
	int nf = 0, err;
	Elf *elf;
	Elf_Scn *scn;
	GElf_Shdr sh;
	Elf_Data *data;
	Dwarf *dw = NULL;
	Dwarf_CFI *cfi = NULL;
	bool eh = true;
	struct lt_urow none = { .cfa = LT_UW_NONE };

	memset(ut, 0, sizeof(*ut));
	ut->source = "none";
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return -EINVAL;
	err = text_range(elf, ut, &ut->vaddr_lo, &ut->vaddr_hi);
	if (err)
		goto out;
	/* Go keeps frame pointers on amd64, though its CFI says CFA = rsp + N */
	ut->go = find_section(elf, ".gopclntab", &sh) || find_section(elf, ".data.rel.ro.gopclntab", &sh) ||
		 find_section(elf, ".note.go.buildid", &sh);
	scn = find_section(elf, ".eh_frame", &sh);
	if (scn) {
		cfi = dwarf_getcfi_elf(elf);
	} else if ((scn = find_section(elf, ".debug_frame", &sh))) {
		eh = false;
		dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
		cfi = dw ? dwarf_getcfi(dw) : NULL;
	}
	/* Row 0 at the start: pcs before the first FDE are frame-pointer code. */
	err = push_row(&b, 0, &none);
	if (err)
		goto out;
	if (scn && cfi && (data = elf_getdata(scn, NULL)) && data->d_size) {
		ut->source = eh ? ".eh_frame" : ".debug_frame";
		err = list_fdes(elf, data, eh ? sh.sh_addr : 0, eh, &f, &nf);
		if (err)
			goto out;
		for (int i = 0; i < nf; i++) {
			uint64_t gap_at = f[i].hi;

			if (f[i].lo < ut->vaddr_lo || f[i].hi > ut->vaddr_hi || f[i].lo >= f[i].hi)
				continue;
			if (i > 0 && f[i].lo < f[i - 1].hi)
				continue;	/* overlapping FDEs: keep the first */
			ut->nfde++;
			err = fde_rows(cfi, &f[i], ut, &b);
			if (err)
				goto out;
			/* The gap up to the next FDE is code without CFI. */
			if (i + 1 == nf || f[i + 1].lo > gap_at) {
				err = push_row(&b, gap_at - ut->vaddr_lo, &none);
				if (err)
					goto out;
			}
		}
	}
	ut->rows = b.r;
	ut->nrows = b.n;
	b.r = NULL;
	err = build_pages(ut);
out:
	free(f);
	free(b.r);
	if (cfi && eh)
		dwarf_cfi_end(cfi);
	if (dw)
		dwarf_end(dw);
	elf_end(elf);
	if (err)
		unwind__free(ut);
	return err;
}

void unwind__free(struct unwind_table *ut)
{
	free(ut->rows);
	free(ut->pages);
	ut->rows = NULL;
	ut->pages = NULL;
	ut->nrows = ut->npages = 0;
}

int unwind__bias(const struct unwind_table *ut, uint64_t off, uint64_t start, uint64_t *bias)
{
	for (int i = 0; i < ut->nseg; i++) {
		const struct unwind_seg *sg = &ut->seg[i];

		/* a mapping starts at a page of the segment: compare page-aligned */
		uint64_t pg_off = sg->off & ~0xfffULL;

		if (sg->x && off >= pg_off && off < sg->off + sg->filesz) {
			*bias = start - (sg->vaddr - (sg->off - pg_off) + (off - pg_off));
			return 0;
		}
	}
	return -ENOENT;
}

bool unwind__has_fp(const struct unwind_table *ut)
{
	if (!ut->nfde || ut->go)
		return true;	/* no CFI at all: frame pointers are all there is */
	return ut->nfde_fp * 2 >= ut->nfde;
}

const struct lt_urow *unwind__find(const struct unwind_table *ut, uint64_t vaddr)
{
	uint64_t rel;
	uint32_t p, lo, hi;

	if (vaddr < ut->vaddr_lo || vaddr >= ut->vaddr_hi || !ut->nrows)
		return NULL;
	rel = vaddr - ut->vaddr_lo;
	p = (uint32_t)(rel >> LT_UW_PAGE_SHIFT);
	lo = ut->pages[p];
	hi = ut->pages[p + 1];
	/* the last row in [lo, hi] with pc <= rel */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo + 1) / 2;

		if (ut->rows[mid].pc <= rel)
			lo = mid;
		else
			hi = mid - 1;
	}
	return &ut->rows[lo];
}
