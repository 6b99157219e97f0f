/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The mmap tracker's records laid over the address space (pure): each
 * record is [start, start + len) made at created_ns; an address belongs to
 * the newest record that covers it, and counts only while it is mapped.
 * So a munmap in the middle of a mapping leaves the rest at its site, and
 * a new mapping in a hole takes that hole. See src/track_mmap.c.
 */
#ifndef LT_OVERLAY_H
#define LT_OVERLAY_H

#include <stdint.h>

struct ov_rec {
	uint64_t start, len;
	uint64_t created_ns;
	uint64_t tag;		/* the caller's */
	uint64_t bytes;		/* out: its mapped bytes nothing newer covers */
};

struct ov_range {
	uint64_t start, end;	/* [start, end), sorted, not overlapping */
};

/*
 * Fill every REC's bytes, given the mapped ranges MAPPED (N_MAPPED,
 * sorted by start). RECS is reordered (by start). 0 or -ENOMEM.
 */
int overlay__bytes(struct ov_rec *recs, int n, const struct ov_range *mapped, int n_mapped);

#endif /* LT_OVERLAY_H */
