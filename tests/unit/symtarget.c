// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Target process for test_syms.c, built by the test at run time with
 * -O2 -g -fno-omit-frame-pointer (PIE, non-PIE, stripped + debuglink).
 * Built with -DSYMLIB -shared it is instead a small library for the target
 * to dlopen (linked at a non-zero base address, like a prelinked one).
 *
 * The program prints "name hexaddr" lines on stdout: the entry of some
 * functions, return addresses seen by callee() (__builtin_return_address(0))
 * and the load bias of the executable (dl_iterate_phdr's dlpi_addr), then
 * "ready". Then it serves commands from stdin, answering "sym ADDR [BIAS]"
 * (hex, 0 on failure):
 *   dlopen LIB SYM  ->  SYM's address in LIB and LIB's load bias (l_addr)
 *   unmaphdr LIB    ->  unmaps the first page of LIB's image (its ELF
 *                       header) and answers its address
 *   mapdata         ->  maps the first page of its own file as data just
 *                       below its image and answers that address
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
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef __clang__
#define NOINLINE __attribute__((noinline, used))
#else
#define NOINLINE __attribute__((noinline, noipa, used))
#endif
#define ALWAYS_INLINE static inline __attribute__((always_inline))

#ifdef SYMLIB

volatile unsigned long symlib_sink;

/* on one line: whichever statement the entry is attributed to */
NOINLINE int symlib_fn(int x) { symlib_sink += x; return x * 11; } /* MARK:symlib_entry */

#else /* !SYMLIB */

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

/* Load bias and first page of an object: the main program for NAME "". */
struct image {
	const char *name;
	unsigned long base, low;
	int found;
};

static int image_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct image *img = data;
	unsigned long low = ~0UL;

	(void)size;
	if (strcmp(info->dlpi_name, img->name))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type == PT_LOAD && info->dlpi_phdr[i].p_vaddr < low)
			low = info->dlpi_phdr[i].p_vaddr;
	}
	img->base = (unsigned long)info->dlpi_addr;
	img->low = (img->base + low) & ~((unsigned long)sysconf(_SC_PAGESIZE) - 1);
	img->found = 1;
	return 1;
}

static void *map_data_below(unsigned long low)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *p;
	int fd;

	fd = open("/proc/self/exe", O_RDONLY);
	if (fd < 0)
		return NULL;
	p = mmap((void *)(low - (unsigned long)pg), (size_t)pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

/* Unmap the ELF header page of an already loaded library. */
static void *unmap_header(const char *lib)
{
	void *h = dlopen(lib, RTLD_NOW | RTLD_NOLOAD);
	struct link_map *lm = NULL;
	struct image img = { 0 };

	if (!h || dlinfo(h, RTLD_DI_LINKMAP, &lm) || !lm)
		return NULL;
	img.name = lm->l_name;
	dl_iterate_phdr(image_cb, &img);
	/* from here on, nothing may look at its headers: no dlsym, no dlclose */
	if (!img.found || munmap((void *)img.low, (size_t)sysconf(_SC_PAGESIZE)))
		return NULL;
	return (void *)img.low;
}

int main(void)
{
	struct image self = { .name = "" };
	char line[1024], lib[512], sym[256];

	dl_iterate_phdr(image_cb, &self);
	printf("base %lx\n", self.base);
	printf("fn_direct %lx\n", (unsigned long)&st_direct);
	printf("fn_outer %lx\n", (unsigned long)&st_inl_outer);
	printf("fn_callee %lx\n", (unsigned long)&callee);
	st_direct(1);
	st_inl_outer(2);
	printf("ready\n");
	fflush(stdout);

	while (fgets(line, sizeof(line), stdin)) {
		struct link_map *lm = NULL;
		unsigned long bias = 0;
		void *h, *p = NULL;

		if (sscanf(line, "dlopen %511s %255s", lib, sym) == 2) {
			h = dlopen(lib, RTLD_NOW);
			p = h ? dlsym(h, sym) : NULL;
			if (p && !dlinfo(h, RTLD_DI_LINKMAP, &lm) && lm)
				bias = (unsigned long)lm->l_addr;
		} else if (sscanf(line, "unmaphdr %511s", lib) == 1) {
			p = unmap_header(lib);
		} else if (!strcmp(line, "mapdata\n")) {
			p = map_data_below(self.low);
		}
		printf("sym %lx %lx\n", (unsigned long)p, bias);
		fflush(stdout);
	}
	return 0;
}

#endif /* SYMLIB */
