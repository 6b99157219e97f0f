/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A tracing session: the mode's targets attached (-p, -c, -a), the
 * "ready" line, then a report every interval, the once-a-second sample,
 * the -c command's stops, and the final report on a signal, at --once's
 * end, at COUNT reports, or when every target is gone.
 */
#ifndef LT_SESSION_H
#define LT_SESSION_H

#include <signal.h>
#include "opts.h"

/*
 * Run a session of O. STOP is set by the signal handlers; WAITMASK is the
 * signal mask to wait with (the signals are blocked otherwise, so none is
 * lost between checks). Returns the exit status: 0, 1 (error, one line
 * printed), 2 (usage), 3 (--fail-on-leak found a growing site).
 */
int session__run(const struct lt_opts *o, volatile sig_atomic_t *stop, const sigset_t *waitmask);

#endif /* LT_SESSION_H */
