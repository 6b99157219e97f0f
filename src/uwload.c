// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "leaktrace.skel.h"
#include "procimg.h"
#include "unwind.h"
#include "util.h"
#include "uwload.h"
#include "log.h"

#define UW_ROWS_MAX	(1u << 20)	/* 12 MiB: python3 takes 65k, libc 28k */
#define UW_PAGES_MAX	(1u << 18)	/* 64 MiB of text, 1 MiB of map */
#define UW_MODS_MAX	1024u

struct uw_module {
	uint64_t dev, inode;
	char *path;
	uint32_t id;		/* index in uw_mods, or LT_UW_NO_MOD (no room, or no table) */
	bool fp;		/* most of its code keeps a frame pointer */
	struct unwind_table ut;	/* rows and pages freed once loaded; segments kept */
};

struct uw_proc {
	int pid;
	uint32_t slot;
	bool tables;		/* walked with tables (else frame pointers) */
	bool sys;		/* only the fd and mmap syscalls' stacks are */
	struct lt_uproc last;	/* what BPF has */
};

struct uwload {
	struct leaktrace_bpf *skel;
	enum lt_stacks mode;
	bool sys;		/* the fd and mmap syscalls' stacks use the tables in every mode */
	struct uw_module *mods;
	int nmods;
	uint32_t rows_used, pages_used, mods_used;
	struct uw_proc *procs;
	int nprocs;
	bool *slot_used;
	bool full_warned;
};

void uwload__size_maps(struct leaktrace_bpf *skel, enum lt_stacks mode, bool sys)
{
	if (mode == LT_STACKS_FP && !sys)
		return;	/* the 1-entry defaults: bpf_get_stack() only */
	bpf_map__set_max_entries(skel->maps.uw_rows, UW_ROWS_MAX);
	bpf_map__set_max_entries(skel->maps.uw_pages, UW_PAGES_MAX);
	bpf_map__set_max_entries(skel->maps.uw_mods, UW_MODS_MAX);
	bpf_map__set_max_entries(skel->maps.uw_procs, LT_MAX_TARGETS);
}

struct uwload *uwload__new(struct leaktrace_bpf *skel, enum lt_stacks mode, bool sys)
{
	struct uwload *u;

	if (mode == LT_STACKS_FP && !sys)
		return NULL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->slot_used = calloc(LT_MAX_TARGETS, sizeof(*u->slot_used));
	if (!u->slot_used) {
		free(u);
		return NULL;
	}
	u->skel = skel;
	u->mode = mode;
	u->sys = sys;
	return u;
}

/* Write N consecutive array entries from KEY0. 0, or -errno. */
static int put_array(int fd, uint32_t key0, const void *vals, size_t size, uint32_t n)
{
	uint32_t *keys;
	__u32 count = n;
	int err;

	if (!n)
		return 0;
	keys = malloc(n * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		keys[i] = key0 + i;
	err = bpf_map_update_batch(fd, keys, vals, &count, NULL);
	if (err) {	/* no batch ops for arrays on this kernel: one at a time */
		err = 0;
		for (uint32_t i = 0; i < n && !err; i++)
			err = bpf_map_update_elem(fd, &keys[i], (const char *)vals + i * size, BPF_ANY);
	}
	free(keys);
	return err ? -errno : 0;
}

/* Copy M's table into the maps. M->id stays LT_UW_NO_MOD when there is no room. */
static int upload(struct uwload *u, struct uw_module *m)
{
	struct unwind_table *ut = &m->ut;
	struct lt_umod um = {};
	uint32_t npg = ut->npages + 1;
	int err;

	if (!ut->nrows)
		return 0;
	if (u->mods_used >= UW_MODS_MAX || ut->nrows > UW_ROWS_MAX - u->rows_used ||
	    npg > UW_PAGES_MAX - u->pages_used) {
		if (!u->full_warned)
			lt_err("the unwind tables are full (%u rows): %s and later modules are walked with frame pointers\n",
				u->rows_used, m->path);
		u->full_warned = true;
		return -ENOSPC;
	}
	/* page entries are absolute row indexes */
	for (uint32_t i = 0; i < npg; i++)
		ut->pages[i] += u->rows_used;
	err = put_array(bpf_map__fd(u->skel->maps.uw_rows), u->rows_used, ut->rows, sizeof(*ut->rows), ut->nrows);
	if (!err)
		err = put_array(bpf_map__fd(u->skel->maps.uw_pages), u->pages_used, ut->pages, sizeof(*ut->pages), npg);
	if (err)
		return err;
	um.vaddr_lo = ut->vaddr_lo;
	um.row_start = u->rows_used;
	um.nrows = ut->nrows;
	um.page_start = u->pages_used;
	um.npages = ut->npages;
	err = bpf_map_update_elem(bpf_map__fd(u->skel->maps.uw_mods), &u->mods_used, &um, BPF_ANY);
	if (err)
		return -errno;
	m->id = u->mods_used++;
	u->rows_used += ut->nrows;
	u->pages_used += npg;
	return 0;
}

static struct uw_module *module_of(struct uwload *u, int pid, const struct map_entry *e)
{
	uint64_t dev = makedev(e->dev_major, e->dev_minor);
	struct uw_module *m, *nm;
	int fd, err;

	for (int i = 0; i < u->nmods; i++) {
		if (u->mods[i].dev == dev && u->mods[i].inode == e->inode)
			return &u->mods[i];
	}
	nm = realloc(u->mods, (u->nmods + 1) * sizeof(*nm));
	if (!nm)
		return NULL;
	u->mods = nm;
	m = &nm[u->nmods];
	memset(m, 0, sizeof(*m));
	m->dev = dev;
	m->inode = e->inode;
	m->id = LT_UW_NO_MOD;
	m->fp = true;
	m->path = strdup(e->path);
	if (!m->path)
		return NULL;
	u->nmods++;

	fd = procmaps__open(pid, e);
	if (fd < 0) {
		lt_info(1, "unwind: cannot open %s: %s; walked with frame pointers\n", e->path, strerror(-fd));
		return m;
	}
	err = unwind__build(fd, &m->ut);
	close(fd);
	if (err) {
		lt_info(1, "unwind: %s: no table (%s); walked with frame pointers\n", e->path, strerror(-err));
		return m;
	}
	m->fp = unwind__has_fp(&m->ut);
	upload(u, m);
	lt_info(1, "unwind: %s: %s, %u functions, %u with a frame pointer, %u rows (%u it cannot follow)%s\n",
		  e->path, m->ut.source, m->ut.nfde, m->ut.nfde_fp, m->ut.nrows, m->ut.nbad,
		  m->id == LT_UW_NO_MOD ? "; not loaded: frame pointers" : "");
	/* BPF has the rows now; keep only the segments */
	free(m->ut.rows);
	free(m->ut.pages);
	m->ut.rows = NULL;
	m->ut.pages = NULL;
	return m;
}

static struct uw_proc *proc_of(struct uwload *u, int pid, bool create)
{
	struct uw_proc *np;
	uint32_t slot;

	for (int i = 0; i < u->nprocs; i++)
		if (u->procs[i].pid == pid)
			return &u->procs[i];
	if (!create)
		return NULL;
	for (slot = 0; slot < LT_MAX_TARGETS && u->slot_used[slot]; slot++)
		;
	if (slot == LT_MAX_TARGETS)
		return NULL;
	np = realloc(u->procs, (u->nprocs + 1) * sizeof(*np));
	if (!np)
		return NULL;
	u->procs = np;
	np = &np[u->nprocs++];
	memset(np, 0, sizeof(*np));
	np->pid = pid;
	np->slot = slot;
	u->slot_used[slot] = true;
	return np;
}

int uwload__sync(struct uwload *u, const struct proc_image *img)
{
	const struct proc_maps *pm = img ? img->maps : NULL;
	struct lt_uproc up = {};
	struct uw_proc *p;
	bool tables, exe_fp = true, had;
	int pid = img ? img->pid : 0;
	__u32 key = pid, val;
	int err = 0;

	if (!u || !pm)
		return 0;
	for (int i = 0; i < pm->n; i++) {
		const struct map_entry *e = &pm->e[i];
		struct uw_module *m;
		struct lt_umap *um;

		if (!e->x || !procmaps__is_file(e))
			continue;
		m = module_of(u, pid, e);
		if (!m)
			continue;
		if (m->dev == img->exe_dev && m->inode == img->exe_inode)
			exe_fp = m->fp;
		if (up.n == LT_UW_MAPS) {
			lt_info(1, "unwind: pid %d maps more than %d code files; %s and later are unknown to the unwinder\n",
				  pid, LT_UW_MAPS, e->path);
			continue;
		}
		um = &up.m[up.n];
		um->start = e->start;
		um->end = e->end;
		um->mod = m->id;
		if (m->id != LT_UW_NO_MOD) {
			uint64_t bias;

			if (unwind__bias(&m->ut, e->offset, e->start, &bias))
				um->mod = LT_UW_NO_MOD;
			else
				um->bias = bias;
		}
		up.n++;
	}

	tables = u->mode == LT_STACKS_DWARF || (u->mode == LT_STACKS_AUTO && !exe_fp);
	p = proc_of(u, pid, tables || u->sys);
	if (!p)
		return tables || u->sys ? -ENOSPC : 0;
	had = p->tables;
	if (!tables && !u->sys) {
		bpf_map_delete_elem(bpf_map__fd(u->skel->maps.uw_tgid), &key);
		p->tables = false;
		return 0;
	}
	if (memcmp(&up, &p->last, sizeof(up)) != 0) {
		err = bpf_map_update_elem(bpf_map__fd(u->skel->maps.uw_procs), &p->slot, &up, BPF_ANY);
		if (err)
			return -errno;
		p->last = up;
	}
	/* (again after an exec, which deletes it in BPF) */
	val = p->slot | (tables ? 0 : LT_UW_SYS_ONLY);
	err = bpf_map_update_elem(bpf_map__fd(u->skel->maps.uw_tgid), &key, &val, BPF_ANY);
	if (err)
		return -errno;
	p->tables = tables;
	if (!tables) {
		if (!p->sys)
			lt_info(1, "unwind: pid %d: frame pointers, but .eh_frame tables for the fd and mmap syscalls' stacks\n",
				pid);
		p->sys = true;
		return 0;
	}
	if (!had)
		lt_info(1, "unwind: pid %d: stacks walked with .eh_frame tables (%s)\n", pid,
			  u->mode == LT_STACKS_DWARF ? "--stacks dwarf" : "its program keeps no frame pointer");
	return 0;
}

int uwload__missed(struct uwload *u, int *pids, int max)
{
	__u32 key, next, *prev = NULL;
	int fd, n = 0, k = 0;

	if (!u)
		return 0;
	fd = bpf_map__fd(u->skel->maps.uw_miss);
	while (n < max && bpf_map_get_next_key(fd, prev, &next) == 0) {
		pids[n++] = next;
		key = next;
		prev = &key;
	}
	for (int i = 0; i < n; i++) {
		key = pids[i];
		bpf_map_delete_elem(fd, &key);
		if (proc_of(u, pids[i], false))
			pids[k++] = pids[i];
	}
	return k;
}

void uwload__arm_stop(struct uwload *u, int pid)
{
	__u32 key = pid;
	__u8 one = 1;

	if (uwload__uses_tables(u, pid))
		bpf_map_update_elem(bpf_map__fd(u->skel->maps.uw_stop), &key, &one, BPF_ANY);
}

bool uwload__take_stop(struct uwload *u, int pid)
{
	__u32 key = pid;
	__u8 v = 0;
	int fd;

	if (!u)
		return false;
	fd = bpf_map__fd(u->skel->maps.uw_stop);
	if (bpf_map_lookup_elem(fd, &key, &v) || v != 2)
		return false;
	bpf_map_delete_elem(fd, &key);
	lt_info(1, "unwind: pid %d stopped at its first allocation to load the tables of what it mapped since its exec\n",
		  pid);
	return true;
}

bool uwload__uses_tables(struct uwload *u, int pid)
{
	struct uw_proc *p = u ? proc_of(u, pid, false) : NULL;

	return p && p->tables;
}

void uwload__forget(struct uwload *u, int pid)
{
	__u32 key = pid;

	for (int i = 0; u && i < u->nprocs; i++) {
		if (u->procs[i].pid != pid)
			continue;
		bpf_map_delete_elem(bpf_map__fd(u->skel->maps.uw_tgid), &key);
		bpf_map_delete_elem(bpf_map__fd(u->skel->maps.uw_stop), &key);
		u->slot_used[u->procs[i].slot] = false;
		u->procs[i] = u->procs[--u->nprocs];
		return;
	}
}

void uwload__free(struct uwload *u)
{
	if (!u)
		return;
	for (int i = 0; i < u->nmods; i++) {
		unwind__free(&u->mods[i].ut);
		free(u->mods[i].path);
	}
	free(u->mods);
	free(u->procs);
	free(u->slot_used);
	free(u);
}
