// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * x86_64 PLT stubs (.plt, .plt.sec, .plt.got) and the dynamic symbols they
 * jump through, from the GOT relocations.
 */
#include "elfsym_priv.h"

/* ---------------------------------------------------------------------- */
/* PLT stubs                                                              */

struct got_ref {
	uint64_t got;
	size_t symndx;
};

static int got_cmp(const void *pa, const void *pb)
{
	const struct got_ref *a = pa, *b = pb;

	return a->got < b->got ? -1 : a->got > b->got;
}

static int plt_cmp(const void *pa, const void *pb)
{
	const struct plt_ent *a = pa, *b = pb;

	return a->vaddr < b->vaddr ? -1 : a->vaddr > b->vaddr;
}

/* Offset within a PLT entry of "jmp *disp32(%rip)" (ff 25), or -1. */
static int plt_jmp_pos(const uint8_t *e, size_t len)
{
	static const uint8_t pos[] = { 0, 1, 4, 5 };	/* [endbr64] [bnd] jmp */
	size_t i;

	for (i = 0; i < sizeof(pos); i++) {
		size_t p = pos[i];

		if (p + 6 > len)
			continue;
		if (e[p] == 0xff && e[p + 1] == 0x25)
			return (int)p;
	}
	return -1;
}

/*
 * x86_64 only: decode each stub in .plt, .plt.sec and .plt.got, find the GOT
 * slot it jumps through, and name it after the JUMP_SLOT/GLOB_DAT
 * relocation of that slot. Works for lazy, IBT and -z now layouts alike.
 */
int elf__load_plt(struct elf_file *ef)
{
	struct got_ref *refs = NULL;
	size_t nrefs = 0, caprefs = 0, shstrndx, dynsym_ndx = 0;
	Elf_Scn *scn = NULL, *dynsym = NULL;
	Elf_Data *symd = NULL;
	GElf_Shdr dsh;
	int err = 0;

	if (ef->e_machine != EM_X86_64 || !ef->dyn.cnt)
		return 0;
	if (elf_getshdrstrndx(ef->elf, &shstrndx))
		return 0;
	while ((scn = elf_nextscn(ef->elf, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_DYNSYM) {
			dynsym = scn;
			dynsym_ndx = elf_ndxscn(scn);
			break;
		}
	}
	if (!dynsym || !gelf_getshdr(dynsym, &dsh) || !(symd = elf_getdata(dynsym, NULL)))
		return 0;

	/* GOT slot -> dynsym index, from every RELA section on .dynsym. */
	scn = NULL;
	while ((scn = elf_nextscn(ef->elf, scn))) {
		size_t i, n, entsz;
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || sh.sh_link != dynsym_ndx)
			continue;
		d = elf_getdata(scn, NULL);
		entsz = gelf_fsize(ef->elf, ELF_T_RELA, 1, EV_CURRENT);
		if (!d || !d->d_buf || !entsz)
			continue;
		n = d->d_size / entsz;
		for (i = 0; i < n && i < MAX_SYMS; i++) {
			GElf_Rela r;
			unsigned int type;

			if (!gelf_getrela(d, (int)i, &r))
				break;
			type = GELF_R_TYPE(r.r_info);
			if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
				continue;
			if (!GELF_R_SYM(r.r_info))
				continue;
			if (nrefs == caprefs) {
				size_t ncap = caprefs ? caprefs * 2 : 256;
				struct got_ref *nr = reallocarray(refs, ncap, sizeof(*nr));

				if (!nr) {
					err = -ENOMEM;
					goto out;
				}
				refs = nr;
				caprefs = ncap;
			}
			refs[nrefs].got = r.r_offset;
			refs[nrefs].symndx = GELF_R_SYM(r.r_info);
			nrefs++;
		}
	}
	if (!nrefs)
		goto out;
	qsort(refs, nrefs, sizeof(*refs), got_cmp);

	scn = NULL;
	while ((scn = elf_nextscn(ef->elf, scn))) {
		const char *sname;
		size_t i, entsz;
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR))
			continue;
		sname = elf_strptr(ef->elf, shstrndx, sh.sh_name);
		if (!sname || (strcmp(sname, ".plt") && strcmp(sname, ".plt.sec") &&
			       strcmp(sname, ".plt.got")))
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			continue;
		entsz = sh.sh_entsize == 8 || sh.sh_entsize == 16 ? sh.sh_entsize : 16;
		for (i = 0; i + entsz <= d->d_size && i / entsz < MAX_SYMS; i += entsz) {
			const uint8_t *e = (const uint8_t *)d->d_buf + i;
			struct got_ref key, *ref;
			const char *name;
			struct plt_ent *np;
			int32_t disp;
			GElf_Sym sym;
			int p;

			p = plt_jmp_pos(e, entsz);
			if (p < 0)
				continue;
			memcpy(&disp, e + p + 2, sizeof(disp));
			key.got = sh.sh_addr + i + p + 6 + (int64_t)disp;
			ref = bsearch(&key, refs, nrefs, sizeof(*refs), got_cmp);
			if (!ref || ref->symndx > INT_MAX || !gelf_getsym(symd, (int)ref->symndx, &sym))
				continue;
			name = elf_strptr(ef->elf, dsh.sh_link, sym.st_name);
			if (!name || !*name)
				continue;
			np = reallocarray(ef->plt, ef->plt_cnt + 1, sizeof(*np));
			if (!np) {
				err = -ENOMEM;
				goto out;
			}
			ef->plt = np;
			ef->plt[ef->plt_cnt].vaddr = sh.sh_addr + i;
			ef->plt[ef->plt_cnt].name = name;
			ef->plt_cnt++;
		}
	}
	if (ef->plt_cnt)
		qsort(ef->plt, ef->plt_cnt, sizeof(*ef->plt), plt_cmp);
out:
	free(refs);
	return err;
}

int elf_file__plt_name(const struct elf_file *ef, uint64_t vaddr, const char **name)
{
	struct plt_ent key = { .vaddr = vaddr }, *e;

	if (!ef || !name)
		return -EINVAL;
	if (!ef->plt_cnt)
		return -ENOENT;
	e = bsearch(&key, ef->plt, ef->plt_cnt, sizeof(*ef->plt), plt_cmp);
	if (!e)
		return -ENOENT;
	*name = e->name;
	return 0;
}
