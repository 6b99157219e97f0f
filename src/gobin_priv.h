/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The insides of struct gobin, shared by gobin.c (open, ELF, version and
 * build info, accessors), gopcln.c (.gopclntab: functions, pc tables,
 * moduledata), godata.c (data symbols found from code) and golayout.c
 * (structure and memstats layouts). Nothing else includes it.
 */
#ifndef LT_GOBIN_PRIV_H
#define LT_GOBIN_PRIV_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "gobin.h"

#define MAX_SEGS	32

#define MAGIC_118	0xfffffff0u
#define MAGIC_120	0xfffffff1u
#define MAGIC_116	0xfffffffau
#define MAGIC_12	0xfffffffbu

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

/* gobin.c: set the text gobin__last_error() returns. */
void gobin_set_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* gobin.c: .symtab: value and size of NAME. */
bool gobin_symtab_lookup(const struct gobin *g, const char *name, uint64_t *value, uint64_t *size);
/* gopcln.c: the pclntab, from its section or a scan of the segments. 0 or -errno. */
int gobin_find_pclntab(struct gobin *g);
/* gopcln.c: moduledata, and the text base and gofunc it holds. */
void gobin_find_moduledata(struct gobin *g);
/* godata.c: does function NAME multiply by the immediate IMM (imul r, r/m, imm)? */
bool gobin_code_has_imul(struct gobin *g, const char *name, int64_t imm);

/*
 * The small readers the parts share: little-endian words, the file's bytes
 * by offset or address, sections, function table entries.
 */
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

static inline const uint8_t *img_at(const struct gobin *g, uint64_t off, uint64_t len)
{
	if (off > g->len || len > g->len - off)
		return NULL;
	return g->img + off;
}

static inline const struct seg *seg_of(const struct gobin *g, uint64_t vaddr)
{
	for (int i = 0; i < g->nsegs; i++) {
		const struct seg *s = &g->segs[i];

		if (vaddr >= s->vaddr && vaddr - s->vaddr < s->memsz)
			return s;
	}
	return NULL;
}

/* File bytes at VADDR, LEN of them all file-backed, or NULL. */
static inline const uint8_t *vaddr_file(const struct gobin *g, uint64_t vaddr, uint64_t len)
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

static inline bool is_writable(const struct gobin *g, uint64_t vaddr)
{
	const struct seg *s = seg_of(g, vaddr);

	return s && (s->flags & PF_W);
}

static inline const struct sec *find_sec(const struct gobin *g, const char *name)
{
	for (int i = 0; i < g->nsecs; i++)
		if (g->secs[i].name && !strcmp(g->secs[i].name, name))
			return &g->secs[i];
	return NULL;
}

static inline const uint8_t *sec_data(const struct gobin *g, const struct sec *s)
{
	if (!s || s->type == SHT_NOBITS)
		return NULL;
	return img_at(g, s->off, s->size);
}

static inline uint32_t ftab_entry(const struct gobin *g, uint32_t i)
{
	return le32(g->ftab + 8 * (uint64_t)i);
}

#endif /* LT_GOBIN_PRIV_H */
