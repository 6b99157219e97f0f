/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * uprobe_multi links (kernel 6.6+), created with the raw bpf() syscall
 * because libbpf 1.1.2 has no API for them. One link carries every probe
 * of one file, so attaching and, above all, detaching cost one RCU grace
 * period per file instead of one per probe (about 0.1 s each here).
 */
#ifndef LT_UMULTI_H
#define LT_UMULTI_H

#include <stdbool.h>
#include <stdint.h>

/* Does the running kernel have uprobe_multi links? (from its BTF) */
bool umulti__supported(void);
/*
 * Does it have uprobe sessions (6.13+: the entry program's return value
 * decides whether the return program runs)? From its BTF; false when
 * LEAKTRACE_NO_UPROBE_SESSION=1 (tests of the fallback).
 */
bool umulti__session_supported(void);

/* What a link's programs run at. */
enum umulti_kind { UMULTI_ENTRY, UMULTI_RETURN, UMULTI_SESSION };

/*
 * Link PROG_FD to CNT offsets in PATH, bound to PID (0: any). A session
 * link's program must be loaded with LT_BPF_TRACE_UPROBE_SESSION, return
 * 0 or 1, and never gets the RETURN flag (it would become return-only).
 * Returns the link fd or -errno.
 */
int umulti__attach(int prog_fd, const char *path, const uint64_t *offsets,
		   const uint64_t *cookies, uint32_t cnt, int pid, enum umulti_kind kind);

#define LT_BPF_TRACE_UPROBE_MULTI 48
#define LT_BPF_TRACE_UPROBE_SESSION 57

#endif
