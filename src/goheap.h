/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A live Go process's heap profile and memstats, read from outside through
 * goproc's memory reader: the numbers runtime.MemProfile (and so
 * runtime/pprof's heap profile) and runtime.ReadMemStats would give, with
 * no stop and no write. Pure: never prints.
 *
 * The heap profile. runtime.mbuckets is an append-only list of buckets,
 * newest first, linked by allnext; a bucket is never freed or moved, and
 * its header and stack never change. Layout (amd64, the same in the
 * sources of 1.19 to 1.26): a 48-byte header {next 0, allnext 8, typ 16
 * (1 = memory), hash 24, size 32, nstk 40}, nstk PCs (return addresses,
 * innermost first), then a 128-byte memRecord {active, future[3]}, each
 * cycle {allocs, frees, alloc_bytes, free_bytes}. The runtime's rules
 * (runtime/mprof.go, identical in 1.19 and 1.26):
 * - mProfCycle is a u32 holding cycle<<1 | flushed. A malloc counts in
 *   future[(C+2) % 3], a sweep free in future[(C+1) % 3]; mark termination
 *   increments C, then mProf_Flush adds future[C % 3] into active and
 *   zeroes it; runtime.GC() ends with mProf_PostSweep, which adds
 *   future[(C+1) % 3].
 * - MemProfile (memProfileInternal from 1.23) reports, per bucket, active
 *   after adding future[C % 3] (whatever the flushed bit: a flushed future
 *   is zero); if then every bucket's allocs and frees are 0 (no GC has
 *   published a cycle, e.g. before the first GC or with GOGC=off) it adds
 *   all three futures. A record: alloc objects/bytes = allocs/alloc_bytes,
 *   in-use = allocs - frees / alloc_bytes - free_bytes; buckets with
 *   alloc_bytes == free_bytes are left out unless inuseZero (runtime/pprof
 *   passes true).
 * Consequence used here: between two changes of mProfCycle the reported
 * numbers of a bucket move only at mProf_PostSweep (mallocs and frees go
 * to the other futures). So goproc__heap reads mProfCycle, walks the list
 * (a missing page is read with the 63 pages below it, where
 * persistentalloc put the older buckets, runs of adjacent pages in one
 * iovec), reads every memRecord again through freshly read pages, then
 * the cycle word again: a moved cycle, or a record whose reported numbers
 * differ between the two reads (a PostSweep or a torn copy), retries the
 * whole walk, at most 8 times. Before any cycle is published the numbers
 * grow with every sampled malloc: there the second read must be >= the
 * first, field by field.
 *
 * Validation of every bucket (a failure retries, then fails the call; no
 * record that failed is ever returned, and a walk that cannot complete
 * returns an error, never part of the list):
 * - the address 8-aligned and not seen before in this walk (no loop);
 * - typ == 1; nstk <= 32 (1.19-1.22, maxStack) or 1032 (1.23+:
 *   maxProfStackDepth 1024, plus room for maxSkip); size >= 1;
 * - every PC inside the text; the header's hash equals the runtime's hash
 *   of the PCs and size (stkbucket's one-at-a-time mix), recomputed;
 * - each of the four cycles: alloc_bytes == allocs * size exactly, and
 *   free_bytes == frees * size, or frees * 16 for a size below 16 (a tiny
 *   block is freed whole: mProf_Free gets the span's elemsize);
 * - active and the reported record: frees <= allocs;
 * - counts and byte counts below 2^48.
 *
 * What pprof shows: runtime/pprof's proto writer hides the leading frames
 * whose function (runtime.FuncForPC of the return PC: the innermost
 * inlined function there) starts with "runtime." (and, from 1.24,
 * "internal/runtime/"), up to the first other frame; a stack with no other
 * frame is shown whole. rec.skip is that count. It scales each record
 * with scaleHeapSample(count, bytes, MemProfileRate): times
 * 1 / (1 - exp(-(bytes/count) / rate)) when rate > 1, each product
 * truncated to int64 (go_heap__scale does the same in double precision);
 * debug=1 text prints the raw numbers.
 *
 * Profiling off: the linker sets runtime.disableMemoryProfiling when
 * runtime.MemProfile (<= 1.22) or runtime.memProfileInternal (1.23+) is
 * unreachable, and the runtime then starts with MemProfileRate 0 and never
 * samples: the list stays empty. Detected from the file (that function is
 * absent from the function table: gobin__has_memprofile), so it works on
 * stripped binaries; go_heap.enabled is false then. The opt-in
 * goproc__set_memprofile_rate (goproc.h) starts sampling anyway.
 *
 * memstats: runtime.memstats (from .symtab, else from the references of
 * runtime.gcMarkTermination) with offsets from DWARF or the per-version
 * table (gobin__mstats_layout), checked on live memory: numgc == 0 with
 * last_gc_unix == 0, or pause_end[(numgc-1) % 256] == last_gc_unix (both
 * written by gcMarkTermination); the consistent heap stats summed over
 * their three deltas non-negative and in whole pages (8 KiB for in-heap,
 * stacks, work bufs, ptr/scalar bits; 4 KiB for committed and released),
 * committed covering the in-use parts. Reported: the MemStats fields that
 * readmemstats_m derives from memstats alone (HeapInuse = inHeap, HeapSys,
 * HeapIdle, HeapReleased, StackInuse, StackSys, Sys, MSpanSys, MCacheSys,
 * BuckHashSys, GCSys, OtherSys, NumGC, NumForcedGC, LastGC, PauseTotalNs).
 * Not reported: HeapAlloc, HeapObjects, Mallocs, Frees, TotalAlloc (an
 * mcache counts a whole span as allocated when it takes it, and
 * ReadMemStats flushes the mcaches first, which cannot be done from
 * outside), NextGC, MSpanInuse, MCacheInuse (other structures). Plus the
 * process RSS from /proc/PID/statm.
 *
 * Cost (measured here, go1.19.8, 2 shared vCPUs; test_goheap prints it):
 * 30,246 buckets (10 MB of them, read twice) in 19-30 ms best of 5
 * depending on the run, most of it the kernel copying into and faulting
 * in our fresh buffers; pprof's frame hiding adds about 1 ms (one symbol
 * look-up per distinct leading PC); 240 buckets 0.5-3 ms. Under a forced
 * GC every 20 ms, 300 of 300 reads succeeded, 33 walks retried.
 * memstats: one 7.7 KB read.
 */
#ifndef LT_GOHEAP_H
#define LT_GOHEAP_H

#include <stdbool.h>
#include <stdint.h>

#include "goproc.h"

struct go_heap_rec {
	uint64_t bucket;	/* the bucket's address in the target */
	uint64_t size;		/* object size the bucket counts */
	const uint64_t *stk;	/* runtime PCs (return addresses), innermost first; owned by the go_heap */
	int nstk;
	int skip;		/* leading runtime frames runtime/pprof hides (its proto shows stk + skip) */
	/* as runtime.MemProfile reports them */
	int64_t inuse_objects, inuse_bytes, alloc_objects, alloc_bytes;
	/* the same scaled as runtime/pprof writes its proto (go_heap__scale with go_heap.rate) */
	int64_t inuse_objects_scaled, inuse_bytes_scaled, alloc_objects_scaled, alloc_bytes_scaled;
};

struct go_heap {
	int n;			/* records in r */
	struct go_heap_rec *r;	/* list order (newest bucket first), as MemProfile returns them */
	uint64_t *pcs;		/* the stacks (r[i].stk point here) */
	int nbuckets;		/* buckets walked (>= n without GO_HEAP_INUSE_ZERO) */
	int64_t rate;		/* runtime.MemProfileRate at the walk */
	bool enabled;		/* false: the linker disabled memory profiling (see above) */
	bool all_futures;	/* no cycle published yet: all three futures added */
	uint32_t cycle;		/* mProfCycle >> 1 */
	int retries;		/* walks retried (cycle moved, record changed, check failed) */
	/* totals over r[], raw and scaled (sums of the records' scaled values; they saturate) */
	int64_t inuse_objects, inuse_bytes, alloc_objects, alloc_bytes;
	int64_t inuse_objects_scaled, inuse_bytes_scaled, alloc_objects_scaled, alloc_bytes_scaled;
};

/* Also return records whose alloc_bytes == free_bytes (MemProfile(p, true), as runtime/pprof does). */
#define GO_HEAP_INUSE_ZERO	(1u << 0)
/* Do not compute rec.skip (no symbol look-ups; skip stays 0). */
#define GO_HEAP_NO_SKIP		(1u << 1)

/*
 * Read the heap profile. 0, or -errno: -ENOENT (mbuckets, mProfCycle or
 * MemProfileRate not located), -EAGAIN (the profile kept changing: 8
 * walks), -EINVAL (a bucket failed a check on every walk), -E2BIG (more
 * than 4M buckets, 16M stack words or 512 MiB of pages), -ESRCH, -ENOMEM.
 * goproc__error() says which check. H is the caller's; free its arrays
 * with go_heap__free. A program with profiling off gives 0 records and
 * enabled = false.
 */
int goproc__heap(struct goproc *p, struct go_heap *h, unsigned flags);
void go_heap__free(struct go_heap *h);	/* frees h's arrays; NULL is a no-op */

/* runtime/pprof's scaleHeapSample(count, bytes, rate): *SCOUNT, *SBYTES. */
void go_heap__scale(int64_t count, int64_t bytes, int64_t rate, int64_t *scount, int64_t *sbytes);

struct go_memstats {
	/* MemStats fields, in bytes */
	uint64_t sys, heap_sys, heap_idle, heap_inuse, heap_released;
	uint64_t stack_inuse, stack_sys, mspan_sys, mcache_sys, buckhash_sys, gc_sys, other_sys;
	uint32_t num_gc, num_forced_gc;
	uint64_t last_gc_ns;	/* LastGC: Unix time in ns, 0 before the first GC */
	uint64_t pause_total_ns;
	uint64_t rss;		/* /proc/PID/statm resident * page size; 0 when unknown */
	char source[96];	/* where the layout and memstats came from */
	int retries;
};

/*
 * Read memstats (and the RSS). 0, or -errno: -ENOENT (memstats or its
 * layout not located for this version: m->rss is still filled, the rest
 * is 0), -EAGAIN (the live checks kept failing; goproc__error says which),
 * -ESRCH.
 */
int goproc__memstats(struct goproc *p, struct go_memstats *m);

#endif /* LT_GOHEAP_H */
