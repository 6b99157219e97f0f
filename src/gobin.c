// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A Go executable's own tables (see gobin.h).
 *
 * The ELF headers are parsed here by hand (x86-64 little-endian only), so
 * that every read is one bounds-checked slice of the mapped file; libdw is
 * used only for DWARF structure offsets, capstone only to find data symbols
 * from code in stripped binaries.
 *
 * Layouts and formats, from the Go sources (runtime/symtab.go, runtime2.go,
 * cmd/link/internal/ld/pcln.go) of the versions named, and checked on real
 * binaries where said:
 * - pcHeader (1.18+): magic u32, pad u16, minLC u8, ptrSize u8, nfunc,
 *   nfiles, textStart, funcnameOffset, cuOffset, filetabOffset,
 *   pctabOffset, pclnOffset (8 bytes each). The sub-tables follow in that
 *   order; each ends where the next begins.
 * - functab: nfunc+1 pairs {entryoff u32, funcoff u32}; the last entryoff
 *   is the end of text.
 * - _func: entryOff 0, nameOff 4, args 8, deferreturn 12, pcsp 16,
 *   pcfile 20, pcln 24, npcdata 28, cuOffset 32, then 1.18/1.19: funcID 36,
 *   flag 37, nfuncdata 39 (40 bytes); 1.20+: startLine 36, funcID 40,
 *   flag 41, nfuncdata 43 (44 bytes). Then npcdata u32 offsets into pctab
 *   and nfuncdata u32 offsets from moduledata.gofunc (~0 = none).
 * - inlinedCall: 1.18/1.19 {parent i16, funcID u8, _, file i32, line i32,
 *   func_ i32 (12), parentPc i32 (16)} 20 B; 1.20+ {funcID u8, _[3],
 *   nameOff i32 (4), parentPc i32 (8), startLine i32} 16 B.
 * - moduledata: pcHeader 0, funcnametab 8 (slice), ..., minpc 160,
 *   text 176, etext 184, gofunc 304 (1.18/1.19) or 320 (1.20+: covctrs and
 *   ecovctrs added before it). text at 176 measured on go1.19.8 and on
 *   go1.26.5 (esbuild); gofunc at 304/320 checked on both by the inlined
 *   frames the tests resolve.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <capstone/capstone.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <libelf.h>

#include "gobin.h"

#define MAX_SEGS	32
#define MAX_SECS	4096
#define MAX_NFUNC	(1u << 24)
#define MAX_INLINE_DEPTH 64
#define MAX_CODE_SCAN	16384	/* bytes of one function disassembled */
#define MAX_REFS	64
#define PCLN_HDR_LEN	72

#define MAGIC_118	0xfffffff0u
#define MAGIC_120	0xfffffff1u
#define MAGIC_116	0xfffffffau
#define MAGIC_12	0xfffffffbu

#define PCDATA_INLTREEINDEX	2
#define FUNCDATA_INLTREE	3

struct seg {
	uint64_t vaddr, memsz, off, filesz;
	uint32_t flags;
};

struct sec {
	const char *name;
	uint64_t addr, off, size;
	uint32_t type;
	uint64_t flags;
	uint32_t link;
	uint64_t entsize;
};

struct rel {
	uint64_t off, addend;
};

struct gobin {
	char *name;
	uint8_t *img;
	size_t len;
	bool mapped;
	bool pie;
	struct seg segs[MAX_SEGS];
	int nsegs;
	struct sec *secs;
	int nsecs;
	struct rel *rels;
	size_t nrels;
	/* .symtab */
	const uint8_t *symtab;
	size_t nsyms;
	const char *strtab;
	size_t strtab_len;
	bool has_dwarf;
	/* version */
	char version[64];
	const char *version_src;
	int vmaj, vmin, vpat;
	char *modinfo;
	char *godebug;
	/* pclntab */
	uint64_t pcln_vaddr;
	const uint8_t *pcln;
	size_t pcln_len;
	uint32_t magic;
	uint32_t nfunc;
	uint64_t textbase, text_end;
	const uint8_t *fnames, *cutab, *filetab, *pctab, *ftab;
	size_t fnames_len, cutab_len, filetab_len, pctab_len, ftab_len;
	size_t func_size;
	uint64_t moduledata, gofunc;
	bool have_moduledata, have_gofunc;
	/* data symbols */
	uint64_t sym[GOBIN_SYM__MAX];
	const char *sym_src[GOBIN_SYM__MAX];
	uint8_t sym_state[GOBIN_SYM__MAX];	/* 0 not tried, 1 found, 2 absent */
	int wr_count;
	/* layout */
	struct go_layout layout;
	int layout_state;	/* 0 not tried, 1 ok, 2 none */
	struct go_mstats_layout mslayout;
	bool have_ms_dwarf;	/* mslayout came from the same DWARF pass */
};

static __thread char last_err[256];

static void set_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_err, sizeof(last_err), fmt, ap);
	va_end(ap);
}

const char *gobin__last_error(void)
{
	return last_err;
}

static inline uint32_t le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* ---------------------------------------------------------------------- */
/* the file                                                               */

static const uint8_t *img_at(const struct gobin *g, uint64_t off, uint64_t len)
{
	if (off > g->len || len > g->len - off)
		return NULL;
	return g->img + off;
}

static const struct seg *seg_of(const struct gobin *g, uint64_t vaddr)
{
	for (int i = 0; i < g->nsegs; i++) {
		const struct seg *s = &g->segs[i];

		if (vaddr >= s->vaddr && vaddr - s->vaddr < s->memsz)
			return s;
	}
	return NULL;
}

/* File bytes at VADDR, LEN of them all file-backed, or NULL. */
static const uint8_t *vaddr_file(const struct gobin *g, uint64_t vaddr, uint64_t len)
{
	for (int i = 0; i < g->nsegs; i++) {
		const struct seg *s = &g->segs[i];
		uint64_t d;

		if (vaddr < s->vaddr)
			continue;
		d = vaddr - s->vaddr;
		if (d >= s->filesz || len > s->filesz - d)
			continue;
		return img_at(g, s->off + d, len);
	}
	return NULL;
}

static bool is_writable(const struct gobin *g, uint64_t vaddr)
{
	const struct seg *s = seg_of(g, vaddr);

	return s && (s->flags & PF_W);
}

static const struct rel *rel_at(const struct gobin *g, uint64_t vaddr)
{
	size_t lo = 0, hi = g->nrels;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (g->rels[mid].off == vaddr)
			return &g->rels[mid];
		if (g->rels[mid].off < vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int gobin__read(const struct gobin *g, uint64_t vaddr, void *buf, size_t len)
{
	const uint8_t *p;

	if (!g || (!buf && len))
		return -EINVAL;
	p = vaddr_file(g, vaddr, len);
	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int gobin__read_ptr(const struct gobin *g, uint64_t vaddr, uint64_t *val)
{
	const struct rel *r = g->nrels ? rel_at(g, vaddr) : NULL;
	const uint8_t *p;

	if (r) {
		*val = r->addend;
		return 0;
	}
	p = vaddr_file(g, vaddr, 8);
	if (!p)
		return -EFAULT;
	*val = le64(p);
	return 0;
}

static const struct sec *find_sec(const struct gobin *g, const char *name)
{
	for (int i = 0; i < g->nsecs; i++)
		if (g->secs[i].name && !strcmp(g->secs[i].name, name))
			return &g->secs[i];
	return NULL;
}

static const uint8_t *sec_data(const struct gobin *g, const struct sec *s)
{
	if (!s || s->type == SHT_NOBITS)
		return NULL;
	return img_at(g, s->off, s->size);
}

static int cmp_rel(const void *a, const void *b)
{
	const struct rel *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static int parse_elf(struct gobin *g)
{
	Elf64_Ehdr eh;
	const uint8_t *p;

	if (g->len < sizeof(eh)) {
		set_err("too short for an ELF header");
		return -ENOEXEC;
	}
	memcpy(&eh, g->img, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG)) {
		set_err("not an ELF file");
		return -ENOEXEC;
	}
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64) {
		set_err("not an x86-64 ELF file (only x86-64 Go binaries are handled)");
		return -EPROTONOSUPPORT;
	}
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
		set_err("not an executable (ELF type %u)", eh.e_type);
		return -ENOEXEC;
	}
	g->pie = eh.e_type == ET_DYN;

	if (eh.e_phnum) {
		if (eh.e_phentsize != sizeof(Elf64_Phdr) ||
		    !(p = img_at(g, eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr)))) {
			set_err("program headers out of the file");
			return -EINVAL;
		}
		for (int i = 0; i < eh.e_phnum; i++) {
			Elf64_Phdr ph;

			memcpy(&ph, p + i * sizeof(ph), sizeof(ph));
			if (ph.p_type != PT_LOAD)
				continue;
			if (g->nsegs == MAX_SEGS || ph.p_filesz > ph.p_memsz ||
			    !img_at(g, ph.p_offset, ph.p_filesz) ||
			    ph.p_vaddr + ph.p_memsz < ph.p_vaddr) {
				set_err("bad PT_LOAD segment");
				return -EINVAL;
			}
			g->segs[g->nsegs++] = (struct seg){ ph.p_vaddr, ph.p_memsz, ph.p_offset,
							    ph.p_filesz, ph.p_flags };
		}
	}
	if (!g->nsegs) {
		set_err("no PT_LOAD segment");
		return -ENOEXEC;
	}

	/* Section headers are optional (a binary can have them stripped). */
	if (eh.e_shoff && eh.e_shnum && eh.e_shnum <= MAX_SECS &&
	    eh.e_shentsize == sizeof(Elf64_Shdr) &&
	    (p = img_at(g, eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr)))) {
		const uint8_t *strs = NULL;
		uint64_t strs_len = 0;
		Elf64_Shdr sh;

		g->secs = calloc(eh.e_shnum, sizeof(*g->secs));
		if (!g->secs)
			return -ENOMEM;
		g->nsecs = eh.e_shnum;
		if (eh.e_shstrndx < eh.e_shnum) {
			memcpy(&sh, p + eh.e_shstrndx * sizeof(sh), sizeof(sh));
			strs = img_at(g, sh.sh_offset, sh.sh_size);
			strs_len = strs ? sh.sh_size : 0;
		}
		for (int i = 0; i < eh.e_shnum; i++) {
			struct sec *s = &g->secs[i];

			memcpy(&sh, p + i * sizeof(sh), sizeof(sh));
			if (strs && sh.sh_name < strs_len &&
			    memchr(strs + sh.sh_name, 0, strs_len - sh.sh_name))
				s->name = (const char *)strs + sh.sh_name;
			s->addr = sh.sh_addr;
			s->off = sh.sh_offset;
			s->size = sh.sh_size;
			s->type = sh.sh_type;
			s->flags = sh.sh_flags;
			s->link = sh.sh_link;
			s->entsize = sh.sh_entsize;
			if (s->name && (!strncmp(s->name, ".debug_", 7) || !strncmp(s->name, ".zdebug_", 8)))
				g->has_dwarf = true;
		}
	}

	/* .symtab with its string table */
	for (int i = 0; i < g->nsecs; i++) {
		const struct sec *s = &g->secs[i];
		const uint8_t *d, *str;

		if (s->type != SHT_SYMTAB || s->entsize != sizeof(Elf64_Sym) ||
		    s->link >= (uint32_t)g->nsecs)
			continue;
		d = sec_data(g, s);
		str = sec_data(g, &g->secs[s->link]);
		if (!d || !str)
			continue;
		g->symtab = d;
		g->nsyms = s->size / sizeof(Elf64_Sym);
		g->strtab = (const char *)str;
		g->strtab_len = g->secs[s->link].size;
		break;
	}

	/* R_X86_64_RELATIVE relocations (PIE): pointers whose file bytes are 0 */
	for (int i = 0; i < g->nsecs; i++) {
		const struct sec *s = &g->secs[i];
		const uint8_t *d = s->type == SHT_RELA ? sec_data(g, s) : NULL;
		size_t n, k;
		struct rel *nr;

		if (!d || s->entsize != sizeof(Elf64_Rela))
			continue;
		n = s->size / sizeof(Elf64_Rela);
		if (!n || n > (1u << 26))
			continue;
		nr = realloc(g->rels, (g->nrels + n) * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		g->rels = nr;
		for (k = 0; k < n; k++) {
			Elf64_Rela r;

			memcpy(&r, d + k * sizeof(r), sizeof(r));
			if (ELF64_R_TYPE(r.r_info) != R_X86_64_RELATIVE)
				continue;
			g->rels[g->nrels++] = (struct rel){ r.r_offset, (uint64_t)r.r_addend };
		}
	}
	if (g->nrels)
		qsort(g->rels, g->nrels, sizeof(*g->rels), cmp_rel);
	return 0;
}

/* .symtab: value and size of NAME. */
static bool symtab_lookup(const struct gobin *g, const char *name, uint64_t *value, uint64_t *size)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < g->nsyms; i++) {
		Elf64_Sym s;

		memcpy(&s, g->symtab + i * sizeof(s), sizeof(s));
		if (s.st_name >= g->strtab_len || s.st_shndx == SHN_UNDEF)
			continue;
		if (g->strtab_len - s.st_name <= nl || memcmp(g->strtab + s.st_name, name, nl + 1))
			continue;
		*value = s.st_value;
		if (size)
			*size = s.st_size;
		return true;
	}
	return false;
}

/* ---------------------------------------------------------------------- */
/* version and module info                                                */

static void parse_version(struct gobin *g)
{
	const char *v = strstr(g->version, "go1.");
	int maj = 0, min = 0, pat = 0;

	g->vmaj = g->vmin = g->vpat = 0;
	if (!v)
		return;
	if (sscanf(v, "go%d.%d.%d", &maj, &min, &pat) >= 2 && maj == 1 && min >= 0 && min < 1000 &&
	    pat >= 0) {
		g->vmaj = maj;
		g->vmin = min;
		g->vpat = pat;
	}
}

static bool plausible_version(const uint8_t *s, size_t n)
{
	if (n < 4 || n > 48 || memcmp(s, "go1.", 4))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return s[4] >= '0' && s[4] <= '9';
}

static void set_version(struct gobin *g, const uint8_t *s, size_t n, const char *src)
{
	if (n >= sizeof(g->version))
		n = sizeof(g->version) - 1;
	memcpy(g->version, s, n);
	g->version[n] = 0;
	g->version_src = src;
	parse_version(g);
}

/* Go's uvarint, bounded. */
static bool uvarint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t *p = *pp;
	uint64_t x = 0;
	unsigned s = 0;

	while (p < end && s < 64) {
		uint8_t b = *p++;

		x |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80)) {
			*v = x;
			*pp = p;
			return true;
		}
		s += 7;
	}
	return false;
}

static void parse_modinfo(struct gobin *g, const uint8_t *m, size_t n)
{
	const char *line, *key = "build\tDefaultGODEBUG=";

	/* runtime/debug: 16-byte sentinels around the text */
	if (n >= 33 && m[n - 17] == '\n') {
		m += 16;
		n -= 32;
	}
	g->modinfo = strndup((const char *)m, n);
	if (!g->modinfo)
		return;
	for (line = g->modinfo; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (!strncmp(line, key, strlen(key))) {
			const char *v = line + strlen(key);

			g->godebug = strndup(v, strcspn(v, "\n"));
			break;
		}
	}
}

static void parse_buildinfo(struct gobin *g)
{
	static const uint8_t magic[14] = "\xff Go buildinf:";
	const struct sec *s = find_sec(g, ".go.buildinfo");
	const uint8_t *d = sec_data(g, s), *p, *end;
	uint64_t n;

	if (!d || s->size < 32 || memcmp(d, magic, sizeof(magic)))
		return;
	end = d + s->size;
	if (d[14] != 8)
		return;
	if (d[15] & 2) {	/* 1.18+: varint-prefixed strings inline */
		p = d + 32;
		if (!uvarint(&p, end, &n) || n > (uint64_t)(end - p))
			return;
		if (plausible_version(p, n))
			set_version(g, p, n, "buildinfo");
		p += n;
		if (!uvarint(&p, end, &n) || n > (uint64_t)(end - p))
			return;
		parse_modinfo(g, p, n);
	} else {		/* before 1.18: pointers to string headers */
		uint64_t sv, ptr, len;
		const uint8_t *str;

		if (gobin__read_ptr(g, s->addr + 16, &sv) || gobin__read_ptr(g, sv, &ptr) ||
		    gobin__read_ptr(g, sv + 8, &len) || len > 64 || !(str = vaddr_file(g, ptr, len)))
			return;
		if (plausible_version(str, len))
			set_version(g, str, len, "buildinfo");
	}
}

/* runtime.buildVersion: the symbol, else a {ptr, len} in data pointing at "go1.N...". */
static void find_build_version(struct gobin *g)
{
	uint64_t addr, ptr, len;
	const uint8_t *str;

	if (symtab_lookup(g, "runtime.buildVersion", &addr, NULL) &&
	    !gobin__read_ptr(g, addr, &ptr) && !gobin__read_ptr(g, addr + 8, &len) &&
	    len <= 48 && (str = vaddr_file(g, ptr, len)) && plausible_version(str, len)) {
		g->sym[GOBIN_SYM_BUILDVERSION] = addr;
		g->sym_src[GOBIN_SYM_BUILDVERSION] = "symtab";
		g->sym_state[GOBIN_SYM_BUILDVERSION] = 1;
		if (!g->version[0])
			set_version(g, str, len, "symtab");
		return;
	}
	for (int i = 0; i < g->nsegs; i++) {
		const struct seg *s = &g->segs[i];

		if (!(s->flags & PF_W))
			continue;
		for (uint64_t a = (s->vaddr + 7) & ~7ull; a + 16 <= s->vaddr + s->filesz; a += 8) {
			if (gobin__read_ptr(g, a, &ptr) || !ptr || gobin__read_ptr(g, a + 8, &len) ||
			    len < 6 || len > 48)
				continue;
			str = vaddr_file(g, ptr, len);
			if (!str || !plausible_version(str, len))
				continue;
			g->sym[GOBIN_SYM_BUILDVERSION] = a;
			g->sym_src[GOBIN_SYM_BUILDVERSION] = "scan";
			g->sym_state[GOBIN_SYM_BUILDVERSION] = 1;
			if (!g->version[0])
				set_version(g, str, len, "data scan");
			return;
		}
	}
	g->sym_state[GOBIN_SYM_BUILDVERSION] = 2;
}

/* ---------------------------------------------------------------------- */
/* pclntab                                                                */

static int parse_pcln_at(struct gobin *g, uint64_t vaddr, const uint8_t *d, size_t len)
{
	uint64_t nfunc, off[5], text_start;
	uint32_t magic;

	if (len < PCLN_HDR_LEN)
		return -EINVAL;
	magic = le32(d);
	if (magic == MAGIC_116 || magic == MAGIC_12) {
		set_err("pclntab magic 0x%x: a Go older than 1.18 (not handled)", magic);
		return -EPROTONOSUPPORT;
	}
	if (magic != MAGIC_118 && magic != MAGIC_120) {
		if ((magic & 0xfffffff0u) == 0xfffffff0u && magic > MAGIC_120) {
			set_err("pclntab magic 0x%x: a Go newer than this reader knows", magic);
			return -EPROTONOSUPPORT;
		}
		set_err("pclntab magic 0x%x unknown", magic);
		return -EINVAL;
	}
	if (d[4] || d[5] || d[6] != 1 || d[7] != 8) {
		set_err("pclntab header: pc quantum %u, pointer size %u", d[6], d[7]);
		return -EINVAL;
	}
	nfunc = le64(d + 8);
	if (!nfunc || nfunc > MAX_NFUNC) {
		set_err("pclntab: %llu functions", (unsigned long long)nfunc);
		return -EINVAL;
	}
	if (gobin__read_ptr(g, vaddr + 24, &text_start))
		text_start = le64(d + 24);
	for (int i = 0; i < 5; i++) {
		off[i] = le64(d + 32 + 8 * i);
		if (off[i] < PCLN_HDR_LEN || off[i] > len || (i && off[i] < off[i - 1])) {
			set_err("pclntab: table offsets out of order or out of the section");
			return -EINVAL;
		}
	}
	g->magic = magic;
	g->pcln_vaddr = vaddr;
	g->pcln = d;
	g->pcln_len = len;
	g->nfunc = (uint32_t)nfunc;
	g->textbase = text_start;
	g->fnames = d + off[0];
	g->fnames_len = off[1] - off[0];
	g->cutab = d + off[1];
	g->cutab_len = off[2] - off[1];
	g->filetab = d + off[2];
	g->filetab_len = off[3] - off[2];
	g->pctab = d + off[3];
	g->pctab_len = off[4] - off[3];
	g->ftab = d + off[4];
	g->ftab_len = len - off[4];
	g->func_size = magic == MAGIC_118 ? 40 : 44;

	if ((uint64_t)(nfunc + 1) * 8 > g->ftab_len) {
		set_err("pclntab: function table past the section");
		return -EINVAL;
	}
	/* sorted entries, every _func (with its pcdata/funcdata arrays) inside */
	for (uint32_t i = 0; i <= g->nfunc; i++) {
		uint32_t e = le32(g->ftab + 8 * i), fo = le32(g->ftab + 8 * i + 4);

		if (i && e < le32(g->ftab + 8 * (i - 1))) {
			set_err("pclntab: function table not sorted");
			return -EINVAL;
		}
		if (i < g->nfunc) {
			const uint8_t *f;
			uint64_t extra;

			if ((uint64_t)fo + g->func_size > g->ftab_len) {
				set_err("pclntab: function %u out of the table", i);
				return -EINVAL;
			}
			f = g->ftab + fo;
			extra = 4ull * le32(f + 28) + 4ull * f[g->func_size - 1];
			if ((uint64_t)fo + g->func_size + extra > g->ftab_len) {
				set_err("pclntab: function %u data out of the table", i);
				return -EINVAL;
			}
		}
	}
	return 0;
}

static int find_pclntab(struct gobin *g)
{
	static const char *const names[] = { ".gopclntab", ".data.rel.ro.gopclntab" };
	int err = -ENOEXEC;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct sec *s = find_sec(g, names[i]);
		const uint8_t *d = sec_data(g, s);

		if (!d)
			continue;
		return parse_pcln_at(g, s->addr, d, s->size);
	}
	/*
	 * No section (section headers stripped): look for the header in the
	 * non-executable file-backed segments, 8-aligned; the first one that
	 * parses wins.
	 */
	for (int i = 0; i < g->nsegs; i++) {
		const struct seg *s = &g->segs[i];
		const uint8_t *base = img_at(g, s->off, s->filesz);

		if (!base || (s->flags & PF_X))
			continue;
		for (uint64_t o = (8 - (s->vaddr & 7)) & 7; o + PCLN_HDR_LEN <= s->filesz; o += 8) {
			uint32_t m = le32(base + o);

			if ((m != MAGIC_118 && m != MAGIC_120 && m != MAGIC_116 && m != MAGIC_12) ||
			    base[o + 4] || base[o + 5] || base[o + 6] != 1 || base[o + 7] != 8)
				continue;
			err = parse_pcln_at(g, s->vaddr + o, base + o, s->filesz - o);
			if (!err || err == -EPROTONOSUPPORT)
				return err;
		}
	}
	if (err == -ENOEXEC)
		set_err("no .gopclntab: not a Go binary");
	return err;
}

static uint32_t ftab_entry(const struct gobin *g, uint32_t i)
{
	return le32(g->ftab + 8 * (uint64_t)i);
}

static const uint8_t *func_of(const struct gobin *g, uint32_t i)
{
	return g->ftab + le32(g->ftab + 8 * (uint64_t)i + 4);
}

/* moduledata: the section, the symbol, or a scan for a pointer to the pclntab header. */
static bool check_moduledata(struct gobin *g, uint64_t md)
{
	uint64_t v, fn_off = le64(g->pcln + 32), cu_off = le64(g->pcln + 40);

	if (gobin__read_ptr(g, md, &v) || v != g->pcln_vaddr)
		return false;
	if (gobin__read_ptr(g, md + 8, &v) || v != g->pcln_vaddr + fn_off)
		return false;
	/* its length: the table without the alignment padding before cutab */
	if (gobin__read_ptr(g, md + 16, &v) || v > cu_off - fn_off || v + 64 < cu_off - fn_off)
		return false;
	return true;
}

static void find_moduledata(struct gobin *g)
{
	const struct sec *s = find_sec(g, ".go.module");
	uint64_t md = 0, text, etext, minpc, gofunc;

	if (s && check_moduledata(g, s->addr))
		md = s->addr;
	if (!md && symtab_lookup(g, "runtime.firstmoduledata", &md, NULL) && !check_moduledata(g, md))
		md = 0;
	for (int i = 0; !md && i < g->nsegs; i++) {
		const struct seg *sg = &g->segs[i];
		uint64_t v;

		if (!(sg->flags & PF_W))
			continue;
		for (uint64_t a = (sg->vaddr + 7) & ~7ull; a + 200 <= sg->vaddr + sg->filesz; a += 8)
			if (!gobin__read_ptr(g, a, &v) && v == g->pcln_vaddr && check_moduledata(g, a)) {
				md = a;
				break;
			}
	}
	if (!md)
		return;
	if (gobin__read_ptr(g, md + 160, &minpc) || gobin__read_ptr(g, md + 176, &text) ||
	    gobin__read_ptr(g, md + 184, &etext))
		return;
	/* minpc is the first function's entry */
	if (minpc != text + ftab_entry(g, 0) || etext < text)
		return;
	g->moduledata = md;
	g->have_moduledata = true;
	g->sym[GOBIN_SYM_FIRSTMODULEDATA] = md;
	g->sym_src[GOBIN_SYM_FIRSTMODULEDATA] = s && s->addr == md ? "section" : "scan";
	g->sym_state[GOBIN_SYM_FIRSTMODULEDATA] = 1;
	if (!g->textbase)
		g->textbase = text;
	if (!gobin__read_ptr(g, md + (g->magic == MAGIC_118 ? 304 : 320), &gofunc) &&
	    vaddr_file(g, gofunc, 1) && !is_writable(g, gofunc)) {
		g->gofunc = gofunc;
		g->have_gofunc = true;
	}
}

/* Index of the function containing VADDR, or -1. */
static int64_t func_index(const struct gobin *g, uint64_t vaddr)
{
	uint64_t off;
	uint32_t lo = 0, hi;

	if (vaddr < g->textbase)
		return -1;
	off = vaddr - g->textbase;
	if (off > UINT32_MAX || off < ftab_entry(g, 0) || off >= ftab_entry(g, g->nfunc))
		return -1;
	hi = g->nfunc;	/* the answer is in [lo, hi) */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ftab_entry(g, mid) <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static const char *cstr(const uint8_t *tab, size_t len, uint64_t off)
{
	if (off >= len || !memchr(tab + off, 0, len - off))
		return NULL;
	return (const char *)tab + off;
}

static const char *func_name_at(const struct gobin *g, const uint8_t *f)
{
	int32_t off = (int32_t)le32(f + 4);

	return off < 0 ? NULL : cstr(g->fnames, g->fnames_len, (uint64_t)off);
}

/* Go's readvarint for pc tables (uint32), bounded. */
static bool pcvarint(const uint8_t **pp, const uint8_t *end, uint32_t *v)
{
	const uint8_t *p = *pp;
	uint32_t x = 0;
	unsigned s = 0;

	while (p < end && s < 35) {
		uint8_t b = *p++;

		x |= (uint32_t)(b & 0x7f) << s;
		if (!(b & 0x80)) {
			*v = x;
			*pp = p;
			return true;
		}
		s += 7;
	}
	return false;
}

/*
 * The value of pc table OFF at TARGET for a function at ENTRY..END: the
 * runtime's pcvalue(). -1 when there is no table, it does not cover TARGET,
 * or it is corrupt.
 */
static int32_t pcvalue(const struct gobin *g, uint32_t off, uint64_t entry, uint64_t end,
		       uint64_t target)
{
	const uint8_t *p, *e = g->pctab + g->pctab_len;
	uint64_t pc = entry;
	int32_t val = -1;
	bool first = true;

	if (!off || off >= g->pctab_len || target < entry || target >= end)
		return -1;
	p = g->pctab + off;
	while (p < e) {
		uint32_t uv, pcd;

		if (*p == 0 && !first)
			break;
		if (!pcvarint(&p, e, &uv) || !pcvarint(&p, e, &pcd))
			return -1;
		val += (int32_t)(-(uv & 1) ^ (uv >> 1));
		pc += pcd;
		if (target < pc)
			return val;
		if (pc >= end)
			return -1;
		first = false;
	}
	return -1;
}

struct fn {
	const uint8_t *f;
	uint64_t entry, end;
};

static bool fn_get(const struct gobin *g, int64_t i, struct fn *fn)
{
	if (i < 0 || i >= g->nfunc)
		return false;
	fn->f = func_of(g, (uint32_t)i);
	fn->entry = g->textbase + ftab_entry(g, (uint32_t)i);
	fn->end = g->textbase + ftab_entry(g, (uint32_t)i + 1);
	return true;
}

static void file_line(const struct gobin *g, const struct fn *fn, uint64_t pc,
		      const char **file, int *line)
{
	int32_t fileno = pcvalue(g, le32(fn->f + 20), fn->entry, fn->end, pc);
	int32_t ln = pcvalue(g, le32(fn->f + 24), fn->entry, fn->end, pc);
	uint64_t cu = le32(fn->f + 32);

	*file = NULL;
	*line = ln > 0 ? ln : 0;
	if (fileno >= 0 && (cu + (uint64_t)fileno + 1) * 4 <= g->cutab_len) {
		uint32_t fo = le32(g->cutab + (cu + (uint64_t)fileno) * 4);

		if (fo != UINT32_MAX)
			*file = cstr(g->filetab, g->filetab_len, fo);
	}
}

static uint32_t fn_npcdata(const struct gobin *g, const struct fn *fn)
{
	(void)g;
	return le32(fn->f + 28);
}

static uint32_t fn_pcdata(const struct gobin *g, const struct fn *fn, uint32_t i)
{
	if (i >= fn_npcdata(g, fn))
		return 0;
	return le32(fn->f + g->func_size + 4 * i);
}

/* funcdata I as a link-time address, or 0. */
static uint64_t fn_funcdata(const struct gobin *g, const struct fn *fn, uint32_t i)
{
	uint8_t nfd = fn->f[g->func_size - 1];
	uint32_t off;

	if (i >= nfd || !g->have_gofunc)
		return 0;
	off = le32(fn->f + g->func_size + 4 * fn_npcdata(g, fn) + 4 * i);
	return off == UINT32_MAX ? 0 : g->gofunc + off;
}

int gobin__resolve(struct gobin *g, uint64_t vaddr, bool is_retaddr,
		   struct gobin_frame *out, int max)
{
	uint64_t look, target, inltree;
	uint32_t inlidx;
	struct fn fn;
	int n = 0, depth;

	if (!g || !out || max <= 0)
		return -EINVAL;
	look = is_retaddr && vaddr ? vaddr - 1 : vaddr;
	if (!fn_get(g, func_index(g, look), &fn))
		return 0;
	target = look;
	inlidx = fn_pcdata(g, &fn, PCDATA_INLTREEINDEX);
	inltree = inlidx ? fn_funcdata(g, &fn, FUNCDATA_INLTREE) : 0;
	for (depth = 0; inltree && n < max - 1 && depth < MAX_INLINE_DEPTH; depth++) {
		int32_t ix = pcvalue(g, inlidx, fn.entry, fn.end, target);
		size_t esz = g->magic == MAGIC_118 ? 20 : 16;
		uint8_t ent[20];
		int32_t name_off, parent_pc;
		struct gobin_frame *fr;

		if (ix < 0 || gobin__read(g, inltree + (uint64_t)ix * esz, ent, esz))
			break;
		name_off = (int32_t)le32(ent + (esz == 20 ? 12 : 4));
		parent_pc = (int32_t)le32(ent + (esz == 20 ? 16 : 8));
		fr = &out[n++];
		fr->pc = vaddr;
		fr->entry = fn.entry;
		fr->func = name_off >= 0 ? cstr(g->fnames, g->fnames_len, (uint64_t)name_off) : NULL;
		fr->inlined = true;
		file_line(g, &fn, target, &fr->file, &fr->line);
		if (parent_pc < 0 || fn.entry + (uint64_t)parent_pc >= fn.end)
			break;
		target = fn.entry + (uint64_t)parent_pc;
	}
	out[n].pc = vaddr;
	out[n].entry = fn.entry;
	out[n].func = func_name_at(g, fn.f);
	out[n].inlined = false;
	file_line(g, &fn, target, &out[n].file, &out[n].line);
	return n + 1;
}

const char *gobin__func_name(struct gobin *g, uint64_t vaddr)
{
	struct fn fn;

	if (!g || !fn_get(g, func_index(g, vaddr), &fn))
		return NULL;
	return func_name_at(g, fn.f);
}

bool gobin__is_func_entry(struct gobin *g, uint64_t vaddr)
{
	struct fn fn;

	return g && fn_get(g, func_index(g, vaddr), &fn) && fn.entry == vaddr;
}

int gobin__func_at(struct gobin *g, uint64_t vaddr, uint64_t *entry, uint64_t *end)
{
	struct fn fn;

	if (!g || !fn_get(g, func_index(g, vaddr), &fn))
		return -ENOENT;
	if (entry)
		*entry = fn.entry;
	if (end)
		*end = fn.end;
	return 0;
}

int gobin__func_lookup(struct gobin *g, const char *name, uint64_t *entry, uint64_t *end)
{
	if (!g || !name)
		return -EINVAL;
	for (uint32_t i = 0; i < g->nfunc; i++) {
		const char *n = func_name_at(g, func_of(g, i));
		struct fn fn;

		if (!n || strcmp(n, name) || !fn_get(g, i, &fn))
			continue;
		if (entry)
			*entry = fn.entry;
		if (end)
			*end = fn.end;
		return 0;
	}
	return -ENOENT;
}

/* ---------------------------------------------------------------------- */
/* data symbols from code                                                 */

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
	if (symtab_lookup(g, sym_names[which], &v, &size) ||
	    (which == GOBIN_SYM_FINGRUNNING && symtab_lookup(g, "runtime.fingStatus", &v, &size))) {
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

/* ---------------------------------------------------------------------- */
/* structure layouts                                                      */

/*
 * Per-version runtime.g offsets, amd64.
 * - go1.19: measured (DWARF of Debian's go1.19.8 and FACTS.md).
 * - go1.26: measured on esbuild 0.28.2's go1.26.5 (FACTS.md: live
 *   calibration and its SIGQUIT dump agree).
 * - go1.20: from the 1.20 sources: fields up to sigpc as in 1.19 (only
 *   types changed to atomic ones of the same size).
 * - go1.21/1.22: from the sources: the tracer's fields moved to the end
 *   (gTraceState), nocgocallback and parentGoid added before gopc.
 * - go1.23/1.24: from the sources and a public goid table (goid 160):
 *   syscallbp added after syscallpc.
 * - go1.25: from the sources: gobuf.ret removed (sched.bp at +40), which
 *   brings goid back to 152; gopc/startpc as measured for 1.26.
 * p.timers: 1.19 the []*timer slice at 8840 (DWARF); 1.26 the heap slice
 * at 13680, inside the timers struct at 13672 after its 8-byte mutex
 * (read on esbuild's memory). Other versions: DWARF only.
 * Only 1.19 and 1.26 were seen on a real binary; goproc checks every
 * entry on live memory and calibrates when it fails.
 */
struct layout_row {
	int minor;
	bool measured;
	int sched_bp, atomicstatus, goid, parentgoid, gopc, startpc;
	int p_timers;		/* -1: unknown for this version */
	int t_when, t_period, t_f, t_arg, t_status;
	bool timers_heap;
};

static const struct layout_row layout_rows[] = {
	/* minor meas  bp  st   goid pgoid gopc start  p.timers when per  f   arg status heap */
	{ 19, true,  48, 144, 152, -1,  296, 312,  8840,    8,  16, 24, 32, 64, false },
	{ 20, false, 48, 144, 152, -1,  296, 312,  -1,      8,  16, 24, 32, 64, false },
	{ 21, false, 48, 144, 152, 272, 280, 296,  -1,      8,  16, 24, 32, 64, false },
	{ 22, false, 48, 144, 152, 272, 280, 296,  -1,      8,  16, 24, 32, 64, false },
	{ 23, false, 48, 152, 160, 280, 288, 304,  -1,      16, 24, 32, 40, 9,  true },
	{ 24, false, 48, 152, 160, 280, 288, 304,  -1,      16, 24, 32, 40, 9,  true },
	{ 25, false, 40, 144, 152, 280, 288, 304,  -1,      24, 32, 40, 48, 9,  true },
	{ 26, true,  40, 144, 152, 280, 288, 304,  13680,   24, 32, 40, 48, 9,  true },
};

int gobin__layout_table(int major, int minor, struct go_layout *out)
{
	const struct layout_row *r = NULL;

	if (!out || major != 1)
		return -ENOENT;
	for (size_t i = 0; i < sizeof(layout_rows) / sizeof(layout_rows[0]); i++)
		if (layout_rows[i].minor == minor)
			r = &layout_rows[i];
	if (!r)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	snprintf(out->source, sizeof(out->source), "table go1.%d (%s)", minor,
		 r->measured ? "measured" : "from source");
	out->g_stack_lo = 0;
	out->g_stack_hi = 8;
	out->g_sched_sp = 56;
	out->g_sched_pc = 64;
	out->g_sched_g = 72;
	out->g_sched_bp = 56 + r->sched_bp;
	out->g_atomicstatus = r->atomicstatus;
	out->g_goid = r->goid;
	out->g_waitsince = r->goid + 16;
	out->g_waitreason = r->goid + 24;
	out->g_parentgoid = r->parentgoid;
	out->g_gopc = r->gopc;
	out->g_startpc = r->startpc;
	out->g_size = r->startpc + 8;
	out->p_timers = r->p_timers;
	out->timers_heap = r->timers_heap;
	out->timer_when = r->t_when;
	out->timer_period = r->t_period;
	out->timer_f = r->t_f;
	out->timer_arg = r->t_arg;
	out->timer_status = r->t_status;
	out->timer_state_u8 = r->timers_heap;
	return 0;
}

struct dw_types {
	Dwarf_Die g, p, timer, gobuf, stack, timers, mstats, hsd;
	bool have_g, have_p, have_timer, have_mstats, have_hsd;
};

static void mstats_from_dies(struct gobin *g, Dwarf_Die *ms, Dwarf_Die *hsd);

static bool dw_member(Dwarf_Die *st, const char *name, int *off, Dwarf_Die *type)
{
	Dwarf_Die m;

	if (dwarf_child(st, &m) != 0)
		return false;
	do {
		Dwarf_Attribute a;
		Dwarf_Word w;
		const char *n;

		if (dwarf_tag(&m) != DW_TAG_member || !(n = dwarf_diename(&m)) || strcmp(n, name))
			continue;
		if (!dwarf_attr(&m, DW_AT_data_member_location, &a) || dwarf_formudata(&a, &w) ||
		    w > 1 << 20)
			return false;
		*off = (int)w;
		if (!type)
			return true;
		if (!dwarf_attr_integrate(&m, DW_AT_type, &a) || !dwarf_formref_die(&a, type))
			return false;
		/* Go names its types through a typedef of the struct */
		for (int depth = 0; dwarf_tag(type) == DW_TAG_typedef && depth < 8; depth++)
			if (!dwarf_attr_integrate(type, DW_AT_type, &a) || !dwarf_formref_die(&a, type))
				return false;
		return true;
	} while (dwarf_siblingof(&m, &m) == 0);
	return false;
}

/* Offset of a dotted member path ("sched.pc"), or -1. */
static int dw_path(Dwarf_Die *st, const char *path)
{
	char buf[64], *save = NULL, *tok;
	Dwarf_Die cur = *st, next;
	int total = 0;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
		int off;

		if (!dw_member(&cur, tok, &off, &next))
			return -1;
		total += off;
		cur = next;
	}
	return total;
}

static int layout_dwarf(struct gobin *g, struct go_layout *out)
{
	Elf *e;
	Dwarf *dw;
	Dwarf_Off off = 0, next;
	size_t hsize;
	struct dw_types t = { 0 };
	int ret = -ENOENT;

	elf_version(EV_CURRENT);
	e = elf_memory((char *)g->img, g->len);
	if (!e)
		return -ENOENT;
	dw = dwarf_begin_elf(e, DWARF_C_READ, NULL);
	if (!dw)
		goto out_elf;
	while (!(t.have_g && t.have_p && t.have_timer && t.have_mstats && t.have_hsd) &&
	       dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, d;

		if (!dwarf_offdie(dw, off + hsize, &cu) || dwarf_child(&cu, &d) != 0) {
			off = next;
			continue;
		}
		do {
			const char *n;

			if (dwarf_tag(&d) != DW_TAG_structure_type || !(n = dwarf_diename(&d)))
				continue;
			if (!t.have_g && !strcmp(n, "runtime.g")) {
				t.g = d;
				t.have_g = true;
			} else if (!t.have_p && !strcmp(n, "runtime.p")) {
				t.p = d;
				t.have_p = true;
			} else if (!t.have_timer && !strcmp(n, "runtime.timer")) {
				t.timer = d;
				t.have_timer = true;
			} else if (!t.have_mstats && !strcmp(n, "runtime.mstats")) {
				t.mstats = d;
				t.have_mstats = true;
			} else if (!t.have_hsd && !strcmp(n, "runtime.heapStatsDelta")) {
				t.hsd = d;
				t.have_hsd = true;
			}
		} while (dwarf_siblingof(&d, &d) == 0);
		off = next;
	}
	/*
	 * The memstats types are taken in this same pass: libdw decompresses
	 * .zdebug sections through the section headers of the image, so a
	 * second elf_memory() on it finds no DWARF.
	 */
	if (t.have_mstats && t.have_hsd)
		mstats_from_dies(g, &t.mstats, &t.hsd);
	if (!t.have_g)
		goto out_dw;
	memset(out, 0, sizeof(*out));
	snprintf(out->source, sizeof(out->source), "dwarf");
	out->g_stack_lo = dw_path(&t.g, "stack.lo");
	out->g_stack_hi = dw_path(&t.g, "stack.hi");
	out->g_sched_sp = dw_path(&t.g, "sched.sp");
	out->g_sched_pc = dw_path(&t.g, "sched.pc");
	out->g_sched_g = dw_path(&t.g, "sched.g");
	out->g_sched_bp = dw_path(&t.g, "sched.bp");
	out->g_atomicstatus = dw_path(&t.g, "atomicstatus");
	out->g_goid = dw_path(&t.g, "goid");
	out->g_waitsince = dw_path(&t.g, "waitsince");
	out->g_waitreason = dw_path(&t.g, "waitreason");
	out->g_parentgoid = dw_path(&t.g, "parentGoid");
	out->g_gopc = dw_path(&t.g, "gopc");
	out->g_startpc = dw_path(&t.g, "startpc");
	if (out->g_stack_lo < 0 || out->g_stack_hi < 0 || out->g_sched_sp < 0 ||
	    out->g_sched_pc < 0 || out->g_sched_bp < 0 || out->g_atomicstatus < 0 ||
	    out->g_goid < 0 || out->g_waitsince < 0 || out->g_waitreason < 0 ||
	    out->g_gopc < 0 || out->g_startpc < 0)
		goto out_dw;
	out->g_size = out->g_startpc > out->g_gopc ? out->g_startpc + 8 : out->g_gopc + 8;
	out->p_timers = -1;
	if (t.have_p) {
		int heap = dw_path(&t.p, "timers.heap");

		if (heap >= 0) {
			out->p_timers = heap;
			out->timers_heap = true;
		} else {
			out->p_timers = dw_path(&t.p, "timers");
		}
	}
	if (t.have_timer) {
		out->timer_when = dw_path(&t.timer, "when");
		out->timer_period = dw_path(&t.timer, "period");
		out->timer_f = dw_path(&t.timer, "f");
		out->timer_arg = dw_path(&t.timer, "arg");
		out->timer_status = dw_path(&t.timer, "status");
		if (out->timer_status < 0) {
			out->timer_status = dw_path(&t.timer, "state");
			out->timer_state_u8 = true;
		}
	} else {
		out->p_timers = -1;
	}
	ret = 0;
out_dw:
	dwarf_end(dw);
out_elf:
	elf_end(e);
	return ret;
}

int gobin__layout(struct gobin *g, struct go_layout *out)
{
	if (!g || !out)
		return -EINVAL;
	if (!g->layout_state) {
		g->layout_state = 2;
		if ((g->has_dwarf && layout_dwarf(g, &g->layout) == 0) ||
		    gobin__layout_table(g->vmaj, g->vmin, &g->layout) == 0)
			g->layout_state = 1;
	}
	if (g->layout_state != 1)
		return -ENOENT;
	*out = g->layout;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* memstats layout                                                        */

/*
 * runtime.mstats, amd64: heapStats consistentHeapStats at 0 ({stats
 * [3]heapStatsDelta; gen u32; noPLock mutex (8)}), then stacks_sys,
 * mspan_sys, mcache_sys, buckhash_sys, gcMiscSys, other_sys,
 * last_gc_unix, pause_total_ns, pause_ns [256]u64, pause_end [256]u64,
 * numgc u32, numforcedgc u32 (the same in the sources of 1.19 and of
 * 1.25+; later fields do not matter). heapStatsDelta: committed,
 * released, inHeap, inStacks, inWorkBufs, inPtrScalarBits (i64 each; the
 * last one is gone once GC programs are: not in the sources that have
 * internal/runtime/gc, 1.25+), tinyAllocCount, largeAlloc,
 * largeAllocCount, smallAllocCount [68]u64, largeFree, largeFreeCount,
 * smallFreeCount [68]u64: 1176 bytes, 1168 without inPtrScalarBits.
 * - go1.19: measured (DWARF of go1.19.8: 1176; gcMarkTermination writes
 *   memstats+3592 last_gc_unix and +7704 numgc).
 * - go1.26: 1168, measured on esbuild's go1.26.5 (its memory: mspan_sys
 *   at 3528 then the other sys stats; consistentHeapStats.acquire
 *   multiplies by 0x490) and passes the live checks (test_goheap).
 * - 1.20-1.24 (1176) and 1.25 (1168): from the sources, not seen on a
 *   binary. gobin__mstats_layout takes the stride from the code when it
 *   can (the IMUL by sizeof(heapStatsDelta) in
 *   runtime.(*consistentHeapStats).acquire).
 */
static void mstats_table_fill(struct go_mstats_layout *out, bool ptrscalar)
{
	const int nsc = 68, delta = (ptrscalar ? 6 : 5) * 8 + 3 * 8 + nsc * 8 + 2 * 8 + nsc * 8;
	int o;

	out->heapstats = 0;
	out->delta_size = delta;
	out->d_committed = 0;
	out->d_released = 8;
	out->d_inheap = 16;
	out->d_instacks = 24;
	out->d_inworkbufs = 32;
	out->d_inptrscalarbits = ptrscalar ? 40 : -1;
	o = 3 * delta + 8 + 8;	/* gen + pad, noPLock */
	out->stacks_sys = o;
	out->mspan_sys = o + 8;
	out->mcache_sys = o + 16;
	out->buckhash_sys = o + 24;
	out->gcmisc_sys = o + 32;
	out->other_sys = o + 40;
	out->last_gc_unix = o + 48;
	out->pause_total_ns = o + 56;
	out->pause_ns = o + 64;
	out->pause_end = o + 64 + 2048;
	out->numgc = o + 64 + 4096;
	out->numforcedgc = out->numgc + 4;
	out->size = out->numforcedgc + 4;
}

int gobin__mstats_layout_table(int major, int minor, struct go_mstats_layout *out)
{
	if (!out || major != 1 || minor < 19 || minor > 26)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	snprintf(out->source, sizeof(out->source), "table go1.%d (%s)", minor,
		 minor == 19 || minor == 26 ? "measured" : "from source");
	mstats_table_fill(out, minor <= 24);
	return 0;
}

/* Does function NAME multiply by the immediate IMM (imul r, r/m, imm)? */
static bool code_has_imul(struct gobin *g, const char *name, int64_t imm)
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

/* The memstats layout from the DWARF types runtime.mstats and runtime.heapStatsDelta. */
static void mstats_from_dies(struct gobin *g, Dwarf_Die *ms, Dwarf_Die *hsd)
{
	struct go_mstats_layout *out = &g->mslayout;
	int stats = dw_path(ms, "heapStats.stats"), bs = dwarf_bytesize(hsd);

	memset(out, 0, sizeof(*out));
	snprintf(out->source, sizeof(out->source), "dwarf");
	out->heapstats = stats;
	out->delta_size = bs > 0 && bs < 1 << 16 ? bs : -1;
	out->d_committed = dw_path(hsd, "committed");
	out->d_released = dw_path(hsd, "released");
	out->d_inheap = dw_path(hsd, "inHeap");
	out->d_instacks = dw_path(hsd, "inStacks");
	out->d_inworkbufs = dw_path(hsd, "inWorkBufs");
	out->d_inptrscalarbits = dw_path(hsd, "inPtrScalarBits");
	out->stacks_sys = dw_path(ms, "stacks_sys");
	out->mspan_sys = dw_path(ms, "mspan_sys");
	out->mcache_sys = dw_path(ms, "mcache_sys");
	out->buckhash_sys = dw_path(ms, "buckhash_sys");
	out->gcmisc_sys = dw_path(ms, "gcMiscSys");
	out->other_sys = dw_path(ms, "other_sys");
	out->last_gc_unix = dw_path(ms, "last_gc_unix");
	out->pause_total_ns = dw_path(ms, "pause_total_ns");
	out->pause_ns = dw_path(ms, "pause_ns");
	out->pause_end = dw_path(ms, "pause_end");
	out->numgc = dw_path(ms, "numgc");
	out->numforcedgc = dw_path(ms, "numforcedgc");
	out->size = out->numforcedgc >= 0 ? out->numforcedgc + 4 : -1;
	g->have_ms_dwarf = out->heapstats >= 0 && out->delta_size > 0 && out->d_committed >= 0 &&
			   out->d_released >= 0 && out->d_inheap >= 0 && out->d_instacks >= 0 &&
			   out->d_inworkbufs >= 0 &&	/* inPtrScalarBits: gone in 1.25+ */
			   out->stacks_sys >= 0 && out->mspan_sys >= 0 && out->mcache_sys >= 0 &&
			   out->buckhash_sys >= 0 && out->gcmisc_sys >= 0 && out->other_sys >= 0 &&
			   out->last_gc_unix >= 0 && out->pause_total_ns >= 0 && out->pause_ns >= 0 &&
			   out->pause_end >= 0 && out->numgc >= 0 && out->size > 0;
}

int gobin__mstats_layout(struct gobin *g, struct go_mstats_layout *out)
{
	if (!g || !out)
		return -EINVAL;
	if (g->has_dwarf) {
		struct go_layout l;

		gobin__layout(g, &l);	/* the one DWARF pass */
		if (g->have_ms_dwarf) {
			*out = g->mslayout;
			return 0;
		}
	}
	if (gobin__mstats_layout_table(g->vmaj, g->vmin, out))
		return -ENOENT;
	for (int ps = 1; ps >= 0; ps--) {	/* the stride the code uses, when it says */
		struct go_mstats_layout c;

		mstats_table_fill(&c, ps);
		if (code_has_imul(g, "runtime.(*consistentHeapStats).acquire", c.delta_size)) {
			if (c.delta_size != out->delta_size)
				snprintf(c.source, sizeof(c.source), "table go1.%d, stride %d from code",
					 g->vmin, c.delta_size);
			else
				memcpy(c.source, out->source, sizeof(c.source));
			*out = c;
			break;
		}
	}
	return 0;
}

bool gobin__has_memprofile(struct gobin *g)
{
	if (!g)
		return false;
	return !gobin__func_lookup(g, "runtime.MemProfile", NULL, NULL) ||
	       !gobin__func_lookup(g, "runtime.memProfileInternal", NULL, NULL);
}

/* ---------------------------------------------------------------------- */
/* open / free and accessors                                              */

static struct gobin *open_image(struct gobin *g)
{
	int err;

	last_err[0] = 0;
	err = parse_elf(g);
	if (!err)
		err = find_pclntab(g);
	if (err)
		goto fail;
	parse_buildinfo(g);
	find_build_version(g);
	find_moduledata(g);
	if (!g->textbase) {
		const struct sec *t = find_sec(g, ".text");

		if (!t) {
			set_err("no text base: pclntab textStart is 0 and no moduledata found");
			err = -EINVAL;
			goto fail;
		}
		g->textbase = t->addr;
	}
	g->text_end = g->textbase + ftab_entry(g, g->nfunc);
	{
		const struct seg *s = seg_of(g, g->textbase + ftab_entry(g, 0));

		if (!s || !(s->flags & PF_X)) {
			set_err("function table does not point into executable text");
			err = -EINVAL;
			goto fail;
		}
	}
	if (g->magic == MAGIC_120 && g->vmaj == 1 && g->vmin && g->vmin < 20) {
		set_err("pclntab magic 0x%x does not match version %s", g->magic, g->version);
		err = -EINVAL;
		goto fail;
	}
	if (!g->version[0])
		g->version_src = "none";
	return g;
fail:
	gobin__free(g);
	errno = -err;
	return NULL;
}

struct gobin *gobin__open_fd(int fd, const char *name)
{
	struct gobin *g;
	struct stat st;
	void *m;

	if (fd < 0 || fstat(fd, &st)) {
		set_err("cannot stat the file");
		errno = EBADF;
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0) {
		set_err("not a regular file");
		errno = ENOEXEC;
		return NULL;
	}
	/* private and writable: libelf may decompress DWARF sections in place */
	m = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED) {
		set_err("mmap failed");
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		munmap(m, st.st_size);
		errno = ENOMEM;
		return NULL;
	}
	g->img = m;
	g->len = st.st_size;
	g->mapped = true;
	g->name = strdup(name ? name : "");
	return open_image(g);
}

struct gobin *gobin__open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct gobin *g;
	int err;

	if (fd < 0) {
		set_err("cannot open %s", path);
		return NULL;
	}
	g = gobin__open_fd(fd, path);
	err = errno;
	close(fd);
	errno = err;
	return g;
}

struct gobin *gobin__open_mem(const void *buf, size_t len, const char *name)
{
	struct gobin *g;

	if (!buf || !len) {
		errno = ENOEXEC;
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->img = malloc(len);
	if (!g->img) {
		free(g);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(g->img, buf, len);
	g->len = len;
	g->name = strdup(name ? name : "");
	return open_image(g);
}

void gobin__free(struct gobin *g)
{
	if (!g)
		return;
	if (g->mapped)
		munmap(g->img, g->len);
	else
		free(g->img);
	free(g->secs);
	free(g->rels);
	free(g->modinfo);
	free(g->godebug);
	free(g->name);
	free(g);
}

const char *gobin__name(const struct gobin *g)
{
	return g && g->name ? g->name : "";
}

const char *gobin__version(const struct gobin *g)
{
	return g ? g->version : "";
}

const char *gobin__version_source(const struct gobin *g)
{
	return g && g->version_src ? g->version_src : "none";
}

int gobin__version_cmp(const struct gobin *g, int major, int minor)
{
	if (g->vmaj != major)
		return g->vmaj < major ? -1 : 1;
	if (g->vmin != minor)
		return g->vmin < minor ? -1 : 1;
	return 0;
}

void gobin__version_nums(const struct gobin *g, int *major, int *minor, int *patch)
{
	if (major)
		*major = g->vmaj;
	if (minor)
		*minor = g->vmin;
	if (patch)
		*patch = g->vpat;
}

const char *gobin__modinfo(const struct gobin *g)
{
	return g->modinfo;
}

const char *gobin__default_godebug(const struct gobin *g)
{
	return g->godebug;
}

bool gobin__asynctimerchan(const struct gobin *g)
{
	const char *p = g->godebug;

	while (p && *p) {
		if (!strncmp(p, "asynctimerchan=1", 16) && (p[16] == ',' || !p[16]))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

bool gobin__is_pie(const struct gobin *g)
{
	return g->pie;
}

uint64_t gobin__load_base(const struct gobin *g)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < g->nsegs; i++)
		if (g->segs[i].vaddr >= g->segs[i].off && g->segs[i].vaddr - g->segs[i].off < best)
			best = g->segs[i].vaddr - g->segs[i].off;
	return best == UINT64_MAX ? 0 : best & ~0xfffull;
}

void gobin__text(const struct gobin *g, uint64_t *start, uint64_t *end)
{
	if (start)
		*start = g->textbase + ftab_entry(g, 0);
	if (end)
		*end = g->text_end;
}

uint32_t gobin__pclntab_magic(const struct gobin *g)
{
	return g->magic;
}

int gobin__nfuncs(const struct gobin *g)
{
	return (int)g->nfunc;
}

bool gobin__has_dwarf(const struct gobin *g)
{
	return g->has_dwarf;
}

bool gobin__has_symtab(const struct gobin *g)
{
	return g->nsyms > 0;
}
