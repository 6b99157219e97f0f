// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A live Go process's runtime state (see goproc.h): open and setup (the
 * layout chosen and checked on live memory), memory reads, what a code
 * address is, the accessors, the MemProfileRate write. Goroutine
 * snapshots, blocked stacks and the layout calibration are in gosnap.c,
 * timers in gotimers.c, each with the rules of the Go sources it follows;
 * goproc_priv.h holds what they share.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "goproc_priv.h"
#include "procmaps.h"

void goproc_perr(struct goproc *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
}

const char *goproc__error(const struct goproc *p)
{
	return p ? p->err : "";
}

/* ---------------------------------------------------------------------- */
/* memory                                                                 */

static int pid_readv(void *ctx, struct gomem_iov *iov, int n)
{
	int pid = *(int *)ctx;
	struct iovec l[IOV_BATCH], r[IOV_BATCH];
	int i = 0;

	while (i < n) {
		int k = n - i > IOV_BATCH ? IOV_BATCH : n - i, j;
		size_t acc = 0;
		ssize_t got;

		for (j = 0; j < k; j++) {
			l[j] = (struct iovec){ iov[i + j].buf, iov[i + j].len };
			r[j] = (struct iovec){ (void *)(uintptr_t)iov[i + j].addr, iov[i + j].len };
			iov[i + j].err = 0;
		}
		got = process_vm_readv(pid, l, k, r, k, 0);
		if (got < 0) {
			if (errno == ESRCH || errno == EPERM || errno == ENOMEM)
				return -errno;
			iov[i].err = -EFAULT;	/* the first one failed */
			i++;
			continue;
		}
		for (j = 0; j < k && acc + iov[i + j].len <= (size_t)got; j++)
			acc += iov[i + j].len;
		if (j < k)
			iov[i + j++].err = -EFAULT;	/* the one that stopped the transfer */
		i += j;
	}
	return 0;
}

static int pid_write(void *ctx, uint64_t addr, const void *buf, size_t len)
{
	int pid = *(int *)ctx;
	struct iovec l = { (void *)buf, len }, r = { (void *)(uintptr_t)addr, len };
	ssize_t got = process_vm_writev(pid, &l, 1, &r, 1, 0);

	if (got < 0)
		return -errno;
	return (size_t)got == len ? 0 : -EFAULT;
}

/* ---------------------------------------------------------------------- */
/* code addresses                                                         */

uint8_t goproc_pc_flags(struct goproc *p, uint64_t pc)
{
	size_t h, i;
	uint8_t f = 1;

	if (!in_text(p, pc))
		return 1;
	if (p->pcc_cap) {
		h = (size_t)((pc * 0x9e3779b97f4a7c15ull) >> 20) & (p->pcc_cap - 1);
		for (i = 0; i < p->pcc_cap; i++) {
			struct pccache_ent *e = &p->pcc[(h + i) & (p->pcc_cap - 1)];

			if (!e->flags)
				break;
			if (e->pc == pc)
				return e->flags;
		}
	}
	if (p->gb) {
		const char *name;

		if (gobin__is_func_entry(p->gb, pc - p->bias))
			f |= 2;
		name = gobin__func_name(p->gb, pc - p->bias);
		if (name && !strncmp(name, "runtime.", 8) && strcmp(name, "runtime.main") &&
		    strcmp(name, "runtime.corostart"))
			f |= 4;
	} else if (!(pc & 15)) {
		f |= 2;
	}
	if (p->pcc_cap) {
		struct pccache_ent *e = NULL;

		h = (size_t)((pc * 0x9e3779b97f4a7c15ull) >> 20) & (p->pcc_cap - 1);
		for (i = 0; i < p->pcc_cap / 2; i++) {	/* keep it at most half full */
			e = &p->pcc[(h + i) & (p->pcc_cap - 1)];
			if (!e->flags)
				break;
			e = NULL;
		}
		if (e) {
			e->pc = pc;
			e->flags = f;
		}
	}
	return f;
}

/* ---------------------------------------------------------------------- */
/* open                                                                   */

static void read_waitreasons(struct goproc *p)
{
	int n = p->gb ? gobin__waitreason_count(p->gb) : 0;
	uint64_t (*hdr)[2];
	uint64_t addr = p->sym[GOBIN_SYM_WAITREASONSTRINGS];

	if (!addr || n <= 0 || n > 255)
		return;
	hdr = calloc(n, sizeof(*hdr));
	p->wr = calloc(n, sizeof(*p->wr));
	if (!hdr || !p->wr || mem_read(p, addr, hdr, n * sizeof(*hdr))) {
		free(hdr);
		free(p->wr);
		p->wr = NULL;
		return;
	}
	for (int i = 0; i < n; i++) {
		char s[80];

		if (hdr[i][1] >= sizeof(s) || (hdr[i][1] && mem_read(p, hdr[i][0], s, hdr[i][1])))
			break;
		s[hdr[i][1]] = 0;
		if (strlen(s) != hdr[i][1])
			break;
		p->wr[i] = strdup(s);
		if (!p->wr[i])
			break;
		p->nwr = i + 1;
	}
	free(hdr);
}

static int setup(struct goproc *p, const struct goproc_target *t)
{
	struct go_layout L;
	const char *ver = p->gb ? gobin__version(p->gb) : "";
	char first[320] = "";
	int err;

	if (!ver[0])
		ver = "Go (version unknown)";
	p->max_status = p->minor >= 26 ? GO_LEAKED + 1 : GO_PREEMPTED;
	p->pcc_cap = 1 << 14;
	p->pcc = calloc(p->pcc_cap, sizeof(*p->pcc));
	if (!p->pcc)
		return -ENOMEM;
	for (int i = 0; i < GOBIN_SYM__MAX; i++) {
		uint64_t v;

		if (t && t->syms && t->syms[i])
			p->sym[i] = t->syms[i];
		else if (p->gb && !gobin__data_sym(p->gb, i, &v))
			p->sym[i] = v + p->bias;
	}
	if (p->gb) {
		uint64_t e;

		gobin__text(p->gb, &p->text_lo, &p->text_hi);
		p->text_lo += p->bias;
		p->text_hi += p->bias;
		if (!gobin__func_lookup(p->gb, "time.sendTime", &e, NULL))
			p->sendtime = e + p->bias;
		if (!gobin__func_lookup(p->gb, "time.goFunc", &e, NULL))
			p->gofunc = e + p->bias;
	}
	read_waitreasons(p);

	if (t && t->layout) {
		L = *t->layout;
		err = 0;
	} else {
		err = p->gb ? gobin__layout(p->gb, &L) : -ENOENT;
	}
	if (!err) {
		err = goproc_try_layout(p, &L);
		if (!err) {
			p->L = L;
			return 0;
		}
		if (err != -EAGAIN && err != -EINVAL)
			return err;
		snprintf(first, sizeof(first), "%s: %s", L.source, p->err);
	} else {
		memset(&L, 0, sizeof(L));
		L.p_timers = -1;
		snprintf(first, sizeof(first), "no DWARF and no table entry");
	}
	if (!(t && t->no_calibrate)) {
		char cerr[sizeof(p->err)];

		err = goproc_calibrate(p, &L);
		if (!err)
			err = goproc_try_layout(p, &L);
		if (!err) {
			p->L = L;
			return 0;
		}
		if (err == -ESRCH || err == -EPERM || err == -ENOMEM)
			return err;
		snprintf(cerr, sizeof(cerr), "%s", p->err);
		goproc_perr(p, "%s: no layout passed the live checks (%s; calibration: %s)", ver, first,
			    cerr);
	} else {
		goproc_perr(p, "%s: the layout failed the live checks (%s)", ver, first);
	}
	return -EPROTONOSUPPORT;
}

static struct goproc *fail(struct goproc *p, int err, char *errbuf, size_t errlen)
{
	if (errbuf && errlen)
		snprintf(errbuf, errlen, "%s", p->err[0] ? p->err : strerror(-err));
	goproc__free(p);
	errno = -err;
	return NULL;
}

struct goproc *goproc__open_mem(const struct goproc_target *t, const struct gomem_ops *ops,
				char *errbuf, size_t errlen)
{
	struct goproc *p;
	int err;

	if (!t || !ops || !ops->readv) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->gb = t->gb;
	p->bias = t->bias;
	p->ops = *ops;
	if (p->gb) {
		gobin__version_nums(p->gb, NULL, &p->minor, NULL);
	} else {
		p->minor = t->go_minor;
		p->text_lo = t->text_lo;
		p->text_hi = t->text_hi;
	}
	err = setup(p, t);
	if (err)
		return fail(p, err, errbuf, errlen);
	return p;
}

struct goproc *goproc__open(int pid, char *errbuf, size_t errlen)
{
	char path[64], exe[PATH_MAX];
	struct goproc *p;
	struct stat st;
	ssize_t n;
	int fd, err;

	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->ops.readv = pid_readv;
	p->ops.write = pid_write;
	p->ops.ctx = &p->pid;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goproc_perr(p, "cannot open %s: %s", path, strerror(errno));
		return fail(p, err, errbuf, errlen);
	}
	p->gb = gobin__open_fd(fd, exe[0] ? exe : path);
	err = -errno;
	if (!p->gb) {
		goproc_perr(p, "%s: %s", exe[0] ? exe : path, gobin__last_error());
		close(fd);
		return fail(p, err, errbuf, errlen);
	}
	p->own_gb = true;
	gobin__version_nums(p->gb, NULL, &p->minor, NULL);
	if (gobin__is_pie(p->gb)) {
		struct proc_maps *m = procmaps__read(pid);
		bool found = false;

		if (!m || fstat(fd, &st)) {
			err = m ? -errno : -errno;
			goproc_perr(p, "cannot read /proc/%d/maps", pid);
			procmaps__free(m);
			close(fd);
			return fail(p, err ? err : -ESRCH, errbuf, errlen);
		}
		for (int i = 0; i < m->n && !found; i++) {
			const struct map_entry *e = &m->e[i];

			if (e->inode == st.st_ino && e->offset == 0 && procmaps__is_file(e)) {
				p->bias = e->start - gobin__load_base(p->gb);
				found = true;
			}
		}
		procmaps__free(m);
		if (!found) {
			goproc_perr(p, "the executable's mapping is not in /proc/%d/maps", pid);
			close(fd);
			return fail(p, -ENOENT, errbuf, errlen);
		}
	}
	close(fd);
	err = setup(p, NULL);
	if (err)
		return fail(p, err, errbuf, errlen);
	return p;
}

void goproc__free(struct goproc *p)
{
	if (!p)
		return;
	if (p->own_gb)
		gobin__free(p->gb);
	for (int i = 0; i < p->nwr; i++)
		free(p->wr[i]);
	free(p->wr);
	free(p->pcc);
	if (p->gbuf)
		munmap(p->gbuf, p->gbuf_len);
	free(p->hslab[0]);
	free(p->hslab[1]);
	free(p->hw_b);
	free(p->hw_pcs);
	free(p->hw_seen);
	free(p);
}

struct gobin *goproc__gobin(struct goproc *p)
{
	return p->gb;
}

uint64_t goproc__bias(const struct goproc *p)
{
	return p->bias;
}

const struct go_layout *goproc__layout(const struct goproc *p)
{
	return &p->L;
}

int goproc__pid(const struct goproc *p)
{
	return p ? p->pid : 0;
}

int goproc__go_minor(const struct goproc *p)
{
	return p ? p->minor : 0;
}

uint64_t goproc__sym(const struct goproc *p, enum gobin_sym which)
{
	return p && (unsigned)which < GOBIN_SYM__MAX ? p->sym[which] : 0;
}

void goproc__text(const struct goproc *p, uint64_t *lo, uint64_t *hi)
{
	if (lo)
		*lo = p ? p->text_lo : 0;
	if (hi)
		*hi = p ? p->text_hi : 0;
}

void goproc__set_error(struct goproc *p, const char *fmt, ...)
{
	va_list ap;

	if (!p)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
}

int goproc__readv(struct goproc *p, struct gomem_iov *iov, int n)
{
	if (!p || (n && !iov) || n < 0)
		return -EINVAL;
	return mem_readv(p, iov, n);
}

int goproc__set_memprofile_rate(struct goproc *p, int64_t rate, int64_t *old)
{
	uint64_t addr;
	int64_t cur = 0, back = 0;
	int err;

	if (!p || rate < 0 || rate > INT32_MAX)
		return -EINVAL;
	addr = p->sym[GOBIN_SYM_MEMPROFILERATE];
	if (!addr) {
		goproc_perr(p, "runtime.MemProfileRate not located: nothing written");
		return -ENOENT;
	}
	if (!p->ops.write) {
		goproc_perr(p, "this target cannot be written");
		return -EOPNOTSUPP;
	}
	err = mem_read(p, addr, &cur, sizeof(cur));
	if (err)
		return err;
	if (cur < 0 || cur > INT32_MAX) {
		goproc_perr(p, "runtime.MemProfileRate at 0x%llx holds %lld, not a rate: nothing written",
			    (unsigned long long)addr, (long long)cur);
		return -EINVAL;
	}
	err = p->ops.write(p->ops.ctx, addr, &rate, sizeof(rate));
	if (err) {
		goproc_perr(p, "writing runtime.MemProfileRate: %s", strerror(-err));
		return err;
	}
	err = mem_read(p, addr, &back, sizeof(back));
	if (err)
		return err;
	if (back != rate) {	/* the program set it again in between */
		goproc_perr(p, "runtime.MemProfileRate reads %lld after writing %lld",
			    (long long)back, (long long)rate);
		return -EAGAIN;
	}
	if (old)
		*old = cur;
	return 0;
}

const char *goproc__status_name(uint32_t status)
{
	static const char *const names[] = {
		"idle", "runnable", "running", "syscall", "waiting", "moribund",
		"dead", "enqueue", "copystack", "preempted", "leaked",
	};

	return status < sizeof(names) / sizeof(names[0]) ? names[status] : "?";
}
