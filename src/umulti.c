// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/btf.h>
#include <linux/bpf.h>
#include "umulti.h"

/* bpf_attr.link_create as 6.6+ lays it out for uprobe_multi. */
struct link_create_umulti {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint64_t path;
	uint64_t offsets;
	uint64_t ref_ctr_offsets;
	uint64_t cookies;
	uint32_t cnt;
	uint32_t um_flags;
	uint32_t pid;
	uint32_t pad;
};

bool umulti__supported(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool ok;

	if (!btf)
		return false;
	ok = btf__find_by_name_kind(btf, "bpf_uprobe_multi_link", BTF_KIND_STRUCT) > 0;
	btf__free(btf);
	return ok;
}

bool umulti__session_supported(void)
{
	const char *no = getenv("LEAKTRACE_NO_UPROBE_SESSION");
	struct btf *btf;
	bool ok = false;
	int id;

	if ((no && strcmp(no, "1") == 0) || !umulti__supported())
		return false;
	btf = btf__load_vmlinux_btf();
	if (!btf)
		return false;
	/* 6.13 put a session context first in the uprobe_multi run context */
	id = btf__find_by_name_kind(btf, "bpf_uprobe_multi_run_ctx", BTF_KIND_STRUCT);
	if (id > 0) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const struct btf_member *m = btf_members(t);

		for (int i = 0; i < btf_vlen(t) && !ok; i++)
			ok = strcmp(btf__name_by_offset(btf, m[i].name_off), "session_ctx") == 0;
	}
	btf__free(btf);
	return ok;
}

int umulti__attach(int prog_fd, const char *path, const uint64_t *offsets,
		   const uint64_t *cookies, uint32_t cnt, int pid, enum umulti_kind kind)
{
	struct link_create_umulti a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.prog_fd = prog_fd;
	a.attach_type = kind == UMULTI_SESSION ? LT_BPF_TRACE_UPROBE_SESSION : LT_BPF_TRACE_UPROBE_MULTI;
	a.path = (uint64_t)(unsigned long)path;
	a.offsets = (uint64_t)(unsigned long)offsets;
	a.cookies = (uint64_t)(unsigned long)cookies;
	a.cnt = cnt;
	a.um_flags = kind == UMULTI_RETURN ? 1 /* BPF_F_UPROBE_MULTI_RETURN */ : 0;
	a.pid = pid > 0 ? pid : 0;
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
	return fd < 0 ? -errno : fd;
}
