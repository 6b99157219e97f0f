/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* --inject, the tracer's side (src/inject_tracer.c; the injector is inject.h). */
#ifndef LT_INJECT_TRACER_H
#define LT_INJECT_TRACER_H

#include <stdbool.h>
#include <stdint.h>
#include "plan.h"

struct tracer;

/*
 * With --inject: take PLAN's memory probes out of the uprobes to attach
 * (marked attached); they become detours at inject__now / inject__trap.
 * PLAN_IDX: the index the plan will have among the target's plans.
 * Returns how many, or -errno.
 */
int inject__defer(struct tracer *t, int pid, struct lt_plan *plan, int plan_idx);
/*
 * Without --inject: PID maps the sampler of an earlier --inject (whose
 * leaktrace was killed)? Undo its detours before uprobes go on the same
 * functions (a uprobe on a detoured entry would break it). 0 or -errno
 * (said in one line when the detours could not be undone).
 */
int inject__clear_stale(struct tracer *t, int pid, struct lt_plan *plan);
/* -a: inject__clear_stale for every process that maps a sampler, before the system-wide uprobes go in. */
void inject__clear_stale_all(struct tracer *t);
/* -p: put the sampler into PID now. The uprobes it added (0: nothing to do), or -1 with one line printed. */
int inject__now(struct tracer *t, int pid);
/* -c: PID is stopped at its exec: a breakpoint at its entry point. 0 or -errno (printed). */
int inject__arm(struct tracer *t, int pid);
/* -c: PID stopped with SIGTRAP: was it our breakpoint? Then the sampler goes in; resume it without the signal. */
bool inject__trap(struct tracer *t, int pid);
/*
 * Sampled blocks the targets' samplers could not keep in their sets (so
 * their frees would go unseen: not recorded), summed over every target
 * injected; the last count read stays for a target that is gone.
 */
uint64_t inject__set_full(void);
/* Undo every target's detours (each checked byte for byte). */
void inject__undo_all(void);

#endif
