// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for src/gobin.c. Expected values come from Go's own tools:
 * `go version -m` (version), `go tool addr2line` (function and file:line
 * of every byte of several functions), `go tool nm` (data symbols), and
 * the markers in tests/targets/go/goleak/main.go. The code finder for
 * data symbols is checked against .symtab on the plain and PIE builds and
 * on an objcopy --strip-all copy (same layout, no symbols); the -s -w
 * build and esbuild's go1.26.5 are checked for plausibility here and on
 * live memory in test_goproc.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gobin.h"
#include "gotest.h"
#include "test.h"

static const char *const variants[] = { "goleak", "goleak_stripped", "goleak_pie" };

static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (!fstat(fd, &st) && (buf = malloc(st.st_size + 1)) &&
	    read(fd, buf, st.st_size) != st.st_size) {
		free(buf);
		buf = NULL;
	}
	close(fd);
	*len = st.st_size;
	return buf;
}

static void test_gobin_version(void)
{
	for (size_t v = 0; v < 3; v++) {
		char path[512], *want, *sp;
		struct gobin *g;

		if (!gotest__bin(variants[v], path, sizeof(path)))
			return;
		want = test__run_cmd("go version '%s' 2>/dev/null", path);
		if (!want) {
			test__skip("go version failed");
			return;
		}
		sp = strstr(want, ": ");	/* "path: go1.19.8" */
		if (!ASSERT_OK_PTR(sp, "go version output")) {
			free(want);
			return;
		}
		sp += 2;
		sp[strcspn(sp, "\n ")] = 0;
		g = gobin__open(path);
		if (ASSERT_OK_PTR(g, variants[v])) {
			ASSERT_STREQ(gobin__version(g), sp, variants[v]);
			ASSERT_STREQ(gobin__version_source(g), "buildinfo", "version from .go.buildinfo");
			ASSERT_EQ(gobin__pclntab_magic(g), 0xfffffff0u, "1.19 pclntab magic");
			ASSERT_EQ(gobin__version_cmp(g, 1, 19), 0, "version_cmp 1.19");
			ASSERT_TRUE(gobin__version_cmp(g, 1, 20) < 0, "older than 1.20");
			ASSERT_EQ(gobin__is_pie(g), v == 2, "pie");
			ASSERT_EQ(gobin__has_dwarf(g), v != 1, "DWARF unless -w");
			ASSERT_FALSE(gobin__asynctimerchan(g), "no asynctimerchan in 1.19");
			ASSERT_TRUE(gobin__modinfo(g) && strstr(gobin__modinfo(g), "path\tleaktrace/targets/goleak"),
				    "module info");
		}
		gobin__free(g);
		free(want);
	}
}

/*
 * Every byte of FUNC: our innermost file:line and outermost function equal
 * what the reference says for that address: go tool addr2line (plain and
 * -s -w builds), binutils addr2line -i on the DWARF for PIE (Go's own
 * tools cannot read a PIE's pclntab: they print "?").
 */
static int check_func_lines(struct gobin *g, const char *path, const char *func, bool pie)
{
	uint64_t entry, end;
	char cmd[300], *out, *save = NULL, *tok;
	FILE *f;
	char tmp[] = "/tmp/lt-gobin-addrs.XXXXXX";
	int fd, checked = 0;

	if (!ASSERT_EQ(gobin__func_lookup(g, func, &entry, &end), 0, func))
		return 0;
	fd = mkstemp(tmp);
	if (fd < 0 || !(f = fdopen(fd, "w")))
		return 0;
	for (uint64_t a = entry; a < end; a++)
		fprintf(f, "0x%llx\n", (unsigned long long)a);
	fclose(f);
	if (pie)
		snprintf(cmd, sizeof(cmd), "addr2line -a -f -i -e '%%s' < %s", tmp);
	else
		snprintf(cmd, sizeof(cmd), "go tool addr2line '%%s' < %s | sed 's/^/@/'", tmp);
	out = test__run_cmd(cmd, path);
	unlink(tmp);
	if (!ASSERT_OK_PTR(out, "addr2line"))
		return 0;
	tok = strtok_r(out, "\n", &save);
	for (uint64_t a = entry; a < end && tok; a++) {
		char outer[256] = "", inner_file[512] = "", *colon;
		struct gobin_frame fr[16];
		int n = gobin__resolve(g, a, false, fr, 16), want_line = 0, pairs = 0;

		if (pie) {	/* "0x..." then (function, file:line) pairs, innermost first */
			for (tok = strtok_r(NULL, "\n", &save); tok && strncmp(tok, "0x", 2);
			     tok = strtok_r(NULL, "\n", &save)) {
				char *fl = strtok_r(NULL, "\n", &save);

				if (!fl)
					break;
				snprintf(outer, sizeof(outer), "%s", tok);
				if (!pairs++) {
					snprintf(inner_file, sizeof(inner_file), "%s", fl);
				}
			}
		} else {	/* "@function" then "@file:line" */
			char *fl = strtok_r(NULL, "\n", &save);

			if (!fl)
				break;
			snprintf(outer, sizeof(outer), "%s", tok + 1);
			snprintf(inner_file, sizeof(inner_file), "%s", fl + 1);
			tok = strtok_r(NULL, "\n", &save);
		}
		colon = strrchr(inner_file, ':');
		if (colon) {
			*colon = 0;
			want_line = atoi(colon + 1);
		}
		if (!strcmp(outer, "?") || !strcmp(outer, "??"))
			continue;	/* no reference to compare with */
		if (!inner_file[0] || !strcmp(inner_file, "?") || !strcmp(inner_file, "??") ||
		    want_line <= 0) {	/* a gap in the pc tables (padding) */
			if (!ASSERT_GE(n, 1, func) || !ASSERT_EQ(fr[0].line, 0, "no line in a gap"))
				break;
			continue;
		}
		if (!ASSERT_GE(n, 1, func) ||
		    !ASSERT_STREQ(fr[n - 1].func, outer, "outer function") ||
		    !ASSERT_STREQ(fr[0].file, inner_file, "innermost file") ||
		    !ASSERT_EQ(fr[0].line, want_line, "innermost line") ||
		    !ASSERT_EQ(fr[n - 1].entry, entry, "entry")) {
			fprintf(stderr, "      at 0x%llx in %s\n", (unsigned long long)a, func);
			break;
		}
		checked++;
	}
	free(out);
	return checked;
}

static void test_gobin_resolve_lines(void)
{
	static const char *const funcs[] = {
		"main.balancedWork", "main.leakOne", "main.leakOne.func1", "main.leakTicker",
		"main.dump", "main.main", "runtime.chanrecv", "time.NewTicker", "runtime.newproc1",
	};
	int stop_line = gotest__line("goleak", "balanced-stop");

	for (size_t v = 0; v < 3; v++) {
		char path[512];
		struct gobin *g;
		uint64_t entry, end;
		bool seen_inline = false;
		int checked = 0;

		if (!gotest__bin(variants[v], path, sizeof(path)))
			return;
		g = gobin__open(path);
		if (!ASSERT_OK_PTR(g, variants[v]))
			return;
		for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
			checked += check_func_lines(g, path, funcs[i], v == 2);
		ASSERT_GE(checked, 1000, "addresses checked against addr2line");

		/* t.Stop() is inlined into balancedWork at LINE:balanced-stop */
		ASSERT_EQ(gobin__func_lookup(g, "main.balancedWork", &entry, &end), 0, "balancedWork");
		for (uint64_t a = entry; a < end && !seen_inline; a++) {
			struct gobin_frame fr[8];
			int n = gobin__resolve(g, a, false, fr, 8);

			if (n < 2 || !fr[0].func || strcmp(fr[0].func, "time.(*Ticker).Stop"))
				continue;
			seen_inline = true;
			ASSERT_EQ(n, 2, "inline chain length");
			ASSERT_TRUE(fr[0].inlined, "inner frame inlined");
			ASSERT_TRUE(gotest__ends_with(fr[0].file, "/time/tick.go"), "inlined file");
			ASSERT_STREQ(fr[1].func, "main.balancedWork", "outer function");
			ASSERT_FALSE(fr[1].inlined, "outer frame not inlined");
			ASSERT_TRUE(gotest__ends_with(fr[1].file, "/goleak/main.go"), "call site file");
			ASSERT_EQ(fr[1].line, stop_line, "call site line (LINE:balanced-stop)");
			/* a return address looks up pc - 1 */
			n = gobin__resolve(g, a + 1, true, fr, 8);
			ASSERT_EQ(n, 2, "retaddr inline chain");
		}
		ASSERT_TRUE(seen_inline, "time.(*Ticker).Stop inlined into balancedWork");
		/* max 1 keeps the containing function */
		{
			struct gobin_frame fr[1];

			ASSERT_EQ(gobin__resolve(g, entry, false, fr, 1), 1, "max 1");
			ASSERT_STREQ(fr[0].func, "main.balancedWork", "max 1 gives the function");
		}
		ASSERT_TRUE(gobin__is_func_entry(g, entry), "entry is an entry");
		ASSERT_FALSE(gobin__is_func_entry(g, entry + 1), "entry+1 is not");
		ASSERT_EQ(gobin__resolve(g, 0x10, false, (struct gobin_frame[1]){}, 1), 0, "no function at 0x10");
		gobin__free(g);
	}
}

static const enum gobin_sym code_syms[] = {
	GOBIN_SYM_ALLGS, GOBIN_SYM_ALLGLEN, GOBIN_SYM_ALLGPTR, GOBIN_SYM_ALLP,
	GOBIN_SYM_MBUCKETS, GOBIN_SYM_MPROFCYCLE, GOBIN_SYM_MEMPROFILERATE,
	GOBIN_SYM_BUCKHASH, GOBIN_SYM_WAITREASONSTRINGS, GOBIN_SYM_FINGRUNNING,
	GOBIN_SYM_MEMSTATS,
};

/* go tool nm's address of NAME in PATH, or 0. */
static uint64_t nm_addr(const char *path, const char *name)
{
	char *out = test__run_cmd("go tool nm '%s' 2>/dev/null | awk '$3 == \"%s\" {print $1}'", path, name);
	uint64_t v = out ? strtoull(out, NULL, 16) : 0;

	free(out);
	return v;
}

static void check_syms_against(struct gobin *g, const char *nm_path, const char *what)
{
	for (size_t i = 0; i < sizeof(code_syms) / sizeof(code_syms[0]); i++) {
		const char *name = gobin__sym_name(code_syms[i]);
		uint64_t want = nm_addr(nm_path, name), got = 0;

		if (!ASSERT_NEQ(want, 0, name))
			continue;
		if (!ASSERT_EQ(gobin__data_sym_code(g, code_syms[i], &got), 0, name) ||
		    !ASSERT_EQ(got, want, name))
			fprintf(stderr, "      %s: %s\n", what, name);
	}
}

static void test_gobin_data_syms(void)
{
	char dir[] = "/tmp/lt-gobin.XXXXXX";

	for (size_t v = 0; v < 3; v++) {
		char path[512];
		struct gobin *g;

		if (!gotest__bin(variants[v], path, sizeof(path)))
			return;
		g = gobin__open(path);
		if (!ASSERT_OK_PTR(g, variants[v]))
			return;
		if (v != 1) {	/* .symtab present: the code finder equals it */
			uint64_t got;

			check_syms_against(g, path, variants[v]);
			ASSERT_EQ(gobin__data_sym(g, GOBIN_SYM_BUILDVERSION, &got), 0, "buildVersion");
			ASSERT_EQ(got, nm_addr(path, "runtime.buildVersion"), "buildVersion");
			ASSERT_EQ(gobin__data_sym(g, GOBIN_SYM_FIRSTMODULEDATA, &got), 0, "firstmoduledata");
			ASSERT_EQ(got, nm_addr(path, "runtime.firstmoduledata"), "firstmoduledata");
			ASSERT_STREQ(gobin__data_sym_source(g, GOBIN_SYM_ALLGS), "symtab", "source");
		} else {	/* -s -w: every one found from code */
			for (size_t i = 0; i < sizeof(code_syms) / sizeof(code_syms[0]); i++) {
				uint64_t a;

				ASSERT_EQ(gobin__data_sym(g, code_syms[i], &a), 0, gobin__sym_name(code_syms[i]));
				ASSERT_STREQ(gobin__data_sym_source(g, code_syms[i]), "code", "source");
			}
		}
		ASSERT_EQ(gobin__waitreason_count(g), 27, "waitReasonStrings has 27 entries in 1.19");
		gobin__free(g);
	}

	/* the plain build with its symbols stripped: same layout, nothing but code */
	if (!mkdtemp(dir))
		return;
	{
		char src[512], dst[600], *r;
		struct gobin *g;

		gotest__bin("goleak", src, sizeof(src));
		snprintf(dst, sizeof(dst), "%s/goleak", dir);
		r = test__run_cmd("objcopy --strip-all '%s' '%s' && echo ok", src, dst);
		if (!r) {
			test__skip("objcopy failed");
		} else {
			g = gobin__open(dst);
			if (ASSERT_OK_PTR(g, "strip-all copy")) {
				uint64_t a;

				ASSERT_FALSE(gobin__has_symtab(g), "no symtab");
				check_syms_against(g, src, "strip-all");
				for (size_t i = 0; i < sizeof(code_syms) / sizeof(code_syms[0]); i++) {
					ASSERT_EQ(gobin__data_sym(g, code_syms[i], &a), 0, "data_sym");
					ASSERT_EQ(a, nm_addr(src, gobin__sym_name(code_syms[i])), "data_sym == nm");
				}
				ASSERT_EQ(gobin__data_sym(g, GOBIN_SYM_BUILDVERSION, &a), 0, "buildVersion scan");
				ASSERT_EQ(a, nm_addr(src, "runtime.buildVersion"), "buildVersion scan == nm");
				ASSERT_EQ(gobin__data_sym(g, GOBIN_SYM_FIRSTMODULEDATA, &a), 0, "moduledata scan");
				ASSERT_EQ(a, nm_addr(src, "runtime.firstmoduledata"), "moduledata scan == nm");
			}
			gobin__free(g);
		}
		free(r);
		r = test__run_cmd("rm -rf '%s'", dir);
		free(r);
	}
}

static void test_gobin_layout(void)
{
	struct go_layout d, t;
	char path[512];
	struct gobin *g;

	if (!gotest__bin("goleak", path, sizeof(path)))
		return;
	g = gobin__open(path);
	if (!ASSERT_OK_PTR(g, "goleak"))
		return;
	ASSERT_EQ(gobin__layout(g, &d), 0, "layout");
	ASSERT_STREQ(d.source, "dwarf", "from DWARF");
	ASSERT_EQ(gobin__layout_table(1, 19, &t), 0, "table 1.19");
	/* the measured 1.19 table equals this binary's DWARF */
	ASSERT_EQ(t.g_goid, d.g_goid, "goid");
	ASSERT_EQ(t.g_atomicstatus, d.g_atomicstatus, "atomicstatus");
	ASSERT_EQ(t.g_gopc, d.g_gopc, "gopc");
	ASSERT_EQ(t.g_startpc, d.g_startpc, "startpc");
	ASSERT_EQ(t.g_sched_sp, d.g_sched_sp, "sched.sp");
	ASSERT_EQ(t.g_sched_pc, d.g_sched_pc, "sched.pc");
	ASSERT_EQ(t.g_sched_bp, d.g_sched_bp, "sched.bp");
	ASSERT_EQ(t.g_sched_g, d.g_sched_g, "sched.g");
	ASSERT_EQ(t.g_waitsince, d.g_waitsince, "waitsince");
	ASSERT_EQ(t.g_waitreason, d.g_waitreason, "waitreason");
	ASSERT_EQ(d.g_parentgoid, -1, "no parentGoid in 1.19");
	ASSERT_EQ(t.p_timers, d.p_timers, "p.timers");
	ASSERT_EQ(t.timer_when, d.timer_when, "timer.when");
	ASSERT_EQ(t.timer_period, d.timer_period, "timer.period");
	ASSERT_EQ(t.timer_f, d.timer_f, "timer.f");
	ASSERT_EQ(t.timer_arg, d.timer_arg, "timer.arg");
	ASSERT_EQ(t.timer_status, d.timer_status, "timer.status");
	/* FACTS.md's go1.19.8 numbers */
	ASSERT_EQ(d.g_goid, 152, "goid 152");
	ASSERT_EQ(d.g_gopc, 296, "gopc 296");
	ASSERT_EQ(d.g_startpc, 312, "startpc 312");
	ASSERT_EQ(d.p_timers, 8840, "p.timers 8840");
	ASSERT_EQ(gobin__layout_table(1, 17, &t), -ENOENT, "no table for 1.17");
	gobin__free(g);
}

/* DefaultGODEBUG from a patched copy: a same-length build line rewritten. */
static void test_gobin_godebug(void)
{
	static const char from[] = "build\tCGO_CFLAGS=\nbuild\tCGO_CPPFLAGS=\nbuild\tCGO_CXXFLAGS=\n";
	char path[512], to[sizeof(from)];
	uint8_t *buf, *p = NULL;
	struct gobin *g;
	size_t len = 0;

	if (!gotest__bin("goleak", path, sizeof(path)))
		return;
	buf = slurp(path, &len);
	if (!ASSERT_OK_PTR(buf, "read goleak"))
		return;
	/* the copy inside .go.buildinfo (runtime.modinfo in rodata has another) */
	p = memmem(buf, len, "\xff Go buildinf:", 14);
	if (p)
		p = memmem(p, len - (size_t)(p - buf), from, strlen(from));
	if (!p) {
		test__skip("no CGO_*FLAGS lines to rewrite in the module info");
		free(buf);
		return;
	}
	snprintf(to, sizeof(to), "build\tDefaultGODEBUG=x509sha1=1,asynctimerchan=1,a=%*s", 0, "");
	memset(to + strlen(to), 'b', strlen(from) - strlen(to) - 1);
	to[strlen(from) - 1] = '\n';
	memcpy(p, to, strlen(from));
	g = gobin__open_mem(buf, len, "patched");
	if (ASSERT_OK_PTR(g, "patched")) {
		ASSERT_TRUE(gobin__asynctimerchan(g), "asynctimerchan=1 seen");
		ASSERT_TRUE(gobin__default_godebug(g) &&
			    !strncmp(gobin__default_godebug(g), "x509sha1=1,asynctimerchan=1,", 28),
			    "DefaultGODEBUG text");
	}
	gobin__free(g);
	free(buf);
}

/* Corrupt copies: clear errors, never a crash. */
static void test_gobin_corrupt(void)
{
	char path[512];
	uint8_t *buf, *copy;
	size_t len = 0;
	struct gobin *g;
	uint64_t pcln = 0;
	uint32_t old = 0xfffffffa;

	if (!gotest__bin("goleak", path, sizeof(path)))
		return;
	buf = slurp(path, &len);
	if (!ASSERT_OK_PTR(buf, "read"))
		return;
	copy = malloc(len);
	/* locate the pclntab header by its magic */
	for (size_t o = 0; o + 8 < len; o += 8)
		if (!memcmp(buf + o, "\xf0\xff\xff\xff\x00\x00\x01\x08", 8)) {
			pcln = o;
			break;
		}
	if (!ASSERT_NEQ(pcln, 0, "pclntab found") || !copy)
		goto out;

	memcpy(copy, buf, len);
	memcpy(copy + pcln, &old, 4);
	errno = 0;
	g = gobin__open_mem(copy, len, "old magic");
	ASSERT_TRUE(!g && errno == EPROTONOSUPPORT, "Go 1.16 magic: EPROTONOSUPPORT");
	ASSERT_TRUE(strstr(gobin__last_error(), "older than 1.18") != NULL, "error text");
	gobin__free(g);

	/* the function table unsorted */
	memcpy(copy, buf, len);
	{
		uint64_t pclnoff;

		memcpy(&pclnoff, buf + pcln + 64, 8);
		memset(copy + pcln + pclnoff + 8 * 10, 0xff, 4);
	}
	errno = 0;
	g = gobin__open_mem(copy, len, "unsorted");
	ASSERT_TRUE(!g && errno == EINVAL, "unsorted: EINVAL");
	gobin__free(g);

	/* truncations at many points: NULL or a usable object */
	for (size_t cut = 64; cut < len; cut += len / 97) {
		g = gobin__open_mem(buf, cut, "cut");
		if (g) {
			struct gobin_frame fr[8];
			uint64_t s, e;

			gobin__text(g, &s, &e);
			for (uint64_t a = s; a < e; a += (e - s) / 50 + 1)
				ASSERT_TRUE(gobin__resolve(g, a, true, fr, 8) >= 0, "resolve");
		}
		gobin__free(g);
	}
	/* not Go */
	errno = 0;
	g = gobin__open("/bin/true");
	ASSERT_TRUE(!g && errno == ENOEXEC, "/bin/true: ENOEXEC");
	gobin__free(NULL);
out:
	free(copy);
	free(buf);
}

static void test_gobin_esbuild(void)
{
	static const enum gobin_sym want[] = {
		GOBIN_SYM_ALLGS, GOBIN_SYM_ALLGLEN, GOBIN_SYM_ALLGPTR, GOBIN_SYM_ALLP,
		GOBIN_SYM_MBUCKETS, GOBIN_SYM_MPROFCYCLE, GOBIN_SYM_MEMPROFILERATE,
		GOBIN_SYM_BUCKHASH, GOBIN_SYM_WAITREASONSTRINGS, GOBIN_SYM_BUILDVERSION,
		GOBIN_SYM_FIRSTMODULEDATA,
	};
	char path[512];
	struct gobin *g;
	struct go_layout l;
	uint64_t a, b, e;

	if (!gotest__esbuild(path, sizeof(path)))
		return;
	g = gobin__open(path);
	if (!ASSERT_OK_PTR(g, "esbuild"))
		return;
	ASSERT_STREQ(gobin__version(g), "go1.26.5", "esbuild's Go");
	ASSERT_STREQ(gobin__version_source(g), "data scan", "no .go.buildinfo: runtime.buildVersion");
	ASSERT_EQ(gobin__pclntab_magic(g), 0xfffffff1u, "1.20+ magic");
	ASSERT_FALSE(gobin__has_symtab(g), "stripped");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ASSERT_EQ(gobin__data_sym(g, want[i], &a), 0, gobin__sym_name(want[i]));
	ASSERT_STREQ(gobin__data_sym_source(g, GOBIN_SYM_FIRSTMODULEDATA), "section", ".go.module");
	/* allglen and allgptr distinct variables; MemProfileRate's file value 512 KiB */
	gobin__data_sym(g, GOBIN_SYM_ALLGLEN, &a);
	gobin__data_sym(g, GOBIN_SYM_ALLGPTR, &b);
	ASSERT_NEQ(a, b, "allglen != allgptr");
	gobin__data_sym(g, GOBIN_SYM_MEMPROFILERATE, &a);
	ASSERT_EQ(gobin__read_ptr(g, a, &b), 0, "MemProfileRate in the file");
	ASSERT_EQ(b, 512 * 1024, "MemProfileRate initial value");
	ASSERT_GE(gobin__waitreason_count(g), 40, "waitReasonStrings bound from code");
	ASSERT_EQ(gobin__layout(g, &l), 0, "layout");
	ASSERT_STREQ(l.source, "table go1.26 (measured)", "no DWARF: the measured table");
	/* the text base came from moduledata (textStart is 0 in 1.26) */
	gobin__text(g, &a, &e);
	ASSERT_EQ(gobin__func_lookup(g, "net/http.(*Server).Serve.gowrap3", &b, NULL), 0, "gowrap3");
	ASSERT_TRUE(b > a && b < e, "gowrap3 inside text");
	ASSERT_TRUE(gobin__is_func_entry(g, b), "gowrap3 an entry");
	{
		struct gobin_frame fr[8];
		int n = gobin__resolve(g, b, false, fr, 8);

		ASSERT_GE(n, 1, "resolve gowrap3");
		ASSERT_TRUE(n >= 1 && gotest__ends_with(fr[n - 1].file, "net/http/server.go"),
			    "gowrap3 in net/http/server.go");
	}
	gobin__free(g);
}

static const struct test_case tests[] = {
	TEST_CASE(test_gobin_version),
	TEST_CASE(test_gobin_resolve_lines),
	TEST_CASE(test_gobin_data_syms),
	TEST_CASE(test_gobin_layout),
	TEST_CASE(test_gobin_godebug),
	TEST_CASE(test_gobin_corrupt),
	TEST_CASE(test_gobin_esbuild),
};

int main(int argc, char **argv)
{
	return test__main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
