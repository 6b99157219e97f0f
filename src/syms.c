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
#include "syms_priv.h"

/* ------------------------------------------------------------------ */
/* modules */

static struct syms_mod *mod_of(Dwfl_Module *dm)
{
	void **ud = NULL;

	if (!dm || !dwfl_module_info(dm, &ud, NULL, NULL, NULL, NULL, NULL, NULL) || !ud)
		return NULL;
	return *ud;
}

void syms_mod_free(struct syms_mod *m)
{
	if (m)
		gobin__free(m->go);
	free(m);
}

struct syms_mod *syms_mod_at(struct syms *s, uint64_t addr)
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
	ret = syms_intern(s, buf);
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
					s->exe.path = syms_intern(s, e->path);
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
					s->exe.path = syms_intern(s, e->path);
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
			s->interp.path = syms_intern(s, e->path);
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
		c->img.id.path = syms_intern(s, e->path);
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
				syms_mod_free(s->mods[i]);	/* its strings stay interned */
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
		/* Go: names, lines and inlining from .gopclntab, present even when stripped */
		m->go = gobin__open_fd(c->fd, c->img.id.path);
		dm = dwfl_report_elf(s->dwfl, c->img.id.path, c->img.id.path, c->fd, c->img.bias, true);
		if (!dm) {
			s->nmods--;
			syms_mod_free(m);
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
	s->c = &syms_shared;
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
		syms_mod_free(s->mods[i]);
	free(s->mods);
	free(s);	/* s->c, the shared cache, outlives it */
}

/* ------------------------------------------------------------------ */
/* public: modules */

const char *syms__module(struct syms *s, uint64_t addr)
{
	struct syms_mod *m = s ? syms_mod_at(s, addr) : NULL;

	return m ? m->img.id.path : NULL;
}

const char *syms__exe(struct syms *s)
{
	return s && s->have_exe ? s->exe.path : NULL;
}

bool syms__in_exe(struct syms *s, uint64_t addr)
{
	struct syms_mod *m = s ? syms_mod_at(s, addr) : NULL;

	return m && m->is_exe;
}

bool syms__in_interp(struct syms *s, uint64_t addr)
{
	struct syms_mod *m = s ? syms_mod_at(s, addr) : NULL;

	return m && m->is_interp;
}
