// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for src/unwind.c. Programs are compiled here with and without
 * frame pointers; the expected rules come from what the x86-64 prologue
 * does (push %rbp; mov %rsp,%rbp), addresses from nm and readelf, and the
 * load bias from the dynamic loader (dl_iterate_phdr).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procmaps.h"
#include "test.h"
#include "unwind.h"

static const char src[] =
	"#include <stdlib.h>\n"
	"__attribute__((noinline)) void *leaf(int n) { return malloc(n); }\n"
	"__attribute__((noinline)) void *mid(int n) { void *p = leaf(n * 2); return p ? p : leaf(n); }\n"
	"int main(int argc, char **argv) { (void)argv; return mid(argc) != 0; }\n";

static char dir[] = "/tmp/lt-unwind-XXXXXX";

/* Build src with FLAGS into dir/NAME; false (skipped) when cc is missing. */
static bool build(const char *name, const char *flags)
{
	static bool made;
	char *out;

	if (!made && !mkdtemp(dir))
		return false;
	made = true;
	out = test__run_cmd("cd %s && printf '%%s' '%s' > t.c && cc -O2 -g %s t.c -o %s && echo ok",
			    dir, src, flags, name);
	if (!out)
		return false;
	free(out);
	return true;
}

static uint64_t sym_addr(const char *name, const char *sym)
{
	char *out = test__run_cmd("nm %s/%s | awk '$3 == \"%s\" { print $1 }'", dir, name, sym);
	uint64_t a = out ? strtoull(out, NULL, 16) : 0;

	free(out);
	return a;
}

static bool load(const char *path, struct unwind_table *ut)
{
	int fd = open(path, O_RDONLY), err;

	if (!ASSERT_TRUE(fd >= 0, path))
		return false;
	err = unwind__build(fd, ut);
	close(fd);
	return ASSERT_EQ(err, 0, "unwind__build");
}

static bool row_is(const struct unwind_table *ut, uint64_t vaddr, int cfa, int cfa_off, int rbp,
		   int rbp_off, const char *what)
{
	const struct lt_urow *r = unwind__find(ut, vaddr);

	if (!ASSERT_TRUE(r != NULL, what))
		return false;
	return ASSERT_EQ(r->cfa, cfa, what) && ASSERT_EQ(r->cfa_off, cfa_off, what) &&
	       ASSERT_EQ(r->rbp, rbp, what) && (rbp != LT_UW_RBP_SAVED || ASSERT_EQ(r->rbp_off, rbp_off, what));
}

static void test_frame_pointer_prologue(void)
{
	struct unwind_table ut;
	char path[256];
	uint64_t mid;

	if (!build("fp", "-fno-omit-frame-pointer -fno-optimize-sibling-calls")) {
		test__skip("no C compiler");
		return;
	}
	snprintf(path, sizeof(path), "%s/fp", dir);
	if (!load(path, &ut))
		return;
	mid = sym_addr("fp", "mid");
	ASSERT_NEQ(mid, 0, "nm mid");
	ASSERT_STREQ(ut.source, ".eh_frame", "source");
	ASSERT_TRUE(unwind__has_fp(&ut), "a -fno-omit-frame-pointer build keeps frame pointers");
	/* entry: the return address at rsp; push %rbp; mov %rsp,%rbp */
	row_is(&ut, mid, LT_UW_RSP, 8, LT_UW_RBP_SAME, 0, "mid+0");
	row_is(&ut, mid + 1, LT_UW_RSP, 16, LT_UW_RBP_SAVED, -16, "mid+1 (after push %rbp)");
	row_is(&ut, mid + 4, LT_UW_RBP, 16, LT_UW_RBP_SAVED, -16, "mid+4 (after mov %rsp,%rbp)");
	unwind__free(&ut);
}

static void test_no_frame_pointer(void)
{
	struct unwind_table ut;
	char path[256], *out;
	uint64_t mid, start, plt;

	if (!build("nofp", "-fomit-frame-pointer -fno-optimize-sibling-calls")) {
		test__skip("no C compiler");
		return;
	}
	snprintf(path, sizeof(path), "%s/nofp", dir);
	if (!load(path, &ut))
		return;
	mid = sym_addr("nofp", "mid");
	start = sym_addr("nofp", "_start");
	ASSERT_FALSE(unwind__has_fp(&ut), "a -fomit-frame-pointer build has no frame pointers");
	ASSERT_EQ(ut.nbad, 0, "rows the unwinder cannot follow");
	ASSERT_GE(ut.nfde, 3, "FDEs (leaf, mid, main, _start)");
	row_is(&ut, mid, LT_UW_RSP, 8, LT_UW_RBP_SAME, 0, "mid+0");
	/* _start's CFI makes the return address undefined: the outermost frame */
	row_is(&ut, start + 1, LT_UW_END, 0, 0, 0, "_start");
	/* binutils' .plt: CFA = rsp + 8 + ((rip & 15) >= 11) * 8 */
	out = test__run_cmd("readelf -SW %s | awk '$2 == \".plt\" { print $4 }'", path);
	plt = out ? strtoull(out, NULL, 16) : 0;
	free(out);
	if (plt)
		row_is(&ut, plt + 16, LT_UW_PLT, 8, 0, 0, ".plt entry");
	/* past the text: no row */
	ASSERT_TRUE(unwind__find(&ut, ut.vaddr_hi) == NULL, "vaddr_hi has no row");
	ASSERT_TRUE(unwind__find(&ut, ut.vaddr_lo - 1) == NULL, "below vaddr_lo has no row");
	/* the page index agrees with a plain search everywhere */
	for (uint64_t a = ut.vaddr_lo; a < ut.vaddr_hi; a++) {
		const struct lt_urow *r = unwind__find(&ut, a), *want = NULL;

		for (uint32_t i = 0; i < ut.nrows && ut.rows[i].pc <= a - ut.vaddr_lo; i++)
			want = &ut.rows[i];
		if (!ASSERT_TRUE(r == want, "page index == linear search"))
			break;
	}
	unwind__free(&ut);
}

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	*(uint64_t *)data = info->dlpi_addr;	/* the first one is the executable */
	return 1;
}

static void test_bias_of_self(void)
{
	struct unwind_table ut;
	struct proc_maps *pm = procmaps__read(getpid());
	char exe[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	uint64_t want = 0, got = 0;
	bool found = false;

	if (!ASSERT_OK_PTR(pm, "maps") || !ASSERT_TRUE(n > 0, "readlink"))
		goto out;
	exe[n] = 0;
	dl_iterate_phdr(phdr_cb, &want);
	if (!load(exe, &ut))
		goto out;
	for (int i = 0; i < pm->n; i++) {
		if (!pm->e[i].x || strcmp(pm->e[i].path, exe) != 0)
			continue;
		found = true;
		ASSERT_EQ(unwind__bias(&ut, pm->e[i].offset, pm->e[i].start, &got), 0, "bias");
		ASSERT_EQ(got, want, "bias == dl_iterate_phdr's dlpi_addr");
	}
	ASSERT_TRUE(found, "an executable mapping of the test itself");
	ASSERT_EQ(unwind__bias(&ut, 1ULL << 40, 0x1000, &got), -ENOENT, "an offset in no segment");
	unwind__free(&ut);
out:
	procmaps__free(pm);
}

static void test_not_elf(void)
{
	struct unwind_table ut;
	int fd = open("/proc/self/cmdline", O_RDONLY);

	if (!ASSERT_TRUE(fd >= 0, "open"))
		return;
	ASSERT_NEQ(unwind__build(fd, &ut), 0, "not an ELF file");
	ASSERT_EQ(ut.nrows, 0, "no rows");
	close(fd);
}

static const struct test_case tests[] = {
	TEST_CASE(test_frame_pointer_prologue),
	TEST_CASE(test_no_frame_pointer),
	TEST_CASE(test_bias_of_self),
	TEST_CASE(test_not_elf),
};

int main(int argc, char **argv)
{
	int rc = test__main(argc, argv, tests, (int)(sizeof(tests) / sizeof(tests[0])));
	char *out = test__run_cmd("rm -rf %s", dir);

	free(out);
	return rc;
}
