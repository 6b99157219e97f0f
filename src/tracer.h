/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The tracer: the BPF object, its probes and trackers, the targets, and
 * the reports. Its parts are described in tracer_priv.h.
 */
#ifndef LT_TRACER_H
#define LT_TRACER_H

#include <stdbool.h>
#include <stdint.h>
#include "opts.h"
#include "plan.h"
#include "report.h"

struct tracer;

/* Open and load the BPF object. NULL + errno; one line already printed. */
struct tracer *tracer__new(const struct lt_opts *o);
/*
 * Attach the plan's probes, bound to PID. Takes ownership of the plan.
 * Returns the number of probes attached, or -errno with one line printed.
 */
int tracer__attach(struct tracer *t, int pid, struct lt_plan *plan);
/* Start symbolizing PID (after its exec, for -c). */
int tracer__watch(struct tracer *t, int pid);
/*
 * -c: PID is stopped at an exec (the command's own, or a wrapper's exec of
 * the real program): plan the new program from its file and attach what
 * it adds before it runs; watch it; have it stop itself once its
 * allocator is mapped, for its unwind tables. 0 or -errno.
 */
int tracer__exec_stop(struct tracer *t, int pid);
/* -c: was PID's SIGSTOP leaktrace's own (see above)? Then resume it without the signal. */
bool tracer__unwind_stop(struct tracer *t, int pid);
/* -c: after the exec, check the predicted definers against the real maps. */
void tracer__verify_plan(struct tracer *t, int pid);
/* Above this many -p PIDs, probes are attached for every pid with a tgid map. */
#define LT_PID_BOUND_MAX 4

/* -a: probe every allocator file in use (FIRST), or the ones new since. Probes attached, or -errno. */
int tracer__attach_system(struct tracer *t, bool first);
int tracer__nprobes(struct tracer *t);

/*
 * The memory section's sampling, as reports state it: RATE the mean bytes
 * between samples (0: exact, every block), SOURCE who samples ("bpf": the
 * uprobes' countdown, --sample; "in-process": a sampler in the target).
 * tracer__new sets it from --sample; a sampler in the target sets its own.
 * SOURCE is static.
 */
void tracer__set_sampling(struct tracer *t, uint64_t rate, const char *source);

/* How many targets are still alive (marks the others exited; --follow adds children). */
int tracer__alive(struct tracer *t);
/* Take the once-a-second sample of per-site totals. */
int tracer__sample(struct tracer *t);
/* Mark a target as exited (its symbols stay usable). */
void tracer__target_exited(struct tracer *t, int pid);
/* Fill *r (sites symbolized, sorted, top-N applied). */
int tracer__report(struct tracer *t, struct lt_report *r, bool final);
void tracer__free(struct tracer *t);	/* NULL is a no-op */

#endif
