// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A Go executable's runtime structure layouts (see gobin.h): runtime.g,
 * p.timers and runtime.timer, and runtime.mstats, from DWARF (libdw) when
 * the file has it, else from per-version tables.
 */
#include <stdio.h>

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <libelf.h>

#include "gobin_priv.h"

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
		if (gobin_code_has_imul(g, "runtime.(*consistentHeapStats).acquire",
					c.delta_size)) {
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
