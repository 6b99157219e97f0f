// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * leaktrace's own ELF symbol resolver (see elfsym.h).
 *
 * Everything is parsed once at open time with libelf (ELF_C_READ, so a file
 * truncated under us gives read errors, not SIGBUS). Every table index,
 * offset and string read from the file is bounds checked: libelf's gelf_*
 * accessors check indexes against the section data, elf_strptr() checks
 * that the string is NUL terminated inside its section, and strings from
 * the dynamic string table are checked here.
 */
#include "elfsym_priv.h"

/* ---------------------------------------------------------------------- */
/* Program headers                                                        */

/* X from one side of a PT_LOAD's file-backed part to the other: vaddr -> offset (TO_OFF), or back. */
static int load_translate(const struct elf_file *ef, uint64_t x, bool to_off, uint64_t *out)
{
	if (!ef || !out)
		return -EINVAL;
	for (size_t i = 0; i < ef->phnum; i++) {
		const GElf_Phdr *ph = &ef->phdrs[i];
		uint64_t from = to_off ? ph->p_vaddr : ph->p_offset, to = to_off ? ph->p_offset : ph->p_vaddr;
		uint64_t res;

		if (ph->p_type != PT_LOAD || !ph->p_filesz || x < from || x - from >= ph->p_filesz)
			continue;
		if (__builtin_add_overflow(to, x - from, &res))
			continue;
		*out = res;
		return 0;
	}
	return -ENOENT;
}

int elf_file__vaddr_to_off(const struct elf_file *ef, uint64_t vaddr, uint64_t *off)
{
	return load_translate(ef, vaddr, true, off);
}

int elf_file__off_to_vaddr(const struct elf_file *ef, uint64_t off, uint64_t *vaddr)
{
	return load_translate(ef, off, false, vaddr);
}

static int vaddr_span(const struct elf_file *ef, uint64_t vaddr, uint64_t *off, uint64_t *left)
{
	size_t i;

	for (i = 0; i < ef->phnum; i++) {
		const GElf_Phdr *ph = &ef->phdrs[i];
		uint64_t delta;

		if (ph->p_type != PT_LOAD || !ph->p_filesz || vaddr < ph->p_vaddr)
			continue;
		delta = vaddr - ph->p_vaddr;
		if (delta >= ph->p_filesz)
			continue;
		if (__builtin_add_overflow(ph->p_offset, delta, off))
			continue;
		*left = ph->p_filesz - delta;
		return 0;
	}
	return -ENOENT;
}

int elf_file__read(const struct elf_file *ef, uint64_t vaddr, void *buf, size_t len)
{
	uint64_t off, left;
	size_t done = 0;
	int err;

	if (!ef || (!buf && len))
		return -EINVAL;
	err = vaddr_span(ef, vaddr, &off, &left);
	if (err)
		return err;
	if (len > left)
		len = left;
	if (len > INT_MAX)
		len = INT_MAX;
	if (off > (uint64_t)LLONG_MAX - len)
		return -EINVAL;
	while (done < len) {
		ssize_t n = pread(ef->fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += n;
	}
	return (int)done;
}

static int load_phdrs(struct elf_file *ef)
{
	size_t i, n;

	if (elf_getphdrnum(ef->elf, &n))
		return -ENOEXEC;
	if (!n)
		return 0;
	ef->phdrs = calloc(n, sizeof(*ef->phdrs));
	if (!ef->phdrs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(ef->elf, (int)i, &ef->phdrs[ef->phnum]))
			continue;
		ef->phnum++;
	}
	return 0;
}

static int load_interp(struct elf_file *ef, const GElf_Phdr *ph)
{
	Elf_Data *d;
	size_t len;

	ef->has_interp = true;
	if (ef->interp || !ph->p_filesz || ph->p_filesz > PATH_MAX)
		return 0;
	d = elf_getdata_rawchunk(ef->elf, (int64_t)ph->p_offset, ph->p_filesz, ELF_T_BYTE);
	if (!d || !d->d_buf)
		return 0;
	len = strnlen(d->d_buf, d->d_size);
	ef->interp = strndup(d->d_buf, len);
	return ef->interp ? 0 : -ENOMEM;
}

static int parse_build_id(struct elf_file *ef, Elf_Data *d)
{
	GElf_Nhdr nh;
	size_t off = 0, next, name_off, desc_off;

	while (off < d->d_size &&
	       (next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		if (next <= off)
			break;
		off = next;
		if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
		    !nh.n_descsz || nh.n_descsz > MAX_BUILD_ID)
			continue;
		if (name_off > d->d_size || d->d_size - name_off < 4 ||
		    desc_off > d->d_size || d->d_size - desc_off < nh.n_descsz)
			continue;
		if (memcmp((const char *)d->d_buf + name_off, "GNU", 4))
			continue;
		ef->build_id = malloc(nh.n_descsz);
		if (!ef->build_id)
			return -ENOMEM;
		memcpy(ef->build_id, (const char *)d->d_buf + desc_off, nh.n_descsz);
		ef->build_id_len = nh.n_descsz;
		return 1;
	}
	return 0;
}

static int load_build_id(struct elf_file *ef)
{
	Elf_Scn *scn = NULL;
	size_t i;
	int err;

	for (i = 0; i < ef->phnum; i++) {
		const GElf_Phdr *ph = &ef->phdrs[i];
		Elf_Data *d;

		if (ph->p_type != PT_NOTE || !ph->p_filesz)
			continue;
		d = elf_getdata_rawchunk(ef->elf, (int64_t)ph->p_offset, ph->p_filesz,
					 ph->p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
		if (!d || !d->d_buf)
			continue;
		err = parse_build_id(ef, d);
		if (err)
			return err < 0 ? err : 0;
	}
	/* No PT_NOTE (e.g. ET_REL): try SHT_NOTE sections. */
	while ((scn = elf_nextscn(ef->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			continue;
		err = parse_build_id(ef, d);
		if (err)
			return err < 0 ? err : 0;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Dynamic section                                                        */

struct dynstr {
	const char *buf;	/* raw DT_STRTAB chunk, or NULL */
	size_t size;
	Elf *elf;		/* fallback: .dynamic's sh_link string section */
	size_t shndx;
};

static const char *dynstr_get(const struct dynstr *ds, uint64_t off)
{
	if (ds->buf) {
		if (off >= ds->size || !memchr(ds->buf + off, 0, ds->size - off))
			return NULL;
		return ds->buf + off;
	}
	if (ds->shndx && off <= SIZE_MAX)
		return elf_strptr(ds->elf, ds->shndx, (size_t)off);
	return NULL;
}

static int dyn_strdup(const struct dynstr *ds, uint64_t off, char **dst)
{
	const char *s = dynstr_get(ds, off);

	if (!s || *dst)
		return 0;
	*dst = strdup(s);
	return *dst ? 0 : -ENOMEM;
}

static int load_dynamic(struct elf_file *ef)
{
	const GElf_Phdr *dph = NULL;
	struct dynstr ds = { .elf = ef->elf };
	uint64_t strtab = 0, strsz = 0, soname = 0, rpath = 0, runpath = 0, off;
	bool has_strtab = false, has_strsz = false, has_soname = false;
	bool has_rpath = false, has_runpath = false;
	uint64_t *needed = NULL;
	int n_needed = 0, i, err = 0;
	Elf_Data *d = NULL;
	Elf_Scn *scn = NULL;
	size_t j, cnt, dynsz;

	for (j = 0; j < ef->phnum; j++) {
		if (ef->phdrs[j].p_type == PT_DYNAMIC) {
			dph = &ef->phdrs[j];
			break;
		}
	}
	if (dph) {
		ef->has_dynamic = true;
		if (dph->p_filesz)
			d = elf_getdata_rawchunk(ef->elf, (int64_t)dph->p_offset,
						 dph->p_filesz, ELF_T_DYN);
	}
	/* Find the .dynamic section too, as a fallback for data and strings. */
	while ((scn = elf_nextscn(ef->elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC)
			continue;
		ds.shndx = sh.sh_link;
		if (!d)
			d = elf_getdata(scn, NULL);
		break;
	}
	if (!d || !d->d_buf)
		return 0;

	dynsz = gelf_fsize(ef->elf, ELF_T_DYN, 1, EV_CURRENT);
	if (!dynsz)
		return 0;
	cnt = d->d_size / dynsz;
	needed = calloc(cnt < MAX_NEEDED ? cnt + 1 : MAX_NEEDED, sizeof(*needed));
	if (!needed)
		return -ENOMEM;

	for (j = 0; j < cnt; j++) {
		GElf_Dyn dyn;

		if (!gelf_getdyn(d, (int)j, &dyn) || dyn.d_tag == DT_NULL)
			break;
		switch (dyn.d_tag) {
		case DT_NEEDED:
			if (n_needed < MAX_NEEDED)
				needed[n_needed++] = dyn.d_un.d_val;
			break;
		case DT_STRTAB:
			strtab = dyn.d_un.d_ptr;
			has_strtab = true;
			break;
		case DT_STRSZ:
			strsz = dyn.d_un.d_val;
			has_strsz = true;
			break;
		case DT_SONAME:
			soname = dyn.d_un.d_val;
			has_soname = true;
			break;
		case DT_RPATH:
			rpath = dyn.d_un.d_val;
			has_rpath = true;
			break;
		case DT_RUNPATH:
			runpath = dyn.d_un.d_val;
			has_runpath = true;
			break;
		default:
			break;
		}
	}

	if (has_strtab && has_strsz && strsz &&
	    !elf_file__vaddr_to_off(ef, strtab, &off)) {
		Elf_Data *sd = elf_getdata_rawchunk(ef->elf, (int64_t)off, strsz, ELF_T_BYTE);

		if (sd && sd->d_buf) {
			ds.buf = sd->d_buf;
			ds.size = sd->d_size;
		}
	}

	if (has_soname && (err = dyn_strdup(&ds, soname, &ef->soname)))
		goto out;
	if (has_runpath && (err = dyn_strdup(&ds, runpath, &ef->runpath)))
		goto out;
	if (!ef->runpath && has_rpath && (err = dyn_strdup(&ds, rpath, &ef->runpath)))
		goto out;
	if (n_needed) {
		ef->needed = calloc(n_needed + 1, sizeof(*ef->needed));
		if (!ef->needed) {
			err = -ENOMEM;
			goto out;
		}
		for (i = 0; i < n_needed; i++) {
			const char *s = dynstr_get(&ds, needed[i]);

			if (!s)
				continue;
			ef->needed[ef->needed_cnt] = strdup(s);
			if (!ef->needed[ef->needed_cnt]) {
				err = -ENOMEM;
				goto out;
			}
			ef->needed_cnt++;
		}
	}
out:
	free(needed);
	return err;
}

/* ---------------------------------------------------------------------- */
/* ---------------------------------------------------------------------- */
/* Open / free                                                            */

void elf_file__free(struct elf_file *ef)
{
	size_t i;

	if (!ef)
		return;
	if (ef->elf)
		elf_end(ef->elf);
	if (ef->fd >= 0)
		close(ef->fd);
	for (i = 0; i < ef->owned_cnt; i++)
		free(ef->owned[i]);
	free(ef->owned);
	for (i = 0; i < (size_t)ef->needed_cnt; i++)
		free(ef->needed[i]);
	free(ef->needed);
	free(ef->dyn.syms);
	free(ef->tab.syms);
	free(ef->plt);
	free(ef->phdrs);
	free(ef->interp);
	free(ef->soname);
	free(ef->runpath);
	free(ef->build_id);
	free(ef->name);
	free(ef);
}

struct elf_file *elf_file__open_fd(int fd, const char *display_name)
{
	struct elf_file *ef;
	struct stat st;
	GElf_Ehdr eh;
	size_t i;
	int err;

	if (fd < 0) {
		errno = EBADF;
		return NULL;
	}
	ef = calloc(1, sizeof(*ef));
	if (!ef) {
		errno = ENOMEM;
		return NULL;
	}
	ef->fd = -1;
	ef->name = strdup(display_name ? display_name : "?");
	if (!ef->name) {
		err = -ENOMEM;
		goto err_out;
	}
	ef->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (ef->fd < 0) {
		err = -errno;
		goto err_out;
	}
	if (fstat(ef->fd, &st)) {
		err = -errno;
		goto err_out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto err_out;
	}
	if (elf_version(EV_CURRENT) == EV_NONE) {
		err = -ENOSYS;
		goto err_out;
	}
	ef->elf = elf_begin(ef->fd, ELF_C_READ, NULL);
	if (!ef->elf || elf_kind(ef->elf) != ELF_K_ELF || !gelf_getehdr(ef->elf, &eh)) {
		err = -ENOEXEC;
		goto err_out;
	}
	ef->e_type = eh.e_type;
	ef->e_machine = eh.e_machine;
	ef->e_entry = eh.e_entry;

	err = load_phdrs(ef);
	if (err)
		goto err_out;
	for (i = 0; i < ef->phnum; i++) {
		if (ef->phdrs[i].p_type != PT_INTERP)
			continue;
		err = load_interp(ef, &ef->phdrs[i]);
		if (err)
			goto err_out;
	}
	err = load_build_id(ef);
	if (err)
		goto err_out;
	err = load_dynamic(ef);
	if (err)
		goto err_out;
	err = elf__load_syms(ef);
	if (err)
		goto err_out;
	err = elf__load_plt(ef);
	if (err)
		goto err_out;
	return ef;

err_out:
	elf_file__free(ef);
	errno = -err;
	return NULL;
}

struct elf_file *elf_file__open(const char *path)
{
	struct elf_file *ef;
	int fd, err;

	if (!path) {
		errno = EINVAL;
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	ef = elf_file__open_fd(fd, path);
	err = errno;
	close(fd);
	errno = err;
	return ef;
}

/* ---------------------------------------------------------------------- */
/* Accessors                                                              */

const char *elf_file__name(const struct elf_file *ef)
{
	return ef ? ef->name : NULL;
}

bool elf_file__is_exec(const struct elf_file *ef)
{
	return ef && ef->e_type == ET_EXEC;
}

bool elf_file__is_static(const struct elf_file *ef)
{
	return ef && !ef->has_interp && !ef->has_dynamic;
}

const char *elf_file__interp(const struct elf_file *ef)
{
	return ef ? ef->interp : NULL;
}

const char *elf_file__soname(const struct elf_file *ef)
{
	return ef ? ef->soname : NULL;
}

int elf_file__needed(const struct elf_file *ef, const char *const **names)
{
	if (!ef)
		return -EINVAL;
	if (names)
		*names = (const char *const *)ef->needed;
	return ef->needed_cnt;
}

const char *elf_file__runpath(const struct elf_file *ef)
{
	return ef ? ef->runpath : NULL;
}

size_t elf_file__build_id(const struct elf_file *ef, const uint8_t **id)
{
	if (!ef)
		return 0;
	if (id)
		*id = ef->build_id;
	return ef->build_id_len;
}

uint64_t elf_file__entry(const struct elf_file *ef)
{
	return ef->e_entry;
}

int elf_file__fd(const struct elf_file *ef)
{
	return ef->fd;
}
