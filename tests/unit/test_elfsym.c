// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for src/elfsym.c. Expected values come from somewhere else:
 * the dynamic loader (dlsym/dlvsym minus dl_iterate_phdr's load bias),
 * binutils (readelf, nm, objdump -F), the process's own mapped code, and
 * binaries built here with cc. Hard glibc 2.36 facts (docs/design.md, "Probes") are
 * checked only when the libc build-id is the measured one.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elfsym.h"
#include "test.h"

#define LIBSTDCXX "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"
#define PYTHON "/usr/bin/python3.11"
/* Debian 12 glibc 2.36 libc.so.6 as measured (docs/design.md, "Probes") */
#define LIBC_236_BUILD_ID "93ac61ec5a8eb1396f9fbd350e3169a558528a40"

/* ---------------------------------------------------------------------- */
/* helpers                                                                */

/* Run a shell command, return its stdout (malloc'ed) or NULL if it failed. */

struct lib_find {
	const char *needle;
	char path[512];
	uint64_t bias;
	bool found;
};

static int find_lib_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct lib_find *lf = data;

	(void)size;
	if (!info->dlpi_name || !strstr(info->dlpi_name, lf->needle))
		return 0;
	snprintf(lf->path, sizeof(lf->path), "%s", info->dlpi_name);
	lf->bias = info->dlpi_addr;
	lf->found = true;
	return 1;
}

/* Path and load bias of a loaded library, as the dynamic loader knows it. */
static bool find_loaded(const char *needle, struct lib_find *lf)
{
	memset(lf, 0, sizeof(*lf));
	lf->needle = needle;
	dl_iterate_phdr(find_lib_cb, lf);
	return lf->found;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = 0;
}

/* "File Offset: 0x..." that objdump -F prints for the instruction at VADDR. */
static bool objdump_file_off(const char *path, uint64_t vaddr, uint64_t *off)
{
	char *out = test__run_cmd("objdump -dF --start-address=0x%llx --stop-address=0x%llx '%s' 2>/dev/null",
			    (unsigned long long)vaddr, (unsigned long long)vaddr + 1, path);
	char *p;

	if (!out)
		return false;
	p = strstr(out, "(File Offset: 0x");
	if (p)
		*off = strtoull(p + strlen("(File Offset: 0x"), NULL, 16);
	free(out);
	return p != NULL;
}

static bool read_file_at(const char *path, uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = pread(fd, buf, len, (off_t)off);
	close(fd);
	return n == (ssize_t)len;
}

static bool write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, buf, len) == (ssize_t)len;
	close(fd);
	return ok;
}

static bool make_tmpdir(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/lt-test-elfsym.XXXXXX");
	return mkdtemp(dir) != NULL;
}

static void rm_tmpdir(const char *dir)
{
	char *out = test__run_cmd("rm -rf '%s'", dir);

	free(out);
}

static bool libc_is_measured(struct elf_file *ef)
{
	const uint8_t *id;
	size_t n = elf_file__build_id(ef, &id);
	char h[2 * 256 + 1];

	if (!n || n > 256)
		return false;
	hex(id, n, h);
	return !strcmp(h, LIBC_236_BUILD_ID);
}

/* nm's address of a symbol line "ADDR T name" (exact name match). */
static bool nm_addr(const char *nm_out, const char *name, uint64_t *addr)
{
	const char *p = nm_out;
	size_t nl = strlen(name);

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		const char *sp = memchr(p, ' ', eol ? (size_t)(eol - p) : strlen(p));

		if (sp && sp[1] && sp[2] == ' ') {
			const char *nm = sp + 3;
			size_t len = eol ? (size_t)(eol - nm) : strlen(nm);

			if (len == nl && !memcmp(nm, name, nl) && (sp[1] == 'T' || sp[1] == 't' ||
								   sp[1] == 'W' || sp[1] == 'i')) {
				*addr = strtoull(p, NULL, 16);
				return true;
			}
		}
		p = eol ? eol + 1 : NULL;
	}
	return false;
}

/* ---------------------------------------------------------------------- */
/* tests                                                                  */

static void test_open_errors(void)
{
	char dir[64], path[128];
	struct elf_file *ef;

	elf_file__free(NULL);

	errno = 0;
	ef = elf_file__open("/nonexistent/leaktrace/lib.so");
	ASSERT_TRUE(ef == NULL, "open missing");
	ASSERT_EQ(errno, ENOENT, "missing errno");

	ef = elf_file__open("/");
	ASSERT_TRUE(ef == NULL, "open dir");
	ASSERT_EQ(errno, EISDIR, "dir errno");

	ef = elf_file__open_fd(-1, "x");
	ASSERT_TRUE(ef == NULL, "open fd -1");
	ASSERT_EQ(errno, EBADF, "fd -1 errno");

	ef = elf_file__open(NULL);
	ASSERT_TRUE(ef == NULL, "open NULL");
	ASSERT_EQ(errno, EINVAL, "NULL errno");

	if (!ASSERT_TRUE(make_tmpdir(dir, sizeof(dir)), "mkdtemp"))
		return;
	snprintf(path, sizeof(path), "%s/empty", dir);
	ASSERT_TRUE(write_file(path, "", 0), "write empty");
	ef = elf_file__open(path);
	ASSERT_TRUE(ef == NULL, "open empty");
	ASSERT_EQ(errno, ENOEXEC, "empty errno");

	snprintf(path, sizeof(path), "%s/text", dir);
	ASSERT_TRUE(write_file(path, "#!/bin/sh\necho hi\n", 18), "write text");
	ef = elf_file__open(path);
	ASSERT_TRUE(ef == NULL, "open text");
	ASSERT_EQ(errno, ENOEXEC, "text errno");

	/* a bare ELF header claiming sections and segments past EOF */
	{
		uint8_t eh[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };

		eh[16] = 3;		/* ET_DYN */
		eh[18] = 62;		/* EM_X86_64 */
		eh[20] = 1;		/* EV_CURRENT */
		eh[32] = 0x40;		/* e_phoff */
		eh[40] = 0xff;		/* e_shoff */
		eh[52] = 64;		/* e_ehsize */
		eh[54] = 56;		/* e_phentsize */
		eh[56] = 9;		/* e_phnum */
		eh[58] = 64;		/* e_shentsize */
		eh[60] = 30;		/* e_shnum */
		snprintf(path, sizeof(path), "%s/hdr", dir);
		ASSERT_TRUE(write_file(path, eh, sizeof(eh)), "write hdr");
		ef = elf_file__open(path);
		if (ef) {
			struct elf_sym s;

			ASSERT_EQ(elf_file__find_func(ef, "malloc", &s, 1), 0, "hdr-only find");
			ASSERT_EQ(elf_file__needed(ef, NULL), 0, "hdr-only needed");
			elf_file__free(ef);
		}
	}
	rm_tmpdir(dir);
}

static void test_libc_glibc236_facts(void)
{
	struct lib_find lf;
	struct elf_file *ef;
	struct elf_sym s[8], a[4], m[4];
	int n;

	if (!find_loaded("libc.so.6", &lf)) {
		test__skip("libc.so.6 not loaded");
		return;
	}
	ef = elf_file__open(lf.path);
	if (!ASSERT_OK_PTR(ef, "open libc"))
		return;
	if (!libc_is_measured(ef)) {
		test__skip("not the measured glibc 2.36 build");
		elf_file__free(ef);
		return;
	}
	ASSERT_STREQ(elf_file__name(ef), lf.path, "name");

	n = elf_file__find_func(ef, "malloc", s, 8);
	ASSERT_EQ(n, 1, "malloc entries");
	ASSERT_EQ(s[0].vaddr, 0x98930, "malloc vaddr");
	ASSERT_EQ(s[0].file_off, 0x98930, "malloc file_off");
	ASSERT_STREQ(s[0].version, "GLIBC_2.2.5", "malloc version");
	ASSERT_TRUE(s[0].is_default, "malloc default");
	ASSERT_TRUE(s[0].from_dynsym, "malloc dynsym");
	ASSERT_EQ(s[0].type, 2 /* STT_FUNC */, "malloc type");

	n = elf_file__find_func(ef, "free", s, 8);
	ASSERT_EQ(n, 1, "free entries");
	ASSERT_EQ(s[0].vaddr, 0x98ef0, "free vaddr");

	/* two versions at one address: one entry, the @@GLIBC_2.34 one */
	n = elf_file__find_func(ef, "pthread_create", s, 8);
	ASSERT_EQ(n, 1, "pthread_create entries");
	ASSERT_STREQ(s[0].version, "GLIBC_2.34", "pthread_create version");
	ASSERT_TRUE(s[0].is_default, "pthread_create default");

	/* versions at two addresses: default first */
	n = elf_file__find_func(ef, "timer_create", s, 8);
	if (ASSERT_EQ(n, 2, "timer_create entries")) {
		ASSERT_EQ(s[0].vaddr, 0x94080, "timer_create@@GLIBC_2.34");
		ASSERT_STREQ(s[0].version, "GLIBC_2.34", "timer_create[0] version");
		ASSERT_TRUE(s[0].is_default, "timer_create[0] default");
		ASSERT_EQ(s[1].vaddr, 0x94280, "timer_create@GLIBC_2.2.5");
		ASSERT_STREQ(s[1].version, "GLIBC_2.2.5", "timer_create[1] version");
		ASSERT_FALSE(s[1].is_default, "timer_create[1] not default");
	}
	/* max is honoured */
	ASSERT_EQ(elf_file__find_func(ef, "timer_create", s, 1), 1, "timer_create max 1");
	ASSERT_EQ(s[0].vaddr, 0x94080, "timer_create max 1 default");

	/* aliases: aligned_alloc and memalign are one address */
	ASSERT_EQ(elf_file__find_func(ef, "aligned_alloc", a, 4), 1, "aligned_alloc");
	ASSERT_EQ(elf_file__find_func(ef, "memalign", m, 4), 1, "memalign");
	ASSERT_EQ(a[0].vaddr, m[0].vaddr, "aligned_alloc == memalign");
	ASSERT_STREQ(a[0].version, "GLIBC_2.16", "aligned_alloc version");

	ASSERT_STREQ(elf_file__soname(ef), "libc.so.6", "soname");
	ASSERT_FALSE(elf_file__is_exec(ef), "libc is ET_DYN");
	ASSERT_FALSE(elf_file__is_static(ef), "libc not static");
	elf_file__free(ef);
}

/* Addresses as the dynamic loader resolves them, relative to the load bias. */
static void test_libc_vs_dlsym(void)
{
	static const char *const names[] = {
		"malloc", "free", "calloc", "realloc", "posix_memalign", "memalign",
		"aligned_alloc", "valloc", "pvalloc", "reallocarray", "pthread_create",
		"pthread_join", "pthread_detach", "timer_create", "timer_delete",
		"timerfd_create", "mmap", "munmap", "qsort", "getenv", "fopen",
	};
	struct lib_find lf;
	struct elf_file *ef;
	void *h;
	size_t i;

	if (!find_loaded("libc.so.6", &lf)) {
		test__skip("libc.so.6 not loaded");
		return;
	}
	h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	if (!ASSERT_OK_PTR(h, "dlopen libc"))
		return;
	ef = elf_file__open(lf.path);
	if (!ASSERT_OK_PTR(ef, "open libc")) {
		dlclose(h);
		return;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		void *p = dlsym(h, names[i]);
		struct elf_sym s[4];
		int n = elf_file__find_func(ef, names[i], s, 4);

		if (!ASSERT_OK_PTR(p, names[i]) || !ASSERT_GE(n, 1, names[i]))
			continue;
		ASSERT_EQ(s[0].vaddr, (uint64_t)p - lf.bias, names[i]);
		ASSERT_TRUE(s[0].is_default, names[i]);
		ASSERT_TRUE(elf_file__defines(ef, names[i]), names[i]);
		ASSERT_TRUE(elf_file__exports(ef, names[i]), names[i]);
	}

	/* non-default versions, as the loader binds them */
	{
		void *old = dlvsym(h, "timer_create", "GLIBC_2.2.5");
		void *pc = dlvsym(h, "pthread_create", "GLIBC_2.2.5");
		struct elf_sym s[4];
		int n;

		n = elf_file__find_func(ef, "timer_create", s, 4);
		if (ASSERT_OK_PTR(old, "dlvsym timer_create") && ASSERT_EQ(n, 2, "timer_create n")) {
			ASSERT_EQ(s[1].vaddr, (uint64_t)old - lf.bias, "timer_create@GLIBC_2.2.5");
			ASSERT_STREQ(s[1].version, "GLIBC_2.2.5", "timer_create old version");
		}
		n = elf_file__find_func(ef, "pthread_create", s, 4);
		if (ASSERT_OK_PTR(pc, "dlvsym pthread_create") && ASSERT_EQ(n, 1, "pthread_create n"))
			ASSERT_EQ(s[0].vaddr, (uint64_t)pc - lf.bias, "pthread_create@GLIBC_2.2.5 same addr");
	}

	/* the code elf_file__read returns is the code mapped in this process */
	{
		static const char *const code_names[] = { "qsort", "getenv", "strverscmp" };

		for (i = 0; i < 3; i++) {
			uint8_t buf[48];
			struct elf_sym s;
			void *p = dlsym(h, code_names[i]);

			if (!ASSERT_OK_PTR(p, code_names[i]) ||
			    !ASSERT_EQ(elf_file__find_func(ef, code_names[i], &s, 1), 1, code_names[i]))
				continue;
			ASSERT_EQ(elf_file__read(ef, s.vaddr, buf, sizeof(buf)), sizeof(buf), code_names[i]);
			ASSERT_TRUE(!memcmp(buf, p, sizeof(buf)), code_names[i]);
		}
	}
	ASSERT_FALSE(elf_file__defines(ef, "leaktrace_no_such_function"), "no such");
	ASSERT_EQ(elf_file__find_func(ef, "leaktrace_no_such_function", NULL, 0), 0, "max 0");
	ASSERT_EQ(elf_file__find_func(ef, "malloc", NULL, 1), -EINVAL, "NULL out");
	ASSERT_EQ(elf_file__find_func(ef, NULL, NULL, 0), -EINVAL, "NULL name");
	elf_file__free(ef);
	dlclose(h);
}

struct rd_sym {
	char base[512];
	char version[64];
	int kind;		/* 0 unversioned, 1 @@, 2 @ */
	uint64_t addr;
	uint64_t size;
};

static int rd_cmp(const void *pa, const void *pb)
{
	const struct rd_sym *a = pa, *b = pb;

	return strcmp(a->base, b->base);
}

/* Every function definition readelf lists in .dynsym, checked through find_func. */
static void test_libc_vs_readelf(void)
{
	struct rd_sym *rs = NULL;
	size_t nrs = 0, cap = 0, i, j;
	int names = 0, nodefault = 0;
	struct lib_find lf;
	struct elf_file *ef;
	char *out, *line, *save;

	if (!find_loaded("libc.so.6", &lf)) {
		test__skip("libc.so.6 not loaded");
		return;
	}
	out = test__run_cmd("readelf -W --dyn-syms '%s'", lf.path);
	if (!out) {
		test__skip("readelf failed");
		return;
	}
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char num[32], val[32], sz[32], type[16], bind[16], vis[16], ndx[16], name[512];
		char *at;

		if (sscanf(line, "%31s %31s %31s %15s %15s %15s %15s %511s",
			   num, val, sz, type, bind, vis, ndx, name) != 8)
			continue;
		if (strcmp(type, "FUNC") && strcmp(type, "IFUNC"))
			continue;
		if (!strcmp(ndx, "UND") || (strcmp(bind, "GLOBAL") && strcmp(bind, "WEAK")))
			continue;
		if (nrs == cap) {
			cap = cap ? cap * 2 : 1024;
			rs = realloc(rs, cap * sizeof(*rs));
			if (!ASSERT_OK_PTR(rs, "realloc"))
				goto out;
		}
		memset(&rs[nrs], 0, sizeof(rs[nrs]));
		rs[nrs].addr = strtoull(val, NULL, 16);
		rs[nrs].size = strtoull(sz, NULL, 0);
		at = strchr(name, '@');
		if (at) {
			rs[nrs].kind = at[1] == '@' ? 1 : 2;
			snprintf(rs[nrs].version, sizeof(rs[nrs].version), "%s", at + (rs[nrs].kind == 1 ? 2 : 1));
			*at = 0;
		}
		snprintf(rs[nrs].base, sizeof(rs[nrs].base), "%s", name);
		nrs++;
	}
	if (!ASSERT_GE(nrs, 2000, "readelf function count"))
		goto out;
	qsort(rs, nrs, sizeof(*rs), rd_cmp);

	ef = elf_file__open(lf.path);
	if (!ASSERT_OK_PTR(ef, "open libc"))
		goto out;
	for (i = 0; i < nrs; i = j) {
		struct elf_sym s[16];
		uint64_t addrs[16];
		int naddr = 0, ndef = 0, n, k, def = -1;

		for (j = i; j < nrs && !strcmp(rs[j].base, rs[i].base); j++) {
			bool seen = false;

			for (k = 0; k < naddr; k++)
				seen |= addrs[k] == rs[j].addr;
			if (!seen && naddr < 16)
				addrs[naddr++] = rs[j].addr;
			if (rs[j].kind != 2) {
				ndef++;
				def = (int)j;
			}
		}
		names++;
		n = elf_file__find_func(ef, rs[i].base, s, 16);
		if (!ASSERT_EQ(n, naddr, rs[i].base))
			continue;
		/* every address readelf shows is returned, and nothing else */
		for (k = 0; k < naddr; k++) {
			bool found = false;
			int q;

			for (q = 0; q < n; q++)
				found |= s[q].vaddr == addrs[k];
			ASSERT_TRUE(found, rs[i].base);
		}
		for (k = 0; k < n; k++) {
			ASSERT_STREQ(s[k].name, rs[i].base, "name");
			ASSERT_TRUE(s[k].from_dynsym, rs[i].base);
			ASSERT_EQ(s[k].file_off, s[k].vaddr, "libc file_off == vaddr in its text");
		}
		if (ndef == 1) {
			ASSERT_EQ(s[0].vaddr, rs[def].addr, rs[i].base);
			ASSERT_EQ(s[0].size, rs[def].size, rs[i].base);
			ASSERT_TRUE(s[0].is_default, rs[i].base);
			if (rs[def].kind == 1)
				ASSERT_STREQ(s[0].version, rs[def].version, rs[i].base);
			else
				ASSERT_TRUE(s[0].version == NULL, rs[i].base);
			ASSERT_TRUE(elf_file__exports(ef, rs[i].base), rs[i].base);
		} else if (ndef == 0) {
			/* compat-only symbol: defined, but not exported by default */
			nodefault++;
			ASSERT_FALSE(s[0].is_default, rs[i].base);
			ASSERT_FALSE(elf_file__exports(ef, rs[i].base), rs[i].base);
			ASSERT_TRUE(elf_file__defines(ef, rs[i].base), rs[i].base);
		}
	}
	ASSERT_GE(names, 2000, "names checked");
	ASSERT_GE(nodefault, 100, "compat-only names checked");
	elf_file__free(ef);
out:
	free(rs);
	free(out);
}

/* "[NAME]" items from readelf -d lines containing TAG, in order. */
static int readelf_dyn(const char *out, const char *tag, char names[][256], int max)
{
	const char *p = out;
	int n = 0;

	while ((p = strstr(p, tag)) && n < max) {
		const char *lb = strchr(p, '['), *rb, *eol = strchr(p, '\n');

		if (!lb || (eol && lb > eol))
			break;
		rb = strchr(lb, ']');
		if (!rb)
			break;
		snprintf(names[n], 256, "%.*s", (int)(rb - lb - 1), lb + 1);
		n++;
		p = rb;
	}
	return n;
}

static void check_dynamic(const char *path)
{
	char need[64][256], son[1][256], rp[1][256], interp[1][256];
	const char *const *names;
	char *d, *l, *nt, *p;
	struct elf_file *ef;
	int n, i;

	ef = elf_file__open(path);
	if (!ASSERT_OK_PTR(ef, path))
		return;
	d = test__run_cmd("readelf -d '%s'", path);
	l = test__run_cmd("readelf -lW '%s'", path);
	nt = test__run_cmd("readelf -n '%s'", path);
	if (!ASSERT_OK_PTR(d, "readelf -d") || !ASSERT_OK_PTR(l, "readelf -l") ||
	    !ASSERT_OK_PTR(nt, "readelf -n"))
		goto out;

	n = readelf_dyn(d, "(NEEDED)", need, 64);
	ASSERT_EQ(elf_file__needed(ef, &names), n, path);
	for (i = 0; i < n && i < elf_file__needed(ef, NULL); i++)
		ASSERT_STREQ(names[i], need[i], path);

	if (readelf_dyn(d, "(SONAME)", son, 1) == 1)
		ASSERT_STREQ(elf_file__soname(ef), son[0], path);
	else
		ASSERT_TRUE(elf_file__soname(ef) == NULL, path);

	if (readelf_dyn(d, "(RUNPATH)", rp, 1) == 1 || readelf_dyn(d, "(RPATH)", rp, 1) == 1)
		ASSERT_STREQ(elf_file__runpath(ef), rp[0], path);
	else
		ASSERT_TRUE(elf_file__runpath(ef) == NULL, path);

	p = strstr(l, "[Requesting program interpreter: ");
	if (p) {
		p += strlen("[Requesting program interpreter: ");
		snprintf(interp[0], 256, "%.*s", (int)strcspn(p, "]"), p);
		ASSERT_STREQ(elf_file__interp(ef), interp[0], path);
	} else {
		ASSERT_TRUE(elf_file__interp(ef) == NULL, path);
	}

	p = strstr(nt, "Build ID: ");
	{
		const uint8_t *id;
		size_t len = elf_file__build_id(ef, &id);
		char h[513];

		if (p) {
			p += strlen("Build ID: ");
			if (ASSERT_GE(len, 1, "build-id") && len <= 256) {
				hex(id, len, h);
				ASSERT_TRUE(!strncmp(h, p, strlen(h)) && !isxdigit((unsigned char)p[strlen(h)]), path);
			}
		} else {
			ASSERT_EQ(len, 0, "no build-id");
		}
	}
out:
	free(d);
	free(l);
	free(nt);
	elf_file__free(ef);
}

static void test_dynamic_vs_readelf(void)
{
	struct lib_find lf;

	if (!find_loaded("libc.so.6", &lf)) {
		test__skip("libc.so.6 not loaded");
		return;
	}
	check_dynamic(lf.path);
	if (!access(LIBSTDCXX, R_OK))
		check_dynamic(LIBSTDCXX);
	if (!access(PYTHON, R_OK))
		check_dynamic(PYTHON);
	if (!access("/bin/ls", R_OK))
		check_dynamic("/bin/ls");
}

/* Non-PIE python3.11: file offsets from objdump -F, bytes from the file. */
static void test_nonpie_python(void)
{
	struct elf_file *ef;
	struct elf_sym s;
	uint8_t a[32], b[32];
	uint64_t off, v;
	char *nm;

	if (access(PYTHON, R_OK)) {
		test__skip(PYTHON " not installed");
		return;
	}
	ef = elf_file__open(PYTHON);
	if (!ASSERT_OK_PTR(ef, "open python"))
		return;
	ASSERT_TRUE(elf_file__is_exec(ef), "python is ET_EXEC");
	ASSERT_FALSE(elf_file__is_static(ef), "python not static");
	nm = test__run_cmd("nm -D '%s'", PYTHON);
	if (ASSERT_OK_PTR(nm, "nm -D") &&
	    ASSERT_EQ(elf_file__find_func(ef, "Py_BytesMain", &s, 1), 1, "Py_BytesMain")) {
		uint64_t addr = 0;

		ASSERT_TRUE(nm_addr(nm, "Py_BytesMain", &addr), "nm Py_BytesMain");
		ASSERT_EQ(s.vaddr, addr, "Py_BytesMain vaddr");
		ASSERT_TRUE(s.vaddr >= 0x400000, "non-PIE vaddr");
		if (ASSERT_TRUE(objdump_file_off(PYTHON, s.vaddr, &off), "objdump -F")) {
			ASSERT_EQ(s.file_off, off, "Py_BytesMain file_off");
			ASSERT_NEQ(s.file_off, s.vaddr, "ET_EXEC offset differs from vaddr");
			ASSERT_EQ(elf_file__off_to_vaddr(ef, off, &v), 0, "off_to_vaddr");
			ASSERT_EQ(v, s.vaddr, "off_to_vaddr round trip");
			ASSERT_EQ(elf_file__read(ef, s.vaddr, a, sizeof(a)), sizeof(a), "read");
			ASSERT_TRUE(read_file_at(PYTHON, off, b, sizeof(b)), "pread");
			ASSERT_TRUE(!memcmp(a, b, sizeof(a)), "same bytes");
		}
	}
	/* stripped: no main in symtab, and main is not exported */
	ASSERT_FALSE(elf_file__defines(ef, "main"), "stripped python has no main");
	free(nm);
	elf_file__free(ef);
}

static void test_vaddr_mapping_edges(void)
{
	struct lib_find lf;
	struct elf_file *ef;
	uint64_t off, v;
	uint8_t buf[16];
	char *l, *p;

	if (!find_loaded("libc.so.6", &lf)) {
		test__skip("libc.so.6 not loaded");
		return;
	}
	ef = elf_file__open(lf.path);
	if (!ASSERT_OK_PTR(ef, "open libc"))
		return;
	ASSERT_EQ(elf_file__vaddr_to_off(ef, 0xffffffffffff0000ull, &off), -ENOENT, "far vaddr");
	ASSERT_EQ(elf_file__read(ef, 0xffffffffffff0000ull, buf, sizeof(buf)), -ENOENT, "far read");
	ASSERT_EQ(elf_file__off_to_vaddr(ef, 1ull << 40, &v), -ENOENT, "far off");
	ASSERT_EQ(elf_file__read(ef, 0, buf, 4), 4, "read ELF magic");
	ASSERT_TRUE(!memcmp(buf, "\177ELF", 4), "ELF magic");
	ASSERT_EQ(elf_file__read(ef, 0, buf, 0), 0, "read 0 bytes");

	/* every PT_LOAD's first and last file byte, and the byte past filesz */
	l = test__run_cmd("readelf -lW '%s'", lf.path);
	if (!ASSERT_OK_PTR(l, "readelf -l")) {
		elf_file__free(ef);
		return;
	}
	for (p = strstr(l, "  LOAD "); p; p = strstr(p + 1, "  LOAD ")) {
		unsigned long long o, va, pa, fs, ms;

		if (sscanf(p, " LOAD 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx", &o, &va, &pa, &fs, &ms) != 5)
			continue;
		ASSERT_EQ(elf_file__vaddr_to_off(ef, va, &off), 0, "LOAD start");
		ASSERT_EQ(off, o, "LOAD start off");
		ASSERT_EQ(elf_file__vaddr_to_off(ef, va + fs - 1, &off), 0, "LOAD last");
		ASSERT_EQ(off, o + fs - 1, "LOAD last off");
		if (ms > fs) {	/* .bss: not in the file */
			ASSERT_EQ(elf_file__vaddr_to_off(ef, va + fs, &off), -ENOENT, "bss");
		}
		/* a read running off the segment end is cut there */
		ASSERT_EQ(elf_file__read(ef, va + fs - 3, buf, sizeof(buf)), 3, "read clipped");
	}
	free(l);
	elf_file__free(ef);
}

static void test_sym_at(void)
{
	struct lib_find lf;
	struct elf_file *ef;
	struct elf_sym s, m;

	if (!find_loaded("libc.so.6", &lf)) {
		test__skip("libc.so.6 not loaded");
		return;
	}
	ef = elf_file__open(lf.path);
	if (!ASSERT_OK_PTR(ef, "open libc"))
		return;
	if (ASSERT_EQ(elf_file__find_func(ef, "malloc", &m, 1), 1, "malloc")) {
		ASSERT_EQ(elf_file__sym_at(ef, m.vaddr + 5, &s), 0, "sym_at malloc+5");
		ASSERT_EQ(s.vaddr, m.vaddr, "sym_at vaddr");
		ASSERT_EQ(s.size, m.size, "sym_at size");
		/* aliases at malloc's address: the plainest name wins */
		ASSERT_STREQ(s.name, "malloc", "sym_at name");
		ASSERT_EQ(elf_file__sym_at(ef, m.vaddr + m.size - 1, &s), 0, "sym_at last byte");
		ASSERT_EQ(s.vaddr, m.vaddr, "sym_at last byte vaddr");
	}
	ASSERT_EQ(elf_file__sym_at(ef, 0, &s), -ENOENT, "sym_at 0");
	ASSERT_EQ(elf_file__sym_at(ef, 0x98930, NULL), -EINVAL, "sym_at NULL");
	elf_file__free(ef);
}

/* PLT stub names of PATH against objdump's synthetic <name@plt> symbols. */
static void check_plt(const char *path, int min_stubs)
{
	struct elf_file *ef;
	char *out, *p;
	int checked = 0;
	const char *name;

	out = test__run_cmd("objdump -d -j .plt -j .plt.got -j .plt.sec '%s' 2>/dev/null", path);
	if (!ASSERT_OK_PTR(out, "objdump plt"))
		return;
	ef = elf_file__open(path);
	if (!ASSERT_OK_PTR(ef, path))
		goto out;
	for (p = out; (p = strstr(p, "@plt>:")); p++) {
		const char *ls = p, *lt;
		char want[256];
		uint64_t addr;

		while (ls > out && ls[-1] != '\n')
			ls--;
		lt = strchr(ls, '<');
		if (!lt || lt > p)
			continue;
		addr = strtoull(ls, NULL, 16);
		snprintf(want, sizeof(want), "%.*s", (int)(p - lt - 1), lt + 1);
		if (ASSERT_EQ(elf_file__plt_name(ef, addr, &name), 0, want))
			ASSERT_STREQ(name, want, "plt name");
		/* the middle of a stub is not a stub */
		ASSERT_EQ(elf_file__plt_name(ef, addr + 4, &name), -ENOENT, "mid-stub");
		checked++;
	}
	ASSERT_GE(checked, min_stubs, "plt stubs checked");
	ASSERT_EQ(elf_file__plt_name(ef, 0, &name), -ENOENT, "not a stub");
	elf_file__free(ef);
out:
	free(out);
}

static void test_plt_names(void)
{
	if (access(LIBSTDCXX, R_OK)) {
		test__skip("no libstdc++");
		return;
	}
	/* lazy .plt (ff 25 at +0) and 8-byte .plt.got stubs */
	check_plt(LIBSTDCXX, 500);
}

/* Binaries built here: versioned DSO, RPATH/RUNPATH, static, PIE, non-PIE. */
static void test_built_binaries(void)
{
	char dir[64], *out, *nm;
	struct elf_file *ef;
	struct elf_sym s[8];
	const char *const *names;
	uint64_t addr, off;
	uint8_t a[16], b[16];
	int n;

	if (!ASSERT_TRUE(make_tmpdir(dir, sizeof(dir)), "mkdtemp"))
		return;
	out = test__run_cmd("cd '%s' && "
		      "printf '%%s\\n' 'int foo_v1(void){return 1;}' 'int foo_v2(void){return 2;}'"
		      " 'int bar(void){return 3;}'"
		      " '__asm__(\".symver foo_v1,foo@V1\");' '__asm__(\".symver foo_v2,foo@@V2\");' > v.c && "
		      "printf '%%s\\n' 'V1 { global: bar; foo; local: *; };' 'V2 { global: foo; } V1;' > v.map && "
		      "cc -shared -fPIC -O1 -Wl,--version-script=v.map -Wl,-soname,libltv.so.1 "
		      "-Wl,-rpath,/opt/lt-runpath -Wl,--enable-new-dtags -o libltv.so v.c "
		      "-Wl,--no-as-needed -lm -lc && "
		      "cc -shared -fPIC -O1 -Wl,-rpath,/opt/lt-rpath -Wl,--disable-new-dtags -o librp.so v.c -Wl,--version-script=v.map && "
		      "printf '%%s\\n' '#include <stdlib.h>' 'int main(int c, char **v){ void *p = malloc(c * 100); free(p); return v[0][0] == 0; }' > m.c && "
		      "printf '%%s\\n' '__attribute__((noinline, used)) static int lt_dup(int x){ return x * 3; }'"
		      " 'int lt_call_dup(int x){ return lt_dup(x); }' > m2.c && "
		      "printf '%%s\\n' 'int lt_dup(int x){ return x + 1; }' > m3.c && "
		      "cc -O1 -static -o st m.c m2.c m3.c && cc -O1 -no-pie -o nopie m.c m2.c m3.c && "
		      "cc -O1 -pie -fPIE -o pie m.c m2.c m3.c && "
		      "printf '%%s\\n' '#include <stdio.h>' '#include <stdlib.h>'"
		      " 'int f(const char *s){ return atoi(getenv(s)) + puts(s); }' > ibt.c && "
		      "cc -shared -fPIC -O1 -fcf-protection=full -Wl,-z,ibtplt -o libibt.so ibt.c "
		      "&& echo built", dir);
	if (!out || !strstr(out, "built")) {
		test__skip("cc could not build the test binaries");
		free(out);
		rm_tmpdir(dir);
		return;
	}
	free(out);

	/* versioned DSO */
	{
		char path[128];

		snprintf(path, sizeof(path), "%s/libltv.so", dir);
		ef = elf_file__open(path);
		nm = test__run_cmd("nm -D '%s'", path);
		if (ASSERT_OK_PTR(ef, "open libltv") && ASSERT_OK_PTR(nm, "nm libltv")) {
			ASSERT_STREQ(elf_file__soname(ef), "libltv.so.1", "soname");
			ASSERT_STREQ(elf_file__runpath(ef), "/opt/lt-runpath", "runpath");
			ASSERT_TRUE(elf_file__interp(ef) == NULL, "no interp");
			n = elf_file__find_func(ef, "foo", s, 8);
			if (ASSERT_EQ(n, 2, "foo versions")) {
				ASSERT_TRUE(nm_addr(nm, "foo@@V2", &addr), "nm foo@@V2");
				ASSERT_EQ(s[0].vaddr, addr, "foo@@V2 first");
				ASSERT_STREQ(s[0].version, "V2", "foo default version");
				ASSERT_TRUE(s[0].is_default, "foo@@V2 default");
				ASSERT_TRUE(nm_addr(nm, "foo@V1", &addr), "nm foo@V1");
				ASSERT_EQ(s[1].vaddr, addr, "foo@V1 second");
				ASSERT_STREQ(s[1].version, "V1", "foo old version");
				ASSERT_FALSE(s[1].is_default, "foo@V1 hidden");
				ASSERT_NEQ(s[0].vaddr, s[1].vaddr, "two addresses");
			}
			if (ASSERT_EQ(elf_file__find_func(ef, "bar", s, 8), 1, "bar")) {
				ASSERT_TRUE(nm_addr(nm, "bar@@V1", &addr), "nm bar@@V1");
				ASSERT_EQ(s[0].vaddr, addr, "bar vaddr");
				ASSERT_STREQ(s[0].version, "V1", "bar version");
			}
			/* foo_v1 is local (version script), only in .symtab */
			if (ASSERT_EQ(elf_file__find_func(ef, "foo_v1", s, 8), 1, "foo_v1")) {
				ASSERT_FALSE(s[0].from_dynsym, "foo_v1 from symtab");
				ASSERT_FALSE(elf_file__exports(ef, "foo_v1"), "foo_v1 not exported");
			}
			ASSERT_TRUE(elf_file__exports(ef, "foo"), "foo exported");
			n = elf_file__needed(ef, &names);
			if (ASSERT_EQ(n, 2, "libltv needed")) {
				ASSERT_STREQ(names[0], "libm.so.6", "needed[0]");
				ASSERT_STREQ(names[1], "libc.so.6", "needed[1]");
			}
			check_dynamic(path);
		}
		free(nm);
		elf_file__free(ef);

		snprintf(path, sizeof(path), "%s/librp.so", dir);
		ef = elf_file__open(path);
		if (ASSERT_OK_PTR(ef, "open librp")) {
			ASSERT_STREQ(elf_file__runpath(ef), "/opt/lt-rpath", "DT_RPATH fallback");
			ASSERT_TRUE(elf_file__soname(ef) == NULL, "no soname");
			check_dynamic(path);
		}
		elf_file__free(ef);

		/* IBT PLT: endbr64 first, jmp *GOT(%rip) at +4 in .plt.sec */
		snprintf(path, sizeof(path), "%s/libibt.so", dir);
		check_plt(path, 4);

		/* no section headers: the dynamic segment alone must do */
		{
			char cpy[128];
			uint8_t *img = malloc(1 << 20);
			int fd;
			ssize_t len;

			snprintf(path, sizeof(path), "%s/libltv.so", dir);
			snprintf(cpy, sizeof(cpy), "%s/noshdr.so", dir);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			len = fd >= 0 && img ? read(fd, img, 1 << 20) : -1;
			if (fd >= 0)
				close(fd);
			if (ASSERT_TRUE(len > 64, "read libltv")) {
				memset(img + 0x28, 0, 8);	/* e_shoff */
				memset(img + 0x3c, 0, 4);	/* e_shnum, e_shstrndx */
				ASSERT_TRUE(write_file(cpy, img, len), "write noshdr");
				ef = elf_file__open(cpy);
				if (ASSERT_OK_PTR(ef, "open noshdr")) {
					ASSERT_STREQ(elf_file__soname(ef), "libltv.so.1", "noshdr soname");
					ASSERT_STREQ(elf_file__runpath(ef), "/opt/lt-runpath", "noshdr runpath");
					struct elf_file *orig = elf_file__open(path);
					const uint8_t *id0, *id1;
					size_t l0, l1;

					if (ASSERT_OK_PTR(orig, "open libltv")) {
						ASSERT_EQ(elf_file__needed(ef, NULL), 2, "noshdr needed");
						l0 = elf_file__build_id(orig, &id0);
						l1 = elf_file__build_id(ef, &id1);
						ASSERT_TRUE(l0 == 20 && l1 == l0 && !memcmp(id0, id1, l0),
							    "noshdr build-id");
					}
					elf_file__free(orig);
					ASSERT_FALSE(elf_file__defines(ef, "foo"), "noshdr: no symbols");
				}
				elf_file__free(ef);
			}
			free(img);
		}
	}

	/* static, PIE, non-PIE executables: symtab lookups and offsets */
	{
		static const struct {
			const char *file;
			bool is_exec, is_static;
			const char *func;
		} bins[] = {
			{ "st", true, true, "malloc" },
			{ "st", true, true, "main" },
			{ "nopie", true, false, "main" },
			{ "pie", false, false, "main" },
		};
		size_t i;

		for (i = 0; i < sizeof(bins) / sizeof(bins[0]); i++) {
			char path[128];

			snprintf(path, sizeof(path), "%s/%s", dir, bins[i].file);
			ef = elf_file__open(path);
			nm = test__run_cmd("nm '%s'", path);
			if (!ASSERT_OK_PTR(ef, path) || !ASSERT_OK_PTR(nm, "nm")) {
				free(nm);
				elf_file__free(ef);
				continue;
			}
			ASSERT_EQ(elf_file__is_exec(ef), bins[i].is_exec, path);
			ASSERT_EQ(elf_file__is_static(ef), bins[i].is_static, path);
			if (bins[i].is_static) {
				ASSERT_TRUE(elf_file__interp(ef) == NULL, "static: no interp");
				ASSERT_EQ(elf_file__needed(ef, &names), 0, "static: no DT_NEEDED");
			} else {
				ASSERT_STREQ(elf_file__interp(ef), "/lib64/ld-linux-x86-64.so.2", "interp");
				n = elf_file__needed(ef, &names);
				if (ASSERT_EQ(n, 1, "needed"))
					ASSERT_STREQ(names[0], "libc.so.6", "needed libc");
			}
			ASSERT_GE(elf_file__build_id(ef, NULL), 1, "build-id");
			n = elf_file__find_func(ef, bins[i].func, s, 8);
			if (ASSERT_EQ(n, 1, bins[i].func) &&
			    ASSERT_TRUE(nm_addr(nm, bins[i].func, &addr), "nm addr")) {
				ASSERT_EQ(s[0].vaddr, addr, bins[i].func);
				ASSERT_FALSE(s[0].from_dynsym, "from symtab");
				ASSERT_TRUE(s[0].version == NULL, "no version");
				if (ASSERT_TRUE(objdump_file_off(path, addr, &off), "objdump -F")) {
					ASSERT_EQ(s[0].file_off, off, "file_off");
					ASSERT_EQ(elf_file__read(ef, addr, a, sizeof(a)), sizeof(a), "read");
					ASSERT_TRUE(read_file_at(path, off, b, sizeof(b)), "pread");
					ASSERT_TRUE(!memcmp(a, b, sizeof(a)), "same bytes");
				}
				if (bins[i].is_exec)
					ASSERT_NEQ(s[0].file_off, s[0].vaddr, "ET_EXEC: off != vaddr");
			}
			/* a static lt_dup and a global lt_dup: the global one only */
			n = elf_file__find_func(ef, "lt_dup", s, 8);
			if (ASSERT_EQ(n, 1, "lt_dup") &&
			    ASSERT_TRUE(nm_addr(nm, "lt_dup", &addr), "nm lt_dup")) {
				char *line = strstr(nm, " T lt_dup\n");

				if (ASSERT_OK_PTR(line, "nm T lt_dup")) {
					while (line > nm && line[-1] != '\n')
						line--;
					ASSERT_EQ(s[0].vaddr, strtoull(line, NULL, 16), "global lt_dup");
				}
			}
			free(nm);
			elf_file__free(ef);
		}
	}
	rm_tmpdir(dir);
}

/* Exercise every API on a file; must never crash. Returns symbols found, or -1 if it did not open. */
static int poke(const char *path)
{
	static const char *const names[] = { "malloc", "free", "foo", "bar", "main", "" };
	struct elf_file *ef = elf_file__open(path);
	const char *const *needed;
	const uint8_t *id;
	struct elf_sym s[8];
	uint8_t buf[64];
	uint64_t off, v;
	const char *nm;
	int n, k, found = 0;
	size_t i;

	if (!ef)
		return -1;
	(void)elf_file__name(ef);
	(void)elf_file__is_exec(ef);
	(void)elf_file__is_static(ef);
	nm = elf_file__interp(ef);
	if (nm)
		(void)strlen(nm);
	nm = elf_file__soname(ef);
	if (nm)
		(void)strlen(nm);
	nm = elf_file__runpath(ef);
	if (nm)
		(void)strlen(nm);
	n = elf_file__needed(ef, &needed);
	for (k = 0; k < n; k++)
		(void)strlen(needed[k]);
	n = (int)elf_file__build_id(ef, &id);
	for (k = 0; k < n; k++)
		buf[k % sizeof(buf)] = id[k];
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = elf_file__find_func(ef, names[i], s, 8);
		if (n > 0)
			found += n;
		for (k = 0; k < n; k++) {
			(void)strlen(s[k].name);
			if (s[k].version)
				(void)strlen(s[k].version);
			(void)elf_file__read(ef, s[k].vaddr, buf, sizeof(buf));
			(void)elf_file__sym_at(ef, s[k].vaddr + 1, &s[k]);
			(void)elf_file__plt_name(ef, s[k].vaddr, &nm);
		}
		(void)elf_file__exports(ef, names[i]);
	}
	for (v = 0; v < 0x4000; v += 0x3f1) {
		(void)elf_file__vaddr_to_off(ef, v, &off);
		(void)elf_file__off_to_vaddr(ef, v, &off);
		(void)elf_file__read(ef, v, buf, sizeof(buf));
		(void)elf_file__sym_at(ef, v, s);
		(void)elf_file__plt_name(ef, v, &nm);
	}
	elf_file__free(ef);
	return found;
}

/* Malformed files: random byte flips in headers and tables, and truncation. */
static void test_malformed_files(void)
{
	char dir[64], src[128], dst[128], *out;
	uint8_t *orig = NULL, *buf = NULL;
	struct stat st;
	pid_t pid;
	int fd, status;

	if (!ASSERT_TRUE(make_tmpdir(dir, sizeof(dir)), "mkdtemp"))
		return;
	snprintf(src, sizeof(src), "%s/libfz.so", dir);
	snprintf(dst, sizeof(dst), "%s/mut.so", dir);
	out = test__run_cmd("cd '%s' && printf '%%s\\n' 'int foo_v1(void){return 1;}' 'int foo(void){return 2;}'"
		      " 'int bar(int x){return x + 3;}' '__asm__(\".symver foo_v1,foo@V1\");' > v.c && "
		      "printf '%%s\\n' 'V1 { global: bar; foo; local: *; };' 'V2 { global: foo; } V1;' > v.map && "
		      "cc -shared -fPIC -O1 -Wl,--version-script=v.map -Wl,-soname,libfz.so -Wl,-rpath,/x "
		      "-o libfz.so v.c -lm && echo ok", dir);
	if (!out || !strstr(out, "ok"))
		snprintf(src, sizeof(src), "/bin/true");
	free(out);

	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (!ASSERT_TRUE(fd >= 0, "open source") || !ASSERT_EQ(fstat(fd, &st), 0, "fstat")) {
		if (fd >= 0)
			close(fd);
		rm_tmpdir(dir);
		return;
	}
	orig = malloc(st.st_size);
	buf = malloc(st.st_size);
	if (!ASSERT_OK_PTR(orig, "malloc") || !ASSERT_OK_PTR(buf, "malloc") ||
	    !ASSERT_EQ(pread(fd, orig, st.st_size, 0), st.st_size, "read source"))
		goto out;

	pid = fork();
	if (pid == 0) {
		uint64_t seed = 0x9e3779b97f4a7c15ull;
		size_t size = st.st_size;
		int iter, opened = 0, with_syms = 0;

#define RND() (seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17, seed)
		for (iter = 0; iter < 3000; iter++) {
			size_t len = size, shoff, phoff;
			int k, flips = 1 + RND() % 8;

			memcpy(buf, orig, size);
			memcpy(&shoff, orig + 0x28, 8);
			memcpy(&phoff, orig + 0x20, 8);
			for (k = 0; k < flips; k++) {
				size_t pos;
				uint8_t val;

				switch (RND() % 4) {
				case 0:
					pos = RND() % 64;		/* ELF header */
					break;
				case 1:
					pos = phoff + RND() % (56 * 12);	/* program headers */
					break;
				case 2:
					pos = shoff + RND() % (64 * 40);	/* section headers */
					break;
				default:
					pos = RND() % size;		/* tables, strings, notes */
					break;
				}
				if (pos >= size)
					pos = RND() % size;
				val = RND() % 3 == 0 ? 0xff : (uint8_t)RND();
				buf[pos] = val;
			}
			if (iter % 10 == 9)
				len = RND() % size;		/* truncated */
			if (!write_file(dst, buf, len))
				_exit(2);
			k = poke(dst);
			opened += k >= 0;
			with_syms += k > 0;
		}
		/* the mutants must reach the parsers, not just fail the header check */
		_exit(poke(src) > 0 && opened > 1000 && with_syms > 500 ? 0 : 3);
	}
	if (!ASSERT_TRUE(pid > 0, "fork"))
		goto out;
	ASSERT_EQ(waitpid(pid, &status, 0), pid, "waitpid");
	if (!ASSERT_TRUE(WIFEXITED(status), "fuzz child did not crash"))
		fprintf(stderr, "    fuzz child: signal %d (input kept in %s)\n",
			WIFSIGNALED(status) ? WTERMSIG(status) : 0, dst);
	else
		ASSERT_EQ(WEXITSTATUS(status), 0, "fuzz child exit");
out:
	close(fd);
	free(orig);
	free(buf);
	if (!test__failed_asserts)
		rm_tmpdir(dir);
}

static const struct test_case tests[] = {
	TEST_CASE(test_open_errors),
	TEST_CASE(test_libc_glibc236_facts),
	TEST_CASE(test_libc_vs_dlsym),
	TEST_CASE(test_libc_vs_readelf),
	TEST_CASE(test_dynamic_vs_readelf),
	TEST_CASE(test_nonpie_python),
	TEST_CASE(test_vaddr_mapping_edges),
	TEST_CASE(test_sym_at),
	TEST_CASE(test_plt_names),
	TEST_CASE(test_built_binaries),
	TEST_CASE(test_malformed_files),
};

int main(int argc, char **argv)
{
	return test__main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
