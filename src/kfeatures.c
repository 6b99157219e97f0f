// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Kernel feature checks: see kfeatures.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "kfeatures.h"
#include "log.h"
#include "umulti.h"

bool kfeatures__btf(void)
{
	return access("/sys/kernel/btf/vmlinux", R_OK) == 0;
}

bool kfeatures__btf_func(const char *name)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool ok;

	if (!btf)
		return false;
	ok = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0;
	btf__free(btf);
	return ok;
}

int kfeatures__fentry(const char *func)
{
	/* r0 = 0; exit */
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int id = libbpf_find_vmlinux_btf_id(func, BPF_TRACE_FENTRY), fd;
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY);

	if (id < 0)
		return id;
	opts.attach_btf_id = id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "lt_fentry_probe", "Dual BSD/GPL", insns,
			   sizeof(insns) / sizeof(insns[0]), &opts);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

bool kfeatures__kprobes(void)
{
	return access("/sys/bus/event_source/devices/kprobe/type", R_OK) == 0;
}

bool kfeatures__uprobe_multi(void)
{
	return umulti__supported() && !getenv("LEAKTRACE_NO_UPROBE_MULTI");
}

int kfeatures__tracefs(void)
{
	if (access("/sys/kernel/tracing/events", F_OK) == 0 ||
	    access("/sys/kernel/debug/tracing/events", F_OK) == 0)
		return 0;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL)) {
		int err = -errno;

		lt_err("tracefs is not mounted and mounting it on /sys/kernel/tracing failed: %s\n",
		       strerror(-err));
		return err;
	}
	lt_info(1, "mounted tracefs on /sys/kernel/tracing\n");
	return 0;
}

bool kfeatures__seccomp_uretprobe_bug(char *rel, size_t len)
{
	struct utsname u;
	int maj, min;

	if (uname(&u) || sscanf(u.release, "%d.%d", &maj, &min) != 2)
		return false;
	snprintf(rel, len, "%s", u.release);
	return maj == 6 && min >= 11 && min <= 13;
}
