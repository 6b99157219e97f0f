// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Symbol resolution for struct syms (see syms.h): function + offset from
 * the symbol tables, source lines and inline chains from DWARF, C++ names
 * demangled, every result cached per (module identity, file-relative
 * address) and every string interned, both shared by all struct syms.
 */
#include "syms_priv.h"

struct syms_shared syms_shared;

/* ------------------------------------------------------------------ */
/* strings */

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++) {
		h ^= c[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define HASH_INIT 0xcbf29ce484222325ULL

static int strset_grow(struct strset *ss)
{
	size_t ncap = ss->cap ? ss->cap * 2 : 256;
	char **nslot = calloc(ncap, sizeof(*nslot));

	if (!nslot)
		return -ENOMEM;
	for (size_t i = 0; i < ss->cap; i++) {
		char *str = ss->slot[i];
		size_t j;

		if (!str)
			continue;
		j = hash_bytes(str, strlen(str), HASH_INIT) & (ncap - 1);
		while (nslot[j])
			j = (j + 1) & (ncap - 1);
		nslot[j] = str;
	}
	free(ss->slot);
	ss->slot = nslot;
	ss->cap = ncap;
	return 0;
}

/* Interned copy of the first LEN bytes of STR, or NULL on ENOMEM. */
static const char *intern_n(struct syms *s, const char *str, size_t len)
{
	struct strset *ss = &s->c->strs;
	char *copy;
	size_t j;

	if ((ss->cnt + 1) * 2 > ss->cap && strset_grow(ss))
		return NULL;
	j = hash_bytes(str, len, HASH_INIT) & (ss->cap - 1);
	for (; ss->slot[j]; j = (j + 1) & (ss->cap - 1)) {
		if (!strncmp(ss->slot[j], str, len) && ss->slot[j][len] == '\0')
			return ss->slot[j];
	}
	copy = malloc(len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, str, len);
	copy[len] = '\0';
	ss->slot[j] = copy;
	ss->cnt++;
	return copy;
}

const char *syms_intern(struct syms *s, const char *str)
{
	return str ? intern_n(s, str, strlen(str)) : NULL;
}

/* Interned, demangled symbol name without an ELF "@VERSION" suffix. */
static const char *intern_sym(struct syms *s, const char *name)
{
	const char *ret, *at;
	char *buf, *dem;
	size_t len;
	int status = -1;

	if (!name || !*name)
		return NULL;
	at = strchr(name + 1, '@');
	len = at ? (size_t)(at - name) : strlen(name);
	if (len < 2 || name[0] != '_' || name[1] != 'Z')
		return intern_n(s, name, len);

	buf = strndup(name, len);
	if (!buf)
		return NULL;
	dem = __cxa_demangle(buf, NULL, NULL, &status);
	ret = syms_intern(s, status == 0 && dem ? dem : buf);
	free(dem);
	free(buf);
	return ret;
}

/* ------------------------------------------------------------------ */
/* result cache */

static size_t cache_hash(const char *ident, uint64_t off, bool retaddr, size_t n)
{
	uint64_t h = HASH_INIT;

	h = hash_bytes(&ident, sizeof(ident), h);
	h = hash_bytes(&off, sizeof(off), h);
	h = hash_bytes(&retaddr, sizeof(retaddr), h);
	return (size_t)(h & (n - 1));
}

static struct cache_ent *cache_find(struct syms *s, const char *ident, uint64_t off, bool retaddr)
{
	struct cache_ent *e;

	if (!s->c->nbuckets)
		return NULL;
	for (e = s->c->bucket[cache_hash(ident, off, retaddr, s->c->nbuckets)]; e; e = e->next) {
		if (e->ident == ident && e->off == off && e->retaddr == retaddr)
			return e;
	}
	return NULL;
}

static int cache_insert(struct syms *s, struct cache_ent *ent)
{
	size_t h;

	if (s->c->ncached >= s->c->nbuckets) {
		size_t nn = s->c->nbuckets ? s->c->nbuckets * 2 : 1024;
		struct cache_ent **nb = calloc(nn, sizeof(*nb));

		if (!nb)
			return -ENOMEM;
		for (size_t i = 0; i < s->c->nbuckets; i++) {
			struct cache_ent *e, *next;

			for (e = s->c->bucket[i]; e; e = next) {
				next = e->next;
				h = cache_hash(e->ident, e->off, e->retaddr, nn);
				e->next = nb[h];
				nb[h] = e;
			}
		}
		free(s->c->bucket);
		s->c->bucket = nb;
		s->c->nbuckets = nn;
	}
	h = cache_hash(ent->ident, ent->off, ent->retaddr, s->c->nbuckets);
	ent->next = s->c->bucket[h];
	s->c->bucket[h] = ent;
	s->c->ncached++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* public: resolution */

/* Demangled name of a subprogram or inlined instance (through abstract_origin). */
static const char *die_func(struct syms *s, Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name = NULL;

	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr))
		name = dwarf_formstring(&attr);
	if (!name && dwarf_attr_integrate(die, DW_AT_name, &attr))
		name = dwarf_formstring(&attr);
	return intern_sym(s, name);
}

/* DW_AT_call_file / DW_AT_call_line of an inlined instance. */
static void die_call_site(struct syms *s, Dwarf_Die *die, const char **file, int *line)
{
	Dwarf_Attribute attr;
	Dwarf_Files *files;
	Dwarf_Word v;
	Dwarf_Die cu;
	size_t nfiles;
	const char *f = NULL;

	*file = NULL;
	*line = 0;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attr), &v) == 0 &&
	    dwarf_diecu(die, &cu, NULL, NULL) &&
	    dwarf_getsrcfiles(&cu, &files, &nfiles) == 0 && v < nfiles)
		f = dwarf_filesrc(files, v, NULL, NULL);
	if (f && strcmp(f, "???"))	/* libdw's name for DWARF < 5 file 0 */
		*file = syms_intern(s, f);
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &attr), &v) == 0 && v <= INT_MAX)
		*line = (int)v;
}

/* Symbolize ADDR in M from scratch. NULL on ENOMEM. */
/* A result of N frames FR for ADDR in M, to cache. */
static struct cache_ent *cache_ent_of(struct syms_mod *m, uint64_t addr, bool retaddr,
				      const struct cframe *fr, int n)
{
	struct cache_ent *ent = malloc(sizeof(*ent) + (size_t)n * sizeof(*fr));

	if (!ent)
		return NULL;
	ent->next = NULL;
	ent->ident = m->ident;
	ent->off = addr - m->img.bias;
	ent->retaddr = retaddr;
	ent->n = n;
	memcpy(ent->fr, fr, (size_t)n * sizeof(*fr));
	return ent;
}

/* A Go executable's frame, from its .gopclntab: NULL when it does not know ADDR. */
static struct cache_ent *symbolize_go(struct syms *s, struct syms_mod *m, uint64_t addr, bool retaddr)
{
	struct gobin_frame gf[16];
	struct cframe fr[16];
	uint64_t vaddr = addr - m->img.bias;
	int n = gobin__resolve(m->go, vaddr, retaddr, gf, 16);

	if (n <= 0 || !gf[n - 1].func)
		return NULL;
	for (int i = 0; i < n; i++) {
		fr[i].func = syms_intern(s, gf[i].func);
		fr[i].file = gf[i].file ? syms_intern(s, gf[i].file) : NULL;
		fr[i].line = gf[i].line;
		fr[i].inlined = gf[i].inlined;
		fr[i].offset = vaddr - gf[n - 1].entry;
	}
	return cache_ent_of(m, addr, retaddr, fr, n);
}

static struct cache_ent *symbolize(struct syms *s, struct syms_mod *m, uint64_t addr,
				   bool retaddr)
{
	uint64_t lookup = retaddr && addr ? addr - 1 : addr;
	const char *symname = NULL, *cur_file = NULL, *name;
	struct cframe *fr = NULL, *f;
	struct cache_ent *ent = NULL;
	Dwarf_Die *scopes = NULL, *cu, *sub = NULL, inner;
	Dwarf_Addr dwbias = 0, entry;
	bool have_sym = false;
	uint64_t offset = 0;
	int cur_line = 0, nscopes = 0, n = 0, lineno;
	Dwfl_Line *ln;
	GElf_Off symoff;
	GElf_Sym sym;

	name = dwfl_module_addrinfo(m->dm, lookup, &symoff, &sym, NULL, NULL, NULL);
	if (name) {
		symname = intern_sym(s, name);
		offset = symoff + (addr - lookup);
		have_sym = true;
	}

	ln = dwfl_module_getsrc(m->dm, lookup);
	if (ln) {
		name = dwfl_lineinfo(ln, NULL, &lineno, NULL, NULL, NULL);
		cur_file = syms_intern(s, name);
		cur_line = name && lineno > 0 ? lineno : 0;
	}

	cu = dwfl_module_addrdie(m->dm, lookup, &dwbias);
	if (cu && dwarf_getscopes(cu, lookup - dwbias, &scopes) > 0) {
		/* the concrete chain: dwarf_getscopes goes abstract after an inline */
		inner = scopes[0];
		free(scopes);
		scopes = NULL;
		nscopes = dwarf_getscopes_die(&inner, &scopes);
		if (nscopes < 0)
			nscopes = 0;
	}

	fr = calloc((size_t)nscopes + 1, sizeof(*fr));
	if (!fr)
		goto cleanup;
	for (int i = 0; i < nscopes; i++) {
		int tag = dwarf_tag(&scopes[i]);

		if (tag == DW_TAG_subprogram || tag == DW_TAG_entry_point) {
			sub = &scopes[i];
			break;
		}
		if (tag != DW_TAG_inlined_subroutine)
			continue;
		f = &fr[n++];
		f->func = die_func(s, &scopes[i]);
		f->file = cur_file;
		f->line = cur_line;
		f->inlined = true;
		die_call_site(s, &scopes[i], &cur_file, &cur_line);
	}

	f = &fr[n++];
	f->func = symname;
	if (!have_sym && sub) {
		f->func = die_func(s, sub);
		if (dwarf_entrypc(sub, &entry) == 0 && entry + dwbias <= addr)
			offset = addr - (entry + dwbias);
	}
	f->file = cur_file;
	f->line = cur_line;
	f->inlined = false;
	for (int i = 0; i < n; i++)
		fr[i].offset = offset;

	ent = cache_ent_of(m, addr, retaddr, fr, n);

cleanup:
	free(scopes);
	free(fr);
	return ent;
}

static void fill(struct sym_frame *out, const struct cframe *cf, uint64_t addr,
		 const struct syms_mod *m)
{
	out->addr = addr;
	out->func = cf->func;
	out->offset = cf->offset;
	out->file = cf->file;
	out->line = cf->line;
	out->module = m->img.id.path;
	out->module_off = addr - m->img.bias;
	out->inlined = cf->inlined;
}

int syms__resolve(struct syms *s, uint64_t addr, bool is_retaddr,
		  struct sym_frame *out, int max)
{
	struct cache_ent *ent;
	struct syms_mod *m;
	int n;

	if (!s || !out || max <= 0)
		return -EINVAL;
	m = syms_mod_at(s, addr);
	if (!m) {
		memset(out, 0, sizeof(*out));
		out->addr = addr;
		out->module = UNKNOWN_MODULE;
		out->module_off = addr;
		return 1;
	}

	ent = cache_find(s, m->ident, addr - m->img.bias, is_retaddr);
	if (!ent) {
		ent = m->go ? symbolize_go(s, m, addr, is_retaddr) : NULL;
		if (!ent)
			ent = symbolize(s, m, addr, is_retaddr);
		if (!ent)
			return -ENOMEM;
		if (cache_insert(s, ent)) {
			free(ent);
			return -ENOMEM;
		}
	}

	/* Too little room: keep the innermost inlined frames and the function. */
	n = ent->n <= max ? ent->n : max;
	for (int i = 0; i < n - 1; i++)
		fill(&out[i], &ent->fr[i], addr, m);
	fill(&out[n - 1], &ent->fr[ent->n - 1], addr, m);
	return n;
}
