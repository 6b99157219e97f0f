/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The insides of struct goproc, shared by goproc.c (open and setup, memory
 * reads, code addresses, accessors), gosnap.c (goroutine snapshots, blocked
 * stacks, layout calibration) and gotimers.c (timers). Nothing else
 * includes it.
 */
#ifndef LT_GOPROC_PRIV_H
#define LT_GOPROC_PRIV_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "goproc.h"

#define IOV_BATCH	1024
#define MAX_RETRIES	8

struct pccache_ent {
	uint64_t pc;
	uint8_t flags;	/* 1 valid, 2 entry, 4 system */
};

struct goproc {
	struct gobin *gb;
	bool own_gb;
	uint64_t bias;
	struct go_layout L;
	bool have_layout;
	uint64_t sym[GOBIN_SYM__MAX];	/* runtime addresses, 0 = unknown */
	uint64_t text_lo, text_hi;
	int minor;
	struct gomem_ops ops;
	int pid;
	char err[256];
	char **wr;
	int nwr;
	uint64_t sendtime, gofunc;	/* runtime entries of time.sendTime, time.goFunc */
	struct pccache_ent *pcc;
	size_t pcc_cap;
	uint32_t max_status;
	uint8_t *gbuf;			/* the gs' read buffer, kept */
	size_t gbuf_len;
	uint8_t *hslab[2];		/* goheap.c: the bucket walk's page caches, kept */
	size_t hslab_cap[2];		/* (pages): fresh memory faults page by page */
	void *hw_b;			/* goheap.c: the walk's arrays, kept likewise */
	uint64_t *hw_pcs, *hw_seen;
	size_t hw_b_cap, hw_pcs_cap, hw_seen_cap;
};

/* goproc.c: set the text goproc__error() returns. */
void goproc_perr(struct goproc *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* goproc.c: what PC is, cached: 1 valid, 2 a function entry, 4 in a system function. */
uint8_t goproc_pc_flags(struct goproc *p, uint64_t pc);
/* gosnap.c: the g offsets found from the gs themselves. 0 or -errno. */
int goproc_calibrate(struct goproc *p, struct go_layout *out);
/* gosnap.c: does L pass the checks on a live snapshot? 0 or -errno. */
int goproc_try_layout(struct goproc *p, const struct go_layout *L);

static inline uint64_t rd64(const uint8_t *b, int off)
{
	uint64_t v;

	memcpy(&v, b + off, 8);
	return v;
}

static inline uint32_t rd32(const uint8_t *b, int off)
{
	uint32_t v;

	memcpy(&v, b + off, 4);
	return v;
}

static inline int mem_readv(struct goproc *p, struct gomem_iov *iov, int n)
{
	for (int i = 0; i < n; i++)
		iov[i].err = 0;
	return n ? p->ops.readv(p->ops.ctx, iov, n) : 0;
}

static inline int mem_read(struct goproc *p, uint64_t addr, void *buf, size_t len)
{
	struct gomem_iov iov = { addr, buf, len, 0 };
	int err = mem_readv(p, &iov, 1);

	return err ? err : iov.err;
}

static inline bool in_text(const struct goproc *p, uint64_t pc)
{
	return pc >= p->text_lo && pc < p->text_hi;
}

static inline bool is_entry(struct goproc *p, uint64_t pc)
{
	return goproc_pc_flags(p, pc) & 2;
}

#endif /* LT_GOPROC_PRIV_H */
