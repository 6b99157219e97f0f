// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * syms tests. The target process is tests/unit/symtarget.c, compiled here
 * at run time into a temporary directory (PIE, non-PIE, and stripped with
 * a .gnu_debuglink'ed debug file). Expected line numbers come from the
 * "MARK:<name>" comments in its source; expected offsets and module
 * offsets from the addresses and load bias the target prints.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <link.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <unistd.h>

#include "syms.h"
#include "test.h"

#define MAXF 16

static char tmpdir[64];
static char src_path[PATH_MAX];
static bool built, build_failed, have_strip, have_symlib;
static const char *symlib_linker;

/* ------------------------------------------------------------------ */
/* building the target */

static bool file_exists(const char *p)
{
	return access(p, R_OK) == 0;
}

/* $LT_SYMTARGET_SRC, else next to this file, else from the repository root. */
static bool find_source(void)
{
	char here[PATH_MAX], exe[PATH_MAX] = "";
	const char *env = getenv("LT_SYMTARGET_SRC");
	ssize_t n;

	if (env) {
		snprintf(src_path, sizeof(src_path), "%s", env);
		return file_exists(src_path);
	}
	snprintf(here, sizeof(here), "%s", __FILE__);
	snprintf(src_path, sizeof(src_path), "%s/symtarget.c", dirname(here));
	if (file_exists(src_path))
		return true;
	/* the binary is <repo>/.output/tests/test_syms */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		snprintf(src_path, sizeof(src_path), "%s/../../tests/unit/symtarget.c",
			 dirname(exe));
		if (file_exists(src_path))
			return true;
	}
	snprintf(src_path, sizeof(src_path), "tests/unit/symtarget.c");
	return file_exists(src_path);
}

static void cleanup_tmpdir(void)
{
	char cmd[PATH_MAX + 16];

	if (tmpdir[0] && strncmp(tmpdir, "/tmp/lt_syms_", 13) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd))
			fprintf(stderr, "cleanup of %s failed\n", tmpdir);
	}
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[4 * PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* Build once; false (and a skip reason) when there is no compiler. */
static bool build_targets(void)
{
	if (built)
		return true;
	if (build_failed) {
		test__skip("symtarget not built");
		return false;
	}
	build_failed = true;
	if (!find_source()) {
		test__skip("symtarget.c not found (set LT_SYMTARGET_SRC)");
		return false;
	}
	if (system("cc --version >/dev/null 2>&1")) {
		test__skip("no cc");
		return false;
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lt_syms_XXXXXX");
	if (!mkdtemp(tmpdir)) {
		tmpdir[0] = '\0';
		test__skip("mkdtemp failed");
		return false;
	}
	atexit(cleanup_tmpdir);
	if (run("cc -O2 -g -fno-omit-frame-pointer -o '%s/symtarget' '%s' -ldl",
		tmpdir, src_path) ||
	    run("cc -O2 -g -fno-omit-frame-pointer -fno-pie -no-pie -o '%s/symtarget_nopie' '%s' -ldl",
		tmpdir, src_path)) {
		ASSERT_TRUE(false, "compiling symtarget");
		return false;
	}
	/* separate debug info, found through .gnu_debuglink next to the binary */
	have_strip = !run("cd '%s' && cp symtarget symtarget_strip && "
			  "objcopy --only-keep-debug symtarget_strip symtarget_strip.debug && "
			  "objcopy --strip-all --add-gnu-debuglink=symtarget_strip.debug symtarget_strip "
			  ">/dev/null 2>&1", tmpdir);
	/* a library linked at 0x400000, as prelink(8) would leave it */
	if (!run("cc -shared -fPIC -O2 -g -fno-omit-frame-pointer -DSYMLIB -fuse-ld=lld "
		 "-Wl,--image-base=0x400000 -o '%s/libsymlib.so' '%s' >/dev/null 2>&1",
		 tmpdir, src_path))
		symlib_linker = "lld";
	else if (!run("cc -shared -fPIC -O2 -g -fno-omit-frame-pointer -DSYMLIB "
		      "-Wl,-Ttext-segment=0x400000 -o '%s/libsymlib.so' '%s' >/dev/null 2>&1",
		      tmpdir, src_path))
		symlib_linker = "ld";
	have_symlib = symlib_linker != NULL;
	built = true;
	build_failed = false;
	return true;
}

/* Line of the MARK:<name> comment in the target source, or -1. */
static int mark_line(const char *name)
{
	char line[512], tag[128];
	int n = 0, found = -1;
	FILE *f = fopen(src_path, "r");

	if (!f)
		return -1;
	snprintf(tag, sizeof(tag), "MARK:%s */", name);
	while (fgets(line, sizeof(line), f)) {
		n++;
		if (strstr(line, tag)) {
			found = n;
			break;
		}
	}
	fclose(f);
	return found;
}

/* ------------------------------------------------------------------ */
/* running the target */

struct target {
	pid_t pid;
	FILE *in, *out;
	char path[PATH_MAX];
	uint64_t base, fn_direct, fn_outer, fn_callee, ra_direct, ra_inlined;
};

static void target_stop(struct target *t)
{
	if (t->pid > 0) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
		t->pid = 0;
	}
	if (t->in)
		fclose(t->in);
	if (t->out)
		fclose(t->out);
	t->in = t->out = NULL;
}

static bool target_start(struct target *t, const char *name)
{
	int to_child[2], from_child[2];
	char line[256], key[64];
	unsigned long v;

	memset(t, 0, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "%s/%s", tmpdir, name);
	if (pipe(to_child) || pipe(from_child))
		return ASSERT_TRUE(false, "pipe");
	fflush(NULL);
	t->pid = fork();
	if (t->pid < 0)
		return ASSERT_TRUE(false, "fork");
	if (t->pid == 0) {
		dup2(to_child[0], 0);
		dup2(from_child[1], 1);
		close(to_child[0]);
		close(to_child[1]);
		close(from_child[0]);
		close(from_child[1]);
		execl(t->path, t->path, (char *)NULL);
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);
	t->in = fdopen(to_child[1], "w");
	t->out = fdopen(from_child[0], "r");
	if (!t->in || !t->out)
		return ASSERT_TRUE(false, "fdopen");

	while (fgets(line, sizeof(line), t->out)) {
		if (!strcmp(line, "ready\n"))
			return true;
		if (sscanf(line, "%63s %lx", key, &v) != 2)
			continue;
		if (!strcmp(key, "base"))
			t->base = v;
		else if (!strcmp(key, "fn_direct"))
			t->fn_direct = v;
		else if (!strcmp(key, "fn_outer"))
			t->fn_outer = v;
		else if (!strcmp(key, "fn_callee"))
			t->fn_callee = v;
		else if (!strcmp(key, "ra_direct"))
			t->ra_direct = v;
		else if (!strcmp(key, "ra_inlined"))
			t->ra_inlined = v;
	}
	target_stop(t);
	return ASSERT_TRUE(false, "target did not get ready");
}

/* A command to the target: the address it answers (0 on failure), and a bias. */
static uint64_t target_cmd(struct target *t, uint64_t *bias, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static uint64_t target_cmd(struct target *t, uint64_t *bias, const char *fmt, ...)
{
	char line[256];
	unsigned long v = 0, b = 0;
	va_list ap;

	va_start(ap, fmt);
	vfprintf(t->in, fmt, ap);
	va_end(ap);
	fputc('\n', t->in);
	fflush(t->in);
	if (!fgets(line, sizeof(line), t->out) || sscanf(line, "sym %lx %lx", &v, &b) != 2)
		return 0;
	if (bias)
		*bias = b;
	return v;
}

/* ------------------------------------------------------------------ */
/* checks */

static const char *base_name(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;

	return s ? s + 1 : p;
}

static bool check_frame(const struct sym_frame *f, const char *func, uint64_t offset,
			const char *mark, bool inlined, const char *what)
{
	bool ok = true;

	ok &= ASSERT_STREQ(f->func, func, what);
	ok &= ASSERT_EQ(f->offset, offset, what);
	ok &= ASSERT_STREQ(base_name(f->file), "symtarget.c", what);
	ok &= ASSERT_EQ(f->line, mark_line(mark), what);
	ok &= ASSERT_EQ(f->inlined, inlined, what);
	return ok;
}

/* Everything the target printed, resolved through S. */
static void check_target(struct syms *s, const struct target *t, bool pie)
{
	struct sym_frame f[MAXF], g[MAXF];
	int n;

	ASSERT_STREQ(syms__exe(s), t->path, "exe path");
	if (pie)
		ASSERT_NEQ(t->base, 0, "PIE is relocated");
	else
		ASSERT_EQ(t->base, 0, "non-PIE bias");

	/* a function entry, as an ip */
	n = syms__resolve(s, t->fn_direct, false, f, MAXF);
	if (ASSERT_EQ(n, 1, "fn_direct frames")) {
		check_frame(&f[0], "st_direct", 0, "direct_entry", false, "fn_direct");
		ASSERT_EQ(f[0].addr, t->fn_direct, "fn_direct addr");
		ASSERT_STREQ(f[0].module, t->path, "fn_direct module");
		ASSERT_EQ(f[0].module_off, t->fn_direct - t->base, "fn_direct module_off");
	}
	ASSERT_TRUE(syms__in_exe(s, t->fn_direct), "fn_direct in exe");
	ASSERT_FALSE(syms__in_interp(s, t->fn_direct), "fn_direct not in interp");
	ASSERT_STREQ(syms__module(s, t->fn_direct), t->path, "syms__module");

	/* a return address after a plain call */
	n = syms__resolve(s, t->ra_direct, true, f, MAXF);
	if (ASSERT_EQ(n, 1, "ra_direct frames")) {
		check_frame(&f[0], "st_direct", t->ra_direct - t->fn_direct, "direct_call",
			    false, "ra_direct");
		ASSERT_EQ(f[0].module_off, t->ra_direct - t->base, "ra_direct module_off");
	}

	/* a return address in code inlined twice: inner <- middle <- outer */
	n = syms__resolve(s, t->ra_inlined, true, f, MAXF);
	if (ASSERT_EQ(n, 3, "ra_inlined frames")) {
		uint64_t off = t->ra_inlined - t->fn_outer;

		check_frame(&f[0], "st_inl_inner", off, "inner_call", true, "inlined 0");
		check_frame(&f[1], "st_inl_middle", off, "middle_call", true, "inlined 1");
		check_frame(&f[2], "st_inl_outer", off, "outer_call", false, "inlined 2");
		for (int i = 0; i < 3; i++) {
			ASSERT_EQ(f[i].addr, t->ra_inlined, "inlined addr");
			ASSERT_STREQ(f[i].module, t->path, "inlined module");
			ASSERT_EQ(f[i].module_off, t->ra_inlined - t->base, "inlined module_off");
		}
	}

	/* cached: the same strings again */
	n = syms__resolve(s, t->ra_inlined, true, g, MAXF);
	if (ASSERT_EQ(n, 3, "cached frames")) {
		ASSERT_TRUE(g[0].func == f[0].func && g[2].file == f[2].file, "cached pointers");
		ASSERT_EQ(g[1].line, f[1].line, "cached line");
	}

	/* too little room: innermost inlined frames, then the function */
	n = syms__resolve(s, t->ra_inlined, true, g, 2);
	if (ASSERT_EQ(n, 2, "max 2")) {
		ASSERT_STREQ(g[0].func, "st_inl_inner", "max 2 inner");
		ASSERT_STREQ(g[1].func, "st_inl_outer", "max 2 outer");
		ASSERT_FALSE(g[1].inlined, "max 2 outer not inlined");
	}
	n = syms__resolve(s, t->ra_inlined, true, g, 1);
	if (ASSERT_EQ(n, 1, "max 1"))
		check_frame(&g[0], "st_inl_outer", t->ra_inlined - t->fn_outer, "outer_call",
			    false, "max 1");

	/* the entry of the function the inlined code went into */
	n = syms__resolve(s, t->fn_outer, false, f, MAXF);
	if (ASSERT_EQ(n, 1, "fn_outer frames"))
		check_frame(&f[0], "st_inl_outer", 0, "outer_entry", false, "fn_outer");
}

/* An address resolved only after the target is gone. */
static void check_fresh_after_exit(struct syms *s, const struct target *t)
{
	struct sym_frame f[MAXF];
	int n;

	n = syms__resolve(s, t->fn_callee + 1, false, f, MAXF);
	if (ASSERT_EQ(n, 1, "callee frames")) {
		ASSERT_STREQ(f[0].func, "callee", "callee func");
		ASSERT_EQ(f[0].offset, 1, "callee offset");
		ASSERT_STREQ(base_name(f[0].file), "symtarget.c", "callee file");
		ASSERT_GE(f[0].line, mark_line("direct_entry") - 10, "callee line");
		ASSERT_EQ(f[0].module_off, t->fn_callee + 1 - t->base, "callee module_off");
	}
	ASSERT_EQ(syms__refresh(s), -ESRCH, "refresh after exit");
	ASSERT_STREQ(syms__exe(s), t->path, "exe after exit");
	ASSERT_TRUE(syms__in_exe(s, t->fn_callee), "in_exe after exit");
}

/* ------------------------------------------------------------------ */
/* tests */

static void test_target_pie_after_exit(void)
{
	struct target t;
	struct syms *s;

	if (!build_targets() || !target_start(&t, "symtarget"))
		return;
	s = syms__new(t.pid);
	target_stop(&t);	/* killed and reaped before anything is resolved */
	if (!ASSERT_OK_PTR(s, "syms__new"))
		return;
	check_target(s, &t, true);
	check_fresh_after_exit(s, &t);
	syms__free(s);
}

static void test_target_nopie(void)
{
	struct target t;
	struct syms *s;

	if (!build_targets() || !target_start(&t, "symtarget_nopie"))
		return;
	s = syms__new(t.pid);
	if (ASSERT_OK_PTR(s, "syms__new")) {
		check_target(s, &t, false);
		target_stop(&t);
		check_target(s, &t, false);
		check_fresh_after_exit(s, &t);
	}
	target_stop(&t);
	syms__free(s);
}

static void test_target_debuglink(void)
{
	struct target t;
	struct syms *s;

	if (!build_targets())
		return;
	if (!have_strip) {
		test__skip("objcopy failed");
		return;
	}
	if (!target_start(&t, "symtarget_strip"))
		return;
	s = syms__new(t.pid);
	target_stop(&t);
	if (ASSERT_OK_PTR(s, "syms__new")) {
		check_target(s, &t, true);
		check_fresh_after_exit(s, &t);
	}
	syms__free(s);
}

static void test_target_deleted(void)
{
	char path[PATH_MAX + 32];
	struct target t;
	struct syms *s;

	if (!build_targets())
		return;
	snprintf(path, sizeof(path), "%s/symtarget_del", tmpdir);
	if (!ASSERT_EQ(run("cp '%s/symtarget' '%s'", tmpdir, path), 0, "cp"))
		return;
	if (!target_start(&t, "symtarget_del"))
		return;
	/* only /proc/PID/map_files can reach the binary now */
	ASSERT_EQ(unlink(path), 0, "unlink");
	s = syms__new(t.pid);
	target_stop(&t);
	if (ASSERT_OK_PTR(s, "syms__new")) {
		check_target(s, &t, true);
		check_fresh_after_exit(s, &t);
	}
	syms__free(s);
}

/*
 * The executable's first page also mapped as data right below its image:
 * the data mapping is no module, and it does not swallow the image.
 */
static void test_target_data_mapping(void)
{
	struct target t;
	struct syms *s = NULL;
	uint64_t data;

	if (!build_targets() || !target_start(&t, "symtarget"))
		return;
	data = target_cmd(&t, NULL, "mapdata");
	if (!data) {
		test__skip("could not map below the image");
		goto out;
	}
	s = syms__new(t.pid);
	target_stop(&t);
	if (ASSERT_OK_PTR(s, "syms__new")) {
		check_target(s, &t, true);
		ASSERT_TRUE(syms__module(s, data) == NULL, "data mapping is no module");
	}
out:
	target_stop(&t);
	syms__free(s);
}

static void check_symlib(struct syms *s, uint64_t addr, uint64_t bias, const char *what)
{
	struct sym_frame f[MAXF];
	char path[PATH_MAX];
	int n;

	snprintf(path, sizeof(path), "%s/libsymlib.so", tmpdir);
	n = syms__resolve(s, addr, false, f, MAXF);
	if (!ASSERT_EQ(n, 1, what))
		return;
	ASSERT_STREQ(f[0].func, "symlib_fn", what);
	ASSERT_EQ(f[0].offset, 0, what);
	ASSERT_STREQ(f[0].module, path, what);
	ASSERT_EQ(f[0].module_off, addr - bias, what);
	ASSERT_STREQ(base_name(f[0].file), "symtarget.c", what);
	ASSERT_EQ(f[0].line, mark_line("symlib_entry"), what);
	ASSERT_FALSE(syms__in_exe(s, addr), what);
}

/*
 * A library whose PT_LOADs start at 0x400000: its bias (l_addr) is not
 * where it is mapped. Then the same with its first page unmapped, so that
 * the bias comes from a later segment (with lld, the text segment shares
 * mmap offset 0 with the first one).
 */
static void test_prelinked_lib(void)
{
	struct syms *s = NULL;
	struct target t;
	uint64_t addr, bias = 0, hdr;

	if (!build_targets())
		return;
	if (!have_symlib) {
		test__skip("libsymlib.so not built");
		return;
	}
	if (!target_start(&t, "symtarget"))
		return;
	addr = target_cmd(&t, &bias, "dlopen %s/libsymlib.so symlib_fn", tmpdir);
	if (!ASSERT_NEQ(addr, 0, "dlopen libsymlib"))
		goto out;
	ASSERT_GE(addr - bias, 0x400000, "linked at 0x400000");

	s = syms__new(t.pid);
	if (!ASSERT_OK_PTR(s, "syms__new"))
		goto out;
	check_symlib(s, addr, bias, "symlib");
	syms__free(s);

	hdr = target_cmd(&t, NULL, "unmaphdr %s/libsymlib.so", tmpdir);
	if (!ASSERT_NEQ(hdr, 0, "unmaphdr"))
		goto out;
	ASSERT_EQ(hdr, bias + 0x400000, "header page at bias + p_vaddr");
	s = syms__new(t.pid);
	target_stop(&t);
	if (!ASSERT_OK_PTR(s, "syms__new without header"))
		goto out;
	if (!ASSERT_TRUE(syms__module(s, addr) != NULL, symlib_linker))
		goto out;
	check_symlib(s, addr + 0, bias, "symlib without header");
	check_target(s, &t, true);
out:
	target_stop(&t);
	syms__free(s);
}

static bool is_cbrt(const char *name)
{
	static const char *const names[] = { "cbrt", "__cbrt", "cbrtf64", "cbrtf32x" };

	for (size_t i = 0; name && i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(name, names[i]))
			return true;
	}
	return false;
}

static void test_refresh_dlopen(void)
{
	struct sym_frame f[MAXF];
	struct target t;
	struct syms *s;
	uint64_t addr;
	int n;

	if (!build_targets() || !target_start(&t, "symtarget"))
		return;
	s = syms__new(t.pid);
	if (!ASSERT_OK_PTR(s, "syms__new"))
		goto out;
	addr = target_cmd(&t, NULL, "dlopen libm.so.6 cbrt");
	if (!ASSERT_NEQ(addr, 0, "dlopen libm in target"))
		goto out;

	ASSERT_TRUE(syms__module(s, addr) == NULL, "libm not known yet");
	n = syms__resolve(s, addr, false, f, MAXF);
	if (ASSERT_EQ(n, 1, "unknown frames")) {
		ASSERT_TRUE(f[0].func == NULL, "unknown func");
		ASSERT_STREQ(f[0].module, "[unknown]", "unknown module");
		ASSERT_EQ(f[0].addr, addr, "unknown addr");
	}

	ASSERT_EQ(syms__refresh(s), 0, "refresh");
	ASSERT_TRUE(syms__module(s, addr) && strstr(syms__module(s, addr), "libm.so.6"),
		    "libm known");
	n = syms__resolve(s, addr, false, f, MAXF);
	if (ASSERT_GE(n, 1, "libm frames")) {
		if (!ASSERT_TRUE(is_cbrt(f[n - 1].func), "cbrt or an alias"))
			fprintf(stderr, "    got %s\n", f[n - 1].func);
		ASSERT_EQ(f[n - 1].offset, 0, "cbrt offset");
	}
	/* modules from before the refresh are still there */
	n = syms__resolve(s, t.fn_direct, false, f, MAXF);
	if (ASSERT_EQ(n, 1, "exe after refresh"))
		ASSERT_STREQ(f[0].func, "st_direct", "exe func after refresh");
	ASSERT_EQ(syms__refresh(s), 0, "second refresh");

	target_stop(&t);
	ASSERT_EQ(syms__refresh(s), -ESRCH, "refresh after exit");
	n = syms__resolve(s, addr + 2, false, f, MAXF);
	if (ASSERT_GE(n, 1, "libm after exit")) {
		ASSERT_TRUE(is_cbrt(f[n - 1].func), "cbrt after exit");
		ASSERT_EQ(f[n - 1].offset, 2, "cbrt+2");
	}
out:
	target_stop(&t);
	syms__free(s);
}

/* SYM as defined by the already loaded LIB (or NULL). */
static void *lib_sym(const char *lib, const char *sym)
{
	void *h = dlopen(lib, RTLD_NOW | RTLD_NOLOAD);
	void *p = h ? dlsym(h, sym) : NULL;

	if (h)
		dlclose(h);
	return p;
}

struct obj_base {
	const char *needle;
	uint64_t base;
	bool found;
};

static int obj_base_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct obj_base *ob = data;

	(void)size;
	if (info->dlpi_name && strstr(info->dlpi_name, ob->needle)) {
		ob->base = info->dlpi_addr;
		ob->found = true;
		return 1;
	}
	return 0;
}

static bool is_malloc(const char *name, void *addr)
{
	static const char *const names[] = { "malloc", "__libc_malloc", "__malloc" };

	if (!name)
		return false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(name, names[i]))
			return true;
	}
	return lib_sym("libc.so.6", name) == addr;	/* another exported alias */
}

static __attribute__((noinline)) int test_syms_local_func(int x)
{
	return x * 7 + 3;
}

static void test_self(void)
{
	int (*volatile local)(int) = test_syms_local_func;
	/* the definitions in those libraries, even if a sanitizer interposes */
	void *mal = lib_sym("libc.so.6", "malloc");
	void *znwm = lib_sym("libstdc++.so.6", "_Znwm");
	void *ldso = lib_sym("ld-linux-x86-64.so.2", "__tls_get_addr");
	struct obj_base ob = { .needle = "libc.so.6" };
	struct sym_frame f[MAXF];
	char exe[PATH_MAX];
	struct syms *s;
	ssize_t len;
	Dl_info di;
	int n;

	s = syms__new(getpid());
	if (!ASSERT_OK_PTR(s, "syms__new(self)"))
		return;

	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (ASSERT_GE(len, 1, "readlink")) {
		exe[len] = '\0';
		ASSERT_STREQ(syms__exe(s), exe, "exe");
	}

	/* libc malloc, and its load bias as ld.so sees it */
	dl_iterate_phdr(obj_base_cb, &ob);
	if (ASSERT_TRUE(mal && ob.found, "malloc and libc")) {
		n = syms__resolve(s, (uint64_t)(uintptr_t)mal, false, f, MAXF);
		if (ASSERT_GE(n, 1, "malloc frames")) {
			if (!ASSERT_TRUE(is_malloc(f[n - 1].func, mal), "malloc name"))
				fprintf(stderr, "    got %s\n", f[n - 1].func);
			ASSERT_EQ(f[n - 1].offset, 0, "malloc offset");
			ASSERT_FALSE(f[n - 1].inlined, "malloc not inlined");
			ASSERT_TRUE(f[0].module && strstr(f[0].module, "libc.so.6"), "libc module");
			ASSERT_EQ(f[0].module_off, (uint64_t)(uintptr_t)mal - ob.base,
				  "malloc module_off = addr - dlpi_addr");
			if (f[0].file)
				ASSERT_GE(f[0].line, 1, "malloc line");
		}
		ASSERT_FALSE(syms__in_exe(s, (uint64_t)(uintptr_t)mal), "malloc not in exe");
		ASSERT_FALSE(syms__in_interp(s, (uint64_t)(uintptr_t)mal), "malloc not in interp");
	}

	/* C++: demangled */
	if (ASSERT_TRUE(znwm != NULL, "_Znwm")) {
		n = syms__resolve(s, (uint64_t)(uintptr_t)znwm + 4, true, f, MAXF);
		if (ASSERT_GE(n, 1, "_Znwm frames")) {
			ASSERT_STREQ(f[n - 1].func, "operator new(unsigned long)", "demangled");
			ASSERT_EQ(f[n - 1].offset, 4, "operator new+4");
			ASSERT_TRUE(strstr(f[n - 1].module, "libstdc++"), "libstdc++ module");
		}
	}

	/* the executable itself */
	n = syms__resolve(s, (uint64_t)(uintptr_t)local, false, f, MAXF);
	if (ASSERT_GE(n, 1, "local frames")) {
		ASSERT_STREQ(f[n - 1].func, "test_syms_local_func", "local func");
		ASSERT_EQ(f[n - 1].offset, 0, "local offset");
		ASSERT_STREQ(f[0].module, syms__exe(s), "local module");
	}
	ASSERT_TRUE(syms__in_exe(s, (uint64_t)(uintptr_t)local), "local in exe");
	ASSERT_FALSE(syms__in_interp(s, (uint64_t)(uintptr_t)local), "local not in interp");
	ASSERT_EQ(local(1), 10, "local works");

	/* the dynamic loader */
	if (!ldso)
		ldso = (void *)getauxval(AT_BASE);
	if (ASSERT_TRUE(ldso && dladdr(ldso, &di) && strstr(di.dli_fname, "ld-linux"),
			"an address in ld.so")) {
		ASSERT_TRUE(syms__in_interp(s, (uint64_t)(uintptr_t)ldso), "in interp");
		ASSERT_FALSE(syms__in_exe(s, (uint64_t)(uintptr_t)ldso), "ld.so not in exe");
		ASSERT_TRUE(strstr(syms__module(s, (uint64_t)(uintptr_t)ldso), "ld-linux"),
			    "ld.so module");
	}
	if (getauxval(AT_BASE))
		ASSERT_TRUE(syms__in_interp(s, getauxval(AT_BASE)), "AT_BASE in interp");

	/* addresses in no module */
	n = syms__resolve(s, 0, true, f, MAXF);
	if (ASSERT_EQ(n, 1, "null frames")) {
		ASSERT_TRUE(f[0].func == NULL && f[0].file == NULL && f[0].line == 0, "null unknown");
		ASSERT_STREQ(f[0].module, "[unknown]", "null module");
	}
	n = syms__resolve(s, UINT64_MAX, false, f, MAXF);
	ASSERT_EQ(n, 1, "max addr frames");
	ASSERT_TRUE(syms__module(s, 0) == NULL, "no module at 0");
	ASSERT_FALSE(syms__in_exe(s, 0), "0 not in exe");

	/* bad arguments */
	ASSERT_EQ(syms__resolve(s, 0, false, f, 0), -EINVAL, "max 0");
	ASSERT_EQ(syms__resolve(s, 0, false, NULL, 1), -EINVAL, "NULL out");
	ASSERT_EQ(syms__resolve(NULL, 0, false, f, 1), -EINVAL, "NULL syms");
	ASSERT_EQ(syms__refresh(s), 0, "refresh self");
	syms__free(s);
	syms__free(NULL);
}

/* Every object ld.so loaded: an address in its first executable segment. */
struct bias_ctx {
	struct syms *s;
	int checked, resolved;
};

static int bias_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct bias_ctx *bc = data;
	struct sym_frame f[MAXF];
	uint64_t addr;
	int n;

	(void)size;
	if (strstr(info->dlpi_name, "linux-vdso"))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		if (!info->dlpi_name[0] && !info->dlpi_addr && ph->p_vaddr == 0)
			break;	/* vdso on kernels that hide its name */
		addr = info->dlpi_addr + ph->p_vaddr + ph->p_memsz / 2;
		n = syms__resolve(bc->s, addr, false, f, MAXF);
		if (!ASSERT_EQ(n >= 1 && strcmp(f[0].module, "[unknown]"), 1,
			       info->dlpi_name[0] ? info->dlpi_name : "exe"))
			break;
		ASSERT_EQ(f[0].module_off, ph->p_vaddr + ph->p_memsz / 2,
			  info->dlpi_name[0] ? info->dlpi_name : "exe");
		bc->checked++;

		/* all over the code: the frame chain is always well formed */
		for (uint64_t a = info->dlpi_addr + ph->p_vaddr;
		     a < info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
		     a += ph->p_memsz / 500 + 1) {
			n = syms__resolve(bc->s, a, a & 1, f, MAXF);
			if (!ASSERT_GE(n, 1, "frames") ||
			    !ASSERT_FALSE(f[n - 1].inlined, "last frame not inlined") ||
			    !ASSERT_EQ(f[n - 1].module_off, a - info->dlpi_addr, "module_off"))
				break;
			for (int k = 0; k < n - 1; k++)
				ASSERT_TRUE(f[k].inlined && f[k].offset == f[n - 1].offset,
					    "inlined frames");
			bc->resolved++;
		}
		break;
	}
	return 0;
}

static int count_fds(void)
{
	char path[64];
	int n = 0;

	for (int fd = 0; fd < 4096; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += access(path, F_OK) == 0;
	}
	return n;
}

static void test_self_bias_all(void)
{
	struct bias_ctx bc = { 0 };
	struct sym_frame f[MAXF];
	int fds = count_fds();

	bc.s = syms__new(getpid());
	if (!ASSERT_OK_PTR(bc.s, "syms__new"))
		return;
	/*
	 * libdw dlopen()s libdebuginfod and its dependencies the first time
	 * it looks for debuginfo: let that happen, then pick them up.
	 */
	syms__resolve(bc.s, (uint64_t)(uintptr_t)lib_sym("libc.so.6", "free"), true, f, MAXF);
	ASSERT_EQ(syms__refresh(bc.s), 0, "refresh");
	dl_iterate_phdr(bias_cb, &bc);
	ASSERT_GE(bc.checked, 4, "objects checked (exe, libc, libdw, ld.so, ...)");
	ASSERT_GE(bc.resolved, bc.checked * 400, "addresses resolved");
	ASSERT_GE(count_fds(), fds + bc.checked, "an fd per module while in use");
	syms__free(bc.s);
	ASSERT_EQ(count_fds(), fds, "fds closed by syms__free");
}

static void test_errors(void)
{
	struct syms *s;
	pid_t pid;
	siginfo_t si;

	errno = 0;
	s = syms__new(0x3fffffff);
	ASSERT_TRUE(s == NULL, "no such pid");
	ASSERT_EQ(errno, ESRCH, "no such pid errno");
	syms__free(s);

	errno = 0;
	s = syms__new(-5);
	ASSERT_TRUE(s == NULL, "negative pid");
	ASSERT_EQ(errno, EINVAL, "negative pid errno");

	/* a zombie has no address space left */
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	if (!ASSERT_GE(pid, 1, "fork"))
		return;
	kill(pid, SIGKILL);
	memset(&si, 0, sizeof(si));
	waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT);
	errno = 0;
	s = syms__new(pid);
	ASSERT_TRUE(s == NULL, "zombie");
	ASSERT_EQ(errno, ESRCH, "zombie errno");
	syms__free(s);
	waitpid(pid, NULL, 0);
}

static const struct test_case tests[] = {
	TEST_CASE(test_self),
	TEST_CASE(test_self_bias_all),
	TEST_CASE(test_errors),
	TEST_CASE(test_target_pie_after_exit),
	TEST_CASE(test_target_nopie),
	TEST_CASE(test_target_debuglink),
	TEST_CASE(test_target_deleted),
	TEST_CASE(test_target_data_mapping),
	TEST_CASE(test_refresh_dlopen),
	TEST_CASE(test_prelinked_lib),
};

int main(int argc, char **argv)
{
	return test__main(argc, argv, tests, (int)(sizeof(tests) / sizeof(tests[0])));
}
