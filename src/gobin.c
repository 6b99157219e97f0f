// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A Go executable's own tables (see gobin.h): the file and its ELF
 * headers, the version and module info, open and the accessors. The rest
 * is in gopcln.c (.gopclntab), godata.c (data symbols found from code) and
 * golayout.c (structure layouts); gobin_priv.h holds what they share.
 *
 * The ELF headers are parsed here by hand (x86-64 little-endian only), so
 * that every read is one bounds-checked slice of the mapped file; libdw is
 * used only for DWARF structure offsets (golayout.c), capstone only to
 * find data symbols from code in stripped binaries (godata.c).
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

#include "gobin_priv.h"

#define MAX_SECS	4096

static __thread char last_err[256];

void gobin_set_err(const char *fmt, ...)
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

/* ---------------------------------------------------------------------- */
/* the file                                                               */

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
		gobin_set_err("too short for an ELF header");
		return -ENOEXEC;
	}
	memcpy(&eh, g->img, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG)) {
		gobin_set_err("not an ELF file");
		return -ENOEXEC;
	}
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64) {
		gobin_set_err("not an x86-64 ELF file (only x86-64 Go binaries are handled)");
		return -EPROTONOSUPPORT;
	}
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
		gobin_set_err("not an executable (ELF type %u)", eh.e_type);
		return -ENOEXEC;
	}
	g->pie = eh.e_type == ET_DYN;

	if (eh.e_phnum) {
		if (eh.e_phentsize != sizeof(Elf64_Phdr) ||
		    !(p = img_at(g, eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr)))) {
			gobin_set_err("program headers out of the file");
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
				gobin_set_err("bad PT_LOAD segment");
				return -EINVAL;
			}
			g->segs[g->nsegs++] = (struct seg){ ph.p_vaddr, ph.p_memsz, ph.p_offset,
							    ph.p_filesz, ph.p_flags };
		}
	}
	if (!g->nsegs) {
		gobin_set_err("no PT_LOAD segment");
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
bool gobin_symtab_lookup(const struct gobin *g, const char *name, uint64_t *value, uint64_t *size)
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

	if (gobin_symtab_lookup(g, "runtime.buildVersion", &addr, NULL) &&
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
/* open / free and accessors                                              */

static struct gobin *open_image(struct gobin *g)
{
	int err;

	last_err[0] = 0;
	err = parse_elf(g);
	if (!err)
		err = gobin_find_pclntab(g);
	if (err)
		goto fail;
	parse_buildinfo(g);
	find_build_version(g);
	gobin_find_moduledata(g);
	if (!g->textbase) {
		const struct sec *t = find_sec(g, ".text");

		if (!t) {
			gobin_set_err("no text base: pclntab textStart is 0 and no moduledata found");
			err = -EINVAL;
			goto fail;
		}
		g->textbase = t->addr;
	}
	g->text_end = g->textbase + ftab_entry(g, g->nfunc);
	{
		const struct seg *s = seg_of(g, g->textbase + ftab_entry(g, 0));

		if (!s || !(s->flags & PF_X)) {
			gobin_set_err("function table does not point into executable text");
			err = -EINVAL;
			goto fail;
		}
	}
	if (g->magic == MAGIC_120 && g->vmaj == 1 && g->vmin && g->vmin < 20) {
		gobin_set_err("pclntab magic 0x%x does not match version %s", g->magic, g->version);
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
		gobin_set_err("cannot stat the file");
		errno = EBADF;
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0) {
		gobin_set_err("not a regular file");
		errno = ENOEXEC;
		return NULL;
	}
	/* private and writable: libelf may decompress DWARF sections in place */
	m = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED) {
		gobin_set_err("mmap failed");
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
		gobin_set_err("cannot open %s", path);
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
