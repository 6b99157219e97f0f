/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * leaktrace's own ELF symbol resolver.
 *
 * libbpf 1.1.2 cannot attach by name to versioned glibc symbols, so
 * leaktrace resolves symbols itself (dynsym + symtab, with .gnu.version /
 * .gnu.version_d), dedupes same-address aliases, maps vaddr to file offset
 * through PT_LOAD (PIE and non-PIE), and attaches with raw offsets.
 * Pure libelf: no libbpf, no root; unit tested on the system libc.
 */
#ifndef LT_ELFSYM_H
#define LT_ELFSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_file;

struct elf_sym {
	const char *name;	/* owned by elf_file */
	const char *version;	/* "GLIBC_2.34", or NULL when unversioned */
	bool is_default;	/* name@@VER, or unversioned */
	bool from_dynsym;
	uint8_t type;		/* STT_FUNC or STT_GNU_IFUNC */
	uint64_t vaddr;		/* st_value */
	uint64_t size;		/* st_size */
	uint64_t file_off;	/* vaddr mapped through PT_LOAD */
};

/* Open by path, or by an already open fd (the fd is dup'ed). NULL + errno. */
struct elf_file *elf_file__open(const char *path);
struct elf_file *elf_file__open_fd(int fd, const char *display_name);
void elf_file__free(struct elf_file *ef);		/* NULL is a no-op */

const char *elf_file__name(const struct elf_file *ef);
uint64_t elf_file__entry(const struct elf_file *ef);	/* e_entry (vaddr) */
int elf_file__fd(const struct elf_file *ef);		/* the open file, owned by ef */
bool elf_file__is_exec(const struct elf_file *ef);	/* ET_EXEC (non-PIE) */
bool elf_file__is_static(const struct elf_file *ef);	/* no PT_INTERP and no PT_DYNAMIC */
const char *elf_file__interp(const struct elf_file *ef);	/* PT_INTERP or NULL */
const char *elf_file__soname(const struct elf_file *ef);	/* DT_SONAME or NULL */
/* DT_NEEDED entries in order; returns the count, *names owned by ef. */
int elf_file__needed(const struct elf_file *ef, const char *const **names);
const char *elf_file__runpath(const struct elf_file *ef);	/* DT_RUNPATH, else DT_RPATH, or NULL */
/* GNU build-id note; returns its length (0 if none), *id owned by ef. */
size_t elf_file__build_id(const struct elf_file *ef, const uint8_t **id);

/*
 * Every distinct address that defines NAME as a function (STT_FUNC or
 * STT_GNU_IFUNC, st_shndx != SHN_UNDEF, size or value non-zero).
 * Looks in dynsym; falls back to symtab when the file has no dynsym
 * (static binaries) or dynsym lacks the name.
 * Order: the default version (name@@VER or unversioned) first, then other
 * versions; one entry per address (aliases at one address are merged,
 * the default version's entry wins).
 * Returns the number of entries written (<= max), 0 when not defined,
 * or -errno.
 */
int elf_file__find_func(struct elf_file *ef, const char *name,
			struct elf_sym *out, int max);

/* True if NAME is defined as a function (as elf_file__find_func finds it). */
bool elf_file__defines(struct elf_file *ef, const char *name);

/* Exported dynamic definition of NAME (dynsym only, default or unversioned). */
bool elf_file__exports(struct elf_file *ef, const char *name);

/*
 * Map a virtual address to its file offset through the PT_LOAD segment that
 * contains it (p_offset + vaddr - p_vaddr). 0 or -ENOENT.
 */
int elf_file__vaddr_to_off(const struct elf_file *ef, uint64_t vaddr, uint64_t *off);
/* Inverse: file offset to vaddr. 0 or -ENOENT. */
int elf_file__off_to_vaddr(const struct elf_file *ef, uint64_t off, uint64_t *vaddr);

/* Copy up to LEN bytes of the file's contents at VADDR. Returns bytes copied or -errno. */
int elf_file__read(const struct elf_file *ef, uint64_t vaddr, void *buf, size_t len);

/*
 * Symbol containing VADDR (function symbols only, symtab preferred, then
 * dynsym). Returns 0 and fills *sym, or -ENOENT. Used for "jmp to another
 * tracked function" detection and for tests.
 */
int elf_file__sym_at(struct elf_file *ef, uint64_t vaddr, struct elf_sym *sym);

/*
 * x86_64: if VADDR is a PLT stub (.plt, .plt.sec or .plt.got entry), the
 * name of the dynamic symbol it jumps through ("free" for free@plt).
 * Tail jumps such as libstdc++'s _ZdlPv -> free land on the library's
 * own PLT stub, not on the target function. 0, or -ENOENT.
 */
int elf_file__plt_name(const struct elf_file *ef, uint64_t vaddr, const char **name);

#endif /* LT_ELFSYM_H */
