// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * leaktrace's own ELF symbol resolver (see elfsym.h).
 *
 * Everything is parsed once at open time with libelf (ELF_C_READ, so a file
 * truncated under us gives read errors, not SIGBUS). Every table index,
 * offset and string read from the file is bounds checked: libelf's gelf_*
 * accessors check indexes against the section data, elf_strptr() checks
 * that the string is NUL terminated inside its section, and strings from
 * the dynamic string table are checked here.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gelf.h>
#include <libelf.h>

#include "elfsym.h"

#ifndef NT_GNU_BUILD_ID
#define NT_GNU_BUILD_ID 3
#endif
#ifndef R_X86_64_GLOB_DAT
#define R_X86_64_GLOB_DAT 6
#endif
#ifndef R_X86_64_JUMP_SLOT
#define R_X86_64_JUMP_SLOT 7
#endif

/* Sanity caps against absurd (fuzzed) counts; real files are far below. */
#define MAX_SYMS	(1u << 24)
#define MAX_VERDEFS	65536
#define MAX_NEEDED	4096
#define MAX_BUILD_ID	256

struct lt_sym {
	const char *name;	/* base name, without @VER */
	const char *version;
	uint64_t vaddr;
	uint64_t size;
	uint8_t type;
	uint8_t bind;
	bool is_default;
	bool from_dynsym;
};

struct sym_table {
	struct lt_sym *syms;	/* sorted by name, default first, then vaddr */
	size_t cnt;
	size_t cap;
};

struct plt_ent {
	uint64_t vaddr;
	const char *name;
};

struct verdef_name {
	unsigned int ndx;
	const char *name;
};

struct elf_file {
	char *name;
	int fd;
	Elf *elf;
	GElf_Half e_type;
	GElf_Half e_machine;
	GElf_Addr e_entry;
	size_t phnum;
	GElf_Phdr *phdrs;
	bool has_interp;
	bool has_dynamic;
	char *interp;
	char *soname;
	char *runpath;
	char **needed;
	int needed_cnt;
	uint8_t *build_id;
	size_t build_id_len;
	struct sym_table dyn;	/* .dynsym */
	struct sym_table tab;	/* .symtab */
	char **owned;		/* split "name@VER" base names from .symtab */
	size_t owned_cnt;
	size_t owned_cap;
	struct plt_ent *plt;	/* sorted by vaddr */
	size_t plt_cnt;
};

/* ---------------------------------------------------------------------- */
/* Program headers                                                        */

int elf_file__vaddr_to_off(const struct elf_file *ef, uint64_t vaddr, uint64_t *off)
{
	size_t i;

	if (!ef || !off)
		return -EINVAL;
	for (i = 0; i < ef->phnum; i++) {
		const GElf_Phdr *ph = &ef->phdrs[i];
		uint64_t delta, res;

		if (ph->p_type != PT_LOAD || !ph->p_filesz)
			continue;
		if (vaddr < ph->p_vaddr)
			continue;
		delta = vaddr - ph->p_vaddr;
		if (delta >= ph->p_filesz)
			continue;
		if (__builtin_add_overflow(ph->p_offset, delta, &res))
			continue;
		*off = res;
		return 0;
	}
	return -ENOENT;
}

int elf_file__off_to_vaddr(const struct elf_file *ef, uint64_t off, uint64_t *vaddr)
{
	size_t i;

	if (!ef || !vaddr)
		return -EINVAL;
	for (i = 0; i < ef->phnum; i++) {
		const GElf_Phdr *ph = &ef->phdrs[i];
		uint64_t delta, res;

		if (ph->p_type != PT_LOAD || !ph->p_filesz)
			continue;
		if (off < ph->p_offset)
			continue;
		delta = off - ph->p_offset;
		if (delta >= ph->p_filesz)
			continue;
		if (__builtin_add_overflow(ph->p_vaddr, delta, &res))
			continue;
		*vaddr = res;
		return 0;
	}
	return -ENOENT;
}

/* The file-backed bytes left in the PT_LOAD segment holding VADDR. */
static int vaddr_span(const struct elf_file *ef, uint64_t vaddr, uint64_t *off, uint64_t *left)
{
	size_t i;

	for (i = 0; i < ef->phnum; i++) {
		const GElf_Phdr *ph = &ef->phdrs[i];
		uint64_t delta;

		if (ph->p_type != PT_LOAD || !ph->p_filesz || vaddr < ph->p_vaddr)
			continue;
		delta = vaddr - ph->p_vaddr;
		if (delta >= ph->p_filesz)
			continue;
		if (__builtin_add_overflow(ph->p_offset, delta, off))
			continue;
		*left = ph->p_filesz - delta;
		return 0;
	}
	return -ENOENT;
}

int elf_file__read(const struct elf_file *ef, uint64_t vaddr, void *buf, size_t len)
{
	uint64_t off, left;
	size_t done = 0;
	int err;

	if (!ef || (!buf && len))
		return -EINVAL;
	err = vaddr_span(ef, vaddr, &off, &left);
	if (err)
		return err;
	if (len > left)
		len = left;
	if (len > INT_MAX)
		len = INT_MAX;
	if (off > (uint64_t)LLONG_MAX - len)
		return -EINVAL;
	while (done < len) {
		ssize_t n = pread(ef->fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += n;
	}
	return (int)done;
}

static int load_phdrs(struct elf_file *ef)
{
	size_t i, n;

	if (elf_getphdrnum(ef->elf, &n))
		return -ENOEXEC;
	if (!n)
		return 0;
	ef->phdrs = calloc(n, sizeof(*ef->phdrs));
	if (!ef->phdrs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(ef->elf, (int)i, &ef->phdrs[ef->phnum]))
			continue;
		ef->phnum++;
	}
	return 0;
}

static int load_interp(struct elf_file *ef, const GElf_Phdr *ph)
{
	Elf_Data *d;
	size_t len;

	ef->has_interp = true;
	if (ef->interp || !ph->p_filesz || ph->p_filesz > PATH_MAX)
		return 0;
	d = elf_getdata_rawchunk(ef->elf, (int64_t)ph->p_offset, ph->p_filesz, ELF_T_BYTE);
	if (!d || !d->d_buf)
		return 0;
	len = strnlen(d->d_buf, d->d_size);
	ef->interp = strndup(d->d_buf, len);
	return ef->interp ? 0 : -ENOMEM;
}

static int parse_build_id(struct elf_file *ef, Elf_Data *d)
{
	GElf_Nhdr nh;
	size_t off = 0, next, name_off, desc_off;

	while (off < d->d_size &&
	       (next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		if (next <= off)
			break;
		off = next;
		if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
		    !nh.n_descsz || nh.n_descsz > MAX_BUILD_ID)
			continue;
		if (name_off > d->d_size || d->d_size - name_off < 4 ||
		    desc_off > d->d_size || d->d_size - desc_off < nh.n_descsz)
			continue;
		if (memcmp((const char *)d->d_buf + name_off, "GNU", 4))
			continue;
		ef->build_id = malloc(nh.n_descsz);
		if (!ef->build_id)
			return -ENOMEM;
		memcpy(ef->build_id, (const char *)d->d_buf + desc_off, nh.n_descsz);
		ef->build_id_len = nh.n_descsz;
		return 1;
	}
	return 0;
}

static int load_build_id(struct elf_file *ef)
{
	Elf_Scn *scn = NULL;
	size_t i;
	int err;

	for (i = 0; i < ef->phnum; i++) {
		const GElf_Phdr *ph = &ef->phdrs[i];
		Elf_Data *d;

		if (ph->p_type != PT_NOTE || !ph->p_filesz)
			continue;
		d = elf_getdata_rawchunk(ef->elf, (int64_t)ph->p_offset, ph->p_filesz,
					 ph->p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
		if (!d || !d->d_buf)
			continue;
		err = parse_build_id(ef, d);
		if (err)
			return err < 0 ? err : 0;
	}
	/* No PT_NOTE (e.g. ET_REL): try SHT_NOTE sections. */
	while ((scn = elf_nextscn(ef->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			continue;
		err = parse_build_id(ef, d);
		if (err)
			return err < 0 ? err : 0;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Dynamic section                                                        */

struct dynstr {
	const char *buf;	/* raw DT_STRTAB chunk, or NULL */
	size_t size;
	Elf *elf;		/* fallback: .dynamic's sh_link string section */
	size_t shndx;
};

static const char *dynstr_get(const struct dynstr *ds, uint64_t off)
{
	if (ds->buf) {
		if (off >= ds->size || !memchr(ds->buf + off, 0, ds->size - off))
			return NULL;
		return ds->buf + off;
	}
	if (ds->shndx && off <= SIZE_MAX)
		return elf_strptr(ds->elf, ds->shndx, (size_t)off);
	return NULL;
}

static int dyn_strdup(const struct dynstr *ds, uint64_t off, char **dst)
{
	const char *s = dynstr_get(ds, off);

	if (!s || *dst)
		return 0;
	*dst = strdup(s);
	return *dst ? 0 : -ENOMEM;
}

static int load_dynamic(struct elf_file *ef)
{
	const GElf_Phdr *dph = NULL;
	struct dynstr ds = { .elf = ef->elf };
	uint64_t strtab = 0, strsz = 0, soname = 0, rpath = 0, runpath = 0, off;
	bool has_strtab = false, has_strsz = false, has_soname = false;
	bool has_rpath = false, has_runpath = false;
	uint64_t *needed = NULL;
	int n_needed = 0, i, err = 0;
	Elf_Data *d = NULL;
	Elf_Scn *scn = NULL;
	size_t j, cnt, dynsz;

	for (j = 0; j < ef->phnum; j++) {
		if (ef->phdrs[j].p_type == PT_DYNAMIC) {
			dph = &ef->phdrs[j];
			break;
		}
	}
	if (dph) {
		ef->has_dynamic = true;
		if (dph->p_filesz)
			d = elf_getdata_rawchunk(ef->elf, (int64_t)dph->p_offset,
						 dph->p_filesz, ELF_T_DYN);
	}
	/* Find the .dynamic section too, as a fallback for data and strings. */
	while ((scn = elf_nextscn(ef->elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC)
			continue;
		ds.shndx = sh.sh_link;
		if (!d)
			d = elf_getdata(scn, NULL);
		break;
	}
	if (!d || !d->d_buf)
		return 0;

	dynsz = gelf_fsize(ef->elf, ELF_T_DYN, 1, EV_CURRENT);
	if (!dynsz)
		return 0;
	cnt = d->d_size / dynsz;
	needed = calloc(cnt < MAX_NEEDED ? cnt + 1 : MAX_NEEDED, sizeof(*needed));
	if (!needed)
		return -ENOMEM;

	for (j = 0; j < cnt; j++) {
		GElf_Dyn dyn;

		if (!gelf_getdyn(d, (int)j, &dyn) || dyn.d_tag == DT_NULL)
			break;
		switch (dyn.d_tag) {
		case DT_NEEDED:
			if (n_needed < MAX_NEEDED)
				needed[n_needed++] = dyn.d_un.d_val;
			break;
		case DT_STRTAB:
			strtab = dyn.d_un.d_ptr;
			has_strtab = true;
			break;
		case DT_STRSZ:
			strsz = dyn.d_un.d_val;
			has_strsz = true;
			break;
		case DT_SONAME:
			soname = dyn.d_un.d_val;
			has_soname = true;
			break;
		case DT_RPATH:
			rpath = dyn.d_un.d_val;
			has_rpath = true;
			break;
		case DT_RUNPATH:
			runpath = dyn.d_un.d_val;
			has_runpath = true;
			break;
		default:
			break;
		}
	}

	if (has_strtab && has_strsz && strsz &&
	    !elf_file__vaddr_to_off(ef, strtab, &off)) {
		Elf_Data *sd = elf_getdata_rawchunk(ef->elf, (int64_t)off, strsz, ELF_T_BYTE);

		if (sd && sd->d_buf) {
			ds.buf = sd->d_buf;
			ds.size = sd->d_size;
		}
	}

	if (has_soname && (err = dyn_strdup(&ds, soname, &ef->soname)))
		goto out;
	if (has_runpath && (err = dyn_strdup(&ds, runpath, &ef->runpath)))
		goto out;
	if (!ef->runpath && has_rpath && (err = dyn_strdup(&ds, rpath, &ef->runpath)))
		goto out;
	if (n_needed) {
		ef->needed = calloc(n_needed + 1, sizeof(*ef->needed));
		if (!ef->needed) {
			err = -ENOMEM;
			goto out;
		}
		for (i = 0; i < n_needed; i++) {
			const char *s = dynstr_get(&ds, needed[i]);

			if (!s)
				continue;
			ef->needed[ef->needed_cnt] = strdup(s);
			if (!ef->needed[ef->needed_cnt]) {
				err = -ENOMEM;
				goto out;
			}
			ef->needed_cnt++;
		}
	}
out:
	free(needed);
	return err;
}

/* ---------------------------------------------------------------------- */
/* Symbols                                                                */

static int sym_table_push(struct sym_table *t, const struct lt_sym *s)
{
	if (t->cnt == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 256;
		struct lt_sym *n;

		if (ncap > MAX_SYMS)
			return -E2BIG;
		n = reallocarray(t->syms, ncap, sizeof(*n));
		if (!n)
			return -ENOMEM;
		t->syms = n;
		t->cap = ncap;
	}
	t->syms[t->cnt++] = *s;
	return 0;
}

static int own_str(struct elf_file *ef, char *s)
{
	if (ef->owned_cnt == ef->owned_cap) {
		size_t ncap = ef->owned_cap ? ef->owned_cap * 2 : 64;
		char **n = reallocarray(ef->owned, ncap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		ef->owned = n;
		ef->owned_cap = ncap;
	}
	ef->owned[ef->owned_cnt++] = s;
	return 0;
}

static int sym_cmp(const void *pa, const void *pb)
{
	const struct lt_sym *a = pa, *b = pb;
	int c = strcmp(a->name, b->name);

	if (c)
		return c;
	if (a->is_default != b->is_default)
		return a->is_default ? -1 : 1;
	if (a->vaddr != b->vaddr)
		return a->vaddr < b->vaddr ? -1 : 1;
	/* Keep it deterministic: dynsym-style versions sorted by name. */
	if (a->version && b->version)
		return strcmp(a->version, b->version);
	return !!a->version - !!b->version;
}

static int load_verdefs(Elf *elf, Elf_Scn *scn, struct verdef_name **out, size_t *out_cnt)
{
	struct verdef_name *v = NULL;
	size_t cnt = 0, cap, off = 0, iter;
	GElf_Shdr sh;
	Elf_Data *d;

	*out = NULL;
	*out_cnt = 0;
	if (!scn || !gelf_getshdr(scn, &sh))
		return 0;
	d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf || !d->d_size)
		return 0;
	cap = sh.sh_info && sh.sh_info < MAX_VERDEFS ? sh.sh_info : 64;
	v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;

	for (iter = 0; iter < MAX_VERDEFS; iter++) {
		GElf_Verdef vd;
		GElf_Verdaux vda;
		const char *name;
		size_t aoff;

		if (!gelf_getverdef(d, (int)off, &vd))
			break;
		if (!__builtin_add_overflow(off, (size_t)vd.vd_aux, &aoff) &&
		    aoff <= INT_MAX && gelf_getverdaux(d, (int)aoff, &vda) &&
		    (name = elf_strptr(elf, sh.sh_link, vda.vda_name))) {
			if (cnt == cap) {
				struct verdef_name *n = reallocarray(v, cap * 2, sizeof(*v));

				if (!n) {
					free(v);
					return -ENOMEM;
				}
				v = n;
				cap *= 2;
			}
			v[cnt].ndx = vd.vd_ndx;
			v[cnt].name = name;
			cnt++;
		}
		if (!vd.vd_next || __builtin_add_overflow(off, (size_t)vd.vd_next, &off) ||
		    off > INT_MAX)
			break;
	}
	*out = v;
	*out_cnt = cnt;
	return 0;
}

static const char *verdef_lookup(const struct verdef_name *v, size_t cnt, unsigned int ndx)
{
	size_t i;

	for (i = 0; i < cnt; i++)
		if (v[i].ndx == ndx)
			return v[i].name;
	return NULL;
}

static int load_syms(struct elf_file *ef, Elf_Scn *scn, bool is_dyn, Elf_Scn *versym_scn,
		     const struct verdef_name *vd, size_t vd_cnt)
{
	struct sym_table *t = is_dyn ? &ef->dyn : &ef->tab;
	Elf_Data *d, *vs = NULL;
	size_t i, n, entsz;
	GElf_Shdr sh;
	int err;

	if (!gelf_getshdr(scn, &sh))
		return 0;
	d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf)
		return 0;
	entsz = gelf_fsize(ef->elf, ELF_T_SYM, 1, EV_CURRENT);
	if (!entsz)
		return 0;
	n = d->d_size / entsz;
	if (n > MAX_SYMS)
		n = MAX_SYMS;
	if (versym_scn)
		vs = elf_getdata(versym_scn, NULL);

	for (i = 1; i < n; i++) {
		struct lt_sym s = { .from_dynsym = is_dyn, .is_default = true };
		const char *name, *at;
		GElf_Sym sym;

		if (!gelf_getsym(d, (int)i, &sym))
			break;
		s.type = GELF_ST_TYPE(sym.st_info);
		s.bind = GELF_ST_BIND(sym.st_info);
		if (s.type != STT_FUNC && s.type != STT_GNU_IFUNC)
			continue;
		if (sym.st_shndx == SHN_UNDEF || (!sym.st_size && !sym.st_value))
			continue;
		name = elf_strptr(ef->elf, sh.sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		s.vaddr = sym.st_value;
		s.size = sym.st_size;

		if (is_dyn && vs && vs->d_buf) {
			GElf_Versym ver;

			if (gelf_getversym(vs, (int)i, &ver)) {
				unsigned int ndx = ver & 0x7fff;

				if (ndx == 0) {
					/* VER_NDX_LOCAL: not visible outside */
					s.bind = STB_LOCAL;
				} else if (ndx >= 2) {
					s.version = verdef_lookup(vd, vd_cnt, ndx);
					s.is_default = !(ver & 0x8000);
				}
			}
		} else if (!is_dyn && (at = strchr(name, '@')) && at != name) {
			char *base = strndup(name, at - name);

			if (!base)
				return -ENOMEM;
			err = own_str(ef, base);
			if (err) {
				free(base);
				return err;
			}
			s.is_default = at[1] == '@';
			s.version = at + (s.is_default ? 2 : 1);
			if (!*s.version)
				s.version = NULL;
			name = base;
		}
		s.name = name;
		err = sym_table_push(t, &s);
		if (err)
			return err;
	}
	if (t->cnt)
		qsort(t->syms, t->cnt, sizeof(*t->syms), sym_cmp);
	return 0;
}

static int load_all_syms(struct elf_file *ef)
{
	Elf_Scn *scn = NULL, *dynsym = NULL, *symtab = NULL, *versym = NULL, *verdef = NULL;
	struct verdef_name *vd = NULL;
	size_t vd_cnt = 0, dynsym_ndx = 0;
	int err;

	while ((scn = elf_nextscn(ef->elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			continue;
		switch (sh.sh_type) {
		case SHT_DYNSYM:
			if (!dynsym) {
				dynsym = scn;
				dynsym_ndx = elf_ndxscn(scn);
			}
			break;
		case SHT_SYMTAB:
			if (!symtab)
				symtab = scn;
			break;
		case SHT_GNU_versym:
			if (!versym)
				versym = scn;
			break;
		case SHT_GNU_verdef:
			if (!verdef)
				verdef = scn;
			break;
		default:
			break;
		}
	}
	if (versym) {
		GElf_Shdr sh;

		if (!gelf_getshdr(versym, &sh) || sh.sh_link != dynsym_ndx)
			versym = NULL;
	}
	err = load_verdefs(ef->elf, verdef, &vd, &vd_cnt);
	if (err)
		return err;
	if (dynsym)
		err = load_syms(ef, dynsym, true, versym, vd, vd_cnt);
	if (!err && symtab)
		err = load_syms(ef, symtab, false, NULL, NULL, 0);
	free(vd);
	return err;
}

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
static int load_plt(struct elf_file *ef)
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

/* ---------------------------------------------------------------------- */
/* Open / free                                                            */

void elf_file__free(struct elf_file *ef)
{
	size_t i;

	if (!ef)
		return;
	if (ef->elf)
		elf_end(ef->elf);
	if (ef->fd >= 0)
		close(ef->fd);
	for (i = 0; i < ef->owned_cnt; i++)
		free(ef->owned[i]);
	free(ef->owned);
	for (i = 0; i < (size_t)ef->needed_cnt; i++)
		free(ef->needed[i]);
	free(ef->needed);
	free(ef->dyn.syms);
	free(ef->tab.syms);
	free(ef->plt);
	free(ef->phdrs);
	free(ef->interp);
	free(ef->soname);
	free(ef->runpath);
	free(ef->build_id);
	free(ef->name);
	free(ef);
}

struct elf_file *elf_file__open_fd(int fd, const char *display_name)
{
	struct elf_file *ef;
	struct stat st;
	GElf_Ehdr eh;
	size_t i;
	int err;

	if (fd < 0) {
		errno = EBADF;
		return NULL;
	}
	ef = calloc(1, sizeof(*ef));
	if (!ef) {
		errno = ENOMEM;
		return NULL;
	}
	ef->fd = -1;
	ef->name = strdup(display_name ? display_name : "?");
	if (!ef->name) {
		err = -ENOMEM;
		goto err_out;
	}
	ef->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (ef->fd < 0) {
		err = -errno;
		goto err_out;
	}
	if (fstat(ef->fd, &st)) {
		err = -errno;
		goto err_out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto err_out;
	}
	if (elf_version(EV_CURRENT) == EV_NONE) {
		err = -ENOSYS;
		goto err_out;
	}
	ef->elf = elf_begin(ef->fd, ELF_C_READ, NULL);
	if (!ef->elf || elf_kind(ef->elf) != ELF_K_ELF || !gelf_getehdr(ef->elf, &eh)) {
		err = -ENOEXEC;
		goto err_out;
	}
	ef->e_type = eh.e_type;
	ef->e_machine = eh.e_machine;
	ef->e_entry = eh.e_entry;

	err = load_phdrs(ef);
	if (err)
		goto err_out;
	for (i = 0; i < ef->phnum; i++) {
		if (ef->phdrs[i].p_type != PT_INTERP)
			continue;
		err = load_interp(ef, &ef->phdrs[i]);
		if (err)
			goto err_out;
	}
	err = load_build_id(ef);
	if (err)
		goto err_out;
	err = load_dynamic(ef);
	if (err)
		goto err_out;
	err = load_all_syms(ef);
	if (err)
		goto err_out;
	err = load_plt(ef);
	if (err)
		goto err_out;
	return ef;

err_out:
	elf_file__free(ef);
	errno = -err;
	return NULL;
}

struct elf_file *elf_file__open(const char *path)
{
	struct elf_file *ef;
	int fd, err;

	if (!path) {
		errno = EINVAL;
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	ef = elf_file__open_fd(fd, path);
	err = errno;
	close(fd);
	errno = err;
	return ef;
}

/* ---------------------------------------------------------------------- */
/* Accessors                                                              */

const char *elf_file__name(const struct elf_file *ef)
{
	return ef ? ef->name : NULL;
}

bool elf_file__is_exec(const struct elf_file *ef)
{
	return ef && ef->e_type == ET_EXEC;
}

bool elf_file__is_static(const struct elf_file *ef)
{
	return ef && !ef->has_interp && !ef->has_dynamic;
}

const char *elf_file__interp(const struct elf_file *ef)
{
	return ef ? ef->interp : NULL;
}

const char *elf_file__soname(const struct elf_file *ef)
{
	return ef ? ef->soname : NULL;
}

int elf_file__needed(const struct elf_file *ef, const char *const **names)
{
	if (!ef)
		return -EINVAL;
	if (names)
		*names = (const char *const *)ef->needed;
	return ef->needed_cnt;
}

const char *elf_file__runpath(const struct elf_file *ef)
{
	return ef ? ef->runpath : NULL;
}

size_t elf_file__build_id(const struct elf_file *ef, const uint8_t **id)
{
	if (!ef)
		return 0;
	if (id)
		*id = ef->build_id;
	return ef->build_id_len;
}

/* ---------------------------------------------------------------------- */
/* Lookups                                                                */

/* [*lo, *hi) range of entries named NAME. */
static void name_range(const struct sym_table *t, const char *name, size_t *lo, size_t *hi)
{
	size_t l = 0, h = t->cnt;

	while (l < h) {
		size_t m = l + (h - l) / 2;

		if (strcmp(t->syms[m].name, name) < 0)
			l = m + 1;
		else
			h = m;
	}
	*lo = l;
	while (l < t->cnt && !strcmp(t->syms[l].name, name))
		l++;
	*hi = l;
}

static void fill_sym(const struct elf_file *ef, const struct lt_sym *s, struct elf_sym *out)
{
	uint64_t off = 0;

	out->name = s->name;
	out->version = s->version;
	out->is_default = s->is_default;
	out->from_dynsym = s->from_dynsym;
	out->type = s->type;
	out->vaddr = s->vaddr;
	out->size = s->size;
	if (elf_file__vaddr_to_off(ef, s->vaddr, &off))
		off = 0;
	out->file_off = off;
}

/*
 * Entries from T named NAME, in table order (default first, then by
 * address), one per address. Local symbols only when NAME has no global
 * or weak definition; addresses outside every PT_LOAD are skipped.
 */
static int find_in(const struct elf_file *ef, const struct sym_table *t, const char *name,
		   struct elf_sym *out, int max)
{
	size_t lo, hi, i, k;
	bool have_global = false;
	uint64_t off;
	int n = 0;

	name_range(t, name, &lo, &hi);
	for (i = lo; i < hi; i++)
		if (t->syms[i].bind != STB_LOCAL)
			have_global = true;
	for (i = lo; i < hi && n < max; i++) {
		const struct lt_sym *s = &t->syms[i];
		bool dup = false;

		if (have_global && s->bind == STB_LOCAL)
			continue;
		if (elf_file__vaddr_to_off(ef, s->vaddr, &off))
			continue;
		for (k = lo; k < i; k++) {
			const struct lt_sym *p = &t->syms[k];

			if (p->vaddr == s->vaddr && !(have_global && p->bind == STB_LOCAL)) {
				dup = true;
				break;
			}
		}
		if (dup)
			continue;
		fill_sym(ef, s, &out[n++]);
	}
	return n;
}

int elf_file__find_func(struct elf_file *ef, const char *name, struct elf_sym *out, int max)
{
	int n;

	if (!ef || !name || (!out && max > 0) || max < 0)
		return -EINVAL;
	if (!max)
		return 0;
	n = find_in(ef, &ef->dyn, name, out, max);
	if (n)
		return n;
	return find_in(ef, &ef->tab, name, out, max);
}

bool elf_file__defines(struct elf_file *ef, const char *name)
{
	struct elf_sym s;

	return elf_file__find_func(ef, name, &s, 1) > 0;
}

bool elf_file__exports(struct elf_file *ef, const char *name)
{
	size_t lo, hi, i;

	if (!ef || !name)
		return false;
	name_range(&ef->dyn, name, &lo, &hi);
	for (i = lo; i < hi; i++) {
		const struct lt_sym *s = &ef->dyn.syms[i];

		if (s->is_default && s->bind != STB_LOCAL)
			return true;
	}
	return false;
}

static int leading_underscores(const char *s)
{
	int n = 0;

	while (s[n] == '_')
		n++;
	return n;
}

/* Is A a better name than B for the same place? */
static bool sym_better(const struct lt_sym *a, const struct lt_sym *b)
{
	int ua, ub;
	size_t la, lb;

	if (a->vaddr != b->vaddr)
		return a->vaddr > b->vaddr;	/* innermost start */
	if ((a->bind == STB_LOCAL) != (b->bind == STB_LOCAL))
		return b->bind == STB_LOCAL;
	if (a->is_default != b->is_default)
		return a->is_default;
	ua = leading_underscores(a->name);
	ub = leading_underscores(b->name);
	if (ua != ub)
		return ua < ub;
	la = strlen(a->name);
	lb = strlen(b->name);
	if (la != lb)
		return la < lb;
	return strcmp(a->name, b->name) < 0;
}

static const struct lt_sym *sym_at_in(const struct sym_table *t, uint64_t vaddr)
{
	const struct lt_sym *best = NULL;
	size_t i;

	for (i = 0; i < t->cnt; i++) {
		const struct lt_sym *s = &t->syms[i];

		if (vaddr < s->vaddr)
			continue;
		if (s->size ? vaddr - s->vaddr >= s->size : vaddr != s->vaddr)
			continue;
		if (!best || sym_better(s, best))
			best = s;
	}
	return best;
}

int elf_file__sym_at(struct elf_file *ef, uint64_t vaddr, struct elf_sym *sym)
{
	const struct lt_sym *s;

	if (!ef || !sym)
		return -EINVAL;
	s = sym_at_in(&ef->tab, vaddr);
	if (!s)
		s = sym_at_in(&ef->dyn, vaddr);
	if (!s)
		return -ENOENT;
	fill_sym(ef, s, sym);
	return 0;
}

uint64_t elf_file__entry(const struct elf_file *ef)
{
	return ef->e_entry;
}

int elf_file__fd(const struct elf_file *ef)
{
	return ef->fd;
}
