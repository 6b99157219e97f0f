// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --inject: the sampler file and its mapping in the target.
 *
 * The file holds the sampler's text (sampler/, built into leaktrace). It
 * is written once under /run/leaktrace/, named by a hash of its bytes,
 * root-owned, and renamed into place: a file that is mapped is never
 * modified. Its mapping is file-backed, so that uprobes can sit on it.
 *
 * The region (sampler_abi.h) is mapped by system calls the target runs:
 * the anonymous trampoline and data pages first (the file's path is
 * written into them), then openat, mmap of the text, close. It goes into
 * the free gap nearest the hooked libraries, so that every jmp rel32 and
 * relocated RIP-relative operand reaches. A later inject finds it mapped
 * and clears its tables instead (madvise MADV_DONTNEED): repeated injects
 * add no mapping.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "inject.h"
#include "procmaps.h"
#include "sampler_abi.h"
#include "sampler_blob.h"

#define LT_RUN_DIR "/run/leaktrace"
#define REACH (0x7fffffffULL - LT_SMP_REGION - 0x100000)	/* what rel32 reaches, with room */

static uint64_t blob_hash(void)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < sizeof(lt_smp_text); i++)
		h = (h ^ lt_smp_text[i]) * 0x100000001b3ULL;
	return h;
}

/* Is PATH already the sampler file, root-owned and not writable by others? */
static bool blob_ok(const char *path)
{
	unsigned char buf[sizeof(lt_smp_text)];
	struct stat st;
	bool ok;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return false;
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 && !(st.st_mode & 022) &&
	     st.st_size == (off_t)sizeof(buf) && read(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf) &&
	     memcmp(buf, lt_smp_text, sizeof(buf)) == 0;
	close(fd);
	return ok;
}

int inj__blob_file(char *path, size_t len)
{
	char tmp[128];
	int fd, err = 0;
	struct stat st;

	snprintf(path, len, LT_RUN_DIR "/sampler-%016llx.bin", (unsigned long long)blob_hash());
	if (blob_ok(path))
		return 0;
	if (mkdir(LT_RUN_DIR, 0755) && errno != EEXIST)
		return -errno;
	if (lstat(LT_RUN_DIR, &st) || !S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
		return -EPERM;	/* not a directory only root may write */
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, lt_smp_text, sizeof(lt_smp_text)) != (ssize_t)sizeof(lt_smp_text) || fsync(fd))
		err = errno ? -errno : -EIO;
	close(fd);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/* The sampler mapped already: its text from PATH at offset 0, then the anonymous pages. */
static uint64_t find_mapped(const struct proc_maps *m, const char *path)
{
	for (int i = 0; i + 2 < m->n; i++) {
		const struct map_entry *t = &m->e[i], *tr = &m->e[i + 1], *d = &m->e[i + 2];

		if (strcmp(t->path, path) != 0 || t->offset != 0 || !t->x || t->end - t->start != LT_SMP_TEXT)
			continue;
		if (tr->start != t->end || tr->path[0] || !tr->x || tr->end - tr->start != LT_SMP_TRAMP)
			continue;
		if (d->start != tr->end || d->path[0] || !d->w || d->end - d->start < LT_SMP_DATA)
			continue;
		return t->start;
	}
	return 0;
}

static uint64_t dist(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

/* A free gap for the region within reach of [LO, HI): the nearest. 0: none. */
static uint64_t find_gap(const struct proc_maps *m, uint64_t lo, uint64_t hi)
{
	uint64_t best = 0, best_d = UINT64_MAX, region = LT_SMP_REGION;

	for (int i = 0; i <= m->n; i++) {
		uint64_t gs = i ? m->e[i - 1].end : 0x10000, ge = i < m->n ? m->e[i].start : 0x7ffffffff000ULL;
		uint64_t cands[2];

		if (ge <= gs || ge - gs < region + 0x2000)
			continue;
		/* one page of room from each neighbour */
		cands[0] = gs + 0x1000;
		cands[1] = ((ge - 0x1000 - region) & ~0xfffULL);
		for (int c = 0; c < 2; c++) {
			uint64_t b = cands[c], e = b + region;
			uint64_t d = b < lo ? lo - b : b - lo;

			if (dist(b, lo) > REACH || dist(e, lo) > REACH || dist(b, hi) > REACH || dist(e, hi) > REACH)
				continue;
			if (d < best_d) {
				best_d = d;
				best = b;
			}
		}
	}
	return best;
}

static int sys_err(long r, const char *what, char *why, size_t wlen)
{
	if (r >= 0 || r < -4095)
		return 0;
	snprintf(why, wlen, "%s in the target failed: %s", what, strerror((int)-r));
	return (int)r;
}

int inj__map(struct inj_proc *p, const char *path, uint64_t lo, uint64_t hi, uint64_t *base,
	     bool *reused, char *why, size_t wlen)
{
	struct proc_maps *m = procmaps__read(p->pid);
	uint64_t b, anon, name;
	long r, fd;
	int err;

	*reused = false;
	if (!m) {
		snprintf(why, wlen, "cannot read its maps: %s", strerror(errno));
		return -errno;
	}
	b = find_mapped(m, path);
	if (b) {
		procmaps__free(m);
		/* the old tables go: the sampled set and the countdowns start empty */
		r = inj__syscall(p, SYS_madvise, b + LT_SMP_TEXT + LT_SMP_TRAMP + LT_SMP_CTL_SIZE,
				 LT_SMP_DATA - LT_SMP_CTL_SIZE, MADV_DONTNEED, 0, 0, 0);
		if ((err = sys_err(r, "madvise", why, wlen)))
			return err;
		if (dist(b, lo) > REACH || dist(b, hi) > REACH) {
			snprintf(why, wlen, "the sampler mapped earlier at 0x%llx is out of reach of the allocator",
				 (unsigned long long)b);
			return -ERANGE;
		}
		*base = b;
		*reused = true;
		return 0;
	}
	b = find_gap(m, lo, hi);
	procmaps__free(m);
	if (!b) {
		snprintf(why, wlen, "no free address range within 2 GiB of the allocator for the sampler");
		return -ENOMEM;
	}
	anon = b + LT_SMP_TEXT;
	r = inj__syscall(p, SYS_mmap, anon, LT_SMP_TRAMP + LT_SMP_DATA, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, (uint64_t)-1, 0);
	if ((err = sys_err(r, "mmap", why, wlen)))
		return err;
	if ((uint64_t)r != anon) {
		snprintf(why, wlen, "mmap in the target gave 0x%llx, not 0x%llx", (unsigned long long)r,
			 (unsigned long long)anon);
		return -EFAULT;
	}
	r = inj__syscall(p, SYS_mprotect, anon, LT_SMP_TRAMP, PROT_READ | PROT_EXEC, 0, 0, 0);
	if ((err = sys_err(r, "mprotect", why, wlen)))
		return err;
	/* the path, in the control page's second half (the target reads it for openat) */
	name = anon + LT_SMP_TRAMP + LT_SMP_CTL_SIZE / 2;
	if ((err = inj__write(p, name, path, strlen(path) + 1))) {
		snprintf(why, wlen, "cannot write into the target: %s", strerror(-err));
		return err;
	}
	fd = inj__syscall(p, SYS_openat, (uint64_t)AT_FDCWD, name, O_RDONLY | O_CLOEXEC, 0, 0, 0);
	if ((err = sys_err(fd, "openat of the sampler file", why, wlen)))
		return err;
	r = inj__syscall(p, SYS_mmap, b, LT_SMP_TEXT, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED_NOREPLACE,
			 (uint64_t)fd, 0);
	inj__syscall(p, SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0);
	if ((err = sys_err(r, "mmap of the sampler file", why, wlen)))
		return err;
	if ((uint64_t)r != b) {
		snprintf(why, wlen, "mmap in the target gave 0x%llx, not 0x%llx", (unsigned long long)r,
			 (unsigned long long)b);
		return -EFAULT;
	}
	*base = b;
	return 0;
}
