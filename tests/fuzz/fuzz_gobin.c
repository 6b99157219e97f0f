// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gobin's file parsers on arbitrary bytes (gobin__open_mem): the ELF
 * headers, .go.buildinfo and runtime.buildVersion, the pclntab (function
 * table, names, pc tables, inline trees), moduledata, the data-symbol
 * finder (capstone on the input's "runtime" functions: runtime.memstats
 * and its stride too) and DWARF layouts (g, p, timer, mstats).
 * Nothing may crash or hang; frames must stay inside the function table.
 * Seeds: tests/fuzz/mkseed_go.py.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "gobin.h"

static const char *const gobin_names[] = {
	"main.main", "runtime.forEachGRace", "runtime.allgadd", "time.sendTime",
	"runtime.gcMarkTermination", "runtime.(*consistentHeapStats).acquire",
	"runtime.waitReason.String", "runtime.inlined", "", "x",
};

static void gobin_check_addr(struct gobin *g, uint64_t a)
{
	struct gobin_frame fr[8];
	uint64_t entry, end;
	int n;

	for (int ret = 0; ret < 2; ret++) {
		n = gobin__resolve(g, a, ret, fr, 8);
		FUZZ_CHECK(n >= 0 && n <= 8);
		for (int i = 0; i < n; i++) {
			if (fr[i].func)
				(void)strlen(fr[i].func);
			if (fr[i].file)
				(void)strlen(fr[i].file);
			FUZZ_CHECK(fr[i].inlined == (i < n - 1));
		}
		if (n > 0) {
			FUZZ_CHECK(gobin__func_at(g, ret ? a - 1 : a, &entry, &end) == 0);
			FUZZ_CHECK(entry <= (ret ? a - 1 : a) && (ret ? a - 1 : a) < end);
			FUZZ_CHECK(fr[n - 1].entry == entry);
		}
	}
	(void)gobin__is_func_entry(g, a);
	if (gobin__func_name(g, a))
		(void)strlen(gobin__func_name(g, a));
}

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	struct go_layout l;
	struct go_mstats_layout ml;
	struct gobin *g;
	uint64_t s, e, v;

	g = gobin__open_mem(data, size, "fuzz");
	if (!g) {
		FUZZ_CHECK(errno == ENOEXEC || errno == EINVAL || errno == EPROTONOSUPPORT ||
			   errno == ENOMEM);
		(void)strlen(gobin__last_error());
		return 0;
	}
	(void)strlen(gobin__version(g));
	(void)strlen(gobin__version_source(g));
	if (gobin__modinfo(g))
		(void)strlen(gobin__modinfo(g));
	(void)gobin__asynctimerchan(g);
	gobin__text(g, &s, &e);
	FUZZ_CHECK(s <= e);
	for (uint64_t a = s, k = 0; a < e && k < 512; a += (e - s) / 256 + 1, k++)
		gobin_check_addr(g, a);
	for (size_t i = 0; i + 8 <= size && i < 64 * 8; i += 8) {
		uint64_t a;

		memcpy(&a, data + i, 8);
		gobin_check_addr(g, a);
	}
	for (size_t i = 0; i < sizeof(gobin_names) / sizeof(gobin_names[0]); i++)
		if (!gobin__func_lookup(g, gobin_names[i], &s, &e)) {
			FUZZ_CHECK(s <= e);
			for (uint64_t a = s; a < e && a < s + 256; a++)
				gobin_check_addr(g, a);
		}
	for (int i = 0; i < GOBIN_SYM__MAX; i++) {
		if (!gobin__data_sym(g, i, &v)) {
			uint8_t b[8];

			(void)gobin__read(g, v, b, sizeof(b));
			FUZZ_CHECK(gobin__data_sym_source(g, i) != NULL);
		}
		(void)gobin__data_sym_code(g, i, &v);
	}
	(void)gobin__waitreason_count(g);
	(void)gobin__layout(g, &l);
	(void)gobin__has_memprofile(g);
	if (!gobin__mstats_layout(g, &ml))
		FUZZ_CHECK(ml.delta_size > 0 && ml.size > 0 && ml.numgc < ml.size);
	gobin__free(g);
	return 0;
}
