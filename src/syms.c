// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Symbolizer for one process, on elfutils libdwfl.
 *
 * Modules. Every file-backed mapping in /proc/PID/maps is opened through
 * /proc/PID/map_files/<start>-<end> (or /proc/PID/root/<path>), its ELF
 * program headers give the load bias, and mappings of the same file that
 * fall inside that image are grouped into one module. Images with at least
 * one executable mapping are reported to the Dwfl with
 * dwfl_report_elf(.., fd, bias, add_p_vaddr = true), which keeps the fd:
 * symbols keep working after the process exits.
 *
 * Load bias. The kernel (and ld.so) map each PT_LOAD at
 *   start  = bias + PAGE_DOWN(p_vaddr)
 *   offset = p_offset - PAGE_OFF(p_vaddr)
 * so for any mapping of a segment (also a piece of one split by mprotect)
 *   bias = start - offset - (p_vaddr - p_offset).
 * The segment is the PT_LOAD whose file range holds the mapping's offset,
 * preferring one whose mmap offset is exactly that and whose PF_X matches
 * (lld puts the text segment in the headers' page: both at offset 0).
 * ET_EXEC has bias 0. This is dl_iterate_phdr's dlpi_addr (l_addr), also
 * for images linked at a non-zero address. A later mapping of the file
 * joins an image only if it sits where one of the image's PT_LOADs goes
 * with that bias, so a copy of the file mapped as data (sanitizers do
 * that) next to the image neither joins it nor swallows it; only images
 * with an executable mapping become modules.
 *
 * Resolution. Function + offset come from the symbol tables
 * (dwfl_module_addrinfo), source lines from the line table and inline
 * chains from the concrete DIE scopes of the innermost scope
 * (dwarf_getscopes + dwarf_getscopes_die). Results are cached per
 * (module identity, file-relative address, is_retaddr), where identity is
 * the build-id, or path + device + inode when there is none. Every string
 * handed out is interned in the struct syms.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* asprintf, strndup */
#endif
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "procimg.h"
#include "procmaps.h"
#include "syms.h"

/* libstdc++ */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

#define UNKNOWN_MODULE "[unknown]"
#define DEBUGINFO_PATH ":.debug:/usr/lib/debug"

#define MAX_SEGS 16

/* One loaded ELF image: which file, where. */
struct image {
	struct file_id id;	/* path interned, as in maps (also the Dwfl module name) */
	uint64_t bias;
	uint64_t low, high;	/* [low, high) spanned by its PT_LOADs */
	int nsegs;		/* -1: too many PT_LOADs to keep */
	struct {
		uint64_t vaddr;	/* PAGE_DOWN(p_vaddr) */
		uint64_t off;	/* its mmap offset: p_offset - PAGE_OFF(p_vaddr) */
		uint64_t fend;	/* p_offset + p_filesz */
	} seg[MAX_SEGS];
};

struct syms_mod {
	Dwfl_Module *dm;
	struct image img;	/* low, high: the Dwfl module's range */
	const char *ident;	/* interned cache identity */
	bool is_exe, is_interp;
};

/* An image found in the current maps, not reported yet. */
struct cand {
	int fd;
	struct image img;
	bool x;			/* some mapping of it is executable */
};

struct cframe {
	const char *func;
	const char *file;
	uint64_t offset;
	int line;
	bool inlined;
};

struct cache_ent {
	struct cache_ent *next;
	const char *ident;
	uint64_t off;
	bool retaddr;
	int n;
	struct cframe fr[];
};

struct strset {
	char **slot;
	size_t cap, cnt;
};

/*
 * Interned strings and symbolization results are shared by every struct
 * syms of the process: with many targets mapping the same libc, each
 * (module, offset) is symbolized once, not once per target (libdwfl's
 * first lookup in a module costs tens of milliseconds). Entries are keyed
 * by the module's identity (build-id, else path and inode), so they hold
 * for any process that maps the same file. Never freed: reports copy what
 * they print, and leaktrace is single-threaded where it symbolizes.
 */
struct syms_shared {
	struct strset strs;
	struct cache_ent **bucket;
	size_t nbuckets, ncached;
};

static struct syms_shared shared;

struct syms {
	int pid;
	Dwfl *dwfl;
	Dwfl_Callbacks cb;
	char *debuginfo_path;
	char debuginfo_buf[sizeof(DEBUGINFO_PATH)];

	struct syms_mod **mods;
	int nmods, capmods;

	struct syms_shared *c;	/* strings and results, shared by every struct syms */

	/* main executable and dynamic loader, as (dev, inode, path) */
	bool have_exe, have_interp;
	struct file_id exe, interp;	/* paths interned */
};

/* ------------------------------------------------------------------ */
/* strings */

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++) {
		h ^= c[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define HASH_INIT 0xcbf29ce484222325ULL

static int strset_grow(struct strset *ss)
{
	size_t ncap = ss->cap ? ss->cap * 2 : 256;
	char **nslot = calloc(ncap, sizeof(*nslot));

	if (!nslot)
		return -ENOMEM;
	for (size_t i = 0; i < ss->cap; i++) {
		char *str = ss->slot[i];
		size_t j;

		if (!str)
			continue;
		j = hash_bytes(str, strlen(str), HASH_INIT) & (ncap - 1);
		while (nslot[j])
			j = (j + 1) & (ncap - 1);
		nslot[j] = str;
	}
	free(ss->slot);
	ss->slot = nslot;
	ss->cap = ncap;
	return 0;
}

/* Interned copy of the first LEN bytes of STR, or NULL on ENOMEM. */
static const char *intern_n(struct syms *s, const char *str, size_t len)
{
	struct strset *ss = &s->c->strs;
	char *copy;
	size_t j;

	if ((ss->cnt + 1) * 2 > ss->cap && strset_grow(ss))
		return NULL;
	j = hash_bytes(str, len, HASH_INIT) & (ss->cap - 1);
	for (; ss->slot[j]; j = (j + 1) & (ss->cap - 1)) {
		if (!strncmp(ss->slot[j], str, len) && ss->slot[j][len] == '\0')
			return ss->slot[j];
	}
	copy = malloc(len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, str, len);
	copy[len] = '\0';
	ss->slot[j] = copy;
	ss->cnt++;
	return copy;
}

static const char *intern(struct syms *s, const char *str)
{
	return str ? intern_n(s, str, strlen(str)) : NULL;
}

/* Interned, demangled symbol name without an ELF "@VERSION" suffix. */
static const char *intern_sym(struct syms *s, const char *name)
{
	const char *ret, *at;
	char *buf, *dem;
	size_t len;
	int status = -1;

	if (!name || !*name)
		return NULL;
	at = strchr(name + 1, '@');
	len = at ? (size_t)(at - name) : strlen(name);
	if (len < 2 || name[0] != '_' || name[1] != 'Z')
		return intern_n(s, name, len);

	buf = strndup(name, len);
	if (!buf)
		return NULL;
	dem = __cxa_demangle(buf, NULL, NULL, &status);
	ret = intern(s, status == 0 && dem ? dem : buf);
	free(dem);
	free(buf);
	return ret;
}

/* ------------------------------------------------------------------ */
/* result cache */

static size_t cache_hash(const char *ident, uint64_t off, bool retaddr, size_t n)
{
	uint64_t h = HASH_INIT;

	h = hash_bytes(&ident, sizeof(ident), h);
	h = hash_bytes(&off, sizeof(off), h);
	h = hash_bytes(&retaddr, sizeof(retaddr), h);
	return (size_t)(h & (n - 1));
}

static struct cache_ent *cache_find(struct syms *s, const char *ident, uint64_t off, bool retaddr)
{
	struct cache_ent *e;

	if (!s->c->nbuckets)
		return NULL;
	for (e = s->c->bucket[cache_hash(ident, off, retaddr, s->c->nbuckets)]; e; e = e->next) {
		if (e->ident == ident && e->off == off && e->retaddr == retaddr)
			return e;
	}
	return NULL;
}

static int cache_insert(struct syms *s, struct cache_ent *ent)
{
	size_t h;

	if (s->c->ncached >= s->c->nbuckets) {
		size_t nn = s->c->nbuckets ? s->c->nbuckets * 2 : 1024;
		struct cache_ent **nb = calloc(nn, sizeof(*nb));

		if (!nb)
			return -ENOMEM;
		for (size_t i = 0; i < s->c->nbuckets; i++) {
			struct cache_ent *e, *next;

			for (e = s->c->bucket[i]; e; e = next) {
				next = e->next;
				h = cache_hash(e->ident, e->off, e->retaddr, nn);
				e->next = nb[h];
				nb[h] = e;
			}
		}
		free(s->c->bucket);
		s->c->bucket = nb;
		s->c->nbuckets = nn;
	}
	h = cache_hash(ent->ident, ent->off, ent->retaddr, s->c->nbuckets);
	ent->next = s->c->bucket[h];
	s->c->bucket[h] = ent;
	s->c->ncached++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* modules */

static struct syms_mod *mod_of(Dwfl_Module *dm)
{
	void **ud = NULL;

	if (!dm || !dwfl_module_info(dm, &ud, NULL, NULL, NULL, NULL, NULL, NULL) || !ud)
		return NULL;
	return *ud;
}

static struct syms_mod *mod_at(struct syms *s, uint64_t addr)
{
	return s->dwfl ? mod_of(dwfl_addrmodule(s->dwfl, addr)) : NULL;
}

/*
 * Load bias and image range of the ELF file FD, mapped by E.
 * 0, -ENOEXEC (not a loadable ELF) or -ENOENT (E maps no PT_LOAD).
 */
static int elf_layout(int fd, const struct map_entry *e, struct cand *c)
{
	uint64_t pagesz = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t pmask = pagesz - 1, low = UINT64_MAX, high = 0, moff, fend, segoff = 0;
	GElf_Phdr seg = { 0 }, ph;
	int best = 0, score;
	GElf_Ehdr eh;
	size_t phnum;
	Elf *elf;
	int err = 0;

	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return -ENOEXEC;
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) ||
	    elf_getphdrnum(elf, &phnum)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	for (size_t i = 0; i < phnum; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (ph.p_offset < (ph.p_vaddr & pmask) ||
		    ph.p_vaddr + ph.p_memsz < ph.p_vaddr ||
		    ph.p_vaddr + ph.p_memsz > UINT64_MAX - pagesz)
			continue;	/* malformed */
		if ((ph.p_vaddr & ~pmask) < low)
			low = ph.p_vaddr & ~pmask;
		if (((ph.p_vaddr + ph.p_memsz + pmask) & ~pmask) > high)
			high = (ph.p_vaddr + ph.p_memsz + pmask) & ~pmask;
		if (!ph.p_filesz)
			continue;	/* all bss: mapped anonymous */
		moff = ph.p_offset - (ph.p_vaddr & pmask);
		fend = ph.p_offset + ph.p_filesz;
		if (c->img.nsegs >= 0 && c->img.nsegs < MAX_SEGS) {
			c->img.seg[c->img.nsegs].vaddr = ph.p_vaddr & ~pmask;
			c->img.seg[c->img.nsegs].off = moff;
			c->img.seg[c->img.nsegs].fend = fend;
			c->img.nsegs++;
		} else {
			c->img.nsegs = -1;
		}
		/*
		 * The segment E maps: its offset in the segment's file range,
		 * best where it starts and with the same PF_X (lld starts the
		 * text segment in the page of the headers: both at offset 0).
		 */
		if (e->offset < moff || e->offset >= fend)
			continue;
		score = (e->offset == moff) * 2 + (!!(ph.p_flags & PF_X) == e->x) + 1;
		if (score > best) {
			best = score;
			seg = ph;
			segoff = moff;
		}
	}
	if (!best) {
		err = -ENOENT;
		goto cleanup;
	}
	if (eh.e_type == ET_EXEC) {
		c->img.bias = 0;
		/* ET_EXEC is loaded where it says; else this is not its image. */
		if (e->start != (seg.p_vaddr & ~pmask) + (e->offset - segoff)) {
			err = -ENOENT;
			goto cleanup;
		}
	} else {
		c->img.bias = e->start - e->offset - (seg.p_vaddr - seg.p_offset);
		if (c->img.bias & pmask) {
			err = -ENOENT;
			goto cleanup;
		}
	}
	c->img.low = c->img.bias + low;
	c->img.high = c->img.bias + high;

cleanup:
	elf_end(elf);
	return err;
}

static int add_mod(struct syms *s, struct syms_mod *m)
{
	if (s->nmods == s->capmods) {
		int ncap = s->capmods ? s->capmods * 2 : 64;
		struct syms_mod **nm = realloc(s->mods, (size_t)ncap * sizeof(*nm));

		if (!nm)
			return -ENOMEM;
		s->mods = nm;
		s->capmods = ncap;
	}
	s->mods[s->nmods++] = m;
	return 0;
}

static const char *mod_ident(struct syms *s, Dwfl_Module *dm, const struct cand *c)
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	char *buf, *p;
	const char *ret;
	int len;

	len = dwfl_module_build_id(dm, &bits, &vaddr);
	if (len > 0) {
		buf = malloc((size_t)len * 2 + 8);
		if (!buf)
			return NULL;
		p = buf + sprintf(buf, "bid:");
		for (int i = 0; i < len; i++)
			p += sprintf(p, "%02x", bits[i]);
	} else {
		if (asprintf(&buf, "file:%u:%u:%" PRIu64 ":%s", c->img.id.dev_major,
			     c->img.id.dev_minor, c->img.id.inode, c->img.id.path) < 0)
			return NULL;
	}
	ret = intern(s, buf);
	free(buf);
	return ret;
}

/*
 * Is mapping E part of image IMG: same file, inside its range, and a piece
 * of one of its PT_LOADs where that goes with IMG's bias? (The file may be
 * mapped as data too, e.g. by a sanitizer's symbolizer, next to its image.)
 */
static bool in_image(const struct map_entry *e, const struct image *img)
{
	struct file_id id = procimg__file_id(e);

	if (e->start < img->low || e->end > img->high || !file_id__same(&id, &img->id))
		return false;
	if (img->nsegs < 0)
		return true;
	for (int i = 0; i < img->nsegs; i++) {
		if (e->offset >= img->seg[i].off && e->offset < img->seg[i].fend &&
		    e->start - img->bias == img->seg[i].vaddr + (e->offset - img->seg[i].off))
			return true;
	}
	return false;
}

static void read_at_base(struct syms *s, uint64_t *base)
{
	uint64_t buf[2 * 64];
	char path[64];
	ssize_t r;
	size_t len = 0;
	int fd;

	*base = 0;
	snprintf(path, sizeof(path), "/proc/%d/auxv", s->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	while (len < sizeof(buf)) {
		r = read(fd, (char *)buf + len, sizeof(buf) - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	for (size_t i = 0; i + 1 < len / sizeof(uint64_t); i += 2) {
		if (buf[i] == 0)
			break;
		if (buf[i] == AT_BASE) {
			*base = buf[i + 1];
			break;
		}
	}
}

/* PT_INTERP of the exe module, as a NUL-terminated string in the file, or NULL. */
static const char *exe_interp(struct syms_mod *exe)
{
	GElf_Addr bias;
	GElf_Phdr ph;
	size_t phnum;
	Elf_Data *d;
	Elf *elf;

	elf = exe && exe->dm ? dwfl_module_getelf(exe->dm, &bias) : NULL;
	if (!elf || elf_getphdrnum(elf, &phnum))
		return NULL;
	for (size_t i = 0; i < phnum; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_INTERP)
			continue;
		d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_BYTE);
		if (!d || !d->d_buf || !d->d_size || !memchr(d->d_buf, '\0', d->d_size))
			return NULL;
		return d->d_buf;
	}
	return NULL;
}

/* Identify the main executable and the loader among MAPS. */
static void find_exe_interp(struct syms *s, const struct proc_maps *maps)
{
	char path[PATH_MAX + 64], link[PATH_MAX];
	const struct map_entry *e;
	struct syms_mod *exe = NULL;
	uint64_t base;
	struct stat st;
	ssize_t n;

	if (!s->have_exe) {
		snprintf(path, sizeof(path), "/proc/%d/exe", s->pid);
		if (!stat(path, &st)) {
			for (int i = 0; i < maps->n && !s->have_exe; i++) {
				e = &maps->e[i];
				if (procmaps__is_file(e) && e->inode == st.st_ino &&
				    e->dev_major == major(st.st_dev) &&
				    e->dev_minor == minor(st.st_dev)) {
					s->exe = procimg__file_id(e);
					s->exe.path = intern(s, e->path);
					s->have_exe = s->exe.path != NULL;
				}
			}
		}
		/* overlayfs: maps shows the real inode, stat the overlay one */
		n = readlink(path, link, sizeof(link) - 1);
		if (!s->have_exe && n > 0) {
			link[n] = '\0';
			if (n > 10 && !strcmp(link + n - 10, " (deleted)"))
				link[n - 10] = '\0';
			for (int i = 0; i < maps->n && !s->have_exe; i++) {
				e = &maps->e[i];
				if (procmaps__is_file(e) && !strcmp(e->path, link)) {
					s->exe = procimg__file_id(e);
					s->exe.path = intern(s, e->path);
					s->have_exe = s->exe.path != NULL;
				}
			}
		}
	}
	for (int i = 0; i < s->nmods; i++) {
		struct syms_mod *m = s->mods[i];

		m->is_exe = s->have_exe &&
			    file_id__same(&m->img.id, &s->exe);
		if (m->is_exe && !exe)
			exe = m;
	}

	if (!s->have_interp) {
		/* AT_BASE is where the kernel loaded PT_INTERP */
		read_at_base(s, &base);
		e = base ? procmaps__find(maps, base) : NULL;
		if (!e || !procmaps__is_file(e)) {
			/* else PT_INTERP looked up in the process's root */
			const char *interp = exe_interp(exe);

			e = NULL;
			if (interp && interp[0] == '/' &&
			    snprintf(path, sizeof(path), "/proc/%d/root%s", s->pid, interp) <
			    (int)sizeof(path) && !stat(path, &st)) {
				for (int i = 0; i < maps->n && !e; i++) {
					if (procmaps__is_file(&maps->e[i]) &&
					    maps->e[i].inode == st.st_ino &&
					    maps->e[i].dev_major == major(st.st_dev) &&
					    maps->e[i].dev_minor == minor(st.st_dev))
						e = &maps->e[i];
				}
			}
		}
		if (e) {
			s->interp = procimg__file_id(e);
			s->interp.path = intern(s, e->path);
			s->have_interp = s->interp.path != NULL;
		}
	}
	for (int i = 0; i < s->nmods; i++) {
		struct syms_mod *m = s->mods[i];

		m->is_interp = s->have_interp &&
			       file_id__same(&m->img.id, &s->interp);
	}
}

/*
 * Bring the Dwfl in line with MAPS: keep the modules still mapped or
 * unmapped without replacement, report the new ones, drop old ones a new
 * image overlaps (the address range was reused).
 */
static int update(struct syms *s, const struct proc_maps *maps)
{
	struct cand *cands = NULL, *c;
	int ncands = 0, err = 0, nnew = 0, ndrop = 0, nkept = 0;
	bool *drop = NULL;

	if (maps->n > 0) {
		cands = calloc((size_t)maps->n, sizeof(*cands));
		if (!cands)
			return -ENOMEM;
	}

	for (int i = 0; i < maps->n; i++) {
		const struct map_entry *e = &maps->e[i];
		bool known = false;
		int fd;

		if (!procmaps__is_file(e))
			continue;
		for (int j = ncands - 1; j >= 0 && !known; j--) {
			c = &cands[j];
			if (in_image(e, &c->img)) {
				c->x |= e->x;
				known = true;
			}
		}
		for (int j = 0; j < s->nmods && !known; j++) {
			struct syms_mod *m = s->mods[j];

			known = in_image(e, &m->img);
		}
		if (known)
			continue;

		fd = procmaps__open(s->pid, e);
		if (fd < 0)
			continue;
		c = &cands[ncands];
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->img.id = procimg__file_id(e);
		c->x = e->x;
		c->img.id.path = intern(s, e->path);
		if (!c->img.id.path) {
			close(fd);
			err = -ENOMEM;
			goto cleanup;
		}
		if (elf_layout(fd, e, c)) {
			close(fd);
			continue;
		}
		ncands++;
	}

	/* Only images with code are modules. */
	for (int j = 0; j < ncands; j++) {
		if (!cands[j].x) {
			close(cands[j].fd);
			cands[j].fd = -1;
		} else {
			nnew++;
		}
	}
	if (!nnew)
		goto cleanup;

	drop = calloc((size_t)s->nmods + 1, sizeof(*drop));
	if (!drop) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (int i = 0; i < s->nmods; i++) {
		struct syms_mod *m = s->mods[i];

		for (int j = 0; j < ncands && !drop[i]; j++) {
			c = &cands[j];
			drop[i] = c->fd >= 0 && c->img.low < m->img.high && m->img.low < c->img.high;
		}
		ndrop += drop[i];
	}

	if (ndrop) {
		/*
		 * A full report keeps what is reported again and frees the
		 * rest. Done apart from the additions, which could otherwise
		 * collide with a dropped module of the same name and range.
		 */
		dwfl_report_begin(s->dwfl);
		for (int i = 0; i < s->nmods; i++) {
			if (!drop[i])
				dwfl_report_module(s->dwfl, s->mods[i]->img.id.path,
						   s->mods[i]->img.low, s->mods[i]->img.high);
		}
		dwfl_report_end(s->dwfl, NULL, NULL);
		for (int i = 0; i < s->nmods; i++) {
			if (drop[i])
				free(s->mods[i]);	/* its strings stay interned */
			else
				s->mods[nkept++] = s->mods[i];
		}
		s->nmods = nkept;
	}

	dwfl_report_begin_add(s->dwfl);
	for (int j = 0; j < ncands && !err; j++) {
		struct syms_mod *m;
		Dwfl_Module *dm;
		Dwarf_Addr lo = 0, hi = 0;
		void **ud = NULL;

		c = &cands[j];
		if (c->fd < 0)
			continue;
		m = calloc(1, sizeof(*m));
		if (!m || add_mod(s, m)) {
			free(m);
			err = -ENOMEM;
			break;
		}
		dm = dwfl_report_elf(s->dwfl, c->img.id.path, c->img.id.path, c->fd, c->img.bias, true);
		if (!dm) {
			s->nmods--;
			free(m);
			continue;	/* the fd was not consumed, closed below */
		}
		c->fd = -1;	/* owned by the Dwfl now */
		dwfl_module_info(dm, &ud, &lo, &hi, NULL, NULL, NULL, NULL);
		m->dm = dm;
		m->img = c->img;
		m->img.low = lo;	/* as dwfl_report_module() must see it again */
		m->img.high = hi;
		m->ident = mod_ident(s, dm, c);
		if (!m->ident)
			m->ident = c->img.id.path;
		if (ud)
			*ud = m;
	}
	dwfl_report_end(s->dwfl, NULL, NULL);

cleanup:
	for (int j = 0; j < ncands; j++) {
		if (cands[j].fd >= 0)
			close(cands[j].fd);
	}
	free(cands);
	free(drop);
	if (!err)
		find_exe_interp(s, maps);
	return err;
}

/* ------------------------------------------------------------------ */
/* public: lifetime */

struct syms *syms__new_maps(int pid, const struct proc_maps *maps)
{
	struct syms *s = NULL;
	int err = 0;

	if (pid <= 0 || !maps) {
		errno = EINVAL;
		return NULL;
	}
	elf_version(EV_CURRENT);
	if (!maps->n) {		/* zombie: its mm is gone */
		errno = ESRCH;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->pid = pid;
	s->c = &shared;
	memcpy(s->debuginfo_buf, DEBUGINFO_PATH, sizeof(DEBUGINFO_PATH));
	s->debuginfo_path = s->debuginfo_buf;
	s->cb.find_elf = dwfl_build_id_find_elf;
	s->cb.find_debuginfo = dwfl_standard_find_debuginfo;
	s->cb.section_address = dwfl_offline_section_address;
	s->cb.debuginfo_path = &s->debuginfo_path;
	s->dwfl = dwfl_begin(&s->cb);
	err = s->dwfl ? update(s, maps) : -ENOMEM;
	if (err) {
		syms__free(s);
		errno = -err;
		return NULL;
	}
	return s;
}

struct syms *syms__new(int pid)
{
	struct proc_maps *maps;
	struct syms *s;
	int err;

	if (pid <= 0) {
		errno = EINVAL;
		return NULL;
	}
	maps = procmaps__read(pid);
	if (!maps)
		return NULL;
	s = syms__new_maps(pid, maps);
	err = errno;
	procmaps__free(maps);
	errno = err;
	return s;
}

int syms__update(struct syms *s, const struct proc_maps *maps)
{
	if (!s || !maps)
		return -EINVAL;
	return maps->n ? update(s, maps) : -ESRCH;
}

int syms__refresh(struct syms *s)
{
	struct proc_maps *maps;
	int err;

	if (!s)
		return -EINVAL;
	maps = procmaps__read(s->pid);
	if (!maps)
		return errno == ENOENT ? -ESRCH : -errno;
	err = syms__update(s, maps);
	procmaps__free(maps);
	return err;
}

void syms__free(struct syms *s)
{
	if (!s)
		return;
	if (s->dwfl)
		dwfl_end(s->dwfl);	/* closes the module fds */
	for (int i = 0; i < s->nmods; i++)
		free(s->mods[i]);
	free(s->mods);
	free(s);	/* s->c, the shared cache, outlives it */
}

/* ------------------------------------------------------------------ */
/* public: resolution */

/* Demangled name of a subprogram or inlined instance (through abstract_origin). */
static const char *die_func(struct syms *s, Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name = NULL;

	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr))
		name = dwarf_formstring(&attr);
	if (!name && dwarf_attr_integrate(die, DW_AT_name, &attr))
		name = dwarf_formstring(&attr);
	return intern_sym(s, name);
}

/* DW_AT_call_file / DW_AT_call_line of an inlined instance. */
static void die_call_site(struct syms *s, Dwarf_Die *die, const char **file, int *line)
{
	Dwarf_Attribute attr;
	Dwarf_Files *files;
	Dwarf_Word v;
	Dwarf_Die cu;
	size_t nfiles;
	const char *f = NULL;

	*file = NULL;
	*line = 0;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attr), &v) == 0 &&
	    dwarf_diecu(die, &cu, NULL, NULL) &&
	    dwarf_getsrcfiles(&cu, &files, &nfiles) == 0 && v < nfiles)
		f = dwarf_filesrc(files, v, NULL, NULL);
	if (f && strcmp(f, "???"))	/* libdw's name for DWARF < 5 file 0 */
		*file = intern(s, f);
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &attr), &v) == 0 && v <= INT_MAX)
		*line = (int)v;
}

/* Symbolize ADDR in M from scratch. NULL on ENOMEM. */
static struct cache_ent *symbolize(struct syms *s, struct syms_mod *m, uint64_t addr,
				   bool retaddr)
{
	uint64_t lookup = retaddr && addr ? addr - 1 : addr;
	const char *symname = NULL, *cur_file = NULL, *name;
	struct cframe *fr = NULL, *f;
	struct cache_ent *ent = NULL;
	Dwarf_Die *scopes = NULL, *cu, *sub = NULL, inner;
	Dwarf_Addr dwbias = 0, entry;
	bool have_sym = false;
	uint64_t offset = 0;
	int cur_line = 0, nscopes = 0, n = 0, lineno;
	Dwfl_Line *ln;
	GElf_Off symoff;
	GElf_Sym sym;

	name = dwfl_module_addrinfo(m->dm, lookup, &symoff, &sym, NULL, NULL, NULL);
	if (name) {
		symname = intern_sym(s, name);
		offset = symoff + (addr - lookup);
		have_sym = true;
	}

	ln = dwfl_module_getsrc(m->dm, lookup);
	if (ln) {
		name = dwfl_lineinfo(ln, NULL, &lineno, NULL, NULL, NULL);
		cur_file = intern(s, name);
		cur_line = name && lineno > 0 ? lineno : 0;
	}

	cu = dwfl_module_addrdie(m->dm, lookup, &dwbias);
	if (cu && dwarf_getscopes(cu, lookup - dwbias, &scopes) > 0) {
		/* the concrete chain: dwarf_getscopes goes abstract after an inline */
		inner = scopes[0];
		free(scopes);
		scopes = NULL;
		nscopes = dwarf_getscopes_die(&inner, &scopes);
		if (nscopes < 0)
			nscopes = 0;
	}

	fr = calloc((size_t)nscopes + 1, sizeof(*fr));
	if (!fr)
		goto cleanup;
	for (int i = 0; i < nscopes; i++) {
		int tag = dwarf_tag(&scopes[i]);

		if (tag == DW_TAG_subprogram || tag == DW_TAG_entry_point) {
			sub = &scopes[i];
			break;
		}
		if (tag != DW_TAG_inlined_subroutine)
			continue;
		f = &fr[n++];
		f->func = die_func(s, &scopes[i]);
		f->file = cur_file;
		f->line = cur_line;
		f->inlined = true;
		die_call_site(s, &scopes[i], &cur_file, &cur_line);
	}

	f = &fr[n++];
	f->func = symname;
	if (!have_sym && sub) {
		f->func = die_func(s, sub);
		if (dwarf_entrypc(sub, &entry) == 0 && entry + dwbias <= addr)
			offset = addr - (entry + dwbias);
	}
	f->file = cur_file;
	f->line = cur_line;
	f->inlined = false;
	for (int i = 0; i < n; i++)
		fr[i].offset = offset;

	ent = malloc(sizeof(*ent) + (size_t)n * sizeof(*fr));
	if (!ent)
		goto cleanup;
	ent->next = NULL;
	ent->ident = m->ident;
	ent->off = addr - m->img.bias;
	ent->retaddr = retaddr;
	ent->n = n;
	memcpy(ent->fr, fr, (size_t)n * sizeof(*fr));

cleanup:
	free(scopes);
	free(fr);
	return ent;
}

static void fill(struct sym_frame *out, const struct cframe *cf, uint64_t addr,
		 const struct syms_mod *m)
{
	out->addr = addr;
	out->func = cf->func;
	out->offset = cf->offset;
	out->file = cf->file;
	out->line = cf->line;
	out->module = m->img.id.path;
	out->module_off = addr - m->img.bias;
	out->inlined = cf->inlined;
}

int syms__resolve(struct syms *s, uint64_t addr, bool is_retaddr,
		  struct sym_frame *out, int max)
{
	struct cache_ent *ent;
	struct syms_mod *m;
	int n;

	if (!s || !out || max <= 0)
		return -EINVAL;
	m = mod_at(s, addr);
	if (!m) {
		memset(out, 0, sizeof(*out));
		out->addr = addr;
		out->module = UNKNOWN_MODULE;
		out->module_off = addr;
		return 1;
	}

	ent = cache_find(s, m->ident, addr - m->img.bias, is_retaddr);
	if (!ent) {
		ent = symbolize(s, m, addr, is_retaddr);
		if (!ent)
			return -ENOMEM;
		if (cache_insert(s, ent)) {
			free(ent);
			return -ENOMEM;
		}
	}

	/* Too little room: keep the innermost inlined frames and the function. */
	n = ent->n <= max ? ent->n : max;
	for (int i = 0; i < n - 1; i++)
		fill(&out[i], &ent->fr[i], addr, m);
	fill(&out[n - 1], &ent->fr[ent->n - 1], addr, m);
	return n;
}

/* ------------------------------------------------------------------ */
/* public: modules */

const char *syms__module(struct syms *s, uint64_t addr)
{
	struct syms_mod *m = s ? mod_at(s, addr) : NULL;

	return m ? m->img.id.path : NULL;
}

const char *syms__exe(struct syms *s)
{
	return s && s->have_exe ? s->exe.path : NULL;
}

bool syms__in_exe(struct syms *s, uint64_t addr)
{
	struct syms_mod *m = s ? mod_at(s, addr) : NULL;

	return m && m->is_exe;
}

bool syms__in_interp(struct syms *s, uint64_t addr)
{
	struct syms_mod *m = s ? mod_at(s, addr) : NULL;

	return m && m->is_interp;
}
