/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The tracer's insides, shared by the modules that make it up and by the
 * trackers; nothing outside them includes this. See docs/design.md,
 * "Architecture":
 *
 *   tracer.c    load: the BPF object, the release hook, the features
 *   targets.c   the life of each target: attach, watch, exec, follow, liveness
 *   system.c    -a: every allocator file, discovery, garbage collection
 *   collect.c   map iteration, the once-a-second sample, a tracker's sites
 *   assemble.c  the report: sections, trends, top-N, stacks
 *   track_*.c   the trackers (trackers.h)
 */
#ifndef LT_TRACER_PRIV_H
#define LT_TRACER_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "leaktrace.skel.h"
#include "attach.h"
#include "opts.h"
#include "plan.h"
#include "procimg.h"
#include "report.h"
#include "tracer.h"
#include "trackers.h"

struct gobin;
struct goproc;
struct syms;
struct trend_tab;
struct uwload;

/* A growing array of sites, as a collector hands them over. */
struct site_set {
	struct lt_site *s;
	int n, cap;
};

struct lt_site *site_set__add(struct site_set *ss);	/* zeroed; NULL on ENOMEM */
/* The site of SS with ID and TAG (lt_site.tag), added when new. NULL on ENOMEM. */
struct lt_site *site_set__get(struct site_set *ss, const struct lt_site_id *id, uint64_t tag);
void site_set__free(struct site_set *ss);
/* The site id of a BPF site key. */
struct lt_site_id site_id_of(const struct lt_site_key *k);

/* A growing array of u64 (tgids, stack ids). */
struct u64_vec {
	uint64_t *v;
	int n, cap;
};

int u64_vec__push(struct u64_vec *vec, uint64_t x);
bool u64_vec__has(const struct u64_vec *vec, uint64_t x);	/* linear */
void u64_vec__sort(struct u64_vec *vec);
bool u64_vec__sorted_has(const struct u64_vec *vec, uint64_t x);	/* binary search */
void u64_vec__free(struct u64_vec *vec);

struct target {
	int pid;
	char comm[16];
	bool exited;
	bool gc_done;		/* -a: its records are deleted */
	struct syms *syms;
	struct proc_image *img;	/* the latest snapshot of its maps */
	struct lt_plan *plans;	/* its probe plans: the first, then what each exec (-c) or check added */
	int nplans;
	uint64_t exec_ns;	/* its last exec whose old records are dropped */
	struct gobin *go_bin;	/* a Go program: its executable's tables (gobin.h) */
	struct goproc *go;	/* and its runtime, read from outside (goproc.h); see target__go */
	double go_since;	/* when its image appeared: the runtime may not be up yet */
	bool go_failed;		/* the runtime could not be read: said once, not retried */
	void *priv[LT_TRACKERS_MAX];	/* each tracker's own state of it (freed with free()) */
	struct site_set last[LT_TRACKERS_MAX];	/* keep_dead trackers: its sites while it lived */
};

/* A tracker that is on, and what the engine keeps for it. */
struct tk_slot {
	const struct tracker *tk;
	struct trend_tab *trend;
	uint64_t seq;		/* sampling round */
	int64_t last_total;	/* tot[0] at the last report */
	void *priv;		/* the tracker's own state (tracer__state; freed with free()) */
	bool attached;		/* its tracepoints and hooks are in */
};

struct tracer {
	const struct lt_opts *o;
	struct leaktrace_bpf *skel;
	struct attach *att;
	struct target **tg;
	int ntg;
	struct tk_slot tk[LT_TRACKERS_MAX];
	int ntk;
	uint64_t tick;		/* bumped at every report and sample: images older are read again */
	double start;
	int reports;
	int nprobes;
	bool multi;		/* uprobe_multi links */
	bool session;		/* sampled memory probes as uprobe session links (no return trap unsampled) */
	uint64_t sample_rate;	/* the memory section's sampling rate (tracer__set_sampling); 0: exact */
	const char *sample_source;	/* "bpf" or "in-process"; NULL when exact */
	bool filter;		/* probes attached for every pid; BPF checks the targets map */
	bool follow_tp, exec_tp;
	enum lt_release_hook hook;	/* how fd releases are seen */
	const char *fd_release_fn;	/* the fd tracker's hook: filp_flush where the kernel has it, else filp_close */
	char hooks[160];		/* tracer__hooks() */
	struct lt_plan sysplan;	/* -a: every allocator file in use */
	struct u64_vec gc_stacks;	/* -a: stacks unreferenced at the last GC */
	struct uwload *uw;	/* --stacks auto|dwarf: the unwind tables */
};

/* targets.c */
struct target *tracer__find(struct tracer *t, int pid);
struct target *tracer__add(struct tracer *t, int pid);
/* TG's image at the current tick (read once per tick), or NULL when it is gone. */
const struct proc_image *target__image(struct tracer *t, struct target *tg);
bool target__alive(const struct target *tg);
/*
 * An entry uprobe of PROG (COOKIE) on the Go function FN of TG, at the
 * first instruction the kernel emulates. 0 or -errno (printed).
 */
int target__go_probe(struct tracer *t, struct target *tg, const char *fn, struct bpf_program *prog,
		     uint64_t cookie);
/* TG's Go runtime reader, opened at the first call that finds its runtime up; NULL otherwise. */
struct goproc *target__go(struct tracer *t, struct target *tg);
void tracer__handle_execs(struct tracer *t);
/* Attach the tracepoints of every tracker whose probes are in PLAN (once each). */
int tracer__attach_trackers(struct tracer *t, const struct lt_plan *plan);

/* system.c (-a) */
void system__discover(struct tracer *t);
void system__gc(struct tracer *t);

/* collect.c: the BPF maps */
typedef void (*map_fn)(const void *key, const void *val, void *ctx);
/* Call FN for every entry of the hash map FD (batched lookups). 0 or -errno. */
int map__for_each(int fd, size_t key_size, size_t val_size, map_fn fn, void *ctx);
int64_t map__count(int fd, size_t key_size);
/* Delete every entry whose key starts with a tgid in DEAD. */
void map__delete_tgids(int fd, size_t key_size, const struct u64_vec *dead);
/* Delete TGID's entries whose u64 at TS_OFF in the value is before NS (an old image's records). */
void map__delete_before(int fd, size_t key_size, size_t val_size, uint32_t tgid, uint64_t ns, size_t ts_off);
/* Delete every entry whose value has a u32 tgid in DEAD at OFF. */
void map__delete_by_value_u32(int fd, size_t key_size, size_t val_size, size_t off,
			      const struct u64_vec *dead);
/* Append the u64 at OFF in every key (IN_KEY) or value of map FD to VEC. */
void map__collect_u64(int fd, size_t key_size, size_t val_size, bool in_key, size_t off, struct u64_vec *vec);
/* What a collector's map callback gets (collect__map). */
struct collect_ctx {
	struct tracer *t;
	struct site_set *ss;
	bool report;
	int err;		/* the first error of a callback */
};

/* Run FN over map FD for a collector: 0, or the first -errno of the walk or of FN (ctx->err). */
int collect__map(struct tracer *t, int fd, size_t key_size, size_t val_size, map_fn fn,
		 struct site_set *ss, bool report);
/* Tracker slot K's sites now (keep_dead: a gone target's last ones). 0 or -errno. */
int collect__sites(struct tracer *t, int k, struct site_set *ss, bool report);
uint64_t ktime_now_ns(void);

const char *tracer__hooks(const struct tracer *t);

/* The slot of tracker TK, or NULL when it is off. */
struct tk_slot *tracer__slot(struct tracer *t, const struct tracker *tk);
/* TK's own state: SIZE zeroed bytes, made at the first call. NULL when TK is off, or on ENOMEM. */
void *tracer__state(struct tracer *t, const struct tracker *tk, size_t size);
/* TK's own state of TG, the same way. */
void *target__state(struct target *tg, struct tracer *t, const struct tracker *tk, size_t size);

/* assemble.c */
/* The return addresses of ANC's levels (each go statement and the stack that led to it). The count. */
int assemble__ancestry(struct tracer *t, const struct lt_go_anc *anc, uint64_t *addrs, int max);
/* Symbolize PCS (return addresses; the first an exact pc when FIRST_EXACT) of TG into *OUT. */
void assemble__frames(struct tracer *t, struct target *tg, const uint64_t *pcs, int n, bool first_exact,
		      struct lt_frame **out, int *nout);
/* The symbolized creation stack of S (id: BPF stack hash and caller), flagged truncated unless whole. */
void assemble__stack(struct tracer *t, struct lt_site *s, bool before_start);

#endif /* LT_TRACER_PRIV_H */
