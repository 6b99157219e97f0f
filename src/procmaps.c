// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * /proc/PID/maps parser.
 *
 * Line format (fs/proc/task_mmu.c, show_map_vma()):
 *
 *   start-end perms offset major:minor inode [padding path]
 *
 * start, end, offset, major and minor are hex, inode is decimal. The kernel
 * always prints a space after the inode, then pads to a fixed column and
 * prints the path, if any, up to the newline. Paths may contain spaces;
 * the kernel escapes '\n' in them as "\012", so a line never spans two
 * lines. Everything is parsed by hand (no sscanf, which would accept
 * signs, "0x" prefixes and leading blanks) so that fuzzed input is
 * rejected with EINVAL instead of being half-accepted.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "procmaps.h"

#define DELETED_SUFFIX " (deleted)"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parse 1..16 hex digits at *p (not past END). 0 or -EINVAL. */
static int parse_hex(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int n = 0, d;

	while (s < end && (d = hexval(*s)) >= 0) {
		if (++n > 16)
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
		s++;
	}
	if (!n)
		return -EINVAL;
	*p = s;
	*out = v;
	return 0;
}

/* Parse 1..20 decimal digits without overflow. 0 or -EINVAL. */
static int parse_dec(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int n = 0;

	while (s < end && *s >= '0' && *s <= '9') {
		uint64_t d = (uint64_t)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
		n++;
		s++;
	}
	if (!n)
		return -EINVAL;
	*p = s;
	*out = v;
	return 0;
}

static int expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

static int parse_flag(const char **p, const char *end, char yes, char no, bool *out)
{
	if (*p >= end)
		return -EINVAL;
	if (**p == yes)
		*out = true;
	else if (**p == no)
		*out = false;
	else
		return -EINVAL;
	(*p)++;
	return 0;
}

/*
 * Parse one line [s, end) (no newline) into *e. LINE is a writable copy of
 * the same bytes: the path is NUL-terminated in place there.
 */
static int parse_line(const char *s, const char *end, char *line, struct map_entry *e)
{
	const char *p = s;
	uint64_t major, minor;
	size_t plen, slen = sizeof(DELETED_SUFFIX) - 1;
	int err;

	memset(e, 0, sizeof(*e));
	if ((err = parse_hex(&p, end, &e->start)) ||
	    (err = expect(&p, end, '-')) ||
	    (err = parse_hex(&p, end, &e->end)) ||
	    (err = expect(&p, end, ' ')) ||
	    (err = parse_flag(&p, end, 'r', '-', &e->r)) ||
	    (err = parse_flag(&p, end, 'w', '-', &e->w)) ||
	    (err = parse_flag(&p, end, 'x', '-', &e->x)) ||
	    (err = parse_flag(&p, end, 'p', 's', &e->p)) ||
	    (err = expect(&p, end, ' ')) ||
	    (err = parse_hex(&p, end, &e->offset)) ||
	    (err = expect(&p, end, ' ')) ||
	    (err = parse_hex(&p, end, &major)) ||
	    (err = expect(&p, end, ':')) ||
	    (err = parse_hex(&p, end, &minor)) ||
	    (err = expect(&p, end, ' ')) ||
	    (err = parse_dec(&p, end, &e->inode)))
		return err;
	if (e->start >= e->end || major > UINT32_MAX || minor > UINT32_MAX)
		return -EINVAL;
	e->dev_major = (uint32_t)major;
	e->dev_minor = (uint32_t)minor;

	/* Either the end of the line, or at least one blank then the path. */
	if (p < end && *p != ' ')
		return -EINVAL;
	while (p < end && *p == ' ')
		p++;
	plen = (size_t)(end - p);
	if (memchr(p, '\0', plen))
		return -EINVAL;
	if (plen > slen && !memcmp(end - slen, DELETED_SUFFIX, slen)) {
		e->deleted = true;
		plen -= slen;
	}
	e->path = line + (p - s);
	e->path[plen] = '\0';
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct map_entry *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

struct proc_maps *procmaps__parse(const char *text, size_t len)
{
	struct proc_maps *m = NULL;
	const char *p, *end, *nl;
	size_t nlines = 0, off;
	bool sorted = true;
	char *copy;
	int err = 0;

	if (!text && len) {
		errno = EINVAL;
		return NULL;
	}
	for (p = text, end = text + len; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		nlines++;
		if (!nl)
			break;
	}
	if (nlines > (SIZE_MAX - len - 1) / sizeof(struct map_entry) ||
	    nlines > INT32_MAX) {
		errno = ENOMEM;
		return NULL;
	}

	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	/* One block: the entries, then a copy of the text that paths point into. */
	m->e = malloc(nlines * sizeof(struct map_entry) + len + 1);
	if (!m->e) {
		err = -ENOMEM;
		goto cleanup;
	}
	copy = (char *)(m->e + nlines);
	if (len)
		memcpy(copy, text, len);
	copy[len] = '\0';

	for (p = text, end = text + len; p < end; p = nl + 1) {
		const char *lend;

		nl = memchr(p, '\n', (size_t)(end - p));
		lend = nl ? nl : end;
		off = (size_t)(p - text);
		err = parse_line(p, lend, copy + off, &m->e[m->n]);
		if (err)
			goto cleanup;
		if (m->n && m->e[m->n].start < m->e[m->n - 1].start)
			sorted = false;
		m->n++;
		if (!nl)
			break;
	}
	/* A maps file read in several chunks is not atomic; keep find() sane. */
	if (!sorted)
		qsort(m->e, (size_t)m->n, sizeof(*m->e), cmp_entry);
	return m;

cleanup:
	procmaps__free(m);
	errno = -err;
	return NULL;
}

struct proc_maps *procmaps__read(int pid)
{
	struct proc_maps *m = NULL;
	size_t len = 0, cap = 64 * 1024;
	char path[64], *buf, *nbuf;
	int fd, err = 0;
	ssize_t r;

	if (pid <= 0) {
		errno = EINVAL;
		return NULL;
	}
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			errno = ESRCH;
		return NULL;
	}
	buf = malloc(cap);
	if (!buf) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (;;) {
		if (len == cap) {
			if (cap > SIZE_MAX / 2) {
				err = -ENOMEM;
				goto cleanup;
			}
			nbuf = realloc(buf, cap * 2);
			if (!nbuf) {
				err = -ENOMEM;
				goto cleanup;
			}
			buf = nbuf;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = errno == ENOENT ? -ESRCH : -errno;
			goto cleanup;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	m = procmaps__parse(buf, len);
	if (!m)
		err = -errno;

cleanup:
	free(buf);
	close(fd);
	if (err) {
		errno = -err;
		return NULL;
	}
	return m;
}

void procmaps__free(struct proc_maps *m)
{
	if (!m)
		return;
	free(m->e);	/* the paths live in the same block */
	free(m);
}

const struct map_entry *procmaps__find(const struct proc_maps *m, uint64_t addr)
{
	int lo = 0, hi, mid;

	if (!m || m->n <= 0)
		return NULL;
	/* Last entry with start <= addr. */
	hi = m->n - 1;
	if (addr < m->e[0].start)
		return NULL;
	while (lo < hi) {
		mid = lo + (hi - lo + 1) / 2;
		if (m->e[mid].start <= addr)
			lo = mid;
		else
			hi = mid - 1;
	}
	return addr < m->e[lo].end ? &m->e[lo] : NULL;
}

bool procmaps__is_file(const struct map_entry *e)
{
	return e && e->path && e->path[0] == '/';
}

int procmaps__open(int pid, const struct map_entry *e)
{
	char buf[PATH_MAX + 64];
	struct stat st;
	int fd, n;

	snprintf(buf, sizeof(buf), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
		 pid, e->start, e->end);
	/* O_NONBLOCK: the path may have been replaced by a FIFO since. */
	fd = open(buf, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && !e->deleted) {
		n = snprintf(buf, sizeof(buf), "/proc/%d/root%s", pid, e->path);
		if (n > 0 && (size_t)n < sizeof(buf))
			fd = open(buf, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -ENOEXEC;
	}
	return fd;
}
