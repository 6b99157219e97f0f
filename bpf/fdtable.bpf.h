/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The current task's fd table, for the fd and timer trackers. */
#ifndef LT_FDTABLE_BPF_H
#define LT_FDTABLE_BPF_H

static __always_inline struct fdtable *cur_fdt(void)
{
	struct task_struct *task = bpf_get_current_task_btf();

	return BPF_CORE_READ(task, files, fdt);
}

/* The struct file * in slot FD of FDT (0: empty or out of range). */
static __always_inline __u64 slot_file(struct fdtable *fdt, int fd)
{
	struct file **arr;
	struct file *f = NULL;

	if (!fdt || fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	arr = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]);
	return (__u64)f;
}

#endif /* LT_FDTABLE_BPF_H */
