// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* One snapshot of a process's address space: see procimg.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "procimg.h"

struct proc_image *procimg__read(int pid, uint64_t tick)
{
	struct proc_image *img = calloc(1, sizeof(*img));
	char path[64];
	struct stat st;

	if (!img)
		return NULL;
	img->pid = pid;
	img->tick = tick;
	img->maps = procmaps__read(pid);
	if (!img->maps) {
		int err = errno;

		free(img);
		errno = err;
		return NULL;
	}
	img->zombie = img->maps->n == 0;
	for (int i = 0; i < img->maps->n; i++) {
		if (strcmp(img->maps->e[i].path, "[uprobes]") == 0) {
			img->xol_start = img->maps->e[i].start;
			img->xol_end = img->maps->e[i].end;
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (stat(path, &st) == 0) {
		img->exe_dev = st.st_dev;
		img->exe_inode = st.st_ino;
	}
	return img;
}

void procimg__free(struct proc_image *img)
{
	if (!img)
		return;
	procmaps__free(img->maps);
	free(img);
}

struct file_id procimg__file_id(const struct map_entry *e)
{
	struct file_id id = { e->dev_major, e->dev_minor, e->inode, e->path };

	return id;
}

bool file_id__same(const struct file_id *a, const struct file_id *b)
{
	return a->dev_major == b->dev_major && a->dev_minor == b->dev_minor &&
	       a->inode == b->inode && !strcmp(a->path, b->path);
}

bool procimg__in_xol(const struct proc_image *img, uint64_t addr)
{
	return img && img->xol_end && addr >= img->xol_start && addr < img->xol_end;
}
