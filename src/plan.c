// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Allocator discovery per symbol, and probe placement. */
#include <errno.h>
#include <dirent.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "elfsym.h"
#include "opts.h"
#include "plan.h"
#include "procmaps.h"
#include "util.h"
#include "log.h"

struct tracked {
	const char *name;
	enum lt_func func;
	unsigned flags;
};

static const struct tracked mem_syms[] = {
	{ "malloc", LT_FN_MALLOC, LT_PF_RET | LT_PF_REQUIRED },
	{ "calloc", LT_FN_CALLOC, LT_PF_RET },
	{ "realloc", LT_FN_REALLOC, LT_PF_RET },
	{ "reallocarray", LT_FN_REALLOCARRAY, LT_PF_RET | LT_PF_SKIP_GLIBC },
	{ "posix_memalign", LT_FN_POSIX_MEMALIGN, LT_PF_RET },
	{ "aligned_alloc", LT_FN_ALIGNED_ALLOC, LT_PF_RET },
	{ "memalign", LT_FN_ALIGNED_ALLOC, LT_PF_RET },
	{ "valloc", LT_FN_VALLOC, LT_PF_RET },
	{ "pvalloc", LT_FN_PVALLOC, LT_PF_RET },
	{ "free", LT_FN_FREE, LT_PF_REQUIRED },
	/* operator new, new[], nothrow and aligned variants: size in rdi */
	{ "_Znwm", LT_FN_NEW, LT_PF_NEW },
	{ "_Znam", LT_FN_NEW, LT_PF_NEW },
	{ "_ZnwmRKSt9nothrow_t", LT_FN_NEW, LT_PF_NEW },
	{ "_ZnamRKSt9nothrow_t", LT_FN_NEW, LT_PF_NEW },
	{ "_ZnwmSt11align_val_t", LT_FN_NEW, LT_PF_NEW },
	{ "_ZnamSt11align_val_t", LT_FN_NEW, LT_PF_NEW },
	{ "_ZnwmSt11align_val_tRKSt9nothrow_t", LT_FN_NEW, LT_PF_NEW },
	{ "_ZnamSt11align_val_tRKSt9nothrow_t", LT_FN_NEW, LT_PF_NEW },
	/* operator delete, delete[], sized, nothrow and aligned variants: ptr in rdi */
	{ "_ZdlPv", LT_FN_DELETE, 0 },
	{ "_ZdaPv", LT_FN_DELETE, 0 },
	{ "_ZdlPvm", LT_FN_DELETE, 0 },
	{ "_ZdaPvm", LT_FN_DELETE, 0 },
	{ "_ZdlPvRKSt9nothrow_t", LT_FN_DELETE, 0 },
	{ "_ZdaPvRKSt9nothrow_t", LT_FN_DELETE, 0 },
	{ "_ZdlPvSt11align_val_t", LT_FN_DELETE, 0 },
	{ "_ZdaPvSt11align_val_t", LT_FN_DELETE, 0 },
	{ "_ZdlPvmSt11align_val_t", LT_FN_DELETE, 0 },
	{ "_ZdaPvmSt11align_val_t", LT_FN_DELETE, 0 },
	{ "_ZdlPvSt11align_val_tRKSt9nothrow_t", LT_FN_DELETE, 0 },
	{ "_ZdaPvSt11align_val_tRKSt9nothrow_t", LT_FN_DELETE, 0 },
};

static const struct tracked thread_syms[] = {
	{ "pthread_create", LT_FN_PTHREAD_CREATE, LT_PF_RET },
	{ "pthread_join", LT_FN_PTHREAD_JOIN, LT_PF_RET },
	{ "pthread_tryjoin_np", LT_FN_PTHREAD_JOIN, LT_PF_RET },
	{ "pthread_timedjoin_np", LT_FN_PTHREAD_JOIN, LT_PF_RET },
	{ "pthread_clockjoin_np", LT_FN_PTHREAD_JOIN, LT_PF_RET },
	{ "pthread_detach", LT_FN_PTHREAD_DETACH, 0 },
	{ "pthread_attr_init", LT_FN_ATTR_INIT, 0 },
	{ "pthread_attr_setdetachstate", LT_FN_ATTR_SETDETACHSTATE, 0 },
	{ "pthread_attr_setstacksize", LT_FN_ATTR_SETSTACKSIZE, 0 },
};

static const struct tracked timer_syms[] = {
	{ "timerfd_create", LT_FN_TIMERFD_CREATE, 0 },
	{ "timer_create", LT_FN_TIMER_CREATE, LT_PF_ALL_VERSIONS },
};

/*
 * The libc wrappers of the syscalls that make fds, and mmap. With -a (no
 * unwind tables) a uprobe on the wrapper takes the creation stack: a
 * syscall-tracepoint stack walked with frame pointers loses the wrapper's
 * caller; the fd itself comes from the sys_exit. Elsewhere the tracepoint
 * walks the whole stack with the tables, which costs less than these
 * probes (most wrappers start with an instruction the kernel single-steps;
 * README, "Performance"): they are not planned (plan__set_stack_probes).
 * fcntl, dup2 and dup3 are never probed: fcntl is called mostly for other
 * commands, and their fds get the tracepoint's stack. timerfd_create is the
 * timer tracker's.
 */
static const struct tracked fd_syms[] = {
	{ "open", LT_FN_FD_OPEN, LT_PF_STACK_ONLY },		/* open64 too: one address */
	{ "openat", LT_FN_FD_OPEN, LT_PF_STACK_ONLY },		/* openat64 */
	{ "creat", LT_FN_FD_OPEN, LT_PF_STACK_ONLY },		/* creat64 */
	{ "socket", LT_FN_FD_SOCKET, LT_PF_STACK_ONLY },
	{ "socketpair", LT_FN_FD_SOCKETPAIR, LT_PF_STACK_ONLY },
	{ "accept", LT_FN_FD_ACCEPT, LT_PF_STACK_ONLY },
	{ "accept4", LT_FN_FD_ACCEPT, LT_PF_STACK_ONLY },
	{ "pipe", LT_FN_FD_PIPE, LT_PF_STACK_ONLY },
	{ "pipe2", LT_FN_FD_PIPE, LT_PF_STACK_ONLY },
	{ "eventfd", LT_FN_FD_EVENTFD, LT_PF_STACK_ONLY },
	{ "epoll_create", LT_FN_FD_EPOLL, LT_PF_STACK_ONLY },
	{ "epoll_create1", LT_FN_FD_EPOLL, LT_PF_STACK_ONLY },
	{ "signalfd", LT_FN_FD_SIGNALFD, LT_PF_STACK_ONLY },
	{ "inotify_init", LT_FN_FD_INOTIFY, LT_PF_STACK_ONLY },
	{ "inotify_init1", LT_FN_FD_INOTIFY, LT_PF_STACK_ONLY },
	{ "memfd_create", LT_FN_FD_MEMFD, LT_PF_STACK_ONLY },
	{ "dup", LT_FN_FD_DUP, LT_PF_STACK_ONLY },
};

static const struct tracked mmap_syms[] = {
	{ "mmap", LT_FN_MMAP, LT_PF_STACK_ONLY },		/* mmap64 too */
};

static bool stack_probes = true;

void plan__set_stack_probes(bool on)
{
	stack_probes = on;
}

bool plan__stack_probes(void)
{
	return stack_probes;
}

static const struct {
	const struct tracked *syms;
	size_t n;
	enum lt_tracker tracker;
	unsigned track_bit;
} trackers[] = {
	{ mem_syms, sizeof(mem_syms) / sizeof(mem_syms[0]), LT_TRACKER_MEM, LT_TRACK_MEM },
	{ thread_syms, sizeof(thread_syms) / sizeof(thread_syms[0]), LT_TRACKER_THREADS, LT_TRACK_THREADS },
	{ timer_syms, sizeof(timer_syms) / sizeof(timer_syms[0]), LT_TRACKER_TIMERS, LT_TRACK_TIMERS },
	{ fd_syms, sizeof(fd_syms) / sizeof(fd_syms[0]), LT_TRACKER_FDS, LT_TRACK_FDS },
	{ mmap_syms, sizeof(mmap_syms) / sizeof(mmap_syms[0]), LT_TRACKER_MMAP, LT_TRACK_MMAP },
};

static int add_module(struct lt_plan *p, const char *path, const char *open_path,
		      uint64_t dev, uint64_t inode, bool is_exe)
{
	struct lt_module *m, *nm;
	struct elf_file *ef;

	for (int i = 0; i < p->nmods; i++) {
		m = &p->mods[i];
		if ((inode && m->inode == inode && m->dev == dev) || strcmp(m->path, path) == 0)
			return i;
	}
	ef = elf_file__open(open_path);
	if (!ef) {
		lt_info(2, "cannot read %s (%s): %s\n", path, open_path, strerror(errno));
		return -errno;
	}
	nm = realloc(p->mods, (p->nmods + 1) * sizeof(*nm));
	if (!nm) {
		elf_file__free(ef);
		return -ENOMEM;
	}
	p->mods = nm;
	m = &p->mods[p->nmods];
	memset(m, 0, sizeof(*m));
	m->path = strdup(path);
	m->open_path = strdup(open_path);
	m->ef = ef;
	m->dev = dev;
	m->inode = inode;
	m->is_exe = is_exe;
	if (!m->path || !m->open_path) {
		free(m->path);
		free(m->open_path);
		elf_file__free(ef);
		return -ENOMEM;
	}
	return p->nmods++;
}

/* Does module M define NAME as a function other objects can bind to? */
static bool module_defines(const struct lt_module *m, const char *name)
{
	if (m->is_exe && elf_file__is_static(m->ef))
		return elf_file__defines(m->ef, name);
	return elf_file__exports(m->ef, name);
}

bool plan__is_glibc(const struct lt_module *m)
{
	return (module_defines(m, "__libc_malloc") && module_defines(m, "__libc_start_main")) ||
	       (elf_file__is_static(m->ef) && elf_file__defines(m->ef, "__libc_malloc") &&
		elf_file__defines(m->ef, "__libc_start_main"));
}

bool plan__is_libstdcxx(const struct lt_module *m)
{
	const char *so = elf_file__soname(m->ef);

	if (so && strncmp(so, "libstdc++", 9) == 0)
		return true;
	return elf_file__defines(m->ef, "__cxa_begin_catch");
}

static int add_probe_at(struct lt_plan *p, const struct tracked *t, enum lt_tracker tracker, int mod,
			const struct elf_sym *symp);

static int add_probe(struct lt_plan *p, const struct tracked *t, enum lt_tracker tracker, int mod)
{
	struct elf_sym syms[4];
	int n, err = 0;

	if ((t->flags & LT_PF_STACK_ONLY) && !stack_probes)
		return 0;
	n = elf_file__find_func(p->mods[mod].ef, t->name, syms, 4);
	if (n <= 0)
		return n < 0 ? n : -ENOENT;
	if (!(t->flags & LT_PF_ALL_VERSIONS))
		n = 1;
	for (int i = 0; i < n && !err; i++)
		err = add_probe_at(p, t, tracker, mod, &syms[i]);
	return err;
}

static int add_probe_at(struct lt_plan *p, const struct tracked *t, enum lt_tracker tracker, int mod,
			const struct elf_sym *symp)
{
	struct lt_module *m = &p->mods[mod];
	struct elf_sym sym = *symp;
	struct lt_probe *pr, *np;
	uint8_t code[256];
	uint64_t target;
	int len;

	/* Same address under another name (aligned_alloc == memalign): probe once. */
	for (int i = 0; i < p->nprobes; i++) {
		if (p->probes[i].mod == mod && p->probes[i].vaddr == sym.vaddr &&
		    p->probes[i].tracker == tracker) {
			lt_info(1, "probe %s: same address as %s in %s, probed once\n",
				  t->name, p->probes[i].sym, m->path);
			return 0;
		}
	}

	len = elf_file__read(m->ef, sym.vaddr, code, sym.size && sym.size < sizeof(code) ? sym.size : sizeof(code));
	if (len <= 0) {
		lt_info(1, "probe %s: cannot read its code in %s\n", t->name, m->path);
		return len < 0 ? len : -EIO;
	}
	if ((t->func == LT_FN_NEW || t->func == LT_FN_DELETE) &&
	    probe_is_tail_jump(code, len, sym.vaddr, &target)) {
		lt_info(1, "probe %s in %s: skipped, it only jumps to 0x%lx, whose probe catches it\n",
			  t->name, m->path, (unsigned long)target);
		return 0;
	}
	if ((t->flags & LT_PF_SKIP_GLIBC) && plan__is_glibc(m)) {
		lt_info(1, "probe %s in %s: skipped, glibc's %s calls realloc, whose probe catches it\n",
			  t->name, m->path, t->name);
		return 0;
	}

	np = realloc(p->probes, (p->nprobes + 1) * sizeof(*np));
	if (!np)
		return -ENOMEM;
	p->probes = np;
	pr = &p->probes[p->nprobes];
	memset(pr, 0, sizeof(*pr));
	pr->sym = t->name;
	pr->func = t->func;
	pr->tracker = tracker;
	pr->mod = mod;
	pr->vaddr = sym.vaddr;
	pr->file_off = sym.file_off;
	pr->ret = t->flags & LT_PF_RET;
	if (t->flags & LT_PF_NEW)
		pr->ret = !plan__is_libstdcxx(m);	/* its operator new calls malloc: an entry probe suffices */
	probe_choose(code, len, &pr->choice);
	if (pr->ret) {
		/*
		 * A return probe shares the entry's breakpoint and needs [rsp] to
		 * be the return address: every candidate satisfies that.
		 */
	}
	p->nprobes++;
	return 0;
}

/*
 * -c: a probe on the executable's entry point tells when the libraries'
 * constructors are done; blocks from before it with no program frame are
 * shown as [init] sites.
 */
static int add_start_probe(struct lt_plan *p, int mod)
{
	struct lt_module *m = &p->mods[mod];
	uint64_t entry = elf_file__entry(m->ef), off;
	struct lt_probe *pr, *np;

	if (!entry || elf_file__vaddr_to_off(m->ef, entry, &off))
		return 0;
	np = realloc(p->probes, (p->nprobes + 1) * sizeof(*np));
	if (!np)
		return -ENOMEM;
	p->probes = np;
	pr = &p->probes[p->nprobes++];
	memset(pr, 0, sizeof(*pr));
	pr->sym = "[entry]";
	pr->func = LT_FN_START;
	pr->mod = mod;
	pr->vaddr = entry;
	pr->file_off = off;
	pr->choice.n = 1;
	snprintf(pr->choice.why[0], sizeof(pr->choice.why[0]), "the executable's entry point, once");
	return 0;
}

/* -a: a probe on every tracked function module M defines. */
static void add_all_definitions(struct lt_plan *p, int m, unsigned track)
{
	for (size_t k = 0; k < sizeof(trackers) / sizeof(trackers[0]); k++) {
		if (!(track & trackers[k].track_bit))
			continue;
		for (size_t i = 0; i < trackers[k].n; i++)
			if (module_defines(&p->mods[m], trackers[k].syms[i].name))
				add_probe(p, &trackers[k].syms[i], trackers[k].tracker, m);
	}
}

/* Resolve each tracked symbol to its first definer in lookup order. */
static int plan_symbols(struct lt_plan *p, int allocator_mod, unsigned track)
{
	size_t mlen = 0;
	bool have_malloc = false;

	p->missing[0] = 0;
	for (size_t k = 0; k < sizeof(trackers) / sizeof(trackers[0]); k++) {
		if (!(track & trackers[k].track_bit))
			continue;
		for (size_t i = 0; i < trackers[k].n; i++) {
			const struct tracked *t = &trackers[k].syms[i];
			int found = -1, err;

			if (trackers[k].tracker == LT_TRACKER_MEM && allocator_mod >= 0 &&
			    module_defines(&p->mods[allocator_mod], t->name))
				found = allocator_mod;
			for (int m = 0; found < 0 && m < p->nmods; m++)
				if (module_defines(&p->mods[m], t->name))
					found = m;
			if (found < 0) {
				if (t->func != LT_FN_NEW && t->func != LT_FN_DELETE &&
				    mlen + strlen(t->name) + 3 < sizeof(p->missing))
					mlen += snprintf(p->missing + mlen, sizeof(p->missing) - mlen, "%s%s",
							 mlen ? ", " : "", t->name);
				continue;
			}
			err = add_probe(p, t, trackers[k].tracker, found);
			if (err && err != -ENOENT)
				return err;
		}
	}
	for (int i = 0; i < p->nprobes; i++)
		have_malloc |= p->probes[i].func == LT_FN_MALLOC;
	if ((track & LT_TRACK_MEM) && !have_malloc) {
		p->no_malloc = true;
		return -ENOENT;
	}
	return 0;
}

/* Order modules as ld.so looks symbols up: exe, LD_PRELOAD, DT_NEEDED breadth-first, then the rest. */
static int match_module(struct lt_plan *p, const char *name, const int *used)
{
	for (int i = 0; i < p->nmods; i++) {
		const char *so;

		if (used[i])
			continue;
		so = elf_file__soname(p->mods[i].ef);
		if (strchr(name, '/') ? strcmp(p->mods[i].path, name) == 0 :
		    (so && strcmp(so, name) == 0) || strcmp(util__basename(p->mods[i].path), name) == 0)
			return i;
	}
	return -1;
}

static int reorder(struct lt_plan *p, const char *preload)
{
	int *order, *used, n = 0;
	struct lt_module *nm;
	char *copy, *tok, *save;

	order = calloc(p->nmods + 1, sizeof(int));
	used = calloc(p->nmods + 1, sizeof(int));
	if (!order || !used) {
		free(order);
		free(used);
		return -ENOMEM;
	}
	for (int i = 0; i < p->nmods; i++)
		if (p->mods[i].is_exe && !used[i]) {
			order[n++] = i;
			used[i] = 1;
		}
	if (preload && (copy = strdup(preload))) {
		for (tok = strtok_r(copy, " :", &save); tok; tok = strtok_r(NULL, " :", &save)) {
			int m = match_module(p, tok, used);

			if (m < 0)
				m = match_module(p, util__basename(tok), used);
			if (m >= 0) {
				order[n++] = m;
				used[m] = 1;
			}
		}
		free(copy);
	}
	/* breadth-first over DT_NEEDED, starting from what is ordered so far */
	for (int q = 0; q < n; q++) {
		const char *const *needed;
		int nn = elf_file__needed(p->mods[order[q]].ef, &needed);

		for (int k = 0; k < nn; k++) {
			int m = match_module(p, needed[k], used);

			if (m >= 0) {
				order[n++] = m;
				used[m] = 1;
			}
		}
	}
	for (int i = 0; i < p->nmods; i++)
		if (!used[i])
			order[n++] = i;

	nm = malloc(p->nmods * sizeof(*nm));
	if (nm) {
		for (int i = 0; i < p->nmods; i++)
			nm[i] = p->mods[order[i]];
		free(p->mods);
		p->mods = nm;
	}
	free(order);
	free(used);
	return nm ? 0 : -ENOMEM;
}

static char *environ_var(int pid, const char *name)
{
	char path[64], *env, *v = NULL;
	size_t len, nlen = strlen(name);

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	env = util__read_file(path, &len);
	if (!env)
		return NULL;
	for (size_t off = 0; off < len; off += strlen(env + off) + 1) {
		if (strncmp(env + off, name, nlen) == 0 && env[off + nlen] == '=') {
			v = strdup(env + off + nlen + 1);
			break;
		}
	}
	free(env);
	return v;
}

static int allocator_module(struct lt_plan *p, const char *allocator, const char *root)
{
	char buf[PATH_MAX];
	struct stat st;

	if (!allocator)
		return -1;
	for (int i = 0; i < p->nmods; i++)
		if (strcmp(p->mods[i].path, allocator) == 0)
			return i;
	snprintf(buf, sizeof(buf), "%s%s", root, allocator);
	if (stat(buf, &st))
		return -errno;
	return add_module(p, allocator, buf, st.st_dev, st.st_ino, false);
}

int plan__live(int pid, const char *allocator, unsigned track, struct lt_plan *p)
{
	char path[PATH_MAX], exe[PATH_MAX], root[64], *preload;
	struct proc_maps *maps;
	ssize_t n;
	int err, amod;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	maps = procmaps__read(pid);
	if (!maps)
		return -errno;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n < 0) {
		err = -errno;
		goto out;
	}
	exe[n] = 0;
	if (n > 10 && strcmp(exe + n - 10, " (deleted)") == 0)
		exe[n - 10] = 0;

	for (int i = 0; i < maps->n; i++) {
		const struct map_entry *e = &maps->e[i];
		char open_path[PATH_MAX];

		if (!procmaps__is_file(e) || !e->inode)
			continue;
		snprintf(open_path, sizeof(open_path), "/proc/%d/map_files/%lx-%lx", pid,
			 (unsigned long)e->start, (unsigned long)e->end);
		if (access(open_path, R_OK))
			snprintf(open_path, sizeof(open_path), "/proc/%d/root%s", pid, e->path);
		err = add_module(p, e->path, open_path, makedev(e->dev_major, e->dev_minor),
				 e->inode, strcmp(e->path, exe) == 0);
		if (err == -ENOMEM)
			goto out;
	}
	if (p->nmods == 0) {
		err = -ENOEXEC;
		goto out;
	}
	preload = environ_var(pid, "LD_PRELOAD");
	err = reorder(p, preload);
	free(preload);
	if (err)
		goto out;
	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	amod = allocator_module(p, allocator, root);
	if (allocator && amod < 0) {
		err = amod;
		goto out;
	}
	err = plan_symbols(p, amod, track);
	plan__resolve_addrs(p, maps);
out:
	procmaps__free(maps);
	return err;
}

/* ---- prediction before exec ---- */

static int add_search_dirs(char ***dirs, int *n, const char *list)
{
	char *copy, *tok, *save;

	if (!list || !(copy = strdup(list)))
		return 0;
	for (tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
		char **nd = realloc(*dirs, (*n + 1) * sizeof(char *));

		if (!nd)
			break;
		*dirs = nd;
		(*dirs)[(*n)++] = strdup(tok);
	}
	free(copy);
	return 0;
}

static void ldso_conf(char ***dirs, int *n, const char *file, int depth)
{
	char *text = util__read_file(file, NULL), *line, *save;

	if (!text || depth > 4) {
		free(text);
		return;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line += strspn(line, " \t");
		line[strcspn(line, "#")] = 0;
		if (!*line)
			continue;
		if (strncmp(line, "include", 7) == 0) {
			glob_t g;
			char *pat = line + 7 + strspn(line + 7, " \t");

			if (glob(pat, 0, NULL, &g) == 0) {
				for (size_t i = 0; i < g.gl_pathc; i++)
					ldso_conf(dirs, n, g.gl_pathv[i], depth + 1);
				globfree(&g);
			}
			continue;
		}
		line[strcspn(line, " \t")] = 0;
		add_search_dirs(dirs, n, line);
	}
	free(text);
}

static int find_lib(const char *name, char **dirs, int ndirs, char *out, size_t len)
{
	if (strchr(name, '/')) {
		snprintf(out, len, "%s", name);
		return access(out, R_OK) ? -ENOENT : 0;
	}
	for (int i = 0; i < ndirs; i++) {
		snprintf(out, len, "%s/%s", dirs[i], name);
		if (access(out, R_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

static int add_file(struct lt_plan *p, const char *path, bool is_exe)
{
	struct stat st;
	char real[PATH_MAX];

	if (!realpath(path, real) || stat(real, &st))
		return -errno;
	return add_module(p, real, real, st.st_dev, st.st_ino, is_exe);
}

int plan__predict(const char *exe, int env_pid, const char *allocator, unsigned track, struct lt_plan *p)
{
	static const char *const defaults = "/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:/lib:/usr/lib";
	char **dirs = NULL, lib[PATH_MAX];
	char *env_preload = env_pid > 0 ? environ_var(env_pid, "LD_PRELOAD") : NULL;
	char *env_libpath = env_pid > 0 ? environ_var(env_pid, "LD_LIBRARY_PATH") : NULL;
	const char *preload = env_pid > 0 ? env_preload : getenv("LD_PRELOAD");
	const char *libpath = env_pid > 0 ? env_libpath : getenv("LD_LIBRARY_PATH");
	int ndirs = 0, err, amod;

	memset(p, 0, sizeof(*p));
	err = add_file(p, exe, true);
	if (err < 0) {
		free(env_preload);
		free(env_libpath);
		return err;
	}
	add_search_dirs(&dirs, &ndirs, libpath);
	add_search_dirs(&dirs, &ndirs, elf_file__runpath(p->mods[0].ef));
	ldso_conf(&dirs, &ndirs, "/etc/ld.so.conf", 0);
	add_search_dirs(&dirs, &ndirs, defaults);

	if (preload) {
		char *copy = strdup(preload), *tok, *save;

		for (tok = copy ? strtok_r(copy, " :", &save) : NULL; tok; tok = strtok_r(NULL, " :", &save))
			if (find_lib(tok, dirs, ndirs, lib, sizeof(lib)) == 0)
				add_file(p, lib, false);
		free(copy);
	}
	free(env_preload);
	free(env_libpath);
	if (elf_file__interp(p->mods[0].ef)) {
		/* breadth-first over DT_NEEDED; add_module dedupes */
		for (int q = 0; q < p->nmods; q++) {
			const char *const *needed;
			int nn = elf_file__needed(p->mods[q].ef, &needed);

			for (int k = 0; k < nn; k++)
				if (find_lib(needed[k], dirs, ndirs, lib, sizeof(lib)) == 0)
					add_file(p, lib, false);
		}
	}
	for (int i = 0; i < ndirs; i++)
		free(dirs[i]);
	free(dirs);

	amod = allocator_module(p, allocator, "");
	if (allocator && amod < 0)
		return amod;
	err = plan_symbols(p, amod, track);
	if ((!err || err == -ENOENT) && (track & LT_TRACK_MEM) && elf_file__interp(p->mods[0].ef)) {
		int e2 = add_start_probe(p, 0);

		if (e2)
			return e2;
	}
	return err;
}

void plan__resolve_addrs(struct lt_plan *p, const struct proc_maps *maps)
{
	if (!maps)
		return;
	for (int i = 0; i < p->nprobes; i++) {
		struct lt_probe *pr = &p->probes[i];
		const struct lt_module *m = &p->mods[pr->mod];
		uint64_t off = pr->file_off + pr->choice.off[pr->cur];

		pr->addr = 0;
		for (int j = 0; j < maps->n; j++) {
			const struct map_entry *e = &maps->e[j];

			if (e->inode != m->inode || (strcmp(e->path, m->path) && m->inode == 0))
				continue;
			if (off >= e->offset && off < e->offset + (e->end - e->start)) {
				pr->addr = e->start + (off - e->offset);
				break;
			}
		}
	}
}

struct lt_probe *plan__find_same(struct lt_plan *p, const struct lt_plan *other, const struct lt_probe *pr)
{
	const struct lt_module *om = &other->mods[pr->mod];

	for (int i = 0; i < p->nprobes; i++) {
		const struct lt_module *m = &p->mods[p->probes[i].mod];

		if (p->probes[i].file_off == pr->file_off && m->inode == om->inode)
			return &p->probes[i];
	}
	return NULL;
}

/*
 * -a: every file mapped executable by any process that defines a tracked
 * function gets a probe on each of them (not only first definers: each
 * process calls its own). Files already in P (same dev and inode) are
 * skipped, so calling this again picks up only what is new. Returns how
 * many files were added, or -errno.
 */
int plan__system(struct lt_plan *p, unsigned track, int self)
{
	DIR *proc = opendir("/proc");
	struct dirent *d;
	int added = 0;

	if (!proc)
		return -errno;
	while ((d = readdir(proc))) {
		int pid = atoi(d->d_name);
		struct proc_maps *maps;

		if (pid <= 0 || pid == self)
			continue;
		maps = procmaps__read(pid);
		if (!maps)
			continue;
		for (int i = 0; i < maps->n; i++) {
			const struct map_entry *e = &maps->e[i];
			uint64_t dev = makedev(e->dev_major, e->dev_minor);
			char open_path[PATH_MAX];
			bool known = false;
			int nprobes = p->nprobes, m;

			if (!e->x || !procmaps__is_file(e) || !e->inode)
				continue;
			for (int k = 0; k < p->nmods && !known; k++)
				known = p->mods[k].inode == e->inode && p->mods[k].dev == dev;
			for (int k = 0; k < p->nskipped && !known; k++)
				known = p->skipped[k].inode == e->inode && p->skipped[k].dev == dev;
			if (known)
				continue;
			snprintf(open_path, sizeof(open_path), "/proc/%d/map_files/%lx-%lx", pid,
				 (unsigned long)e->start, (unsigned long)e->end);
			m = add_module(p, e->path, open_path, dev, e->inode, false);
			if (m >= 0) {
				char self_fd[64];

				/* an executable without PT_INTERP defines its allocator in symtab */
				p->mods[m].is_exe = elf_file__is_static(p->mods[m].ef);
				/*
				 * attach through leaktrace's own fd: the process that showed
				 * us the file may be gone by the time its probes go in
				 */
				snprintf(self_fd, sizeof(self_fd), "/proc/self/fd/%d", elf_file__fd(p->mods[m].ef));
				free(p->mods[m].open_path);
				p->mods[m].open_path = strdup(self_fd);
				add_all_definitions(p, m, track);
			}
			if (m < 0 || p->nprobes == nprobes) {
				/* nothing to probe here: remember it, and let its file go */
				struct plan_file *ns = realloc(p->skipped, (p->nskipped + 1) * sizeof(*ns));

				if (ns) {
					p->skipped = ns;
					p->skipped[p->nskipped].dev = dev;
					p->skipped[p->nskipped].inode = e->inode;
					p->nskipped++;
				}
				if (m >= 0 && m == p->nmods - 1) {
					free(p->mods[m].path);
					free(p->mods[m].open_path);
					elf_file__free(p->mods[m].ef);
					p->nmods--;
				}
				continue;
			}
			added++;
		}
		procmaps__free(maps);
	}
	closedir(proc);
	return added;
}

void plan__release_files(struct lt_plan *p)
{
	for (int i = 0; i < p->nmods; i++) {
		elf_file__free(p->mods[i].ef);
		p->mods[i].ef = NULL;
	}
}

void plan__free(struct lt_plan *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->nmods; i++) {
		free(p->mods[i].path);
		free(p->mods[i].open_path);
		elf_file__free(p->mods[i].ef);
	}
	free(p->mods);
	free(p->probes);
	free(p->skipped);
	memset(p, 0, sizeof(*p));
}
