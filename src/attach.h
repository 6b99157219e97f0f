/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Attachment as an object: the uprobes of a probe plan (uprobe_multi
 * links, one per file and tracker, where the kernel has them; else one
 * perf-event link per probe), the tracepoints and hooks of the trackers,
 * and their teardown. The benchmark's floor (bench/floor.c) attaches
 * through it too, so that both attach exactly alike.
 *
 * A probe the kernel refuses with EINVAL (a stale probe of another tracer,
 * such as bcc 0.26, at free+0) moves to the next safe offset of its
 * probe_choice, with one line saying why.
 */
#ifndef LT_ATTACH_H
#define LT_ATTACH_H

#include <stdbool.h>
#include "plan.h"

struct bpf_program;
struct attach;

/* The program serving TRACKER's entry (RET: return) probes; NULL: none. */
typedef struct bpf_program *(*attach_prog_fn)(void *ctx, enum lt_tracker tracker, bool ret);

/*
 * MULTI: uprobe_multi links. SHARED: probes are attached for every pid
 * (pid -1, BPF filters by tgid), once per (file, offset) for all plans.
 * NULL + errno.
 */
struct attach *attach__new(bool multi, bool shared, attach_prog_fn prog, void *ctx);
/*
 * TRACKER's probes go in as one uprobe session link per file (multi only),
 * served by PROG at both ends, instead of entry and return links.
 */
void attach__set_session(struct attach *a, enum lt_tracker tracker, struct bpf_program *prog);
/*
 * Attach every probe of PLAN not attached yet, bound to PID (ignored when
 * shared). KEEP_GOING: a probe that cannot be attached does not stop the
 * others (-a); else a refused malloc or free is an error. Returns how many
 * probes are in (those another plan attached already included), or
 * -errno with one line printed.
 */
int attach__plan(struct attach *a, int pid, struct lt_plan *plan, bool keep_going);
/* Attach PLAN's probe I on its own. 0 or -errno, one line printed. */
int attach__probe(struct attach *a, int pid, struct lt_plan *plan, int i);
/*
 * One entry uprobe of PROG at file offset OFF of PATH, bound to PID (or
 * every pid when shared), with COOKIE; WHAT names it in messages. 0 or
 * -errno, one line printed.
 */
int attach__uprobe(struct attach *a, struct bpf_program *prog, const char *path, uint64_t off, int pid,
		   uint64_t cookie, const char *what);
/* Attach PROG (a tracepoint, fentry or kprobe program) and hold its link. 0 or -errno, printed. */
int attach__prog(struct attach *a, struct bpf_program *prog);
/* How many uprobe_multi links or perf-event uprobe links are held. */
int attach__nlinks(const struct attach *a);
/* Detach everything, uprobes in parallel (each detach waits for an RCU grace period). NULL: no-op. */
void attach__free(struct attach *a);

#endif /* LT_ATTACH_H */
