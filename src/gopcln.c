// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A Go executable's .gopclntab (see gobin.h): its header and function
 * table, moduledata, the function look-ups and the pc tables that give a
 * PC its file, line and inlined frames.
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
#include "gobin_priv.h"

#define MAX_NFUNC	(1u << 24)
#define MAX_INLINE_DEPTH 64
#define PCLN_HDR_LEN	72

#define PCDATA_INLTREEINDEX	2
#define FUNCDATA_INLTREE	3

static int parse_pcln_at(struct gobin *g, uint64_t vaddr, const uint8_t *d, size_t len)
{
	uint64_t nfunc, off[5], text_start;
	uint32_t magic;

	if (len < PCLN_HDR_LEN)
		return -EINVAL;
	magic = le32(d);
	if (magic == MAGIC_116 || magic == MAGIC_12) {
		gobin_set_err("pclntab magic 0x%x: a Go older than 1.18 (not handled)", magic);
		return -EPROTONOSUPPORT;
	}
	if (magic != MAGIC_118 && magic != MAGIC_120) {
		if ((magic & 0xfffffff0u) == 0xfffffff0u && magic > MAGIC_120) {
			gobin_set_err("pclntab magic 0x%x: a Go newer than this reader knows", magic);
			return -EPROTONOSUPPORT;
		}
		gobin_set_err("pclntab magic 0x%x unknown", magic);
		return -EINVAL;
	}
	if (d[4] || d[5] || d[6] != 1 || d[7] != 8) {
		gobin_set_err("pclntab header: pc quantum %u, pointer size %u", d[6], d[7]);
		return -EINVAL;
	}
	nfunc = le64(d + 8);
	if (!nfunc || nfunc > MAX_NFUNC) {
		gobin_set_err("pclntab: %llu functions", (unsigned long long)nfunc);
		return -EINVAL;
	}
	if (gobin__read_ptr(g, vaddr + 24, &text_start))
		text_start = le64(d + 24);
	for (int i = 0; i < 5; i++) {
		off[i] = le64(d + 32 + 8 * i);
		if (off[i] < PCLN_HDR_LEN || off[i] > len || (i && off[i] < off[i - 1])) {
			gobin_set_err("pclntab: table offsets out of order or out of the section");
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
		gobin_set_err("pclntab: function table past the section");
		return -EINVAL;
	}
	/* sorted entries, every _func (with its pcdata/funcdata arrays) inside */
	for (uint32_t i = 0; i <= g->nfunc; i++) {
		uint32_t e = le32(g->ftab + 8 * i), fo = le32(g->ftab + 8 * i + 4);

		if (i && e < le32(g->ftab + 8 * (i - 1))) {
			gobin_set_err("pclntab: function table not sorted");
			return -EINVAL;
		}
		if (i < g->nfunc) {
			const uint8_t *f;
			uint64_t extra;

			if ((uint64_t)fo + g->func_size > g->ftab_len) {
				gobin_set_err("pclntab: function %u out of the table", i);
				return -EINVAL;
			}
			f = g->ftab + fo;
			extra = 4ull * le32(f + 28) + 4ull * f[g->func_size - 1];
			if ((uint64_t)fo + g->func_size + extra > g->ftab_len) {
				gobin_set_err("pclntab: function %u data out of the table", i);
				return -EINVAL;
			}
		}
	}
	return 0;
}

int gobin_find_pclntab(struct gobin *g)
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
		gobin_set_err("no .gopclntab: not a Go binary");
	return err;
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

void gobin_find_moduledata(struct gobin *g)
{
	const struct sec *s = find_sec(g, ".go.module");
	uint64_t md = 0, text, etext, minpc, gofunc;

	if (s && check_moduledata(g, s->addr))
		md = s->addr;
	if (!md && gobin_symtab_lookup(g, "runtime.firstmoduledata", &md, NULL) &&
	    !check_moduledata(g, md))
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
