// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * procmaps__parse on arbitrary text. Whatever it accepts must be sane:
 * start < end, sorted, paths NUL-terminated inside the copy, and
 * procmaps__find only ever returns an entry that holds the address.
 */
#include <stdint.h>
#include <string.h>

#include "procmaps.h"
#include "fuzz.h"

static void procmaps_check_find(const struct proc_maps *m, uint64_t addr)
{
	const struct map_entry *e = procmaps__find(m, addr);

	if (e)
		FUZZ_CHECK(e->start <= addr && addr < e->end);
}

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	struct proc_maps *m = procmaps__parse((const char *)data, size);

	if (!m)
		return 0;
	FUZZ_CHECK(m->n >= 0);
	for (int i = 0; i < m->n; i++) {
		const struct map_entry *e = &m->e[i];

		FUZZ_CHECK(e->start < e->end);
		FUZZ_CHECK(e->path != NULL);
		FUZZ_CHECK(strlen(e->path) <= size);
		if (i)
			FUZZ_CHECK(m->e[i - 1].start <= e->start);
		(void)procmaps__is_file(e);
		procmaps_check_find(m, e->start);
		procmaps_check_find(m, e->end - 1);
		procmaps_check_find(m, e->end);
		procmaps_check_find(m, e->start - 1);
	}
	procmaps_check_find(m, 0);
	procmaps_check_find(m, UINT64_MAX);
	procmaps__free(m);
	return 0;
}
