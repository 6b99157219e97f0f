// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "procmaps.h"
#include "test.h"

static const char sample[] =
	"55d0c0a00000-55d0c0a02000 r--p 00000000 fe:01 1234567                    /usr/bin/cat\n"
	"55d0c0a02000-55d0c0a07000 r-xp 00002000 fe:01 1234567                    /usr/bin/cat\n"
	"55d0c1e3a000-55d0c1e5b000 rw-p 00000000 00:00 0                          [heap]\n"
	"7f1c2a400000-7f1c2a428000 r--p 00000000 fe:01 7654321    /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7f1c2a600000-7f1c2a601000 rw-s 00001000 103:0a 42         /tmp/my dir/a  b.so (deleted)\n"
	"7f1c2a700000-7f1c2a701000 ---p 00000000 00:00 0 \n"
	"7ffd5e7c1000-7ffd5e7e2000 rw-p 00000000 00:00 0                          [stack]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";

static void test_parse_fields(void)
{
	struct proc_maps *m = procmaps__parse(sample, strlen(sample));
	const struct map_entry *e;

	if (!ASSERT_OK_PTR(m, "parse"))
		return;
	if (!ASSERT_EQ(m->n, 8, "n"))
		goto out;

	e = &m->e[0];
	ASSERT_EQ(e->start, 0x55d0c0a00000ULL, "start");
	ASSERT_EQ(e->end, 0x55d0c0a02000ULL, "end");
	ASSERT_EQ(e->offset, 0, "offset");
	ASSERT_EQ(e->dev_major, 0xfe, "major");
	ASSERT_EQ(e->dev_minor, 0x01, "minor");
	ASSERT_EQ(e->inode, 1234567, "inode");
	ASSERT_TRUE(e->r && !e->w && !e->x && e->p, "perms r--p");
	ASSERT_FALSE(e->deleted, "deleted");
	ASSERT_STREQ(e->path, "/usr/bin/cat", "path");
	ASSERT_TRUE(procmaps__is_file(e), "is_file");

	e = &m->e[1];
	ASSERT_TRUE(e->r && !e->w && e->x && e->p, "perms r-xp");
	ASSERT_EQ(e->offset, 0x2000, "offset 2");

	e = &m->e[2];
	ASSERT_STREQ(e->path, "[heap]", "heap");
	ASSERT_EQ(e->inode, 0, "heap inode");
	ASSERT_FALSE(procmaps__is_file(e), "heap not file");

	e = &m->e[3];
	ASSERT_STREQ(e->path, "/usr/lib/x86_64-linux-gnu/libc.so.6", "libc");
	ASSERT_EQ(e->inode, 7654321, "libc inode");

	e = &m->e[4];
	ASSERT_STREQ(e->path, "/tmp/my dir/a  b.so", "spaces, deleted stripped");
	ASSERT_TRUE(e->deleted, "deleted");
	ASSERT_TRUE(e->r && e->w && !e->x && !e->p, "perms rw-s");
	ASSERT_EQ(e->dev_major, 0x103, "major 103");
	ASSERT_EQ(e->dev_minor, 0x0a, "minor 0a");
	ASSERT_EQ(e->offset, 0x1000, "offset 3");

	e = &m->e[5];
	ASSERT_STREQ(e->path, "", "anonymous");
	ASSERT_TRUE(!e->r && !e->w && !e->x && e->p, "perms ---p");
	ASSERT_FALSE(procmaps__is_file(e), "anon not file");

	ASSERT_STREQ(m->e[6].path, "[stack]", "stack");
	e = &m->e[7];
	ASSERT_STREQ(e->path, "[vsyscall]", "vsyscall, no final newline");
	ASSERT_EQ(e->start, 0xffffffffff600000ULL, "vsyscall start");
	ASSERT_TRUE(e->x && !e->r, "vsyscall perms");

	/* find */
	ASSERT_TRUE(procmaps__find(m, 0x55d0c0a00000ULL) == &m->e[0], "find start");
	ASSERT_TRUE(procmaps__find(m, 0x55d0c0a01fffULL) == &m->e[0], "find end-1");
	ASSERT_TRUE(procmaps__find(m, 0x55d0c0a02000ULL) == &m->e[1], "find next");
	ASSERT_TRUE(procmaps__find(m, 0x55d0c0a07000ULL) == NULL, "find gap");
	ASSERT_TRUE(procmaps__find(m, 0x1000) == NULL, "find below");
	ASSERT_TRUE(procmaps__find(m, 0x7f1c2a600800ULL) == &m->e[4], "find deleted");
	ASSERT_TRUE(procmaps__find(m, 0xffffffffff600fffULL) == &m->e[7], "find last");
	ASSERT_TRUE(procmaps__find(m, UINT64_MAX) == NULL, "find max");
out:
	procmaps__free(m);
}

static void test_parse_edge(void)
{
	struct proc_maps *m;
	const char *only_deleted = "1000-2000 r--p 00000000 00:05 7 /a (deleted)\n";
	const char *literal = "1000-2000 r--p 00000000 00:05 7 /x (deleted) y\n";
	const char *unsorted = "3000-4000 r--p 0 0:0 0\n1000-2000 r--p 0 0:0 0\n";

	m = procmaps__parse("", 0);
	if (ASSERT_OK_PTR(m, "empty")) {
		ASSERT_EQ(m->n, 0, "empty n");
		ASSERT_TRUE(procmaps__find(m, 0) == NULL, "empty find");
	}
	procmaps__free(m);

	m = procmaps__parse(only_deleted, strlen(only_deleted));
	if (ASSERT_OK_PTR(m, "deleted")) {
		ASSERT_STREQ(m->e[0].path, "/a", "deleted path");
		ASSERT_TRUE(m->e[0].deleted, "deleted flag");
	}
	procmaps__free(m);

	m = procmaps__parse(literal, strlen(literal));
	if (ASSERT_OK_PTR(m, "not a suffix")) {
		ASSERT_STREQ(m->e[0].path, "/x (deleted) y", "inner (deleted) kept");
		ASSERT_FALSE(m->e[0].deleted, "not deleted");
	}
	procmaps__free(m);

	/* parse must not read past LEN: cut the sample in the middle of a path */
	m = procmaps__parse(sample, 83);
	if (ASSERT_OK_PTR(m, "len")) {
		ASSERT_EQ(m->n, 1, "len n");
		ASSERT_STREQ(m->e[0].path, "/usr/bin/c", "len path");
	}
	procmaps__free(m);

	m = procmaps__parse(unsorted, strlen(unsorted));
	if (ASSERT_OK_PTR(m, "unsorted")) {
		ASSERT_EQ(m->e[0].start, 0x1000, "sorted 0");
		ASSERT_EQ(m->e[1].start, 0x3000, "sorted 1");
		ASSERT_TRUE(procmaps__find(m, 0x3800) == &m->e[1], "find after sort");
	}
	procmaps__free(m);

	procmaps__free(NULL);
	ASSERT_FALSE(procmaps__is_file(NULL), "is_file NULL");
}

static void test_parse_malformed(void)
{
	static const char *const bad[] = {
		"\n",
		"garbage\n",
		"1000-2000\n",
		"1000-2000 r--p\n",
		"1000-2000 r--p 00000000 fe:01\n",
		"1000-2000 r--p 00000000 fe:01 12x /a\n",
		"1000-2000 r--p 00000000 fe01 12 /a\n",
		"1000-2000 rwxq 00000000 fe:01 12 /a\n",
		"1000-2000 r--p0000000 fe:01 12 /a\n",
		"2000-1000 r--p 00000000 fe:01 12 /a\n",	/* end < start */
		"1000-1000 r--p 00000000 fe:01 12 /a\n",	/* empty */
		"0x1000-2000 r--p 00000000 fe:01 12 /a\n",
		"-1000-2000 r--p 00000000 fe:01 12 /a\n",
		" 1000-2000 r--p 00000000 fe:01 12 /a\n",
		"11112222333344445-2000 r--p 0 fe:01 12 /a\n",	/* 17 hex digits */
		"1000-2000 r--p 0 fe:01 99999999999999999999999 /a\n",	/* inode overflow */
		"1000-2000 r--p 0 fe:01 12 /a\n\n",		/* blank line */
		"1000-2000 r--p 0 fe:01 12/a\n",		/* no blank before path */
		"1000-2000 r--p 0 123456789:01 12 /a\n",	/* major > 32 bits */
		"1000-2000 r-- 0 fe:01 12 /a\n",
	};
	static const char with_nul[] = "1000-2000 r--p 0 fe:01 12 /a\0b\n";
	struct proc_maps *m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		m = procmaps__parse(bad[i], strlen(bad[i]));
		if (!ASSERT_TRUE(m == NULL, bad[i]))
			procmaps__free(m);
		ASSERT_EQ(errno, EINVAL, bad[i]);
	}
	errno = 0;
	m = procmaps__parse(with_nul, sizeof(with_nul) - 1);
	if (!ASSERT_TRUE(m == NULL, "NUL in path"))
		procmaps__free(m);
	ASSERT_EQ(errno, EINVAL, "NUL errno");

	/* every prefix of a valid file parses or fails cleanly */
	for (size_t len = 0; len <= strlen(sample); len++) {
		m = procmaps__parse(sample, len);
		if (!m && !ASSERT_EQ(errno, EINVAL, "prefix errno"))
			break;
		procmaps__free(m);
	}

	/* random bytes and random mutations of a valid file */
	srand(1234);
	for (int iter = 0; iter < 20000; iter++) {
		char buf[sizeof(sample)];
		size_t len = (size_t)rand() % sizeof(buf);

		memcpy(buf, sample, sizeof(buf));
		for (int k = rand() % 4; k >= 0; k--)
			buf[(size_t)rand() % sizeof(buf)] = (char)rand();
		m = procmaps__parse(buf, len);
		if (m) {
			for (int j = 0; j < m->n; j++) {
				if (!ASSERT_TRUE(m->e[j].start < m->e[j].end, "fuzz range") ||
				    !ASSERT_TRUE(m->e[j].path != NULL, "fuzz path"))
					break;
			}
			procmaps__free(m);
		} else if (!ASSERT_EQ(errno, EINVAL, "fuzz errno")) {
			break;
		}
	}
}

static __attribute__((noinline)) int local_function(int x)
{
	return x * 3 + 1;
}

static void test_read_self(void)
{
	int (*volatile fn)(int) = local_function;
	uint64_t addr = (uint64_t)(uintptr_t)fn;
	char exe[4096];
	struct proc_maps *m;
	const struct map_entry *e;
	ssize_t n;
	int stack_var = fn(1);

	m = procmaps__read(getpid());
	if (!ASSERT_OK_PTR(m, "read self"))
		return;
	ASSERT_GE(m->n, 5, "mappings");
	for (int i = 1; i < m->n; i++) {
		if (!ASSERT_TRUE(m->e[i - 1].start < m->e[i].start, "sorted"))
			break;
	}

	e = procmaps__find(m, addr);
	if (ASSERT_TRUE(e != NULL, "find local function")) {
		ASSERT_TRUE(e->x && e->r, "text is r-x");
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (ASSERT_GE(n, 1, "readlink")) {
			exe[n] = '\0';
			ASSERT_STREQ(e->path, exe, "text is the exe");
		}
		ASSERT_TRUE(procmaps__is_file(e), "exe is file");
		ASSERT_NEQ(e->inode, 0, "exe inode");
	}
	e = procmaps__find(m, (uint64_t)(uintptr_t)&stack_var);
	if (ASSERT_TRUE(e != NULL, "find stack"))
		ASSERT_STREQ(e->path, "[stack]", "stack var");

	procmaps__free(m);
}

/* Thousands of mappings: far more than one read() returns. */
static void test_read_large(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	const int npages = 4000;
	struct proc_maps *m;
	const struct map_entry *e;
	char *base;
	int bad = 0;

	base = mmap(NULL, (size_t)(npages * pg), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!ASSERT_TRUE(base != MAP_FAILED, "mmap"))
		return;
	/* alternate protections so that the kernel cannot merge the VMAs */
	for (int i = 0; i < npages; i += 2)
		mprotect(base + (long)i * pg, (size_t)pg, PROT_READ);

	m = procmaps__read(getpid());
	if (ASSERT_OK_PTR(m, "read")) {
		ASSERT_GE(m->n, npages, "mappings");
		/* (the first and last pages may merge with neighbours) */
		for (int i = 1; i < npages - 1; i++) {
			uint64_t a = (uint64_t)(uintptr_t)(base + (long)i * pg);

			e = procmaps__find(m, a + 7);
			if (!e || e->start != a || e->end != a + (uint64_t)pg ||
			    e->w != (i % 2 == 1) || !e->r || e->path[0])
				bad++;
		}
		ASSERT_EQ(bad, 0, "every page its own mapping");
	}
	procmaps__free(m);
	munmap(base, (size_t)(npages * pg));
}

static void test_read_errors(void)
{
	struct proc_maps *m;
	int pid = 0x3fffffff;	/* above pid_max's ceiling */

	errno = 0;
	m = procmaps__read(pid);
	ASSERT_TRUE(m == NULL, "no such pid");
	ASSERT_TRUE(errno == ESRCH || errno == ENOENT, "no such pid errno");
	procmaps__free(m);

	errno = 0;
	m = procmaps__read(-1);
	ASSERT_TRUE(m == NULL, "negative pid");
	ASSERT_EQ(errno, EINVAL, "negative pid errno");
}

static const struct test_case tests[] = {
	TEST_CASE(test_parse_fields),
	TEST_CASE(test_parse_edge),
	TEST_CASE(test_parse_malformed),
	TEST_CASE(test_read_self),
	TEST_CASE(test_read_large),
	TEST_CASE(test_read_errors),
};

int main(int argc, char **argv)
{
	return test__main(argc, argv, tests, (int)(sizeof(tests) / sizeof(tests[0])));
}
