// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Replays every input under tests/fuzz/corpus/<name>/ (seeds, and the
 * crashes `make fuzz` found, which were fixed) through the libFuzzer
 * harnesses of tests/fuzz/, linked here without libFuzzer. The Makefile
 * builds this test and the parsers it reaches with ASan and UBSan, so a
 * crash that comes back fails here, in `make check`.
 *
 * LT_FUZZ_CORPUS overrides the corpus directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#include "test.h"

static const char *fuzz_current;	/* the input being replayed */

/* A broken invariant fails the test (and names the input) instead of aborting. */
#define FUZZ_FAIL(what) TEST_FAIL_("%s: fuzz check failed: %s", fuzz_current, what)

#define FUZZ_ENTRY fuzz_procmaps_one
#include "../fuzz/fuzz_procmaps.c"
#undef FUZZ_ENTRY
#define FUZZ_ENTRY fuzz_elf_one
#include "../fuzz/fuzz_elf.c"
#undef FUZZ_ENTRY
#define FUZZ_ENTRY fuzz_pprof_one
#include "../fuzz/fuzz_pprof.c"
#undef FUZZ_ENTRY
#define FUZZ_ENTRY fuzz_strings_one
#include "../fuzz/fuzz_strings.c"
#undef FUZZ_ENTRY
#define FUZZ_ENTRY fuzz_gobin_one
#include "../fuzz/fuzz_gobin.c"
#undef FUZZ_ENTRY
#define FUZZ_ENTRY fuzz_gomem_one
#include "../fuzz/fuzz_gomem.c"
#undef FUZZ_ENTRY
#define FUZZ_ENTRY fuzz_procfd_one
#include "../fuzz/fuzz_procfd.c"
#undef FUZZ_ENTRY

static void corpus_dir(const char *name, char *out, size_t len)
{
	const char *env = getenv("LT_FUZZ_CORPUS");
	const char *file = __FILE__, *slash = strrchr(file, '/');

	if (env)
		snprintf(out, len, "%s/%s", env, name);
	else if (slash)
		snprintf(out, len, "%.*s/../fuzz/corpus/%s", (int)(slash - file), file, name);
	else
		snprintf(out, len, "../fuzz/corpus/%s", name);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	buf = malloc(st.st_size + 1);
	if (buf && read(fd, buf, st.st_size) != st.st_size) {
		free(buf);
		buf = NULL;
	}
	close(fd);
	*len = st.st_size;
	return buf;
}

/* Every file of the corpus NAME through FN; at least MIN_FILES of them. */
static void replay(const char *name, int (*fn)(const uint8_t *, size_t), int min_files)
{
	char dir[4096], path[4096 + 256];
	struct dirent *d;
	int n = 0;
	DIR *dp;

	corpus_dir(name, dir, sizeof(dir));
	dp = opendir(dir);
	if (!ASSERT_OK_PTR(dp, dir))
		return;
	while ((d = readdir(dp))) {
		uint8_t *buf;
		size_t len = 0;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		buf = slurp(path, &len);
		if (!ASSERT_OK_PTR(buf, path))
			continue;
		fuzz_current = path;
		fn(buf, len);
		free(buf);
		n++;
	}
	closedir(dp);
	ASSERT_GE(n, min_files, "corpus files");
#ifdef __SANITIZE_ADDRESS__
	ASSERT_EQ(__lsan_do_recoverable_leak_check(), 0, "leaks (LeakSanitizer report above)");
#endif
}

static void test_procmaps_corpus(void)
{
	replay("procmaps", fuzz_procmaps_one, 1);
}

static void test_elf_corpus(void)
{
	replay("elf", fuzz_elf_one, 1);
}

static void test_pprof_corpus(void)
{
	replay("pprof", fuzz_pprof_one, 1);
}

static void test_strings_corpus(void)
{
	replay("strings", fuzz_strings_one, 1);
}

static void test_gobin_corpus(void)
{
	replay("gobin", fuzz_gobin_one, 2);
}

static void test_gomem_corpus(void)
{
	replay("gomem", fuzz_gomem_one, 1);
}

static void test_procfd_corpus(void)
{
	replay("procfd", fuzz_procfd_one, 4);
}

/* How many harness checks fail on the JSON line S (their messages hidden). */
static int json_failures(const char *s)
{
	int before = test__failed_asserts, n, saved = dup(2), null = open("/dev/null", O_WRONLY);

	if (null >= 0)
		dup2(null, 2);
	fuzz_current = s;
	pp_check_json(s, strlen(s));
	if (saved >= 0) {
		dup2(saved, 2);
		close(saved);
	}
	if (null >= 0)
		close(null);
	n = test__failed_asserts - before;
	test__failed_asserts = before;
	return n;
}

/* The harnesses' own checks can fail. */
static void test_harness_checks_fire(void)
{
	ASSERT_TRUE(json_failures("{\"a\":1}\n{\n") > 0, "two lines caught");
	ASSERT_TRUE(json_failures("{\"a\":\"\x01\"}\n") > 0, "a raw control character caught");
	ASSERT_TRUE(json_failures("{\"a\":nan}\n") > 0, "nan caught");
	ASSERT_TRUE(json_failures("{\"a\":1,}\n") > 0, "a trailing comma caught");
	ASSERT_EQ(json_failures("{\"a\":[1,2.5,\"x\\n\\u0001\",null,true,{}],\"b\":-3}\n"), 0,
		  "valid JSON passes");
}

static const struct test_case tests[] = {
	TEST_CASE(test_procmaps_corpus),
	TEST_CASE(test_elf_corpus),
	TEST_CASE(test_pprof_corpus),
	TEST_CASE(test_strings_corpus),
	TEST_CASE(test_gobin_corpus),
	TEST_CASE(test_gomem_corpus),
	TEST_CASE(test_procfd_corpus),
	TEST_CASE(test_harness_checks_fire),
};

int main(int argc, char **argv)
{
	return test__main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
