/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the running kernel offers, checked in one place: BTF, the kprobe
 * PMU, uprobe_multi links, tracefs, and the kernels whose uretprobes kill
 * seccomp-filtered services. fentry is judged by loading it (the kernel
 * may refuse it even with BTF: EPERM here, see docs/design.md, "Kernels"):
 * an empty program first (kfeatures__fentry), then the real ones.
 */
#ifndef LT_KFEATURES_H
#define LT_KFEATURES_H

#include <stdbool.h>
#include <stddef.h>

/* /sys/kernel/btf/vmlinux: CO-RE programs need it. */
bool kfeatures__btf(void);
/* Does the kernel's BTF have the function NAME (not inlined away, fentry can attach)? */
bool kfeatures__btf_func(const char *name);
/*
 * Does the kernel load an fentry program on FUNC? Loads an empty one and
 * throws it away: a kernel that refuses fentry (EPERM here) says so in a
 * millisecond, before the whole object is loaded for nothing. 0 or -errno.
 */
int kfeatures__fentry(const char *func);
/* The kprobe PMU (/sys/bus/event_source/devices/kprobe). */
bool kfeatures__kprobes(void);
/* uprobe_multi links (6.6+), from the kernel's BTF; LEAKTRACE_NO_UPROBE_MULTI turns them off. */
bool kfeatures__uprobe_multi(void);
/* libbpf finds syscall tracepoints through tracefs: mount it when it is not. 0 or -errno, printed. */
int kfeatures__tracefs(void);
/*
 * Kernels 6.11-6.13 without the seccomp passthrough fix kill
 * seccomp-filtered services at a uretprobe return (systemd#34615). True
 * there, with the release in REL.
 */
bool kfeatures__seccomp_uretprobe_bug(char *rel, size_t len);

#endif /* LT_KFEATURES_H */
