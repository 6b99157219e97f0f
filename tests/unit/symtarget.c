// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Target process for test_syms.c, built by the test at run time with
 * -O2 -g -fno-omit-frame-pointer (PIE, non-PIE, stripped + debuglink).
 *
 * It prints "name hexaddr" lines on stdout: the entry of some functions,
 * return addresses seen by callee() (__builtin_return_address(0)) and the
 * load bias of the executable (dl_iterate_phdr's dlpi_addr), then "ready".
 * Then it serves commands from stdin:
 *   dlopen LIB SYM   ->  "sym hexaddr" (0 on failure)
 * and exits on EOF.
 *
 * The test finds line numbers through the "MARK:<name>" comments, so keep
 * each marker on the line it names. Function entries are written with the
 * opening brace on the line of the name so the entry line is unambiguous.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <string.h>

#ifdef __clang__
#define NOINLINE __attribute__((noinline, used))
#else
#define NOINLINE __attribute__((noinline, noipa, used))
#endif
#define ALWAYS_INLINE static inline __attribute__((always_inline))

volatile unsigned long sink;

NOINLINE void callee(const char *tag)
{
	printf("%s %lx\n", tag, (unsigned long)__builtin_return_address(0));
	sink++;
}

NOINLINE int st_direct(int x) { /* MARK:direct_entry */
	callee("ra_direct"); /* MARK:direct_call */
	sink += (unsigned long)x;
	return x + 1;
}

ALWAYS_INLINE int st_inl_inner(int x)
{
	callee("ra_inlined"); /* MARK:inner_call */
	sink += (unsigned long)x * 3;
	return x + 2;
}

ALWAYS_INLINE int st_inl_middle(int x)
{
	int r = st_inl_inner(x * 5); /* MARK:middle_call */

	sink += (unsigned long)r;
	return r + 7;
}

NOINLINE int st_inl_outer(int x) { /* MARK:outer_entry */
	int r = st_inl_middle(x + 1); /* MARK:outer_call */

	sink += (unsigned long)r;
	return r * 2;
}

static int base_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	/* the first object is the main program */
	*(unsigned long *)data = (unsigned long)info->dlpi_addr;
	return 1;
}

int main(void)
{
	unsigned long base = 0;
	char line[1024], lib[512], sym[256];

	dl_iterate_phdr(base_cb, &base);
	printf("base %lx\n", base);
	printf("fn_direct %lx\n", (unsigned long)&st_direct);
	printf("fn_outer %lx\n", (unsigned long)&st_inl_outer);
	printf("fn_callee %lx\n", (unsigned long)&callee);
	st_direct(1);
	st_inl_outer(2);
	printf("ready\n");
	fflush(stdout);

	while (fgets(line, sizeof(line), stdin)) {
		void *h, *p = NULL;

		if (sscanf(line, "dlopen %511s %255s", lib, sym) == 2) {
			h = dlopen(lib, RTLD_NOW);
			p = h ? dlsym(h, sym) : NULL;
		}
		printf("sym %lx\n", (unsigned long)p);
		fflush(stdout);
	}
	return 0;
}
