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
/* Link PROG_FD to CNT offsets in PATH, bound to PID (0: any). Returns the link fd or -errno. */
int umulti__attach(int prog_fd, const char *path, const uint64_t *offsets,
		   const uint64_t *cookies, uint32_t cnt, int pid, bool retprobe);

#define LT_BPF_TRACE_UPROBE_MULTI 48

#endif
