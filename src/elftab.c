// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The symbol tables of an ELF file (.dynsym, .symtab) with their versions
 * (.gnu.version, .gnu.version_d), and the look-ups of elfsym.h.
 */
#include "elfsym_priv.h"

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

int elf__load_syms(struct elf_file *ef)
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
