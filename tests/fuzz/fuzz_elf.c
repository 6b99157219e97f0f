// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * leaktrace's ELF resolver on arbitrary bytes: written to a memfd, opened
 * with elf_file__open (through /proc/self/fd/N), then every query the
 * planner makes: needed, runpath, soname, interp, build-id, find_func of
 * the allocator and thread/timer names, vaddr <-> offset, read, sym_at and
 * plt_name. Nothing may crash; results must be consistent.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "elfsym.h"
#include "fuzz.h"

static const char *const elf_names[] = {
	"malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign",
	"aligned_alloc", "memalign", "valloc", "pvalloc", "_Znwm", "_ZdlPv",
	"pthread_create", "pthread_join", "timer_create", "timerfd_create",
	"foo", "bar", "main", "_start", "",
};

static void elf_check_addr(struct elf_file *ef, uint64_t vaddr)
{
	uint64_t off, back;
	uint8_t buf[32];
	struct elf_sym sym;
	const char *name;
	int n;

	if (elf_file__vaddr_to_off(ef, vaddr, &off) == 0 &&
	    elf_file__off_to_vaddr(ef, off, &back) == 0)
		(void)back;	/* overlapping PT_LOADs may map it back elsewhere */
	n = elf_file__read(ef, vaddr, buf, sizeof(buf));
	FUZZ_CHECK(n <= (int)sizeof(buf));
	if (elf_file__sym_at(ef, vaddr, &sym) == 0) {
		FUZZ_CHECK(sym.name != NULL);
		(void)strlen(sym.name);
		if (sym.version)
			(void)strlen(sym.version);
	}
	if (elf_file__plt_name(ef, vaddr, &name) == 0) {
		FUZZ_CHECK(name != NULL);
		(void)strlen(name);
	}
}

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
	const char *const *needed;
	const uint8_t *id;
	struct elf_sym syms[8];
	struct elf_file *ef;
	char path[64];
	size_t idlen;
	int fd, n;

	fd = memfd_create("fuzz-elf", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ef = elf_file__open(path);
	close(fd);
	if (!ef)
		return 0;

	(void)strlen(elf_file__name(ef));
	(void)elf_file__is_exec(ef);
	(void)elf_file__is_static(ef);
	if (elf_file__interp(ef))
		(void)strlen(elf_file__interp(ef));
	if (elf_file__soname(ef))
		(void)strlen(elf_file__soname(ef));
	if (elf_file__runpath(ef))
		(void)strlen(elf_file__runpath(ef));
	n = elf_file__needed(ef, &needed);
	FUZZ_CHECK(n >= 0);
	for (int i = 0; i < n; i++) {
		FUZZ_CHECK(needed[i] != NULL);
		(void)strlen(needed[i]);
	}
	idlen = elf_file__build_id(ef, &id);
	if (idlen) {
		uint8_t x = 0;

		FUZZ_CHECK(id != NULL);
		for (size_t i = 0; i < idlen; i++)	/* every byte readable (ASan) */
			x ^= id[i];
		*(volatile uint8_t *)&x = x;
	}
	elf_check_addr(ef, elf_file__entry(ef));

	for (size_t k = 0; k < sizeof(elf_names) / sizeof(elf_names[0]); k++) {
		bool defines = elf_file__defines(ef, elf_names[k]);

		(void)elf_file__exports(ef, elf_names[k]);
		n = elf_file__find_func(ef, elf_names[k], syms, 8);
		FUZZ_CHECK(n <= 8);
		FUZZ_CHECK((n > 0) == defines);
		for (int i = 0; i < n; i++) {
			FUZZ_CHECK(syms[i].name && strcmp(syms[i].name, elf_names[k]) == 0);
			for (int j = 0; j < i; j++)
				FUZZ_CHECK(syms[j].vaddr != syms[i].vaddr);	/* one per address */
			elf_check_addr(ef, syms[i].vaddr);
		}
	}
	/* addresses taken from the input itself */
	for (size_t i = 0; i + 8 <= size && i < 64 * 8; i += 8) {
		uint64_t a;

		memcpy(&a, data + i, 8);
		elf_check_addr(ef, a);
	}
	elf_file__free(ef);
	return 0;
}
