/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The insides of struct elf_file, shared by elfsym.c (open, program
 * headers, dynamic section, accessors), elftab.c (symbol tables, versions,
 * look-ups) and elfplt.c (PLT stubs). Nothing else includes it.
 */
#ifndef LT_ELFSYM_PRIV_H
#define LT_ELFSYM_PRIV_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gelf.h>
#include <libelf.h>

#include "elfsym.h"

#ifndef NT_GNU_BUILD_ID
#define NT_GNU_BUILD_ID 3
#endif
#ifndef R_X86_64_GLOB_DAT
#define R_X86_64_GLOB_DAT 6
#endif
#ifndef R_X86_64_JUMP_SLOT
#define R_X86_64_JUMP_SLOT 7
#endif

/* Sanity caps against absurd (fuzzed) counts; real files are far below. */
#define MAX_SYMS	(1u << 24)
#define MAX_VERDEFS	65536
#define MAX_NEEDED	4096
#define MAX_BUILD_ID	256

struct lt_sym {
	const char *name;	/* base name, without @VER */
	const char *version;
	uint64_t vaddr;
	uint64_t size;
	uint8_t type;
	uint8_t bind;
	bool is_default;
	bool from_dynsym;
};

struct sym_table {
	struct lt_sym *syms;	/* sorted by name, default first, then vaddr */
	size_t cnt;
	size_t cap;
};

struct plt_ent {
	uint64_t vaddr;
	const char *name;
};

struct verdef_name {
	unsigned int ndx;
	const char *name;
};

struct elf_file {
	char *name;
	int fd;
	Elf *elf;
	GElf_Half e_type;
	GElf_Half e_machine;
	GElf_Addr e_entry;
	size_t phnum;
	GElf_Phdr *phdrs;
	bool has_interp;
	bool has_dynamic;
	char *interp;
	char *soname;
	char *runpath;
	char **needed;
	int needed_cnt;
	uint8_t *build_id;
	size_t build_id_len;
	struct sym_table dyn;	/* .dynsym */
	struct sym_table tab;	/* .symtab */
	char **owned;		/* split "name@VER" base names from .symtab */
	size_t owned_cnt;
	size_t owned_cap;
	struct plt_ent *plt;	/* sorted by vaddr */
	size_t plt_cnt;
};

/* elftab.c: .dynsym and .symtab, with their versions. 0 or -errno. */
int elf__load_syms(struct elf_file *ef);
/* elfplt.c: the PLT stubs and the symbols they jump through. 0 or -errno. */
int elf__load_plt(struct elf_file *ef);

#endif /* LT_ELFSYM_PRIV_H */
